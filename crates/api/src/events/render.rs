//! Shaping the answer: events in the Events API's form, and the `next` link.

use chrono::DateTime;
use eventhose_analytics::EventCursor;
use eventhose_model::parse_timestamp;
use serde_json::{Map, Value};

use super::cursor;
use super::params::Params;
use super::request::Window;
use super::BASE_PATH;

/// A time as the Events API writes `timestamp`: `2016-04-18T14:25:07.000+00:00`.
pub(super) fn iso_time(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// An event in the Events API's form: its fields as stored, `timestamp` in ISO form.
pub(super) fn event(mut fields: Map<String, Value>) -> Value {
    if let Some(timestamp) = fields.get_mut("timestamp") {
        if let Ok(seconds) = parse_timestamp(timestamp) {
            *timestamp = Value::String(iso_time(seconds));
        }
    }
    Value::Object(fields)
}

/// A stored event (the storage form) in the Events API's form.
pub(super) fn stored_event(stored: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Map<String, Value>>(stored).map(event)
}

/// A time as `from`/`to` are written in links.
fn link_time(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0)
        .map(|at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// `links.next`: the request's parameters but `cursor`, with `from` and `to` pinned to the
/// window the search resolved, and the next cursor.
pub(super) fn next_link(params: &Params, window: Window, next: &EventCursor) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.pairs() {
        if !matches!(name.as_str(), "cursor" | "from" | "to") {
            query.append_pair(name, value);
        }
    }
    query.append_pair("from", &link_time(window.from));
    query.append_pair("to", &link_time(window.to));
    query.append_pair("cursor", &cursor::encode(next));
    format!("{BASE_PATH}?{}", query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_take_the_iso_form_and_the_rest_is_kept() {
        let rendered = stored_event(
            r#"{"type":"delivery","timestamp":"1460989507","event_id":"1","num_retries":"2"}"#,
        )
        .unwrap();
        assert_eq!(rendered["timestamp"], "2016-04-18T14:25:07.000+00:00");
        assert_eq!(rendered["num_retries"], "2");
        let keys: Vec<_> = rendered.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["type", "timestamp", "event_id", "num_retries"]);
        assert!(stored_event("nope").is_err());
    }

    #[test]
    fn the_next_link_keeps_parameters_and_pins_the_window() {
        let params = Params::parse(Some(
            "events=bounce&cursor=initial&subjects=Black%20Friday&per_page=2&delimiter=%7C",
        ));
        let next = EventCursor {
            timestamp: 1_460_989_507,
            event_id: "9".into(),
            snapshot: 3,
        };
        let window = Window {
            from: 1_460_900_000,
            to: 1_461_000_000,
        };
        let link = next_link(&params, window, &next);
        let (path, query) = link.split_once('?').unwrap();
        assert_eq!(path, "/api/v1/events/message");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let expected = [
            ("events", "bounce".to_string()),
            ("subjects", "Black Friday".to_string()),
            ("per_page", "2".to_string()),
            ("delimiter", "|".to_string()),
            ("from", "2016-04-17T13:33:20Z".to_string()),
            ("to", "2016-04-18T17:20:00Z".to_string()),
            ("cursor", cursor::encode(&next)),
        ];
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(pairs, expected);
    }
}
