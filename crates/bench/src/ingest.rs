//! `eventhose-bench ingest`: durable ingest over HTTP against a `serve` child process.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;

use crate::scratch::bench_dir;
use crate::server::{BenchServer, BENCH_KEY};
use crate::stats::percentile;
use crate::workload::{request_bodies, simulated_lines};

/// Options of `ingest`.
#[derive(Debug, Args)]
pub struct IngestBench {
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

/// Runs the benchmark and prints one Markdown row.
pub async fn run(eventhose: &Path, bench: IngestBench) -> anyhow::Result<()> {
    let dir = bench_dir(bench.dir.as_deref(), "ingest")?;
    let bodies = Arc::new(request_bodies(bench.batch, bench.gzip)?);
    let raw_bytes: usize = simulated_lines(bench.batch, 7).len();
    let server = BenchServer::start(eventhose, &dir, &[])?;
    let requests = bench.events.div_ceil(bench.batch);

    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let bases = [server.base.clone()];
    let latencies = send_all(&bases, bodies, requests, bench.concurrency, bench.gzip).await?;
    let elapsed = started.elapsed();
    let cpu = server.cpu_seconds()? - cpu_before;
    let peak_rss = server.peak_rss_bytes()?;
    server.stop()?;

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

/// Sends `requests` ingest requests from `concurrency` clients, each to the next of `bases` in
/// turn and with the next of `bodies` (marked gzip'd if `gzip`); every one must be acknowledged.
/// Returns the requests' latencies, shortest first.
pub(crate) async fn send_all(
    bases: &[String],
    bodies: Arc<Vec<Bytes>>,
    requests: usize,
    concurrency: usize,
    gzip: bool,
) -> anyhow::Result<Vec<Duration>> {
    send_all_to(
        bases,
        "/api/v1/ingest/events",
        bodies,
        requests,
        concurrency,
        gzip,
    )
    .await
}

/// [`send_all`] to the ingest route at `path`.
pub(crate) async fn send_all_to(
    bases: &[String],
    path: &str,
    bodies: Arc<Vec<Bytes>>,
    requests: usize,
    concurrency: usize,
    gzip: bool,
) -> anyhow::Result<Vec<Duration>> {
    let urls: Arc<Vec<String>> =
        Arc::new(bases.iter().map(|base| format!("{base}{path}")).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, urls, bodies, next) =
            (client.clone(), urls.clone(), bodies.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let mut request = client
                    .post(&urls[i % urls.len()])
                    .header("Authorization", BENCH_KEY)
                    .body(bodies[i % bodies.len()].clone());
                if gzip {
                    request = request.header("Content-Encoding", "gzip");
                }
                let sent = Instant::now();
                let response = request.send().await?;
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
