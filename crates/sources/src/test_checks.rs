//! The check every source's tests make of the events it produces.

use eventhose_model::Event;
use serde_json::{Map, Value};

/// Every event passes the model's ingest validation (as a value and as an NDJSON line), uses
/// only its type's documented fields and those in `also`, and has a digits-only event id.
pub(crate) fn check_events(events: &[Map<String, Value>], also: &[&str]) {
    for fields in events {
        let event = Event::from_value(Value::Object(fields.clone()))
            .unwrap_or_else(|error| panic!("{error}: {fields:?}"));
        let line = serde_json::to_vec(fields).unwrap();
        Event::parse_ingest(&line).unwrap_or_else(|error| panic!("{error}: {fields:?}"));
        let documented = event.event_type().documented_fields();
        for name in fields.keys() {
            assert!(
                documented.contains(&name.as_str()) || also.contains(&name.as_str()),
                "{}: `{name}` is not documented",
                event.event_type()
            );
        }
        let id = fields["event_id"].as_str().unwrap();
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        assert_eq!(event.event_id(), id);
    }
}
