//! How fast one subscriber drains a hose: shared by the metrics and message-events benchmarks.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventhose_analytics_duckdb::{DuckOptions, DuckStore};
use eventhose_hose::embedded::{EmbeddedConfig, EmbeddedHose};
use eventhose_hose::{Hose, Message};
use eventhose_subscribers::Processor;
use tokio::sync::watch;

use crate::workload::simulate;

/// `events` simulated events from a day ago on (10,000 a second), and a new store in `dir` for
/// a subscriber to drain them into.
pub(super) fn day_and_store(
    events: usize,
    dir: &Path,
) -> anyhow::Result<(Vec<Message>, Arc<DuckStore>)> {
    let start = chrono::Utc::now().timestamp() - 86_400;
    let store = DuckStore::open(&dir.join("analytics.duckdb"), &DuckOptions::default())?;
    Ok((simulate(events, start, 10_000.0)?, Arc::new(store)))
}

/// Publishes `events` to a new embedded hose in `dir` (untimed), then runs `processor` as
/// subscriber `name` until it has acknowledged the whole log; returns how long that took.
pub(super) async fn drain_time<P>(
    dir: &Path,
    name: &'static str,
    events: Vec<Message>,
    processor: P,
) -> anyhow::Result<Duration>
where
    P: Processor + 'static,
{
    let hose: Arc<dyn Hose> =
        EmbeddedHose::open(dir.join("hose"), EmbeddedConfig::default()).await?;
    hose.register(name).await?;
    for batch in events.chunks(1_000) {
        hose.publish(batch.to_vec()).await?;
    }
    drop(events);
    let (stop, stopping) = watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(eventhose_subscribers::run(
        hose.clone(),
        name,
        processor,
        stopping,
    ));
    // Done when the subscriber has acknowledged (so committed) everything.
    loop {
        let lag = hose
            .stats()
            .subscribers
            .iter()
            .find(|s| s.name == name)
            .map_or(u64::MAX, |s| s.lag_bytes);
        if lag == 0 {
            break;
        }
        anyhow::ensure!(!task.is_finished(), "subscriber {name} stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    task.await??;
    hose.close().await?;
    Ok(elapsed)
}
