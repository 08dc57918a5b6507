//! The deduplication window of the subscribers whose results live in the state store
//! (suppressions, webhooks): loading it at start and handing a commit what it applied.

use std::sync::Arc;
use std::time::Duration;

use eventhose_model::{unix_minute, AppliedId, AppliedIds};
use eventhose_state::AppliedEventStore;

use crate::SubscriberError;

/// A deduplication window in whole minutes, as [`AppliedIds`] counts it.
pub(crate) fn window_minutes(window: Duration) -> i64 {
    i64::try_from(window.as_secs() / 60).unwrap_or(i64::MAX)
}

/// The identities `subscriber` applied within `window`, as `store` kept them.
pub(crate) async fn load(
    store: Arc<dyn AppliedEventStore>,
    subscriber: &'static str,
    window: Duration,
) -> Result<AppliedIds, SubscriberError> {
    let window = window_minutes(window);
    let now = unix_minute();
    let since = now.saturating_sub(window);
    let stored = crate::blocking(move || store.applied_events(subscriber, since)).await?;
    Ok(AppliedIds::restored(window, stored, now))
}

/// What a commit stores: the identities applied since the last one, and the minute before
/// which stored ones have left the window (the set in memory forgets those now).
pub(crate) fn take_for_commit(applied: &mut AppliedIds) -> (Vec<AppliedId>, i64) {
    let now = unix_minute();
    applied.expire(now);
    (applied.take_added(), applied.floor(now))
}
