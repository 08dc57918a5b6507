//! A simulated event as handed to callers, and its NDJSON line forms.

use eventhose_model::EventType;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How an event is framed on its NDJSON line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineFormat {
    /// The bare event object, as the MTA logs it: `{"type":"delivery",…}`.
    #[default]
    Bare,
    /// Wrapped the way SparkPost webhooks and its Ingest API frame events:
    /// `{"msys":{"message_event":{…}}}`.
    Msys,
}

/// Writes the opening of a line in `format` for an event of `event_type`.
pub(crate) fn open_line(out: &mut Vec<u8>, format: LineFormat, event_type: EventType) {
    if format == LineFormat::Msys {
        out.extend_from_slice(b"{\"msys\":{\"");
        out.extend_from_slice(event_type.category().key().as_bytes());
        out.extend_from_slice(b"\":");
    }
}

/// Writes the closing of a line in `format`, including the newline.
pub(crate) fn close_line(out: &mut Vec<u8>, format: LineFormat) {
    if format == LineFormat::Msys {
        out.extend_from_slice(b"}}");
    }
    out.push(b'\n');
}

/// One simulated event.
#[derive(Debug, Clone, PartialEq)]
pub struct SimEvent {
    /// Its type.
    pub event_type: EventType,
    /// Its simulated time in unix seconds (the `timestamp` field, as a number).
    pub timestamp: i64,
    /// The bare event object (`{"type": …, "event_id": …, …}`).
    pub value: Value,
}

impl SimEvent {
    /// The webhook category key of the event (`message_event`, `track_event`, …).
    pub fn category(&self) -> &'static str {
        self.event_type.category().key()
    }

    /// The event's `message_id`, if present.
    pub fn message_id(&self) -> Option<&str> {
        self.value.get("message_id").and_then(Value::as_str)
    }

    /// One NDJSON line holding the bare event, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_line(&mut out, LineFormat::Bare);
        out
    }

    /// One NDJSON line holding the event in SparkPost's `msys` envelope, newline included.
    pub fn to_msys_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1056);
        self.write_line(&mut out, LineFormat::Msys);
        out
    }

    /// Appends the event as one NDJSON line in `format` to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>, format: LineFormat) {
        open_line(out, format, self.event_type);
        // Serialising a `Value` into a `Vec` cannot fail: there is no I/O and every map key is a string.
        if serde_json::to_writer(&mut *out, &self.value).is_err() {
            out.extend_from_slice(b"null");
        }
        close_line(out, format);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> SimEvent {
        SimEvent {
            event_type: EventType::Click,
            timestamp: 1_700_000_000,
            value: json!({"type": "click", "message_id": "00ab"}),
        }
    }

    #[test]
    fn bare_line_is_the_object_and_a_newline() {
        assert_eq!(
            event().to_line(),
            b"{\"type\":\"click\",\"message_id\":\"00ab\"}\n".to_vec()
        );
    }

    #[test]
    fn msys_line_wraps_in_the_category() {
        let line = event().to_msys_line();
        let parsed: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(parsed["msys"]["track_event"]["type"], "click");
        assert_eq!(line.last(), Some(&b'\n'));
    }

    #[test]
    fn message_id_accessor() {
        assert_eq!(event().message_id(), Some("00ab"));
        assert_eq!(event().category(), "track_event");
    }
}
