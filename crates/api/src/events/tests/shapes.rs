//! The values of a search result in SparkPost's shapes, for an event ingested in the webhook
//! form with numbers where SparkPost writes strings.

use eventhose_model::normalize_ingest_line;
use serde_json::json;

use super::{harness, insert};

/// events.apib, "Search for Message Events", Response 200 (abridged):
/// `"customer_id": "1"`, `"injection_time": "2016-04-18T14:25:07.000+00:00"`,
/// `"msg_size": "1337"`, `"num_retries": "2"`, `"queue_time": "12"`, `"subaccount_id": "101"`,
/// `"template_version": "1"`, `"timestamp": "2016-04-18T14:25:07.000+00:00"`,
/// `"transmission_id": "65832150921904138"`.
#[tokio::test]
async fn a_found_event_has_sparkposts_times_and_ids() {
    let h = harness().await;
    let at = h.t0 + 30;
    let line = json!({"msys": {"message_event": {
        "type": "delivery", "event_id": "92356927693813856", "message_id": "000443ee14578172be22",
        "timestamp": at, "delv_method": "esmtp", "rcpt_to": "shape@example.com",
        "injection_time": "2016-04-18T14:25:07.000Z", "customer_id": 1, "subaccount_id": 101,
        "template_version": 1, "transmission_id": 65_832_150_921_904_138_u64, "msg_size": 1337,
        "num_retries": 2, "queue_time": 12
    }}});
    let (_, stored) = normalize_ingest_line(line.to_string().as_bytes()).unwrap();
    insert(&h.store, &[stored]);

    let answer = h.search_as("recipients=shape@example.com", &h.root).await;
    let found = &answer.results()[0];
    assert_eq!(found["injection_time"], "2016-04-18T14:25:07.000+00:00");
    let timestamp = chrono::DateTime::from_timestamp(at, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S.000+00:00")
        .to_string();
    assert_eq!(found["timestamp"], timestamp.as_str());
    for (field, shown) in [
        ("customer_id", "1"),
        ("subaccount_id", "101"),
        ("template_version", "1"),
        ("transmission_id", "65832150921904138"),
        ("msg_size", "1337"),
        ("num_retries", "2"),
        ("queue_time", "12"),
        ("event_id", "92356927693813856"),
    ] {
        assert_eq!(found[field], shown, "{field}");
    }
}
