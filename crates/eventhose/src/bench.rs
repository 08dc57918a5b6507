//! `eventhose bench …`: the benchmarks whose results go in BENCHMARKS.md. Each prints the
//! machine it ran on and one Markdown table row per measurement.

mod amqp;
mod events;
mod metrics;
mod server;
mod subscriber_rate;
mod webhooks;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::{Args, Subcommand};
use eventhose_hose::embedded::EmbeddedConfig;
use eventhose_hose::Message;
use eventhose_model::{Event, EventIdGenerator};
use eventhose_simulator::{LineFormat, SimConfig, Simulator};
use server::{BenchServer, BENCH_KEY};

/// `eventhose bench <which>`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Durable ingest over HTTP against a fresh `eventhose serve` child process.
    Ingest(IngestBench),
    /// The raw hose (append + fsync, no HTTP), beside the disk's own fsync'd write rate.
    Hose(HoseBench),
    /// Webhook delivery: ingest → hose → webhooks engine → a fast receiver in this process.
    Webhooks(webhooks::WebhooksBench),
    /// The metrics subscriber's throughput, metrics freshness, and Metrics API latency over six
    /// months of aggregates.
    Metrics(metrics::MetricsBench),
    /// The same end-to-end load (ingest → every subscriber acknowledged) on the embedded hose,
    /// RabbitMQ with quorum queues and RabbitMQ with classic queues, with the broker's CPU.
    Amqp(amqp::AmqpBench),
    /// The message-events subscriber's insert throughput and Events API latency over stored days.
    Events(events::EventsBench),
}

#[derive(Debug, Args)]
struct IngestBench {
    /// Events to send in all.
    #[arg(long, default_value_t = 2_000_000)]
    events: usize,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Gzip the request bodies.
    #[arg(long)]
    gzip: bool,
    /// Where the server keeps its data (default: a new directory under /var/tmp).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct HoseBench {
    /// Events to append in all.
    #[arg(long, default_value_t = 2_000_000)]
    events: usize,
    /// Events per publish.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Concurrent publishers.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Directory for the log (default: a new directory under /var/tmp).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Runs one benchmark.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    println!("machine: {}", machine_description());
    match args.command {
        BenchCommand::Ingest(bench) => ingest(bench).await,
        BenchCommand::Hose(bench) => hose(bench).await,
        BenchCommand::Webhooks(bench) => webhooks::run(bench).await,
        BenchCommand::Metrics(bench) => metrics::run(bench).await,
        BenchCommand::Events(bench) => events::run(bench).await,
        BenchCommand::Amqp(bench) => amqp::run(bench).await,
    }
}

/// How many distinct request bodies are generated and cycled (more would only cost memory).
const DISTINCT_BODIES: usize = 64;

async fn ingest(bench: IngestBench) -> anyhow::Result<()> {
    let dir = bench_dir(bench.dir.as_deref(), "ingest")?;
    let bodies = Arc::new(request_bodies(bench.batch, bench.gzip)?);
    let raw_bytes: usize = simulated_lines(bench.batch, 7).len();
    let server = BenchServer::start(&dir, &[])?;
    let url = format!("{}/api/v1/ingest/events", server.base);
    let requests = bench.events.div_ceil(bench.batch);
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;

    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..bench.concurrency {
        let (client, url, bodies, next) =
            (client.clone(), url.clone(), bodies.clone(), next.clone());
        let gzip = bench.gzip;
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let mut request = client
                    .post(&url)
                    .header("Authorization", BENCH_KEY)
                    .body(bodies[i % bodies.len()].clone());
                if gzip {
                    request = request.header("Content-Encoding", "gzip");
                }
                let sent = Instant::now();
                let response = request.send().await?;
                anyhow::ensure!(
                    response.status() == 200,
                    "ingest answered {}",
                    response.status()
                );
                latencies.push(sent.elapsed());
            }
        });
    }
    let mut latencies = Vec::with_capacity(requests);
    while let Some(result) = tasks.join_next().await {
        latencies.extend(result??);
    }
    let elapsed = started.elapsed();
    let cpu = server.cpu_seconds()? - cpu_before;
    let peak_rss = server.peak_rss_bytes()?;
    server.stop()?;
    latencies.sort();

    let events = requests * bench.batch;
    println!(
        "| ingest HTTP{} | {} events, {}/request, {} clients | {:.0} events/s | {:.1} MB/s of JSON | p50 {:.1} ms, p99 {:.1} ms | server CPU {:.0}% of one core | peak RSS {} MB |",
        if bench.gzip { " gzip" } else { "" },
        events,
        bench.batch,
        bench.concurrency,
        events as f64 / elapsed.as_secs_f64(),
        (requests * raw_bytes) as f64 / elapsed.as_secs_f64() / 1e6,
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        cpu / elapsed.as_secs_f64() * 100.0,
        peak_rss / 1_000_000,
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

async fn hose(bench: HoseBench) -> anyhow::Result<()> {
    let dir = bench_dir(bench.dir.as_deref(), "hose")?;
    let batch = stored_events(bench.batch)?;
    let event_bytes: usize = batch.iter().map(|m| m.len()).sum();
    let batches = bench.events.div_ceil(bench.batch);
    let result = eventhose_hose::bench::bench_append(
        dir.join("log"),
        EmbeddedConfig::default(),
        batch,
        batches,
        bench.concurrency,
    )
    .await?;
    println!(
        "| hose append+fsync | {} events of {} B avg, {}/publish, {} publishers | {:.0} events/s | {:.1} MB/s raw, {:.1} MB/s written (ratio {:.1}) | {:.0} fsyncs/s |",
        result.messages,
        event_bytes / bench.batch.max(1),
        bench.batch,
        bench.concurrency,
        result.messages_per_sec,
        result.raw_mb_per_sec,
        result.written_mb_per_sec,
        result.compression_ratio,
        result.fsyncs_per_sec,
    );
    for chunk in [1 << 20, 16 << 20] {
        let baseline_dir = dir.join("baseline");
        std::fs::create_dir_all(&baseline_dir)?;
        let mb_per_sec = tokio::task::spawn_blocking(move || {
            eventhose_hose::bench::disk_fsync_baseline(baseline_dir, chunk, 512 << 20)
        })
        .await??;
        println!(
            "| disk baseline: sequential write + fsync every {} MiB | 512 MiB | {:.1} MB/s | | |",
            chunk >> 20,
            mb_per_sec
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// `n` simulated events as NDJSON.
fn simulated_lines(n: usize, seed: u64) -> Vec<u8> {
    // A day ago: ingest accepts only events inside the retention window.
    let start = chrono::Utc::now().timestamp() - 86_400;
    let mut simulator = match Simulator::new(SimConfig::new(seed, start, 10_000.0)) {
        Ok(simulator) => simulator,
        Err(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    simulator.write_lines(&mut out, n, LineFormat::Bare);
    out
}

/// Distinct ingest bodies of `batch` simulated events each.
fn request_bodies(batch: usize, gzip: bool) -> anyhow::Result<Vec<Bytes>> {
    (0..DISTINCT_BODIES as u64)
        .map(|seed| {
            let lines = simulated_lines(batch, seed + 1);
            anyhow::ensure!(!lines.is_empty(), "the simulator produced nothing");
            Ok(Bytes::from(if gzip { gzip_bytes(&lines)? } else { lines }))
        })
        .collect()
}

/// `batch` simulated events in the hose's storage form.
fn stored_events(batch: usize) -> anyhow::Result<Vec<Message>> {
    let ids = EventIdGenerator::new();
    simulated_lines(batch, 1)
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let event = Event::parse_ingest(line, &ids)?;
            Ok(Message::from(event.to_json_bytes()))
        })
        .collect()
}

fn gzip_bytes(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn bench_dir(given: Option<&Path>, what: &str) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(dir) => dir.to_path_buf(),
        None => std::env::temp_dir().join(format!(
            "eventhose-bench-{what}-{}",
            uuid::Uuid::new_v4().simple()
        )),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kb: u64 = info
                .lines()
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(kb / 1024 / 1024)
        })
        .unwrap_or(0);
    format!("{cores} cores ({cpu}), {memory} GiB RAM")
}
