//! What a send run achieved.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

fn as_secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Counters and timings of a send run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SendReport {
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Batches dispatched.
    pub batches: u64,
    /// Events in dispatched batches.
    pub events_sent: u64,
    /// Events the server accepted.
    pub events_accepted: u64,
    /// Events not accepted: reported as rejected by the server, or in batches that
    /// finally failed.
    pub events_rejected: u64,
    /// Requests that were retries of an earlier one.
    pub retries: u64,
    /// Requests that got no HTTP answer (connection or timeout errors).
    pub transport_errors: u64,
    /// Answers per HTTP status.
    pub status_counts: BTreeMap<u16, u64>,
    /// Request body bytes put on the wire, retries included.
    pub bytes_sent: u64,
    /// Wall-clock time of the run.
    #[serde(serialize_with = "as_secs")]
    pub elapsed: Duration,
    /// Accepted events per second of `elapsed`.
    pub events_per_second: f64,
    /// Median request latency.
    #[serde(serialize_with = "as_secs")]
    pub latency_p50: Duration,
    /// 99th-percentile request latency.
    #[serde(serialize_with = "as_secs")]
    pub latency_p99: Duration,
    /// Slowest request.
    #[serde(serialize_with = "as_secs")]
    pub latency_max: Duration,
}

/// Nearest-rank percentile (`p` in 0..=100) of an ascending slice; zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // `as` saturates (NaN and negatives give 0), and the rank is clamped below.
    #[allow(clippy::cast_possible_truncation)]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl SendReport {
    /// Fills the derived figures from the run's duration and its request latencies.
    pub(crate) fn finish(&mut self, elapsed: Duration, mut latencies: Vec<Duration>) {
        latencies.sort_unstable();
        self.elapsed = elapsed;
        let secs = elapsed.as_secs_f64();
        self.events_per_second = if secs > 0.0 {
            self.events_accepted as f64 / secs
        } else {
            0.0
        };
        self.latency_p50 = percentile(&latencies, 50.0);
        self.latency_p99 = percentile(&latencies, 99.0);
        self.latency_max = latencies.last().copied().unwrap_or_default();
    }
}

impl fmt::Display for SendReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} events sent in {} requests ({} retries): {} accepted, {} rejected",
            self.events_sent,
            self.requests,
            self.retries,
            self.events_accepted,
            self.events_rejected
        )?;
        writeln!(
            f,
            "elapsed {:.3}s, {:.0} events/s, latency p50 {:.1}ms p99 {:.1}ms max {:.1}ms",
            self.elapsed.as_secs_f64(),
            self.events_per_second,
            self.latency_p50.as_secs_f64() * 1e3,
            self.latency_p99.as_secs_f64() * 1e3,
            self.latency_max.as_secs_f64() * 1e3,
        )?;
        let statuses: Vec<String> = self
            .status_counts
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        write!(
            f,
            "statuses {{{}}}, transport errors {}, {} bytes",
            statuses.join(", "),
            self.transport_errors,
            self.bytes_sent
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&sorted, 50.0), ms(50));
        assert_eq!(percentile(&sorted, 99.0), ms(99));
        assert_eq!(percentile(&sorted, 100.0), ms(100));
        assert_eq!(percentile(&sorted, 0.0), ms(1));
        assert_eq!(percentile(&[ms(7)], 99.0), ms(7));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn finish_derives_rate_and_latencies() {
        let mut r = SendReport {
            events_accepted: 1_000,
            ..SendReport::default()
        };
        r.finish(Duration::from_secs(2), vec![ms(30), ms(10), ms(20)]);
        assert_eq!(r.events_per_second, 500.0);
        assert_eq!(r.latency_p50, ms(20));
        assert_eq!(r.latency_p99, ms(30));
        assert_eq!(r.latency_max, ms(30));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["elapsed"], 2.0);
        assert!(r.to_string().contains("1000 accepted"));
    }
}
