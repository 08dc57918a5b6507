//! SparkPost's Data Privacy API: `POST /data-privacy/rtbf-request` (right to be forgotten) and
//! `POST /data-privacy/opt-out-request`, both with grant `data_privacy/manage`.
//!
//! SparkPost's reference: "Request deletion of recipient data or opt-out of third party data
//! usage of a recipient's personal information"; the body is `recipients`, an "Array of email
//! addresses (max 1000)", and `include_subaccounts`, "Set to true to apply request to primary
//! account and all subaccounts. Only applies if X-MSYS-SUBACCOUNT header is not set."; the
//! answer is `{"results":{"message":"Request saved."}}`.
//!
//! Where eventhose differs (also in `docs/sparkpost-compatibility.md`):
//! - SparkPost completes a request "within 30 days"; eventhose answers once it is done, so a
//!   200 means the recipients' events are erased (or their entries written), and a request
//!   cut short may be sent again.
//! - A right-to-be-forgotten request is the erasure of `DELETE /events/message`: it reaches the
//!   recipient's events in every account, so only a primary-account key acting for no single
//!   subaccount may make it (a subaccount could otherwise erase another account's data).
//! - An opt-out becomes a `non_transactional` suppression entry with source `Compliance` (which
//!   the Suppression List API can neither change nor remove) in each list the request reaches;
//!   "all subaccounts" are those with an API key or a suppression list entry.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use eventhose_state::{SuppressionSource, SuppressionType, SuppressionUpsert, WhenKept};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::acting_account::acting_account;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorEntry};
use crate::suppressions::bodies::{check_recipient, invalid, read};
use crate::AppState;

/// The grant both requests need.
pub const GRANT: &str = "data_privacy/manage";

/// Bytes a request body may take per allowed recipient: a longest address, quoted, a comma.
const BODY_BYTES_PER_RECIPIENT: usize = 260;

/// The description of the entries an opt-out writes.
const OPT_OUT_DESCRIPTION: &str = "Data Privacy API opt-out request";

/// The routes, under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/data-privacy/rtbf-request", post(rtbf_request))
        .route("/data-privacy/opt-out-request", post(opt_out_request))
}

/// Both requests' body.
#[derive(Deserialize)]
struct PrivacyRequest {
    recipients: Option<Vec<String>>,
    #[serde(default)]
    include_subaccounts: bool,
}

/// A checked request: its distinct recipients, in the order first given.
struct Checked {
    recipients: Vec<String>,
    include_subaccounts: bool,
}

fn saved() -> Json<Value> {
    Json(json!({ "results": { "message": "Request saved." } }))
}

/// Reads and checks a body: `recipients` must be 1 to `most` valid addresses; every bad one is
/// named by its index.
async fn read_request(body: Body, most: usize) -> Result<Checked, ApiError> {
    let limit = most.saturating_mul(BODY_BYTES_PER_RECIPIENT).max(1024);
    let bytes = read(body, limit).await?;
    let request: PrivacyRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorEntry::new("invalid data format/type")
                .description(format!("the body is not a Data Privacy request: {e}"))
                .code("1300"),
        )
    })?;
    let recipients = match request.recipients {
        Some(recipients) if !recipients.is_empty() => recipients,
        _ => {
            return Err(ApiError::bad_param(
                "recipients",
                "recipients is required: an array of 1 to 1000 email addresses",
            ))
        }
    };
    if recipients.len() > most {
        return Err(ApiError::bad_param(
            "recipients",
            format!(
                "{} recipients given; one request takes at most {most}",
                recipients.len()
            ),
        ));
    }
    let faults: Vec<ErrorEntry> = recipients
        .iter()
        .enumerate()
        .filter_map(|(index, r)| check_recipient(r, &format!("recipients[{index}]")).err())
        .collect();
    if !faults.is_empty() {
        return Err(invalid(faults));
    }
    let mut seen = BTreeSet::new();
    let recipients = recipients
        .into_iter()
        .filter(|r| seen.insert(r.to_lowercase()))
        .collect();
    Ok(Checked {
        recipients,
        include_subaccounts: request.include_subaccounts,
    })
}

/// `POST /data-privacy/rtbf-request`: erases every stored event of each recipient.
async fn rtbf_request(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(GRANT)?;
    if acting_account(key, &headers)?.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorEntry::new("Forbidden.")
                .description(
                    "an erasure reaches every account: only a primary-account key acting for \
                     no subaccount may request it",
                )
                .code("1100"),
        ));
    }
    let request = read_request(body, state.api_limits.data_privacy_max_recipients).await?;
    let mut erased = 0;
    for recipient in request.recipients {
        erased += crate::events::erase::erase_recipient(&state, recipient)
            .await?
            .total();
    }
    crate::events::erase::watch_copies_at_rest(&state).await?;
    tracing::info!(erased, "right-to-be-forgotten request done");
    Ok(saved())
}

/// `POST /data-privacy/opt-out-request`: suppresses each recipient's non-transactional mail in
/// the lists the request reaches.
async fn opt_out_request(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(GRANT)?;
    let acting = acting_account(key, &headers)?;
    let request = read_request(body, state.api_limits.data_privacy_max_recipients).await?;
    // `None` is the primary account's list.
    let mut accounts: Vec<Option<u64>> = vec![acting.filter(|n| *n != 0)];
    if acting.is_none() && request.include_subaccounts {
        accounts.extend(known_subaccounts(&state).await?.into_iter().map(Some));
    }
    let now = chrono::Utc::now().timestamp();
    let upserts: Vec<SuppressionUpsert> = accounts
        .iter()
        .flat_map(|account| {
            request
                .recipients
                .iter()
                .map(move |recipient| SuppressionUpsert {
                    recipient: recipient.clone(),
                    suppression_type: SuppressionType::NonTransactional,
                    source: SuppressionSource::Compliance,
                    description: Some(OPT_OUT_DESCRIPTION.to_string()),
                    list_id: None,
                    subaccount: *account,
                    occurred_at: now,
                })
        })
        .collect();
    crate::suppressions::run(&state.suppressions, move |store| {
        store.upsert_suppressions(upserts, WhenKept::Skip)
    })
    .await?;
    Ok(saved())
}

/// The subaccounts eventhose knows of: those with an API key or a suppression list entry.
async fn known_subaccounts(state: &AppState) -> Result<BTreeSet<u64>, ApiError> {
    let (keys, suppressions) = (state.keys.store(), state.suppressions.clone());
    tokio::task::spawn_blocking(move || {
        let mut known: BTreeSet<u64> = suppressions
            .suppression_subaccounts()?
            .into_iter()
            .collect();
        known.extend(
            keys.list_keys()?
                .into_iter()
                .filter_map(|key| key.subaccount),
        );
        Ok::<_, eventhose_state::StateError>(known)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

#[cfg(test)]
mod tests;
