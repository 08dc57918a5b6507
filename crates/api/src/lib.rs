//! The HTTP face of eventhose: SparkPost-dialect REST APIs under `/api/v1` (each its own
//! module), API-key authentication and the operational endpoints. The binary merges the
//! Reports UI (`eventhose-ui`) into [`router`]'s application.

mod acting_account;
pub mod auth;
pub mod data_privacy;
pub mod dead_letters;
pub mod error;
pub mod events;
/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
pub mod idempotency;
pub mod ingest;
mod limits;
pub mod metrics;
pub mod ops;
mod query;
pub mod suppressions;
#[cfg(test)]
mod test_app;
pub mod webhooks;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::routing::{any, get, post};
use axum::Router;
use eventhose_hose::Hose;
use eventhose_state::{ErasureStore, SuppressionStore, Tombstones};

pub use auth::{Caller, KeyResolver};
pub use error::{ApiError, ErrorEntry};
/// The analytic store's vocabulary and traits, as [`AppState::metrics`] uses them.
pub use eventhose_analytics as analytics;
pub use idempotency::Idempotency;
pub use ingest::{
    IngestSettings, KumoMtaSettings, MxLookup, MxLookupError, MxLookupSettings,
    UnknownTenantSetting,
};
pub use limits::ApiLimits;
pub use webhooks::{TargetRules, WebhookServices, DEFAULT_MAX_WEBHOOKS_PER_ACCOUNT};

/// Renders the process's Prometheus metrics.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The event hose events are published to.
    pub hose: Arc<dyn Hose>,
    /// API-key resolution.
    pub keys: Arc<KeyResolver>,
    /// How ingest reads requests: limits, KumoMTA records, enrichment.
    pub ingest_settings: IngestSettings,
    /// The cached MX resolver of mailbox providers; `None` when lookups are turned off.
    pub mx_lookup: Option<Arc<MxLookup>>,
    /// Limits on the query APIs' answers.
    pub api_limits: ApiLimits,
    /// Renders `/metrics`.
    pub render_metrics: MetricsRenderer,
    /// Set once serving may begin; cleared when shutdown starts.
    pub ready: Arc<AtomicBool>,
    /// The roles this process runs (`serve --roles`), as `/readyz` reports them.
    pub roles: Arc<str>,
    /// The webhook store and what webhook requests send with.
    pub webhooks: WebhookServices,
    /// The suppression lists.
    pub suppressions: Arc<dyn SuppressionStore>,
    /// The analytic store the Metrics API reads; `None` in a process that does not hold it
    /// (the Metrics API answers 503 there).
    pub metrics: Option<Arc<dyn eventhose_analytics::MetricsReader>>,
    /// The message events the Events API searches and erases; `None` in a process that does
    /// not hold them (the Events API and erasures answer 503 there).
    pub events: Option<Arc<dyn eventhose_analytics::EventStore>>,
    /// Where erasures are recorded, so late copies of an erased recipient's events are dropped.
    pub erasures: Arc<dyn ErasureStore>,
    /// The erasures in memory, shared with the writers that check events against them.
    pub tombstones: Arc<Tombstones>,
    /// The answers kept for ingest requests sent with an `Idempotency-Key`.
    pub idempotency: Arc<Idempotency>,
    /// Which of this process's components (its subscribers) are down, for `/readyz`.
    pub components: Arc<health::Components>,
}

/// Which HTTP APIs a process serves (`serve --roles`); the operational endpoints are always
/// served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiParts {
    /// `POST /api/v1/ingest/events` and `/ingest/kumomta` (the `ingest` role).
    pub ingest: bool,
    /// Every other API under `/api/v1` (the `api` role).
    pub query: bool,
}

impl ApiParts {
    /// Every API: one process runs everything.
    pub const ALL: Self = Self {
        ingest: true,
        query: true,
    };
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    router_of(state, ApiParts::ALL)
}

/// The HTTP application with the APIs of `parts`; the others answer 404, saying which role
/// serves them.
pub fn router_of(state: AppState, parts: ApiParts) -> Router {
    let mut api = Router::new();
    api = if parts.ingest {
        api.route("/ingest/events", post(ingest::ingest_events))
            .route("/ingest/kumomta", post(ingest::ingest_kumomta))
    } else {
        let elsewhere = || async { ApiError::served_elsewhere("ingest") };
        api.route("/ingest/events", any(elsewhere))
            .route("/ingest/kumomta", any(elsewhere))
    };
    api = if parts.query {
        api.merge(webhooks::routes())
            .merge(suppressions::routes())
            .merge(data_privacy::routes())
            .merge(dead_letters::routes())
            .merge(metrics::routes())
            .merge(events::routes())
            .fallback(|| async { ApiError::not_found() })
    } else {
        api.fallback(|| async { ApiError::served_elsewhere("api") })
    };
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::prometheus))
        .layer(axum::middleware::from_fn(ops::track_requests))
        .with_state(state)
}
