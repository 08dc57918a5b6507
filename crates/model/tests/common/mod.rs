//! Shared helpers: a realistic sample event for every event type.

use eventhose_model::{field_sample, Category, EventType};
use serde_json::{json, Map, Value};

/// A realistic bare event of `event_type`: every documented field with its documented sample,
/// adjusted where the sample would not fit this type.
pub fn sample_event(event_type: EventType) -> Map<String, Value> {
    let mut fields = Map::new();
    for &name in event_type.documented_fields() {
        let value = field_sample(name).unwrap_or_else(|| panic!("no sample for `{name}`"));
        fields.insert(name.to_owned(), value);
    }
    fields.insert("type".into(), json!(event_type.as_str()));
    fields.insert("timestamp".into(), json!("1460989507"));
    let event_id = match event_type.category() {
        Category::AbTestEvent | Category::IngestEvent => {
            json!("0e5cf1fc-cb36-4c39-b695-3651b6ea6563")
        }
        _ => json!("92356927693813856"),
    };
    fields.insert("event_id".into(), event_id);
    if fields.contains_key("bounce_class") {
        let code = match event_type {
            EventType::Bounce => "10",
            EventType::Delay | EventType::OutOfBand => "1",
            _ => "25",
        };
        fields.insert("bounce_class".into(), json!(code));
    }
    fields
}

/// `fields` wrapped in the envelope of `category`.
#[allow(dead_code)] // not every test file wraps events
pub fn wrapped(category: &str, fields: &Map<String, Value>) -> Value {
    json!({ "msys": { category: fields } })
}
