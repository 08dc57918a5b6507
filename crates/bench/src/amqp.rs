//! `eventhose-bench amqp`: the same end-to-end load on the embedded hose, on RabbitMQ with
//! quorum queues and on RabbitMQ with classic queues, and on RabbitMQ with the state on
//! PostgreSQL — every role in one process, or the roles split into processes (cluster mode) —
//! in one run.
//!
//! For each hose: fresh `eventhose serve` child processes, ingest over HTTP from concurrent
//! clients (spread over the processes running the ingest role), and the clock stops once every
//! subscriber (counter, webhooks, suppressions, metrics, message events) has acknowledged
//! everything and, with `--webhook`, the receiver has every event: on the embedded hose every subscriber's lag is zero; on RabbitMQ
//! the counter has counted every event and every queue of the run's prefix is empty, unacknowledged
//! messages included (asked of `rabbitmqctl`, which only the end of a run waits for). The broker's
//! CPU time is read from `/proc` for its `beam.smp` process before and after.

use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::{Args, ValueEnum};
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

use crate::ingest::send_all;
use crate::scratch::bench_dir;
use crate::server::{cpu_seconds, BenchServer};
use crate::stats::percentile;
use crate::webhooks::create_webhook;
use crate::webhooks::receiver::{Receiver, Slow, Wait};
use crate::workload::request_bodies;

/// The webhook encryption key every process of a PostgreSQL run shares (32 bytes, base64).
const BENCH_ENCRYPTION_KEY: &str = "ZXZlbnRob3NlLWJlbmNoLWtleS0wMTIzNDU2Nzg5YWI=";

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
    /// The PostgreSQL server of the `postgres` and `split` runs; each run creates a database
    /// of its own there and drops it after.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Also deliver every event to a webhook (every event type) on a receiver in this
    /// process; deduplication is turned off so that each event sent is delivered.
    #[arg(long)]
    webhook: bool,
    /// Webhooks worker processes in the `split` run.
    #[arg(long, default_value_t = 1)]
    webhook_workers: usize,
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
    /// RabbitMQ (quorum queues) and the state on PostgreSQL, every role in one process.
    Postgres,
    /// RabbitMQ (quorum queues) and the state on PostgreSQL, the roles in processes of their
    /// own: two `api,ingest`, the webhooks workers, `suppressions`, `api,metrics,events`.
    Split,
}

impl HoseKind {
    /// The queue type on RabbitMQ; `None` for the embedded hose.
    fn queue_type(self) -> Option<&'static str> {
        match self {
            Self::Embedded => None,
            Self::Classic => Some("classic"),
            Self::Quorum | Self::Postgres | Self::Split => Some("quorum"),
        }
    }

    /// The processes of a run: the roles of each (`None`: every role).
    fn processes(self, webhook_workers: usize) -> Vec<Option<&'static str>> {
        if self != Self::Split {
            return vec![None];
        }
        let mut roles = vec![Some("api,ingest"), Some("api,ingest")];
        roles.extend(std::iter::repeat_n(
            Some("webhooks"),
            webhook_workers.max(1),
        ));
        roles.extend([Some("suppressions"), Some("api,metrics,events")]);
        roles
    }
}

impl fmt::Display for HoseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Embedded => "embedded log",
            Self::Quorum => "RabbitMQ, quorum queues",
            Self::Classic => "RabbitMQ, classic queues",
            Self::Postgres => "RabbitMQ + PostgreSQL, one process",
            Self::Split => "RabbitMQ + PostgreSQL, roles split into processes",
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
        let kind = match kind {
            HoseKind::Split => format!("{kind} ({} webhooks workers)", bench.webhook_workers),
            _ => kind.to_string(),
        };
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
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let prefix = format!("bench.{id}.");
    let mut env: Vec<(&str, String)> = Vec::new();
    if let Some(queue_type) = kind.queue_type() {
        env.extend([
            ("EVENTHOSE_HOSE", bench.url.clone()),
            ("EVENTHOSE_AMQP__PREFIX", prefix.clone()),
            ("EVENTHOSE_AMQP__QUEUE_TYPE", queue_type.to_owned()),
            ("EVENTHOSE_AMQP__STATS_INTERVAL_MS", "250".to_owned()),
        ]);
    }
    let database = match kind {
        HoseKind::Postgres | HoseKind::Split => Some(BenchDatabase::create(
            &bench.postgres,
            &format!("eventhose_bench_{id}"),
        )?),
        _ => None,
    };
    if let Some(database) = &database {
        env.extend([
            ("EVENTHOSE_STATE", database.url.clone()),
            (
                "EVENTHOSE_WEBHOOKS__ENCRYPTION_KEY",
                BENCH_ENCRYPTION_KEY.to_owned(),
            ),
        ]);
    }
    if bench.webhook {
        env.extend([
            ("EVENTHOSE_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
            ("EVENTHOSE_WEBHOOKS__ALLOW_ANY_PORT", "true".to_owned()),
            ("EVENTHOSE_DEDUP_WINDOW_MINUTES", "0".to_owned()),
        ]);
    }
    let mut servers = Vec::new();
    for (n, roles) in kind
        .processes(bench.webhook_workers)
        .into_iter()
        .enumerate()
    {
        let process_dir = dir.join(format!("process-{n}"));
        std::fs::create_dir_all(&process_dir)?;
        let server = BenchServer::start_roles(eventhose, &process_dir, roles, &env)?;
        servers.push((roles, server));
    }
    let runs = |role: &str| {
        let role = role.to_owned();
        move |(roles, _): &&(Option<&str>, BenchServer)| {
            roles.is_none_or(|roles| roles.split(',').any(|r| r == role))
        }
    };
    let fronts: Vec<String> = servers
        .iter()
        .filter(runs("ingest"))
        .map(|(_, server)| server.base.clone())
        .collect();
    let receiver = if bench.webhook {
        let receiver = Receiver::start(Slow::default()).await?;
        let client = reqwest::Client::new();
        create_webhook(&client, &fronts[0], 0, &receiver.url(0)).await?;
        for (_, worker) in servers.iter().filter(runs("webhooks")) {
            webhook_loaded(&worker.base).await?;
        }
        Some(receiver)
    } else {
        None
    };
    let requests = bench.events.div_ceil(bench.batch);
    let events = requests * bench.batch;
    let broker_before = broker.map(cpu_seconds).transpose()?;
    let servers_cpu = |servers: &[(Option<&str>, BenchServer)]| -> anyhow::Result<f64> {
        servers.iter().map(|(_, server)| server.cpu_seconds()).sum()
    };
    let servers_before = servers_cpu(&servers)?;
    let started = Instant::now();
    let latencies = send_all(&fronts, bodies, requests, bench.concurrency, false).await?;
    let ingested = started.elapsed();
    let drained = tokio::time::timeout(DRAIN_LIMIT, async {
        match kind {
            HoseKind::Embedded => embedded_drained(&fronts[0], events as u64).await?,
            _ => amqp_drained(&fronts, events as u64, &prefix).await?,
        }
        if let Some(receiver) = &receiver {
            let deadline = Instant::now() + DRAIN_LIMIT;
            let wait = receiver
                .wait_for(events as u64, DRAIN_LIMIT, deadline)
                .await;
            anyhow::ensure!(
                wait == Wait::Complete,
                "the webhook did not get every event: {wait:?}"
            );
        }
        Ok(())
    })
    .await
    .context("the subscribers did not finish in time")?;
    drained?;
    let drained = started.elapsed();
    let server_cpu = servers_cpu(&servers)? - servers_before;
    let broker_cpu = match (broker, broker_before) {
        (Some(pid), Some(before)) => Some(cpu_seconds(pid)? - before),
        _ => None,
    };
    for (_, server) in servers {
        server.stop()?;
    }
    if kind != HoseKind::Embedded {
        delete_prefix(&bench.url, &prefix).await?;
    }
    drop(database);
    Ok(Outcome {
        events,
        ingested,
        drained,
        latencies,
        server_cpu,
        broker_cpu,
    })
}

/// Until a webhooks worker's engine has loaded the webhook the run created.
pub(crate) async fn webhook_loaded(base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let samples = samples(base).await?;
        if samples
            .iter()
            .any(|(name, value)| name == "eventhose_webhooks_loaded" && *value == 1.0)
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the webhooks worker at {base} did not load the webhook"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A database of the run's own on the PostgreSQL server, dropped (connections and all) when
/// this is; made with `psql`, which the machine running PostgreSQL has.
struct BenchDatabase {
    server: String,
    name: String,
    /// The database's URL.
    url: String,
}

impl BenchDatabase {
    fn create(server: &str, name: &str) -> anyhow::Result<Self> {
        psql(server, &format!("CREATE DATABASE {name}"))?;
        let base = server
            .rsplit_once('/')
            .map_or(server, |(base, _)| base)
            .to_owned();
        Ok(Self {
            server: server.to_owned(),
            name: name.to_owned(),
            url: format!("{base}/{name}"),
        })
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        let dropped = psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        if let Err(e) = dropped {
            eprintln!("cannot drop the bench database {}: {e}", self.name);
        }
    }
}

/// Runs one statement with `psql` on `server`.
fn psql(server: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args([server, "-qAtc", sql])
        .output()
        .context("cannot run psql (needed to make the run's database)")?;
    anyhow::ensure!(
        output.status.success(),
        "psql {sql:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// The server's `/metrics` as (sample, value) pairs.
pub(crate) async fn samples(base: &str) -> anyhow::Result<Vec<(String, f64)>> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    Ok(parse_samples(&text))
}

/// A Prometheus text page as (sample, value) pairs, the sample with its labels.
pub(crate) fn parse_samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// What the counter subscriber counted (other subscribers count in the same family).
pub(crate) fn counted_events(samples: &[(String, f64)]) -> u64 {
    let counter = "eventhose_subscriber_events_total{subscriber=\"counter\"";
    let counted: f64 = samples
        .iter()
        .filter(|(name, _)| name.starts_with(counter))
        .map(|(_, value)| value)
        .sum();
    // A counter's value is a whole number far inside u64 (and `as` saturates anyway).
    #[allow(clippy::cast_possible_truncation)]
    let counted = counted as u64;
    counted
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
pub(crate) async fn embedded_drained(base: &str, events: u64) -> anyhow::Result<()> {
    loop {
        let samples = samples(base).await?;
        let counted = counted_events(&samples);
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

/// Until the counters of the `fronts` (the processes running ingest, and with it the counter)
/// have together counted `events`, the work queues have nothing ready (their gauges), and then
/// every queue of `prefix` is empty, unacknowledged messages included.
async fn amqp_drained(fronts: &[String], events: u64, prefix: &str) -> anyhow::Result<()> {
    loop {
        let mut counted = 0;
        let mut ready = 0.0;
        for base in fronts {
            let samples = samples(base).await?;
            counted += counted_events(&samples);
            ready += total(&samples, "eventhose_hose_queue_messages");
        }
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
pub(crate) fn queue_depths(prefix: &str) -> anyhow::Result<Vec<(String, u64)>> {
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
pub(crate) async fn delete_prefix(url: &str, prefix: &str) -> anyhow::Result<()> {
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
