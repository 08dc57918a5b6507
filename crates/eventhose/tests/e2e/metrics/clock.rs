//! Calendar arithmetic written out by hand, so expected buckets do not come from the code
//! under test: civil dates ↔ days, the Metrics API's time formats, and the US Eastern
//! daylight-saving rule (second Sunday of March 07:00Z … first Sunday of November 06:00Z).

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3_600;
pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// 0 = Sunday … 6 = Saturday.
pub fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

/// Unix seconds of a UTC date and time.
pub fn utc(year: i64, month: i64, day: i64, hour: i64, minute: i64) -> i64 {
    days_from_civil(year, month, day) * DAY + hour * HOUR + minute * MINUTE
}

/// `YYYY-MM-DDTHH:MM` of `seconds` shifted by `offset` (the API's `from`/`to` format).
pub fn param_time(seconds: i64, offset: i64) -> String {
    let local = seconds + offset;
    let (y, mo, d) = civil_from_days(local.div_euclid(DAY));
    let rest = local.rem_euclid(DAY);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}",
        rest / HOUR,
        rest % HOUR / MINUTE
    )
}

/// Parses an RFC 3339 time with a numeric offset or `Z` into (unix seconds, offset seconds).
pub fn parse_rfc3339(text: &str) -> Option<(i64, i64)> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> { text.get(from..from + len)?.parse().ok() };
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let local = utc(num(0, 4)?, num(5, 2)?, num(8, 2)?, num(11, 2)?, num(14, 2)?) + num(17, 2)?;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" => 0,
        zone if zone.len() == 6 => {
            let sign = match &zone[..1] {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let h: i64 = zone[1..3].parse().ok()?;
            let m: i64 = zone[4..6].parse().ok()?;
            sign * (h * HOUR + m * MINUTE)
        }
        _ => return None,
    };
    Some((local - offset, offset))
}

/// The US Eastern offset from UTC at `seconds`: −4 h in daylight time, −5 h otherwise.
pub fn new_york_offset(seconds: i64) -> i64 {
    let (year, _, _) = civil_from_days(seconds.div_euclid(DAY));
    let (spring, fall) = new_york_changes(year);
    if (spring..fall).contains(&seconds) {
        -4 * HOUR
    } else {
        -5 * HOUR
    }
}

/// The two US Eastern changes of `year` in unix seconds: (spring forward, fall back).
pub fn new_york_changes(year: i64) -> (i64, i64) {
    let nth_sunday = |month: i64, n: i64| {
        let first = days_from_civil(year, month, 1);
        first + (7 - weekday(first)) % 7 + 7 * (n - 1)
    };
    (
        nth_sunday(3, 2) * DAY + 7 * HOUR,
        nth_sunday(11, 1) * DAY + 6 * HOUR,
    )
}

/// India's offset (+05:30, no daylight time): local hours do not start on UTC hours.
pub const KOLKATA_OFFSET: i64 = 5 * HOUR + 30 * MINUTE;

#[test]
fn metrics_clock_helpers_agree_with_known_dates() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    assert_eq!(utc(2026, 11, 1, 6, 0), 1_793_512_800);
    assert_eq!(
        new_york_changes(2026),
        (utc(2026, 3, 8, 7, 0), utc(2026, 11, 1, 6, 0))
    );
    assert_eq!(
        new_york_changes(2027),
        (utc(2027, 3, 14, 7, 0), utc(2027, 11, 7, 6, 0))
    );
    assert_eq!(
        param_time(utc(2026, 11, 1, 6, 0), -5 * HOUR),
        "2026-11-01T01:00"
    );
    assert_eq!(
        parse_rfc3339("2026-11-01T01:00:00-04:00"),
        Some((utc(2026, 11, 1, 5, 0), -4 * HOUR))
    );
    assert_eq!(weekday(days_from_civil(2026, 11, 27)), 5, "a Friday");
}
