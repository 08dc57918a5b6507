//! SparkPost's Events API for message events under `/api/v1/events/message`: search with
//! filters and cursor paging, the event documentation and samples, and (beyond SparkPost) the
//! erasure of a recipient's events.
//!
//! Reads need `message_events/view`. A subaccount key sees only its own subaccount's events,
//! whatever `subaccounts` names; `X-MSYS-SUBACCOUNT` is not read (SparkPost does not use it
//! here). Handlers check the parameters (`params`, `request`, `cursor`), ask the event store
//! through [`EventStore`] on the blocking pool, and shape SparkPost's answer (`render`).
//!
//! Choices where SparkPost documents nothing:
//! - Results are newest first (`timestamp`, then `event_id`, descending). Paging is stable: the
//!   first page fixes a snapshot of the store, carried by the cursor, so events arriving while
//!   a client pages are neither skipped nor repeated and `total_count` stays the same.
//!   `links.next` repeats every other parameter, with `from` and `to` pinned to the times the
//!   first page resolved (the defaults move with the clock).
//! - Events are returned as stored, except `timestamp` and `injection_time`, written in the
//!   Events API's ISO form (`2016-04-18T14:25:07.000+00:00`); other fields keep the storage
//!   form (numbers as text, as events.apib's sample shows `"subaccount_id": "101"`).
//! - `from` before the 10-day retention is refused (400 naming `from`); `to` may lie in the
//!   future. Times take `YYYY-MM-DDTHH:MM:ssZ`, without seconds, with an offset, or without a
//!   zone (UTC).
//! - A subaccount key that names only other subaccounts gets an empty page, not an error.
//! - `DELETE /events/message?recipients=ADDR` erases every stored event naming the address
//!   (`rcpt_to` or `raw_rcpt_to`, case-insensitively), across all accounts. It needs a
//!   primary-account key with both `message_events/view` and `suppression_lists/manage`
//!   ([`ERASE_GRANTS`]): erasure is irreversible and reaches every subaccount, so a read-only
//!   or subaccount key must not do it, and the grant to manage recipient-level data is what
//!   a data-protection request calls for besides reading.

pub(crate) mod cursor;
mod docs;
pub(crate) mod erase;
mod params;
mod render;
mod request;
mod search;

#[cfg(test)]
mod tests;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use eventhose_analytics::{AnalyticsError, EventStore};

use crate::error::{ApiError, ErrorEntry};
use crate::AppState;

/// The grant every read route needs.
pub const GRANT: &str = "message_events/view";

/// The grants erasure needs (on a primary-account key).
pub const ERASE_GRANTS: [&str; 2] = [GRANT, "suppression_lists/manage"];

/// Where search lives, for links.
const BASE_PATH: &str = "/api/v1/events/message";

/// How long events are kept, in days: `from` may not be older.
pub const RETENTION_DAYS: i64 = 10;

/// Runs an operation on this process's event store on the blocking pool.
async fn run<T, F>(state: &AppState, operation: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn EventStore) -> Result<T, ApiError> + Send + 'static,
{
    let store = state
        .events
        .clone()
        .ok_or_else(|| ApiError::store_elsewhere("message events"))?;
    tokio::task::spawn_blocking(move || operation(store.as_ref()))
        .await
        .map_err(ApiError::internal)?
}

/// A store failure as an answer: a query the store cannot answer is the client's 400.
fn store_error(error: AnalyticsError) -> ApiError {
    match error {
        AnalyticsError::Invalid(why) => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorEntry::new("invalid query")
                .description(why)
                .code("1200"),
        ),
        other => ApiError::internal(other),
    }
}

/// The routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events/message", get(search::search).delete(erase::erase))
        .route("/events/message/documentation", get(docs::documentation))
        .route("/events/message/samples", get(docs::samples))
}
