//! Malformed lines are rejected with an error naming the offending field.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use common::sample_event;
use eventhose_model::{Event, EventType, ParseError};
use serde_json::{json, Value};

fn reject(line: &[u8]) -> ParseError {
    match Event::parse_ingest(line) {
        Ok(event) => panic!("accepted {}: {event:?}", String::from_utf8_lossy(line)),
        Err(error) => error,
    }
}

fn reject_value(value: Value) -> ParseError {
    reject(value.to_string().as_bytes())
}

/// A valid delivery with `change` applied.
fn delivery_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut value = Value::Object(sample_event(EventType::Delivery));
    change(&mut value);
    value
}

fn remove(field: &'static str) -> impl FnOnce(&mut Value) {
    move |value| {
        value.as_object_mut().unwrap().shift_remove(field);
    }
}

#[track_caller]
fn assert_field(error: &ParseError, field: &str, fragment: &str) {
    assert_eq!(error.field(), Some(field), "{error}");
    let message = error.to_string();
    assert!(message.contains(fragment), "`{message}` lacks `{fragment}`");
}

#[test]
fn unknown_type() {
    let error = reject_value(delivery_with(|v| v["type"] = json!("delivered")));
    assert_field(&error, "type", "unknown event type \"delivered\"");
}

#[test]
fn type_of_wrong_kind() {
    let error = reject_value(delivery_with(|v| v["type"] = json!(3)));
    assert_field(&error, "type", "expected a string, got 3");
}

#[test]
fn category_mismatch() {
    let fields = sample_event(EventType::Click);
    let error = reject_value(json!({"msys": {"message_event": fields}}));
    assert_field(
        &error,
        "type",
        "`click` belongs to `track_event`, not `message_event`",
    );
}

#[test]
fn unknown_category() {
    let error = reject_value(json!({"msys": {"adaptive_event": {"type": "delivery"}}}));
    assert_field(&error, "msys", "adaptive_event");
}

#[test]
fn missing_type() {
    assert_field(
        &reject_value(delivery_with(remove("type"))),
        "type",
        "missing",
    );
    assert_field(
        &reject_value(delivery_with(|v| v["type"] = Value::Null)),
        "type",
        "missing",
    );
    let error = reject_value(json!({"msys": {"message_event": {"timestamp": 1}}}));
    assert_field(&error, "type", "missing");
}

#[test]
fn missing_timestamp() {
    assert_field(
        &reject_value(delivery_with(remove("timestamp"))),
        "timestamp",
        "missing",
    );
}

#[test]
fn missing_message_id() {
    let error = reject_value(delivery_with(remove("message_id")));
    assert_field(&error, "message_id", "required for `delivery` events");
    let error = reject_value(delivery_with(|v| v["message_id"] = json!("")));
    assert_field(&error, "message_id", "missing");
    let mut click = sample_event(EventType::Click);
    click.shift_remove("message_id");
    assert_field(&reject_value(Value::Object(click)), "message_id", "`click`");

    // Generation events are documented without a message_id: a recipient suffices.
    let failure = sample_event(EventType::GenerationFailure);
    assert!(!failure.contains_key("message_id"));
    assert!(Event::from_value(Value::Object(failure)).is_ok());
    let mut no_recipient = sample_event(EventType::GenerationRejection);
    no_recipient.shift_remove("rcpt_to");
    no_recipient.shift_remove("rcpt_hash");
    assert_field(
        &reject_value(Value::Object(no_recipient)),
        "rcpt_to",
        "`generation_rejection`",
    );
}

#[test]
fn missing_recipient() {
    let error = reject_value(delivery_with(|v| {
        let fields = v.as_object_mut().unwrap();
        fields.shift_remove("rcpt_to");
        fields.shift_remove("rcpt_hash");
    }));
    assert_field(&error, "rcpt_to", "rcpt_hash");

    // Either one is enough.
    let hashed_only = delivery_with(remove("rcpt_to"));
    assert!(Event::from_value(hashed_only).is_ok());
    // out_of_band may lack a recipient.
    let mut oob = sample_event(EventType::OutOfBand);
    oob.shift_remove("rcpt_to");
    oob.shift_remove("rcpt_hash");
    assert!(Event::from_value(Value::Object(oob)).is_ok());
}

#[test]
fn missing_bounce_class() {
    for event_type in [EventType::Bounce, EventType::OutOfBand] {
        let mut fields = sample_event(event_type);
        fields.shift_remove("bounce_class");
        // Without the reply either: nothing tells the class.
        fields.shift_remove("raw_reason");
        let error = reject_value(Value::Object(fields));
        assert_field(&error, "bounce_class", event_type.as_str());
    }
    let mut null_class = sample_event(EventType::Bounce);
    null_class.shift_remove("raw_reason");
    null_class.insert("bounce_class".into(), Value::Null);
    assert_field(
        &reject_value(Value::Object(null_class)),
        "bounce_class",
        "missing",
    );
}

#[test]
fn string_for_object() {
    let error = reject_value(delivery_with(|v| v["rcpt_meta"] = json!("{\"a\":1}")));
    assert_field(
        &error,
        "rcpt_meta",
        "expected an object, got \"{\\\"a\\\":1}\"",
    );
}

#[test]
fn object_for_text() {
    let error = reject_value(delivery_with(|v| v["subject"] = json!({"text": "hi"})));
    assert_field(
        &error,
        "subject",
        "expected a string, got {\"text\":\"hi\"}",
    );
}

#[test]
fn text_for_integer() {
    let error = reject_value(delivery_with(|v| v["num_retries"] = json!("abc")));
    assert_field(&error, "num_retries", "expected an integer, got \"abc\"");
    let mut bounce = sample_event(EventType::Bounce);
    bounce.insert("bounce_class".into(), json!("abc"));
    let error = reject_value(Value::Object(bounce));
    assert_eq!(
        error.to_string(),
        "field `bounce_class`: expected an integer, got \"abc\""
    );
}

#[test]
fn wrong_kinds_for_array_and_boolean() {
    let error = reject_value(delivery_with(|v| v["rcpt_tags"] = json!("vip")));
    assert_field(&error, "rcpt_tags", "expected an array");
    let error = reject_value(delivery_with(|v| v["open_tracking"] = json!("maybe")));
    assert_field(&error, "open_tracking", "expected a boolean");
}

#[test]
fn unknown_bounce_class() {
    let mut bounce = sample_event(EventType::Bounce);
    bounce.insert("bounce_class".into(), json!("11"));
    assert_field(
        &reject_value(Value::Object(bounce)),
        "bounce_class",
        "unknown bounce class \"11\"",
    );
    let error = reject_value(delivery_with(|v| v["bounce_class"] = json!(70_000)));
    assert_field(&error, "bounce_class", "\"70000\"");
}

#[test]
fn bad_timestamp() {
    for (timestamp, fragment) in [
        (json!("last tuesday"), "\"last tuesday\""),
        (json!(-5), "before 1970"),
        (json!("10000-01-01T00:00:00Z"), "expected unix seconds"),
        (json!(253_402_300_800_i64), "after year 9999"),
        (json!([1]), "[1]"),
    ] {
        let error = reject_value(delivery_with(|v| v["timestamp"] = timestamp));
        assert_field(&error, "timestamp", fragment);
    }
}

#[test]
fn bad_event_id() {
    let error = reject_value(delivery_with(|v| v["event_id"] = json!("")));
    assert_field(&error, "event_id", "empty");
    let error = reject_value(delivery_with(|v| v["event_id"] = json!("x".repeat(129))));
    assert_field(&error, "event_id", "longer than 128");
    let error = reject_value(delivery_with(|v| v["event_id"] = json!(["1"])));
    assert_field(&error, "event_id", "expected a string or an integer");
    let error = reject_value(delivery_with(|v| v["event_id"] = json!(1.5)));
    assert_field(&error, "event_id", "1.5");

    let longest = delivery_with(|v| v["event_id"] = json!("é".repeat(128)));
    assert!(Event::from_value(longest).is_ok());
}

#[test]
fn stored_form_needs_an_event_id() {
    let value = delivery_with(remove("event_id"));
    let error = Event::from_stored(value.to_string().as_bytes()).unwrap_err();
    assert_field(&error, "event_id", "missing");
}

#[test]
fn empty_msys() {
    let error = reject(br#"{"msys":{}}"#);
    assert_field(&error, "msys", "no event in msys");
}

#[test]
fn non_object_line() {
    for (line, got) in [
        (&b"[{\"msys\":{}}]"[..], "an array"),
        (b"\"delivery\"", "a string"),
        (b"42", "a number"),
        (b"null", "null"),
    ] {
        let error = reject(line);
        assert_eq!(error.field(), None);
        assert!(matches!(error, ParseError::NotAnObject { .. }));
        assert!(error.to_string().ends_with(got), "{error}");
    }
}

#[test]
fn invalid_json() {
    for line in [
        &b"{\"type\":"[..],
        b"",
        b"{type: 'delivery'}",
        b"{\"a\":1} trailing",
    ] {
        let error = reject(line);
        assert!(matches!(error, ParseError::InvalidJson(_)), "{error}");
        assert_eq!(error.field(), None);
    }
}

#[test]
fn nesting_deeper_than_32_levels() {
    // The event object is level 1, so 31 nested arrays reach level 32.
    let nested = |levels: usize| -> Value {
        let text = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        serde_json::from_str(&text).unwrap()
    };
    let deepest_allowed = delivery_with(|v| v["custom"] = nested(31));
    assert!(Event::from_value(deepest_allowed).is_ok());
    let error = reject_value(delivery_with(|v| v["custom"] = nested(32)));
    assert_field(&error, "custom", "deeper than 32");
    let error = reject_value(delivery_with(|v| v["rcpt_meta"] = json!({"a": nested(31)})));
    assert_field(&error, "rcpt_meta", "deeper than 32");

    // Far beyond the parser's own recursion limit: an error, not a crash.
    let line = format!(
        "{{\"type\":\"delivery\",\"x\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(matches!(
        reject(line.as_bytes()),
        ParseError::InvalidJson(_)
    ));
}
