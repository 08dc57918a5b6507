//! The ingest fast path: validating and normalising an event line without building a
//! `serde_json::Value` tree.
//!
//! The line's event object is read one level deep into `(key, raw JSON)` members. Each member
//! is checked against the field dictionary from its raw text and written to the storage form:
//! copied when it already is in the form the value-tree path would write, re-serialised or
//! rewritten otherwise (timestamps, integers given as numbers, boolean spellings, upper-case
//! recipients), dropped when a known field is null. The rules are those of
//! [`crate::validate`], which stays the reference: whenever this path meets an error or a case
//! it leaves alone (repeated keys, `"event_id": null`, odd envelopes), it returns `None` and
//! the caller runs the value-tree path, which then produces the same error or result it always
//! did. A line without `event_id` gets one derived from its storage form, as there.

mod canonical;
mod json_out;
mod raw_object;
mod seen_keys;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde_json::Value;

use crate::normalize::{canonical_integer, normalize_value, Canonical};
use crate::validate::{
    check_required_fields, domain_of, is_acceptable_event_id, lowercased, names_a_bounce_class,
    FieldPresence,
};
use crate::{
    content_event_id, parse_timestamp, parse_timestamp_str, subaccount_id_from_text, Category,
    EventType, FieldKind, FieldSpec,
};
use canonical::is_canonical_integer;
use json_out::{
    begin_member, begin_parsed_member, write_checked_value, write_quoted, write_raw, write_str,
};
use raw_object::{event_members, Key};
use seen_keys::SeenKeys;

/// A line accepted by the fast path.
pub(crate) struct Normalized {
    /// The event's type.
    pub(crate) event_type: EventType,
    /// The event's time in unix seconds.
    pub(crate) timestamp: i64,
    /// `subaccount_id`, when the line names one.
    pub(crate) subaccount: Option<u64>,
    /// The storage form: the bare, normalised event object.
    pub(crate) bytes: Vec<u8>,
}

/// Room for what normalisation may add to a line (an event id, `raw_rcpt_to`,
/// `recipient_domain`).
const ADDED_BYTES: usize = 160;

/// Normalises `line` into its storage form, or `None` when the value-tree path must decide.
pub(crate) fn normalize(line: &[u8]) -> Option<Normalized> {
    let text = std::str::from_utf8(line).ok()?;
    let (members, envelope) = event_members(text)?;
    let mut out = Vec::with_capacity(line.len() + ADDED_BYTES);
    out.push(b'{');
    let mut seen = SeenKeys::default();
    let mut facts = Facts::default();
    // `type` first, the others in their order (see `put_type_first` in validate.rs).
    let type_index = members.iter().position(|(key, _)| key.as_str() == "type");
    let order = type_index
        .into_iter()
        .chain((0..members.len()).filter(|&index| Some(index) != type_index));
    for index in order {
        let (key, raw) = &members[index];
        let spec = seen.insert(key.as_str())?;
        write_member(&mut out, &mut facts, key, spec, raw.get())?;
    }
    let event_type = facts.event_type?;
    let timestamp = facts.timestamp?;
    if envelope.is_some_and(|category: Category| category != event_type.category()) {
        return None;
    }
    check_required_fields(&facts, event_type).ok()?;
    if facts.has_bounce_class && !facts.bounce_class_is_known {
        return None;
    }
    let subaccount = match facts.subaccount {
        Some(Some(id)) => Some(id),
        Some(None) => return None,
        None => None,
    };
    if let Some(recipient) = &facts.recipient {
        if !facts.has_raw_rcpt_to {
            begin_member(&mut out, "raw_rcpt_to");
            write_str(&mut out, &recipient.original);
        }
        let domain = domain_of(&recipient.lowered);
        if let Some(domain) = domain.filter(|_| !facts.has_recipient_domain) {
            begin_member(&mut out, "recipient_domain");
            write_str(&mut out, domain);
        }
    }
    out.push(b'}');
    if !facts.has_event_id {
        // Derived from the object without it, then appended (see `validate`).
        let id = content_event_id(&out);
        out.pop();
        begin_member(&mut out, "event_id");
        write_str(&mut out, &id);
        out.push(b'}');
    }
    Some(Normalized {
        event_type,
        timestamp,
        subaccount,
        bytes: out,
    })
}

/// What the checks after the members need to know about them.
#[derive(Default)]
struct Facts<'a> {
    event_type: Option<EventType>,
    timestamp: Option<i64>,
    has_event_id: bool,
    has_message_id: bool,
    has_rcpt_hash: bool,
    has_bounce_class: bool,
    bounce_class_is_known: bool,
    has_raw_rcpt_to: bool,
    has_recipient_domain: bool,
    /// `subaccount_id` when given: the id, or `None` when out of range.
    subaccount: Option<Option<u64>>,
    recipient: Option<Recipient<'a>>,
}

/// `rcpt_to` as given and lower-cased.
struct Recipient<'a> {
    original: Cow<'a, str>,
    lowered: Cow<'a, str>,
}

impl Facts<'_> {
    /// Notes what a written known field means for the later checks; `written` is its JSON.
    fn note(&mut self, name: &str, written: &[u8]) {
        let is_text = written.len() > 2 && written.first() == Some(&b'"');
        match name {
            "message_id" => self.has_message_id = is_text,
            "rcpt_hash" => self.has_rcpt_hash = is_text,
            "raw_rcpt_to" => self.has_raw_rcpt_to = true,
            "recipient_domain" => self.has_recipient_domain = true,
            "bounce_class" => {
                self.has_bounce_class = true;
                self.bounce_class_is_known =
                    integer_text(written).is_some_and(names_a_bounce_class);
            }
            "subaccount_id" => {
                self.subaccount = Some(integer_text(written).and_then(subaccount_id_from_text));
            }
            _ => {}
        }
    }
}

/// The text of a normalised integer: a plain decimal string, without escapes.
fn integer_text(written: &[u8]) -> Option<&str> {
    written
        .strip_prefix(b"\"")
        .and_then(|rest| rest.strip_suffix(b"\""))
        .and_then(|code| std::str::from_utf8(code).ok())
}

impl FieldPresence for Facts<'_> {
    fn has_text(&self, name: &str) -> bool {
        match name {
            "message_id" => self.has_message_id,
            "rcpt_hash" => self.has_rcpt_hash,
            "rcpt_to" => self
                .recipient
                .as_ref()
                .is_some_and(|recipient| !recipient.lowered.is_empty()),
            _ => false,
        }
    }

    fn has(&self, name: &str) -> bool {
        match name {
            "bounce_class" => self.has_bounce_class,
            _ => self.has_text(name),
        }
    }
}

/// Checks, normalises and writes one member; known fields set to null are left out.
fn write_member<'a>(
    out: &mut Vec<u8>,
    facts: &mut Facts<'a>,
    key: &Key<'_>,
    spec: Option<&'static FieldSpec>,
    raw: &'a str,
) -> Option<()> {
    let name = key.as_str();
    match (name, spec) {
        ("type", _) => {
            facts.event_type = Some(string_content(raw)?.parse().ok()?);
            begin_parsed_member(out, key);
            write_raw(out, raw)
        }
        ("timestamp", _) => {
            begin_parsed_member(out, key);
            facts.timestamp = Some(write_timestamp(out, raw)?);
            Some(())
        }
        ("event_id", _) => {
            begin_parsed_member(out, key);
            facts.has_event_id = true;
            write_event_id(out, raw)
        }
        (_, None) => {
            begin_parsed_member(out, key);
            write_raw(out, raw)
        }
        (_, Some(_)) if raw == "null" => Some(()),
        ("rcpt_to", Some(_)) => {
            begin_parsed_member(out, key);
            let original = string_content(raw)?;
            let lowered = match lowercased(&original) {
                Some(lowered) => Cow::Owned(lowered),
                None => original.clone(),
            };
            write_str(out, &lowered);
            facts.recipient = Some(Recipient { original, lowered });
            Some(())
        }
        (_, Some(spec)) => {
            begin_parsed_member(out, key);
            let start = out.len();
            write_known(out, name, spec.kind, raw)?;
            facts.note(name, out.get(start..)?);
            Some(())
        }
    }
}

/// Writes a known field's value in its normalised form.
fn write_known(out: &mut Vec<u8>, name: &str, kind: FieldKind, raw: &str) -> Option<()> {
    let bytes = raw.as_bytes();
    match (kind, bytes.first()?) {
        (FieldKind::Text | FieldKind::Timestamp, b'"')
        | (FieldKind::Boolean, b't' | b'f')
        | (FieldKind::Object, b'{')
        | (FieldKind::Array, b'[') => write_raw(out, raw),
        (FieldKind::Integer, b'"') if !raw.contains('\\') => {
            match canonical_integer(raw.get(1..raw.len() - 1)?) {
                Canonical::Already => out.extend_from_slice(bytes),
                Canonical::Rewritten(text) => write_str(out, &text),
                Canonical::Invalid => return None,
            }
            Some(())
        }
        (FieldKind::Integer, _) if is_canonical_integer(bytes) => {
            write_quoted(out, raw);
            Some(())
        }
        _ => {
            let mut value: Value = serde_json::from_str(raw).ok()?;
            normalize_value(name, kind, &mut value).ok()?;
            write_checked_value(out, &value)
        }
    }
}

/// Writes `timestamp` as a string of unix seconds and returns them.
fn write_timestamp(out: &mut Vec<u8>, raw: &str) -> Option<i64> {
    match raw.as_bytes().first()? {
        b'"' => {
            let text = string_content(raw)?;
            let seconds = parse_timestamp_str(&text).ok()?;
            if canonical_integer(&text) == Canonical::Already {
                write_str(out, &text);
            } else {
                write_quoted(out, seconds);
            }
            Some(seconds)
        }
        b'-' | b'0'..=b'9' => {
            let value: Value = serde_json::from_str(raw).ok()?;
            let seconds = parse_timestamp(&value).ok()?;
            write_quoted(out, seconds);
            Some(seconds)
        }
        _ => None,
    }
}

/// Writes a given `event_id` as a string (integers are converted).
fn write_event_id(out: &mut Vec<u8>, raw: &str) -> Option<()> {
    match raw.as_bytes().first()? {
        b'"' => {
            let id = string_content(raw)?;
            is_acceptable_event_id(&id).then(|| write_str(out, &id))
        }
        b'-' | b'0'..=b'9' => {
            let value: Value = serde_json::from_str(raw).ok()?;
            (value.is_i64() || value.is_u64()).then(|| write_quoted(out, value))
        }
        _ => None,
    }
}

/// The text of a raw JSON string: borrowed when it has no escapes, decoded otherwise.
fn string_content(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str(raw).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}
