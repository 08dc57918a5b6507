//! Bad parameters: each gets a 400 in SparkPost's error shape naming the parameter.

use serde_json::Value;

use super::api::get;
use crate::harness::*;

/// Asserts a 400 whose `errors` are SparkPost-shaped and name `param`; returns that entry.
fn named(status: u16, body: &Value, param: &str, what: &str) -> Value {
    assert_eq!(status, 400, "{what}: {body}");
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no errors array: {body}"));
    assert!(!errors.is_empty(), "{what}: {body}");
    for entry in errors {
        assert!(
            entry["message"].is_string(),
            "{what}: every entry has a message: {body}"
        );
    }
    let entry = errors
        .iter()
        .find(|e| e["param"] == param)
        .unwrap_or_else(|| panic!("{what}: no error names `{param}`: {body}"))
        .clone();
    assert!(
        entry["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: the entry explains: {body}"
    );
    entry
}

#[tokio::test]
async fn metrics_bad_parameters_are_named_in_sparkposts_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let good = [
        ("from", "2026-11-01T00:00"),
        ("to", "2026-11-01T06:00"),
        ("metrics", "count_injected,count_delivered"),
    ];
    // A good request is answered, so the failures below are about the one change each makes.
    let query = |changes: &[(&'static str, Option<&str>)]| -> Vec<(&'static str, String)> {
        let mut q: Vec<(&'static str, String)> = good
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        for (k, v) in changes {
            if let Some(v) = v {
                q.push((k, v.to_string()));
            }
        }
        q
    };
    let summary = "/api/v1/metrics/deliverability";
    let by_domain = "/api/v1/metrics/deliverability/domain";
    let series = "/api/v1/metrics/deliverability/time-series";
    for path in [summary, by_domain, series] {
        let (status, body) = get(&server, ROOT_KEY, path, &query(&[])).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    let long_qf = r#"{"groupings":[{"AND":{"domains":{"like":["ab"]}}}]}"#;
    // (what, path, changed parameters (None: removed), the parameter that must be named)
    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<(&'static str, Option<&'a str>)>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        ("missing from", summary, vec![("from", None)], "from"),
        (
            "from in another format",
            summary,
            vec![("from", Some("2026/11/01 00:00"))],
            "from",
        ),
        (
            "from not a date",
            by_domain,
            vec![("from", Some("yesterday"))],
            "from",
        ),
        (
            "to in another format",
            series,
            vec![("to", Some("2026-11-01 06:00"))],
            "to",
        ),
        (
            "to before from",
            summary,
            vec![("to", Some("2026-10-31T23:00"))],
            "to",
        ),
        (
            "unknown time zone",
            summary,
            vec![("timezone", Some("Mars/Olympus_Mons"))],
            "timezone",
        ),
        (
            "unknown precision",
            summary,
            vec![("precision", Some("2min"))],
            "precision",
        ),
        (
            "a time-series precision on the summary",
            by_domain,
            vec![("precision", Some("week"))],
            "precision",
        ),
        (
            "25 hours at 1min",
            summary,
            vec![
                ("to", Some("2026-11-02T01:00")),
                ("precision", Some("1min")),
            ],
            "precision",
        ),
        (
            "49 hours at 15min",
            series,
            vec![
                ("to", Some("2026-11-03T01:00")),
                ("precision", Some("15min")),
            ],
            "precision",
        ),
        (
            "32 days at hour",
            by_domain,
            vec![
                ("to", Some("2026-12-03T00:00")),
                ("precision", Some("hour")),
            ],
            "precision",
        ),
        (
            "missing metrics",
            summary,
            vec![("metrics", None)],
            "metrics",
        ),
        (
            "unknown metric",
            summary,
            vec![("metrics", Some("count_injected,count_nonsense"))],
            "metrics",
        ),
        (
            "an Add-On metric",
            by_domain,
            vec![("metrics", Some("count_inbox_panel"))],
            "metrics",
        ),
        (
            "a time-series-only metric on the summary",
            summary,
            vec![("metrics", Some("count_initial_rendered"))],
            "metrics",
        ),
        ("limit 0", by_domain, vec![("limit", Some("0"))], "limit"),
        (
            "limit above 10000",
            by_domain,
            vec![("limit", Some("10001"))],
            "limit",
        ),
        (
            "limit not a number",
            by_domain,
            vec![("limit", Some("ten"))],
            "limit",
        ),
        (
            "order_by not a metric",
            by_domain,
            vec![("order_by", Some("domain"))],
            "order_by",
        ),
        (
            "subaccounts not ids",
            summary,
            vec![("subaccounts", Some("seven"))],
            "subaccounts",
        ),
        (
            "query_filters not JSON",
            summary,
            vec![("query_filters", Some("{\"groupings\":["))],
            "query_filters",
        ),
        (
            "query_filters with an unknown combinator",
            series,
            vec![(
                "query_filters",
                Some(r#"{"groupings":[{"XOR":{"domains":{"eq":["a.com"]}}}]}"#),
            )],
            "query_filters",
        ),
        (
            "query_filters with an unknown key",
            by_domain,
            vec![(
                "query_filters",
                Some(r#"{"groupings":[{"AND":{"colors":{"eq":["red"]}}}]}"#),
            )],
            "query_filters",
        ),
        (
            "query_filters with values not in a list",
            summary,
            vec![(
                "query_filters",
                Some(r#"{"groupings":[{"OR":{"campaigns":{"eq":"spring"}}}]}"#),
            )],
            "query_filters",
        ),
        (
            "a like value of two characters",
            summary,
            vec![("query_filters", Some(long_qf))],
            "query_filters",
        ),
    ];
    for (what, path, changes, param) in cases {
        let q = query(&changes);
        let (status, body) = get(&server, ROOT_KEY, path, &q).await;
        let entry = named(status, &body, param, what);
        if param == "query_filters" {
            let violations = entry["validationErrors"].as_array();
            assert!(
                violations.is_some_and(|v| !v.is_empty()),
                "{what}: schema violations are attached as validationErrors: {body}"
            );
        }
        if what == "a like value of two characters" {
            assert!(
                body.to_string().contains("like"),
                "{what}: the place is named: {body}"
            );
        }
        if what == "an Add-On metric" {
            assert!(body.to_string().contains("Add-On"), "{what}: {body}");
        }
    }

    // Several bad parameters at once: each is named.
    let q = query(&[
        ("from", Some("soon")),
        ("timezone", Some("Nowhere/Special")),
        ("metrics", Some("count_bogus")),
    ]);
    let (status, body) = get(&server, ROOT_KEY, summary, &q).await;
    for param in ["from", "timezone", "metrics"] {
        named(status, &body, param, "three bad parameters");
    }

    // The breakdowns check their own metrics.
    let bounce = "/api/v1/metrics/deliverability/bounce-reason";
    let links = "/api/v1/metrics/deliverability/link-name";
    for (what, path, metrics) in [
        ("bounce-reason without metrics", bounce, None),
        (
            "bounce-reason with a metric it does not offer",
            bounce,
            Some("count_delivered"),
        ),
        (
            "link-name with a bounce metric",
            links,
            Some("count_bounce"),
        ),
        (
            "link-name with an unknown metric",
            links,
            Some("count_raw_opened"),
        ),
    ] {
        let q = query(&[("metrics", metrics)]);
        let (status, body) = get(&server, ROOT_KEY, path, &q).await;
        named(status, &body, "metrics", what);
    }
    let (status, body) = get(
        &server,
        ROOT_KEY,
        bounce,
        &query(&[("metrics", Some("count_bounce")), ("from", None)]),
    )
    .await;
    named(status, &body, "from", "bounce-reason without from");
    let (status, body) = get(
        &server,
        ROOT_KEY,
        "/api/v1/metrics/campaigns",
        &[("limit", "0".to_string())],
    )
    .await;
    named(status, &body, "limit", "a list with limit 0");

    // The Deliverability Add-On's reports are refused with an explanation.
    let (status, body) = get(
        &server,
        ROOT_KEY,
        "/api/v1/metrics/deliverability/subject-campaign",
        &query(&[]),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["errors"][0]["description"]
            .as_str()
            .is_some_and(|d| d.contains("Add-On")),
        "{body}"
    );
}
