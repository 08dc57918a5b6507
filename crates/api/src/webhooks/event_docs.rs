//! `GET /webhooks/events/documentation` and `GET /webhooks/events/samples`, built from the
//! event model: categories, their event types, and each documented field's description and
//! sample value.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eventhose_model::{field_description, field_sample, Category, EventType};
use serde_json::{json, Map, Value};

use super::VIEW_GRANT;
use crate::auth::Caller;
use crate::error::ApiError;

/// The documentation never changes while the process runs: built once.
static DOCUMENTATION: LazyLock<Value> = LazyLock::new(build_documentation);

/// `GET /api/v1/webhooks/events/documentation`.
pub(crate) async fn documentation(caller: Caller) -> Result<Response, ApiError> {
    caller.require(VIEW_GRANT)?;
    Ok(Json(DOCUMENTATION.clone()).into_response())
}

/// `GET /api/v1/webhooks/events/samples?events=a,b` (every type when `events` is absent).
pub(crate) async fn samples(
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    caller.require(VIEW_GRANT)?;
    let types = requested_types(query.get("events").map(String::as_str))?;
    let results: Vec<Value> = types.into_iter().map(sample_batch_entry).collect();
    Ok(Json(json!({ "results": results })).into_response())
}

/// The types named in a comma list; unknown names are a 400 naming them.
fn requested_types(list: Option<&str>) -> Result<Vec<EventType>, ApiError> {
    let Some(list) = list.filter(|list| !list.trim().is_empty()) else {
        return Ok(EventType::ALL.to_vec());
    };
    let mut types = Vec::new();
    let mut unknown = Vec::new();
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        match name.parse::<EventType>() {
            Ok(event_type) if !types.contains(&event_type) => types.push(event_type),
            Ok(_) => {}
            Err(_) => unknown.push(name),
        }
    }
    if unknown.is_empty() {
        Ok(types)
    } else {
        Err(ApiError::bad_param(
            "events",
            format!("unknown event types: {}", unknown.join(", ")),
        ))
    }
}

fn build_documentation() -> Value {
    let categories: Map<String, Value> = Category::ALL
        .into_iter()
        .map(|category| {
            let events: Map<String, Value> = category
                .event_types()
                .map(|event_type| {
                    let doc = json!({
                        "display_name": event_type.display_name(),
                        "description": event_type.description(),
                        "event": field_docs(event_type),
                    });
                    (event_type.as_str().to_string(), doc)
                })
                .collect();
            let doc = json!({
                "display_name": category.display_name(),
                "description": category.description(),
                "events": events,
            });
            (category.key().to_string(), doc)
        })
        .collect();
    json!({ "results": categories })
}

/// Each documented field of `event_type` with its description and sample value:
/// `{"<field>": {"description": …, "sampleValue": …}}` (also used by the Events API).
pub(crate) fn field_docs(event_type: EventType) -> Map<String, Value> {
    event_type
        .documented_fields()
        .iter()
        .map(|field| {
            let doc = json!({
                "description": field_description(field).unwrap_or_default(),
                "sampleValue": sample_value(event_type, field),
            });
            (field.to_string(), doc)
        })
        .collect()
}

/// A field's sample in an event of `event_type` (`type` is the type itself).
fn sample_value(event_type: EventType, field: &str) -> Value {
    if field == "type" {
        json!(event_type.as_str())
    } else {
        field_sample(field).unwrap_or(Value::Null)
    }
}

/// A sample event of `event_type`: every documented field that has a sample (also used by
/// the Events API).
pub(crate) fn sample_event(event_type: EventType) -> Map<String, Value> {
    event_type
        .documented_fields()
        .iter()
        .filter_map(|field| {
            let value = sample_value(event_type, field);
            (!value.is_null()).then(|| (field.to_string(), value))
        })
        .collect()
}

/// `{"msys": {"<category>": {…sample event…}}}`.
fn sample_batch_entry(event_type: EventType) -> Value {
    json!({ "msys": { event_type.category().key(): sample_event(event_type) } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_covers_every_type_in_its_category() {
        let doc = &DOCUMENTATION["results"];
        assert_eq!(doc.as_object().unwrap().len(), Category::ALL.len());
        for event_type in EventType::ALL {
            let entry = &doc[event_type.category().key()]["events"][event_type.as_str()];
            assert_eq!(entry["display_name"], event_type.display_name());
            let fields = entry["event"].as_object().unwrap();
            assert_eq!(fields.len(), event_type.documented_fields().len());
            assert_eq!(fields["type"]["sampleValue"], event_type.as_str());
            assert!(fields["type"]["description"].as_str().unwrap().len() > 5);
        }
        assert_eq!(doc["message_event"]["display_name"], "Message Events");
    }

    #[test]
    fn samples_use_field_samples_and_the_envelope() {
        let entry = sample_batch_entry(EventType::Bounce);
        let bounce = &entry["msys"]["message_event"];
        assert_eq!(bounce["type"], "bounce");
        assert_eq!(
            bounce["bounce_class"],
            field_sample("bounce_class").unwrap()
        );
        let click = sample_batch_entry(EventType::Click);
        assert_eq!(click["msys"]["track_event"]["type"], "click");
    }

    #[test]
    fn requested_types_are_checked() {
        assert_eq!(requested_types(None).unwrap().len(), EventType::ALL.len());
        assert_eq!(
            requested_types(Some("delivery, bounce,delivery")).unwrap(),
            [EventType::Delivery, EventType::Bounce]
        );
        let err = requested_types(Some("delivery,nope,zip")).unwrap_err();
        let description = err.errors[0].description.clone().unwrap();
        assert!(description.contains("nope") && description.contains("zip"));
        assert_eq!(err.errors[0].param.as_deref(), Some("events"));
    }
}
