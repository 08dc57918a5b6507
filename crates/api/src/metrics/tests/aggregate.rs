//! The summary and the group-by reports: values, filters, order, limit, subaccount isolation.

use serde_json::{json, Value};

use super::{encode, harness, uri, MARCH};

/// `(key, metric)` pairs of a group-by answer.
fn pairs(results: &Value, key: &str, metric: &str) -> Vec<(Value, u64)> {
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row[key].clone(), row[metric].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
async fn summary_computes_every_metric_from_summed_counters() {
    let h = harness().await;
    let metrics = [
        ("count_injected", 5),
        ("count_delivered", 2),
        ("count_delivered_first", 1),
        ("count_delivered_subsequent", 1),
        ("total_delivery_time_first", 1000),
        ("total_delivery_time_subsequent", 5000),
        ("total_msg_volume", 5000),
        ("count_bounce", 2),
        ("count_inband_bounce", 1),
        ("count_outofband_bounce", 1),
        ("count_hard_bounce", 2),
        ("count_admin_bounce", 3),
        ("count_soft_bounce", 0),
        ("count_accepted", 1),
        ("count_sent", 3),
        ("count_rejected", 2),
        ("count_policy_rejection", 1),
        ("count_generation_failed", 1),
        ("count_targeted", 7),
        ("count_delayed", 2),
        ("count_delayed_first", 1),
        ("count_rendered", 2),
        ("count_unique_rendered", 1),
        ("count_clicked", 3),
        ("count_unique_clicked", 2),
        ("count_unique_confirmed_opened", 2),
        ("count_spam_complaint", 1),
        ("count_unsubscribe", 1),
    ];
    let names: Vec<&str> = metrics.iter().map(|(name, _)| *name).collect();
    let answer = h
        .get(&uri(
            "deliverability",
            &format!("{MARCH}&metrics={}", names.join(",")),
        ))
        .await;
    let results = answer.results().as_array().unwrap();
    assert_eq!(results.len(), 1);
    let row = results[0].as_object().unwrap();
    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
    assert_eq!(keys, names, "fields come in the requested order");
    for (name, expected) in metrics {
        assert_eq!(row[name], json!(expected), "{name}");
    }
    let links = answer.body["links"].as_array().unwrap();
    let hrefs: Vec<&str> = links.iter().map(|l| l["href"].as_str().unwrap()).collect();
    for child in ["domain", "time-series", "bounce-reason", "attempt"] {
        assert!(
            hrefs.contains(&format!("/api/v1/metrics/deliverability/{child}").as_str()),
            "{child} in {hrefs:?}"
        );
    }
    assert!(links.iter().all(|l| l["method"] == "GET"));
}

#[tokio::test]
async fn summary_of_an_empty_window_is_one_row_of_zeros() {
    let h = harness().await;
    let answer = h
        .get(&uri(
            "deliverability",
            "from=2024-03-04T10:00&to=2024-03-04T12:00&metrics=count_injected,count_accepted",
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{ "count_injected": 0, "count_accepted": 0 }])
    );
}

#[tokio::test]
async fn group_by_orders_by_the_first_metric_or_order_by_and_limits() {
    let h = harness().await;
    let query = format!("{MARCH}&metrics=count_injected,count_bounce");
    let answer = h.get(&uri("deliverability/domain", &query)).await;
    assert_eq!(
        pairs(answer.results(), "domain", "count_injected"),
        [
            (json!("gmail.com"), 3),
            (json!("hotmail.com"), 1),
            (json!("yahoo.com"), 1)
        ]
    );
    let answer = h
        .get(&uri(
            "deliverability/domain",
            &format!("{query}&order_by=count_bounce"),
        ))
        .await;
    assert_eq!(
        pairs(answer.results(), "domain", "count_bounce"),
        [
            (json!("gmail.com"), 1),
            (json!("yahoo.com"), 1),
            (json!("hotmail.com"), 0)
        ]
    );
    let answer = h
        .get(&uri(
            "deliverability/domain",
            &format!("{query}&order_by=count_delayed&limit=1"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{ "domain": "hotmail.com", "count_injected": 1, "count_bounce": 0 }]),
        "order_by may name a metric that is not requested"
    );
}

#[tokio::test]
async fn every_group_by_endpoint_keys_its_rows() {
    let h = harness().await;
    let query = format!("{MARCH}&metrics=count_injected");
    for (path, key, expected) in [
        ("sending-ip", "sending_ip", json!(["10.0.0.1", "10.0.0.2"])),
        ("ip-pool", "ip_pool", json!(["pool-a", "pool-b"])),
        (
            "sending-domain",
            "sending_domain",
            json!(["mail.acme.com", "news.acme.com"]),
        ),
        ("subaccount", "subaccount_id", json!([0, 7])),
        (
            "campaign",
            "campaign_id",
            json!(["spring-sale", "summer", "winter-promo"]),
        ),
        ("template", "template_id", json!(["tpl-a", "tpl-b"])),
        (
            "mailbox-provider",
            "mailbox_provider",
            json!(["Gmail", "Microsoft", "Yahoo"]),
        ),
        (
            "mailbox-provider-region",
            "mailbox_provider_region",
            json!(["Global", "Europe", "North America"]),
        ),
    ] {
        let answer = h.get(&uri(&format!("deliverability/{path}"), &query)).await;
        let keys: Vec<Value> = answer
            .results()
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row[key].clone())
            .collect();
        assert_eq!(Value::Array(keys), expected, "{path}");
    }
    let answer = h.get(&uri("deliverability/subaccount", &query)).await;
    assert_eq!(
        answer.results(),
        &json!([
            { "subaccount_id": 0, "count_injected": 3 },
            { "subaccount_id": 7, "count_injected": 2 }
        ])
    );
}

/// `count_injected` of the summary for `query` (added to the March window).
async fn injected(h: &super::Harness, query: &str) -> u64 {
    let answer = h
        .get(&uri(
            "deliverability",
            &format!("{MARCH}&metrics=count_injected&{query}"),
        ))
        .await;
    answer.results()[0]["count_injected"].as_u64().unwrap()
}

#[tokio::test]
async fn simple_filters_narrow_the_rows() {
    let h = harness().await;
    assert_eq!(injected(&h, "").await, 5);
    assert_eq!(injected(&h, "domains=gmail.com").await, 3);
    assert_eq!(injected(&h, "domains=gmail.com,%20yahoo.com").await, 4);
    assert_eq!(
        injected(&h, "domains=gmail.com%7Cyahoo.com&delimiter=%7C").await,
        4
    );
    assert_eq!(injected(&h, "campaigns=spring-sale").await, 3);
    assert_eq!(injected(&h, "campaigns=spring-sale&subaccounts=7").await, 1);
    assert_eq!(injected(&h, "subaccounts=0").await, 3);
    assert_eq!(injected(&h, "templates=tpl-b").await, 1);
    assert_eq!(injected(&h, "sending_ips=10.0.0.2").await, 2);
    assert_eq!(injected(&h, "ip_pools=pool-a").await, 3);
    assert_eq!(injected(&h, "sending_domains=news.acme.com").await, 2);
    assert_eq!(injected(&h, "mailbox_providers=Yahoo,Microsoft").await, 2);
    assert_eq!(injected(&h, "mailbox_provider_regions=Europe").await, 1);
    assert_eq!(injected(&h, "domains=nowhere.example").await, 0);
}

#[tokio::test]
async fn query_filters_and_or_like_and_not() {
    let h = harness().await;
    let qf = |json: &str| format!("query_filters={}", encode(json));
    // OR inside a grouping.
    let or =
        r#"{"groupings":[{"OR":{"domains":{"eq":["yahoo.com"]},"campaigns":{"like":["SUMM"]}}}]}"#;
    assert_eq!(injected(&h, &qf(or)).await, 2);
    // AND inside a grouping, with notEq.
    let and = r#"{"groupings":[{"AND":{"campaigns":{"like":["sale"]},"domains":{"notEq":["gmail.com"]}}}]}"#;
    assert_eq!(injected(&h, &qf(and)).await, 1);
    // Groupings are ANDed.
    let both = r#"{"groupings":[{"OR":{"domains":{"eq":["gmail.com","yahoo.com"]}}},{"AND":{"subaccounts":{"eq":[7]}}}]}"#;
    assert_eq!(injected(&h, &qf(both)).await, 1);
    // notLike.
    let not_like = r#"{"groupings":[{"AND":{"domains":{"notLike":["mail"]}}}]}"#;
    assert_eq!(injected(&h, &qf(not_like)).await, 1);
    // Simple filters are ignored when query_filters is present.
    assert_eq!(
        injected(
            &h,
            &format!(
                "{}&domains=yahoo.com",
                qf(not_like.replace("mail", "yahoo").as_str())
            )
        )
        .await,
        4
    );
}

#[tokio::test]
async fn a_subaccount_key_sees_only_its_subaccount() {
    let h = harness().await;
    let summary = |query: &str| {
        uri(
            "deliverability",
            &format!("{MARCH}&metrics=count_injected,count_bounce&{query}"),
        )
    };
    let answer = h.get_with(&summary(""), Some(&h.sub7)).await;
    assert_eq!(
        answer.results(),
        &json!([{ "count_injected": 2, "count_bounce": 1 }])
    );
    // Asking for the primary account or everything changes nothing.
    let answer = h.get_with(&summary("subaccounts=0"), Some(&h.sub7)).await;
    assert_eq!(answer.results()[0]["count_injected"], 0);
    let or_all = encode(r#"{"groupings":[{"OR":{"subaccounts":{"eq":[0,7]}}}]}"#);
    let answer = h
        .get_with(&summary(&format!("query_filters={or_all}")), Some(&h.sub7))
        .await;
    assert_eq!(answer.results()[0]["count_injected"], 2);
    let answer = h
        .get_with(
            &uri(
                "deliverability/subaccount",
                &format!("{MARCH}&metrics=count_injected"),
            ),
            Some(&h.sub7),
        )
        .await;
    assert_eq!(
        answer.results(),
        &json!([{ "subaccount_id": 7, "count_injected": 2 }])
    );
    // The X-MSYS-SUBACCOUNT header plays no part in the Metrics API: a primary key sees all.
    assert_eq!(injected(&h, "").await, 5);
}

#[tokio::test]
async fn approx_names_are_answered_exactly_under_the_requested_name() {
    let h = harness().await;
    let answer = h
        .get(&uri(
            "deliverability",
            &format!(
                "{MARCH}&metrics=count_unique_clicked_approx,count_unique_confirmed_opened_approx,\
                 count_unique_rendered_approx,count_unique_clicked"
            ),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{
            "count_unique_clicked_approx": 2,
            "count_unique_confirmed_opened_approx": 2,
            "count_unique_rendered_approx": 1,
            "count_unique_clicked": 2
        }])
    );
    let answer = h
        .get(&uri(
            "deliverability/domain",
            &format!(
                "{MARCH}&metrics=count_injected,count_unique_clicked_approx\
                 &order_by=count_unique_clicked_approx&limit=1"
            ),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{ "domain": "gmail.com", "count_injected": 3, "count_unique_clicked_approx": 2 }])
    );
    let answer = h
        .get(&uri(
            "deliverability/time-series",
            "from=2024-03-05T10:00&to=2024-03-05T11:00&precision=hour\
             &metrics=count_unique_initial_rendered_approx",
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{ "ts": "2024-03-05T10:00:00+00:00", "count_unique_initial_rendered_approx": 1 }])
    );
    // Like its base, the initial-render one belongs to the time series.
    let answer = h
        .get(&uri(
            "deliverability",
            &format!("{MARCH}&metrics=count_unique_initial_rendered_approx"),
        ))
        .await;
    assert_eq!(answer.bad_params(), ["metrics"]);
}

/// SparkPost: "watched domains are comprised of the top 99% domains"; here, of the window's
/// targeted messages.
#[tokio::test]
async fn watched_domains_are_the_top_99_percent_of_the_volume() {
    use super::{event, harness_of, with, yahoo};
    let inject = |n: usize, domain: &str| {
        (0..n)
            .map(|i| {
                event(
                    "injection",
                    "2024-03-05T10:30:00Z",
                    with(
                        yahoo(&format!("{domain}-{i}")),
                        json!({ "recipient_domain": domain, "subaccount_id": "0" }),
                    ),
                )
            })
            .collect::<Vec<_>>()
    };
    // 200 targeted: gmail.com and yahoo.com hold 198 (99%); the two typo domains are the tail.
    let mut events = inject(150, "gmail.com");
    events.extend(inject(48, "yahoo.com"));
    events.extend(inject(1, "gmial.com"));
    events.extend(inject(1, "yaho.com"));
    events.push(event(
        "click",
        "2024-03-05T10:31:00Z",
        with(
            yahoo("gmial.com-0"),
            json!({ "recipient_domain": "gmial.com" }),
        ),
    ));
    let h = harness_of(vec![events]).await;
    let answer = h
        .get(&uri(
            "deliverability/watched-domain",
            &format!("{MARCH}&metrics=count_injected,count_clicked"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([
            { "watched_domain": "gmail.com", "count_injected": 150, "count_clicked": 0 },
            { "watched_domain": "yahoo.com", "count_injected": 48, "count_clicked": 0 }
        ])
    );
    // order_by and limit work as on every group-by; the tail stays out whatever the order.
    let answer = h
        .get(&uri(
            "deliverability/watched-domain",
            &format!("{MARCH}&metrics=count_clicked,count_sent&order_by=count_clicked&limit=1"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{ "watched_domain": "gmail.com", "count_clicked": 0, "count_sent": 0 }])
    );
    // `domain` still reports every domain.
    let answer = h
        .get(&uri(
            "deliverability/domain",
            &format!("{MARCH}&metrics=count_injected"),
        ))
        .await;
    assert_eq!(answer.results().as_array().map(Vec::len), Some(4));
}

/// SparkPost's terminology: `count_admin_bounce` is the "Total number of Bounced messages due to
/// admin bounce classification reasons, also includes Rejected"; `count_bounce` leaves admin
/// bounces out.
#[tokio::test]
async fn admin_bounces_include_the_rejected() {
    let h = harness().await;
    let metrics = "count_admin_bounce,count_rejected,count_bounce";
    let answer = h
        .get(&uri(
            "deliverability",
            &format!("{MARCH}&metrics={metrics}"),
        ))
        .await;
    // One admin-class bounce (hotmail's class 25) and two rejections (gmail's).
    assert_eq!(
        answer.results(),
        &json!([{ "count_admin_bounce": 3, "count_rejected": 2, "count_bounce": 2 }])
    );
    let answer = h
        .get(&uri(
            "deliverability/domain",
            &format!("{MARCH}&metrics=count_admin_bounce"),
        ))
        .await;
    assert_eq!(
        pairs(answer.results(), "domain", "count_admin_bounce"),
        [
            (json!("gmail.com"), 2),
            (json!("hotmail.com"), 1),
            (json!("yahoo.com"), 0)
        ]
    );
}
