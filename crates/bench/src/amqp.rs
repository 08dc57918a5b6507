//! `eventhose-bench amqp`: the same end-to-end load on the embedded hose, on RabbitMQ with
//! quorum queues and on RabbitMQ with classic queues, in one run.
//!
//! For each hose: a fresh `eventhose serve` child process, ingest over HTTP from concurrent
//! clients, and the clock stops once every subscriber (counter, webhooks, suppressions, metrics)
//! has acknowledged everything: on the embedded hose every subscriber's lag is zero; on RabbitMQ
//! the counter has counted every event and every queue of the run's prefix is empty, unacknowledged
//! messages included (asked of `rabbitmqctl`, which only the end of a run waits for). The broker's
//! CPU time is read from `/proc` for its `beam.smp` process before and after.

use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::{Args, ValueEnum};
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

use crate::scratch::bench_dir;
use crate::server::{cpu_seconds, BenchServer, BENCH_KEY};
use crate::stats::percentile;
use crate::workload::request_bodies;

/// How often completion is polled.
const POLL: Duration = Duration::from_millis(50);
/// Longest wait for the subscribers to finish after the last request was acknowledged.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// `eventhose-bench amqp`.
#[derive(Debug, Args)]
pub struct AmqpBench {
    /// Events to send to each hose.
    #[arg(long, default_value_t = 500_000)]
    events: usize,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The RabbitMQ broker (its `beam.smp` must run on this machine, for its CPU time).
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    url: String,
    /// The hoses to measure, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "embedded,quorum,classic"
    )]
    hoses: Vec<HoseKind>,
    /// Where the servers keep their data (default: a new directory under /var/tmp).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A hose to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum HoseKind {
    /// The embedded log.
    Embedded,
    /// RabbitMQ, quorum queues.
    Quorum,
    /// RabbitMQ, classic queues.
    Classic,
}

impl fmt::Display for HoseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Embedded => "embedded log",
            Self::Quorum => "RabbitMQ, quorum queues",
            Self::Classic => "RabbitMQ, classic queues",
        })
    }
}

/// What one hose achieved.
struct Outcome {
    events: usize,
    ingested: Duration,
    drained: Duration,
    latencies: Vec<Duration>,
    server_cpu: f64,
    broker_cpu: Option<f64>,
}

/// Runs the load on every chosen hose and prints one table row each.
pub async fn run(eventhose: &std::path::Path, bench: AmqpBench) -> anyhow::Result<()> {
    let dir = bench_dir(bench.dir.as_deref(), "amqp")?;
    let bodies = Arc::new(request_bodies(bench.batch, false)?);
    let broker = broker_pid();
    match broker {
        Some(pid) => println!("broker: beam.smp pid {pid}"),
        None => println!("broker: no local RabbitMQ beam.smp found; its CPU is not reported"),
    }
    println!("| hose | events | end-to-end events/s | ingest events/s | request p50 / p99 | eventhose CPU | broker CPU |");
    println!("|---|---|---|---|---|---|---|");
    for kind in &bench.hoses {
        let run_dir = dir.join(format!("{kind:?}").to_lowercase());
        std::fs::create_dir_all(&run_dir)?;
        let outcome = measure(eventhose, &bench, *kind, &run_dir, bodies.clone(), broker).await?;
        let e2e = outcome.events as f64 / outcome.drained.as_secs_f64();
        let ingest = outcome.events as f64 / outcome.ingested.as_secs_f64();
        let share = |cpu: f64| format!("{:.0} %", cpu / outcome.drained.as_secs_f64() * 100.0);
        println!(
            "| {kind} | {} | {e2e:.0} | {ingest:.0} | {:.1} ms / {:.1} ms | {} | {} |",
            outcome.events,
            percentile(&outcome.latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&outcome.latencies, 0.99).as_secs_f64() * 1e3,
            share(outcome.server_cpu),
            outcome.broker_cpu.map_or("–".into(), share),
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

async fn measure(
    eventhose: &std::path::Path,
    bench: &AmqpBench,
    kind: HoseKind,
    dir: &std::path::Path,
    bodies: Arc<Vec<Bytes>>,
    broker: Option<u32>,
) -> anyhow::Result<Outcome> {
    let prefix = format!(
        "bench.{}.",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut env: Vec<(&str, String)> = Vec::new();
    if let Some(queue_type) = match kind {
        HoseKind::Embedded => None,
        HoseKind::Quorum => Some("quorum"),
        HoseKind::Classic => Some("classic"),
    } {
        env.extend([
            ("EVENTHOSE_HOSE", bench.url.clone()),
            ("EVENTHOSE_AMQP__PREFIX", prefix.clone()),
            ("EVENTHOSE_AMQP__QUEUE_TYPE", queue_type.to_owned()),
            ("EVENTHOSE_AMQP__STATS_INTERVAL_MS", "250".to_owned()),
        ]);
    }
    let server = BenchServer::start(eventhose, dir, &env)?;
    let requests = bench.events.div_ceil(bench.batch);
    let events = requests * bench.batch;
    let broker_before = broker.map(cpu_seconds).transpose()?;
    let server_before = server.cpu_seconds()?;
    let started = Instant::now();
    let latencies = send_all(&server.base, bodies, requests, bench.concurrency).await?;
    let ingested = started.elapsed();
    let drained = tokio::time::timeout(DRAIN_LIMIT, async {
        match kind {
            HoseKind::Embedded => embedded_drained(&server.base, events as u64).await,
            _ => amqp_drained(&server.base, events as u64, &prefix).await,
        }
    })
    .await
    .context("the subscribers did not finish in time")?;
    drained?;
    let drained = started.elapsed();
    let server_cpu = server.cpu_seconds()? - server_before;
    let broker_cpu = match (broker, broker_before) {
        (Some(pid), Some(before)) => Some(cpu_seconds(pid)? - before),
        _ => None,
    };
    server.stop()?;
    if kind != HoseKind::Embedded {
        delete_prefix(&bench.url, &prefix).await?;
    }
    Ok(Outcome {
        events,
        ingested,
        drained,
        latencies,
        server_cpu,
        broker_cpu,
    })
}

/// Sends `requests` requests from `concurrency` clients; every one must be acknowledged.
async fn send_all(
    base: &str,
    bodies: Arc<Vec<Bytes>>,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Duration>> {
    let url = format!("{base}/api/v1/ingest/events");
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, bodies, next) =
            (client.clone(), url.clone(), bodies.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("Authorization", BENCH_KEY)
                    .body(bodies[i % bodies.len()].clone())
                    .send()
                    .await?;
                let status = response.status();
                if status != 200 {
                    let text = response.text().await.unwrap_or_default();
                    anyhow::bail!("ingest answered {status}: {text}");
                }
                latencies.push(sent.elapsed());
            }
        });
    }
    let mut latencies = Vec::with_capacity(requests);
    while let Some(result) = tasks.join_next().await {
        latencies.extend(result??);
    }
    latencies.sort();
    Ok(latencies)
}

/// The server's `/metrics` as (sample, value) pairs.
async fn samples(base: &str) -> anyhow::Result<Vec<(String, f64)>> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect())
}

/// Sum of the samples whose name starts with `family{`.
fn total(samples: &[(String, f64)], family: &str) -> f64 {
    let start = format!("{family}{{");
    samples
        .iter()
        .filter(|(name, _)| name.starts_with(&start))
        .map(|(_, value)| value)
        .sum()
}

/// Until the counter has counted `events` and every subscriber's lag is zero.
async fn embedded_drained(base: &str, events: u64) -> anyhow::Result<()> {
    loop {
        let samples = samples(base).await?;
        let counted = total(&samples, "eventhose_subscriber_events_total") as u64;
        let lags: Vec<f64> = samples
            .iter()
            .filter(|(name, _)| name.starts_with("eventhose_hose_subscriber_lag_bytes{"))
            .map(|(_, lag)| *lag)
            .collect();
        if counted >= events && !lags.is_empty() && lags.iter().all(|lag| *lag == 0.0) {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Until the counter has counted `events`, the work queues have nothing ready (the server's
/// gauges), and then every queue of `prefix` is empty, unacknowledged messages included.
async fn amqp_drained(base: &str, events: u64, prefix: &str) -> anyhow::Result<()> {
    loop {
        let samples = samples(base).await?;
        let counted = total(&samples, "eventhose_subscriber_events_total") as u64;
        let ready = total(&samples, "eventhose_hose_queue_messages");
        if counted >= events && ready == 0.0 {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    loop {
        let queues = queue_depths(prefix)?;
        anyhow::ensure!(
            !queues.is_empty(),
            "no queue of prefix {prefix} on the broker"
        );
        if queues.iter().all(|(_, messages)| *messages == 0) {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// (queue, messages ready + unacknowledged) of every queue whose name starts with `prefix`.
fn queue_depths(prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
    let output = Command::new("rabbitmqctl")
        .args([
            "--quiet",
            "list_queues",
            "name",
            "messages",
            "--no-table-headers",
        ])
        .output()
        .context("cannot run rabbitmqctl (needed to see unacknowledged messages)")?;
    anyhow::ensure!(
        output.status.success(),
        "rabbitmqctl list_queues failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?;
            let messages = fields.next()?.parse().ok()?;
            name.starts_with(prefix)
                .then(|| (name.to_owned(), messages))
        })
        .collect())
}

/// Deletes the run's queues and exchange.
async fn delete_prefix(url: &str, prefix: &str) -> anyhow::Result<()> {
    let queues = queue_depths(prefix)?;
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    for (queue, _) in queues {
        channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    channel
        .exchange_delete(
            format!("{prefix}events").as_str().into(),
            ExchangeDeleteOptions::default(),
        )
        .await?;
    let _ = connection.close(200, "benchmark done".into()).await;
    Ok(())
}

/// The RabbitMQ node's `beam.smp` on this machine (not a CLI tool's), if any.
fn broker_pid() -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            comm.trim() == "beam.smp" && cmdline.contains("-s rabbit boot")
        })
}
