//! Reading a JSON object one level deep: its members in written order, each value left as raw
//! JSON text borrowed from the line.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::envelope::MSYS;
use crate::Category;

/// One member of an object: its key and its raw value.
pub(crate) type Member<'a> = (Key<'a>, &'a RawValue);

/// An object key: borrowed from the line when it was written there without escapes, decoded
/// otherwise.
pub(crate) struct Key<'a>(Cow<'a, str>);

impl Key<'_> {
    /// The key's text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the key was written without escapes and so, as a JSON string, needs none
    /// (JSON strings hold no raw quotes, backslashes or control characters).
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self.0, Cow::Borrowed(_))
    }
}

/// Members an event usually has, so the list rarely grows.
const TYPICAL_MEMBERS: usize = 48;

/// A JSON object's members in written order, repeated keys included.
pub(crate) struct RawObject<'a>(pub(crate) Vec<Member<'a>>);

impl<'a> RawObject<'a> {
    /// Reads `text`, which must hold exactly one JSON object.
    pub(crate) fn parse(text: &'a str) -> Option<RawObject<'a>> {
        serde_json::from_str(text).ok()
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(name, _)| name.as_str() == key)
    }
}

/// The members of the event on `line` and, for the wrapped form, the category its envelope
/// named.
///
/// Follows the rules of [`crate::envelope::unwrap`]: an object with `type`, or without `msys`,
/// is the bare form. `None` when the line is no JSON object, or the envelope is malformed or
/// repeats a key, which the value-tree path then reports or resolves.
pub(crate) fn event_members(line: &str) -> Option<(Vec<Member<'_>>, Option<Category>)> {
    if let Some((category, event)) = split_plain_envelope(line) {
        return Some((RawObject::parse(event)?.0, Some(category)));
    }
    let outer = RawObject::parse(line)?;
    if outer.has("type") || !outer.has(MSYS) {
        return Some((outer.0, None));
    }
    let [(_, msys)] = outer.0.as_slice() else {
        return None;
    };
    let msys = RawObject::parse(msys.get())?;
    let [(key, event)] = msys.0.as_slice() else {
        return None;
    };
    let category = Category::from_key(key.as_str())?;
    let event = RawObject::parse(event.get())?;
    Some((event.0, Some(category)))
}

/// Splits a line framed exactly as `{"msys":{"<category key>":` … `}}` (the way SparkPost and
/// the simulator write it) into the category and the text between, so the event is read once
/// instead of once per envelope level.
///
/// When that text is one JSON object, the line is the envelope holding it and nothing else,
/// whatever the text contains; when it is not, the line is no valid envelope either.
fn split_plain_envelope(line: &str) -> Option<(Category, &str)> {
    let is_json_whitespace = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let framed = line.trim_matches(is_json_whitespace);
    let rest = framed.strip_prefix("{\"msys\":{\"")?.strip_suffix("}}")?;
    let (key, event) = rest.split_once("\":")?;
    Some((Category::from_key(key)?, event))
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = RawObject<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(TYPICAL_MEMBERS));
        while let Some(key) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            members.push((key, value));
        }
        Ok(RawObject(members))
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(key)))
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(key.to_owned())))
    }

    fn visit_string<E>(self, key: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Members as owned `(key, raw value)` text, and the envelope's category.
    type Read = (Vec<(String, String)>, Option<Category>);

    fn read(text: &str) -> Option<Read> {
        let (members, category) = event_members(text)?;
        let members = members
            .into_iter()
            .map(|(key, value)| (key.as_str().to_owned(), value.get().to_owned()))
            .collect();
        Some((members, category))
    }

    #[test]
    fn bare_objects_keep_members_in_order_with_raw_values() {
        let (members, category) =
            read(r#"{ "type" : "open", "n": 1.50 , "o":{"a": [1]}, "n":null }"#).unwrap();
        assert_eq!(category, None);
        let expected = [
            ("type", r#""open""#),
            ("n", "1.50"),
            ("o", r#"{"a": [1]}"#),
            ("n", "null"),
        ];
        assert_eq!(members.len(), expected.len());
        for ((key, value), (expected_key, expected_value)) in members.iter().zip(expected) {
            assert_eq!(
                (key.as_str(), value.as_str()),
                (expected_key, expected_value)
            );
        }
    }

    #[test]
    fn escaped_keys_are_decoded() {
        let (members, _) = read(r#"{"ty\u0070e":"open"}"#).unwrap();
        assert_eq!(members[0].0, "type");
        let text = r#"{"ty\u0070e":"open","plain":1}"#;
        let (members, _) = event_members(text).unwrap();
        assert!(!members[0].0.is_plain());
        assert!(members[1].0.is_plain());
    }

    #[test]
    fn envelopes_are_unwrapped() {
        let (members, category) =
            read(r#"{"msys":{"track_event":{"type":"open","x":"y"}}}"#).unwrap();
        assert_eq!(category, Some(Category::TrackEvent));
        assert_eq!(members.len(), 2);
        let (members, category) = read(r#"{"msys":{"x":1},"type":"open"}"#).unwrap();
        assert_eq!(category, None);
        assert_eq!(members.len(), 2);
    }

    #[test]
    fn irregular_envelopes_and_non_objects_are_left_to_the_value_path() {
        for text in [
            r#"{"msys":{}}"#,
            r#"{"msys":{"track_event":{}},"other":1}"#,
            r#"{"msys":{"track_event":{},"track_event":{}}}"#,
            r#"{"msys":{"a_event":{}}}"#,
            r#"{"msys":{"track_event":[]}}"#,
            r#"{"msys":[]}"#,
            r#"{"msys":1,"msys":{"track_event":{}}}"#,
            "[]",
            "{} trailing",
            "{\"a\":}",
        ] {
            assert!(read(text).is_none(), "{text}");
        }
    }
}
