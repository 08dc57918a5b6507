//! Writing the storage form's JSON: member keys, strings, numbers as strings, and raw values
//! copied as they are when they already are in `serde_json`'s form.

use std::fmt::Display;
use std::io::Write;

use serde_json::Value;

use super::canonical::{shape, Shape};
use super::raw_object::Key;
use crate::normalize::nests_deeper_than;
use crate::validate::MAX_DEPTH;

/// Starts the member `name`, with the comma that separates it from an earlier one.
///
/// `out` holds the object written so far, starting with its `{`.
pub(crate) fn begin_member(out: &mut Vec<u8>, name: &str) {
    if out.len() > 1 {
        out.push(b',');
    }
    write_str(out, name);
    out.push(b':');
}

/// Like [`begin_member`] for a key read from the line, copied as it is when it needs no escapes.
pub(crate) fn begin_parsed_member(out: &mut Vec<u8>, key: &Key<'_>) {
    if !key.is_plain() {
        return begin_member(out, key.as_str());
    }
    if out.len() > 1 {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(key.as_str().as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes `text` as a JSON string, escaped the way `serde_json` escapes it.
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        write_value(out, text);
    }
}

/// Writes `value`'s text as a JSON string; for numbers, whose text needs no escapes.
pub(crate) fn write_quoted(out: &mut Vec<u8>, value: impl Display) {
    // Writing into a Vec cannot fail.
    let _infallible = write!(out, "\"{value}\"");
}

/// Writes a raw JSON value: copied when it is already in `serde_json`'s form, re-serialised
/// otherwise. `None` when it nests too deeply or does not read back as a value.
pub(crate) fn write_raw(out: &mut Vec<u8>, raw: &str) -> Option<()> {
    let bytes = raw.as_bytes();
    // The common case, a string without escapes, is canonical as it stands.
    if bytes.first() == Some(&b'"') && !bytes.contains(&b'\\') {
        out.extend_from_slice(bytes);
        return Some(());
    }
    match shape(bytes) {
        Shape::Canonical => {
            out.extend_from_slice(raw.as_bytes());
            Some(())
        }
        Shape::Rewrite => {
            let value: Value = serde_json::from_str(raw).ok()?;
            write_checked_value(out, &value)
        }
        Shape::TooDeep => None,
    }
}

/// Writes a parsed field value after the nesting check every field gets.
pub(crate) fn write_checked_value(out: &mut Vec<u8>, value: &Value) -> Option<()> {
    if nests_deeper_than(value, MAX_DEPTH - 1) {
        return None;
    }
    write_value(out, value);
    Some(())
}

fn write_value<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Serialising strings and JSON values into a Vec cannot fail: map keys are strings and
    // a Vec accepts every write.
    let _infallible = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(write: impl FnOnce(&mut Vec<u8>) -> Option<()>) -> Option<String> {
        let mut out = Vec::new();
        write(&mut out)?;
        String::from_utf8(out).ok()
    }

    #[test]
    fn strings_are_escaped_like_serde_json() {
        for text in ["plain", "é😀", "quote\"back\\slash", "tab\tbell\u{7}", ""] {
            let mut out = Vec::new();
            write_str(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text}");
        }
    }

    #[test]
    fn members_are_separated_by_commas() {
        let mut out = b"{".to_vec();
        begin_member(&mut out, "a");
        write_quoted(&mut out, 12);
        begin_member(&mut out, "b\"");
        out.extend_from_slice(b"true");
        let (keys, _) = super::super::raw_object::event_members(r#"{"c":0,"d\u000a":1}"#).unwrap();
        begin_parsed_member(&mut out, &keys[0].0);
        out.extend_from_slice(b"null");
        begin_parsed_member(&mut out, &keys[1].0);
        out.extend_from_slice(b"1}");
        assert_eq!(out, br#"{"a":"12","b\"":true,"c":null,"d\n":1}"#);
    }

    #[test]
    fn raw_values_are_copied_or_rewritten() {
        assert_eq!(
            written(|out| write_raw(out, r#"{"a":[1,"x"]}"#)).as_deref(),
            Some(r#"{"a":[1,"x"]}"#)
        );
        assert_eq!(
            written(|out| write_raw(out, r#"{ "a" : [1.50, "\u0078"], "a": 2 }"#)).as_deref(),
            Some(r#"{"a":2}"#)
        );
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(written(|out| write_raw(out, &deep)), None);
        let deep_spaced = format!("{}{}", "[ ".repeat(40), "]".repeat(40));
        assert_eq!(written(|out| write_raw(out, &deep_spaced)), None);
        assert_eq!(written(|out| write_raw(out, "1e400")), None);
    }
}
