//! eventhose's own Dead Letters API (SparkPost has none): what each subscriber set aside
//! because it could not read it, under grant `dead_letters/manage`. Dead letters hold events of
//! every account, so only a primary-account key acting for no subaccount may use it.
//!
//! - `GET /dead-letters`: each subscriber's count.
//! - `GET /dead-letters/{subscriber}?limit=N`: the oldest `N` (default 100, at most
//!   `api.dead_letters_max_page`), without their messages.
//! - `GET /dead-letters/{subscriber}/{id}`: one, with its messages (UTF-8 text, or base64).
//! - `POST /dead-letters/{subscriber}/{id}/retry`: delivers it to the subscriber again.
//! - `DELETE /dead-letters/{subscriber}/{id}`: drops it for good (204).
//!
//! `eventhose dead-letters list|show|retry|drop` is the command-line client of these routes.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use eventhose_hose::{DeadLetter, HoseError, Settle};
use serde_json::{json, Value};

use crate::acting_account::acting_account;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorEntry};
use crate::query::Params;
use crate::AppState;

/// The grant every route needs.
pub const GRANT: &str = "dead_letters/manage";

/// Dead letters listed unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 100;

/// The routes, under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dead-letters", get(summary))
        .route("/dead-letters/{subscriber}", get(list))
        .route(
            "/dead-letters/{subscriber}/{id}",
            get(show).delete(drop_letter),
        )
        .route("/dead-letters/{subscriber}/{id}/retry", post(retry))
}

/// The caller's key, if it may manage dead letters.
fn authorise(caller: &Caller, headers: &HeaderMap) -> Result<(), ApiError> {
    let key = caller.require(GRANT)?;
    if acting_account(key, headers)?.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorEntry::new("Forbidden.")
                .description(
                    "dead letters hold events of every account: only a primary-account key \
                     acting for no subaccount may manage them",
                )
                .code("1100"),
        ));
    }
    Ok(())
}

async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorise(&caller, &headers)?;
    let mut results = Vec::new();
    for subscriber in state.hose.stats().subscribers {
        let page = state
            .hose
            .dead_letters(&subscriber.name, 0)
            .await
            .map_err(hose_error)?;
        results.push(json!({ "subscriber": subscriber.name, "total_count": page.total }));
    }
    Ok(Json(json!({ "results": results })))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(subscriber): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    authorise(&caller, &headers)?;
    let most = state.api_limits.dead_letters_max_page;
    let limit = match Params::parse(query.as_deref()).get("limit") {
        None => DEFAULT_LIMIT.min(most),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=most).contains(limit))
            .ok_or_else(|| {
                ApiError::bad_param(
                    "limit",
                    format!("limit must be an integer from 1 to {most}"),
                )
            })?,
    };
    let page = state
        .hose
        .dead_letters(&subscriber, limit)
        .await
        .map_err(hose_error)?;
    let results: Vec<Value> = page
        .letters
        .iter()
        .map(|letter| described(letter, false))
        .collect();
    Ok(Json(
        json!({ "results": results, "total_count": page.total }),
    ))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((subscriber, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    authorise(&caller, &headers)?;
    match state
        .hose
        .dead_letter(&subscriber, &id)
        .await
        .map_err(hose_error)?
    {
        Some(letter) => Ok(Json(json!({ "results": described(&letter, true) }))),
        None => Err(no_such_letter(&subscriber, &id)),
    }
}

async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((subscriber, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    authorise(&caller, &headers)?;
    settle(&state, &subscriber, &id, Settle::Retry).await?;
    Ok(Json(
        json!({ "results": { "message": "Dead letter sent back to its subscriber." } }),
    ))
}

async fn drop_letter(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((subscriber, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    authorise(&caller, &headers)?;
    settle(&state, &subscriber, &id, Settle::Drop).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn settle(state: &AppState, subscriber: &str, id: &str, how: Settle) -> Result<(), ApiError> {
    let settled = state
        .hose
        .settle_dead_letter(subscriber, id, how)
        .await
        .map_err(hose_error)?;
    if !settled {
        return Err(no_such_letter(subscriber, id));
    }
    tracing::info!(subscriber, dead_letter = id, settle = ?how, "dead letter settled through the API");
    Ok(())
}

/// A dead letter as the API shows it; `with_messages` adds its messages.
fn described(letter: &DeadLetter, with_messages: bool) -> Value {
    let mut described = json!({
        "id": letter.id,
        "reason": letter.reason,
        "dead_at": letter.dead_at_ms.and_then(|ms| {
            chrono::DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        }),
        "attempt": letter.attempt,
        "message_count": letter.messages.len(),
        "bytes": letter.messages.iter().map(|message| message.len()).sum::<usize>(),
    });
    if with_messages {
        described["messages"] = letter
            .messages
            .iter()
            .map(|message| match std::str::from_utf8(message) {
                Ok(text) => json!({ "text": text }),
                Err(_) => json!({
                    "base64": base64::engine::general_purpose::STANDARD.encode(message)
                }),
            })
            .collect();
    }
    described
}

fn no_such_letter(subscriber: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorEntry::new("resource not found")
            .description(format!(
                "subscriber `{subscriber}` has no dead letter `{id}`"
            ))
            .code("1600"),
    )
}

fn hose_error(error: HoseError) -> ApiError {
    match error {
        HoseError::UnknownSubscriber(name) | HoseError::InvalidName(name) => ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorEntry::new("resource not found")
                .description(format!("no subscriber named `{name}`"))
                .code("1600"),
        ),
        HoseError::Unavailable(why) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorEntry::new("service unavailable")
                .description(format!("the event hose cannot be reached: {why}")),
        )
        .retry_after(5),
        HoseError::Closed => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorEntry::new("service unavailable").description("eventhose is shutting down"),
        )
        .retry_after(5),
        other => ApiError::internal(other),
    }
}
