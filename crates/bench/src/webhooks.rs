//! `eventhose-bench webhooks`: webhook delivery end to end. Simulated events go through the
//! ingest API of a `serve` child process to N webhooks subscribed to every event type, all
//! pointing at a fast receiver in this process; it reports events ingested/s, event
//! deliveries/s (each event is delivered once per webhook) and the latency from each ingest
//! 200 to the receiver getting the event.

mod feeder;
mod plan;
pub(crate) mod receiver;
mod settings;
mod tally;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use eventhose_model::EventType;
use serde_json::json;

use crate::scratch::bench_dir;
use crate::server::{cpu_seconds, BenchServer, BENCH_KEY};
use crate::stats::percentile;
use feeder::{feed, Feed, FeedConfig};
use plan::IngestPlan;
use receiver::{Receiver, Slow, Wait};
use settings::engine_settings;
use tally::{tally, Tally, Windows};

/// Options of `eventhose-bench webhooks`.
#[derive(Debug, Args)]
pub struct WebhooksBench {
    /// Webhooks, each subscribed to every event type.
    #[arg(long, default_value_t = 10)]
    webhooks: usize,
    /// Events to ingest in all (each is delivered once per webhook).
    #[arg(long, default_value_t = 300_000)]
    events: usize,
    /// Ingest at this many events per second; without it, as fast as the server answers.
    #[arg(long)]
    rate: Option<f64>,
    /// Events per ingest request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Ingest requests in flight at most.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The server's `webhooks.flush_interval_ms` (default: its configured value).
    #[arg(long)]
    flush_interval_ms: Option<u64>,
    /// Stop waiting for deliveries after this long without one.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    stall_timeout: Duration,
    /// Stop waiting for deliveries this long after the first ingest request at the latest.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    deadline: Duration,
    /// Also print latency percentiles by when the ingest requests were acknowledged, in
    /// windows this wide (to stderr).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    window: Duration,
    /// Where the server keeps its data (default: a new directory under the temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Of the webhooks, this many answer each POST only after `--slow-ms`; latencies and
    /// rates are those of the others, and the run ends when the others have everything.
    #[arg(long, default_value_t = 0)]
    slow_webhooks: usize,
    /// How long a slow webhook takes to answer, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    slow_ms: u64,
}

/// Runs the benchmark and prints its settings and one Markdown row.
pub async fn run(eventhose: &Path, bench: WebhooksBench) -> anyhow::Result<()> {
    anyhow::ensure!(bench.webhooks > 0, "--webhooks must be positive");
    anyhow::ensure!(
        bench.slow_webhooks < bench.webhooks,
        "--slow-webhooks must leave at least one webhook that is not slow"
    );
    anyhow::ensure!(!bench.window.is_zero(), "--window must be positive");
    if let Some(rate) = bench.rate {
        anyhow::ensure!(
            rate.is_finite() && rate > 0.0,
            "--rate must be a positive number"
        );
    }
    let settings = engine_settings(bench.flush_interval_ms)?;
    println!(
        "engine: batch_max_events {}, batch_max_bytes {}, flush_interval_ms {}, per_webhook_concurrency {}, timeout_ms {}",
        settings.batch_max_events,
        settings.batch_max_bytes,
        settings.flush_interval_ms,
        settings.per_webhook_concurrency,
        settings.timeout_ms,
    );

    let (events, batch) = (bench.events, bench.batch);
    let plan =
        tokio::task::spawn_blocking(move || IngestPlan::simulate(events, batch, 1)).await??;
    let plan = Arc::new(plan);
    eprintln!(
        "generated {} events ({} MB of NDJSON) in {} requests",
        plan.events(),
        plan.bytes() / 1_000_000,
        plan.bodies.len()
    );

    let slow = Slow {
        webhooks: bench.slow_webhooks,
        pause: Duration::from_millis(bench.slow_ms),
    };
    let receiver = Receiver::start(slow)
        .await
        .context("cannot start the receiver")?;
    let measured = measure(eventhose, &bench, &plan, &receiver).await?;

    let arrivals = receiver.take_arrivals();
    let (acks, webhooks, plan_for_tally) = (
        measured.fed.acks.clone(),
        (bench.webhooks, bench.slow_webhooks),
        plan.clone(),
    );
    let windows = Windows {
        start: measured.fed.started,
        width: bench.window,
    };
    let tally = tokio::task::spawn_blocking(move || {
        tally(&arrivals, &plan_for_tally, &acks, webhooks, windows)
    })
    .await?;
    report(&bench, &plan, &measured, &tally);
    Ok(())
}

/// What one run against the server measured.
struct Measured {
    /// The sending side.
    fed: Feed,
    /// How waiting for the deliveries ended.
    wait: Wait,
    /// When it ended.
    waited: Instant,
    /// CPU seconds the server used from the first request until `waited`.
    server_cpu: f64,
    /// CPU seconds this process used in the same time.
    bench_cpu: f64,
    /// The server's peak RSS, in bytes.
    peak_rss: u64,
}

/// Starts a server, creates the webhooks, sends the plan and waits for its deliveries.
async fn measure(
    eventhose: &Path,
    bench: &WebhooksBench,
    plan: &IngestPlan,
    receiver: &Receiver,
) -> anyhow::Result<Measured> {
    let dir = bench_dir(bench.dir.as_deref(), "webhooks")?;
    let mut env = vec![
        ("EVENTHOSE_ALLOW_PRIVATE_TARGETS", "true".to_string()),
        ("EVENTHOSE_WEBHOOKS__ALLOW_ANY_PORT", "true".to_string()),
        // The benchmark's webhooks all belong to the primary account.
        (
            "EVENTHOSE_WEBHOOKS__MAX_PER_ACCOUNT",
            bench
                .webhooks
                .max(eventhose_api::DEFAULT_MAX_WEBHOOKS_PER_ACCOUNT)
                .to_string(),
        ),
    ];
    if let Some(ms) = bench.flush_interval_ms {
        env.push(("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", ms.to_string()));
    }
    let server = BenchServer::start(eventhose, &dir, &env)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    for webhook in 0..bench.webhooks {
        create_webhook(&client, &server.base, webhook, &receiver.url(webhook)).await?;
    }

    let expected = (plan.events() * measured_webhooks(bench)) as u64;
    let config = FeedConfig {
        url: format!("{}/api/v1/ingest/events", server.base),
        key: BENCH_KEY.into(),
        concurrency: bench.concurrency,
        spacing: bench
            .rate
            .map(|rate| Duration::from_secs_f64(bench.batch as f64 / rate)),
    };
    let cpu_before = (server.cpu_seconds()?, cpu_seconds(std::process::id())?);
    let bodies = Arc::new(plan.bodies.clone());
    let mut sending = tokio::spawn(feed(client.clone(), config, bodies));
    let deadline = Instant::now() + bench.deadline;
    let waiting = receiver.wait_for(expected, bench.stall_timeout, deadline);
    tokio::pin!(waiting);
    // Keep waiting once sending is done; stop at once if it failed.
    let mut fed = None;
    let wait = loop {
        tokio::select! {
            wait = &mut waiting => break wait,
            sent = &mut sending, if fed.is_none() => fed = Some(sent??),
        }
    };
    let waited = Instant::now();
    let fed = match fed {
        Some(fed) => fed,
        None => sending.await??,
    };
    let cpu_after = (server.cpu_seconds()?, cpu_seconds(std::process::id())?);
    let peak_rss = server.peak_rss_bytes()?;
    if wait != Wait::Complete || bench.slow_webhooks > 0 {
        print_webhook_metrics(&client, &server.base).await;
    }
    server.stop()?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(Measured {
        fed,
        wait,
        waited,
        server_cpu: cpu_after.0 - cpu_before.0,
        bench_cpu: cpu_after.1 - cpu_before.1,
        peak_rss,
    })
}

/// Prints the diagnostics (stderr) and the Markdown row (stdout).
fn report(bench: &WebhooksBench, plan: &IngestPlan, measured: &Measured, tally: &Tally) {
    let Measured { fed, wait, .. } = measured;
    let expected = (plan.events() * measured_webhooks(bench)) as u64;
    let slow_delivered: u64 = tally.per_webhook[..bench.slow_webhooks].iter().sum();
    let delivered = tally.delivered - slow_delivered;
    let ingest_seconds = seconds_between(fed.started, fed.finished());
    // Rates and CPU shares are over first request → last arrival: after a stall or timeout
    // the server sat idle, and that wait is not part of the measurement.
    let delivery_seconds =
        seconds_between(fed.started, tally.last_arrival.unwrap_or(measured.waited));
    let shortfall = expected.saturating_sub(delivered);
    if *wait != Wait::Complete || shortfall > 0 {
        eprintln!(
            "incomplete ({wait:?}): {delivered} of {expected} deliveries arrived, {shortfall} missing; by webhook: {:?}",
            tally.per_webhook
        );
    }
    let slow = if bench.slow_webhooks > 0 {
        format!(
            " (+{} slow at {} ms/POST: {slow_delivered} delivered meanwhile, not measured)",
            bench.slow_webhooks, bench.slow_ms
        )
    } else {
        String::new()
    };
    if tally.repeats > 0 || tally.foreign > 0 || fed.throttled > 0 {
        eprintln!(
            "{} repeated deliveries, {} unknown events, {} throttled ingest requests",
            tally.repeats, tally.foreign, fed.throttled
        );
    }
    let width = bench.window.as_secs_f64();
    for (window, latencies) in &tally.by_window {
        eprintln!(
            "  acked {:>4.0}–{:.0} s: latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} deliveries)",
            *window as f64 * width,
            (*window + 1) as f64 * width,
            millis(percentile(latencies, 0.50)),
            millis(percentile(latencies, 0.99)),
            millis(latencies.last().copied().unwrap_or_default()),
            latencies.len(),
        );
    }
    let pacing = match bench.rate {
        Some(rate) => format!("paced at {rate:.0}/s"),
        None => "unpaced".to_string(),
    };
    println!(
        "| webhooks | {} webhooks{slow}, {} events {pacing}, {}/request, {} clients | {:.0} events ingested/s | {:.0} deliveries/s ({} of {expected}{}) | {} POSTs, {:.0} events/POST | latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms | server CPU {:.0}%, bench CPU {:.0}% of one core | server peak RSS {} MB |",
        measured_webhooks(bench),
        plan.events(),
        bench.batch,
        bench.concurrency,
        plan.events() as f64 / ingest_seconds,
        delivered as f64 / delivery_seconds,
        delivered,
        if shortfall > 0 { format!(", {shortfall} missing") } else { String::new() },
        tally.batches,
        tally.delivered as f64 / tally.batches.max(1) as f64,
        millis(percentile(&tally.latencies, 0.50)),
        millis(percentile(&tally.latencies, 0.99)),
        millis(tally.latencies.last().copied().unwrap_or_default()),
        measured.server_cpu / delivery_seconds * 100.0,
        measured.bench_cpu / delivery_seconds * 100.0,
        measured.peak_rss / 1_000_000,
    );
}

/// The webhooks whose deliveries are measured: those that are not slow.
fn measured_webhooks(bench: &WebhooksBench) -> usize {
    bench.webhooks - bench.slow_webhooks
}

/// Seconds from `start` to `end`, never zero (rates divide by it).
fn seconds_between(start: Instant, end: Instant) -> f64 {
    end.saturating_duration_since(start).as_secs_f64().max(1e-9)
}

/// Creates webhook number `n`, subscribed to every event type, aimed at `target`.
pub(crate) async fn create_webhook(
    client: &reqwest::Client,
    base: &str,
    n: usize,
    target: &str,
) -> anyhow::Result<()> {
    let events: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    let response = client
        .post(format!("{base}/api/v1/webhooks"))
        .header("Authorization", BENCH_KEY)
        .json(&json!({ "name": format!("bench {n}"), "target": target, "events": events }))
        .send()
        .await?;
    let status = response.status();
    anyhow::ensure!(
        status.is_success(),
        "creating webhook {n} answered {status}: {}",
        response.text().await.unwrap_or_default()
    );
    Ok(())
}

/// Prints the server's webhook metrics, summed over webhooks, to stderr (to see where
/// missing deliveries went).
async fn print_webhook_metrics(client: &reqwest::Client, base: &str) {
    let text = match client.get(format!("{base}/metrics")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(e) => return eprintln!("cannot read /metrics: {e}"),
    };
    for (name, total) in webhook_metric_totals(&text) {
        eprintln!("  {name} {total}");
    }
}

/// The `eventhose_webhook_*` counters and the webhooks subscriber's hose gauges in a
/// Prometheus text page, each summed over its label sets.
fn webhook_metric_totals(page: &str) -> std::collections::BTreeMap<String, f64> {
    let mut totals = std::collections::BTreeMap::new();
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series);
        let wanted = (name.starts_with("eventhose_webhook_") && name.ends_with("_total"))
            || ((name.starts_with("eventhose_hose_subscriber_")
                || name == "eventhose_hose_deferred_messages_total")
                && series.contains("subscriber=\"webhooks\""));
        if let (true, Ok(value)) = (wanted, value.parse::<f64>()) {
            *totals.entry(name.to_string()).or_insert(0.0) += value;
        }
    }
    totals
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_metrics_are_summed_over_webhooks() {
        let page = "# TYPE eventhose_webhook_attempts_total counter\n\
            eventhose_webhook_attempts_total{webhook=\"a\"} 3\n\
            eventhose_webhook_attempts_total{webhook=\"b\"} 4\n\
            eventhose_webhook_delivery_seconds_sum{webhook=\"a\"} 0.5\n\
            eventhose_hose_subscriber_deferred{subscriber=\"webhooks\"} 2\n\
            eventhose_hose_subscriber_deferred{subscriber=\"counter\"} 9\n\
            eventhose_ingest_events_total 100\n";
        let totals: Vec<(String, f64)> = webhook_metric_totals(page).into_iter().collect();
        assert_eq!(
            totals,
            [
                ("eventhose_hose_subscriber_deferred".to_string(), 2.0),
                ("eventhose_webhook_attempts_total".to_string(), 7.0),
            ]
        );
    }
}
