//! Tests of the embedded hose: the conformance suite plus properties specific to the on-disk log.

mod backpressure;
mod conformance_runs;
mod lifecycle;
mod recovery;
mod retention;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::conformance::HoseHarness;
use crate::embedded::{EmbeddedConfig, EmbeddedHose};
use crate::{Delivery, Hose, HoseError, Message, PublishReceipt, Subscription};

/// A hose in its own temporary directory, reopenable to simulate restarts.
pub(super) struct EmbeddedHarness {
    pub(super) dir: tempfile::TempDir,
    pub(super) config: EmbeddedConfig,
}

impl EmbeddedHarness {
    pub(super) fn new() -> Self {
        Self::with_config(EmbeddedConfig::default())
    }

    pub(super) fn with_config(config: EmbeddedConfig) -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            config,
        }
    }

    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[async_trait::async_trait]
impl HoseHarness for EmbeddedHarness {
    type Hose = EmbeddedHose;

    async fn open(&mut self) -> Result<Arc<EmbeddedHose>, HoseError> {
        EmbeddedHose::open(self.dir.path(), self.config.clone()).await
    }
}

pub(super) fn message(text: &str) -> Message {
    Bytes::copy_from_slice(text.as_bytes())
}

pub(super) async fn publish(hose: &EmbeddedHose, texts: &[&str]) -> PublishReceipt {
    hose.publish(texts.iter().map(|t| message(t)).collect())
        .await
        .expect("publish")
}

pub(super) async fn next(sub: &mut dyn Subscription) -> Delivery {
    tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .expect("no delivery within the deadline")
        .expect("next delivery")
}

pub(super) fn texts(delivery: &Delivery) -> Vec<String> {
    delivery
        .messages
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect()
}

/// Start offsets of the segment files on disk.
pub(super) fn segment_files(dir: &Path) -> Vec<u64> {
    let mut starts: Vec<u64> = std::fs::read_dir(dir.join("segments"))
        .expect("segments dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".log").and_then(|d| d.parse().ok()))
        .collect();
    starts.sort_unstable();
    starts
}

/// Reopens after the previous instance was dropped without `close`. A flush that was running at the drop
/// keeps the old instance (and its directory lock) alive until it finishes, so wait for the lock.
pub(super) async fn reopen_after_crash(harness: &mut EmbeddedHarness) -> Arc<EmbeddedHose> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match harness.open().await {
            Err(HoseError::Locked { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            result => return result.expect("reopen after crash"),
        }
    }
}
