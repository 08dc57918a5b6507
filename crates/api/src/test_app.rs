//! The whole router over real stores in a temporary directory, for the API's tests: the state
//! store and the embedded hose on disk, the analytic stores given by the test.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use eventhose_analytics::{EventStore, MetricsReader};
use eventhose_hose::embedded::EmbeddedHose;
use eventhose_hose::Hose;
use eventhose_state::{EncryptionKey, KeyStore, NewKey, SqliteState};
use eventhose_webhooks::{TargetPolicy, TokenCache};
use serde_json::Value;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::{
    router, ApiLimits, AppState, IngestSettings, KeyResolver, MxLookup, TargetRules,
    WebhookServices,
};

/// A router and the state store behind it.
pub(crate) struct TestApp {
    /// Keeps the directory alive.
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) app: Router,
    pub(crate) state: Arc<SqliteState>,
    /// The hose ingest publishes to.
    pub(crate) hose: Arc<dyn Hose>,
}

impl TestApp {
    /// The application over `metrics` and `events`; webhooks may not target private addresses.
    pub(crate) async fn new(
        metrics: Arc<dyn MetricsReader>,
        events: Arc<dyn EventStore>,
    ) -> TestApp {
        Self::build(
            metrics,
            events,
            TargetPolicy {
                allow_private: false,
            },
            crate::webhooks::DEFAULT_MAX_WEBHOOKS_PER_ACCOUNT,
            TargetRules::default(),
            IngestSettings::default(),
        )
        .await
    }

    /// The application over empty in-memory analytic stores, with these ingest limits.
    pub(crate) async fn for_ingest(limits: IngestSettings) -> TestApp {
        Self::build(
            Arc::new(crate::analytics::MemoryStore::new()),
            Arc::new(crate::analytics::MemoryEventStore::new()),
            TargetPolicy {
                allow_private: false,
            },
            crate::webhooks::DEFAULT_MAX_WEBHOOKS_PER_ACCOUNT,
            TargetRules::default(),
            limits,
        )
        .await
    }

    /// The application over empty in-memory analytic stores, with webhook targets allowed on
    /// loopback and any port (so that tests can run their own receivers) and at most
    /// `max_per_account` webhooks per account.
    pub(crate) async fn for_webhooks(max_per_account: usize) -> TestApp {
        Self::build(
            Arc::new(crate::analytics::MemoryStore::new()),
            Arc::new(crate::analytics::MemoryEventStore::new()),
            TargetPolicy {
                allow_private: true,
            },
            max_per_account,
            TargetRules {
                any_port: true,
                test_post_any_2xx: false,
            },
            IngestSettings::default(),
        )
        .await
    }

    async fn build(
        metrics: Arc<dyn MetricsReader>,
        events: Arc<dyn EventStore>,
        policy: TargetPolicy,
        max_per_account: usize,
        rules: TargetRules,
        ingest_settings: IngestSettings,
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(
            SqliteState::open_with_key(dir.path().join("state.sqlite"), &EncryptionKey::generate())
                .unwrap(),
        );
        let hose = EmbeddedHose::open(dir.path().join("hose"), Default::default())
            .await
            .unwrap();
        let webhooks = WebhookServices {
            store: state.clone(),
            client: eventhose_webhooks::target::client(policy, Duration::from_secs(5)).unwrap(),
            policy,
            tokens: Arc::new(TokenCache::new()),
            changes: Arc::new(watch::channel(0u64).0),
            max_per_account,
            rules,
        };
        let hose: Arc<dyn Hose> = hose;
        // Tests never ask the machine's resolver: MX lookups run only against the name
        // servers a test names (its own, on loopback).
        let mx_lookup = if ingest_settings.mx_lookup.nameservers.is_empty() {
            None
        } else {
            MxLookup::new(&ingest_settings.mx_lookup).unwrap()
        };
        let app = router(AppState {
            hose: hose.clone(),
            keys: Arc::new(KeyResolver::new(state.clone())),
            ingest_settings,
            mx_lookup,
            erasures: state.clone(),
            tombstones: Arc::default(),
            idempotency: Arc::new(crate::Idempotency::new(state.clone())),
            components: Arc::default(),
            api_limits: ApiLimits::default(),
            render_metrics: Arc::new(String::new),
            ready: Arc::new(AtomicBool::new(true)),
            roles: Arc::from("all"),
            webhooks,
            suppressions: state.clone(),
            metrics: Some(metrics),
            events: Some(events),
        });
        TestApp {
            _dir: dir,
            app,
            state,
            hose,
        }
    }

    /// Creates a key and returns its secret.
    pub(crate) fn key(&self, grants: &[&str], subaccount: Option<u64>) -> String {
        let (_, secret) = self
            .state
            .create_key(NewKey {
                label: "test".into(),
                grants: grants.iter().map(|g| g.to_string()).collect(),
                subaccount,
                secret: None,
            })
            .unwrap();
        secret
    }

    /// Sends `request` through the router.
    pub(crate) async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, body }
    }
}

/// One answer: status and JSON body (`Null` when empty or not JSON).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Answer {
    /// The `results` of a 200.
    pub(crate) fn results(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        &self.body["results"]
    }

    /// The parameters the errors name.
    pub(crate) fn params(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["param"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The parameters a 400's errors name.
    pub(crate) fn bad_params(&self) -> Vec<String> {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.body);
        self.params()
    }

    /// The `rel` of each of the answer's `links` (an array of links with a `rel` each).
    pub(crate) fn link_rels(&self) -> Vec<&str> {
        let links = self.body["links"].as_array();
        let links = links.unwrap_or_else(|| panic!("no links array: {}", self.body));
        links
            .iter()
            .map(|l| l["rel"].as_str().expect("a link's rel"))
            .collect()
    }

    /// Every error description, joined.
    pub(crate) fn descriptions(&self) -> String {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["description"].as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .unwrap_or_default()
    }
}
