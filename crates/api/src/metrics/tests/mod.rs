//! The Metrics API driven through the real router, over a [`MemoryStore`] filled by folding
//! hand-written events with the real [`Aggregator`] and committing them.

mod aggregate;
mod breakdowns;
mod lists;
mod params;
mod time_series;

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use eventhose_analytics::{Aggregator, MemoryStore, MetricsWriter};
use serde_json::{json, Value};

use crate::test_app::{Answer, TestApp};

struct Harness {
    app: TestApp,
    /// A primary key with `metrics/view`.
    root: String,
    /// A key of subaccount 7 with `metrics/view`.
    sub7: String,
    /// A primary key without the grant.
    other: String,
}

/// A stored event: `fields` plus its type, timestamp (RFC 3339) and an event id.
fn event(kind: &str, at: &str, fields: Value) -> Vec<u8> {
    let mut event = json!({ "type": kind, "timestamp": at, "event_id": "1" });
    if let (Some(target), Value::Object(extra)) = (event.as_object_mut(), fields) {
        target.extend(extra);
    }
    event.to_string().into_bytes()
}

/// The dimensions of the primary account's Gmail messages of the spring sale.
fn gmail(message: &str) -> Value {
    json!({
        "message_id": message,
        "recipient_domain": "gmail.com",
        "campaign_id": "spring-sale",
        "template_id": "tpl-a",
        "ip_pool": "pool-a",
        "sending_ip": "10.0.0.1",
        "sending_domain": "mail.acme.com",
        "mailbox_provider": "Gmail",
        "mailbox_provider_region": "Global",
    })
}

/// … of subaccount 7's Yahoo message of the winter promotion.
fn yahoo(message: &str) -> Value {
    json!({
        "message_id": message,
        "recipient_domain": "yahoo.com",
        "campaign_id": "winter-promo",
        "template_id": "tpl-b",
        "ip_pool": "pool-b",
        "sending_ip": "10.0.0.2",
        "sending_domain": "news.acme.com",
        "mailbox_provider": "Yahoo",
        "mailbox_provider_region": "North America",
        "subaccount_id": "7",
    })
}

/// … of subaccount 7's Hotmail message of the spring sale.
fn hotmail(message: &str) -> Value {
    json!({
        "message_id": message,
        "recipient_domain": "hotmail.com",
        "campaign_id": "spring-sale",
        "template_id": "tpl-a",
        "ip_pool": "pool-b",
        "sending_ip": "10.0.0.2",
        "sending_domain": "news.acme.com",
        "mailbox_provider": "Microsoft",
        "mailbox_provider_region": "Europe",
        "subaccount_id": "7",
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(target), Value::Object(extra)) = (base.as_object_mut(), extra) {
        target.extend(extra);
    }
    base
}

/// The events on 2024-03-05 (UTC), in two commits. What they add up to, between 10:00 and
/// 12:00: 5 injected (gmail 3, yahoo 1, hotmail 1; subaccount 0: 3, subaccount 7: 2), 2
/// delivered, 1 in-band and 1 out-of-band bounce (both Invalid Recipient), 1 admin bounce,
/// 2 delays, 2 rejections, 2 renders of one message, 3 clicks on two messages, 1 initial render,
/// 1 spam complaint, 1 unsubscribe.
fn march_events() -> Vec<Vec<Vec<u8>>> {
    let day = |time: &str| format!("2024-03-05T{time}Z");
    vec![
        vec![
            event("injection", &day("10:00:10"), gmail("m1")),
            event("injection", &day("10:01:00"), gmail("m2")),
            event("injection", &day("10:02:59"), yahoo("m3")),
            event("injection", &day("10:03:00"), hotmail("m4")),
            event(
                "delivery",
                &day("10:05:00"),
                with(
                    gmail("m1"),
                    json!({"num_retries": "0", "queue_time": "1000", "msg_size": "2000"}),
                ),
            ),
            event(
                "delivery",
                &day("10:06:00"),
                with(
                    gmail("m2"),
                    json!({"num_retries": "2", "queue_time": "5000", "msg_size": "3000"}),
                ),
            ),
            event(
                "bounce",
                &day("10:07:00"),
                with(
                    yahoo("m3"),
                    json!({"bounce_class": "10", "reason": "550 5.1.1 user unknown"}),
                ),
            ),
            event(
                "out_of_band",
                &day("10:08:00"),
                with(
                    gmail("m1"),
                    json!({"bounce_class": "10", "reason": "550 mailbox gone"}),
                ),
            ),
            event(
                "bounce",
                &day("10:09:00"),
                with(
                    hotmail("m4"),
                    json!({"bounce_class": "25", "reason": "554 policy"}),
                ),
            ),
        ],
        vec![
            event(
                "delay",
                &day("10:10:00"),
                with(
                    hotmail("m4"),
                    json!({"num_retries": "0", "reason": "421 try later"}),
                ),
            ),
            event(
                "delay",
                &day("10:11:00"),
                with(
                    hotmail("m4"),
                    json!({"num_retries": "1", "reason": "421 try later"}),
                ),
            ),
            event(
                "policy_rejection",
                &day("10:12:00"),
                with(gmail("r1"), json!({"reason": "550 blocked by policy"})),
            ),
            event(
                "generation_failure",
                &day("10:13:00"),
                with(gmail("r2"), json!({"reason": "render failed"})),
            ),
            event("open", &day("10:20:00"), gmail("m1")),
            event("open", &day("10:21:00"), gmail("m1")),
            event(
                "click",
                &day("10:22:00"),
                with(gmail("m1"), json!({"target_link_name": "buy-now"})),
            ),
            event(
                "click",
                &day("10:23:00"),
                with(gmail("m1"), json!({"target_link_name": "buy-now"})),
            ),
            event(
                "click",
                &day("10:24:00"),
                with(
                    gmail("m2"),
                    json!({"target_link_url": "https://acme.example/x"}),
                ),
            ),
            event("initial_open", &day("10:25:00"), gmail("m2")),
            event("spam_complaint", &day("10:30:00"), gmail("m1")),
            event("list_unsubscribe", &day("10:31:00"), gmail("m2")),
            event(
                "injection",
                &day("11:15:00"),
                with(gmail("m5"), json!({"campaign_id": "summer"})),
            ),
        ],
    ]
}

/// Injections around New York's DST changes of 2024 (domain `dst.example`): on 2024-11-03 at
/// 00:10 EDT, 01:30 EDT, 01:30 EST and 23:30 EST; on 2024-03-10 at 01:30 EST and 03:30 EDT.
fn dst_events() -> Vec<Vec<u8>> {
    let fields = || json!({ "recipient_domain": "dst.example", "campaign_id": "dst" });
    [
        "2024-11-03T04:10:00Z",
        "2024-11-03T05:30:00Z",
        "2024-11-03T06:30:00Z",
        "2024-11-04T04:30:00Z",
        "2024-03-10T06:30:00Z",
        "2024-03-10T07:30:00Z",
    ]
    .iter()
    .map(|at| event("injection", at, fields()))
    .collect()
}

async fn harness() -> Harness {
    let mut commits = march_events();
    commits.push(dst_events());
    harness_of(commits).await
}

/// A harness over a store holding `commits`, each folded and committed in turn.
async fn harness_of(commits: Vec<Vec<Vec<u8>>>) -> Harness {
    let store = Arc::new(MemoryStore::new());
    let mut aggregator = Aggregator::default();
    for (position, events) in commits.iter().enumerate() {
        for stored in events {
            aggregator.fold(stored).unwrap();
        }
        let (tally, ledger) = aggregator.take();
        store
            .commit(&tally, &ledger, Some(position as u64))
            .unwrap();
    }

    let app = TestApp::new(store, Arc::new(crate::analytics::MemoryEventStore::new())).await;
    Harness {
        root: app.key(&[super::GRANT], None),
        sub7: app.key(&[super::GRANT], Some(7)),
        other: app.key(&["webhooks/view"], None),
        app,
    }
}

impl Harness {
    async fn get_with(&self, uri: &str, key: Option<&str>) -> Answer {
        let mut request = Request::builder().uri(uri);
        if let Some(key) = key {
            request = request.header("Authorization", key);
        }
        self.app.send(request.body(Body::empty()).unwrap()).await
    }

    /// GET with the primary key.
    async fn get(&self, uri: &str) -> Answer {
        self.get_with(uri, Some(&self.root)).await
    }
}

/// `/api/v1/metrics/<path>?<query>`, with `query_filters` URL-encoded when given.
fn uri(path: &str, query: &str) -> String {
    format!("/api/v1/metrics/{path}?{query}")
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The March window: 2024-03-05 10:00 to 12:00 UTC.
const MARCH: &str = "from=2024-03-05T10:00&to=2024-03-05T12:00";
