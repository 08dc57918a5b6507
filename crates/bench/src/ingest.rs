//! `eventhose-bench ingest`: durable ingest over HTTP against a `serve` child process.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
