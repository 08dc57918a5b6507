//! The webhook resource: create, list, retrieve, update, delete, validate, and rotation of the
//! signing secret.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use eventhose_state::{unix_now, Webhook};
use eventhose_webhooks::TokenCache;
use serde_json::{json, Value};

use super::reach::Reach;
use super::test_post::{self, Probe, TestPostFailed};
use super::{changes, view, WebhookServices, MODIFY_GRANT, VIEW_GRANT};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorEntry};
use crate::AppState;

/// How long a rotated-out signing secret stays valid unless the request says otherwise.
pub(crate) const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// Longest grace period a rotation may ask for (7 days).
pub(crate) const MAX_ROTATION_GRACE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Why a webhook request failed: an API error, or a test POST the target did not accept.
#[derive(Debug)]
pub(crate) enum Rejection {
    /// The request itself was refused.
    Api(ApiError),
    /// The target did not accept the test POST.
    TestPost(TestPostFailed),
}

impl From<ApiError> for Rejection {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<TestPostFailed> for Rejection {
    fn from(failed: TestPostFailed) -> Self {
        Self::TestPost(failed)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Self::Api(error) => error.into_response(),
            Self::TestPost(failed) => failed.into_response(),
        }
    }
}

/// The webhook `id`, if it exists and is within `reach`; otherwise 404.
pub(crate) async fn find(
    services: &WebhookServices,
    id: &str,
    reach: Reach,
) -> Result<Webhook, ApiError> {
    let lookup = id.to_string();
    services
        .store(move |store| store.get_webhook(&lookup))
        .await?
        .filter(|webhook| reach.reaches(webhook))
        .ok_or_else(ApiError::not_found)
}

/// Checks that the caller holds `grant`, works out its reach (key scope and
/// `X-MSYS-SUBACCOUNT`), and finds webhook `id` within that reach (404 outside it).
pub(crate) async fn authorised_webhook(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: &str,
    grant: &str,
) -> Result<(Reach, Webhook), ApiError> {
    let key = caller.require(grant)?;
    let reach = Reach::of(key, headers)?;
    let webhook = find(&state.webhooks, id, reach).await?;
    Ok((reach, webhook))
}

/// `POST /api/v1/webhooks`: checks the body, sends a test POST, then stores the webhook.
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Rejection> {
    let key = caller.require(MODIFY_GRANT)?;
    let reach = Reach::of(key, &headers)?;
    let services = &state.webhooks;
    let new = changes::new_webhook(&body, reach, services.policy, services.rules).await?;
    let (owner, limit) = (new.scope.owner(), services.max_per_account);
    // Checked before the test POST too, so that a refused webhook sends nothing.
    if services
        .store(move |store| store.count_webhooks(owner))
        .await?
        >= limit
    {
        return Err(too_many_webhooks(limit).into());
    }
    // The webhook has no id yet: a private token cache keeps the probe's token out of the
    // shared one.
    test_post::send(
        services,
        &TokenCache::new(),
        Probe {
            webhook_id: "new-webhook",
            target: &new.target,
            auth: &new.auth,
            custom_headers: &new.custom_headers,
            auth_token: new.auth_token.as_deref(),
            signing_secrets: &[],
        },
    )
    .await?;
    let created = services
        .store(move |store| store.create_webhook_within(new, limit))
        .await?
        .ok_or_else(|| too_many_webhooks(limit))?;
    services.changed();
    tracing::info!(webhook = %created.id, "webhook created");
    Ok(Json(json!({
        "results": {
            "id": created.id,
            "links": [view::self_link(&created.id)],
            "signing_secret": created.signing.current,
        }
    }))
    .into_response())
}

/// The refusal of a webhook beyond the account's `limit`: a 409 in SparkPost's error shape
/// (its webhook errors carry the HTTP status as `code`).
fn too_many_webhooks(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorEntry::new("webhook limit reached")
            .description(format!(
                "this account already has {limit} webhooks, the most allowed (webhooks.max_per_account); delete one first"
            ))
            .code("409"),
    )
}

/// `GET /api/v1/webhooks?timezone=`.
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(VIEW_GRANT)?;
    let reach = Reach::of(key, &headers)?;
    let zone = view::timezone(query.get("timezone").map(String::as_str))?;
    let owner = reach.owner();
    let webhooks = state
        .webhooks
        .store(move |store| store.list_webhooks(owner))
        .await?;
    let results: Vec<Value> = webhooks
        .iter()
        .map(|w| view::webhook(w, zone, &state.webhooks.tokens))
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// `GET /api/v1/webhooks/{id}?timezone=`.
pub(crate) async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(VIEW_GRANT)?;
    let reach = Reach::of(key, &headers)?;
    let zone = view::timezone(query.get("timezone").map(String::as_str))?;
    let webhook = find(&state.webhooks, &id, reach).await?;
    Ok(Json(
        json!({ "results": view::webhook(&webhook, zone, &state.webhooks.tokens) }),
    ))
}

/// `PUT /api/v1/webhooks/{id}`: a partial update; a new target or authentication is tested
/// first. The answer is SparkPost's (webhooks.apib, "Update a Webhook", Response 200):
/// `{"results": {"id": "12affc24-…", "links": [{"href": "/api/v1/webhooks/12affc24-…/validate",
/// "rel": "urn.msys.webhooks.validate", "method": ["POST"]}]}}`.
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Rejection> {
    let (reach, stored) = authorised_webhook(&state, &caller, &headers, &id, MODIFY_GRANT).await?;
    let services = &state.webhooks;
    let update = changes::update(&body, &stored, reach, services.policy, services.rules).await?;
    if update.retest {
        let probe = Probe::of(&update.merged, &[]);
        test_post::send(services, &TokenCache::new(), probe).await?;
    }
    let auth_changed = update.changes.auth.is_some();
    let changes = update.changes;
    let updated = services
        .store(move |store| store.update_webhook(&id, changes))
        .await?
        .ok_or_else(ApiError::not_found)?;
    if auth_changed {
        services.tokens.invalidate(&updated.id);
    }
    services.changed();
    Ok(Json(json!({
        "results": {
            "id": updated.id,
            "links": [view::validate_link(&updated.id)],
        }
    })))
}

/// `DELETE /api/v1/webhooks/{id}`: 204.
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let _ = authorised_webhook(&state, &caller, &headers, &id, MODIFY_GRANT).await?;
    let services = &state.webhooks;
    let forget = id.clone();
    if !services
        .store(move |store| store.delete_webhook(&forget))
        .await?
    {
        return Err(ApiError::not_found());
    }
    services.tokens.invalidate(&id);
    services.changed();
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/webhooks/{id}/validate`: sends the sample batch `[{"msys":{}}]`, signed and
/// authenticated like a delivery, and answers with the target's response.
///
/// SparkPost's request body (`{"message": …}`, or a bare batch) is still accepted and checked
/// for its shape, but what it holds is never sent. SparkPost's reference describes validate as
/// sending "an example message event batch" (its sample batch is `[{"msys": {}}]`); sending the
/// caller's JSON instead would make this endpoint a signing oracle: any key that may validate
/// could have arbitrary payloads signed with the webhook's secret (and sent with its
/// credentials), then replay them to the receiver as forged deliveries. Sending the caller's
/// batch unsigned and without credentials would not test what validate is for, so the server
/// sends only a batch it builds itself.
pub(crate) async fn validate(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Rejection> {
    let (_, webhook) = authorised_webhook(&state, &caller, &headers, &id, MODIFY_GRANT).await?;
    let services = &state.webhooks;
    check_validate_body(&body)?;
    let secrets = webhook.signing.secrets_at(unix_now());
    let probe = Probe::of(&webhook, &secrets);
    let response = test_post::send(services, &services.tokens, probe).await?;
    Ok(Json(json!({
        "results": {
            "msg": "Test POST to endpoint succeeded",
            "response": response.to_json(),
        }
    })))
}

/// Checks that a validate body has SparkPost's shape: empty, `{"message": <batch>}` or a bare
/// batch array, the batch a JSON array or object. Its content is not used (see [`validate`]).
fn check_validate_body(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_param("message", format!("the body must be JSON: {e}")))?;
    let batch = match value {
        Value::Object(mut object) => object.remove("message").ok_or_else(|| {
            ApiError::bad_param("message", "message (the example batch) is required")
        })?,
        batch @ Value::Array(_) => batch,
        _ => {
            return Err(ApiError::bad_param(
                "message",
                "the body must be {\"message\": <batch>} or a batch array",
            ))
        }
    };
    if !batch.is_array() && !batch.is_object() {
        return Err(ApiError::bad_param(
            "message",
            "message must be a JSON array or object",
        ));
    }
    Ok(())
}

/// `POST /api/v1/webhooks/{id}/signing-secret/rotate`: a new signing secret, shown once; the
/// old one keeps signing for `grace_period` seconds (body, optional; default 24 hours).
pub(crate) async fn rotate_signing_secret(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let key = caller.require(MODIFY_GRANT)?;
    let reach = Reach::of(key, &headers)?;
    let grace = grace_period(&body)?;
    let services = &state.webhooks;
    find(services, &id, reach).await?;
    let rotate = id.clone();
    let secret = services
        .store(move |store| store.rotate_signing_secret(&rotate, grace))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let reread = id.clone();
    let expires = services
        .store(move |store| store.get_webhook(&reread))
        .await?
        .and_then(|webhook| webhook.signing.previous)
        .and_then(|previous| view::local_time(previous.expires_at, chrono_tz::Tz::UTC));
    services.changed();
    Ok(Json(json!({
        "results": {
            "id": id,
            "signing_secret": secret,
            "previous_secret_expires": expires,
        }
    })))
}

/// The optional `{"grace_period": seconds}` of a rotation.
fn grace_period(body: &[u8]) -> Result<Duration, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DEFAULT_ROTATION_GRACE);
    }
    let bad = || {
        ApiError::bad_param(
            "grace_period",
            format!(
                "grace_period must be a number of seconds from 0 to {}",
                MAX_ROTATION_GRACE.as_secs()
            ),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    match value.get("grace_period") {
        None | Some(Value::Null) => Ok(DEFAULT_ROTATION_GRACE),
        Some(given) => given
            .as_u64()
            .map(Duration::from_secs)
            .filter(|grace| *grace <= MAX_ROTATION_GRACE)
            .ok_or_else(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_body_forms() {
        for good in [
            &b""[..],
            br#"{"message": [{"msys": {}}]}"#,
            br#"[{"msys":{}}]"#,
            br#"{"message": {"msys": {}}}"#,
        ] {
            assert!(check_validate_body(good).is_ok());
        }
        for bad in [&b"{}"[..], b"3", b"{\"message\": 3}", b"{"] {
            let err = check_validate_body(bad).unwrap_err();
            assert_eq!(err.errors[0].param.as_deref(), Some("message"));
        }
    }

    #[test]
    fn grace_period_defaults_and_bounds() {
        assert_eq!(grace_period(b"").unwrap(), DEFAULT_ROTATION_GRACE);
        assert_eq!(grace_period(b"{}").unwrap(), DEFAULT_ROTATION_GRACE);
        assert_eq!(
            grace_period(br#"{"grace_period": 60}"#).unwrap(),
            Duration::from_secs(60)
        );
        for bad in [
            &br#"{"grace_period": -1}"#[..],
            br#"{"grace_period": 604801}"#,
            b"x",
        ] {
            assert!(grace_period(bad).is_err());
        }
    }
}
