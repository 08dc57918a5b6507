//! Dating the timestamps that carry neither a year nor a zone (RFC 3164 and postlogd's
//! `maillog_file`).
//!
//! Such a line says `Dec 31 23:59:58` in the local time of whoever wrote it. The caller says
//! which zone that is ([`Zone`]) and what time it is now ([`LocalClock::now`]: the wall clock
//! when following a live log, the file's modification time when replaying an old one). The
//! year is the latest one that does not put the line more than a small slack
//! ([`LocalClock::future_slack`]) after now: a December line read in January belongs to last
//! year, a `Jan  1 00:00:01` line read a few seconds before midnight on 31 December (a sender's
//! clock slightly ahead) to next year. 29 February goes back to the latest leap year.
//!
//! The year is chosen by comparing local wall-clock times, so around a daylight-saving change
//! the slack is effectively an hour wider or narrower. A local time that falls in the gap of a
//! change cannot have been written by a correct clock and is an error; one that occurs twice
//! (the hour repeated in autumn) is taken as its earlier instant.

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;

use super::SyslogError;

/// The zone the writer of a zone-less timestamp used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC (`+00:00` for UTC itself).
    Fixed(FixedOffset),
    /// A named IANA zone, with its daylight-saving rules.
    Named(Tz),
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone::Fixed(Utc.fix())
    }

    /// The instant a local date and time names in this zone: the earlier one when it occurs
    /// twice, `None` when it falls in a daylight-saving gap.
    pub fn localize(&self, local: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        match self {
            Zone::Fixed(offset) => offset.from_local_datetime(&local).earliest(),
            Zone::Named(tz) => tz
                .from_local_datetime(&local)
                .earliest()
                .map(|time| time.fixed_offset()),
        }
    }

    /// `instant` as wall-clock time in this zone.
    fn wall_clock(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Fixed(offset) => instant.with_timezone(offset).naive_local(),
            Zone::Named(tz) => instant.with_timezone(tz).naive_local(),
        }
    }
}

/// What dates a timestamp without year or zone: the writer's zone, the reference "now" and
/// how far in the future a line may seem to be before it is taken for last year's.
///
/// The year chosen is the latest that does not put the line more than `future_slack` after
/// `now`: a December line read in January is last year's, a `Jan  1 00:00:01` line read just
/// before midnight on 31 December is next year's, and 29 February goes back to the latest
/// leap year. A local time in a daylight-saving gap is an error; one that occurs twice is its
/// earlier instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalClock {
    /// The writer's zone.
    pub zone: Zone,
    /// The reference time: no line is dated later than this plus [`future_slack`](Self::future_slack).
    pub now: DateTime<Utc>,
    /// How far after `now` a line may be dated (clocks of two hosts differ a little).
    pub future_slack: TimeDelta,
}

/// The default [`LocalClock::future_slack`]: one hour.
pub const DEFAULT_FUTURE_SLACK: TimeDelta = TimeDelta::hours(1);

/// How many years back a date is tried: enough to reach a leap year from any year.
const YEARS_BACK: i32 = 8;

impl LocalClock {
    /// A clock for `zone` at `now`, with the default slack of one hour.
    pub fn new(zone: Zone, now: DateTime<Utc>) -> LocalClock {
        LocalClock {
            zone,
            now,
            future_slack: DEFAULT_FUTURE_SLACK,
        }
    }

    /// The instant of `month`/`day` `time` (local wall-clock time, no year) in the latest year
    /// that does not put it more than the slack after now.
    pub fn date(
        &self,
        month: u32,
        day: u32,
        time: NaiveTime,
    ) -> Result<DateTime<FixedOffset>, SyslogError> {
        let limit = self.zone.wall_clock(self.now) + self.future_slack;
        let this_year = limit.year();
        let mut existed = false;
        for year in (this_year - YEARS_BACK..=this_year + 1).rev() {
            let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
                continue;
            };
            existed = true;
            let local = date.and_time(time);
            if local <= limit {
                return self
                    .zone
                    .localize(local)
                    .ok_or(SyslogError::NonexistentLocalTime { local });
            }
        }
        if existed {
            // Only a date later than the limit in every year tried: cannot happen for years
            // below the limit's, kept as an error rather than a panic.
            Err(SyslogError::BadTimestamp { format: "RFC 3164" })
        } else {
            Err(SyslogError::NoSuchDate { month, day })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn time(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).unwrap()
    }

    #[test]
    fn december_lines_read_in_january_belong_to_last_year() {
        let clock = LocalClock::new(Zone::utc(), at("2027-01-01T00:00:05Z"));
        let dated = clock.date(12, 31, time(23, 59, 58)).unwrap();
        assert_eq!(dated.to_rfc3339(), "2026-12-31T23:59:58+00:00");
        let dated = clock.date(1, 1, time(0, 0, 1)).unwrap();
        assert_eq!(dated.to_rfc3339(), "2027-01-01T00:00:01+00:00");
    }

    #[test]
    fn a_line_slightly_ahead_of_now_at_new_year_is_next_year() {
        let clock = LocalClock::new(Zone::utc(), at("2026-12-31T23:59:50Z"));
        let dated = clock.date(1, 1, time(0, 0, 30)).unwrap();
        assert_eq!(dated.to_rfc3339(), "2027-01-01T00:00:30+00:00");
    }

    #[test]
    fn a_line_beyond_the_slack_is_last_years() {
        let clock = LocalClock::new(Zone::utc(), at("2026-12-07T10:00:00Z"));
        assert_eq!(
            clock.date(12, 7, time(10, 59, 0)).unwrap().to_rfc3339(),
            "2026-12-07T10:59:00+00:00"
        );
        assert_eq!(
            clock.date(12, 7, time(11, 0, 1)).unwrap().to_rfc3339(),
            "2025-12-07T11:00:01+00:00"
        );
    }

    #[test]
    fn the_zone_decides_both_the_offset_and_the_year() {
        // 23:30 UTC on 31 December is already 1 January in Berlin.
        let clock = LocalClock::new(
            Zone::Named(chrono_tz::Europe::Berlin),
            at("2026-12-31T23:30:00Z"),
        );
        let dated = clock.date(1, 1, time(0, 20, 0)).unwrap();
        assert_eq!(dated.to_rfc3339(), "2027-01-01T00:20:00+01:00");
        let summer = clock.date(7, 1, time(12, 0, 0)).unwrap();
        assert_eq!(summer.to_rfc3339(), "2026-07-01T12:00:00+02:00");
    }

    #[test]
    fn daylight_saving_gaps_are_errors_and_repeats_the_earlier_instant() {
        let clock = LocalClock::new(
            Zone::Named(chrono_tz::Europe::Berlin),
            at("2026-12-07T10:00:00Z"),
        );
        assert!(matches!(
            clock.date(3, 29, time(2, 30, 0)),
            Err(SyslogError::NonexistentLocalTime { .. })
        ));
        let repeated = clock.date(10, 25, time(2, 30, 0)).unwrap();
        assert_eq!(repeated.to_rfc3339(), "2026-10-25T02:30:00+02:00");
    }

    #[test]
    fn february_29_goes_back_to_a_leap_year() {
        let clock = LocalClock::new(Zone::utc(), at("2027-03-01T00:00:00Z"));
        let dated = clock.date(2, 29, time(1, 0, 0)).unwrap();
        assert_eq!(dated.to_rfc3339(), "2024-02-29T01:00:00+00:00");
        assert!(matches!(
            clock.date(2, 30, time(1, 0, 0)),
            Err(SyslogError::NoSuchDate { month: 2, day: 30 })
        ));
    }
}
