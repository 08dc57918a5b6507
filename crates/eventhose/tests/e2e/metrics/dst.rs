//! A local day in New York that has a daylight-saving change: hourly buckets follow the local
//! clock (25 or 23 of them, the `ts` offset switching), `12hr` buckets last 13 or 11 hours, and
//! `day` buckets stay UTC.

use serde_json::{json, Value};

use super::api::{eventually_equal, ingest_all};
use super::clock::{civil_from_days, new_york_changes, new_york_offset, DAY, HOUR, MINUTE};
use super::events::event;
use super::reference::{facts, Filter, Totals};
use super::series::{expected_series, series, ts, utc_buckets, Bucket};
use super::{row, summary};
use crate::harness::*;

const NY: &str = "America/New_York";

/// Buckets of `step` seconds from `start` to `end`, each written with New York's offset then.
fn new_york_buckets(start: i64, end: i64, step: i64) -> Vec<Bucket> {
    (0..(end - start) / step)
        .map(|i| {
            let at = start + i * step;
            Bucket {
                start: at,
                end: at + step,
                ts: ts(at, new_york_offset(at)),
            }
        })
        .collect()
}

#[tokio::test]
async fn metrics_time_series_across_a_new_york_dst_change() {
    // The next change at least two days ahead (future data is kept by every retention rule).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (year, _, _) = civil_from_days(now / DAY);
    let change = [year, year + 1]
        .into_iter()
        .flat_map(|y| {
            let (spring, fall) = new_york_changes(y);
            [spring, fall]
        })
        .find(|c| *c > now + 2 * DAY)
        .expect("a change within two years");
    let (before, after) = (new_york_offset(change - 1), new_york_offset(change));
    assert_ne!(before, after);
    let local_day = (change + before).div_euclid(DAY);
    let day_start = local_day * DAY - before;
    let day_end = (local_day + 1) * DAY - after;
    let hours_in_day = (day_end - day_start) / HOUR;
    assert_eq!(hours_in_day, if after < before { 25 } else { 23 });

    // Every UTC hour from three before the local day to three after: 1–4 injections (so that
    // a bucket shifted by an hour shows), and a delivery every other hour.
    let mut events = Vec::new();
    let first_hour = day_start - 3 * HOUR;
    for i in 0..hours_in_day + 6 {
        let hour = first_hour + i * HOUR;
        for (j, minute) in [7, 19, 31, 43]
            .into_iter()
            .take(usize::try_from(i % 4 + 1).unwrap())
            .enumerate()
        {
            events.push(event(
                "injection",
                hour + minute * MINUTE,
                json!({"campaign_id": "dst", "message_id": format!("dst-{i}-{j}")}),
            ));
        }
        if i % 2 == 0 {
            events.push(event(
                "delivery",
                hour + 50 * MINUTE,
                json!({"campaign_id": "dst", "message_id": format!("dst-{i}-0"), "num_retries": "0", "queue_time": "100", "msg_size": "10"}),
            ));
        }
    }
    let facts = facts(&events);
    let dir = tempfile::tempdir().unwrap();
    // The events lie up to months ahead: allow a clock skew that reaches past them.
    let skew = (day_end + 4 * HOUR - now).to_string();
    let server = Server::start(
        dir.path(),
        &[("EVENTHOSE_INGEST__MAX_CLOCK_SKEW_SECS", &skew)],
    );
    ingest_all(&server, &events).await;
    let none = Filter::default();
    let (lo, hi) = (first_hour, first_hour + (hours_in_day + 6) * HOUR);
    let everything = vec![Value::Object(row(
        &Totals::of(super::reference::select(&facts, lo, hi, &none)),
        &super::reference::METRICS,
    ))];
    eventually_equal("every DST event counted", &everything, || async {
        summary(&server, lo, hi, &[("precision", "hour".to_string())]).await
    })
    .await;

    let metrics = ["count_injected", "count_delivered", "count_targeted"];
    let wanted = metrics.join(",");
    let local = |hour: i64| local_day * DAY + hour * HOUR; // wall-clock seconds of the local day
    let noon = local(12) - after;
    let cases: Vec<(&str, i64, i64, Vec<Bucket>)> = vec![
        (
            "hour",
            local(0),
            local(24),
            new_york_buckets(day_start, day_end, HOUR),
        ),
        (
            "15min",
            local(0),
            local(4),
            new_york_buckets(day_start, local(4) - after, 15 * MINUTE),
        ),
        (
            "12hr",
            local(0),
            local(24),
            vec![
                Bucket {
                    start: day_start,
                    end: noon,
                    ts: ts(day_start, before),
                },
                Bucket {
                    start: noon,
                    end: day_end,
                    ts: ts(noon, after),
                },
            ],
        ),
        // day buckets are UTC days: the local day spans two of them.
        (
            "day",
            local(0),
            local(24),
            utc_buckets("day", day_start, day_end),
        ),
    ];
    for (precision, from_local, to_local, buckets) in cases {
        let expected = expected_series(&facts, &none, &metrics, &buckets);
        let actual = series(&server, precision, NY, from_local, to_local, &wanted, &[]).await;
        assert_eq!(
            actual,
            Value::Array(expected),
            "{precision} in {NY} on a DST day"
        );
    }

    // The summary of the local day covers its 23 or 25 hours.
    let mut query = super::window(local(0), local(24), &wanted);
    query.push(("timezone", NY.to_string()));
    let body = super::api::ok(&server, "/api/v1/metrics/deliverability", &query).await;
    let expected = Totals::of(super::reference::select(&facts, day_start, day_end, &none));
    assert_eq!(
        body["results"],
        json!([row(&expected, &metrics)]),
        "the local day's summary"
    );
}
