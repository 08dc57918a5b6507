//! The validated event and its conversions.

use std::fmt;
use std::sync::OnceLock;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::raw_ingest::{self, Normalized};
use crate::validate::{validate, Validated};
use crate::{bounce_class, envelope, BounceClass, Category, EventType, IngestScope, ParseError};

/// A validated, normalised event.
///
/// Its fields always include `type`, `timestamp` (a string of unix seconds) and `event_id`
/// (a string), besides every other field it was given, in their original order.
///
/// An event parsed by [`parse_ingest`](Event::parse_ingest) holds its storage form and builds
/// the field map only when a field is asked for, so ingest that only stores events never pays
/// for the map. Equality compares type, timestamp and fields.
#[derive(Clone)]
pub struct Event {
    event_type: EventType,
    timestamp: i64,
    /// The fields; filled from `stored` on first use when the event came from the fast path.
    fields: OnceLock<Map<String, Value>>,
    /// The storage form, when the event was parsed straight into it.
    stored: Option<Vec<u8>>,
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
        self.fields
            .get_or_init(|| fields_of_stored(self.stored.as_deref().unwrap_or_default()))
    }

    /// Consumes the event, returning its fields.
    pub fn into_fields(self) -> Map<String, Value> {
        match self.fields.into_inner() {
            Some(fields) => fields,
            None => fields_of_stored(self.stored.as_deref().unwrap_or_default()),
        }
    }

    /// The raw value of a field.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields().get(field)
    }

    /// The value of a field holding a string.
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }

    /// The value of a field holding a non-negative integer (as a numeric string or a number).
    pub fn get_u64(&self, field: &str) -> Option<u64> {
        match self.get(field)? {
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
    /// bare event object. Validates and normalises it; an event without `event_id` gets one derived
    /// from its content ([`crate::content_event_id`]).
    ///
    /// Common lines are normalised straight into the storage form; the rest (and every
    /// rejected line) go through [`from_value`](Event::from_value), with the same outcome.
    /// Callers that only need the storage form can use [`crate::normalize_ingest_line`].
    pub fn parse_ingest(line: &[u8]) -> Result<Event, ParseError> {
        match raw_ingest::normalize(line) {
            Some(normalized) => Ok(Event::from(normalized)),
            None => Self::from_value(serde_json::from_slice(line)?),
        }
    }

    /// Builds an event from an already-parsed JSON value, with the same rules as
    /// [`parse_ingest`](Event::parse_ingest).
    pub fn from_value(value: Value) -> Result<Event, ParseError> {
        validate(value).map(Event::from)
    }

    /// The compact storage form: the bare, normalised event object as JSON bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        match &self.stored {
            Some(stored) => stored.clone(),
            None => {
                let mut out = Vec::with_capacity(512);
                self.write_json(&mut out);
                out
            }
        }
    }

    /// Like [`to_json_bytes`](Event::to_json_bytes), without copying a storage form the event
    /// already holds.
    pub fn into_json_bytes(self) -> Vec<u8> {
        match self.stored {
            Some(stored) => stored,
            None => self.to_json_bytes(),
        }
    }

    /// Appends the storage form to `out`, for callers that reuse a buffer.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match &self.stored {
            Some(stored) => out.extend_from_slice(stored),
            // Writing a map of JSON values into memory has no failure mode: keys are strings
            // and a Vec accepts every write.
            None => {
                let _infallible = serde_json::to_writer(out, self.fields());
            }
        }
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
            fields: OnceLock::from(fields),
            stored: None,
        })
    }

    /// SparkPost's webhook envelope: `{"msys":{"<category key>":{...fields}}}`.
    pub fn to_envelope(&self) -> Value {
        envelope::wrap(self.category(), self.fields().clone())
    }

    /// Like [`to_envelope`](Event::to_envelope), without copying the fields.
    pub fn into_envelope(self) -> Value {
        let category = self.category();
        envelope::wrap(category, self.into_fields())
    }
}

/// Reads the fields back from a storage form this crate wrote.
fn fields_of_stored(stored: &[u8]) -> Map<String, Value> {
    // The fast path writes a JSON object that validation bounded in depth, so reading it back
    // cannot fail; an empty map would only stand in for a bug, never for user input.
    serde_json::from_slice(stored).unwrap_or_default()
}

impl From<Validated> for Event {
    fn from(validated: Validated) -> Self {
        Event {
            event_type: validated.event_type,
            timestamp: validated.timestamp,
            fields: OnceLock::from(validated.fields),
            stored: None,
        }
    }
}

impl From<Normalized> for Event {
    fn from(normalized: Normalized) -> Self {
        Event {
            event_type: normalized.event_type,
            timestamp: normalized.timestamp,
            fields: OnceLock::new(),
            stored: Some(normalized.bytes),
        }
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.event_type == other.event_type
            && self.timestamp == other.timestamp
            && self.fields() == other.fields()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &self.event_type)
            .field("timestamp", &self.timestamp)
            .field("fields", self.fields())
            .finish()
    }
}

/// Serialises as the bare event object (the storage form).
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields().serialize(serializer)
    }
}

/// Validates and normalises one ingest line straight into its storage form (the bytes
/// [`Event::to_json_bytes`] would return), for callers that store events without looking at
/// their fields. Same rules, results and errors as [`Event::parse_ingest`].
pub fn normalize_ingest_line(line: &[u8]) -> Result<(EventType, Vec<u8>), ParseError> {
    normalize_scoped_line(line, &IngestScope::UNBOUNDED)
}

/// Like [`normalize_ingest_line`], then checks the line against what the request may carry
/// (its key's subaccount, the accepted time window) and stamps the key's subaccount into a
/// line that names none.
pub fn normalize_scoped_line(
    line: &[u8],
    scope: &IngestScope,
) -> Result<(EventType, Vec<u8>), ParseError> {
    let (event_type, timestamp, subaccount, mut bytes) = match raw_ingest::normalize(line) {
        Some(normalized) => (
            normalized.event_type,
            normalized.timestamp,
            normalized.subaccount,
            normalized.bytes,
        ),
        None => {
            let event = Event::from_value(serde_json::from_slice(line)?)?;
            let subaccount = event.subaccount_id();
            (
                event.event_type(),
                event.timestamp(),
                subaccount,
                event.into_json_bytes(),
            )
        }
    };
    scope.admit(timestamp, subaccount, &mut bytes)?;
    Ok((event_type, bytes))
}
