//! Events parsed straight into their storage form behave like events built from a value tree.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use common::{sample_event, wrapped};
use eventhose_model::{normalize_ingest_line, Event, EventType};
use serde_json::{json, Value};

/// The same line through the fast path (`parse_ingest`) and the value-tree path (`from_value`).
fn both_ways(line: &[u8]) -> (Event, Event) {
    let fast = Event::parse_ingest(line).unwrap();
    let value: Value = serde_json::from_slice(line).unwrap();
    let tree = Event::from_value(value).unwrap();
    (fast, tree)
}

fn keys(event: &Event) -> Vec<String> {
    event.fields().keys().cloned().collect()
}

#[test]
fn accessors_agree_with_the_value_tree_path() {
    let mut fields = sample_event(EventType::Bounce);
    fields.shift_remove("event_id");
    fields.insert("rcpt_to".into(), json!("Recipient@Example.COM"));
    fields.shift_remove("raw_rcpt_to");
    fields.insert("num_retries".into(), json!(2));
    let line = wrapped("message_event", &fields).to_string();
    let (fast, tree) = both_ways(line.as_bytes());

    assert_eq!(fast, tree);
    assert_eq!(keys(&fast), keys(&tree));
    assert_eq!(fast.event_type(), EventType::Bounce);
    assert_eq!(fast.timestamp(), 1_460_989_507);
    assert_eq!(
        fast.event_id(),
        tree.event_id(),
        "derived from the same content"
    );
    assert!(fast.event_id().bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(fast.rcpt_to(), Some("recipient@example.com"));
    assert_eq!(fast.get_str("raw_rcpt_to"), Some("Recipient@Example.COM"));
    assert_eq!(fast.recipient_domain(), tree.recipient_domain());
    assert_eq!(fast.message_id(), tree.message_id());
    assert_eq!(fast.get_u64("num_retries"), Some(2));
    assert_eq!(fast.subaccount_id(), tree.subaccount_id());
    assert_eq!(fast.bounce_class().map(|class| class.code), Some(10));
    assert_eq!(fast.get("rcpt_meta"), tree.get("rcpt_meta"));
    assert_eq!(fast.to_envelope(), tree.to_envelope());
}

#[test]
fn storage_form_conversions_agree() {
    let line = serde_json::to_vec(&sample_event(EventType::Click)).unwrap();
    let (fast, tree) = both_ways(&line);
    let stored = tree.to_json_bytes();

    assert_eq!(fast.to_json_bytes(), stored);
    assert_eq!(serde_json::to_vec(&fast).unwrap(), stored);
    let mut buffer = b"prefix".to_vec();
    fast.write_json(&mut buffer);
    assert_eq!(&buffer[6..], &stored[..]);
    assert_eq!(fast.clone(), fast);
    assert_eq!(Event::from_stored(&stored).unwrap(), fast);
    assert_eq!(fast.clone().into_json_bytes(), stored);
    assert_eq!(tree.clone().into_json_bytes(), stored);
    assert_eq!(fast.clone().into_envelope(), tree.clone().into_envelope());
    let fast_fields = fast.into_fields();
    let tree_fields = tree.into_fields();
    assert!(fast_fields.keys().eq(tree_fields.keys()));
    assert_eq!(fast_fields, tree_fields);
}

#[test]
fn normalize_ingest_line_returns_the_storage_form() {
    let line = br#"{"msys":{"track_event":{"type":"open","timestamp":1460989507,
        "message_id":"m1","rcpt_to":"A@B.example","event_id":"e1"}}}"#;
    let (event_type, bytes) = normalize_ingest_line(line).unwrap();
    assert_eq!(event_type, EventType::Open);
    let stored: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        stored,
        json!({"type": "open", "timestamp": "1460989507", "message_id": "m1",
            "rcpt_to": "a@b.example", "event_id": "e1", "raw_rcpt_to": "A@B.example",
            "recipient_domain": "b.example"})
    );
    let reparsed = Event::parse_ingest(line).unwrap();
    assert_eq!(reparsed.to_json_bytes(), bytes);
}

#[test]
fn normalize_ingest_line_rejects_like_parse_ingest() {
    for line in [
        &br#"{"type":"delivery","timestamp":1}"#[..],
        br#"{"type":"open","timestamp":"soon","message_id":"m","rcpt_to":"a@b"}"#,
        br#"{"msys":{"track_event":{"type":"delivery"}}}"#,
        b"not json",
    ] {
        let expected = Event::parse_ingest(line).unwrap_err();
        let error = normalize_ingest_line(line).unwrap_err();
        assert_eq!(error.to_string(), expected.to_string());
        assert_eq!(error.field(), expected.field());
    }
}
