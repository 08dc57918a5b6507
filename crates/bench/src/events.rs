//! `eventhose-bench events`: the message-events subscriber's insert throughput (hose → DuckDB),
//! and Events API latency over days of stored events.
//!
//! The stored days come from the simulator (its realistic catalogue and lifecycles) at the
//! requested events per day, inserted straight into the store in batches; queries then go
//! through a real `eventhose serve` over that data directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args;
use eventhose_analytics::{EventBatch, EventWriter};
use eventhose_analytics_duckdb::{DuckOptions, DuckStore};
use eventhose_subscribers::{MessageEventsSubscriber, MESSAGE_EVENTS_SUBSCRIBER};

use crate::scratch::bench_dir;
use crate::server::{timed_get, BenchServer, QueryKind};
use crate::stats::percentile;
use crate::subscriber_rate::{day_and_store, drain_time};
use crate::workload::stored_form;

/// `eventhose-bench events`.
#[derive(Debug, Args)]
pub struct EventsBench {
    /// Events pushed through the subscriber for the throughput measurement.
    #[arg(long, default_value_t = 2_000_000)]
    events: usize,
    /// Events per stored day for the search measurement.
    #[arg(long, default_value_t = 1_000_000)]
    events_per_day: usize,
    /// Stored days.
    #[arg(long, default_value_t = 10)]
    days: usize,
    /// Requests per query kind.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Skip the throughput phase.
    #[arg(long)]
    skip_throughput: bool,
    /// Where the data goes (default: a new directory under /var/tmp).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the data directory (its search store can be searched again with `--reuse`).
    #[arg(long)]
    keep: bool,
    /// Search the store a kept run left in `--dir` instead of filling a new one.
    #[arg(long, requires = "dir")]
    reuse: bool,
}

/// Runs both phases.
pub async fn run(eventhose: &Path, bench: EventsBench) -> anyhow::Result<()> {
    let dir = bench_dir(bench.dir.as_deref(), "events")?;
    if !bench.skip_throughput {
        throughput(&bench, &dir.join("throughput")).await?;
    }
    search(eventhose, &bench, &dir.join("search")).await?;
    if bench.keep || bench.reuse {
        println!("kept the search store: {}", dir.join("search").display());
    } else {
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(())
}

async fn throughput(bench: &EventsBench, dir: &Path) -> anyhow::Result<()> {
    let (events, store) = day_and_store(bench.events, dir)?;
    let subscriber = MessageEventsSubscriber::open(
        store,
        Duration::from_secs(10 * 86_400),
        Duration::from_secs(1),
        Default::default(),
    )
    .await?;
    let elapsed = drain_time(dir, MESSAGE_EVENTS_SUBSCRIBER, events, subscriber).await?;
    println!(
        "| message-events subscriber (hose → DuckDB insert, commits each second or {} events) | {} events | {:.0} events/s |",
        eventhose_subscribers::MAX_PENDING_MESSAGES,
        bench.events,
        bench.events as f64 / elapsed.as_secs_f64(),
    );
    Ok(())
}

/// Fills `dir` with `--days` of simulated events ending now, inserted straight into the store.
fn fill(bench: &EventsBench, dir: &Path) -> anyhow::Result<()> {
    let now = Utc::now().timestamp();
    let start = now - bench.days as i64 * 86_400;
    let total = bench.events_per_day * bench.days;
    std::fs::create_dir_all(dir)?;
    let filling = Instant::now();
    {
        let store = DuckStore::open(&dir.join("analytics.duckdb"), &DuckOptions::default())?;
        let rate = bench.events_per_day as f64 / 86_400.0;
        let mut done = 0;
        // One simulator run for the whole span, generated and inserted a chunk at a time.
        let chunk = 200_000;
        let mut simulator = eventhose_simulator::Simulator::new(
            eventhose_simulator::SimConfig::new(23, start, rate),
        )?;
        let mut lines = Vec::new();
        while done < total {
            let n = chunk.min(total - done);
            lines.clear();
            simulator.write_lines(&mut lines, n, eventhose_simulator::LineFormat::Bare);
            let stored = stored_form(&lines)?;
            let slices: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();
            store.insert(&EventBatch::read(&slices)?, None)?;
            done += n;
        }
    }
    let fill_secs = filling.elapsed().as_secs_f64();
    // The database file and the body files beside it.
    let database = std::fs::metadata(dir.join("analytics.duckdb"))?.len();
    let mut bodies = 0;
    for entry in std::fs::read_dir(dir.join("analytics.bodies"))? {
        bodies += entry?.metadata()?.len();
    }
    println!(
        "| stored events | {} events over {} days | inserted at {:.0} events/s | {:.0} bytes/event on disk ({:.0} of them bodies) |",
        total,
        bench.days,
        total as f64 / fill_secs,
        (database + bodies) as f64 / total as f64,
        bodies as f64 / total as f64,
    );
    Ok(())
}

/// Stored events spread over the last day, read through the API: a page from each hour.
async fn sample_events(
    client: &reqwest::Client,
    base: &str,
    now: i64,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut sample = Vec::new();
    for hour in 0..24 {
        let to = now - hour * 3_600;
        let url = format!(
            "{base}/api/v1/events/message?from={}&to={}&per_page=42",
            api_time(to - 3_600),
            api_time(to)
        );
        let (_, body) = timed_get(client, &url).await?;
        let answer: serde_json::Value = serde_json::from_slice(&body)?;
        if let Some(events) = answer["results"].as_array() {
            sample.extend(events.iter().cloned());
        }
    }
    Ok(sample)
}

/// A unix time in the API's `YYYY-MM-DDTHH:MM:SSZ` form.
fn api_time(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

async fn search(eventhose: &Path, bench: &EventsBench, dir: &Path) -> anyhow::Result<()> {
    if !(bench.reuse && dir.join("analytics.duckdb").exists()) {
        fill(bench, dir)?;
    }
    let now = Utc::now().timestamp();
    let server = BenchServer::start(eventhose, dir, &[])?;
    let client = reqwest::Client::new();
    let sample = sample_events(&client, &server.base, now).await?;
    // Query values from stored events of the last day.
    let picks: Vec<(String, String, String)> = sample
        .iter()
        .filter_map(|event| {
            let field = |name: &str| event[name].as_str().map(str::to_owned);
            Some((
                field("rcpt_to")?,
                field("message_id")?,
                field("campaign_id")?,
            ))
        })
        .collect();
    anyhow::ensure!(!picks.is_empty(), "no sample events to query for");
    let base = format!(
        "{}/api/v1/events/message?from={}",
        server.base,
        api_time(now - 86_400)
    );
    // The i-th request's pick: spread over the sample, so over the day.
    let pick = |i: usize| &picks[i * picks.len() / bench.queries.max(1) % picks.len()];
    let kinds: [QueryKind<'_>; 4] = [
        (
            "by recipient, last 24 h",
            Box::new(|i| format!("{base}&recipients={}", pick(i).0)),
        ),
        (
            "by message id, last 24 h",
            Box::new(|i| format!("{base}&messages={}", pick(i).1)),
        ),
        (
            "by campaign, last 24 h",
            Box::new(|i| format!("{base}&campaigns={}", pick(i).2)),
        ),
        (
            "first page, no filter, last 24 h",
            Box::new(|_| base.clone()),
        ),
    ];
    for (name, url) in kinds {
        let mut latencies = Vec::with_capacity(bench.queries);
        let mut matched = 0u64;
        let mut first = None;
        for i in 0..bench.queries {
            let (took, body) = timed_get(&client, &url(i)).await?;
            first.get_or_insert(took);
            latencies.push(took);
            let answer: serde_json::Value = serde_json::from_slice(&body)?;
            matched += answer["total_count"].as_u64().unwrap_or(0);
        }
        latencies.sort();
        println!(
            "| Events API: {name} | {} requests, one at a time, {:.0} matches each on average | first {:.1} ms | p50 {:.1} ms | p99 {:.1} ms |",
            bench.queries,
            matched as f64 / bench.queries as f64,
            first.unwrap_or_default().as_secs_f64() * 1e3,
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        );
    }
    server.stop()?;
    Ok(())
}
