//! The validation and normalisation pipeline that turns a JSON value into event parts.

use serde_json::{Map, Value};

use crate::error::show_value;
use crate::normalize::{canonical_integer, nests_deeper_than, normalize_value, Canonical};
use crate::{
    bounce_class, content_event_id, envelope, field_kind, parse_timestamp, subaccount_id_from_text,
    Category, EventType, ParseError, MAX_EVENT_ID_LEN,
};

/// The deepest nesting accepted inside an event object (the object itself is level 1).
pub const MAX_DEPTH: usize = 32;

/// The parts of a validated event.
pub(crate) struct Validated {
    pub(crate) event_type: EventType,
    pub(crate) timestamp: i64,
    pub(crate) fields: Map<String, Value>,
}

/// Validates and normalises `value` (wrapped or bare form). An event without `event_id` gets
/// one derived from its content ([`content_event_id`]), appended after every other field.
pub(crate) fn validate(value: Value) -> Result<Validated, ParseError> {
    let (mut fields, envelope) = envelope::unwrap(value)?;
    let event_type = read_type(&fields)?;
    if let Some(envelope) = envelope {
        if event_type.category() != envelope {
            return Err(ParseError::CategoryMismatch {
                event_type,
                envelope,
            });
        }
    }
    let timestamp = normalize_timestamp(&mut fields)?;
    let has_id = normalize_event_id(&mut fields)?;
    normalize_known_fields(&mut fields)?;
    check_subaccount_id(&fields)?;
    classify_when_unclassified(&mut fields, event_type);
    check_required_fields(&fields, event_type)?;
    check_bounce_class(&fields)?;
    normalize_recipient(&mut fields);
    put_type_first(&mut fields);
    if !has_id {
        // Derived from the storage form without it, as the fast path does.
        let stored = serde_json::to_vec(&fields)?;
        fields.insert(
            "event_id".to_owned(),
            Value::String(content_event_id(&stored)),
        );
    }
    Ok(Validated {
        event_type,
        timestamp,
        fields,
    })
}

/// The storage form leads with `type` (the other fields keep their order), so a reader that
/// needs only the type finds it at the start of the bytes.
fn put_type_first(fields: &mut Map<String, Value>) {
    if fields.keys().next().is_some_and(|key| key == "type") {
        return;
    }
    if let Some(event_type) = fields.shift_remove("type") {
        let rest = std::mem::take(fields);
        fields.insert("type".to_owned(), event_type);
        fields.extend(rest);
    }
}

fn read_type(fields: &Map<String, Value>) -> Result<EventType, ParseError> {
    match fields.get("type") {
        None | Some(Value::Null) => Err(ParseError::MissingField { field: "type" }),
        Some(Value::String(name)) => Ok(name.parse()?),
        Some(other) => Err(ParseError::WrongKind {
            field: "type".to_owned(),
            expected: crate::FieldKind::Text,
            got: show_value(other),
        }),
    }
}

/// Reads `timestamp` and rewrites it as a string of whole unix seconds.
fn normalize_timestamp(fields: &mut Map<String, Value>) -> Result<i64, ParseError> {
    let value = match fields.get_mut("timestamp") {
        None | Some(Value::Null) => return Err(ParseError::MissingField { field: "timestamp" }),
        Some(value) => value,
    };
    let seconds = parse_timestamp(value)?;
    let canonical =
        matches!(value, Value::String(text) if canonical_integer(text) == Canonical::Already);
    if !canonical {
        *value = Value::String(seconds.to_string());
    }
    Ok(seconds)
}

/// Checks a given `event_id` (integers become strings); whether the event has one. A
/// `null` id is removed, to be derived once the rest is normal.
fn normalize_event_id(fields: &mut Map<String, Value>) -> Result<bool, ParseError> {
    let invalid = |reason: String| Err(ParseError::InvalidEventId { reason });
    match fields.get_mut("event_id") {
        None | Some(Value::Null) => {
            fields.shift_remove("event_id");
            Ok(false)
        }
        Some(Value::String(id)) if id.is_empty() => invalid("must not be empty".to_owned()),
        Some(Value::String(id))
            if id.len() > MAX_EVENT_ID_LEN && id.chars().count() > MAX_EVENT_ID_LEN =>
        {
            invalid(format!("longer than {MAX_EVENT_ID_LEN} characters"))
        }
        Some(Value::String(_)) => Ok(true),
        Some(value @ Value::Number(_)) if value.is_i64() || value.is_u64() => {
            *value = Value::String(value.to_string());
            Ok(true)
        }
        Some(other) => invalid(format!(
            "expected a string or an integer, got {}",
            show_value(other)
        )),
    }
}

/// True when a given string `event_id` passes [`normalize_event_id`]'s checks.
pub(crate) fn is_acceptable_event_id(id: &str) -> bool {
    !id.is_empty() && (id.len() <= MAX_EVENT_ID_LEN || id.chars().count() <= MAX_EVENT_ID_LEN)
}

/// Checks every known field against its kind (normalising in place), drops known fields set to
/// null, and bounds nesting depth. Unknown fields are kept as they are.
fn normalize_known_fields(fields: &mut Map<String, Value>) -> Result<(), ParseError> {
    let mut saw_known_null = false;
    for (name, value) in fields.iter_mut() {
        if matches!(name.as_str(), "type" | "timestamp" | "event_id") {
            continue;
        }
        let kind = field_kind(name);
        if value.is_null() {
            saw_known_null |= kind.is_some();
            continue;
        }
        if let Some(kind) = kind {
            normalize_value(name, kind, value)?;
        }
        if nests_deeper_than(value, MAX_DEPTH - 1) {
            return Err(ParseError::TooDeep {
                field: name.clone(),
                limit: MAX_DEPTH,
            });
        }
    }
    if saw_known_null {
        fields.retain(|name, value| !(value.is_null() && field_kind(name).is_some()));
    }
    Ok(())
}

/// What the type-specific checks need to know about an event's normalised fields.
pub(crate) trait FieldPresence {
    /// The field holds a non-empty string.
    fn has_text(&self, name: &str) -> bool;
    /// The field is present (known fields set to null have been dropped by now).
    fn has(&self, name: &str) -> bool;
}

impl FieldPresence for Map<String, Value> {
    fn has_text(&self, name: &str) -> bool {
        self.get(name)
            .and_then(Value::as_str)
            .is_some_and(|text| !text.is_empty())
    }

    fn has(&self, name: &str) -> bool {
        self.contains_key(name)
    }
}

/// Checks the fields the event's type cannot do without.
///
/// Message, engagement and unsubscribe events (except `sms_status`) need a `message_id`;
/// those and generation events need a recipient (`rcpt_to` or `rcpt_hash`), except
/// `out_of_band`; `bounce` and `out_of_band` need a `bounce_class`. Generation events are
/// not required to carry a `message_id`: their documented field list has none, since no
/// message was generated.
pub(crate) fn check_required_fields(
    fields: &impl FieldPresence,
    event_type: EventType,
) -> Result<(), ParseError> {
    let about_a_recipient = matches!(
        event_type.category(),
        Category::MessageEvent
            | Category::TrackEvent
            | Category::GenEvent
            | Category::UnsubscribeEvent
    ) && event_type != EventType::SmsStatus;
    let needs_message_id = about_a_recipient && event_type.category() != Category::GenEvent;
    if needs_message_id && !fields.has_text("message_id") {
        return Err(ParseError::MissingRequiredField {
            field: "message_id",
            event_type,
        });
    }
    let needs_recipient = about_a_recipient && event_type != EventType::OutOfBand;
    if needs_recipient && !fields.has_text("rcpt_to") && !fields.has_text("rcpt_hash") {
        return Err(ParseError::MissingRecipient { event_type });
    }
    let needs_bounce_class = matches!(event_type, EventType::Bounce | EventType::OutOfBand);
    if needs_bounce_class && !fields.has("bounce_class") {
        return Err(ParseError::MissingRequiredField {
            field: "bounce_class",
            event_type,
        });
    }
    Ok(())
}

/// A `bounce` or `out_of_band` that names no `bounce_class` but carries the reply
/// (`raw_reason`, and `error_code` when the text has no code) gets the class the reply tells:
/// a sender that logs replies but does not classify them. (The fast path leaves such a line
/// to this path: its required-field check fails.) Other types get theirs at ingest, by
/// [`crate::enrich_stored`]; these need it to be valid at all.
fn classify_when_unclassified(fields: &mut Map<String, Value>, event_type: EventType) {
    let needs_class = matches!(event_type, EventType::Bounce | EventType::OutOfBand);
    if !needs_class || fields.contains_key("bounce_class") {
        return;
    }
    let Some(Value::String(text)) = fields.get("raw_reason") else {
        return;
    };
    let code = fields
        .get("error_code")
        .and_then(Value::as_str)
        .and_then(|code| code.parse().ok());
    let class = crate::enrich::classify_reply(text, code);
    fields.insert("bounce_class".to_owned(), Value::String(class.to_string()));
}

/// Checks that a (normalised) `subaccount_id` is in the accepted range.
fn check_subaccount_id(fields: &Map<String, Value>) -> Result<(), ParseError> {
    match fields.get("subaccount_id") {
        Some(Value::String(id)) if subaccount_id_from_text(id).is_none() => {
            Err(ParseError::SubaccountOutOfRange { got: id.clone() })
        }
        _ => Ok(()),
    }
}

/// Checks that a (normalised) `bounce_class` is one of the documented codes.
fn check_bounce_class(fields: &Map<String, Value>) -> Result<(), ParseError> {
    let Some(value) = fields.get("bounce_class") else {
        return Ok(());
    };
    if value.as_str().is_some_and(names_a_bounce_class) {
        Ok(())
    } else {
        Err(ParseError::UnknownBounceClass {
            value: value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned),
        })
    }
}

/// True when the normalised `bounce_class` text is one of the documented codes.
pub(crate) fn names_a_bounce_class(code: &str) -> bool {
    code.parse::<u16>().ok().and_then(bounce_class).is_some()
}

/// Lower-cases `rcpt_to`, keeping the original in `raw_rcpt_to` and deriving
/// `recipient_domain` when those are absent.
fn normalize_recipient(fields: &mut Map<String, Value>) {
    let needs_raw = !fields.contains_key("raw_rcpt_to");
    let needs_domain = !fields.contains_key("recipient_domain");
    let Some(Value::String(rcpt_to)) = fields.get_mut("rcpt_to") else {
        return;
    };
    let original = lowercased(rcpt_to).map(|lowered| std::mem::replace(rcpt_to, lowered));
    let domain = needs_domain
        .then(|| domain_of(rcpt_to))
        .flatten()
        .map(str::to_owned);
    let raw = needs_raw.then(|| original.unwrap_or_else(|| rcpt_to.clone()));
    if let Some(raw) = raw {
        fields.insert("raw_rcpt_to".to_owned(), Value::String(raw));
    }
    if let Some(domain) = domain {
        fields.insert("recipient_domain".to_owned(), Value::String(domain));
    }
}

/// The lower-cased recipient, when `rcpt_to` has upper-case letters.
pub(crate) fn lowercased(rcpt_to: &str) -> Option<String> {
    rcpt_to
        .chars()
        .any(char::is_uppercase)
        .then(|| rcpt_to.to_lowercase())
}

/// The `recipient_domain` derived from a (lower-cased) `rcpt_to`: the non-empty text after
/// its last `@`.
pub(crate) fn domain_of(rcpt_to: &str) -> Option<&str> {
    rcpt_to
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|domain| !domain.is_empty())
}
