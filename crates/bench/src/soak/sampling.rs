//! What the run looks like over time, sampled every `--sample-every`: the ingest rate (events
//! acknowledged in the interval), each subscriber's lag (from the server's `/metrics`), the
//! webhook latency of the events first delivered in the interval (from the 200 of the ingest
//! request that carried the event to the receiver having the POST), the server's RSS
//! (`VmRSS`), and two parts of it the server reports: the analytic store's memory and the
//! identities its deduplication windows hold.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::expect::Facts;
use super::faults::Endpoint;
use super::ledger::Ledger;
use crate::amqp::parse_samples;
use crate::server::{metrics_page, status_bytes};
use crate::stats::percentile;
use crate::webhooks::receiver::Receiver;

/// Where a subscriber's lag is read.
#[derive(Clone, Debug)]
pub enum LagSource {
    /// `eventhose_hose_subscriber_lag_bytes{subscriber="…"}`: bytes of the log not yet
    /// acknowledged.
    Embedded,
    /// `eventhose_hose_queue_messages{queue="{prefix}{subscriber}"}`: messages ready in the
    /// subscriber's work queue.
    Amqp {
        /// The run's queue prefix.
        prefix: String,
    },
}

impl LagSource {
    /// The lag's unit.
    pub fn unit(&self) -> &'static str {
        match self {
            Self::Embedded => "bytes",
            Self::Amqp { .. } => "messages",
        }
    }

    /// Each subscriber's lag in a `/metrics` page.
    pub fn lags(&self, page: &str) -> BTreeMap<String, f64> {
        let mut lags = BTreeMap::new();
        for (sample, value) in parse_samples(page) {
            let subscriber = match self {
                Self::Embedded => {
                    label(&sample, "eventhose_hose_subscriber_lag_bytes", "subscriber")
                }
                Self::Amqp { prefix } => {
                    label(&sample, "eventhose_hose_queue_messages", "queue")
                        .and_then(|queue| queue.strip_prefix(prefix.as_str()))
                        // The work queues only: not `.dead` nor the `.wait.` queues.
                        .filter(|queue| !queue.contains('.'))
                }
            };
            if let Some(subscriber) = subscriber {
                lags.insert(subscriber.to_owned(), value);
            }
        }
        lags
    }
}

/// The value of label `name` of `sample` when the sample is of `family`.
fn label<'a>(sample: &'a str, family: &str, name: &str) -> Option<&'a str> {
    let labels = sample.strip_prefix(family)?.strip_prefix('{')?;
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &labels[start..];
    Some(&rest[..rest.find('"')?])
}

/// One sample.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// Seconds from the start of the run.
    pub t: f64,
    /// Events acknowledged so far.
    pub acked: u64,
    /// Events acknowledged per second since the previous sample.
    pub ingest_rate: f64,
    /// Each subscriber's lag, when the server answered.
    pub lags: BTreeMap<String, f64>,
    /// Events first delivered since the previous sample.
    pub delivered: u64,
    /// Their latency's median and 99th percentile, in milliseconds.
    pub latency_p50_ms: Option<f64>,
    /// See `latency_p50_ms`.
    pub latency_p99_ms: Option<f64>,
    /// The server's RSS in bytes, when it runs.
    pub rss: Option<u64>,
    /// What the server reports of its memory, when it answered.
    pub memory: Option<ReportedMemory>,
}

/// Parts of the server's memory, as its `/metrics` reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ReportedMemory {
    /// `eventhose_analytics_memory_bytes`: the analytic store's (DuckDB's) memory.
    pub analytics_bytes: u64,
    /// `eventhose_dedup_remembered_events`, summed over the subscribers.
    pub dedup_events: u64,
}

impl ReportedMemory {
    /// The parts in a `/metrics` page.
    // Gauges of whole bytes and counts, far inside u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn read(page: &str) -> ReportedMemory {
        let mut memory = ReportedMemory::default();
        for (sample, value) in parse_samples(page) {
            if sample == "eventhose_analytics_memory_bytes" {
                memory.analytics_bytes = value as u64;
            } else if sample.starts_with("eventhose_dedup_remembered_events{") {
                memory.dedup_events += value as u64;
            }
        }
        memory
    }
}

/// What reached the webhook: how often each event came (in POSTs answered 200), the latency
/// of each first delivery, and the arrivals of events not (yet) known to be acknowledged.
#[derive(Default)]
pub struct Deliveries {
    inner: Mutex<DeliveriesInner>,
}

#[derive(Default)]
struct DeliveriesInner {
    times: HashMap<u64, u32>,
    /// First deliveries' latencies since the last sample.
    window: Vec<Duration>,
    /// Every first delivery's latency.
    all: Vec<Duration>,
    /// Arrivals whose event was not acknowledged when they were looked at: (id, when).
    pending: Vec<(u64, Instant)>,
}

impl Deliveries {
    fn lock(&self) -> MutexGuard<'_, DeliveriesInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes what the receiver got since the last call, and matches it with `ledger` (looked
    /// up without holding this lock: the checks lock the ledger first, then this).
    pub fn absorb(&self, receiver: &Receiver, ledger: &Ledger) {
        let arrivals = receiver.take_arrivals();
        let pending = std::mem::take(&mut self.lock().pending);
        let arrived = arrivals
            .iter()
            .flat_map(|a| a.event_ids.iter().map(move |id| (*id, a.at)));
        let looked_up: Vec<(u64, Instant, Option<Instant>)> = pending
            .into_iter()
            .chain(arrived)
            .map(|(id, at)| (id, at, ledger.acked_at(id)))
            .collect();
        let mut inner = self.lock();
        for (id, at, acked) in looked_up {
            let Some(acked) = acked else {
                inner.pending.push((id, at));
                continue;
            };
            let first = {
                let times = inner.times.entry(id).or_default();
                *times += 1;
                *times == 1
            };
            if first {
                let latency = at.saturating_duration_since(acked);
                inner.window.push(latency);
                inner.all.push(latency);
            }
        }
    }

    /// How many of `events` never arrived.
    pub fn missing(&self, events: &[Facts]) -> u64 {
        let inner = self.lock();
        events
            .iter()
            .filter(|f| !inner.times.contains_key(&f.id))
            .count() as u64
    }

    /// Deliveries beyond the first, over all events.
    pub fn repeats(&self) -> u64 {
        self.lock()
            .times
            .values()
            .map(|n| u64::from(n.saturating_sub(1)))
            .sum()
    }

    /// Arrivals of events not acknowledged (so far).
    pub fn unmatched(&self) -> Vec<u64> {
        self.lock().pending.iter().map(|(id, _)| *id).collect()
    }

    /// Every first delivery's latency, sorted.
    pub fn latencies(&self) -> Vec<Duration> {
        let mut all = self.lock().all.clone();
        all.sort_unstable();
        all
    }

    fn take_window(&self) -> Vec<Duration> {
        let mut window = std::mem::take(&mut self.lock().window);
        window.sort_unstable();
        window
    }
}

/// What the sampler reads.
pub struct SamplerContext {
    /// The start of the run.
    pub start: Instant,
    /// Time between samples.
    pub every: Duration,
    /// The sender's record.
    pub ledger: Arc<Ledger>,
    /// What reached the webhook.
    pub deliveries: Arc<Deliveries>,
    /// The receiver.
    pub receiver: Arc<Receiver>,
    /// Where the server is.
    pub endpoint: watch::Receiver<Option<Endpoint>>,
    /// Where lags are read.
    pub lag_source: LagSource,
    /// Turns true when sampling should end.
    pub stop: watch::Receiver<bool>,
}

/// Samples until told to stop; returns the samples.
pub async fn run(mut context: SamplerContext) -> Vec<Sample> {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("no sampling: {e}");
            return Vec::new();
        }
    };
    let mut ticks = tokio::time::interval_at((context.start + context.every).into(), context.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut samples = Vec::new();
    let (mut last_t, mut last_acked) = (0.0, 0);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = context.stop.changed() => break,
        }
        let sample = take(&context, &client, last_t, last_acked).await;
        (last_t, last_acked) = (sample.t, sample.acked);
        samples.push(sample);
    }
    samples
}

/// One sample, `last_t` seconds and `last_acked` events being the previous one's.
async fn take(
    context: &SamplerContext,
    client: &reqwest::Client,
    last_t: f64,
    last_acked: u64,
) -> Sample {
    context
        .deliveries
        .absorb(&context.receiver, &context.ledger);
    let window = context.deliveries.take_window();
    let endpoint = context.endpoint.borrow().clone();
    let (mut lags, mut rss, mut memory) = (BTreeMap::new(), None, None);
    if let Some(endpoint) = endpoint {
        rss = status_bytes(endpoint.pid, "VmRSS:").ok();
        if let Ok(page) = metrics_page(client, &endpoint.base).await {
            lags = context.lag_source.lags(&page);
            memory = Some(ReportedMemory::read(&page));
        }
    }
    let t = context.start.elapsed().as_secs_f64();
    let acked = context.ledger.acked_count();
    let millis = |p: f64| (!window.is_empty()).then(|| percentile(&window, p).as_secs_f64() * 1e3);
    Sample {
        t,
        acked,
        ingest_rate: acked.saturating_sub(last_acked) as f64 / (t - last_t).max(1e-9),
        lags,
        delivered: window.len() as u64,
        latency_p50_ms: millis(0.50),
        latency_p99_ms: millis(0.99),
        rss,
        memory,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# TYPE eventhose_hose_subscriber_lag_bytes gauge\n\
        eventhose_hose_subscriber_lag_bytes{subscriber=\"counter\"} 0\n\
        eventhose_hose_subscriber_lag_bytes{subscriber=\"webhooks\"} 1234\n\
        eventhose_hose_subscriber_deferred{subscriber=\"webhooks\"} 2\n\
        eventhose_hose_queue_messages{queue=\"soak.x.metrics\"} 7\n\
        eventhose_hose_queue_messages{queue=\"soak.x.metrics.dead\"} 0\n\
        eventhose_hose_queue_messages{queue=\"soak.x.webhooks.wait.2000\"} 3\n\
        eventhose_hose_queue_messages{queue=\"other.metrics\"} 9\n\
        eventhose_analytics_memory_bytes 52428800\n\
        eventhose_dedup_remembered_events{subscriber=\"metrics\"} 1000\n\
        eventhose_dedup_remembered_events{subscriber=\"webhooks\"} 250\n";

    #[test]
    fn memory_is_read_and_the_windows_summed() {
        assert_eq!(
            ReportedMemory::read(PAGE),
            ReportedMemory {
                analytics_bytes: 52_428_800,
                dedup_events: 1_250
            }
        );
    }

    #[test]
    fn lags_are_read_per_subscriber_from_the_hose_in_use() {
        let embedded: Vec<(String, f64)> = LagSource::Embedded.lags(PAGE).into_iter().collect();
        assert_eq!(
            embedded,
            [("counter".to_owned(), 0.0), ("webhooks".to_owned(), 1234.0)]
        );
        let amqp = LagSource::Amqp {
            prefix: "soak.x.".into(),
        };
        let amqp: Vec<(String, f64)> = amqp.lags(PAGE).into_iter().collect();
        assert_eq!(amqp, [("metrics".to_owned(), 7.0)]);
    }
}
