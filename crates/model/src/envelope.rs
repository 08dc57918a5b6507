//! Unwrapping SparkPost's `{"msys":{"<category>":{...}}}` envelope.

use serde_json::{Map, Value};

use crate::error::json_type_name;
use crate::{Category, ParseError};

/// The envelope's only top-level key.
pub(crate) const MSYS: &str = "msys";

/// Takes the event object out of `value`, which is either the wrapped or the bare form.
///
/// Returns the event object and, for the wrapped form, the category the envelope named. An
/// object without `type` but with `msys` is read as the wrapped form.
pub(crate) fn unwrap(value: Value) -> Result<(Map<String, Value>, Option<Category>), ParseError> {
    let outer = match value {
        Value::Object(outer) => outer,
        other => {
            return Err(ParseError::NotAnObject {
                got: json_type_name(&other),
            })
        }
    };
    if outer.contains_key("type") || !outer.contains_key(MSYS) {
        return Ok((outer, None));
    }
    if outer.len() != 1 {
        return Err(ParseError::InvalidEnvelope {
            reason: "the envelope must hold `msys` and nothing else",
        });
    }
    let Some((_, msys)) = outer.into_iter().next() else {
        return Err(ParseError::EmptyEnvelope);
    };
    let Value::Object(msys) = msys else {
        return Err(ParseError::InvalidEnvelope {
            reason: "`msys` must be an object",
        });
    };
    if msys.len() > 1 {
        return Err(ParseError::InvalidEnvelope {
            reason: "`msys` must hold exactly one event",
        });
    }
    let Some((key, event)) = msys.into_iter().next() else {
        return Err(ParseError::EmptyEnvelope);
    };
    let category = Category::from_key(&key).ok_or(ParseError::UnknownCategory { key })?;
    match event {
        Value::Object(event) => Ok((event, Some(category))),
        _ => Err(ParseError::InvalidEnvelope {
            reason: "the event under `msys` must be an object",
        }),
    }
}

/// Wraps `fields` as `{"msys":{"<category key>": fields}}`.
pub(crate) fn wrap(category: Category, fields: Map<String, Value>) -> Value {
    let mut inner = Map::with_capacity(1);
    inner.insert(category.key().to_owned(), Value::Object(fields));
    let mut outer = Map::with_capacity(1);
    outer.insert(MSYS.to_owned(), Value::Object(inner));
    Value::Object(outer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_and_wrapped_forms_unwrap() {
        let (event, category) = unwrap(json!({"type": "open", "msys": 1})).unwrap();
        assert_eq!(category, None);
        assert_eq!(event.len(), 2);

        let (event, category) = unwrap(json!({"msys": {"track_event": {"type": "open"}}})).unwrap();
        assert_eq!(category, Some(Category::TrackEvent));
        assert_eq!(Value::Object(event), json!({"type": "open"}));
    }

    #[test]
    fn malformed_envelopes_are_rejected() {
        let cases = [
            (json!({"msys": {}}), "no event in msys"),
            (json!({"msys": {}, "x": 1}), "nothing else"),
            (json!({"msys": []}), "must be an object"),
            (
                json!({"msys": {"track_event": {}, "gen_event": {}}}),
                "exactly one event",
            ),
            (
                json!({"msys": {"track_event": "open"}}),
                "must be an object",
            ),
            (
                json!({"msys": {"adaptive_event": {}}}),
                "unknown event category \"adaptive_event\"",
            ),
        ];
        for (value, expected) in cases {
            let error = unwrap(value.clone()).unwrap_err();
            assert_eq!(error.field(), Some("msys"), "{value}");
            assert!(error.to_string().contains(expected), "{value}: {error}");
        }
    }

    #[test]
    fn non_objects_are_rejected() {
        let error = unwrap(json!([{"msys": {}}])).unwrap_err();
        assert_eq!(error.to_string(), "expected a JSON object, got an array");
        assert_eq!(error.field(), None);
    }

    #[test]
    fn wrap_builds_the_envelope() {
        let mut fields = Map::new();
        fields.insert("type".into(), json!("delivery"));
        assert_eq!(
            wrap(Category::MessageEvent, fields),
            json!({"msys": {"message_event": {"type": "delivery"}}})
        );
    }
}
