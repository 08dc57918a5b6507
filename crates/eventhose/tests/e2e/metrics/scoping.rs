//! Keys and scoping: a subaccount key sees only its subaccount's numbers whatever it asks for;
//! the Metrics API ignores `X-MSYS-SUBACCOUNT`; `metrics/view` is required.

use serde_json::{json, Value};

use super::api::get;
use super::breakdowns::LISTS;
use super::clock::{param_time, DAY, HOUR};
use super::reference::{select, Filter, Op, METRICS};
use super::reports::{expected_groups, GROUP_BY};
use super::series::{expected_series, local_buckets};
use super::{loaded, row, totals, window};
use crate::harness::*;

#[tokio::test]
async fn metrics_a_subaccount_key_sees_only_its_numbers() {
    let l = loaded().await;
    let f = &l.facts;
    let (from, to) = (l.base, l.base + DAY);
    let key = |args: &[&str]| keys(l.dir.path(), args).trim().to_string();
    let all = METRICS.join(",");

    for subaccount in ["7", "2"] {
        let sub_key = key(&[
            "create",
            "--grant",
            "metrics/view",
            "--subaccount",
            subaccount,
        ]);
        let own = Filter::default().eq("subaccounts", &[subaccount]);
        assert!(
            select(f, from, to, &own).count() > 0,
            "subaccount {subaccount} has events"
        );
        let as_sub = |path: &str, query: Vec<(&'static str, String)>| {
            let sub_key = sub_key.clone();
            let server = &l.server;
            let path = format!("/api/v1/metrics/{path}");
            async move {
                let (status, body) = get(server, &sub_key, &path, &query).await;
                assert_eq!(status, 200, "{path}: {body}");
                body["results"].clone()
            }
        };

        // The summary, plain and with filters that name other subaccounts.
        let cases: Vec<(Vec<(&'static str, String)>, Filter)> = vec![
            (vec![], own.clone()),
            (
                vec![("subaccounts", "0".into())],
                own.clone().eq("subaccounts", &["0"]),
            ),
            (
                vec![("subaccounts", format!("0,{subaccount}"))],
                own.clone().eq("subaccounts", &["0", subaccount]),
            ),
            {
                let escape = Filter::default().group(
                    true,
                    vec![
                        ("subaccounts", Op::Eq, vec!["0"]),
                        ("campaigns", Op::NotEq, vec!["nothing"]),
                    ],
                );
                let mut scoped = escape.clone();
                scoped.0.extend(own.0.clone());
                (vec![("query_filters", escape.query_filters())], scoped)
            },
        ];
        for (extra, filter) in cases {
            let mut query = window(from, to, &all);
            query.extend(extra.clone());
            let expected = json!([row(&totals(f, from, to, &filter), &METRICS)]);
            assert_eq!(
                as_sub("deliverability", query).await,
                expected,
                "subaccount {subaccount} {extra:?}"
            );
        }

        // Group-by reports: only its own rows.
        for (segment, param, result_key) in [GROUP_BY[4], GROUP_BY[5], GROUP_BY[0]] {
            let expected = expected_groups(
                f, from, to, &own, param, result_key, &METRICS, METRICS[0], 1_000,
            );
            let path = format!("deliverability/{segment}");
            assert_eq!(
                as_sub(&path, window(from, to, &all)).await,
                Value::Array(expected),
                "{segment} as {subaccount}"
            );
        }

        // The time series.
        let buckets = local_buckets(from, to, HOUR, 0);
        let expected = expected_series(f, &own, &METRICS, &buckets);
        let mut query = window(from, to, &all);
        query.push(("precision", "hour".into()));
        assert_eq!(
            as_sub("deliverability/time-series", query).await,
            Value::Array(expected)
        );

        // A breakdown: the attempts of its deliveries only.
        let own_deliveries = select(f, from, to, &own)
            .filter(|fact| fact.counts.contains_key("count_delivered"))
            .count();
        let attempts = as_sub("deliverability/attempt", window(from, to, "")).await;
        let counted: u64 = attempts
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["count_delivered"].as_u64().unwrap())
            .sum();
        assert_eq!(
            counted, own_deliveries as u64,
            "attempts as {subaccount}: {attempts}"
        );

        // The lists name only its values.
        for (list, param) in [LISTS[0], LISTS[3]] {
            let mut values: Vec<String> = select(f, from, to, &own)
                .map(|fact| fact.value(param))
                .filter(|v| !v.is_empty())
                .collect();
            values.sort();
            values.dedup();
            let query = vec![("from", param_time(from, 0)), ("to", param_time(to, 0))];
            assert_eq!(
                as_sub(list, query).await,
                json!({ list: values }),
                "/metrics/{list} as {subaccount}"
            );
        }
    }

    // The root key with X-MSYS-SUBACCOUNT still sees everything: the Metrics API ignores it.
    let response = client()
        .get(l.server.url("/api/v1/metrics/deliverability"))
        .header("Authorization", ROOT_KEY)
        .header("X-MSYS-SUBACCOUNT", "7")
        .query(&window(from, to, &all))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let expected = json!([row(&totals(f, from, to, &Filter::default()), &METRICS)]);
    assert_eq!(body["results"], expected);

    // A key without metrics/view is refused.
    let other = key(&["create", "--grant", "webhooks/view"]);
    let (status, body) = get(
        &l.server,
        &other,
        "/api/v1/metrics/deliverability",
        &window(from, to, &all),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["errors"][0]["message"].is_string(), "{body}");
}
