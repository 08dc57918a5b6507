//! Accepted lines are normalised: timestamps, numeric kinds, booleans, recipients, ids.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use common::sample_event;
use eventhose_model::{Event, EventType};
use serde_json::{json, Value};

fn parse(value: Value) -> Event {
    Event::from_value(value).unwrap_or_else(|error| panic!("rejected: {error}"))
}

fn delivery_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut value = Value::Object(sample_event(EventType::Delivery));
    change(&mut value);
    value
}

#[test]
fn timestamp_forms_normalise_to_the_same_seconds() {
    let forms = [
        json!(1_460_989_507),
        json!("1460989507"),
        json!("1460989507.874"),
        json!(1_460_989_507.5),
        json!("2016-04-18T14:25:07.000Z"),
        json!("2016-04-18T16:25:07.000+02:00"),
        json!("2016-04-18T14:25:07.000+00:00"),
    ];
    for form in forms {
        let event = parse(delivery_with(|v| v["timestamp"] = form.clone()));
        assert_eq!(event.timestamp(), 1_460_989_507, "{form}");
        assert_eq!(event.get_str("timestamp"), Some("1460989507"), "{form}");
    }
    let later = parse(delivery_with(|v| {
        v["timestamp"] = json!("2016-04-18T14:25:08Z")
    }));
    assert_eq!(later.timestamp(), 1_460_989_508);
}

#[test]
fn unknown_fields_are_preserved_in_order_after_type() {
    let line = br#"{"zeta":{"nested":[1,null,{"x":true}]},"type":"open","node_name":"mta1",
        "alpha":null,"message_id":"000443ee14578172be22","timestamp":1460989507,
        "binding_group":"default","rcpt_to":"a@b.example","event_id":"77","Mixed":1.5}"#;
    let event = Event::parse_ingest(line).unwrap();
    let keys: Vec<_> = event.fields().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "type",
            "zeta",
            "node_name",
            "alpha",
            "message_id",
            "timestamp",
            "binding_group",
            "rcpt_to",
            "event_id",
            "Mixed",
            "raw_rcpt_to",
            "recipient_domain"
        ]
    );
    assert_eq!(
        event.get("zeta"),
        Some(&json!({"nested": [1, null, {"x": true}]}))
    );
    assert_eq!(event.get("alpha"), Some(&Value::Null));
    assert_eq!(event.get("Mixed"), Some(&json!(1.5)));
    assert_eq!(event.get_str("binding_group"), Some("default"));
}

#[test]
fn numeric_kinds_are_normalised_to_strings() {
    let event = parse(delivery_with(|v| {
        v["customer_id"] = json!(1521);
        v["num_retries"] = json!(0);
        v["msg_size"] = json!("+3328");
        v["outbound_tls"] = json!(-1);
        v["transmission_id"] = json!(65_832_150_921_904_138_u64);
        v["queue_time"] = json!("0379");
        v["scheduled_time"] = json!(1_588_348_800);
    }));
    assert_eq!(event.get_str("customer_id"), Some("1521"));
    assert_eq!(event.get_str("num_retries"), Some("0"));
    assert_eq!(event.get_str("msg_size"), Some("3328"));
    assert_eq!(event.get_str("outbound_tls"), Some("-1"));
    assert_eq!(event.get_str("transmission_id"), Some("65832150921904138"));
    assert_eq!(event.get_str("queue_time"), Some("379"));
    assert_eq!(event.get_str("scheduled_time"), Some("1588348800"));
    assert_eq!(event.get_u64("customer_id"), Some(1521));
    assert_eq!(event.get_u64("outbound_tls"), None);

    let sms = parse(json!({"type": "sms_status", "timestamp": 1, "dr_latency": 0.25}));
    assert_eq!(sms.get_str("dr_latency"), Some("0.25"));
}

#[test]
fn boolean_spellings_are_normalised() {
    let event = parse(delivery_with(|v| {
        v["open_tracking"] = json!("false");
        v["click_tracking"] = json!(1);
        v["amp_enabled"] = json!(0);
    }));
    assert_eq!(event.get("open_tracking"), Some(&json!(false)));
    assert_eq!(event.get("click_tracking"), Some(&json!(true)));
    assert_eq!(event.get("amp_enabled"), Some(&json!(false)));
}

#[test]
fn null_known_fields_are_dropped_keeping_order() {
    let event = parse(delivery_with(|v| {
        v["subject"] = Value::Null;
        v["rcpt_meta"] = Value::Null;
    }));
    assert_eq!(event.get("subject"), None);
    assert_eq!(event.get("rcpt_meta"), None);
    let mut expected: Vec<_> = sample_event(EventType::Delivery).keys().cloned().collect();
    expected.retain(|key| key != "subject" && key != "rcpt_meta" && key != "type");
    expected.insert(0, "type".to_owned());
    let keys: Vec<_> = event.fields().keys().cloned().collect();
    assert_eq!(keys, expected);
}

#[test]
fn event_id_is_derived_when_absent_and_kept_when_given() {
    let without = json!({"type": "relay_injection", "timestamp": 1});
    let first = Event::from_value(without.clone()).unwrap();
    let second = Event::from_value(without).unwrap();
    let first_id: u64 = first.event_id().parse().unwrap();
    assert_eq!(
        second.event_id(),
        first.event_id(),
        "the same line, the same id"
    );
    assert_eq!(first.get_str("event_id"), Some(first.event_id()));
    let later = Event::from_value(json!({"type": "relay_injection", "timestamp": 2})).unwrap();
    assert_ne!(later.event_id(), first.event_id());

    let given =
        Event::from_value(json!({"type": "relay_injection", "timestamp": 1, "event_id": "abc-1"}))
            .unwrap();
    assert_eq!(given.event_id(), "abc-1");
    let numeric = Event::from_value(
        json!({"type": "relay_injection", "timestamp": 1, "event_id": 48_575_267_555_968_293_u64}),
    )
    .unwrap();
    assert_eq!(numeric.event_id(), "48575267555968293");
    assert_eq!(numeric.get_str("event_id"), Some("48575267555968293"));
    let null_id =
        Event::from_value(json!({"type": "relay_injection", "timestamp": 1, "event_id": null}))
            .unwrap();
    assert_eq!(
        null_id.event_id().parse::<u64>().unwrap(),
        first_id,
        "null is absent"
    );
}

#[test]
fn recipient_is_lowercased_and_completed() {
    let event = parse(json!({
        "type": "injection", "timestamp": 1, "message_id": "m1",
        "rcpt_to": "Jane.Doe@Example.COM"
    }));
    assert_eq!(event.rcpt_to(), Some("jane.doe@example.com"));
    assert_eq!(event.get_str("raw_rcpt_to"), Some("Jane.Doe@Example.COM"));
    assert_eq!(event.recipient_domain(), Some("example.com"));

    let given = parse(json!({
        "type": "injection", "timestamp": 1, "message_id": "m1",
        "rcpt_to": "Jane@Example.com", "raw_rcpt_to": "JANE@EXAMPLE.COM",
        "recipient_domain": "Example.com"
    }));
    assert_eq!(given.rcpt_to(), Some("jane@example.com"));
    assert_eq!(given.get_str("raw_rcpt_to"), Some("JANE@EXAMPLE.COM"));
    assert_eq!(given.recipient_domain(), Some("Example.com"));

    let no_at = parse(json!({
        "type": "injection", "timestamp": 1, "message_id": "m1", "rcpt_to": "local-only"
    }));
    assert_eq!(no_at.get_str("raw_rcpt_to"), Some("local-only"));
    assert_eq!(no_at.recipient_domain(), None);

    let hashed = parse(json!({
        "type": "injection", "timestamp": 1, "message_id": "m1", "rcpt_hash": "2aae6c35"
    }));
    assert_eq!(hashed.rcpt_to(), None);
    assert_eq!(hashed.get("raw_rcpt_to"), None);
    assert_eq!(hashed.recipient_domain(), None);
}

#[test]
fn normalisation_is_stable_through_storage() {
    let event = parse(json!({
        "msys": {"message_event": {
            "type": "delay", "timestamp": "2016-04-18T14:25:07.000Z", "message_id": "m1",
            "rcpt_to": "Bob@Example.org", "bounce_class": 1, "num_retries": 2,
            "open_tracking": "true", "custom": {"k": [1, 2]}
        }}
    }));
    let stored = event.to_json_bytes();
    let reread = Event::from_stored(&stored).unwrap();
    assert_eq!(reread, event);
    assert_eq!(reread.to_json_bytes(), stored);
    assert_eq!(event.get_str("bounce_class"), Some("1"));
    assert_eq!(
        event.bounce_class().map(|class| class.name),
        Some("Undetermined")
    );
}

#[test]
fn the_storage_form_leads_with_the_type() {
    for event_type in EventType::ALL {
        let mut value = sample_event(event_type);
        // Put `type` last in the input: the storage form still leads with it.
        if let Some(kind) = value.shift_remove("type") {
            value.insert("type".to_owned(), kind);
        }
        let line = serde_json::to_vec(&value).unwrap();
        let stored = Event::parse_ingest(&line).unwrap().to_json_bytes();
        let prefix = format!("{{\"type\":\"{}\",", event_type.as_str());
        assert!(stored.starts_with(prefix.as_bytes()), "{event_type}");
    }
}
