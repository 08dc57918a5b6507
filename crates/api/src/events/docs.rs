//! `GET /events/message/documentation` and `GET /events/message/samples`: the webhooks' event
//! documentation and samples, limited to the types the Events API searches, in the Events
//! API's shape (one object per type; bare sample events; `timestamp` and `injection_time` in
//! the Events API's ISO form).

use std::sync::LazyLock;

use axum::extract::RawQuery;
use axum::Json;
use eventhose_analytics::SEARCHABLE_EVENT_TYPES;
use eventhose_model::EventType;
use serde_json::{json, Map, Value};

use super::params::Params;
use super::request::searchable_types;
use super::{render, GRANT};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::webhooks::event_docs::{field_docs, sample_event};

/// The documentation never changes while the process runs: built once.
static DOCUMENTATION: LazyLock<Value> = LazyLock::new(build_documentation);

/// The `timestamp` sample, in the form search results use.
const SAMPLE_TIMESTAMP: i64 = 1_460_989_507;

/// `GET /api/v1/events/message/documentation`.
pub(super) async fn documentation(caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(GRANT)?;
    Ok(Json(DOCUMENTATION.clone()))
}

/// `GET /api/v1/events/message/samples?events=a,b` (every searchable type when absent).
pub(super) async fn samples(
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.require(GRANT)?;
    let params = Params::parse(query.as_deref());
    let types = requested_types(&params)?;
    let results: Vec<Value> = types
        .into_iter()
        .map(|t| render::event(sample_event(t)))
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// The searchable types named by `events`; anything else is a 400 naming them.
fn requested_types(params: &Params) -> Result<Vec<EventType>, ApiError> {
    let (types, unknown) = searchable_types(params);
    if unknown.is_empty() {
        Ok(types)
    } else {
        Err(ApiError::bad_param(
            "events",
            format!("unknown message event types: {}", unknown.join(", ")),
        ))
    }
}

/// One object per type: `type` first, then each field, then `display_name` and
/// `event_description`, each as `{"description": …, "sampleValue": …}`.
fn type_documentation(event_type: EventType) -> Value {
    let mut fields = field_docs(event_type);
    if let Some(Value::Object(timestamp)) = fields.get_mut("timestamp") {
        timestamp.insert(
            "description".into(),
            json!("Event date and time, in ISO 8601 format (UTC)"),
        );
        timestamp.insert(
            "sampleValue".into(),
            json!(render::iso_time(SAMPLE_TIMESTAMP)),
        );
    }
    // The Events API's form of `injection_time` (events.apib's sample:
    // `"injection_time": "2016-04-18T14:25:07.000+00:00"`), not the webhooks' `…Z`.
    if let Some(Value::Object(injection)) = fields.get_mut("injection_time") {
        if let Some(iso) = injection.get("sampleValue").and_then(render::iso_value) {
            injection.insert("sampleValue".into(), json!(iso));
        }
    }
    let mut doc = Map::new();
    if let Some(type_doc) = fields.remove("type") {
        doc.insert("type".into(), type_doc);
    }
    doc.extend(fields);
    doc.insert(
        "display_name".into(),
        json!({
            "description": "Name of the event type, for display",
            "sampleValue": event_type.display_name(),
        }),
    );
    doc.insert(
        "event_description".into(),
        json!({
            "description": "What an event of this type records",
            "sampleValue": event_type.description(),
        }),
    );
    Value::Object(doc)
}

fn build_documentation() -> Value {
    let results: Vec<Value> = SEARCHABLE_EVENT_TYPES
        .iter()
        .copied()
        .map(type_documentation)
        .collect();
    json!({ "results": results })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documentation_has_type_first_and_iso_timestamps() {
        let doc = type_documentation(EventType::Bounce);
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "type");
        assert_eq!(doc["type"]["sampleValue"], "bounce");
        assert_eq!(
            doc["timestamp"]["sampleValue"],
            "2016-04-18T14:25:07.000+00:00"
        );
        assert_eq!(doc["display_name"]["sampleValue"], "Bounce");
        assert_eq!(
            doc["injection_time"]["sampleValue"],
            "2016-04-18T14:25:07.000+00:00"
        );
        assert!(doc["bounce_class"]["description"].as_str().unwrap().len() > 5);
        // Every documented field, plus display_name and event_description.
        assert_eq!(keys.len(), EventType::Bounce.documented_fields().len() + 2);
    }
}
