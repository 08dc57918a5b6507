//! Syslog envelopes: the timestamp, host and program around a log message.
//!
//! One function, [`parse_line`], reads the shapes a mail log line arrives in, with or without
//! a leading `<PRI>` (as on the wire):
//!
//! - RFC 3164 / traditional file format, and postlogd's `maillog_file` (Postfix ≥ 3.4):
//!   `Dec  7 10:00:00 host prog[pid]: message`. No year and no zone: the [`LocalClock`]
//!   supplies both ([`LocalClock`] says how the year is chosen).
//! - RFC 3339 timestamps in file lines (rsyslog's `RSYSLOG_FileFormat`):
//!   `2026-12-07T10:00:00.123456+01:00 host prog[pid]: message`. A timestamp without an
//!   offset is read as local time in the clock's zone.
//! - RFC 5424: `<PRI>1 TIMESTAMP HOST APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`, any
//!   header field `-` (nil) but the timestamp, structured data `-` or bracketed elements
//!   (skipped, quotes and escapes honoured), a UTF-8 byte-order mark before the message
//!   dropped.
//!
//! A 3164 line read from a local socket has no host; its host is then empty, for the
//! listener to fill in. Parsing borrows from the line and allocates nothing; every step looks
//! at each byte a bounded number of times, so a line costs time linear in its length.

mod local_time;

use chrono::{DateTime, FixedOffset, NaiveDateTime, NaiveTime};

pub use local_time::{LocalClock, Zone, DEFAULT_FUTURE_SLACK};

/// One syslog line split into its envelope and its message, borrowing from the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    /// The `<PRI>` value (facility × 8 + severity), when the line had one.
    pub priority: Option<u8>,
    /// When the line was written.
    pub timestamp: DateTime<FixedOffset>,
    /// The host that wrote it; empty when the line names none.
    pub host: &'a str,
    /// The program (RFC 3164 tag, RFC 5424 APP-NAME), e.g. `postfix/smtp`; empty when nil.
    pub app: &'a str,
    /// The process id, when given.
    pub pid: Option<&'a str>,
    /// The message text.
    pub message: &'a str,
    /// Which of the formats the line was in.
    pub format: SyslogFormat,
}

/// The envelope formats [`parse_line`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyslogFormat {
    /// `Mmm dd hh:mm:ss host tag: message` (RFC 3164, traditional files, postlogd).
    Rfc3164,
    /// An RFC 3339 timestamp, then `host tag: message` (rsyslog's file format).
    Rfc3339,
    /// RFC 5424 (version 1).
    Rfc5424,
}

/// Why a line is not a syslog line [`parse_line`] can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyslogError {
    /// The line is empty.
    #[error("empty line")]
    Empty,
    /// A `<` at the start not followed by 1 to 3 digits (at most 191) and `>`.
    #[error("malformed priority: expected <0> to <191>")]
    Priority,
    /// The line starts with neither a month name, a date nor an RFC 5424 version.
    #[error("no timestamp at the start of the line")]
    NoTimestamp,
    /// The timestamp has the right start but the wrong shape.
    #[error("malformed {format} timestamp")]
    BadTimestamp {
        /// The format whose timestamp it is.
        format: &'static str,
    },
    /// An RFC 3339 timestamp chrono could not read.
    #[error("malformed RFC 3339 timestamp")]
    Rfc3339 {
        /// What chrono found wrong.
        #[source]
        source: chrono::ParseError,
    },
    /// A month and day that no year has (such as 30 February).
    #[error("no such date: month {month}, day {day}")]
    NoSuchDate {
        /// The month, 1 to 12.
        month: u32,
        /// The day of the month.
        day: u32,
    },
    /// A local time that the zone skips (a daylight-saving gap).
    #[error("local time {local} does not exist in the configured zone")]
    NonexistentLocalTime {
        /// The local date and time.
        local: NaiveDateTime,
    },
    /// A required envelope field is missing.
    #[error("no {field} after the timestamp")]
    Missing {
        /// `host`, `tag`, `app-name`, …
        field: &'static str,
    },
    /// The RFC 3164 tag does not end with `:`.
    #[error("malformed tag: expected `program[pid]:` or `program:`")]
    Tag,
    /// RFC 5424 structured data that is neither `-` nor complete `[…]` elements.
    #[error("malformed RFC 5424 structured data")]
    StructuredData,
}

/// Splits one syslog line (without its line ending) into envelope and message.
pub fn parse_line<'a>(line: &'a str, clock: &LocalClock) -> Result<SyslogLine<'a>, SyslogError> {
    if line.is_empty() {
        return Err(SyslogError::Empty);
    }
    let (priority, rest) = split_priority(line)?;
    if let Some(after_version) = rest.strip_prefix("1 ") {
        return parse_5424(priority, after_version, clock);
    }
    let bytes = rest.as_bytes();
    let (timestamp, format, rest) =
        if bytes.len() >= 5 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' {
            let (text, rest) = split_token(rest);
            (rfc3339(text, clock)?, SyslogFormat::Rfc3339, rest)
        } else if bytes.first().is_some_and(u8::is_ascii_uppercase) {
            let (timestamp, rest) = rfc3164_timestamp(rest, clock)?;
            (timestamp, SyslogFormat::Rfc3164, rest)
        } else {
            return Err(SyslogError::NoTimestamp);
        };
    let (host, app, pid, message) = host_and_tag(rest)?;
    Ok(SyslogLine {
        priority,
        timestamp,
        host,
        app,
        pid,
        message,
        format,
    })
}

/// Reads an optional `<PRI>` prefix.
fn split_priority(line: &str) -> Result<(Option<u8>, &str), SyslogError> {
    let Some(rest) = line.strip_prefix('<') else {
        return Ok((None, line));
    };
    let digits = rest.bytes().take(4).take_while(u8::is_ascii_digit).count();
    if !(1..=3).contains(&digits) || rest.as_bytes().get(digits) != Some(&b'>') {
        return Err(SyslogError::Priority);
    }
    let value: u8 = rest[..digits].parse().map_err(|_| SyslogError::Priority)?;
    if value > 191 {
        return Err(SyslogError::Priority);
    }
    Ok((Some(value), &rest[digits + 1..]))
}

/// The text up to the first space, and the text after that space (empty when none).
fn split_token(text: &str) -> (&str, &str) {
    match memchr::memchr(b' ', text.as_bytes()) {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    }
}

/// Reads an RFC 3339 timestamp; one without an offset is local time in the clock's zone.
fn rfc3339(text: &str, clock: &LocalClock) -> Result<DateTime<FixedOffset>, SyslogError> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(time) => Ok(time),
        Err(source) => match NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
            Ok(local) => clock
                .zone
                .localize(local)
                .ok_or(SyslogError::NonexistentLocalTime { local }),
            Err(_) => Err(SyslogError::Rfc3339 { source }),
        },
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Reads `Mmm dd hh:mm:ss ` (the day space- or zero-padded, optional fractional seconds) and
/// dates it with the clock.
fn rfc3164_timestamp<'a>(
    text: &'a str,
    clock: &LocalClock,
) -> Result<(DateTime<FixedOffset>, &'a str), SyslogError> {
    const BAD: SyslogError = SyslogError::BadTimestamp { format: "RFC 3164" };
    let bytes = text.as_bytes();
    if bytes.len() < 16 || bytes[3] != b' ' || bytes[6] != b' ' {
        return Err(BAD);
    }
    let month = MONTHS
        .iter()
        .position(|name| bytes[..3] == name[..])
        .ok_or(SyslogError::NoTimestamp)?;
    let day = match (bytes[4], bytes[5]) {
        (b' ', units) => digit(units),
        (tens, units) => digit(tens).zip(digit(units)).map(|(t, u)| t * 10 + u),
    }
    .ok_or(BAD)?;
    let two = |at: usize| {
        digit(bytes[at])
            .zip(digit(bytes[at + 1]))
            .map(|(t, u)| t * 10 + u)
    };
    let (Some(hour), Some(minute), Some(second)) = (two(7), two(10), two(13)) else {
        return Err(BAD);
    };
    if bytes[9] != b':' || bytes[12] != b':' {
        return Err(BAD);
    }
    // Some daemons add fractional seconds; they are read to the microsecond.
    let mut end = 15;
    let mut micros = 0;
    if bytes[end] == b'.' {
        let digits = bytes[end + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return Err(BAD);
        }
        for (index, &b) in bytes[end + 1..end + 1 + digits].iter().take(6).enumerate() {
            let place = 10_u32.pow(5 - u32::try_from(index).map_err(|_| BAD)?);
            micros += u32::from(b - b'0') * place;
        }
        end += 1 + digits;
    }
    if bytes.get(end) != Some(&b' ') {
        return Err(BAD);
    }
    let time = NaiveTime::from_hms_micro_opt(hour, minute, second, micros).ok_or(BAD)?;
    let month = u32::try_from(month + 1).map_err(|_| BAD)?;
    let timestamp = clock.date(month, day, time)?;
    Ok((timestamp, &text[end + 1..]))
}

fn digit(byte: u8) -> Option<u32> {
    byte.is_ascii_digit().then(|| u32::from(byte - b'0'))
}

/// Reads `[host ]program[pid]: message`. The host is absent when the first token is already
/// a tag (ends with `:` or holds a `[`).
#[allow(clippy::type_complexity)] // four named parts of one line, returned once
fn host_and_tag(text: &str) -> Result<(&str, &str, Option<&str>, &str), SyslogError> {
    let (first, after_first) = split_token(text);
    if first.is_empty() {
        return Err(SyslogError::Missing { field: "host" });
    }
    let (host, tag, message) = if first.ends_with(':') || first.contains('[') {
        ("", first, after_first)
    } else {
        let (tag, message) = split_token(after_first);
        (first, tag, message)
    };
    if tag.is_empty() {
        return Err(SyslogError::Missing { field: "tag" });
    }
    let tag = tag.strip_suffix(':').ok_or(SyslogError::Tag)?;
    let (app, pid) = match tag.strip_suffix(']').and_then(|t| t.split_once('[')) {
        Some((app, pid)) => (app, Some(pid)),
        None => (tag, None),
    };
    if app.is_empty() {
        return Err(SyslogError::Tag);
    }
    Ok((host, app, pid, message))
}

/// Reads the rest of an RFC 5424 line after `<PRI>1 `.
fn parse_5424<'a>(
    priority: Option<u8>,
    text: &'a str,
    clock: &LocalClock,
) -> Result<SyslogLine<'a>, SyslogError> {
    let (stamp, rest) = split_token(text);
    if stamp == "-" || stamp.is_empty() {
        return Err(SyslogError::Missing { field: "timestamp" });
    }
    let timestamp = rfc3339(stamp, clock)?;
    let mut fields = [""; 4];
    let mut rest = rest;
    for (field, name) in fields
        .iter_mut()
        .zip(["hostname", "app-name", "procid", "msgid"])
    {
        let (token, after) = split_token(rest);
        if token.is_empty() {
            return Err(SyslogError::Missing { field: name });
        }
        *field = token;
        rest = after;
    }
    let nil = |field: &'a str| if field == "-" { "" } else { field };
    let [host, app, procid, _msgid] = fields;
    let message = skip_structured_data(rest)?;
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Ok(SyslogLine {
        priority,
        timestamp,
        host: nil(host),
        app: nil(app),
        pid: (procid != "-").then_some(procid),
        message,
        format: SyslogFormat::Rfc5424,
    })
}

/// Skips RFC 5424 structured data (`-` or `[id k="v" …]…`) and the space after it; returns
/// the message (empty when none).
fn skip_structured_data(text: &str) -> Result<&str, SyslogError> {
    if text.is_empty() {
        return Err(SyslogError::Missing {
            field: "structured data",
        });
    }
    if let Some(rest) = text.strip_prefix('-') {
        return message_after(rest);
    }
    let bytes = text.as_bytes();
    let mut at = 0;
    while bytes.get(at) == Some(&b'[') {
        let mut in_quotes = false;
        let mut escaped = false;
        at += 1;
        loop {
            let Some(&byte) = bytes.get(at) else {
                return Err(SyslogError::StructuredData);
            };
            at += 1;
            match byte {
                _ if escaped => escaped = false,
                b'\\' if in_quotes => escaped = true,
                b'"' => in_quotes = !in_quotes,
                b']' if !in_quotes => break,
                _ => {}
            }
        }
    }
    if at == 0 {
        return Err(SyslogError::StructuredData);
    }
    message_after(&text[at..])
}

fn message_after(rest: &str) -> Result<&str, SyslogError> {
    if rest.is_empty() {
        Ok("")
    } else {
        rest.strip_prefix(' ').ok_or(SyslogError::StructuredData)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn clock() -> LocalClock {
        let now = DateTime::parse_from_rfc3339("2026-12-07T19:00:00Z")
            .unwrap()
            .to_utc();
        LocalClock::new(Zone::Named(chrono_tz::Europe::Paris), now)
    }

    #[test]
    fn reads_traditional_file_lines() {
        let line =
            "Dec  7 16:42:00 letterman postfix/smtpd[24906]: 1CF582025C: client=xxx[2.3.4.5]";
        let parsed = parse_line(line, &clock()).unwrap();
        assert_eq!(parsed.timestamp.to_rfc3339(), "2026-12-07T16:42:00+01:00");
        assert_eq!(parsed.host, "letterman");
        assert_eq!(parsed.app, "postfix/smtpd");
        assert_eq!(parsed.pid, Some("24906"));
        assert_eq!(parsed.message, "1CF582025C: client=xxx[2.3.4.5]");
        assert_eq!(parsed.format, SyslogFormat::Rfc3164);
        assert_eq!(parsed.priority, None);
    }

    #[test]
    fn reads_postlogd_lines_with_zero_padded_days() {
        let line = "Dec 07 10:00:01 mx1 postfix/qmgr[88]: AAB4D259B1: removed";
        let parsed = parse_line(line, &clock()).unwrap();
        assert_eq!(parsed.timestamp.to_rfc3339(), "2026-12-07T10:00:01+01:00");
        assert_eq!(parsed.message, "AAB4D259B1: removed");
    }

    #[test]
    fn reads_wire_lines_with_priority_and_without_host() {
        let line = "<22>Dec  7 10:00:01 postfix/qmgr[88]: AAB4D259B1: removed";
        let parsed = parse_line(line, &clock()).unwrap();
        assert_eq!(parsed.priority, Some(22));
        assert_eq!(parsed.host, "");
        assert_eq!(parsed.app, "postfix/qmgr");
        let line = "<22>Dec  7 10:00:01 mx1 postfix/qmgr[88]: AAB4D259B1: removed";
        assert_eq!(parse_line(line, &clock()).unwrap().host, "mx1");
    }

    #[test]
    fn reads_rfc3339_file_lines_with_their_own_zone() {
        let line = "2026-12-07T10:00:00.123456+01:00 mx1 postfix/smtp[7]: ABC123: removed";
        let parsed = parse_line(line, &clock()).unwrap();
        assert_eq!(
            parsed.timestamp.to_rfc3339(),
            "2026-12-07T10:00:00.123456+01:00"
        );
        assert_eq!(parsed.format, SyslogFormat::Rfc3339);
        assert_eq!(parsed.host, "mx1");
        let utc = "2026-12-07T09:00:00Z mx1 postfix/smtp: x";
        let parsed = parse_line(utc, &clock()).unwrap();
        assert_eq!(
            parsed.timestamp.to_utc(),
            Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
        );
        assert_eq!(parsed.pid, None);
    }

    #[test]
    fn reads_rfc5424_with_and_without_structured_data() {
        let line = "<22>1 2026-12-07T10:00:00.5-05:00 mx1 postfix/smtp 7648 - - \u{feff}732BB407C3: removed";
        let parsed = parse_line(line, &clock()).unwrap();
        assert_eq!(parsed.format, SyslogFormat::Rfc5424);
        assert_eq!(
            parsed.timestamp.to_rfc3339(),
            "2026-12-07T10:00:00.500-05:00"
        );
        assert_eq!(parsed.timestamp.offset().local_minus_utc(), -5 * 3600);
        assert_eq!(parsed.host, "mx1");
        assert_eq!(parsed.app, "postfix/smtp");
        assert_eq!(parsed.pid, Some("7648"));
        assert_eq!(parsed.message, "732BB407C3: removed");

        let line = r#"<22>1 2026-12-07T10:00:00Z mx1 postfix/qmgr - ID47 [a b="x \"]\" y"][c@1 d="e"] 732BB407C3: removed"#;
        let parsed = parse_line(line, &clock()).unwrap();
        assert_eq!(parsed.pid, None);
        assert_eq!(parsed.message, "732BB407C3: removed");

        let no_message = "<22>1 2026-12-07T10:00:00Z - - - - -";
        let parsed = parse_line(no_message, &clock()).unwrap();
        assert_eq!((parsed.host, parsed.app, parsed.message), ("", "", ""));
    }

    use chrono::TimeZone;

    #[test]
    fn names_what_is_wrong() {
        let c = clock();
        assert_eq!(parse_line("", &c), Err(SyslogError::Empty));
        assert_eq!(
            parse_line("<300>Dec  7 10:00:00 h p: m", &c),
            Err(SyslogError::Priority)
        );
        assert_eq!(parse_line("<22 Dec", &c), Err(SyslogError::Priority));
        assert_eq!(parse_line("hello world", &c), Err(SyslogError::NoTimestamp));
        assert_eq!(
            parse_line("Foo  7 10:00:00 h p: m", &c),
            Err(SyslogError::NoTimestamp)
        );
        assert!(matches!(
            parse_line("Dec  7 1x:00:00 h p: m", &c),
            Err(SyslogError::BadTimestamp { .. })
        ));
        assert!(matches!(
            parse_line("2026-13-07T10:00:00Z h p: m", &c),
            Err(SyslogError::Rfc3339 { .. })
        ));
        assert_eq!(
            parse_line("Dec  7 10:00:00 host", &c),
            Err(SyslogError::Missing { field: "tag" })
        );
        assert_eq!(
            parse_line("Dec  7 10:00:00 host prog message", &c),
            Err(SyslogError::Tag)
        );
        assert_eq!(
            parse_line("<22>1 - h a p m - x", &c),
            Err(SyslogError::Missing { field: "timestamp" })
        );
        assert_eq!(
            parse_line("<22>1 2026-12-07T10:00:00Z h a p m [unterminated", &c),
            Err(SyslogError::StructuredData)
        );
        assert_eq!(
            parse_line("<22>1 2026-12-07T10:00:00Z h a", &c),
            Err(SyslogError::Missing { field: "procid" })
        );
    }

    #[test]
    fn errors_keep_their_source() {
        use std::error::Error;
        let error = parse_line("2026-12-07T99:00:00Z h p: m", &clock()).unwrap_err();
        assert!(error.source().is_some(), "{error}");
        assert_eq!(error.to_string(), "malformed RFC 3339 timestamp");
    }

    #[test]
    fn zone_less_iso_timestamps_use_the_clock_zone() {
        let line = "2026-07-01T12:00:00 mx1 postfix/qmgr[1]: x";
        let parsed = parse_line(line, &clock()).unwrap();
        assert_eq!(parsed.timestamp.to_rfc3339(), "2026-07-01T12:00:00+02:00");
    }
}
