//! `POST /api/v1/ingest/kumomta` through the whole router: bodies of KumoMTA records in,
//! events on the hose out.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use super::{IngestSettings, KumoMtaSettings, INGEST_GRANT};
use crate::test_app::{Answer, TestApp};

const URI: &str = "/api/v1/ingest/kumomta";
const SUBSCRIBER: &str = "test-reader";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A KumoMTA record of `kind` from now, as its log hook posts it.
fn record(kind: &str, recipient: Value, queue: &str) -> Value {
    json!({
        "type": kind,
        "id": "d7ef132b5d7711eea8c8000c29c33806",
        "sender": "bounces@mail.shop.example",
        "recipient": recipient,
        "queue": queue,
        "site": "",
        "size": 320,
        "response": {"code": 250, "enhanced_code": null, "content": "", "command": null},
        "peer_address": {"name": "moto", "addr": "127.0.0.1"},
        "timestamp": now(),
        "created": now() - 5,
        "num_attempts": 0,
        "bounce_classification": "Uncategorized",
        "egress_pool": null,
        "egress_source": null,
        "feedback_report": null,
        "meta": {},
        "headers": {},
        "delivery_protocol": null,
        "reception_protocol": "ESMTP",
        "nodeid": "d8e014c7-eaeb-4683-a56e-61324e91b1fc"
    })
}

fn reception(recipient: Value) -> Value {
    record("Reception", recipient, "spring:acme@gmail.com")
}

fn delivery() -> Value {
    let mut value = record("Delivery", json!("jane@gmail.com"), "spring:acme@gmail.com");
    value["delivery_protocol"] = json!("ESMTP");
    value["response"] = json!({"code": 250, "enhanced_code": {"class": 2, "subject": 0, "detail": 0},
                               "content": "OK", "command": ".\r\n"});
    value
}

fn hook_traffic() -> Value {
    let mut value = record(
        "Delivery",
        json!("x@eventhose.example"),
        "eventhose.log_hook",
    );
    value["delivery_protocol"] = json!("Lua");
    value["reception_protocol"] = json!("LogRecord");
    value
}

async fn app_with(limits: IngestSettings) -> TestApp {
    let app = TestApp::for_ingest(limits).await;
    app.hose.register(SUBSCRIBER).await.unwrap();
    app
}

async fn app() -> TestApp {
    app_with(IngestSettings::default()).await
}

async fn post(app: &TestApp, key: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let mut request = Request::post(URI).header("Authorization", key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request.body(Body::from(body)).unwrap()).await
}

async fn post_json(app: &TestApp, key: &str, body: &Value) -> Answer {
    post(app, key, &[], body.to_string().into_bytes()).await
}

/// Every event published so far, in order.
async fn published(app: &TestApp) -> Vec<Value> {
    let mut subscription = app.hose.subscribe(SUBSCRIBER).await.unwrap();
    let mut events = Vec::new();
    while let Ok(Ok(delivery)) =
        tokio::time::timeout(Duration::from_millis(300), subscription.next()).await
    {
        for message in &delivery.messages {
            events.push(serde_json::from_slice(message).unwrap());
        }
        subscription.ack(&delivery.tag).await.unwrap();
    }
    events
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn ndjson(records: &[Value]) -> Vec<u8> {
    records
        .iter()
        .map(|r| r.to_string() + "\n")
        .collect::<String>()
        .into_bytes()
}

#[tokio::test]
async fn an_array_is_accepted_with_its_counts() {
    let app = app().await;
    let key = app.key(&[INGEST_GRANT], None);
    let body = json!([
        reception(json!(["a@gmail.com", "b@yahoo.com"])),
        delivery(),
        record("Delayed", json!("a@gmail.com"), "gmail.com"),
        hook_traffic(),
    ]);
    let answer = post_json(&app, &key, &body).await;
    let results = answer.results();
    assert_eq!(results["accepted"], 3);
    assert_eq!(results["skipped"], 2);
    assert!(results["id"].is_string());
    let events = published(&app).await;
    assert_eq!(types(&events), ["injection", "injection", "delivery"]);
    assert_eq!(events[0]["rcpt_to"], "a@gmail.com");
    assert_eq!(events[1]["rcpt_to"], "b@yahoo.com");
    assert_eq!(events[2]["campaign_id"], "spring");
    assert_eq!(events[2]["mailbox_provider"], "Gmail");
}

#[tokio::test]
async fn one_object_and_ndjson_are_accepted() {
    let app = app().await;
    let key = app.key(&[INGEST_GRANT], None);
    let pretty = serde_json::to_vec_pretty(&delivery()).unwrap();
    assert_eq!(post(&app, &key, &[], pretty).await.results()["accepted"], 1);
    let lines = ndjson(&[reception(json!("a@gmail.com")), delivery()]);
    assert_eq!(post(&app, &key, &[], lines).await.results()["accepted"], 2);
    assert_eq!(published(&app).await.len(), 3);
}

#[tokio::test]
async fn a_batch_of_records_that_are_no_events_is_answered_200() {
    let app = app().await;
    let key = app.key(&[INGEST_GRANT], None);
    let answer = post_json(
        &app,
        &key,
        &json!([hook_traffic(), {"type": "AdminRebind"}]),
    )
    .await;
    assert_eq!(answer.results()["accepted"], 0);
    assert_eq!(answer.results()["skipped"], 2);
    assert!(published(&app).await.is_empty());
}

#[tokio::test]
async fn records_older_than_any_retention_are_skipped() {
    let app = app().await;
    let key = app.key(&[INGEST_GRANT], None);
    let mut old = reception(json!(["a@gmail.com", "b@gmail.com"]));
    old["timestamp"] = json!(1_000_000_000);
    let answer = post(&app, &key, &[], ndjson(&[delivery(), old])).await;
    assert_eq!(answer.results()["accepted"], 1);
    assert_eq!(answer.results()["skipped"], 1);
    assert_eq!(types(&published(&app).await), ["delivery"]);
}

#[tokio::test]
async fn a_bad_record_refuses_the_request_naming_it() {
    let app = app().await;
    let key = app.key(&[INGEST_GRANT], None);
    let mut bad = delivery();
    bad["response"]["code"] = json!("250");
    let answer = post_json(&app, &key, &json!([delivery(), bad, delivery()])).await;
    assert_eq!(answer.bad_params(), ["response.code"]);
    assert_eq!(answer.body["errors"][0]["record"], 2);
    assert!(
        answer.descriptions().contains("`response.code` must be"),
        "{}",
        answer.body
    );

    // A record the model refuses (here: dated far ahead) is named the same way.
    let mut ahead = delivery();
    ahead["timestamp"] = json!(now() + 30 * 86_400);
    let answer = post(&app, &key, &[], ndjson(&[delivery(), ahead])).await;
    assert_eq!(answer.bad_params(), ["timestamp"]);
    assert_eq!(answer.body["errors"][0]["record"], 2);

    // Not JSON: the record and line where reading stopped.
    let mut text = ndjson(&[delivery()]);
    text.extend_from_slice(b"{\"type\": \n");
    let answer = post(&app, &key, &[], text).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.body["errors"][0]["record"], 2);
    assert_eq!(answer.body["errors"][0]["line"], 3);

    let answer = post(&app, &key, &[], b"  \n".to_vec()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        published(&app).await.is_empty(),
        "nothing of a refused request"
    );
}

#[tokio::test]
async fn tenants_become_subaccounts_within_the_keys_scope() {
    let limits = IngestSettings {
        kumomta: KumoMtaSettings {
            tenants: BTreeMap::from([("acme".to_owned(), 7), ("globex".to_owned(), 9)]),
            ..KumoMtaSettings::default()
        },
        ..IngestSettings::default()
    };
    let app = app_with(limits).await;
    let primary = app.key(&[INGEST_GRANT], None);
    let sub7 = app.key(&[INGEST_GRANT], Some(7));
    let globex = record("Reception", json!("a@gmail.com"), "globex@gmail.com");
    let no_tenant = record("Reception", json!("b@gmail.com"), "gmail.com");

    // The primary key sends any tenant's events.
    let all = json!([delivery(), globex.clone(), no_tenant.clone()]);
    let answer = post_json(&app, &primary, &all).await;
    assert_eq!(answer.results()["accepted"], 3);
    let events = published(&app).await;
    assert_eq!(events[0]["subaccount_id"], "7");
    assert_eq!(events[1]["subaccount_id"], "9");
    assert_eq!(events[2].get("subaccount_id"), None);

    // A subaccount's key sends only its own tenant's: another's is refused, naming it.
    let answer = post_json(&app, &sub7, &json!([delivery(), globex])).await;
    assert_eq!(answer.bad_params(), ["subaccount_id"]);
    assert_eq!(answer.body["errors"][0]["record"], 2);
    // Its own, or none (stamped with its subaccount), are accepted.
    let answer = post_json(&app, &sub7, &json!([delivery(), no_tenant])).await;
    assert_eq!(answer.results()["accepted"], 2);
    let events = published(&app).await;
    assert!(
        events.iter().all(|e| e["subaccount_id"] == "7"),
        "{events:?}"
    );
}

#[tokio::test]
async fn an_unmapped_tenant_may_be_refused() {
    let limits = IngestSettings {
        kumomta: KumoMtaSettings {
            unknown_tenant: super::UnknownTenantSetting::Refuse,
            ..KumoMtaSettings::default()
        },
        ..IngestSettings::default()
    };
    let app = app_with(limits).await;
    let key = app.key(&[INGEST_GRANT], None);
    let answer = post_json(&app, &key, &delivery()).await;
    assert_eq!(answer.bad_params(), ["queue"]);
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let app = app().await;
    let key = app.key(&[INGEST_GRANT], None);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(&ndjson(&[reception(json!("a@gmail.com")), delivery()]))
        .unwrap();
    let gz = encoder.finish().unwrap();
    let answer = post(&app, &key, &[("Content-Encoding", "gzip")], gz).await;
    assert_eq!(answer.results()["accepted"], 2);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let app = app().await;
    let key = app.key(&[INGEST_GRANT], None);
    let body = json!([delivery()]).to_string().into_bytes();
    let headers = [("Idempotency-Key", "batch-1")];
    let first = post(&app, &key, &headers, body.clone()).await;
    let again = post(&app, &key, &headers, body.clone()).await;
    assert_eq!(first.results()["id"], again.results()["id"]);
    assert_eq!(published(&app).await.len(), 1, "published once");

    // The same key and body on the events route is another request.
    let events_route = Request::post("/api/v1/ingest/events")
        .header("Authorization", &key)
        .header("Idempotency-Key", "batch-1")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(events_route).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn requests_over_the_limits_get_413() {
    let limits = IngestSettings {
        max_events: 2,
        max_line_bytes: 2_000,
        ..IngestSettings::default()
    };
    let app = app_with(limits).await;
    let key = app.key(&[INGEST_GRANT], None);
    let three = json!([delivery(), delivery(), {"type": "Delayed"}]);
    let answer = post_json(&app, &key, &three).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.body
    );
    let answer = post(&app, &key, &[], ndjson(&three.as_array().unwrap().clone())).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.body
    );

    // Two records, but three recipients: too many events.
    let answer = post_json(
        &app,
        &key,
        &json!([reception(json!(["a@gmail.com", "b@gmail.com"])), delivery()]),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.body
    );

    // A record longer than a line may be.
    let mut long = delivery();
    long["meta"] = json!({"note": "x".repeat(3_000)});
    let answer = post_json(&app, &key, &long).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(answer.body["errors"][0]["record"], 1);

    // A body over the size limit.
    let app = app_with(IngestSettings {
        max_body_bytes: 1_000,
        ..IngestSettings::default()
    })
    .await;
    let key = app.key(&[INGEST_GRANT], None);
    let answer = post(
        &app,
        &key,
        &[],
        ndjson(&[delivery(), delivery(), delivery()]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(published(&app).await.is_empty());
}

#[tokio::test]
async fn a_key_without_the_ingest_grant_is_refused() {
    let app = app().await;
    let key = app.key(&["webhooks/view"], None);
    let answer = post_json(&app, &key, &delivery()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
}

#[test]
fn settings_read_from_toml_shaped_json() {
    let limits: IngestSettings = serde_json::from_value(json!({
        "kumomta": {"tenants": {"acme": 7}, "unknown_tenant": "refuse"}
    }))
    .unwrap();
    assert_eq!(limits.kumomta.tenants["acme"], 7);
    assert_eq!(
        limits.kumomta.unknown_tenant,
        super::UnknownTenantSetting::Refuse
    );
    let too_big = serde_json::from_value::<IngestSettings>(json!({
        "kumomta": {"tenants": {"acme": 1u64 << 40}}
    }));
    assert!(too_big.unwrap_err().to_string().contains("acme"));
}
