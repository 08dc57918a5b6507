//! The test POST SparkPost sends when a webhook is created, re-targeted or validated: the
//! batch `[{"msys":{}}]` with a fixed batch id, the webhook's authentication and custom
//! headers. Anything but a 200 answer (any 2xx, if the operator allows it) is a 400 carrying
//! the target's response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use eventhose_state::{Webhook, WebhookAuth};
use eventhose_webhooks::post::{post_batch, BatchPost, Failure, Outcome, TargetResponse};
use eventhose_webhooks::{Auth, TokenCache};
use serde_json::{json, Map, Value};

use super::WebhookServices;

/// The batch id of every test POST (SparkPost's hard-coded value).
pub(crate) const TEST_BATCH_ID: &str = "77c2b630-d712-11e4-9642-efc2723b99c1";

/// The test batch: one empty `msys` envelope (SparkPost's sample batch). The server builds it;
/// a caller never chooses what is signed and sent.
const PING_BATCH: &str = r#"[{"msys":{}}]"#;

/// Where and how to send a test batch.
pub(crate) struct Probe<'a> {
    /// Keys the OAuth2 token cache.
    pub(crate) webhook_id: &'a str,
    /// The target URL.
    pub(crate) target: &'a str,
    /// The webhook's authentication.
    pub(crate) auth: &'a WebhookAuth,
    /// The webhook's custom headers.
    pub(crate) custom_headers: &'a [(String, String)],
    /// The webhook's deprecated `auth_token`.
    pub(crate) auth_token: Option<&'a str>,
    /// Secrets to sign with (none before the webhook exists).
    pub(crate) signing_secrets: &'a [String],
}

impl<'a> Probe<'a> {
    /// The stored (or about to be stored) `webhook`, signing with `signing_secrets`.
    pub(crate) fn of(webhook: &'a Webhook, signing_secrets: &'a [String]) -> Self {
        Self {
            webhook_id: &webhook.id,
            target: &webhook.target,
            auth: &webhook.auth,
            custom_headers: &webhook.custom_headers,
            auth_token: webhook.auth_token.as_deref(),
            signing_secrets,
        }
    }
}

/// A test POST that was not answered with a 2xx.
#[derive(Debug)]
pub(crate) struct TestPostFailed {
    failure: Failure,
    response: Option<TargetResponse>,
}

impl IntoResponse for TestPostFailed {
    fn into_response(self) -> Response {
        let message = match self.failure {
            Failure::Auth(_) => "POST to webhook tokens URL failed",
            _ => "Test POST to endpoint failed",
        };
        let mut entry = Map::new();
        entry.insert("message".into(), json!(message));
        entry.insert("description".into(), json!(self.failure.to_string()));
        entry.insert("code".into(), json!(self.failure.code()));
        if let Some(response) = &self.response {
            entry.insert("response".into(), response.to_json());
        }
        let body = json!({ "errors": [Value::Object(entry)] });
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    }
}

/// Sends the test batch ([`PING_BATCH`]) as the webhook described by `probe` would, with the
/// given token cache. Returns the target's 2xx response.
pub(crate) async fn send(
    services: &WebhookServices,
    tokens: &TokenCache,
    probe: Probe<'_>,
) -> Result<TargetResponse, TestPostFailed> {
    let auth = Auth::from(probe.auth);
    let (outcome, response) = post_batch(
        &services.client,
        tokens,
        services.policy,
        BatchPost {
            webhook_id: probe.webhook_id,
            url: probe.target,
            batch_id: TEST_BATCH_ID,
            body: Bytes::from_static(PING_BATCH.as_bytes()),
            custom_headers: probe.custom_headers,
            auth: &auth,
            auth_token: probe.auth_token,
            signing_secrets: probe.signing_secrets,
        },
    )
    .await;
    match (outcome, response) {
        (Outcome::Delivered { status, .. }, response)
            if !accepted(status, services.rules.test_post_any_2xx) =>
        {
            Err(TestPostFailed {
                failure: Failure::Status(status),
                response,
            })
        }
        (Outcome::Delivered { .. }, Some(response)) => Ok(response),
        (Outcome::Delivered { status, .. }, None) => Ok(TargetResponse {
            status,
            headers: Vec::new(),
            body: String::new(),
        }),
        (Outcome::Failed { failure, .. }, response) => Err(TestPostFailed { failure, response }),
    }
}

/// Whether a test POST answered with the 2xx `status` passes. SparkPost's reference
/// (webhooks.apib): on create, "If this request does not receive an HTTP 200 response, your
/// request to the Webhook API will fail with HTTP 400"; its support FAQ: "Any non 200 response
/// is treated as an error". Any 2xx only when the operator allows it (`any_2xx`).
fn accepted(status: u16, any_2xx: bool) -> bool {
    status == 200 || (any_2xx && (200..300).contains(&status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_200_passes_unless_any_2xx_is_allowed() {
        assert!(accepted(200, false));
        assert!(!accepted(204, false));
        assert!(!accepted(202, false));
        assert!(accepted(204, true));
        assert!(!accepted(302, true));
    }

    #[tokio::test]
    async fn failure_answer_carries_the_response() {
        let failed = TestPostFailed {
            failure: Failure::Status(500),
            response: Some(TargetResponse {
                status: 500,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: "boom".into(),
            }),
        };
        let response = failed.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["errors"][0]["message"], "Test POST to endpoint failed");
        assert_eq!(json["errors"][0]["code"], "500");
        assert_eq!(
            json["errors"][0]["response"],
            json!({"status": 500, "headers": {"content-type": "text/plain"}, "body": "boom"})
        );
    }
}
