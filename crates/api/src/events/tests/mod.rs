//! The Events API driven through the real router, over a [`MemoryEventStore`] holding
//! hand-written events a couple of hours old (the API refuses windows older than 10 days).

mod docs;
mod erase;
mod filters;
mod paging;
mod params;
mod shapes;

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Utc};
use eventhose_analytics::{EventBatch, EventWriter, MemoryEventStore, MemoryStore};
use eventhose_test_support::sample_events::{event, six_events};
use serde_json::json;

use crate::test_app::{Answer, TestApp};

struct Harness {
    app: TestApp,
    store: Arc<MemoryEventStore>,
    /// When the first sample event happened (two hours ago, whole seconds).
    t0: i64,
    /// A primary key with `message_events/view`.
    root: String,
    /// A key of subaccount 7 with `message_events/view`.
    sub7: String,
    /// A primary key without the grant.
    other: String,
    /// A primary key with both erasure grants.
    eraser: String,
    /// A key of subaccount 7 with both erasure grants.
    sub7_eraser: String,
}

impl Answer {
    /// The `event_id`s of a 200's results, in order.
    fn ids(&self) -> Vec<String> {
        self.results()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event_id"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The sample events, `e01`…`e09` in time order from `t0` (one a minute), one two hours before
/// `t0`, and a relay event the Events API never shows.
fn sample_events(t0: i64) -> Vec<Vec<u8>> {
    let older = event(
        "injection",
        t0 - 7_200,
        "e00",
        json!({"rcpt_to": "ann@gmail.com"}),
    );
    let mut events = vec![older];
    events.extend(six_events(t0, 60, |n| format!("e{n:02}")));
    events.extend([
        event(
            "relay_injection",
            t0 + 360,
            "e07",
            json!({"rcpt_to": "cy@hotmail.com"}),
        ),
        event(
            "injection",
            t0 + 420,
            "e08",
            json!({"rcpt_to": "dee@example.com", "subaccount_id": "8",
                   "campaign_id": "blackfriday"}),
        ),
        event(
            "spam_complaint",
            t0 + 480,
            "e09",
            json!({"rcpt_to": "ann@gmail.com", "subaccount_id": "7"}),
        ),
    ]);
    events
}

fn insert(store: &MemoryEventStore, events: &[Vec<u8>]) {
    let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
    store
        .insert(&EventBatch::read(&slices).unwrap(), None)
        .unwrap();
}

async fn harness() -> Harness {
    let t0 = Utc::now().timestamp() - 7_200;
    let store = Arc::new(MemoryEventStore::new());
    insert(&store, &sample_events(t0));
    let app = TestApp::new(Arc::new(MemoryStore::new()), store.clone()).await;
    let erase_grants = super::ERASE_GRANTS;
    Harness {
        root: app.key(&[super::GRANT], None),
        sub7: app.key(&[super::GRANT], Some(7)),
        other: app.key(&["webhooks/view"], None),
        eraser: app.key(&erase_grants, None),
        sub7_eraser: app.key(&erase_grants, Some(7)),
        app,
        store,
        t0,
    }
}

/// A time as the API reads it.
fn time(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Harness {
    async fn send(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header("Authorization", key);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.app.send(request.body(Body::empty()).unwrap()).await
    }

    async fn get_with(&self, uri: &str, key: Option<&str>) -> Answer {
        self.send("GET", uri, key, &[]).await
    }

    /// GET with the primary key.
    async fn get(&self, uri: &str) -> Answer {
        self.get_with(uri, Some(&self.root)).await
    }

    /// The window around the sample events (from ten minutes before `t0` to an hour after).
    fn window(&self) -> String {
        format!("from={}&to={}", time(self.t0 - 600), time(self.t0 + 3_600))
    }

    /// Searches the sample window with `query` added, as `key`.
    async fn search_as(&self, query: &str, key: &str) -> Answer {
        let uri = format!("/api/v1/events/message?{}&{query}", self.window());
        self.get_with(&uri, Some(key)).await
    }

    /// The ids found in the sample window with `query` added, with the primary key.
    async fn ids(&self, query: &str) -> Vec<String> {
        self.search_as(query, &self.root).await.ids()
    }
}
