//! Append-throughput benchmark of the embedded hose, and the disk's own fsync-bound write rate to compare with.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::embedded::{EmbeddedConfig, EmbeddedHose};
use crate::error::join_error;
use crate::{Hose, HoseError, Message};

const BYTES_PER_MB: f64 = 1_000_000.0;

/// Outcome of [`bench_append`]. MB are 10^6 bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchResult {
    /// Messages published.
    pub messages: u64,
    /// Publish calls made.
    pub batches: u64,
    /// Wall time from the first publish to the last completion.
    pub elapsed: Duration,
    /// Messages per second.
    pub messages_per_sec: f64,
    /// Uncompressed message bytes per second.
    pub raw_mb_per_sec: f64,
    /// Bytes written to the log (compressed records) per second.
    pub written_mb_per_sec: f64,
    /// `sync_data` calls per second (lower than batches/s thanks to group commit).
    pub fsyncs_per_sec: f64,
    /// Uncompressed bytes per written byte.
    pub compression_ratio: f64,
}

/// Opens a hose in `dir` (use an empty directory), publishes `batches` copies of `batch` spread over
/// `concurrency` concurrent tasks, closes the hose and reports the rates. No subscriber is registered, so
/// retention keeps only the active segment on disk.
pub async fn bench_append(
    dir: impl AsRef<Path>,
    config: EmbeddedConfig,
    batch: Vec<Message>,
    batches: usize,
    concurrency: usize,
) -> Result<BenchResult, HoseError> {
    let hose = EmbeddedHose::open(dir, config).await?;
    let concurrency = concurrency.clamp(1, batches.max(1));
    let raw_per_batch: u64 = batch.iter().map(|m| m.len() as u64).sum();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        let share = batches / concurrency + usize::from(task < batches % concurrency);
        let hose = Arc::clone(&hose);
        let batch = batch.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                hose.publish(batch.clone()).await?;
            }
            Ok::<(), HoseError>(())
        }));
    }
    for task in tasks {
        task.await.map_err(join_error)??;
    }
    let elapsed = started.elapsed();
    let totals = hose.writer_totals();
    hose.close().await?;

    let seconds = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    let raw_bytes = raw_per_batch * batches as u64;
    Ok(BenchResult {
        messages: totals.messages,
        batches: totals.records,
        elapsed,
        messages_per_sec: totals.messages as f64 / seconds,
        raw_mb_per_sec: raw_bytes as f64 / BYTES_PER_MB / seconds,
        written_mb_per_sec: totals.bytes_written as f64 / BYTES_PER_MB / seconds,
        fsyncs_per_sec: totals.fsyncs as f64 / seconds,
        compression_ratio: raw_bytes as f64 / (totals.bytes_written.max(1)) as f64,
    })
}

/// MB/s of plain sequential writes of `chunk_bytes` each followed by `sync_data`, until `total_bytes` are
/// written to a scratch file in `dir` (removed afterwards). Blocking: call from a blocking thread.
pub fn disk_fsync_baseline(
    dir: impl AsRef<Path>,
    chunk_bytes: usize,
    total_bytes: u64,
) -> Result<f64, HoseError> {
    let chunk_bytes = chunk_bytes.max(1);
    let path = dir.as_ref().join(".eventhose-fsync-baseline");
    // The low byte of a scrambled index: varied bytes rather than one repeated value.
    let chunk: Vec<u8> = (0..chunk_bytes)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 7)).to_le_bytes()[0])
        .collect();
    let result = (|| -> Result<f64, HoseError> {
        let mut file = File::create(&path)?;
        let started = Instant::now();
        let mut written = 0u64;
        while written < total_bytes {
            file.write_all(&chunk)?;
            file.sync_data()?;
            written += chunk_bytes as u64;
        }
        let seconds = started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
        Ok(written as f64 / BYTES_PER_MB / seconds)
    })();
    let _ = std::fs::remove_file(&path);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn bench_append_counts_everything_it_publishes() {
        let dir = tempfile::tempdir().unwrap();
        let event = Bytes::from(format!(
            r#"{{"type":"delivery","rcpt_to":"user@example.com","pad":"{}"}}"#,
            "x".repeat(800)
        ));
        let batch = vec![event.clone(); 10];
        let result = bench_append(dir.path(), EmbeddedConfig::default(), batch, 37, 4)
            .await
            .unwrap();
        assert_eq!(result.messages, 370);
        assert_eq!(result.batches, 37);
        assert!(result.messages_per_sec > 0.0);
        assert!(result.fsyncs_per_sec > 0.0);
        assert!(
            result.compression_ratio > 5.0,
            "repetitive events compress well: {}",
            result.compression_ratio
        );
        assert!(result.raw_mb_per_sec > result.written_mb_per_sec);
    }

    #[test]
    fn fsync_baseline_measures_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let rate = disk_fsync_baseline(dir.path(), 64 * 1024, 256 * 1024).unwrap();
        assert!(rate > 0.0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
