//! Metrics on ClickHouse (`analytics.url`), end to end: the same events through a server on
//! DuckDB and one on ClickHouse give the same Metrics API answers, JSON for JSON.

use eventhose_test_support::clickhouse::ClickHouseDatabase;

use super::api::{ok, Query};
use super::clock::{param_time, DAY, HOUR, MINUTE};
use super::reference::METRICS;
use super::{loaded, loaded_with, window};

/// One query of every kind the Metrics API answers, over `[from, to)`.
fn queries(from: i64, to: i64) -> Vec<(String, Query)> {
    let all = METRICS.join(",");
    let mut out = vec![("deliverability".to_owned(), window(from, to, &all))];
    for group in [
        "domain",
        "sending-ip",
        "ip-pool",
        "sending-domain",
        "subaccount",
        "campaign",
        "template",
        "mailbox-provider",
        "mailbox-provider-region",
    ] {
        out.push((format!("deliverability/{group}"), window(from, to, &all)));
    }
    for (precision, timezone) in [
        ("1min", "UTC"),
        ("15min", "America/New_York"),
        ("hour", "Asia/Kolkata"),
        ("day", "UTC"),
    ] {
        // SparkPost's limits: a day at most in minutes, two in quarter hours.
        let longest = match precision {
            "1min" => DAY,
            "15min" => 2 * DAY,
            _ => i64::MAX,
        };
        if to - from > longest {
            continue;
        }
        let mut query = window(
            from,
            to,
            "count_targeted,count_delivered,count_unique_rendered",
        );
        query.push(("precision", precision.to_owned()));
        query.push(("timezone", timezone.to_owned()));
        out.push(("deliverability/time-series".to_owned(), query));
    }
    let bounces = "count_bounce,count_inband_bounce,count_outofband_bounce,count_admin_bounce";
    for (path, metrics) in [
        ("bounce-reason", bounces),
        ("bounce-reason/domain", bounces),
        ("bounce-classification", bounces),
        ("rejection-reason", ""),
        ("rejection-reason/domain", ""),
        ("delay-reason", ""),
        ("delay-reason/domain", ""),
        ("attempt", ""),
        ("link-name", "count_clicked,count_raw_clicked"),
    ] {
        out.push((format!("deliverability/{path}"), window(from, to, metrics)));
    }
    for list in [
        "campaigns",
        "templates",
        "domains",
        "ip-pools",
        "sending-ips",
        "sending-domains",
        "mailbox-providers",
        "mailbox-provider-regions",
    ] {
        let mut query = window(from, to, "");
        query.retain(|(key, _)| *key != "metrics");
        out.push((list.to_owned(), query));
    }
    // Filters: simple lists, a like, and query_filters with an OR group.
    let mut simple = window(from, to, &all);
    simple.push(("domains", "gmail.com,yahoo.com".to_owned()));
    simple.push(("subaccounts", "0".to_owned()));
    out.push(("deliverability/campaign".to_owned(), simple));
    let mut filtered = window(from, to, &all);
    filtered.push((
        "query_filters",
        r#"{"groupings":[{"AND":{"campaigns":{"like":["ENGAGE","edge"]},"domains":{"notEq":["hotmail.com"]}}}]}"#
            .to_owned(),
    ));
    out.push(("deliverability/domain".to_owned(), filtered));
    out
}

#[tokio::test]
async fn metrics_answer_the_same_on_clickhouse_as_on_duckdb() {
    let database = ClickHouseDatabase::new();
    let url = database.url();
    let on_clickhouse = loaded_with(&[("EVENTHOSE_ANALYTICS__URL", url.as_str())]).await;
    let on_duckdb = loaded().await;
    assert_eq!(on_clickhouse.base, on_duckdb.base);
    let base = on_duckdb.base;
    // The whole day, and a window with edge minutes and hours around two whole days.
    for (from, to) in [
        (base, base + DAY),
        (
            base - DAY - 53 * MINUTE,
            base + DAY + 5 * HOUR + 13 * MINUTE,
        ),
    ] {
        for (path, query) in queries(from, to) {
            let path = format!("/api/v1/metrics/{path}");
            let duckdb = ok(&on_duckdb.server, &path, &query).await;
            let clickhouse = ok(&on_clickhouse.server, &path, &query).await;
            assert_eq!(
                clickhouse,
                duckdb,
                "{path} from {} to {}: {query:?}",
                param_time(from, 0),
                param_time(to, 0)
            );
        }
    }
    // The comparison saw data: the day's summary counts every event on both.
    let summary = ok(
        &on_clickhouse.server,
        "/api/v1/metrics/deliverability",
        &window(base, base + DAY, "count_injected"),
    )
    .await;
    assert!(
        summary["results"][0]["count_injected"]
            .as_u64()
            .unwrap_or(0)
            > 100
    );
}
