//! Why an ingest line or stored event was rejected.

use crate::{Category, EventType, FieldKind, UnknownEventType};

/// A rejected event; the message names the offending field where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not valid JSON (or nest deeper than the JSON parser allows).
    #[error("invalid JSON: {0}")]
    InvalidJson(#[from] serde_json::Error),
    /// The JSON value is not an object.
    #[error("expected a JSON object, got {got}")]
    NotAnObject {
        /// The JSON type that was found instead.
        got: &'static str,
    },
    /// A `{"msys":{}}` envelope: SparkPost's ping, carrying no event.
    #[error("field `msys`: no event in msys")]
    EmptyEnvelope,
    /// The `msys` envelope is malformed.
    #[error("field `msys`: {reason}")]
    InvalidEnvelope {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The key under `msys` is not a known category.
    #[error("field `msys`: unknown event category {key:?}")]
    UnknownCategory {
        /// The unrecognised key.
        key: String,
    },
    /// The event's type belongs to another category than the envelope's key.
    #[error("field `type`: event type `{event_type}` belongs to `{}`, not `{envelope}`", event_type.category())]
    CategoryMismatch {
        /// The event's type.
        event_type: EventType,
        /// The category named by the envelope.
        envelope: Category,
    },
    /// `type` names no known event type.
    #[error("field `type`: {0}")]
    UnknownEventType(#[from] UnknownEventType),
    /// A field every event needs (`type`, `timestamp`; `event_id` when re-reading storage) is absent.
    #[error("field `{field}`: missing")]
    MissingField {
        /// The missing field.
        field: &'static str,
    },
    /// A field required by the event's type is absent, null or empty.
    #[error("field `{field}`: missing, required for `{event_type}` events")]
    MissingRequiredField {
        /// The missing field.
        field: &'static str,
        /// The event's type.
        event_type: EventType,
    },
    /// Neither `rcpt_to` nor `rcpt_hash` is present.
    #[error(
        "field `rcpt_to`: missing (nor is there a `rcpt_hash`), required for `{event_type}` events"
    )]
    MissingRecipient {
        /// The event's type.
        event_type: EventType,
    },
    /// A known field holds a value of the wrong kind.
    #[error("field `{field}`: expected {}, got {got}", expected.with_article())]
    WrongKind {
        /// The field.
        field: String,
        /// The kind it must have.
        expected: FieldKind,
        /// A short JSON rendering of the offending value.
        got: String,
    },
    /// `bounce_class` is not one of the documented codes.
    #[error("field `bounce_class`: unknown bounce class {value:?}")]
    UnknownBounceClass {
        /// The offending value.
        value: String,
    },
    /// `timestamp` cannot be read or is out of range.
    #[error("field `timestamp`: {reason}, got {got}")]
    InvalidTimestamp {
        /// What is wrong with it.
        reason: &'static str,
        /// A short JSON rendering of the offending value.
        got: String,
    },
    /// `event_id` is empty, too long or of the wrong type.
    #[error("field `event_id`: {reason}")]
    InvalidEventId {
        /// What is wrong with it.
        reason: String,
    },
    /// `subaccount_id` is outside `0..=`[`crate::MAX_SUBACCOUNT_ID`].
    #[error("field `subaccount_id`: {got} is not a subaccount id (0 to {max})", max = crate::MAX_SUBACCOUNT_ID)]
    SubaccountOutOfRange {
        /// The offending value, as normalised.
        got: String,
    },
    /// The line names another subaccount than the sender's key belongs to.
    #[error("field `subaccount_id`: the key belongs to subaccount {own} and cannot ingest events of {}", account_name(*.named))]
    ForeignSubaccount {
        /// The account the line names (0 = primary).
        named: u64,
        /// The key's subaccount.
        own: u64,
    },
    /// `timestamp` lies outside the window ingest accepts.
    #[error(
        "field `timestamp`: {} is outside the accepted window {} to {} (older than the longest retention, or further ahead than the allowed clock skew)",
        rfc3339(*.timestamp), rfc3339(*.earliest), rfc3339(*.latest)
    )]
    OutsideWindow {
        /// The event's time, unix seconds.
        timestamp: i64,
        /// The earliest accepted time.
        earliest: i64,
        /// The latest accepted time.
        latest: i64,
    },
    /// A field's value nests deeper than [`crate::MAX_DEPTH`].
    #[error("field `{field}`: nested deeper than {limit} levels")]
    TooDeep {
        /// The top-level field holding the deep value.
        field: String,
        /// The depth limit.
        limit: usize,
    },
}

impl ParseError {
    /// The name of the offending field, when the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParseError::InvalidJson(_) | ParseError::NotAnObject { .. } => None,
            ParseError::EmptyEnvelope
            | ParseError::InvalidEnvelope { .. }
            | ParseError::UnknownCategory { .. } => Some("msys"),
            ParseError::CategoryMismatch { .. } | ParseError::UnknownEventType(_) => Some("type"),
            ParseError::MissingField { field } | ParseError::MissingRequiredField { field, .. } => {
                Some(field)
            }
            ParseError::MissingRecipient { .. } => Some("rcpt_to"),
            ParseError::WrongKind { field, .. } | ParseError::TooDeep { field, .. } => Some(field),
            ParseError::UnknownBounceClass { .. } => Some("bounce_class"),
            ParseError::InvalidTimestamp { .. } | ParseError::OutsideWindow { .. } => {
                Some("timestamp")
            }
            ParseError::SubaccountOutOfRange { .. } | ParseError::ForeignSubaccount { .. } => {
                Some("subaccount_id")
            }
            ParseError::InvalidEventId { .. } => Some("event_id"),
        }
    }
}

/// "the primary account" or "subaccount N", for error messages.
fn account_name(id: u64) -> String {
    match id {
        0 => "the primary account".to_owned(),
        id => format!("subaccount {id}"),
    }
}

/// Unix seconds as RFC 3339 UTC text, for error messages.
fn rfc3339(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |time| time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// Longest rendering of an offending value kept in an error message, in bytes.
const MAX_SHOWN_VALUE: usize = 60;

/// Renders `value` as compact JSON for an error message, cut to a readable length.
pub(crate) fn show_value(value: &serde_json::Value) -> String {
    let mut shown = value.to_string();
    if shown.len() > MAX_SHOWN_VALUE {
        let mut cut = MAX_SHOWN_VALUE;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push('…');
    }
    shown
}

/// The JSON type name of `value`, for error messages.
pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_kind_message_names_field_and_value() {
        let error = ParseError::WrongKind {
            field: "bounce_class".into(),
            expected: FieldKind::Integer,
            got: show_value(&json!("abc")),
        };
        assert_eq!(
            error.to_string(),
            "field `bounce_class`: expected an integer, got \"abc\""
        );
        assert_eq!(error.field(), Some("bounce_class"));
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        let shown = show_value(&json!("é".repeat(100)));
        assert!(shown.ends_with('…'));
        assert!(shown.len() <= MAX_SHOWN_VALUE + '…'.len_utf8());
    }

    #[test]
    fn category_mismatch_names_both_categories() {
        let error = ParseError::CategoryMismatch {
            event_type: EventType::Click,
            envelope: Category::MessageEvent,
        };
        let message = error.to_string();
        assert!(message.contains("track_event") && message.contains("message_event"));
        assert_eq!(error.field(), Some("type"));
    }
}
