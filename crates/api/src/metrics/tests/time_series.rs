//! The time series: every bucket present, `ts` in the requested time zone, DST-aware buckets.

use serde_json::{json, Value};

use super::{harness, uri};

/// `(ts, count_injected)` of each row.
fn series(results: &Value) -> Vec<(String, u64)> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["ts"].as_str().unwrap().to_string(),
                row["count_injected"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn query(from: &str, to: &str, extra: &str) -> String {
    uri(
        "deliverability/time-series",
        &format!("from={from}&to={to}&metrics=count_injected&{extra}"),
    )
}

#[tokio::test]
async fn every_bucket_is_present_with_zeros() {
    let h = harness().await;
    let answer = h
        .get(&query(
            "2024-03-05T10:00",
            "2024-03-05T10:30",
            "precision=5min",
        ))
        .await;
    assert_eq!(
        series(answer.results()),
        [
            ("2024-03-05T10:00:00+00:00".to_string(), 4),
            ("2024-03-05T10:05:00+00:00".to_string(), 0),
            ("2024-03-05T10:10:00+00:00".to_string(), 0),
            ("2024-03-05T10:15:00+00:00".to_string(), 0),
            ("2024-03-05T10:20:00+00:00".to_string(), 0),
            ("2024-03-05T10:25:00+00:00".to_string(), 0),
        ]
    );
    // Other metrics land in their own buckets.
    let answer = h
        .get(&uri(
            "deliverability/time-series",
            "from=2024-03-05T10:00&to=2024-03-05T10:30&precision=15min&metrics=count_delivered,count_clicked",
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([
            { "ts": "2024-03-05T10:00:00+00:00", "count_delivered": 2, "count_clicked": 0 },
            { "ts": "2024-03-05T10:15:00+00:00", "count_delivered": 0, "count_clicked": 3 },
        ])
    );
}

#[tokio::test]
async fn ts_is_written_in_the_requested_time_zone() {
    let h = harness().await;
    // 05:00–07:00 in New York (EST) is 10:00–12:00 UTC.
    let answer = h
        .get(&query(
            "2024-03-05T05:00",
            "2024-03-05T07:00",
            "precision=hour&timezone=America/New_York",
        ))
        .await;
    assert_eq!(
        series(answer.results()),
        [
            ("2024-03-05T05:00:00-05:00".to_string(), 4),
            ("2024-03-05T06:00:00-05:00".to_string(), 1),
        ]
    );
    // Kolkata is UTC+05:30: its hours start at half past UTC hours.
    let answer = h
        .get(&query(
            "2024-03-05T15:00",
            "2024-03-05T17:00",
            "precision=hour&timezone=Asia/Kolkata",
        ))
        .await;
    assert_eq!(
        series(answer.results()),
        [
            ("2024-03-05T15:00:00+05:30".to_string(), 4),
            ("2024-03-05T16:00:00+05:30".to_string(), 1),
        ],
        "15:00 IST is 09:30 UTC; m5's 11:15 UTC is 16:45 IST"
    );
}

#[tokio::test]
async fn hourly_buckets_of_a_local_day_follow_dst() {
    let h = harness().await;
    let ny = "precision=hour&timezone=America/New_York";
    // Fall back: 25 hours, 01:00 twice.
    let answer = h
        .get(&query("2024-11-03T00:00", "2024-11-04T00:00", ny))
        .await;
    let rows = series(answer.results());
    assert_eq!(rows.len(), 25);
    assert_eq!(rows[0], ("2024-11-03T00:00:00-04:00".into(), 1));
    assert_eq!(rows[1], ("2024-11-03T01:00:00-04:00".into(), 1));
    assert_eq!(rows[2], ("2024-11-03T01:00:00-05:00".into(), 1));
    assert_eq!(rows[3], ("2024-11-03T02:00:00-05:00".into(), 0));
    assert_eq!(rows[24], ("2024-11-03T23:00:00-05:00".into(), 1));
    assert_eq!(rows.iter().map(|(_, n)| n).sum::<u64>(), 4);
    // Spring forward: 23 hours, no 02:00.
    let answer = h
        .get(&query("2024-03-10T00:00", "2024-03-11T00:00", ny))
        .await;
    let rows = series(answer.results());
    assert_eq!(rows.len(), 23);
    assert_eq!(rows[1], ("2024-03-10T01:00:00-05:00".into(), 1));
    assert_eq!(rows[2], ("2024-03-10T03:00:00-04:00".into(), 1));
}

#[tokio::test]
async fn twelve_hour_buckets_stretch_over_dst() {
    let h = harness().await;
    let answer = h
        .get(&query(
            "2024-11-03T00:00",
            "2024-11-04T00:00",
            "precision=12hr&timezone=America/New_York",
        ))
        .await;
    // The first half of the day is 13 hours long and holds three of the four injections.
    assert_eq!(
        series(answer.results()),
        [
            ("2024-11-03T00:00:00-04:00".to_string(), 3),
            ("2024-11-03T12:00:00-05:00".to_string(), 1),
        ]
    );
    // `from` and `to` inside the buckets round out to them.
    let answer = h
        .get(&query(
            "2024-11-03T05:00",
            "2024-11-03T13:00",
            "precision=12hr&timezone=America/New_York",
        ))
        .await;
    assert_eq!(series(answer.results()).len(), 2);
}

#[tokio::test]
async fn days_weeks_and_months_are_utc_whatever_the_time_zone() {
    let h = harness().await;
    let answer = h
        .get(&query(
            "2024-11-02T20:00",
            "2024-11-04T20:00",
            "precision=day&timezone=America/New_York",
        ))
        .await;
    // 2024-11-02 20:00 EDT is 2024-11-03 00:00 UTC; 2024-11-04 20:00 EST is 11-05 01:00 UTC.
    assert_eq!(
        series(answer.results()),
        [
            ("2024-11-03T00:00:00+00:00".to_string(), 3),
            ("2024-11-04T00:00:00+00:00".to_string(), 1),
            ("2024-11-05T00:00:00+00:00".to_string(), 0),
        ]
    );
    let answer = h
        .get(&query(
            "2024-03-01T00:00",
            "2024-03-20T00:00",
            "precision=week",
        ))
        .await;
    assert_eq!(
        series(answer.results()),
        [
            ("2024-02-26T00:00:00+00:00".to_string(), 0),
            ("2024-03-04T00:00:00+00:00".to_string(), 7),
            ("2024-03-11T00:00:00+00:00".to_string(), 0),
            ("2024-03-18T00:00:00+00:00".to_string(), 0),
        ],
        "the two injections of Sunday 2024-03-10 fall in the week of Monday the 4th"
    );
    let answer = h
        .get(&query(
            "2024-03-01T00:00",
            "2024-11-30T00:00",
            "precision=month",
        ))
        .await;
    let rows = series(answer.results());
    assert_eq!(rows.len(), 9);
    assert_eq!(rows[0], ("2024-03-01T00:00:00+00:00".into(), 7));
    assert_eq!(rows[8], ("2024-11-01T00:00:00+00:00".into(), 4));
}
