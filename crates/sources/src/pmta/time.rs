//! PowerMTA's timestamps.
//!
//! The accounting files of the public examples write `YYYY-MM-DD HH:MM:SS±ZZZZ` (local time
//! with its offset); older guides describe UNIX `time_t` seconds. Both are read, as are an
//! offset written `±ZZ:ZZ` or `Z`, a `T` between date and time, a space before the offset
//! and a fraction of a second. **Unknown**: whether PowerMTA can write a time without an
//! offset; such a time is refused rather than guessed.

use chrono::{DateTime, FixedOffset, Utc};

/// The formats tried, in order (chrono's `%z` takes `+0200` and `+02:00`).
const FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%.f %z",
];

/// Reads one of PowerMTA's timestamps, `None` when it is none of the forms above.
pub fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = text.parse::<i64>().ok()?;
        return DateTime::<Utc>::from_timestamp(seconds, 0).map(|time| time.fixed_offset());
    }
    if let Some(utc) = text.strip_suffix('Z') {
        return parse_time(&format!("{utc}+0000"));
    }
    FORMATS
        .iter()
        .find_map(|format| DateTime::parse_from_str(text, format).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc3339(text: &str) -> Option<String> {
        parse_time(text).map(|time| time.to_rfc3339())
    }

    #[test]
    fn reads_the_forms_powermta_writes() {
        let expected = Some("2016-05-29T01:10:51+02:00".to_owned());
        assert_eq!(rfc3339("2016-05-29 01:10:51+0200"), expected);
        assert_eq!(rfc3339("2016-05-29 01:10:51 +0200"), expected);
        assert_eq!(rfc3339("2016-05-29 01:10:51+02:00"), expected);
        assert_eq!(rfc3339("2016-05-29T01:10:51+02:00"), expected);
        assert_eq!(
            rfc3339("2016-05-29 01:10:51.250-0500"),
            Some("2016-05-29T01:10:51.250-05:00".to_owned())
        );
        assert_eq!(
            rfc3339("2016-05-28T23:10:51Z"),
            Some("2016-05-28T23:10:51+00:00".to_owned())
        );
        assert_eq!(
            rfc3339("1178807903"),
            Some("2007-05-10T14:38:23+00:00".to_owned())
        );
    }

    #[test]
    fn refuses_what_it_cannot_date() {
        for text in [
            "",
            "yesterday",
            "2016-05-29 01:10:51",
            "2016-13-29 01:10:51+0200",
            "99999999999999999999",
            "2016-05-29 01:10:51+0200 trailing",
            "Z",
        ] {
            assert_eq!(parse_time(text), None, "{text}");
        }
    }
}
