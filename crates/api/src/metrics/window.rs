//! The time window of a request: `from`, `to`, `timezone` and `precision`, rounded as SparkPost
//! documents, and the time-series buckets inside it.
//!
//! `from` and `to` are wall-clock times (`YYYY-MM-DDTHH:MM`, seconds optional) in `timezone`
//! (an IANA name, by default UTC); `to` defaults to now. `from` is rounded down and `to` up to
//! the precision, so the store gets the half-open range `[from, to)` in whole minutes: for
//! 04:22–06:37 at `5min` that is 04:20–06:40 (SparkPost's 04:20:00 – 06:39:59).
//!
//! Up to `12hr` the rounding and the buckets follow local time: a bucket starts wherever the
//! local clock shows a multiple of the precision, so on a DST change a local day has 23 or 25
//! hourly buckets, and a `12hr` bucket lasts 11 or 13 hours. A local time skipped by a DST gap
//! stands for the instant the gap ends; a repeated one is read as its first occurrence for
//! `from` and its last for `to`. `day`, `week` (Monday to Monday) and `month` are UTC whatever
//! the time zone, as SparkPost documents.
//!
//! The longest window per precision is SparkPost's (24 hours up to `5min`, 48 hours at `15min`,
//! 31 days at `hour`, measured in local wall-clock time so that a 25-hour local day still fits);
//! `12hr`, `day`, `week` and `month` have none, but a time series holds at most
//! [`MAX_BUCKETS`] buckets. Only a `precision` the request names is held to them: without one,
//! the precision is chosen to fit the window (see [`Precision::fitting`]).

use std::collections::BTreeSet;

use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;
use eventhose_analytics::TimeRange;

use super::params::Params;
use super::refusal::{invalid, MetricsError};

/// The most buckets a time series answers.
pub(super) const MAX_BUCKETS: i64 = 10_000;

/// How finely a window is rounded and a time series bucketed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Precision {
    /// `1min`.
    Minute,
    /// `5min`.
    FiveMinutes,
    /// `15min`.
    FifteenMinutes,
    /// `hour`.
    Hour,
    /// `12hr` (time series only).
    TwelveHours,
    /// `day`, in UTC.
    Day,
    /// `week` (time series only), Monday to Monday in UTC.
    Week,
    /// `month` (time series only), in UTC.
    Month,
}

impl Precision {
    /// The precisions of the summary and group-by endpoints.
    const AGGREGATE: [Precision; 5] = [
        Precision::Minute,
        Precision::FiveMinutes,
        Precision::FifteenMinutes,
        Precision::Hour,
        Precision::Day,
    ];

    /// The precisions of the time series.
    const TIME_SERIES: [Precision; 8] = [
        Precision::Minute,
        Precision::FiveMinutes,
        Precision::FifteenMinutes,
        Precision::Hour,
        Precision::TwelveHours,
        Precision::Day,
        Precision::Week,
        Precision::Month,
    ];

    /// The parameter's spelling.
    pub(super) fn name(self) -> &'static str {
        match self {
            Precision::Minute => "1min",
            Precision::FiveMinutes => "5min",
            Precision::FifteenMinutes => "15min",
            Precision::Hour => "hour",
            Precision::TwelveHours => "12hr",
            Precision::Day => "day",
            Precision::Week => "week",
            Precision::Month => "month",
        }
    }

    /// The bucket length in minutes of the precisions that follow local time.
    fn local_minutes(self) -> Option<u32> {
        match self {
            Precision::Minute => Some(1),
            Precision::FiveMinutes => Some(5),
            Precision::FifteenMinutes => Some(15),
            Precision::Hour => Some(60),
            Precision::TwelveHours => Some(720),
            Precision::Day | Precision::Week | Precision::Month => None,
        }
    }

    /// The shortest bucket, in minutes (for bounding the number of buckets).
    fn shortest_minutes(self) -> i64 {
        match self.local_minutes() {
            // A DST change can shorten one local bucket by up to an hour.
            Some(minutes) => i64::from(minutes).min(60),
            None => match self {
                Precision::Day => 1_440,
                Precision::Week => 10_080,
                _ => 28 * 1_440,
            },
        }
    }

    /// The precision used when the request names none, for a window of `span` wall-clock time.
    ///
    /// Summary and group-by: the finest whose longest window holds the window (`1min` up to 24
    /// hours, `15min` up to 48 hours, `hour` up to 31 days, else `day`), so the window is
    /// rounded as little as an explicit request may round it. SparkPost's table:
    /// "`1min` … 24 hours | `5min` … 24 hours | `15min` … 48 hours | `hour` … 31 days | `day` …
    /// No max".
    ///
    /// Time series: what SparkPost's own reports pick (SparkPost/2web2ui #1909: "select 1 min
    /// when range is up to 8 hours", "select hour when range is up to 10 days"), so `1min` up to
    /// 8 hours, `hour` up to 10 days, else `day`; past [`MAX_BUCKETS`] days, `week`, then
    /// `month`.
    fn fitting(kind: WindowKind, span: TimeDelta) -> Precision {
        let minutes = span.num_minutes();
        match kind {
            WindowKind::TimeSeries => {
                if minutes <= 8 * 60 {
                    Precision::Minute
                } else if minutes <= 10 * 1_440 {
                    Precision::Hour
                } else if minutes / 1_440 + 2 <= MAX_BUCKETS {
                    Precision::Day
                } else if minutes / 10_080 + 2 <= MAX_BUCKETS {
                    Precision::Week
                } else {
                    Precision::Month
                }
            }
            _ => Precision::AGGREGATE
                .into_iter()
                .find(|p| p.max_window().is_none_or(|max| span <= max))
                .unwrap_or(Precision::Day),
        }
    }

    /// The longest window SparkPost allows at this precision.
    fn max_window(self) -> Option<TimeDelta> {
        match self {
            Precision::Minute | Precision::FiveMinutes => TimeDelta::try_hours(24),
            Precision::FifteenMinutes => TimeDelta::try_hours(48),
            Precision::Hour => TimeDelta::try_days(31),
            _ => None,
        }
    }
}

/// Which kind of endpoint reads the window, deciding the parameters that apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WindowKind {
    /// Summary and group-by: `precision` from [`Precision::AGGREGATE`], `from` required.
    Aggregate,
    /// The time series: every precision, `from` required.
    TimeSeries,
    /// The reason breakdowns: no `precision` (whole minutes, no longest window), `from` required.
    Breakdown,
    /// The discoverability lists: like breakdowns, but `from` is optional (everything kept).
    List,
}

/// A checked, rounded window.
#[derive(Clone, Debug)]
pub(super) struct Window {
    /// What the store is asked about.
    pub range: TimeRange,
    /// The requested time zone.
    pub tz: Tz,
    /// The precision.
    pub precision: Precision,
    /// The rounded start and end as local wall-clock times (for the local precisions).
    local_start: NaiveDateTime,
    local_end: NaiveDateTime,
}

/// Which instant a repeated local time stands for.
#[derive(Clone, Copy)]
enum Pick {
    Earliest,
    Latest,
    /// The earliest not before this instant (for `to` = now).
    NotBefore(DateTime<Utc>),
}

/// Reads and checks `from`, `to`, `timezone` and `precision`; every bad one is named.
pub(super) fn parse(
    params: &Params,
    kind: WindowKind,
    now: DateTime<Utc>,
) -> Result<Window, MetricsError> {
    let mut errors = Vec::new();
    let tz = match params.get("timezone") {
        None => Some(Tz::UTC),
        Some(name) => match name.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.push(invalid(
                    "timezone",
                    format!(
                        "unknown time zone `{name}`: use an IANA name such as America/New_York"
                    ),
                ));
                None
            }
        },
    };
    // `Some(None)`: the request names no precision; one is chosen once the window is known.
    let precision = parse_precision(params, kind)
        .map_err(|e| errors.push(e))
        .ok();
    let from = match params.get("from") {
        Some(text) => parse_local(text)
            .map(Some)
            .ok_or_else(|| errors.push(bad_time("from", text)))
            .ok(),
        None if kind == WindowKind::List => Some(None),
        None => {
            errors.push(invalid("from", "from is required (YYYY-MM-DDTHH:MM)"));
            None
        }
    };
    let to = match params.get("to") {
        Some(text) => parse_local(text)
            .map(Some)
            .ok_or_else(|| errors.push(bad_time("to", text)))
            .ok(),
        None => Some(None),
    };
    let (Some(tz), Some(precision), Some(from), Some(to)) = (tz, precision, from, to) else {
        return Err(MetricsError::bad(errors));
    };

    let to_local = to.unwrap_or_else(|| now.with_timezone(&tz).naive_local());
    let to_pick = match to {
        Some(_) => Pick::Latest,
        None => Pick::NotBefore(now),
    };
    let window = match from {
        Some(from_local) => {
            if from_local >= to_local {
                return Err(MetricsError::bad_param(
                    "to",
                    format!("to ({to_local}) must be after from ({from_local})"),
                ));
            }
            let Some(precision) = precision else {
                // None asked for: one that fits the window.
                let fitting = Precision::fitting(kind, to_local - from_local);
                return finish(kind, round(tz, fitting, from_local, to_local, to_pick));
            };
            // One asked for must hold the window.
            let limited = matches!(kind, WindowKind::Aggregate | WindowKind::TimeSeries);
            if let Some(max) = precision.max_window().filter(|_| limited) {
                if to_local - from_local > max {
                    return Err(MetricsError::bad_param(
                        "precision",
                        format!(
                            "precision {} allows a window of at most {}; from {from_local} to \
                             {to_local} is longer: choose a coarser precision or a shorter window",
                            precision.name(),
                            describe(max)
                        ),
                    ));
                }
            }
            round(tz, precision, from_local, to_local, to_pick)
        }
        None => everything_until(
            tz,
            precision.unwrap_or(Precision::Minute),
            to_local,
            to_pick,
        ),
    };
    finish(kind, window)
}

/// Checks a rounded window: not out of range, not empty, not too many buckets.
fn finish(kind: WindowKind, window: Option<Window>) -> Result<Window, MetricsError> {
    let window = window.ok_or_else(|| {
        MetricsError::bad_param("from", "from or to is out of the supported range")
    })?;
    let precision = window.precision;
    if window.range.from >= window.range.to {
        return Err(MetricsError::bad_param(
            "to",
            "the window is empty in this time zone (both ends fall into the same DST gap)",
        ));
    }
    if kind == WindowKind::TimeSeries {
        let minutes = (window.range.to - window.range.from).num_minutes();
        let most = minutes / precision.shortest_minutes() + 2;
        if most > MAX_BUCKETS {
            return Err(MetricsError::bad_param(
                "precision",
                format!(
                    "a time series holds at most {MAX_BUCKETS} buckets; this window needs more at \
                     precision {}: choose a coarser precision or a shorter window",
                    precision.name()
                ),
            ));
        }
    }
    Ok(window)
}

/// The requested precision: `None` when the request names none (or the endpoint takes none).
fn parse_precision(
    params: &Params,
    kind: WindowKind,
) -> Result<Option<Precision>, crate::ErrorEntry> {
    let allowed: &[Precision] = match kind {
        WindowKind::Aggregate => &Precision::AGGREGATE,
        WindowKind::TimeSeries => &Precision::TIME_SERIES,
        // Whole minutes, no longest window.
        WindowKind::Breakdown | WindowKind::List => return Ok(Some(Precision::Minute)),
    };
    let Some(text) = params.get("precision") else {
        return Ok(None);
    };
    allowed
        .iter()
        .copied()
        .find(|p| p.name() == text)
        .map(Some)
        .ok_or_else(|| {
            let names: Vec<_> = allowed.iter().map(|p| p.name()).collect();
            invalid(
                "precision",
                format!(
                    "precision must be one of {}, got `{text}`",
                    names.join(", ")
                ),
            )
        })
}

fn bad_time(param: &str, text: &str) -> crate::ErrorEntry {
    invalid(
        param,
        format!(
            "{param} must be a date and time as YYYY-MM-DDTHH:MM (seconds optional), got `{text}`"
        ),
    )
}

fn describe(span: TimeDelta) -> String {
    if span.num_hours() <= 48 {
        format!("{} hours", span.num_hours())
    } else {
        format!("{} days", span.num_days())
    }
}

/// `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`.
fn parse_local(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

fn round(
    tz: Tz,
    precision: Precision,
    from: NaiveDateTime,
    to: NaiveDateTime,
    to_pick: Pick,
) -> Option<Window> {
    match precision.local_minutes() {
        Some(step) => {
            let local_start = floor_local(from, step)?;
            let local_end = ceil_local(to, step)?;
            Some(Window {
                range: TimeRange {
                    from: floor_minute(resolve(tz, local_start, Pick::Earliest)?)?,
                    to: ceil_minute(resolve(tz, local_end, to_pick)?)?,
                },
                tz,
                precision,
                local_start,
                local_end,
            })
        }
        None => {
            let from = floor_utc(precision, resolve(tz, from, Pick::Earliest)?)?;
            let to = ceil_utc(precision, resolve(tz, to, to_pick)?)?;
            Some(Window {
                range: TimeRange { from, to },
                tz,
                precision,
                local_start: from.naive_utc(),
                local_end: to.naive_utc(),
            })
        }
    }
}

/// A window without `from`: from the Unix epoch (everything the store keeps) to `to`.
fn everything_until(
    tz: Tz,
    precision: Precision,
    to: NaiveDateTime,
    to_pick: Pick,
) -> Option<Window> {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let window = round(tz, precision, epoch.naive_utc(), to, to_pick)?;
    Some(Window {
        range: TimeRange {
            from: epoch,
            to: window.range.to.max(epoch),
        },
        ..window
    })
}

fn minutes_of_day(at: NaiveDateTime) -> u32 {
    at.hour() * 60 + at.minute()
}

fn floor_local(at: NaiveDateTime, step: u32) -> Option<NaiveDateTime> {
    let minutes = minutes_of_day(at) / step * step;
    let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)?;
    Some(at.date().and_time(time))
}

fn ceil_local(at: NaiveDateTime, step: u32) -> Option<NaiveDateTime> {
    let floor = floor_local(at, step)?;
    if floor == at {
        Some(at)
    } else {
        floor.checked_add_signed(TimeDelta::try_minutes(i64::from(step))?)
    }
}

fn floor_minute(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.timestamp().div_euclid(60) * 60, 0)
}

fn ceil_minute(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let floor = floor_minute(at)?;
    if floor == at {
        Some(at)
    } else {
        floor.checked_add_signed(TimeDelta::try_minutes(1)?)
    }
}

fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

fn floor_utc(precision: Precision, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let date = at.date_naive();
    let day = match precision {
        Precision::Week => date.checked_sub_signed(TimeDelta::try_days(i64::from(
            date.weekday().num_days_from_monday(),
        ))?)?,
        Precision::Month => date.with_day(1)?,
        _ => date,
    };
    Some(start_of_day(day))
}

fn next_utc(precision: Precision, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match precision {
        Precision::Week => start.checked_add_signed(TimeDelta::try_days(7)?),
        Precision::Month => start.checked_add_months(Months::new(1)),
        _ => start.checked_add_signed(TimeDelta::try_days(1)?),
    }
}

fn ceil_utc(precision: Precision, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let floor = floor_utc(precision, at)?;
    if floor == at {
        Some(at)
    } else {
        next_utc(precision, floor)
    }
}

/// Every instant at which the local clock of `tz` shows `local`; a skipped local time stands
/// for the end of its gap.
fn instants(tz: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => vec![at.with_timezone(&Utc)],
        LocalResult::Ambiguous(first, second) => {
            vec![first.with_timezone(&Utc), second.with_timezone(&Utc)]
        }
        LocalResult::None => gap_end(tz, local).into_iter().collect(),
    }
}

fn resolve(tz: Tz, local: NaiveDateTime, pick: Pick) -> Option<DateTime<Utc>> {
    let candidates = instants(tz, local);
    match pick {
        Pick::Earliest => candidates.first().copied(),
        Pick::Latest => candidates.last().copied(),
        Pick::NotBefore(now) => candidates
            .iter()
            .copied()
            .find(|at| *at >= now)
            .or_else(|| candidates.last().copied()),
    }
}

/// The first whole minute at which the local clock has passed `local`, a time the clock skips.
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let clock = |minute: i64| {
        DateTime::from_timestamp(minute * 60, 0).map(|at| at.with_timezone(&tz).naive_local())
    };
    let guess = local.and_utc().timestamp().div_euclid(60);
    // Offsets are within ±24 hours, so the clock is behind `local` a day earlier and past it
    // a day later.
    let (mut behind, mut past) = (guess - 1_440, guess + 1_440);
    while past - behind > 1 {
        let middle = behind + (past - behind) / 2;
        if clock(middle)? > local {
            past = middle;
        } else {
            behind = middle;
        }
    }
    DateTime::from_timestamp(past * 60, 0)
}

impl Window {
    /// The starts of the time-series buckets: whole minutes, ascending, the first at
    /// `range.from`.
    pub(super) fn bucket_starts(&self) -> Vec<DateTime<Utc>> {
        let mut starts = BTreeSet::new();
        match self.precision.local_minutes() {
            Some(step) => {
                // Walk the local clock a day beyond both ends, so that times repeated or skipped
                // by a DST change are all seen, and keep what falls inside the range.
                let (Some(day), Some(step_delta)) = (
                    TimeDelta::try_days(1),
                    TimeDelta::try_minutes(i64::from(step)),
                ) else {
                    return vec![self.range.from];
                };
                let mut local = self
                    .local_start
                    .checked_sub_signed(day)
                    .unwrap_or(self.local_start);
                let last = self
                    .local_end
                    .checked_add_signed(day)
                    .unwrap_or(self.local_end);
                while local <= last {
                    for at in instants(self.tz, local) {
                        if let Some(at) = floor_minute(at) {
                            if self.range.from <= at && at < self.range.to {
                                starts.insert(at);
                            }
                        }
                    }
                    match local.checked_add_signed(step_delta) {
                        Some(next) => local = next,
                        None => break,
                    }
                }
            }
            None => {
                let mut at = Some(self.range.from);
                while let Some(start) = at.filter(|start| *start < self.range.to) {
                    starts.insert(start);
                    at = next_utc(self.precision, start);
                }
            }
        }
        starts.insert(self.range.from);
        starts.into_iter().collect()
    }

    /// How a bucket start is written in `ts`: in the requested time zone with its offset, or in
    /// UTC for `day`, `week` and `month`.
    pub(super) fn timestamp(&self, start: DateTime<Utc>) -> String {
        const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%:z";
        match self.precision.local_minutes() {
            Some(_) => start.with_timezone(&self.tz).format(FORMAT).to_string(),
            None => start.format(FORMAT).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn window(query: &str, kind: WindowKind) -> Result<Window, MetricsError> {
        parse(
            &Params::parse(Some(query)),
            kind,
            at("2024-06-01T12:00:00Z"),
        )
    }

    fn range(query: &str, kind: WindowKind) -> (DateTime<Utc>, DateTime<Utc>) {
        let w = window(query, kind).unwrap();
        (w.range.from, w.range.to)
    }

    #[test]
    fn rounds_like_sparkposts_table() {
        let base = "from=2024-03-05T04:22&to=2024-03-05T06:37";
        for (precision, from, to) in [
            ("1min", "04:22", "06:37"),
            ("5min", "04:20", "06:40"),
            ("15min", "04:15", "06:45"),
            ("hour", "04:00", "07:00"),
        ] {
            assert_eq!(
                range(
                    &format!("{base}&precision={precision}"),
                    WindowKind::Aggregate
                ),
                (
                    at(&format!("2024-03-05T{from}:00Z")),
                    at(&format!("2024-03-05T{to}:00Z"))
                ),
                "{precision}"
            );
        }
        assert_eq!(
            range(&format!("{base}&precision=day"), WindowKind::Aggregate),
            (at("2024-03-05T00:00:00Z"), at("2024-03-06T00:00:00Z"))
        );
        // Seconds round too.
        assert_eq!(
            range(
                "from=2024-03-05T04:22:30&to=2024-03-05T06:37:01",
                WindowKind::Breakdown
            ),
            (at("2024-03-05T04:22:00Z"), at("2024-03-05T06:38:00Z"))
        );
    }

    #[test]
    fn utc_precisions_ignore_the_time_zone() {
        let (from, to) = range(
            "from=2024-03-06T22:00&to=2024-03-20T01:00&timezone=America/New_York&precision=week",
            WindowKind::TimeSeries,
        );
        // 22:00 in New York on Wednesday the 6th is 03:00 UTC on the 7th: the week of Monday 4th.
        assert_eq!(from, at("2024-03-04T00:00:00Z"));
        assert_eq!(to, at("2024-03-25T00:00:00Z"));
        let w = window(
            "from=2024-01-31T10:00&to=2024-03-02T00:00&precision=month",
            WindowKind::TimeSeries,
        )
        .unwrap();
        let starts: Vec<_> = w.bucket_starts().iter().map(|s| w.timestamp(*s)).collect();
        assert_eq!(
            starts,
            [
                "2024-01-01T00:00:00+00:00",
                "2024-02-01T00:00:00+00:00",
                "2024-03-01T00:00:00+00:00"
            ]
        );
    }

    #[test]
    fn local_hours_follow_dst() {
        // 2024-11-03 in New York: 01:00–02:00 happens twice; the day has 25 hours.
        let w = window(
            "from=2024-11-03T00:00&to=2024-11-04T00:00&timezone=America/New_York&precision=hour",
            WindowKind::TimeSeries,
        )
        .unwrap();
        let starts = w.bucket_starts();
        assert_eq!(starts.len(), 25);
        assert_eq!(w.timestamp(starts[1]), "2024-11-03T01:00:00-04:00");
        assert_eq!(w.timestamp(starts[2]), "2024-11-03T01:00:00-05:00");
        assert_eq!(w.timestamp(starts[24]), "2024-11-03T23:00:00-05:00");
        // 2024-03-10: 02:00–03:00 is skipped; the day has 23 hours.
        let w = window(
            "from=2024-03-10T00:00&to=2024-03-11T00:00&timezone=America/New_York&precision=hour",
            WindowKind::TimeSeries,
        )
        .unwrap();
        let starts: Vec<_> = w.bucket_starts().iter().map(|s| w.timestamp(*s)).collect();
        assert_eq!(starts.len(), 23);
        assert_eq!(starts[2], "2024-03-10T03:00:00-04:00");
    }

    #[test]
    fn half_hour_offsets_round_in_local_time() {
        let (from, to) = range(
            "from=2024-03-05T10:10&to=2024-03-05T11:10&timezone=Asia/Kolkata&precision=hour",
            WindowKind::Aggregate,
        );
        assert_eq!(from, at("2024-03-05T04:30:00Z"));
        assert_eq!(to, at("2024-03-05T06:30:00Z"));
    }

    #[test]
    fn a_skipped_local_time_means_the_end_of_the_gap() {
        let (from, _) = range(
            "from=2024-03-10T02:30&to=2024-03-10T05:00&timezone=America/New_York",
            WindowKind::Breakdown,
        );
        assert_eq!(from, at("2024-03-10T07:00:00Z"), "03:00 EDT");
        // A repeated local time: from takes the first, to the last.
        let (from, to) = range(
            "from=2024-11-03T01:30&to=2024-11-03T01:45&timezone=America/New_York",
            WindowKind::Breakdown,
        );
        assert_eq!(from, at("2024-11-03T05:30:00Z"));
        assert_eq!(to, at("2024-11-03T06:45:00Z"));
    }

    #[test]
    fn windows_are_limited_per_precision() {
        let ok = "from=2024-03-01T00:00&to=2024-03-02T00:00";
        assert!(window(ok, WindowKind::Aggregate).is_ok());
        assert!(window(
            "from=2024-03-01T00:00&to=2024-03-02T00:01&precision=1min",
            WindowKind::Aggregate
        )
        .is_err());
        assert!(window(
            "from=2024-03-01T00:00&to=2024-03-02T00:01&precision=15min",
            WindowKind::Aggregate
        )
        .is_ok());
        assert!(window(
            "from=2024-03-01T00:00&to=2024-04-01T00:01&precision=hour",
            WindowKind::Aggregate
        )
        .is_err());
        assert!(window(
            "from=2020-03-01T00:00&to=2024-04-01T00:01&precision=day",
            WindowKind::Aggregate
        )
        .is_ok());
        assert!(
            window(
                "from=2020-03-01T00:00&to=2024-04-01T00:01",
                WindowKind::Breakdown
            )
            .is_ok(),
            "breakdowns have no precision and no longest window"
        );
        // A 25-hour local day is 24 hours of wall-clock time.
        assert!(window(
            "from=2024-11-03T00:00&to=2024-11-04T00:00&timezone=America/New_York",
            WindowKind::Aggregate
        )
        .is_ok());
        assert!(window(
            "from=1990-01-01T00:00&to=2024-04-01T00:00&precision=day",
            WindowKind::TimeSeries
        )
        .is_err());
    }

    /// The precision chosen without one, and the window it rounds to.
    fn chosen(query: &str, kind: WindowKind) -> (&'static str, DateTime<Utc>, DateTime<Utc>) {
        let w = window(query, kind).unwrap();
        (w.precision.name(), w.range.from, w.range.to)
    }

    #[test]
    fn without_precision_an_aggregate_window_is_rounded_as_little_as_allowed() {
        for (from, to, precision, rounded_from, rounded_to) in [
            (
                "2024-03-05T04:22",
                "2024-03-06T04:22",
                "1min",
                "2024-03-05T04:22",
                "2024-03-06T04:22",
            ),
            (
                "2024-03-05T04:22",
                "2024-03-06T06:37",
                "15min",
                "2024-03-05T04:15",
                "2024-03-06T06:45",
            ),
            (
                "2024-03-01T04:22",
                "2024-03-08T06:37",
                "hour",
                "2024-03-01T04:00",
                "2024-03-08T07:00",
            ),
            (
                "2024-03-01T04:22",
                "2024-04-01T04:22",
                "hour",
                "2024-03-01T04:00",
                "2024-04-01T05:00",
            ),
            (
                "2024-03-01T04:22",
                "2024-04-01T04:23",
                "day",
                "2024-03-01T00:00",
                "2024-04-02T00:00",
            ),
            (
                "2023-12-01T00:00",
                "2024-06-01T00:00",
                "day",
                "2023-12-01T00:00",
                "2024-06-01T00:00",
            ),
        ] {
            assert_eq!(
                chosen(&format!("from={from}&to={to}"), WindowKind::Aggregate),
                (
                    precision,
                    at(&format!("{rounded_from}:00Z")),
                    at(&format!("{rounded_to}:00Z"))
                ),
                "{from} – {to}"
            );
        }
    }

    #[test]
    fn without_precision_a_time_series_gets_sparkposts_recommended_one() {
        for (from, to, precision) in [
            ("2024-03-05T04:00", "2024-03-05T12:00", "1min"),
            ("2024-03-05T04:00", "2024-03-05T12:01", "hour"),
            ("2024-03-01T00:00", "2024-03-11T00:00", "hour"),
            ("2024-03-01T00:00", "2024-03-11T00:01", "day"),
            ("2023-12-01T00:00", "2024-06-01T00:00", "day"),
            ("1990-01-01T00:00", "2024-04-01T00:00", "week"),
        ] {
            let query = format!("from={from}&to={to}");
            assert_eq!(
                chosen(&query, WindowKind::TimeSeries).0,
                precision,
                "{query}"
            );
        }
        // 25 hours of New York wall-clock time is still within a day of local hours.
        let w = window(
            "from=2024-11-03T00:00&to=2024-11-04T00:00&timezone=America/New_York",
            WindowKind::TimeSeries,
        )
        .unwrap();
        assert_eq!(
            (w.precision, w.bucket_starts().len()),
            (Precision::Hour, 25)
        );
    }

    #[test]
    fn lists_default_to_everything_until_now() {
        let (from, to) = range("", WindowKind::List);
        assert_eq!(from, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(to, at("2024-06-01T12:00:00Z"));
        assert!(window("", WindowKind::Breakdown).is_err());
    }
}
