//! Webhooks and batch statuses for the tests of every backend.

use std::time::Duration;

use super::{BatchStatus, NewWebhook, WebhookAuth, WebhookScope, WebhookStore};

/// A webhook to create, with two custom headers (out of alphabetical order).
pub(crate) fn new_webhook(name: &str, scope: WebhookScope) -> NewWebhook {
    NewWebhook {
        name: name.into(),
        target: "https://hooks.example.com/in".into(),
        events: vec!["delivery".into(), "bounce".into()],
        active: true,
        auth: WebhookAuth::None,
        custom_headers: vec![("x-b".into(), "2".into()), ("x-a".into(), "1".into())],
        auth_token: None,
        scope,
        exception_subaccounts: vec![],
    }
}

/// A batch status of `webhook_id` created at `ts`.
pub(crate) fn batch(webhook_id: &str, batch_id: &str, ts: i64) -> BatchStatus {
    BatchStatus {
        batch_id: batch_id.into(),
        webhook_id: webhook_id.into(),
        ts,
        attempts: 2,
        response_code: Some(200),
        failure_code: Some("503".into()),
        batch_size: 17,
        latency_ms: 42,
    }
}

/// The user name [`store_every_kind_of_secret`] stores: in clear, unlike the secrets.
pub(crate) const CLEAR_USERNAME: &str = "alice";

/// Stores webhooks holding every kind of secret (a basic-auth password, an OAuth2 client
/// secret, a custom header, an `auth_token`, and signing secrets before and after a
/// rotation); returns the secrets, which must not be found in clear in the backend's storage.
pub(crate) fn store_every_kind_of_secret(store: &(impl WebhookStore + ?Sized)) -> Vec<String> {
    let mut new = new_webhook("secret", WebhookScope::All);
    let header_token = "header-bearer-token-4711";
    new.custom_headers = vec![("X-Api-Key".into(), header_token.into())];
    let auth_token = "deprecated-webhook-token-0815";
    new.auth_token = Some(auth_token.into());
    let password = "correct-horse-battery-staple";
    new.auth = WebhookAuth::Basic {
        username: CLEAR_USERNAME.into(),
        password: password.into(),
    };
    let hook = store.create_webhook(new).unwrap();
    let mut oauth = new_webhook("oauth", WebhookScope::All);
    let client_secret = "oauth-client-secret-value-123";
    oauth.auth = WebhookAuth::OAuth2 {
        url: "https://auth.example.com/token".into(),
        body: serde_json::json!({"client_secret": client_secret})
            .as_object()
            .unwrap()
            .clone(),
    };
    store.create_webhook(oauth).unwrap();
    let rotated = store
        .rotate_signing_secret(&hook.id, Duration::from_secs(60))
        .unwrap()
        .unwrap();
    vec![
        password.into(),
        client_secret.into(),
        header_token.into(),
        auth_token.into(),
        hook.signing.current,
        rotated,
    ]
}
