//! Unique metrics count each message once across commits and restarts: the engagement ledger is
//! stored with the counters.

use serde_json::{json, Value};

use super::api::{eventually_equal, ingest_all, ok};
use super::clock::DAY;
use super::events::{edge_cases, event, hms};
use super::reference::{facts, Filter, Totals, METRICS, TIME_SERIES_ONLY};
use super::{base_day, row, window};
use crate::harness::*;

/// Ingests `more`, then waits until the day's summary and clicks by link match `all`.
async fn add_and_check(
    server: &Server,
    base: i64,
    all: &mut Vec<Value>,
    more: Vec<Value>,
    what: &str,
) {
    ingest_all(server, &more).await;
    all.extend(more);
    let f = facts(all);
    let none = Filter::default();
    let metrics: Vec<&str> = METRICS
        .iter()
        .chain(TIME_SERIES_ONLY.iter())
        .copied()
        .collect();
    // The summary does not take the time-series-only metrics: a one-bucket day series does.
    let expected = json!([row(
        &Totals::of(super::reference::select(&f, base, base + DAY, &none)),
        &METRICS
    )]);
    eventually_equal(what, &expected, || async {
        ok(
            server,
            "/api/v1/metrics/deliverability",
            &window(base, base + DAY, &METRICS.join(",")),
        )
        .await["results"]
            .clone()
    })
    .await;
    let mut query = window(base, base + DAY, &metrics.join(","));
    query.push(("precision", "day".into()));
    let series = ok(server, "/api/v1/metrics/deliverability/time-series", &query).await;
    let totals = Totals::of(super::reference::select(&f, base, base + DAY, &none));
    let mut day = row(&totals, &metrics);
    day.insert("ts".into(), json!(super::series::ts(base, 0)));
    assert_eq!(series["results"], json!([day]), "{what}: the day's series");

    let links = ok(
        server,
        "/api/v1/metrics/deliverability/link-name",
        &window(base, base + DAY, "count_clicked,count_raw_clicked"),
    )
    .await;
    // (every click, link, each message once per link)
    let mut expected_links: Vec<(u64, String, u64)> = Vec::new();
    for fact in &f {
        if let Some(super::reference::Detail::Click {
            link,
            first_on_link,
        }) = &fact.detail
        {
            match expected_links.iter_mut().find(|(_, l, _)| l == link) {
                Some(entry) => {
                    entry.0 += 1;
                    entry.2 += u64::from(*first_on_link);
                }
                None => expected_links.push((1, link.clone(), u64::from(*first_on_link))),
            }
        }
    }
    expected_links.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let expected_links: Vec<Value> = expected_links
        .into_iter()
        .map(|(clicked, link, raw)| json!({"link_name": link, "count_clicked": clicked, "count_raw_clicked": raw}))
        .collect();
    assert_eq!(
        links["results"],
        json!(expected_links),
        "{what}: clicks by link"
    );
}

#[tokio::test]
async fn metrics_unique_counts_survive_commits_and_restarts() {
    let base = base_day();
    let t = |h, m| hms(base, h, m, 0);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut all = Vec::new();
    add_and_check(&server, base, &mut all, edge_cases(base), "the edge cases").await;

    // Later engagement of the same messages, in a later commit: counted, but not as unique.
    let m = |id: &str, extra: Value| {
        let mut fields = json!({"message_id": id, "campaign_id": "edge-engage"});
        if let (Value::Object(f), Value::Object(e)) = (&mut fields, extra) {
            f.extend(e);
        }
        fields
    };
    let second = vec![
        event("open", t(3, 0), m("edge-m1", json!({}))),
        event("initial_open", t(3, 1), m("edge-m1", json!({}))),
        event(
            "click",
            t(3, 2),
            m("edge-m1", json!({"target_link_name": "Buy now"})),
        ),
        event(
            "click",
            t(3, 3),
            m("edge-m1", json!({"target_link_name": "Sale"})),
        ),
        event("open", t(3, 4), m("edge-m2", json!({}))),
        event(
            "amp_open",
            t(3, 5),
            m("edge-m9", json!({"prefetched": true})),
        ),
    ];
    add_and_check(&server, base, &mut all, second, "a second commit").await;

    // After an unclean stop, the stored ledger still remembers every first engagement.
    server.kill9();
    let server = Server::start(dir.path(), &[]);
    let third = vec![
        event("open", t(4, 0), m("edge-m1", json!({}))),
        event("open", t(4, 1), m("edge-m2", json!({}))),
        event("open", t(4, 2), m("edge-m9", json!({}))),
        event(
            "click",
            t(4, 3),
            m("edge-m9", json!({"target_link_name": "Sale"})),
        ),
        event(
            "click",
            t(4, 4),
            m("edge-m2", json!({"target_link_name": "Sale"})),
        ),
        event(
            "click",
            t(4, 5),
            m("edge-m2", json!({"target_link_name": "Sale"})),
        ),
    ];
    add_and_check(&server, base, &mut all, third, "after a restart").await;

    // The reference agrees that the later events added renders and clicks but few uniques.
    let f = facts(&all);
    let later = Totals::of(f.iter().filter(|x| x.minute >= t(3, 0)));
    assert_eq!(later.get("count_rendered"), 6);
    assert_eq!(
        later.get("count_unique_rendered"),
        2,
        "m2 at 03:04 and m9 at 03:05"
    );
    assert_eq!(
        later.get("count_nonprefetched_unique_rendered"),
        2,
        "m2 at 03:04, m9 at 04:02"
    );
    assert_eq!(later.get("count_unique_clicked"), 1, "m9 at 04:03");
}
