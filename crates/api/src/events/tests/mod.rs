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
use serde_json::{json, Value};

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

/// A stored event: `fields` plus its type, timestamp (unix seconds as text) and event id.
fn event(kind: &str, at: i64, id: &str, fields: Value) -> Vec<u8> {
    let mut event = json!({ "type": kind, "timestamp": at.to_string(), "event_id": id });
    if let (Some(target), Value::Object(extra)) = (event.as_object_mut(), fields) {
        target.extend(extra);
    }
    event.to_string().into_bytes()
}

/// The sample events, `e01`…`e09` in time order from `t0` (one a minute), one two hours before
/// `t0`, and a relay event the Events API never shows.
fn sample_events(t0: i64) -> Vec<Vec<u8>> {
    vec![
        event(
            "injection",
            t0 - 7_200,
            "e00",
            json!({"rcpt_to": "ann@gmail.com"}),
        ),
        event(
            "injection",
            t0,
            "e01",
            json!({"rcpt_to": "ann@gmail.com", "raw_rcpt_to": "Ann@Gmail.com",
                   "recipient_domain": "gmail.com", "friendly_from": "News@Acme.com",
                   "sending_domain": "mail.acme.com", "subject": "Black Friday deals",
                   "campaign_id": "blackfriday-specials", "template_id": "tpl_main",
                   "sending_ip": "10.0.0.1", "ip_pool": "shared-pool", "message_id": "m1",
                   "transmission_id": "100", "ab_test_id": "subject-test",
                   "ab_test_version": "2"}),
        ),
        event(
            "delivery",
            t0 + 60,
            "e02",
            json!({"rcpt_to": "ann@gmail.com", "recipient_domain": "gmail.com",
                   "campaign_id": "blackfriday-specials", "message_id": "m1",
                   "mailbox_provider": "Gmail", "mailbox_provider_region": "Global",
                   "sending_ip": "10.0.0.1", "transmission_id": "100"}),
        ),
        event(
            "bounce",
            t0 + 120,
            "e03",
            json!({"rcpt_to": "bob@yahoo.co.uk", "recipient_domain": "yahoo.co.uk",
                   "bounce_class": "10", "reason": "550 5.1.1 User-Unknown",
                   "subaccount_id": "7", "campaign_id": "friday", "message_id": "m3",
                   "mailbox_provider": "Yahoo", "mailbox_provider_region": "Europe - UK"}),
        ),
        event(
            "delay",
            t0 + 180,
            "e04",
            json!({"rcpt_to": "bob@yahoo.co.uk", "bounce_class": "21",
                   "reason": "421 try again later", "subaccount_id": "7", "message_id": "m3"}),
        ),
        event(
            "click",
            t0 + 240,
            "e05",
            json!({"rcpt_to": "cy@hotmail.com", "subaccount_id": "0",
                   "ab_test_id": "subject-test", "ab_test_version": "1",
                   "template_id": "tpl-promo"}),
        ),
        event(
            "open",
            t0 + 300,
            "e06",
            json!({"rcpt_to": "cy@hotmail.com"}),
        ),
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
    ]
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
