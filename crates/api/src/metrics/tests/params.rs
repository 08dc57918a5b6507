//! Every bad parameter is a 400 naming it; keys and grants are checked first.

use axum::http::StatusCode;

use super::{encode, harness, uri, MARCH};

#[tokio::test]
async fn keys_and_the_grant_are_required_everywhere() {
    let h = harness().await;
    for path in [
        "",
        "deliverability",
        "deliverability/domain",
        "deliverability/time-series",
        "deliverability/bounce-reason",
        "deliverability/attempt",
        "deliverability/query-filters-schema",
        "deliverability/subject-campaign",
        "deliverability/watched-domain",
        "campaigns",
    ] {
        let target = uri(path, &format!("{MARCH}&metrics=count_injected"));
        let answer = h.get_with(&target, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        let answer = h.get_with(&target, Some(&h.other)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert!(answer.descriptions().contains("metrics/view"), "{path}");
    }
}

/// The parameters named by the 400 answering `query` on `path`.
async fn named(h: &super::Harness, path: &str, query: &str) -> Vec<String> {
    h.get(&uri(path, query)).await.bad_params()
}

#[tokio::test]
async fn each_bad_parameter_is_named() {
    let h = harness().await;
    let ok = "metrics=count_injected";
    for (query, param) in [
        (ok.to_string(), "from"),
        (format!("{ok}&from=2024-03-05"), "from"),
        (format!("{ok}&from=yesterday"), "from"),
        (format!("{ok}&from=2024-13-05T10:00"), "from"),
        (format!("{ok}&from=2024-03-05T10:00&to=noon"), "to"),
        (
            format!("{ok}&from=2024-03-05T10:00&to=2024-03-05T09:00"),
            "to",
        ),
        (
            format!("{ok}&from=2024-03-05T10:00&to=2024-03-05T10:00"),
            "to",
        ),
        (format!("{ok}&{MARCH}&timezone=Mars/Olympus"), "timezone"),
        (format!("{ok}&{MARCH}&precision=2min"), "precision"),
        (format!("{ok}&{MARCH}&precision=12hr"), "precision"),
        (format!("{ok}&{MARCH}&precision=week"), "precision"),
        (MARCH.to_string(), "metrics"),
        (format!("{MARCH}&metrics=,"), "metrics"),
        (
            format!("{MARCH}&metrics=count_injected,count_everything"),
            "metrics",
        ),
        (format!("{MARCH}&metrics=count_inbox_panel"), "metrics"),
        (format!("{MARCH}&metrics=count_initial_rendered"), "metrics"),
        (format!("{ok}&{MARCH}&limit=0"), "limit"),
        (format!("{ok}&{MARCH}&limit=10001"), "limit"),
        (format!("{ok}&{MARCH}&limit=many"), "limit"),
        (
            format!("{ok}&{MARCH}&order_by=count_everything"),
            "order_by",
        ),
        (format!("{ok}&{MARCH}&order_by=count_spam_seed"), "order_by"),
        (format!("{ok}&{MARCH}&subaccounts=seven"), "subaccounts"),
        (format!("{ok}&{MARCH}&subaccounts=-1"), "subaccounts"),
        (
            format!("{ok}&{MARCH}&subject_campaigns=x"),
            "subject_campaigns",
        ),
        (format!("{ok}&{MARCH}&query_filters=%7B"), "query_filters"),
    ] {
        assert_eq!(
            named(&h, "deliverability/domain", &query).await,
            [param],
            "{query}"
        );
    }
    // limit and order_by belong to the group-by endpoints: the others ignore them.
    for path in ["deliverability", "deliverability/time-series"] {
        let answer = h
            .get(&uri(path, &format!("{ok}&{MARCH}&limit=0&order_by=nope")))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    }
}

#[tokio::test]
async fn every_bad_parameter_of_one_request_is_named_at_once() {
    let h = harness().await;
    let answer = h
        .get(&uri(
            "deliverability/campaign",
            "from=soon&timezone=Nowhere&metrics=count_nope,count_inbox_seed&limit=0&subaccounts=x",
        ))
        .await;
    let mut params = answer.bad_params();
    params.sort();
    assert_eq!(
        params,
        [
            "from",
            "limit",
            "metrics",
            "metrics",
            "subaccounts",
            "timezone"
        ]
    );
    let text = answer.descriptions();
    assert!(text.contains("count_nope"), "{text}");
    assert!(text.contains("Deliverability Add-On"), "{text}");
}

#[tokio::test]
async fn metric_refusals_say_why() {
    let h = harness().await;
    let describe = |metrics: &str| uri("deliverability", &format!("{MARCH}&metrics={metrics}"));
    let answer = h.get(&describe("count_moved_to_spam")).await;
    assert!(answer.descriptions().contains("Deliverability Add-On"));
    let answer = h.get(&describe("count_unique_initial_rendered")).await;
    assert!(answer.descriptions().contains("time-series"));
    let answer = h.get(&describe("count_sends")).await;
    assert!(answer
        .descriptions()
        .contains("unknown metric `count_sends`"));
    // count_unsubscribe is accepted everywhere; initial renders on the time series.
    let answer = h.get(&describe("count_unsubscribe")).await;
    assert_eq!(answer.results()[0]["count_unsubscribe"], 1);
    let answer = h
        .get(&uri(
            "deliverability/time-series",
            &format!("{MARCH}&precision=hour&metrics=count_initial_rendered,count_unsubscribe"),
        ))
        .await;
    assert_eq!(answer.results()[0]["count_initial_rendered"], 1);
}

#[tokio::test]
async fn query_filter_violations_carry_their_paths() {
    let h = harness().await;
    let filters = r#"{"groupings":[{"AND":{"domains":{"like":["ab"]},"campaign":{"eq":["x"]}}},{"OR":{"subject_campaigns":{"eq":["s"]}}}]}"#;
    let answer = h
        .get(&uri(
            "deliverability",
            &format!(
                "{MARCH}&metrics=count_injected&query_filters={}",
                encode(filters)
            ),
        ))
        .await;
    assert_eq!(answer.bad_params(), ["query_filters"]);
    let violations = answer.body["errors"][0]["validationErrors"]
        .as_array()
        .unwrap();
    let paths: Vec<&str> = violations
        .iter()
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "groupings[0].AND.domains.like[0]",
            "groupings[0].AND.campaign",
            "groupings[1].OR.subject_campaigns"
        ]
    );
    let text = answer.descriptions();
    assert!(text.contains("at least 3 characters"), "{text}");
    assert!(text.contains("Deliverability Add-On"), "{text}");
    // Simple filters are not checked when query_filters replaces them.
    let fine = encode(r#"{"groupings":[{"AND":{"domains":{"eq":["gmail.com"]}}}]}"#);
    let answer = h
        .get(&uri(
            "deliverability",
            &format!("{MARCH}&metrics=count_injected&subaccounts=x&query_filters={fine}"),
        ))
        .await;
    assert_eq!(answer.results()[0]["count_injected"], 3);
}

#[tokio::test]
async fn windows_are_limited_by_precision() {
    let h = harness().await;
    let window = |from: &str, to: &str, precision: &str| {
        uri(
            "deliverability",
            &format!("metrics=count_injected&from={from}&to={to}&precision={precision}"),
        )
    };
    for (from, to, precision, allowed) in [
        ("2024-03-05T00:00", "2024-03-06T00:00", "1min", true),
        ("2024-03-05T00:00", "2024-03-06T00:01", "1min", false),
        ("2024-03-05T00:00", "2024-03-06T00:01", "5min", false),
        ("2024-03-05T00:00", "2024-03-07T00:00", "15min", true),
        ("2024-03-05T00:00", "2024-03-07T00:01", "15min", false),
        ("2024-03-01T00:00", "2024-04-01T00:00", "hour", true),
        ("2024-03-01T00:00", "2024-04-01T00:01", "hour", false),
        ("2023-03-01T00:00", "2024-04-01T00:00", "day", true),
    ] {
        let answer = h.get(&window(from, to, precision)).await;
        if allowed {
            assert_eq!(answer.status, StatusCode::OK, "{from} {to} {precision}");
        } else {
            assert_eq!(
                answer.bad_params(),
                ["precision"],
                "{from} {to} {precision}"
            );
        }
    }
    // Breakdowns have no precision and no longest window.
    let answer = h
        .get(&uri(
            "deliverability/delay-reason",
            "from=2023-03-01T00:00&to=2024-04-01T00:00",
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn aggregates_without_precision_answer_any_window() {
    let h = harness().await;
    // Seven and thirty days, as dashboards ask: the precision fits the window (hour).
    for (window, injected) in [
        ("from=2024-03-01T00:00&to=2024-03-08T00:00", 5),
        ("from=2024-02-20T00:00&to=2024-03-21T00:00", 7),
        // Longer than `hour` allows: `day`, which takes in the whole of 2024-03-10.
        ("from=2023-12-01T00:00&to=2024-06-01T00:00", 7),
    ] {
        let answer = h
            .get(&uri(
                "deliverability",
                &format!("{window}&metrics=count_injected"),
            ))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{window}: {:?}", answer.body);
        assert_eq!(answer.results()[0]["count_injected"], injected, "{window}");
        for path in [
            "domain",
            "sending-ip",
            "ip-pool",
            "sending-domain",
            "subaccount",
            "campaign",
            "template",
            "mailbox-provider",
            "mailbox-provider-region",
            "watched-domain",
        ] {
            let answer = h
                .get(&uri(
                    &format!("deliverability/{path}"),
                    &format!("{window}&metrics=count_injected"),
                ))
                .await;
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{path} {window}: {:?}",
                answer.body
            );
            let total: u64 = answer
                .results()
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["count_injected"].as_u64().unwrap())
                .sum();
            assert_eq!(total, injected, "{path} {window}");
        }
    }
    // Asked for, a precision too fine for the window is still refused.
    let answer = h
        .get(&uri(
            "deliverability/domain",
            "from=2024-03-01T00:00&to=2024-03-08T00:00&precision=15min&metrics=count_injected",
        ))
        .await;
    assert_eq!(answer.bad_params(), ["precision"]);
}

#[tokio::test]
async fn a_time_series_without_precision_gets_one_that_fits() {
    let h = harness().await;
    for (window, buckets, first, second) in [
        (
            "from=2024-03-05T10:00&to=2024-03-05T12:00",
            120,
            "2024-03-05T10:00:00+00:00",
            "2024-03-05T10:01:00+00:00",
        ),
        (
            "from=2024-03-01T00:00&to=2024-03-08T00:00",
            7 * 24,
            "2024-03-01T00:00:00+00:00",
            "2024-03-01T01:00:00+00:00",
        ),
        (
            "from=2024-02-20T00:00&to=2024-03-21T00:00",
            30,
            "2024-02-20T00:00:00+00:00",
            "2024-02-21T00:00:00+00:00",
        ),
    ] {
        let answer = h
            .get(&uri(
                "deliverability/time-series",
                &format!("{window}&metrics=count_injected"),
            ))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{window}: {:?}", answer.body);
        let rows = answer.results().as_array().unwrap();
        assert_eq!(rows.len(), buckets, "{window}");
        assert_eq!(
            (rows[0]["ts"].as_str(), rows[1]["ts"].as_str()),
            (Some(first), Some(second))
        );
        let total: u64 = rows
            .iter()
            .map(|r| r["count_injected"].as_u64().unwrap())
            .sum();
        assert!(total >= 4, "{window}: the injections are in the buckets");
    }
}

#[tokio::test]
async fn precision_rounds_the_window() {
    let h = harness().await;
    let counts = |precision: &str| {
        uri(
            "deliverability",
            &format!(
                "from=2024-03-05T10:02&to=2024-03-05T10:06&precision={precision}\
                 &metrics=count_injected,count_delivered"
            ),
        )
    };
    // 1min: [10:02, 10:06) holds m3 and m4's injections and m1's delivery.
    let answer = h.get(&counts("1min")).await;
    assert_eq!(answer.results()[0]["count_injected"], 2);
    assert_eq!(answer.results()[0]["count_delivered"], 1);
    // 5min: [10:00, 10:10) holds all four injections and both deliveries.
    let answer = h.get(&counts("5min")).await;
    assert_eq!(answer.results()[0]["count_injected"], 4);
    assert_eq!(answer.results()[0]["count_delivered"], 2);
    // hour: [10:00, 11:00) — m5 at 11:15 stays out; day takes it in.
    let answer = h.get(&counts("hour")).await;
    assert_eq!(answer.results()[0]["count_injected"], 4);
    let answer = h.get(&counts("day")).await;
    assert_eq!(answer.results()[0]["count_injected"], 5);
    // Seconds are accepted: 10:02:59 is still inside [10:02, 10:03).
    let answer = h
        .get(&uri(
            "deliverability",
            "from=2024-03-05T10:02:30&to=2024-03-05T10:02:40&metrics=count_injected",
        ))
        .await;
    assert_eq!(answer.results()[0]["count_injected"], 1);
}
