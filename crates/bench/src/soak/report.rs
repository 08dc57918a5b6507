//! The files a soak leaves in `--out`: `summary.md` (also printed), `summary.json` (for
//! tools and the CI test) and `samples.csv` (every sample, one column per subscriber's lag).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use super::faults::Happened;
use super::load::SendReport;
use super::verify::Verdict;
use super::{Finished, Hose, SoakBench};
use crate::machine::machine_description;
use crate::stats::percentile;

/// `summary.json`.
#[derive(Serialize)]
struct Summary<'a> {
    hose: Hose,
    minutes: f64,
    rate: f64,
    batch: usize,
    sent: &'a SendReport,
    faults: &'a [Happened],
    /// Server restarts (SIGKILL) done.
    restarts: usize,
    /// Broker restarts done.
    broker_restarts: usize,
    /// Receiver outages done.
    receiver_outages: usize,
    /// POSTs with events the receiver got.
    webhook_posts: u64,
    /// Of those, answered 500 on purpose.
    webhook_posts_failed: u64,
    drained_after_secs: Option<f64>,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    verdict: &'a Verdict,
}

/// Writes the three files; returns the Markdown summary.
pub fn write(out: &Path, bench: &SoakBench, run: &Finished) -> anyhow::Result<String> {
    let count = |what: &str| {
        run.faults
            .iter()
            .filter(|f| f.what.starts_with(what))
            .count()
    };
    let summary = Summary {
        hose: run.hose,
        minutes: bench.minutes,
        rate: bench.rate,
        batch: bench.batch,
        sent: &run.sent,
        faults: &run.faults,
        restarts: count("server killed"),
        broker_restarts: count("broker started"),
        receiver_outages: count("webhook receiver down"),
        webhook_posts: run.webhook_posts.0,
        webhook_posts_failed: run.webhook_posts.1,
        drained_after_secs: run.drained_after.map(|d| d.as_secs_f64()),
        latency_p50_ms: millis(percentile(&run.latencies, 0.50)),
        latency_p99_ms: millis(percentile(&run.latencies, 0.99)),
        verdict: &run.verdict,
    };
    let json = serde_json::to_string_pretty(&summary)?;
    std::fs::write(out.join("summary.json"), json).context("cannot write summary.json")?;
    std::fs::write(out.join("samples.csv"), samples_csv(run))
        .context("cannot write samples.csv")?;
    let markdown = markdown(bench, run);
    std::fs::write(out.join("summary.md"), &markdown).context("cannot write summary.md")?;
    Ok(markdown)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// `n` with thousands separators.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn samples_csv(run: &Finished) -> String {
    let subscribers: BTreeSet<&String> = run.samples.iter().flat_map(|s| s.lags.keys()).collect();
    let mut csv =
        String::from("t_s,acked,ingest_rate,delivered,latency_p50_ms,latency_p99_ms,rss_bytes,analytics_memory_bytes,dedup_remembered_events");
    for subscriber in &subscribers {
        let _ = write!(csv, ",lag_{subscriber}_{}", run.lag_unit);
    }
    csv.push('\n');
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
    for s in &run.samples {
        let _ = write!(
            csv,
            "{:.1},{},{:.1},{},{},{},{},{},{}",
            s.t,
            s.acked,
            s.ingest_rate,
            s.delivered,
            opt(s.latency_p50_ms),
            opt(s.latency_p99_ms),
            s.rss.map(|r| r.to_string()).unwrap_or_default(),
            s.memory
                .map(|m| m.analytics_bytes.to_string())
                .unwrap_or_default(),
            s.memory
                .map(|m| m.dedup_events.to_string())
                .unwrap_or_default(),
        );
        for subscriber in &subscribers {
            let _ = write!(csv, ",{}", opt(s.lags.get(*subscriber).copied()));
        }
        csv.push('\n');
    }
    csv
}

fn markdown(bench: &SoakBench, run: &Finished) -> String {
    let (sent, verdict) = (&run.sent, &run.verdict);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Soak: {} hose, {:.1} min at {} events/s\n",
        run.hose.name(),
        run.duration.as_secs_f64() / 60.0,
        bench.rate
    );
    let command: Vec<String> = std::env::args().collect();
    let _ = writeln!(md, "`{}`\n", command.join(" "));
    let _ = writeln!(md, "machine: {}\n", machine_description());
    let _ = writeln!(md, "| what | result |\n|---|---|");
    let mut row = |what: &str, result: String| {
        let _ = writeln!(md, "| {what} | {result} |");
    };
    row(
        "events acknowledged",
        format!(
            "{} of {} sent, in {} requests of {}; {} requests given up",
            thousands(sent.acked_events),
            thousands(sent.sent_events),
            thousands(sent.acked_requests),
            bench.batch,
            sent.abandoned_requests
        ),
    );
    let answers: Vec<String> = sent
        .answers
        .iter()
        .map(|(status, n)| format!("{status}: {}", thousands(*n)))
        .collect();
    row(
        "ingest tries not answered 200",
        format!(
            "{}; no answer: {} (of {} tries)",
            if answers.is_empty() {
                "none".to_owned()
            } else {
                answers.join(", ")
            },
            thousands(sent.transport_errors),
            thousands(sent.tries)
        ),
    );
    let faults: Vec<String> = run
        .faults
        .iter()
        .map(|f| format!("{:.1} min: {} ({:.1} s)", f.at / 60.0, f.what, f.took))
        .collect();
    row("faults", faults.join("; "));
    row(
        "webhook POSTs with events",
        format!(
            "{}, of which {} answered 500 on purpose",
            thousands(run.webhook_posts.0),
            thousands(run.webhook_posts.1)
        ),
    );
    let max = run.latencies.last().copied().unwrap_or_default();
    row(
        "webhook latency (ingest 200 → receiver), first deliveries",
        format!(
            "p50 {:.0} ms, p99 {:.0} ms, max {:.1} s",
            millis(percentile(&run.latencies, 0.50)),
            millis(percentile(&run.latencies, 0.99)),
            max.as_secs_f64()
        ),
    );
    row(
        "drained",
        match run.drained_after {
            Some(after) => format!(
                "{:.1} s after the last acknowledgement",
                after.as_secs_f64()
            ),
            None => "no (timed out)".to_owned(),
        },
    );
    let events = &verdict.message_events;
    row(
        "message events (Events API)",
        format!(
            "{} expected, {} listed: {} missing, {} duplicated, {} never acknowledged",
            thousands(events.expected),
            thousands(events.listed),
            events.missing,
            events.duplicated,
            events.unexpected
        ),
    );
    let unequal = verdict
        .metrics
        .iter()
        .filter(|m| m.expected != m.actual)
        .count();
    row(
        "metrics (Metrics API)",
        format!(
            "{} of {} totals equal the acknowledged events' counts",
            verdict.metrics.len() - unequal,
            verdict.metrics.len()
        ),
    );
    let webhook = &verdict.webhook;
    row(
        "webhook deliveries",
        format!(
            "{} of {} events arrived at least once; {} repeated deliveries",
            thousands(webhook.delivered),
            thousands(webhook.expected),
            thousands(webhook.repeats)
        ),
    );
    let entries = &verdict.suppressions;
    row(
        "suppressions",
        format!(
            "{} expected, {} listed: {} missing, {} unexpected",
            thousands(entries.expected),
            thousands(entries.listed),
            entries.missing,
            entries.unexpected
        ),
    );
    if let Some(rss) = &verdict.rss {
        row(
            "server RSS (median)",
            format!(
                "first quarter {} MB, last quarter {} MB, peak {} MB",
                rss.first_quarter_median / 1_000_000,
                rss.last_quarter_median / 1_000_000,
                rss.peak / 1_000_000
            ),
        );
    }
    row(
        "verdict",
        if verdict.violations.is_empty() {
            "no violation".to_owned()
        } else {
            verdict.violations.join("; ")
        },
    );
    let _ = writeln!(
        md,
        "\n| metric | acknowledged events make | Metrics API |\n|---|---|---|"
    );
    for metric in &verdict.metrics {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            metric.metric,
            thousands(metric.expected),
            thousands(metric.actual)
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
