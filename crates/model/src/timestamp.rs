//! Reading event timestamps: unix seconds (number or string) or RFC 3339 text.

use serde_json::Value;

use crate::error::show_value;
use crate::ParseError;

/// The latest accepted timestamp: 9999-12-31T23:59:59Z, in unix seconds.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Reads a timestamp value as whole unix seconds (UTC).
///
/// Accepts a JSON number (fractions truncated), a string holding unix seconds (fractions
/// truncated) or an RFC 3339 string such as `2016-04-18T14:25:07.000Z`. Times before 1970 or
/// after year 9999 are rejected.
pub fn parse_timestamp(value: &Value) -> Result<i64, ParseError> {
    let seconds = match value {
        Value::Number(number) => {
            if let Some(seconds) = number.as_i64() {
                Ok(seconds)
            } else if number.is_u64() {
                Err(TOO_LATE)
            } else {
                number.as_f64().map_or(Err(NOT_A_TIME), seconds_from_float)
            }
        }
        Value::String(text) => seconds_from_text(text),
        _ => Err(NOT_A_TIME),
    };
    seconds
        .and_then(check_range)
        .map_err(|reason| ParseError::InvalidTimestamp {
            reason,
            got: show_value(value),
        })
}

/// Reads a timestamp written as text, with the same rules as [`parse_timestamp`].
pub fn parse_timestamp_str(text: &str) -> Result<i64, ParseError> {
    seconds_from_text(text)
        .and_then(check_range)
        .map_err(|reason| ParseError::InvalidTimestamp {
            reason,
            got: show_value(&Value::from(text)),
        })
}

const NOT_A_TIME: &str = "expected unix seconds or an RFC 3339 date-time";
const TOO_EARLY: &str = "before 1970-01-01T00:00:00Z";
const TOO_LATE: &str = "after year 9999";

// The cast only sees a finite value in 0..=MAX_TIMESTAMP: it cannot truncate.
#[allow(clippy::cast_possible_truncation)]
fn seconds_from_float(seconds: f64) -> Result<i64, &'static str> {
    if !seconds.is_finite() {
        Err(NOT_A_TIME)
    } else if seconds < 0.0 {
        Err(TOO_EARLY)
    } else if seconds > MAX_TIMESTAMP as f64 {
        Err(TOO_LATE)
    } else {
        // In range, so the truncating cast is exact for the integer part.
        Ok(seconds.trunc() as i64)
    }
}

fn seconds_from_text(text: &str) -> Result<i64, &'static str> {
    match unix_seconds_from_text(text) {
        Some(result) => result,
        None => chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| time.timestamp())
            .map_err(|_| NOT_A_TIME),
    }
}

/// Reads `[-]digits[.digits]`; `None` when the text has another shape.
fn unix_seconds_from_text(text: &str) -> Option<Result<i64, &'static str>> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    if negative {
        return Some(Err(TOO_EARLY));
    }
    Some(whole.parse::<i64>().map_err(|_| TOO_LATE))
}

fn check_range(seconds: i64) -> Result<i64, &'static str> {
    if seconds < 0 {
        Err(TOO_EARLY)
    } else if seconds > MAX_TIMESTAMP {
        Err(TOO_LATE)
    } else {
        Ok(seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const APRIL_18: i64 = 1_460_989_507; // 2016-04-18T14:25:07Z

    #[test]
    fn all_forms_agree() {
        for value in [
            json!(APRIL_18),
            json!("1460989507"),
            json!("1460989507.999"),
            json!(1_460_989_507.75),
            json!("2016-04-18T14:25:07.000Z"),
            json!("2016-04-18T14:25:07Z"),
            json!("2016-04-18T16:25:07+02:00"),
            json!("2016-04-18T09:25:07.5-05:00"),
            json!("2016-04-18T14:25:07.000+00:00"),
        ] {
            assert_eq!(parse_timestamp(&value).unwrap(), APRIL_18, "{value}");
        }
        assert_eq!(
            parse_timestamp_str("2016-04-18T14:25:07Z").unwrap(),
            APRIL_18
        );
    }

    #[test]
    fn bounds_are_inclusive() {
        assert_eq!(parse_timestamp(&json!(0)).unwrap(), 0);
        assert_eq!(parse_timestamp(&json!("1970-01-01T00:00:00Z")).unwrap(), 0);
        assert_eq!(
            parse_timestamp(&json!(MAX_TIMESTAMP)).unwrap(),
            MAX_TIMESTAMP
        );
        assert_eq!(
            parse_timestamp(&json!("9999-12-31T23:59:59Z")).unwrap(),
            MAX_TIMESTAMP
        );
    }

    #[test]
    fn rejects_out_of_range_and_garbage() {
        for (value, reason) in [
            (json!(-1), TOO_EARLY),
            (json!("-5"), TOO_EARLY),
            (json!(-0.5), TOO_EARLY),
            (json!("1969-12-31T23:59:59Z"), TOO_EARLY),
            (json!(MAX_TIMESTAMP + 1), TOO_LATE),
            (json!(u64::MAX), TOO_LATE),
            (json!("99999999999999999999999"), TOO_LATE),
            (json!(1e300), TOO_LATE),
            (json!("yesterday"), NOT_A_TIME),
            (json!(""), NOT_A_TIME),
            (json!("12.ab"), NOT_A_TIME),
            (json!("2016-04-18"), NOT_A_TIME),
            (json!(true), NOT_A_TIME),
            (json!({"seconds": 1}), NOT_A_TIME),
        ] {
            match parse_timestamp(&value) {
                Err(ParseError::InvalidTimestamp { reason: got, .. }) => {
                    assert_eq!(got, reason, "{value}")
                }
                other => panic!("{value}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn error_names_the_field_and_value() {
        let error = parse_timestamp(&json!("yesterday")).unwrap_err();
        assert_eq!(error.field(), Some("timestamp"));
        assert!(error.to_string().contains("\"yesterday\""));
    }
}
