//! Recognising raw JSON text that is already exactly what `serde_json` would write for it, so
//! the storage form can copy the bytes instead of parsing and re-serialising them.
//!
//! `serde_json` writes compact JSON: no whitespace, strings with only the escapes it must use
//! (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t` and lower-case `\u00xx` for other control
//! characters), integers in plain decimal, objects without repeated keys (a map keeps one value
//! per key). Text in that form reads back to a value that serialises to the same bytes.

use crate::validate::MAX_DEPTH;

/// What a raw JSON value needs before it goes into the storage form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Already in `serde_json`'s form: copy the bytes.
    Canonical,
    /// Valid, but written differently: parse and re-serialise it.
    Rewrite,
    /// Arrays/objects nest deeper than an event field may.
    TooDeep,
}

/// Container levels a field value may have (the event object around it is level 1).
const MAX_NESTING: usize = MAX_DEPTH - 1;

/// Keys one object may hold for the repeated-key check (a linear scan); larger objects are
/// rewritten, which keeps the check cheap on any input.
const MAX_CHECKED_KEYS: usize = 32;

/// Integer digits that always fit an `i64`, so `serde_json` keeps the number an integer.
const MAX_INTEGER_DIGITS: usize = 18;

/// Inspects one complete raw JSON value, as `serde_json` validated it (no surrounding
/// whitespace).
pub(crate) fn shape(raw: &[u8]) -> Shape {
    let mut depth = 0usize;
    // Bit `d` is set while the container at level `d` is an object.
    let mut objects = 0u64;
    // Keys of the open objects, innermost last; `key_starts[d]` is where level `d`'s begin.
    let mut keys: Vec<&[u8]> = Vec::new();
    let mut key_starts = [0usize; MAX_NESTING + 1];
    let mut previous = b' ';
    let mut at = 0;
    while let Some(&byte) = raw.get(at) {
        match byte {
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Shape::TooDeep;
                }
                if byte == b'{' {
                    objects |= 1 << depth;
                    key_starts[depth] = keys.len();
                } else {
                    objects &= !(1 << depth);
                }
                at += 1;
            }
            b'}' | b']' => {
                if byte == b'}' {
                    keys.truncate(key_starts[depth]);
                }
                depth = depth.saturating_sub(1);
                at += 1;
            }
            b',' | b':' => at += 1,
            b'"' => {
                let Some(end) = canonical_string_end(raw, at) else {
                    return Shape::Rewrite;
                };
                let in_object = objects & (1 << depth) != 0;
                if in_object && matches!(previous, b'{' | b',') {
                    // Canonical strings encode each text one way, so equal keys have equal bytes.
                    let key = &raw[at..end];
                    let siblings = &keys[key_starts[depth]..];
                    if siblings.len() >= MAX_CHECKED_KEYS || siblings.contains(&key) {
                        return Shape::Rewrite;
                    }
                    keys.push(key);
                }
                at = end;
            }
            b'-' | b'0'..=b'9' => {
                let end = number_end(raw, at);
                if !is_canonical_integer(&raw[at..end]) {
                    return Shape::Rewrite;
                }
                at = end;
            }
            b't' | b'n' => at += 4,
            b'f' => at += 5,
            // Whitespace: `serde_json` writes none.
            _ => return Shape::Rewrite,
        }
        previous = byte;
    }
    Shape::Canonical
}

/// The index just past the string opening at `start` when all its escapes are the ones
/// `serde_json` writes; `None` otherwise.
fn canonical_string_end(raw: &[u8], start: usize) -> Option<usize> {
    let mut at = start + 1;
    loop {
        match *raw.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => at += canonical_escape_len(raw.get(at + 1..)?)?,
            _ => at += 1,
        }
    }
}

/// The length of the escape starting with the backslash before `rest` when it is the escape
/// `serde_json` writes for its character.
fn canonical_escape_len(rest: &[u8]) -> Option<usize> {
    match rest.first()? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => match *rest.get(1..5)? {
            [b'0', b'0', high @ (b'0' | b'1'), low @ (b'0'..=b'9' | b'a'..=b'f')] => {
                let low = if low.is_ascii_digit() {
                    low - b'0'
                } else {
                    low - b'a' + 10
                };
                let code = (high - b'0') * 16 + low;
                // These five have short escapes.
                (!matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)).then_some(6)
            }
            _ => None,
        },
        _ => None,
    }
}

/// The index just past the number starting at `start`.
fn number_end(raw: &[u8], start: usize) -> usize {
    raw[start..]
        .iter()
        .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        .map_or(raw.len(), |length| start + length)
}

/// True for `0` and for `-?[1-9][0-9]*` of at most [`MAX_INTEGER_DIGITS`] digits: numbers
/// `serde_json` reads as integers and writes back unchanged.
pub(crate) fn is_canonical_integer(number: &[u8]) -> bool {
    if number == b"0" {
        return true;
    }
    let digits = number.strip_prefix(b"-").unwrap_or(number);
    matches!(digits.first(), Some(b'1'..=b'9'))
        && digits.len() <= MAX_INTEGER_DIGITS
        && digits.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(text: &str) -> Shape {
        shape(text.as_bytes())
    }

    #[test]
    fn compact_values_are_canonical() {
        for text in [
            r#""plain""#,
            r#""""#,
            r#""é and 😀""#,
            r#""tab\there \"quoted\" back\\slash \u0007 \u001f""#,
            "0",
            "-12",
            "123456789012345678",
            "true",
            "false",
            "null",
            "[]",
            "{}",
            r#"{"a":1,"b":[true,null,{"a":"x"}],"c":{"a":{}}}"#,
            r#"[{"k":1},{"k":2}]"#,
            r#"{"a\n":1,"a":2}"#,
        ] {
            assert_eq!(shape_of(text), Shape::Canonical, "{text}");
        }
    }

    #[test]
    fn values_serde_json_writes_differently_need_a_rewrite() {
        for text in [
            r#""a\/b""#,
            r#""\u0041""#,
            r#""\u001F""#,
            r#""\u0009""#,
            r#""\ud83d\ude00""#,
            "1.5",
            "1e3",
            "-0",
            "007",
            "1234567890123456789",
            "[1, 2]",
            "{\"a\": 1}",
            "{\"a\":1,\"a\":2}",
            "[{\"a\":1},{\"b\":{\"c\":1,\"c\":1}}]",
        ] {
            assert_eq!(shape_of(text), Shape::Rewrite, "{text}");
        }
    }

    #[test]
    fn keys_repeated_only_across_objects_are_fine() {
        assert_eq!(
            shape_of(r#"{"a":{"a":{"a":1}},"b":{"a":2}}"#),
            Shape::Canonical
        );
        assert_eq!(shape_of(r#"{"a":{"b":1},"a":2}"#), Shape::Rewrite);
    }

    #[test]
    fn objects_with_many_keys_are_rewritten() {
        let object = |count: usize| {
            let members: Vec<String> = (0..count).map(|i| format!("\"k{i}\":{i}")).collect();
            format!("{{{}}}", members.join(","))
        };
        assert_eq!(shape_of(&object(MAX_CHECKED_KEYS)), Shape::Canonical);
        assert_eq!(shape_of(&object(MAX_CHECKED_KEYS + 1)), Shape::Rewrite);
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert_eq!(shape_of(&nested(MAX_NESTING)), Shape::Canonical);
        assert_eq!(shape_of(&nested(MAX_NESTING + 1)), Shape::TooDeep);
        let objects = format!(
            "{}1{}",
            "{\"a\":".repeat(MAX_NESTING + 1),
            "}".repeat(MAX_NESTING + 1)
        );
        assert_eq!(shape_of(&objects), Shape::TooDeep);
    }

    #[test]
    fn canonical_integers() {
        for number in ["0", "7", "-7", "100", "999999999999999999"] {
            assert!(is_canonical_integer(number.as_bytes()), "{number}");
        }
        for number in [
            "",
            "-",
            "-0",
            "01",
            "1.0",
            "1e2",
            "+1",
            "9999999999999999999",
        ] {
            assert!(!is_canonical_integer(number.as_bytes()), "{number}");
        }
    }
}
