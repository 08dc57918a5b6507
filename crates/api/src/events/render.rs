//! Shaping the answer: events in the Events API's form, and the `next` link.

use chrono::{DateTime, Utc};
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
        .map(|at| at.format(ISO_FORM).to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// The Events API's form of a time, in UTC with milliseconds and an explicit offset.
const ISO_FORM: &str = "%Y-%m-%dT%H:%M:%S%.3f+00:00";

/// The stored fields the Events API writes as ISO 8601 times. Its reference (events.apib,
/// Search for Message Events, Response 200) shows both so:
/// `"injection_time": "2016-04-18T14:25:07.000+00:00"` and
/// `"timestamp": "2016-04-18T14:25:07.000+00:00"`; its migration guide ("Getting Started with
/// the Events Search API") says `injection_time` and `timestamp` "are both ISO strings in UTC".
/// Webhook payloads keep SparkPost's webhook forms (`timestamp` in unix seconds,
/// `injection_time` as `2016-04-18T14:25:07.000Z`).
const TIME_FIELDS: [&str; 2] = ["timestamp", "injection_time"];

/// A stored time value in the Events API's form; `None` when it is not a time (left as it is).
pub(super) fn iso_value(value: &Value) -> Option<String> {
    if let Value::String(text) = value {
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Some(at.with_timezone(&Utc).format(ISO_FORM).to_string());
        }
    }
    parse_timestamp(value).ok().map(iso_time)
}

/// An event in the Events API's form: its fields as stored, times ([`TIME_FIELDS`]) in ISO
/// form.
pub(super) fn event(mut fields: Map<String, Value>) -> Value {
    for name in TIME_FIELDS {
        if let Some(value) = fields.get_mut(name) {
            if let Some(iso) = iso_value(value) {
                *value = Value::String(iso);
            }
        }
    }
    Value::Object(fields)
}

/// A stored event (the storage form) in the Events API's form.
pub(super) fn stored_event(stored: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Map<String, Value>>(stored).map(event)
}

/// [`stored_event`] as JSON text. The stored text is kept as it is but for the times' values:
/// a page holds up to 10,000 events, and reading each into a value tree to write it again was
/// most of the cost of rendering a large page.
pub(super) fn stored_event_text(stored: &str) -> Result<String, serde_json::Error> {
    let mut spans = Vec::with_capacity(TIME_FIELDS.len());
    for name in TIME_FIELDS {
        match eventhose_analytics::value_span(stored, name) {
            Some(span) => spans.push(span),
            // Absent is the common case (the name is not in the text at all); anything
            // else (repeated, or an event the scanner leaves to serde_json) takes the slow path.
            None if name != "timestamp" && !stored.contains(&format!("\"{name}\"")) => {}
            None => return serde_json::to_string(&stored_event(stored)?),
        }
    }
    spans.sort_by_key(|span| span.start);
    let mut text = String::with_capacity(stored.len() + 32);
    let mut copied = 0;
    for span in spans {
        text.push_str(&stored[copied..span.start]);
        let value = &stored[span.clone()];
        match iso_value(&serde_json::from_str(value)?) {
            Some(iso) => {
                text.push('"');
                text.push_str(&iso);
                text.push('"');
            }
            None => text.push_str(value),
        }
        copied = span.end;
    }
    text.push_str(&stored[copied..]);
    Ok(text)
}

/// The body of a search's answer: `{"results":[…],"total_count":N,"links":…}`, with the
/// events' JSON texts as they are.
pub(super) fn page_body(results: &[String], total_count: u64, links: &Value) -> String {
    let events: usize = results.iter().map(|r| r.len() + 1).sum();
    let mut body = String::with_capacity(events + 512);
    body.push_str(r#"{"results":["#);
    for (i, event) in results.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(event);
    }
    body.push_str(r#"],"total_count":"#);
    body.push_str(&total_count.to_string());
    body.push_str(r#","links":"#);
    body.push_str(&links.to_string());
    body.push('}');
    body
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

    /// events.apib's sample: `"injection_time": "2016-04-18T14:25:07.000+00:00"`, while the
    /// webhook form (what is stored) is `"2016-04-18T14:25:07.000Z"`.
    #[test]
    fn injection_time_takes_the_events_api_form() {
        let stored = r#"{"type":"click","injection_time":"2016-04-18T14:25:07.000Z","timestamp":"1460989507"}"#;
        for rendered in [
            stored_event(stored).unwrap(),
            serde_json::from_str(&stored_event_text(stored).unwrap()).unwrap(),
        ] {
            assert_eq!(rendered["injection_time"], "2016-04-18T14:25:07.000+00:00");
            assert_eq!(rendered["timestamp"], "2016-04-18T14:25:07.000+00:00");
        }
        let other = stored_event(r#"{"injection_time":"2016-04-18T16:25:07.250+02:00"}"#).unwrap();
        assert_eq!(other["injection_time"], "2016-04-18T14:25:07.250+00:00");
        let unix = stored_event(r#"{"injection_time":"1460989507"}"#).unwrap();
        assert_eq!(unix["injection_time"], "2016-04-18T14:25:07.000+00:00");
    }

    #[test]
    fn the_text_form_is_the_value_form() {
        for stored in [
            r#"{"type":"delivery","timestamp":"1460989507","event_id":"1","subject":"caf\u00e9 \"x\""}"#,
            r#"{"type":"open","timestamp":1460989507,"event_id":"2","n":[1,{"timestamp":"0"}]}"#,
            r#"{"type":"open","timestamp":"not a time","event_id":"3"}"#,
            r#"{"type":"open","event_id":"4"}"#,
            r#"{"type":"open","timestamp":"1","timestamp":"2","event_id":"5"}"#,
            r#" { "type" : "open" , "timestamp" : "1460989507" } "#,
            r#"{"injection_time":"2016-04-18T14:25:07.000Z","type":"open","timestamp":"1460989507"}"#,
            r#"{"type":"open","timestamp":"1460989507","injection_time":"2016-04-18T14:25:07.000Z"}"#,
            r#"{"type":"open","injection_time":"x","injection_time":"2016-04-18T14:25:07Z"}"#,
            r#"{"type":"open","injection_time":"not a time"}"#,
        ] {
            let text = stored_event_text(stored).unwrap();
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, stored_event(stored).unwrap(), "{stored}");
        }
        assert!(stored_event_text("nope").is_err());
        assert!(stored_event_text(r#"{"timestamp":"1""#).is_err());
    }

    #[test]
    fn a_page_body_is_one_json_answer() {
        let results = vec![
            stored_event_text(r#"{"type":"open","timestamp":"1460989507"}"#).unwrap(),
            r#"{"type":"click"}"#.to_owned(),
        ];
        let body = page_body(&results, 7, &serde_json::json!({ "next": "/x?cursor=a" }));
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["total_count"], 7);
        assert_eq!(parsed["links"]["next"], "/x?cursor=a");
        assert_eq!(
            parsed["results"][0]["timestamp"],
            "2016-04-18T14:25:07.000+00:00"
        );
        assert_eq!(parsed["results"][1]["type"], "click");
        let empty: Value =
            serde_json::from_str(&page_body(&[], 0, &serde_json::json!({}))).unwrap();
        assert_eq!(
            empty,
            serde_json::json!({ "results": [], "total_count": 0, "links": {} })
        );
    }

    #[test]
    fn the_next_link_keeps_parameters_and_pins_the_window() {
        let params = Params::parse(Some(
            "events=bounce&cursor=initial&subjects=Black%20Friday&per_page=2&delimiter=%7C",
        ));
        let next = EventCursor {
            timestamp: 1_460_989_507,
            seq: 9,
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
