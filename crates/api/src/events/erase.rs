//! `DELETE /events/message?recipients=ADDR` (beyond SparkPost): erases every stored event
//! naming one recipient, for data-protection requests.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use super::params::Params;
use super::{run, store_error, ERASE_GRANTS};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorEntry};
use crate::AppState;
use eventhose_analytics::ErasureReport;

/// Answers `{"results":{"recipient":…,"erased":{"<type>":n,…},"total":n}}`.
pub(super) async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    for grant in ERASE_GRANTS {
        caller.require(grant)?;
    }
    if caller.0.subaccount.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorEntry::new("Forbidden.")
                .description("only a primary-account key can erase events")
                .code("1100"),
        ));
    }
    let params = Params::parse(query.as_deref());
    let recipient = match params.list("recipients").as_deref() {
        Some([one]) if one.contains('@') => one.clone(),
        Some([_]) => {
            return Err(ApiError::bad_param(
                "recipients",
                "recipients must be an email address",
            ))
        }
        Some(_) => {
            return Err(ApiError::bad_param(
                "recipients",
                "name exactly one recipient per erasure",
            ))
        }
        None => {
            return Err(ApiError::bad_param(
                "recipients",
                "recipients is required: the address whose events to erase",
            ))
        }
    };
    let report = erase_recipient(&state, recipient.clone()).await?;
    tracing::info!(
        erased = report.total(),
        "erased a recipient's message events"
    );
    let erased: Map<String, Value> = report
        .erased
        .iter()
        .map(|(event_type, count)| (event_type.as_str().to_owned(), json!(count)))
        .collect();
    Ok(Json(json!({
        "results": {
            "recipient": recipient,
            "erased": erased,
            "total": report.total(),
        }
    })))
}

/// Erases every stored event of `recipient`, in every account, and keeps the recipient's later
/// copies out: shared by this endpoint and the Data Privacy API's right-to-be-forgotten requests.
pub(crate) async fn erase_recipient(
    state: &AppState,
    recipient: String,
) -> Result<ErasureReport, ApiError> {
    // The tombstone first: from here on no writer stores or sends the recipient's events up
    // to now again, including those still on their way. Ingest takes event times up to the
    // allowed clock skew ahead, so the tombstone reaches that far too: an event about mail sent
    // before the erasure, stamped by a fast clock, is not new data.
    let skew = i64::try_from(state.ingest_limits.max_clock_skew_secs).unwrap_or(i64::MAX);
    let erased_at = chrono::Utc::now().timestamp().saturating_add(skew);
    let (erasures, address) = (state.erasures.clone(), recipient.clone());
    tokio::task::spawn_blocking(move || erasures.record_erasure(&address, erased_at))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    state.tombstones.add(&recipient, erased_at);
    metrics::gauge!("eventhose_erasure_tombstones").set(state.tombstones.len() as f64);
    run(state, move |store| {
        store.erase_recipient(&recipient).map_err(store_error)
    })
    .await
}
