//! Periodic maintenance: persist cursors, sync and compact delayed queues, publish lag, delete fully consumed
//! segments.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::embedded::cursor::write_cursor;
use crate::embedded::layout::{remove_if_exists, sync_dir};
use crate::embedded::subscriber::SubscriberState;
use crate::embedded::Shared;
use crate::error::join_error;
use crate::sync_util::lock;
use crate::HoseError;

/// Runs [`flush`] every `interval` until the hose is closed or dropped.
pub(crate) fn spawn_flusher(shared: Weak<Shared>, interval: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(shared) = shared.upgrade() else {
                break;
            };
            let shut_down = shared.maintenance.lock().await;
            if *shut_down {
                break;
            }
            if let Err(err) = flush(&shared).await {
                tracing::warn!(error = %err, "hose cursor flush failed; retrying next interval");
            }
        }
    });
}

/// Persists every changed cursor, syncs delayed queues, updates lag gauges, then applies retention.
/// Callers hold the maintenance lock.
pub(crate) async fn flush(shared: &Arc<Shared>) -> Result<(), HoseError> {
    let states = shared.subscriber_states();
    let layout = shared.layout.clone();
    let persisted_states = states.clone();
    tokio::task::spawn_blocking(move || -> Result<(), HoseError> {
        let mut renamed = Vec::new();
        for state in &persisted_states {
            let acked = state.acked.load(Ordering::Acquire);
            if acked != state.persisted.load(Ordering::Acquire) {
                write_cursor(&layout.cursor(&state.name), acked, false)?;
                renamed.push((state, acked));
            }
            lock(&state.deferred).sync()?;
            // Best effort: a compaction that fails (a full disk) must not stop the cursors and
            // the retention that would free the space.
            if let Err(err) = compact_deferred(state) {
                tracing::warn!(subscriber = %state.name, error = %err, "delayed queue compaction failed; retrying next interval");
            }
        }
        // One directory fsync makes all the renames durable; only then may retention rely on the new
        // cursors (a cursor reverting after a crash must never point into a deleted segment).
        if !renamed.is_empty() {
            sync_dir(&layout.subscribers_dir())?;
        }
        for (state, acked) in renamed {
            state.persisted.store(acked, Ordering::Release);
        }
        Ok(())
    })
    .await
    .map_err(join_error)??;

    let end = shared.committed_end();
    for state in &states {
        state.report_lag(end);
    }
    apply_retention(shared, &states, end).await
}

/// Compacts a subscriber's delayed queue if it is mostly dead. The copy, the long part, runs
/// without the queue's lock, so its subscriber is not held up meanwhile.
fn compact_deferred(state: &SubscriberState) -> Result<(), HoseError> {
    let Some(snapshot) = lock(&state.deferred).compaction_snapshot() else {
        return Ok(());
    };
    let copied = snapshot.copy()?;
    lock(&state.deferred).finish_compaction(copied)
}

/// Deletes the segments that lie wholly below every subscriber's persisted cursor (all sealed segments
/// when nobody is registered). The active segment is never deleted.
async fn apply_retention(
    shared: &Shared,
    states: &[Arc<SubscriberState>],
    end: u64,
) -> Result<(), HoseError> {
    let keep_from = states
        .iter()
        .map(|s| s.persisted.load(Ordering::Acquire))
        .min()
        .unwrap_or(end);
    let removable = shared.segments.take_fully_below(keep_from);
    if removable.is_empty() {
        return Ok(());
    }
    let layout = shared.layout.clone();
    tokio::task::spawn_blocking(move || -> Result<(), HoseError> {
        for start in &removable {
            remove_if_exists(&layout.segment(*start))?;
        }
        sync_dir(&layout.segments_dir())?;
        tracing::debug!(segments = ?removable, "deleted fully consumed hose segments");
        Ok(())
    })
    .await
    .map_err(join_error)?
}
