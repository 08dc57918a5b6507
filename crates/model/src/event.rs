//! The validated event and its conversions.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::validate::{validate, Validated};
use crate::{
    bounce_class, envelope, BounceClass, Category, EventIdGenerator, EventType, ParseError,
};

/// A validated, normalised event.
///
/// Its fields always include `type`, `timestamp` (a string of unix seconds) and `event_id`
/// (a string), besides every other field it was given, in their original order.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    event_type: EventType,
    timestamp: i64,
    fields: Map<String, Value>,
}

impl Event {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        self.event_type
    }

    /// The category of the event's type.
    pub fn category(&self) -> Category {
        self.event_type.category()
    }

    /// The event's id.
    pub fn event_id(&self) -> &str {
        // Validation guarantees a string `event_id`.
        self.get_str("event_id").unwrap_or_default()
    }

    /// When the event happened, in unix seconds (UTC).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// All fields, including `type`, `timestamp`, `event_id` and unknown ones.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// Consumes the event, returning its fields.
    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }

    /// The raw value of a field.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// The value of a field holding a string.
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }

    /// The value of a field holding a non-negative integer (as a numeric string or a number).
    pub fn get_u64(&self, field: &str) -> Option<u64> {
        match self.fields.get(field)? {
            Value::String(text) => text.parse().ok(),
            Value::Number(number) => number.as_u64(),
            _ => None,
        }
    }

    /// `message_id`: the message this event is about.
    pub fn message_id(&self) -> Option<&str> {
        self.get_str("message_id")
    }

    /// `rcpt_to`: the lower-cased recipient address.
    pub fn rcpt_to(&self) -> Option<&str> {
        self.get_str("rcpt_to")
    }

    /// `recipient_domain`: the domain part of the recipient address.
    pub fn recipient_domain(&self) -> Option<&str> {
        self.get_str("recipient_domain")
    }

    /// `subaccount_id`, when present.
    pub fn subaccount_id(&self) -> Option<u64> {
        self.get_u64("subaccount_id")
    }

    /// The documented class named by `bounce_class`, when present.
    pub fn bounce_class(&self) -> Option<&'static BounceClass> {
        self.get_u64("bounce_class")
            .and_then(|code| u16::try_from(code).ok())
            .and_then(bounce_class)
    }

    /// Parses one ingest line: SparkPost's wrapped form `{"msys":{"<category>":{...}}}` or the
    /// bare event object. Validates and normalises it; assigns an `event_id` from `ids` when absent.
    pub fn parse_ingest(line: &[u8], ids: &EventIdGenerator) -> Result<Event, ParseError> {
        Self::from_value(serde_json::from_slice(line)?, ids)
    }

    /// Builds an event from an already-parsed JSON value, with the same rules as
    /// [`parse_ingest`](Event::parse_ingest).
    pub fn from_value(value: Value, ids: &EventIdGenerator) -> Result<Event, ParseError> {
        validate(value, Some(ids)).map(Event::from)
    }

    /// The compact storage form: the bare, normalised event object as JSON bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out);
        out
    }

    /// Appends the storage form to `out`, for callers that reuse a buffer.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing a map of JSON values into memory has no failure mode: keys are strings and
        // a Vec accepts every write.
        let _infallible = serde_json::to_writer(out, &self.fields);
    }

    /// Re-reads the storage form written by [`to_json_bytes`](Event::to_json_bytes).
    ///
    /// The storage form was validated and normalised on the way in, so this only checks what
    /// [`Event`] itself relies on (`type`, `timestamp`, `event_id`) and leaves the other fields
    /// as they are: subscribers read every event, and a second full validation would double
    /// the pipeline's parsing cost. Use [`from_value`](Event::from_value) for untrusted input.
    pub fn from_stored(bytes: &[u8]) -> Result<Event, ParseError> {
        let fields = match serde_json::from_slice(bytes)? {
            Value::Object(fields) => fields,
            other => {
                return Err(ParseError::NotAnObject {
                    got: crate::error::json_type_name(&other),
                })
            }
        };
        let event_type: EventType = match fields.get("type") {
            Some(Value::String(name)) => name.parse()?,
            _ => return Err(ParseError::MissingField { field: "type" }),
        };
        let timestamp = match fields.get("timestamp") {
            Some(value) => crate::timestamp::parse_timestamp(value)?,
            None => return Err(ParseError::MissingField { field: "timestamp" }),
        };
        if !matches!(fields.get("event_id"), Some(Value::String(id)) if !id.is_empty()) {
            return Err(ParseError::MissingField { field: "event_id" });
        }
        Ok(Event {
            event_type,
            timestamp,
            fields,
        })
    }

    /// SparkPost's webhook envelope: `{"msys":{"<category key>":{...fields}}}`.
    pub fn to_envelope(&self) -> Value {
        envelope::wrap(self.category(), self.fields.clone())
    }

    /// Like [`to_envelope`](Event::to_envelope), without copying the fields.
    pub fn into_envelope(self) -> Value {
        envelope::wrap(self.category(), self.fields)
    }
}

impl From<Validated> for Event {
    fn from(validated: Validated) -> Self {
        Event {
            event_type: validated.event_type,
            timestamp: validated.timestamp,
            fields: validated.fields,
        }
    }
}

/// Serialises as the bare event object (the storage form).
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields.serialize(serializer)
    }
}
