//! `eventhose-bench hose`: the raw hose (append + fsync, no HTTP), beside the disk's own
//! fsync'd write rate.

use std::path::PathBuf;

use clap::Args;
use eventhose_hose::embedded::EmbeddedConfig;

use crate::scratch::bench_dir;
use crate::workload::stored_events;

/// Options of `hose`.
#[derive(Debug, Args)]
pub struct HoseBench {
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

/// Runs the benchmark and prints one Markdown row per measurement.
pub async fn run(bench: HoseBench) -> anyhow::Result<()> {
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
