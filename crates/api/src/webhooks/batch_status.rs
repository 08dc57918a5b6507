//! `GET /webhooks/{id}/batch-status?limit=`: the webhook's recent batches, newest first, in
//! SparkPost's shape.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{SecondsFormat, TimeZone, Utc};
use eventhose_state::BatchStatus;
use serde_json::{json, Value};

use super::reach::Reach;
use super::{handlers, VIEW_GRANT};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

/// Batches listed when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: usize = 1000;

/// Most batches one request may ask for.
pub(crate) const MAX_LIMIT: usize = 10_000;

/// `GET /api/v1/webhooks/{id}/batch-status`.
pub(crate) async fn batch_status(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(VIEW_GRANT)?;
    let reach = Reach::of(key, &headers)?;
    let limit = limit(query.get("limit").map(String::as_str))?;
    let services = &state.webhooks;
    handlers::find(services, &id, reach).await?;
    let statuses = services
        .store(move |store| store.batch_statuses(&id, limit))
        .await?;
    let results: Vec<Value> = statuses.iter().map(batch_json).collect();
    Ok(Json(json!({ "results": results })))
}

/// `POST /api/v1/webhooks/{id}/batches/{batch_id}/replay` (beyond SparkPost): sends a batch
/// that ran out of attempts again, as a new first attempt.
pub(crate) async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, batch_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    handlers::authorised_webhook(&state, &caller, &headers, &id, super::MODIFY_GRANT).await?;
    let services = &state.webhooks;
    let (webhook_id, batch) = (id.clone(), batch_id.clone());
    let found = services
        .store(move |store| store.request_replay(&webhook_id, &batch))
        .await?;
    if !found {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            crate::error::ErrorEntry::new("resource not found")
                .description(format!(
                    "webhook {id} has no failed batch {batch_id} to replay"
                ))
                .code("1600")
                .param("batch_id"),
        ));
    }
    Ok(Json(
        json!({ "results": { "batch_id": batch_id, "webhook_id": id, "message": "replay scheduled" } }),
    ))
}

/// The `limit` parameter: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
fn limit(given: Option<&str>) -> Result<usize, ApiError> {
    match given {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_param(
                    "limit",
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                )
            }),
    }
}

/// One batch in SparkPost's fields; `ts` as RFC 3339 with milliseconds, in UTC.
fn batch_json(status: &BatchStatus) -> Value {
    let ts = Utc
        .timestamp_opt(status.ts, 0)
        .single()
        .map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true));
    json!({
        "batch_id": status.batch_id,
        "ts": ts,
        "attempts": status.attempts,
        "response_code": status.response_code,
        "failure_code": status.failure_code,
        "batch_size": status.batch_size,
        "webhook_id": status.webhook_id,
        "latency": status.latency_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_bounds() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(Some("1")).unwrap(), 1);
        assert_eq!(limit(Some("10000")).unwrap(), MAX_LIMIT);
        for bad in ["0", "10001", "-1", "ten", ""] {
            let err = limit(Some(bad)).unwrap_err();
            assert_eq!(err.errors[0].param.as_deref(), Some("limit"), "{bad}");
        }
    }

    #[test]
    fn batch_has_sparkpost_fields() {
        let shown = batch_json(&BatchStatus {
            batch_id: "032d330540298f54f0e8bcc1373f3cfd".into(),
            webhook_id: "w".into(),
            ts: 1_406_755_088,
            attempts: 7,
            response_code: Some(200),
            failure_code: Some("400".into()),
            batch_size: 20,
            latency_ms: 1500,
        });
        assert_eq!(
            shown,
            json!({
                "batch_id": "032d330540298f54f0e8bcc1373f3cfd",
                "ts": "2014-07-30T21:18:08.000Z",
                "attempts": 7,
                "response_code": 200,
                "failure_code": "400",
                "batch_size": 20,
                "webhook_id": "w",
                "latency": 1500,
            })
        );
    }
}
