//! SparkPost's Suppression List API under `/api/v1/suppression-list`: bulk and single
//! create/update, retrieve, delete, search and summary of the recipients not to be mailed.
//!
//! Every route needs `suppression_lists/manage`. Each account (the primary one and every
//! subaccount) has its own list; which lists a request reaches follows `X-MSYS-SUBACCOUNT`
//! (`account`). Entries are written with source `Manually Added`; `Compliance` entries can
//! be neither created, changed nor deleted here.

mod account;
pub(crate) mod bodies;
mod handlers;
mod search;
mod view;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use eventhose_state::{StateError, SuppressionStore};

use crate::error::ApiError;
use crate::AppState;

/// The grant every suppression list route needs.
pub const GRANT: &str = "suppression_lists/manage";

/// Runs a store operation on the blocking pool.
pub(crate) async fn run<T, F>(
    store: &Arc<dyn SuppressionStore>,
    operation: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn SuppressionStore) -> Result<T, StateError> + Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || operation(store.as_ref()))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// The routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    let list = get(handlers::search).put(handlers::bulk_upsert);
    Router::new()
        .route("/suppression-list", list.clone())
        .route("/suppression-list/", list)
        .route("/suppression-list/summary", get(handlers::summary))
        .route(
            "/suppression-list/{recipient}",
            get(handlers::retrieve)
                .put(handlers::upsert_one)
                .delete(handlers::delete),
        )
}
