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
    let at_rest = watch_copies_at_rest(&state).await?;
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
            "at_rest": at_rest.as_str(),
        }
    })))
}

/// Where the copies an erasure cannot delete at once stand (they are never stored or sent
/// again; these are the bytes still on disk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AtRest {
    /// The hose's segments and the webhook delayed queue may still hold them; the server logs
    /// and counts (`eventhose_erasures_at_rest_completed_total`) when the last one is gone.
    Pending,
    /// The hose is a broker's: its queues keep their copies until each is consumed, and no
    /// process can tell when that is.
    InBroker,
}

impl AtRest {
    fn as_str(self) -> &'static str {
        match self {
            AtRest::Pending => "pending",
            AtRest::InBroker => "in_broker_queues_until_consumed",
        }
    }
}

/// How often a pending erasure checks for the last copy at rest.
const AT_REST_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Seals the hose after an erasure and watches, in the background, for the last copy of
/// anything published before it to leave the disk: the hose's segments (deleted once every
/// subscriber has taken them) and the webhook delayed queue (rewritten by the webhooks
/// engine). Logs and counts when that happens.
pub(crate) async fn watch_copies_at_rest(state: &AppState) -> Result<AtRest, ApiError> {
    let Some(sealed) = state.hose.seal().await.map_err(ApiError::internal)? else {
        return Ok(AtRest::InBroker);
    };
    let version = state.tombstones.version();
    let (hose, tombstones) = (state.hose.clone(), state.tombstones.clone());
    let pending = metrics::gauge!("eventhose_erasures_at_rest_pending");
    pending.increment(1.0);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        loop {
            let hose_gone = hose.stats().retained_from.is_none_or(|from| from >= sealed);
            if hose_gone && tombstones.scrubbed_at_rest(version) {
                break;
            }
            tokio::time::sleep(AT_REST_POLL).await;
        }
        pending.decrement(1.0);
        metrics::counter!("eventhose_erasures_at_rest_completed_total").increment(1);
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "erasure complete: no copy of the erased recipients' events is left at rest"
        );
    });
    Ok(AtRest::Pending)
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
    let skew = i64::try_from(state.ingest_settings.max_clock_skew_secs).unwrap_or(i64::MAX);
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
