//! The deduplication window of the subscribers whose results live in the state store
//! (suppressions, webhooks): loading it at start and handing a commit what it applied.

use std::sync::Arc;

use eventhose_model::{unix_minute, AppliedId, AppliedIds, DedupWindow};
use eventhose_state::AppliedEventStore;

use crate::SubscriberError;

/// The identities `subscriber` applied within `window`, as `store` kept them.
pub(crate) async fn load(
    store: Arc<dyn AppliedEventStore>,
    subscriber: &'static str,
    window: DedupWindow,
) -> Result<AppliedIds, SubscriberError> {
    let now = unix_minute();
    let since = now.saturating_sub(window.minutes);
    let stored = crate::blocking(move || store.applied_events(subscriber, since)).await?;
    Ok(AppliedIds::restored(window, stored, now))
}

/// What a commit stores: the identities applied since the last one, and the minute before
/// which stored ones have left the window (the set in memory forgets those now).
pub(crate) fn take_for_commit(
    subscriber: &'static str,
    applied: &mut AppliedIds,
) -> (Vec<AppliedId>, i64) {
    let now = unix_minute();
    applied.expire(now);
    report(subscriber, applied, now);
    (applied.take_added(), applied.floor(now))
}

/// Exports how many identities `subscriber` holds, how far back they reach, and how many
/// were forgotten before their time for want of room (a window too small for the rate).
pub(crate) fn report(subscriber: &'static str, applied: &mut AppliedIds, now_minute: i64) {
    if applied.is_off() {
        return;
    }
    metrics::gauge!("eventhose_dedup_remembered_events", "subscriber" => subscriber)
        .set(applied.len() as f64);
    let reach = applied.oldest_minute().map_or(0, |oldest| {
        now_minute.saturating_sub(oldest).saturating_mul(60)
    });
    metrics::gauge!("eventhose_dedup_window_seconds", "subscriber" => subscriber).set(reach as f64);
    metrics::counter!("eventhose_dedup_forgotten_early_total", "subscriber" => subscriber)
        .increment(applied.take_forgotten_early());
}
