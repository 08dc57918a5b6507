//! The time series: buckets at every precision, rounding at the window's edges, a time zone
//! whose hours do not start on UTC hours, and the UTC-only precisions.

use serde_json::{Map, Value};

use super::api::ok;
use super::clock::{
    civil_from_days, days_from_civil, param_time, weekday, DAY, HOUR, KOLKATA_OFFSET, MINUTE,
};
use super::reference::{Fact, Filter, Op, Totals, METRICS, TIME_SERIES_ONLY};
use super::{loaded, row};
use crate::harness::Server;

/// One expected bucket: `[start, end)` in unix seconds and its `ts`.
#[derive(Clone, Debug)]
pub struct Bucket {
    pub start: i64,
    pub end: i64,
    pub ts: String,
}

/// `+HH:MM` / `-HH:MM` of an offset.
pub fn offset_text(offset: i64) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.abs();
    format!("{sign}{:02}:{:02}", a / HOUR, a % HOUR / MINUTE)
}

/// RFC 3339 of `seconds` as seen at `offset`.
pub fn ts(seconds: i64, offset: i64) -> String {
    let local = seconds + offset;
    let (y, mo, d) = civil_from_days(local.div_euclid(DAY));
    let rest = local.rem_euclid(DAY);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}{}",
        rest / HOUR,
        rest % HOUR / MINUTE,
        rest % MINUTE,
        offset_text(offset)
    )
}

/// Buckets of `step` seconds of local time at a fixed `offset`, for a window given as local
/// wall-clock seconds: the start rounded down, the end up.
pub fn local_buckets(from_local: i64, to_local: i64, step: i64, offset: i64) -> Vec<Bucket> {
    let first = from_local.div_euclid(step) * step;
    let last = (to_local + step - 1).div_euclid(step) * step;
    (0..(last - first) / step)
        .map(|i| {
            let start = first + i * step - offset;
            Bucket {
                start,
                end: start + step,
                ts: ts(start, offset),
            }
        })
        .collect()
}

/// UTC buckets of `day`, `week` (from Monday) or `month` precision covering `[from, to)` (UTC
/// instants, rounded outwards).
pub fn utc_buckets(precision: &str, from: i64, to: i64) -> Vec<Bucket> {
    let floor = |at: i64| -> i64 {
        let days = at.div_euclid(DAY);
        match precision {
            "day" => days * DAY,
            "week" => (days - (weekday(days) + 6) % 7) * DAY,
            "month" => {
                let (y, m, _) = civil_from_days(days);
                days_from_civil(y, m, 1) * DAY
            }
            other => panic!("not a UTC precision: {other}"),
        }
    };
    let next = |start: i64| -> i64 {
        match precision {
            "day" => start + DAY,
            "week" => start + 7 * DAY,
            _ => {
                let (y, m, _) = civil_from_days(start / DAY);
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                days_from_civil(y, m, 1) * DAY
            }
        }
    };
    let mut buckets = Vec::new();
    let mut start = floor(from);
    while start < to {
        let end = next(start);
        buckets.push(Bucket {
            start,
            end,
            ts: ts(start, 0),
        });
        start = end;
    }
    buckets
}

/// The rows a time series should answer over `buckets`.
pub fn expected_series(
    facts: &[Fact],
    filter: &Filter,
    metrics: &[&str],
    buckets: &[Bucket],
) -> Vec<Value> {
    buckets
        .iter()
        .map(|b| {
            let totals = Totals::of(super::reference::select(facts, b.start, b.end, filter));
            let mut out = Map::new();
            out.insert("ts".into(), Value::from(b.ts.clone()));
            out.extend(row(&totals, metrics));
            Value::Object(out)
        })
        .collect()
}

/// The time series' rows for local `from`/`to` (as wall-clock seconds) in `timezone`.
pub async fn series(
    server: &Server,
    precision: &str,
    timezone: &str,
    from_local: i64,
    to_local: i64,
    metrics: &str,
    extra: &[(&'static str, String)],
) -> Value {
    let mut query = vec![
        ("metrics", metrics.to_string()),
        ("precision", precision.to_string()),
        ("timezone", timezone.to_string()),
        ("from", param_time(from_local, 0)),
        ("to", param_time(to_local, 0)),
    ];
    query.extend_from_slice(extra);
    let body = ok(server, "/api/v1/metrics/deliverability/time-series", &query).await;
    body["results"].clone()
}

#[tokio::test]
async fn metrics_time_series_buckets_follow_precision_and_time_zone() {
    let l = loaded().await;
    let b = l.base;
    let at = |h: i64, m: i64| b + h * HOUR + m * MINUTE;
    let metrics: Vec<&str> = METRICS
        .iter()
        .chain(TIME_SERIES_ONLY.iter())
        .copied()
        .collect();
    let all = metrics.join(",");
    let none = Filter::default();

    // (precision, time zone, its fixed offset, local from, local to, expected buckets)
    let k = KOLKATA_OFFSET;
    let cases: Vec<(&str, &str, i64, i64, Vec<Bucket>)> = vec![
        (
            "1min",
            "UTC",
            at(2, 7),
            at(2, 53),
            local_buckets(at(2, 7), at(2, 53), MINUTE, 0),
        ),
        (
            "5min",
            "UTC",
            at(2, 22),
            at(3, 37),
            local_buckets(at(2, 22), at(3, 37), 5 * MINUTE, 0),
        ),
        (
            "15min",
            "UTC",
            at(1, 10),
            at(5, 50),
            local_buckets(at(1, 10), at(5, 50), 15 * MINUTE, 0),
        ),
        (
            "hour",
            "UTC",
            at(0, 30),
            at(6, 5),
            local_buckets(at(0, 30), at(6, 5), HOUR, 0),
        ),
        // Local hours in India start at hh:30 UTC: 09:00 local is 03:30 UTC.
        (
            "hour",
            "Asia/Kolkata",
            at(6, 10),
            at(11, 10),
            local_buckets(at(6, 10), at(11, 10), HOUR, k),
        ),
        (
            "15min",
            "Asia/Kolkata",
            at(7, 50),
            at(9, 5),
            local_buckets(at(7, 50), at(9, 5), 15 * MINUTE, k),
        ),
        (
            "12hr",
            "UTC",
            at(-4, 0),
            at(27, 0),
            local_buckets(at(-4, 0), at(27, 0), 12 * HOUR, 0),
        ),
        (
            "12hr",
            "Asia/Kolkata",
            at(0, 0),
            at(23, 0),
            local_buckets(at(0, 0), at(23, 0), 12 * HOUR, k),
        ),
        // day, week and month are UTC whatever the time zone: local 02:00 in India is 20:30 UTC
        // the day before.
        (
            "day",
            "Asia/Kolkata",
            at(2, 0),
            at(25, 0),
            utc_buckets("day", at(2, 0) - k, at(25, 0) - k),
        ),
        (
            "day",
            "UTC",
            at(-24, 0),
            at(24, 0),
            utc_buckets("day", at(-24, 0), at(24, 0)),
        ),
        (
            "week",
            "UTC",
            b - 10 * DAY,
            b + 10 * DAY,
            utc_buckets("week", b - 10 * DAY, b + 10 * DAY),
        ),
        (
            "month",
            "Asia/Kolkata",
            b - 40 * DAY,
            b + 20 * DAY,
            utc_buckets("month", b - 40 * DAY - k, b + 20 * DAY - k),
        ),
    ];
    for (precision, timezone, from_local, to_local, buckets) in cases {
        let offset = if timezone == "UTC" { 0 } else { k };
        assert!(!buckets.is_empty());
        if ["1min", "5min", "15min", "hour", "12hr"].contains(&precision) {
            // The window's edges are rounded outwards (1min: only whole minutes).
            assert!(buckets[0].start <= from_local - offset);
            assert!(buckets.last().unwrap().end >= to_local - offset);
        }
        let expected = expected_series(&l.facts, &none, &metrics, &buckets);
        let actual = series(
            &l.server,
            precision,
            timezone,
            from_local,
            to_local,
            &all,
            &[],
        )
        .await;
        assert_eq!(
            actual,
            Value::Array(expected),
            "time series at {precision} in {timezone} from {} to {}",
            param_time(from_local, 0),
            param_time(to_local, 0)
        );
    }

    // The edges in India: 03:29:59 UTC and 03:30:00 UTC fall into different local hours.
    let edge = Filter::default().eq("campaigns", &["edge-window"]);
    let buckets = local_buckets(at(8, 0), at(10, 0), HOUR, k);
    let expected = expected_series(&l.facts, &edge, &["count_injected"], &buckets);
    assert_eq!(
        expected[0]["count_injected"], 1,
        "08:00–09:00 IST is 02:30–03:30 UTC"
    );
    assert_eq!(
        expected[1]["count_injected"], 5,
        "09:00–10:00 IST is 03:30–04:30 UTC"
    );
    let actual = series(
        &l.server,
        "hour",
        "Asia/Kolkata",
        at(8, 0),
        at(10, 0),
        "count_injected",
        &[("campaigns", "edge-window".to_string())],
    )
    .await;
    assert_eq!(actual, Value::Array(expected));

    // A time series with query_filters.
    let filter = Filter::default().group(
        true,
        vec![
            ("campaigns", Op::Like, vec!["EDGE-"]),
            ("subaccounts", Op::Eq, vec!["2"]),
        ],
    );
    let buckets = local_buckets(at(1, 0), at(5, 0), 15 * MINUTE, 0);
    let expected = expected_series(&l.facts, &filter, &metrics, &buckets);
    let actual = series(
        &l.server,
        "15min",
        "UTC",
        at(1, 0),
        at(5, 0),
        &all,
        &[("query_filters", filter.query_filters())],
    )
    .await;
    assert_eq!(
        actual,
        Value::Array(expected),
        "time series with query_filters"
    );
}
