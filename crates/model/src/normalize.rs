//! Checking one known field's value against its kind and normalising it in place.

use serde_json::Value;

use crate::error::show_value;
use crate::{FieldKind, ParseError};

/// Checks `value` against `kind`, rewriting it to the normalised form where needed.
///
/// Integers and decimals become decimal strings, boolean spellings become JSON booleans and
/// integer timestamps become strings; anything else of the wrong shape is an error naming `field`.
pub(crate) fn normalize_value(
    field: &str,
    kind: FieldKind,
    value: &mut Value,
) -> Result<(), ParseError> {
    let normalized = match (kind, &*value) {
        (FieldKind::Text, Value::String(_))
        | (FieldKind::Timestamp, Value::String(_))
        | (FieldKind::Boolean, Value::Bool(_))
        | (FieldKind::Object, Value::Object(_))
        | (FieldKind::Array, Value::Array(_)) => return Ok(()),
        (FieldKind::Integer, Value::String(text)) => match canonical_integer(text) {
            Canonical::Already => return Ok(()),
            Canonical::Rewritten(text) => Some(Value::String(text)),
            Canonical::Invalid => None,
        },
        (FieldKind::Integer | FieldKind::Timestamp, Value::Number(number))
            if number.is_i64() || number.is_u64() =>
        {
            Some(Value::String(number.to_string()))
        }
        (FieldKind::Decimal, Value::Number(number)) => Some(Value::String(number.to_string())),
        (FieldKind::Decimal, Value::String(text)) if is_decimal(text) => return Ok(()),
        (FieldKind::Boolean, Value::String(text)) => match text.as_str() {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        (FieldKind::Boolean, Value::Number(number)) => match number.as_u64() {
            Some(1) => Some(Value::Bool(true)),
            Some(0) => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    match normalized {
        Some(normalized) => {
            *value = normalized;
            Ok(())
        }
        None => Err(ParseError::WrongKind {
            field: field.to_owned(),
            expected: kind,
            got: show_value(value),
        }),
    }
}

/// The outcome of reading an integer written as text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Canonical {
    /// The text is already the canonical decimal form.
    Already,
    /// The text is an integer; this is its canonical form.
    Rewritten(String),
    /// The text is not an integer.
    Invalid,
}

/// Digits that always fit an `i128`, so a canonical string this short needs no parse.
const ALWAYS_FITS: usize = 38;

/// Reads an optionally signed integer and reports whether `text` is already canonical
/// (no `+`, no leading zeros, no `-0`).
pub(crate) fn canonical_integer(text: &str) -> Canonical {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical_shape = !digits.is_empty()
        && digits.len() <= ALWAYS_FITS
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (!digits.starts_with('0') || (digits == "0" && digits.len() == text.len()));
    if canonical_shape {
        return Canonical::Already;
    }
    match text.parse::<i128>() {
        Ok(number) => Canonical::Rewritten(number.to_string()),
        Err(_) => Canonical::Invalid,
    }
}

fn is_decimal(text: &str) -> bool {
    // Rust's float syntax also admits "inf" and "NaN"; only finite values are decimals here.
    text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// True when `value` holds arrays/objects nested more than `budget` levels deep.
pub(crate) fn nests_deeper_than(value: &Value, budget: usize) -> bool {
    let is_container = matches!(value, Value::Array(_) | Value::Object(_));
    if !is_container {
        return false;
    }
    let Some(rest) = budget.checked_sub(1) else {
        return true;
    };
    match value {
        Value::Array(items) => items.iter().any(|child| nests_deeper_than(child, rest)),
        Value::Object(entries) => entries.values().any(|child| nests_deeper_than(child, rest)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn normalized(kind: FieldKind, value: Value) -> Result<Value, ParseError> {
        let mut value = value;
        normalize_value("f", kind, &mut value).map(|()| value)
    }

    #[test]
    fn integers_become_canonical_strings() {
        for (input, expected) in [
            (json!(10), "10"),
            (json!(-1), "-1"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!("10"), "10"),
            (json!("-1"), "-1"),
            (json!("+7"), "7"),
            (json!("007"), "7"),
            (json!("-0"), "0"),
            (json!("0"), "0"),
            (json!("65832150921904138"), "65832150921904138"),
        ] {
            assert_eq!(
                normalized(FieldKind::Integer, input.clone()).unwrap(),
                json!(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn non_integers_are_rejected_for_integer_fields() {
        for input in [
            json!("abc"),
            json!(""),
            json!("1.5"),
            json!(1.5),
            json!(" 1"),
            json!("1e3"),
            json!(true),
            json!([1]),
            json!({"n": 1}),
            json!("9".repeat(50)),
        ] {
            let error = normalized(FieldKind::Integer, input.clone()).unwrap_err();
            assert!(
                matches!(
                    error,
                    ParseError::WrongKind {
                        expected: FieldKind::Integer,
                        ..
                    }
                ),
                "{input}"
            );
        }
    }

    #[test]
    fn canonical_detection() {
        assert_eq!(canonical_integer("12"), Canonical::Already);
        assert_eq!(canonical_integer("-12"), Canonical::Already);
        assert_eq!(canonical_integer("012"), Canonical::Rewritten("12".into()));
        assert_eq!(canonical_integer("-"), Canonical::Invalid);
        assert_eq!(canonical_integer("--1"), Canonical::Invalid);
        assert_eq!(canonical_integer("1-"), Canonical::Invalid);
    }

    #[test]
    fn decimals_become_strings() {
        assert_eq!(
            normalized(FieldKind::Decimal, json!(0.02)).unwrap(),
            json!("0.02")
        );
        assert_eq!(
            normalized(FieldKind::Decimal, json!(3)).unwrap(),
            json!("3")
        );
        assert_eq!(
            normalized(FieldKind::Decimal, json!("1.25")).unwrap(),
            json!("1.25")
        );
        for input in [json!("fast"), json!("NaN"), json!("inf"), json!(false)] {
            assert!(normalized(FieldKind::Decimal, input).is_err());
        }
    }

    #[test]
    fn boolean_spellings_become_booleans() {
        for (input, expected) in [
            (json!(true), true),
            (json!(false), false),
            (json!("true"), true),
            (json!("false"), false),
            (json!(1), true),
            (json!(0), false),
            (json!("1"), true),
            (json!("0"), false),
        ] {
            assert_eq!(
                normalized(FieldKind::Boolean, input).unwrap(),
                json!(expected)
            );
        }
        for input in [json!("yes"), json!(2), json!(-1), json!("True"), json!({})] {
            assert!(normalized(FieldKind::Boolean, input).is_err());
        }
    }

    #[test]
    fn shapes_are_checked_for_text_objects_arrays_and_timestamps() {
        assert!(normalized(FieldKind::Text, json!("x")).is_ok());
        assert!(normalized(FieldKind::Text, json!({"a": 1})).is_err());
        assert!(normalized(FieldKind::Text, json!(5)).is_err());
        assert!(normalized(FieldKind::Object, json!({"a": 1})).is_ok());
        assert!(normalized(FieldKind::Object, json!("{}")).is_err());
        assert!(normalized(FieldKind::Array, json!(["a"])).is_ok());
        assert!(normalized(FieldKind::Array, json!("a")).is_err());
        assert_eq!(
            normalized(FieldKind::Timestamp, json!("2016-04-18T14:25:07.000Z")).unwrap(),
            json!("2016-04-18T14:25:07.000Z")
        );
        assert_eq!(
            normalized(FieldKind::Timestamp, json!(1_588_348_800)).unwrap(),
            json!("1588348800")
        );
        assert!(normalized(FieldKind::Timestamp, json!(true)).is_err());
        assert!(normalized(FieldKind::Timestamp, json!(1.5)).is_err());
    }

    #[test]
    fn wrong_kind_error_names_field_kind_and_value() {
        let mut value = json!({"a": 1});
        let error = normalize_value("subject", FieldKind::Text, &mut value).unwrap_err();
        assert_eq!(error.field(), Some("subject"));
        assert_eq!(
            error.to_string(),
            "field `subject`: expected a string, got {\"a\":1}"
        );
    }

    #[test]
    fn nesting_depth_is_measured() {
        assert!(!nests_deeper_than(&json!("scalar"), 0));
        assert!(nests_deeper_than(&json!([]), 0));
        assert!(!nests_deeper_than(&json!([]), 1));
        assert!(!nests_deeper_than(&json!({"a": [1, {"b": 2}]}), 3));
        assert!(nests_deeper_than(&json!({"a": [1, {"b": 2}]}), 2));
        assert!(nests_deeper_than(&json!({"a": [1, {"b": {}}]}), 3));
    }
}
