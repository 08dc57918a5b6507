//! SparkPost's Event Webhooks API under `/api/v1/webhooks`: create, list, retrieve, update and
//! delete webhooks, validate a target, read batch statuses, the event documentation and samples,
//! and (beyond SparkPost) rotation of the Standard Webhooks signing secret and the replay of a
//! failed batch (`/webhooks/{id}/batches/{batch_id}/replay`).
//!
//! Reads need `webhooks/view`, everything else `webhooks/modify`. `X-MSYS-SUBACCOUNT` scopes a
//! primary key to one account; a subaccount key is confined to its own (`reach`). Secrets are
//! never shown again after creation: passwords, client secrets, custom header values and the
//! deprecated `auth_token` come back masked.

mod auth_fields;
mod auth_token;
mod batch_status;
mod body;
mod changes;
mod custom_headers;
pub(crate) mod event_docs;
mod handlers;
mod reach;
mod target_check;
mod test_post;
#[cfg(test)]
mod tests;
mod view;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use eventhose_state::{StateError, WebhookStore};
use eventhose_webhooks::{TargetPolicy, TokenCache};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::AppState;

/// Grant for reading webhooks.
pub const VIEW_GRANT: &str = "webhooks/view";
/// Grant for changing webhooks.
pub const MODIFY_GRANT: &str = "webhooks/modify";

/// What the webhook routes need, shared with the delivery engine.
#[derive(Clone)]
pub struct WebhookServices {
    /// Where webhooks and batch statuses live.
    pub store: Arc<dyn WebhookStore>,
    /// The SSRF-guarded HTTP client for target and token requests.
    pub client: reqwest::Client,
    /// Which destinations targets may have.
    pub policy: TargetPolicy,
    /// OAuth2 bearer tokens per webhook.
    pub tokens: Arc<TokenCache>,
    /// Bumped after every change of a webhook, so that caches of webhooks can refresh.
    pub changes: Arc<watch::Sender<u64>>,
    /// Most webhooks one account (the primary account, or one subaccount) may have; creating
    /// one more is refused with a 409.
    pub max_per_account: usize,
    /// SparkPost's rules on targets, or the operator's relaxations of them.
    pub rules: TargetRules,
}

/// Where SparkPost is stricter than a target needs to be, and an operator may relax it. The
/// default is SparkPost's behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetRules {
    /// Accept targets on any port. SparkPost (webhooks.apib, "Create a Webhook"): "Webhooks
    /// only support standard ports, port 80 for HTTP traffic and port 443 for HTTPS traffic.
    /// You will not be able to create a webhook using a non-standard port."
    pub any_port: bool,
    /// Accept any 2xx answer to a test POST (create, re-target, validate). SparkPost
    /// (webhooks.apib): "If this request does not receive an HTTP 200 response, your request to
    /// the Webhook API will fail with HTTP 400"; validate "validates that the target responds
    /// with HTTP 200".
    pub test_post_any_2xx: bool,
}

/// Default of [`WebhookServices::max_per_account`]. SparkPost publishes no such limit; 100
/// leaves room for every real use while bounding what one key can make the engine fan out to.
pub const DEFAULT_MAX_WEBHOOKS_PER_ACCOUNT: usize = 100;

impl WebhookServices {
    /// Runs a store operation on the blocking pool.
    pub(crate) async fn store<T, F>(&self, operation: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn WebhookStore) -> Result<T, StateError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || operation(store.as_ref()))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// Tells watchers that webhooks changed.
    pub(crate) fn changed(&self) {
        self.changes.send_modify(|generation| *generation += 1);
    }
}

/// The routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(handlers::list).post(handlers::create))
        .route(
            "/webhooks/events/documentation",
            get(event_docs::documentation),
        )
        .route("/webhooks/events/samples", get(event_docs::samples))
        .route(
            "/webhooks/{id}",
            get(handlers::retrieve)
                .put(handlers::update)
                .delete(handlers::delete),
        )
        .route("/webhooks/{id}/validate", post(handlers::validate))
        .route(
            "/webhooks/{id}/batch-status",
            get(batch_status::batch_status),
        )
        .route(
            "/webhooks/{id}/signing-secret/rotate",
            post(handlers::rotate_signing_secret),
        )
        .route(
            "/webhooks/{id}/batches/{batch_id}/replay",
            post(batch_status::replay),
        )
}
