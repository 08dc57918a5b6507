//! Pins the documented field list of every event type, in order, as the webhook and
//! message-event documentation endpoints print them: `tests/documented_fields.txt` holds one
//! line per type, `type: field field …`, in `EventType::ALL` order.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use eventhose_model::EventType;

const EXPECTED: &str = include_str!("documented_fields.txt");

#[test]
fn every_types_documented_fields_are_as_pinned() {
    let actual: Vec<String> = EventType::ALL
        .iter()
        .map(|event_type| {
            format!(
                "{}: {}",
                event_type.as_str(),
                event_type.documented_fields().join(" ")
            )
        })
        .collect();
    let expected: Vec<&str> = EXPECTED.lines().collect();
    for (actual, expected) in actual.iter().zip(&expected) {
        assert_eq!(actual, expected);
    }
    assert_eq!(actual.len(), expected.len(), "one line per event type");
}
