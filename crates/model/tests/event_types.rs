//! Every event type parses from a realistic sample, bare and wrapped, and round-trips.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use common::{sample_event, wrapped};
use eventhose_model::{Category, Event, EventType};
use serde_json::Value;

#[test]
fn every_type_parses_bare_and_wrapped_and_round_trips() {
    for event_type in EventType::ALL {
        let fields = sample_event(event_type);
        let category = event_type.category();

        let bare_line = serde_json::to_vec(&fields).unwrap();
        let bare = Event::parse_ingest(&bare_line)
            .unwrap_or_else(|error| panic!("{event_type} (bare): {error}"));
        let wrapped_line = serde_json::to_vec(&wrapped(category.key(), &fields)).unwrap();
        let from_wrapper = Event::parse_ingest(&wrapped_line)
            .unwrap_or_else(|error| panic!("{event_type} (wrapped): {error}"));
        assert_eq!(bare, from_wrapper, "{event_type}: bare and wrapped differ");

        assert_eq!(bare.event_type(), event_type);
        assert_eq!(bare.category(), category);
        assert_eq!(bare.timestamp(), 1_460_989_507);
        assert_eq!(bare.event_id(), fields["event_id"].as_str().unwrap());
        // The sample is already in normalised form: nothing changes, except that a relay
        // event (documented without `recipient_domain`) gains the derived domain.
        let mut expected = fields.clone();
        if fields.contains_key("rcpt_to") && !fields.contains_key("recipient_domain") {
            expected.insert("recipient_domain".into(), "example.com".into());
        }
        assert_eq!(bare.fields(), &expected, "{event_type}: fields changed");

        let stored = bare.to_json_bytes();
        let reread = Event::from_stored(&stored)
            .unwrap_or_else(|error| panic!("{event_type} (stored): {error}"));
        assert_eq!(reread, bare, "{event_type}: storage round trip");

        let envelope = bare.to_envelope();
        let msys = envelope.as_object().unwrap();
        assert_eq!(msys.len(), 1);
        let inner = msys["msys"].as_object().unwrap();
        assert_eq!(inner.len(), 1);
        assert_eq!(
            inner.get(category.key()),
            Some(&Value::Object(expected)),
            "{event_type}: envelope"
        );
        assert_eq!(Event::from_value(envelope.clone()).unwrap(), bare);
        assert_eq!(bare.clone().into_envelope(), envelope);
    }
}

#[test]
fn every_type_parses_with_only_its_required_fields() {
    for event_type in EventType::ALL {
        let mut minimal =
            serde_json::json!({"type": event_type.as_str(), "timestamp": 1_460_989_507});
        let full = sample_event(event_type);
        for field in ["message_id", "rcpt_to", "bounce_class"] {
            if let Some(value) = full.get(field) {
                minimal[field] = value.clone();
            }
        }
        let event =
            Event::from_value(minimal).unwrap_or_else(|error| panic!("{event_type}: {error}"));
        assert!(!event.event_id().is_empty());
        assert_eq!(event.fields()["timestamp"], "1460989507");
    }
}

#[test]
fn typed_accessors_read_the_sample() {
    let bounce = Event::from_value(Value::Object(sample_event(EventType::Bounce))).unwrap();
    assert_eq!(bounce.message_id(), Some("000443ee14578172be22"));
    assert_eq!(bounce.rcpt_to(), Some("recipient@example.com"));
    assert_eq!(bounce.recipient_domain(), Some("example.com"));
    assert_eq!(bounce.subaccount_id(), Some(101));
    assert_eq!(bounce.get_u64("msg_size"), Some(1337));
    assert_eq!(bounce.get_u64("subject"), None);
    assert_eq!(bounce.bounce_class().map(|class| class.code), Some(10));
    assert_eq!(bounce.get_str("mailbox_provider"), Some("Gsuite"));

    let ab_test =
        Event::from_value(Value::Object(sample_event(EventType::AbTestCompleted))).unwrap();
    assert_eq!(ab_test.category(), Category::AbTestEvent);
    assert_eq!(ab_test.message_id(), None);
    assert_eq!(ab_test.bounce_class(), None);
    assert_eq!(ab_test.get("ab_test").unwrap()["id"], "password-reset");
}

#[test]
fn serialize_matches_the_storage_form() {
    let event = Event::from_value(Value::Object(sample_event(EventType::Click))).unwrap();
    assert_eq!(serde_json::to_vec(&event).unwrap(), event.to_json_bytes());
    let mut buffer = b"prefix".to_vec();
    event.write_json(&mut buffer);
    assert_eq!(&buffer[6..], event.to_json_bytes().as_slice());
    assert_eq!(event.clone().into_fields(), *event.fields());
}
