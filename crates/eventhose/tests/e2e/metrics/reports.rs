//! The summary and the group-by reports, with filters, `limit`, `order_by` and the rounding of
//! the window to the precision.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::api::{ok, params, Query};
use super::clock::{DAY, HOUR, MINUTE};
use super::reference::{select, Fact, Filter, Op, Totals, METRICS, TIME_SERIES_ONLY};
use super::{loaded, row, summary, totals, window, Loaded};

/// The group-by endpoints: path segment, filter parameter, result key.
pub const GROUP_BY: [(&str, &str, &str); 9] = [
    ("domain", "domains", "domain"),
    ("sending-ip", "sending_ips", "sending_ip"),
    ("ip-pool", "ip_pools", "ip_pool"),
    ("sending-domain", "sending_domains", "sending_domain"),
    ("subaccount", "subaccounts", "subaccount_id"),
    ("campaign", "campaigns", "campaign_id"),
    ("template", "templates", "template_id"),
    ("mailbox-provider", "mailbox_providers", "mailbox_provider"),
    (
        "mailbox-provider-region",
        "mailbox_provider_regions",
        "mailbox_provider_region",
    ),
];

/// The rows a group-by report should answer: one per value seen, ordered by `order_by`
/// (largest first, ties by key), at most `limit`.
#[allow(clippy::too_many_arguments)]
pub fn expected_groups(
    facts: &[Fact],
    from: i64,
    to: i64,
    filter: &Filter,
    param: &str,
    key: &str,
    metrics: &[&str],
    order_by: &str,
    limit: usize,
) -> Vec<Value> {
    let mut groups: BTreeMap<String, Totals> = BTreeMap::new();
    for fact in select(facts, from, to, filter) {
        groups.entry(fact.value(param)).or_default().add(fact);
    }
    let mut rows: Vec<(u64, String, Value)> = groups
        .into_iter()
        .map(|(value, totals)| {
            let mut out = Map::new();
            let shown = if param == "subaccounts" {
                Value::from(value.parse::<u64>().expect("subaccount id"))
            } else {
                Value::from(value.clone())
            };
            out.insert(key.to_string(), shown);
            out.extend(row(&totals, metrics));
            (totals.get(order_by), value, Value::Object(out))
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    rows.truncate(limit);
    rows.into_iter().map(|(_, _, row)| row).collect()
}

/// The `n` most frequent non-empty values of a dimension.
pub fn top(facts: &[Fact], param: &str, n: usize) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for fact in facts {
        let value = fact.value(param);
        if !value.is_empty() {
            *counts.entry(value).or_default() += 1;
        }
    }
    let mut values: Vec<(usize, String)> = counts.into_iter().map(|(v, c)| (c, v)).collect();
    values.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    values.into_iter().take(n).map(|(_, v)| v).collect()
}

async fn group_by(l: &Loaded, segment: &str, query: &[(&'static str, String)]) -> Value {
    let body = ok(
        &l.server,
        &format!("/api/v1/metrics/deliverability/{segment}"),
        query,
    )
    .await;
    body["results"].clone()
}

#[tokio::test]
async fn metrics_summary_and_group_by_reports_match_the_reference() {
    let l = loaded().await;
    let (from, to) = (l.base, l.base + DAY);
    let day = totals(&l.facts, from, to, &Filter::default());

    // The event set exercises every metric (else the comparisons below prove less).
    let zero: Vec<&str> = METRICS
        .iter()
        .chain(TIME_SERIES_ONLY.iter())
        .copied()
        .filter(|m| day.get(m) == 0)
        .collect();
    assert!(
        zero.is_empty(),
        "the event set leaves these metrics at 0: {zero:?}"
    );

    // The summary links to its reports.
    let body = ok(
        &l.server,
        "/api/v1/metrics/deliverability",
        &window(from, to, "count_targeted"),
    )
    .await;
    let hrefs: Vec<&str> = body["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|link| link["href"].as_str())
        .collect();
    for segment in [
        "domain",
        "campaign",
        "time-series",
        "bounce-reason",
        "attempt",
    ] {
        let href = format!("/api/v1/metrics/deliverability/{segment}");
        assert!(hrefs.contains(&href.as_str()), "{href} not in {hrefs:?}");
    }

    // Every group-by report, every metric.
    let all = METRICS.join(",");
    for (segment, param, key) in GROUP_BY {
        let mut query = window(from, to, &all);
        query.push(("limit", "10000".into()));
        let expected = expected_groups(
            &l.facts,
            from,
            to,
            &Filter::default(),
            param,
            key,
            &METRICS,
            METRICS[0],
            10_000,
        );
        assert!(
            expected.len() >= 2,
            "{segment}: too little variety: {expected:?}"
        );
        let actual = group_by(&l, segment, &query).await;
        assert_eq!(actual, Value::Array(expected), "/deliverability/{segment}");
    }

    // limit and order_by.
    let picked = ["count_delivered", "count_bounce", "count_unique_clicked"];
    for (segment, param, key) in [GROUP_BY[0], GROUP_BY[5], GROUP_BY[4]] {
        for (order_by, limit) in [
            (None, 3),
            (Some("count_bounce"), 4),
            (Some("count_accepted"), 2),
        ] {
            let mut query = window(from, to, &picked.join(","));
            query.push(("limit", limit.to_string()));
            if let Some(order_by) = order_by {
                query.push(("order_by", order_by.into()));
            }
            let expected = expected_groups(
                &l.facts,
                from,
                to,
                &Filter::default(),
                param,
                key,
                &picked,
                order_by.unwrap_or(picked[0]),
                limit,
            );
            assert_eq!(expected.len(), limit);
            let actual = group_by(&l, segment, &query).await;
            assert_eq!(
                actual,
                Value::Array(expected),
                "/deliverability/{segment} order_by={order_by:?} limit={limit}"
            );
        }
    }

    // The window is rounded to the precision: 02:22–03:37 covers 02:20–03:40 at 5min.
    let at = |h: i64, m: i64| l.base + h * HOUR + m * MINUTE;
    for (precision, lo, hi) in [
        ("1min", at(2, 22), at(3, 37)),
        ("5min", at(2, 20), at(3, 40)),
        ("15min", at(2, 15), at(3, 45)),
        ("hour", at(2, 0), at(4, 0)),
        ("day", l.base, l.base + DAY),
    ] {
        let expected = totals(&l.facts, lo, hi, &Filter::default());
        if precision == "5min" {
            let unrounded = totals(&l.facts, at(2, 22), at(3, 37), &Filter::default());
            assert_ne!(expected, unrounded, "the edge events make rounding visible");
        }
        let actual = summary(
            &l.server,
            at(2, 22),
            at(3, 37),
            &[("precision", precision.to_string())],
        )
        .await;
        assert_eq!(
            actual,
            vec![Value::Object(row(&expected, &METRICS))],
            "summary at precision {precision}"
        );
    }

    // order_by a metric that is not requested: the rows must still be ordered by its values.
    for (segment, param, key) in [GROUP_BY[0], GROUP_BY[5], GROUP_BY[4]] {
        let mut query = window(from, to, &picked.join(","));
        query.push(("limit", "3".into()));
        query.push(("order_by", "count_targeted".into()));
        let expected = expected_groups(
            &l.facts,
            from,
            to,
            &Filter::default(),
            param,
            key,
            &picked,
            "count_targeted",
            3,
        );
        let actual = group_by(&l, segment, &query).await;
        assert_eq!(
            actual,
            Value::Array(expected),
            "/deliverability/{segment}?metrics={}&order_by=count_targeted&limit=3",
            picked.join(",")
        );
    }
}

#[tokio::test]
async fn metrics_filters_and_query_filters_match_the_reference() {
    let l = loaded().await;
    let (from, to) = (l.base, l.base + DAY);
    let f = &l.facts;
    let (d, c, t) = (
        top(f, "domains", 3),
        top(f, "campaigns", 3),
        top(f, "templates", 2),
    );
    let (ip, pool) = (top(f, "sending_ips", 2), top(f, "ip_pools", 2));
    let (sd, mp) = (top(f, "sending_domains", 2), top(f, "mailbox_providers", 2));
    let region = top(f, "mailbox_provider_regions", 1);
    let like = |value: &str| value.chars().take(5).collect::<String>().to_uppercase();

    // (what, extra query parameters, the same filter for the reference)
    let mut cases: Vec<(&str, Query, Filter)> = vec![
        (
            "two domains",
            params(&[("domains", format!("{},{}", d[0], d[1]).as_str())]),
            Filter::default().eq("domains", &[d[0].as_str(), d[1].as_str()]),
        ),
        (
            "a campaign of the primary account",
            params(&[("campaigns", c[0].as_str()), ("subaccounts", "0")]),
            Filter::default()
                .eq("campaigns", &[c[0].as_str()])
                .eq("subaccounts", &["0"]),
        ),
        (
            "two subaccounts",
            params(&[("subaccounts", "7,1")]),
            Filter::default().eq("subaccounts", &["7", "1"]),
        ),
        (
            "another delimiter",
            params(&[
                ("campaigns", format!("{}|edge-bounce", c[1]).as_str()),
                ("delimiter", "|"),
            ]),
            Filter::default().eq("campaigns", &[c[1].as_str(), "edge-bounce"]),
        ),
        (
            "template and sending IP",
            params(&[
                ("templates", t[0].as_str()),
                ("sending_ips", ip[0].as_str()),
            ]),
            Filter::default()
                .eq("templates", &[t[0].as_str()])
                .eq("sending_ips", &[ip[0].as_str()]),
        ),
        (
            "pool and sending domain",
            params(&[
                ("ip_pools", pool[1].as_str()),
                ("sending_domains", sd[0].as_str()),
            ]),
            Filter::default()
                .eq("ip_pools", &[pool[1].as_str()])
                .eq("sending_domains", &[sd[0].as_str()]),
        ),
        (
            "mailbox provider",
            params(&[("mailbox_providers", mp[0].as_str())]),
            Filter::default().eq("mailbox_providers", &[mp[0].as_str()]),
        ),
        (
            "mailbox provider region",
            params(&[("mailbox_provider_regions", region[0].as_str())]),
            Filter::default().eq("mailbox_provider_regions", &[region[0].as_str()]),
        ),
    ];
    let advanced = [
        (
            "AND with like and notEq",
            Filter::default().group(
                false,
                vec![
                    ("domains", Op::Like, vec!["EDGE-M"]),
                    ("campaigns", Op::NotEq, vec!["edge-engage"]),
                ],
            ),
        ),
        (
            "OR with eq and like",
            Filter::default().group(
                true,
                vec![
                    ("campaigns", Op::Eq, vec![c[0].as_str()]),
                    ("domains", Op::Like, vec![like(d[1].as_str()).as_str()]),
                ],
            ),
        ),
        (
            "two groupings, OR then AND with notEq and notLike",
            Filter::default()
                .group(
                    true,
                    vec![
                        ("templates", Op::Eq, vec![t[1].as_str()]),
                        ("ip_pools", Op::Eq, vec![pool[0].as_str()]),
                    ],
                )
                .group(
                    false,
                    vec![
                        ("sending_ips", Op::NotEq, vec![ip[0].as_str()]),
                        ("domains", Op::NotLike, vec!["GMAIL"]),
                    ],
                ),
        ),
        (
            "subaccounts and a provider pattern",
            Filter::default().group(
                false,
                vec![
                    ("subaccounts", Op::Eq, vec!["0", "7"]),
                    (
                        "mailbox_providers",
                        Op::Like,
                        vec![like(mp[0].as_str()).to_lowercase().as_str()],
                    ),
                ],
            ),
        ),
    ];
    for (what, filter) in advanced {
        cases.push((
            what,
            vec![("query_filters", filter.query_filters())],
            filter,
        ));
    }
    // With query_filters present, the simple filters are ignored.
    let filter = Filter::default().group(false, vec![("campaigns", Op::Eq, vec![c[2].as_str()])]);
    cases.push((
        "query_filters win over simple filters",
        vec![
            ("query_filters", filter.query_filters()),
            ("domains", "nowhere.invalid".to_string()),
        ],
        filter,
    ));

    let everything = select(f, from, to, &Filter::default()).count();
    for (what, extra, filter) in &cases {
        let chosen = select(f, from, to, filter).count();
        assert!(
            0 < chosen && chosen < everything,
            "{what}: the filter should select some events, not all ({chosen} of {everything})"
        );
        let expected = vec![Value::Object(row(&totals(f, from, to, filter), &METRICS))];
        assert_eq!(
            summary(&l.server, from, to, extra).await,
            expected,
            "summary, {what}"
        );

        let mut query = window(from, to, &METRICS.join(","));
        query.extend(extra.iter().cloned());
        let expected = expected_groups(
            f,
            from,
            to,
            filter,
            "campaigns",
            "campaign_id",
            &METRICS,
            METRICS[0],
            1_000,
        );
        let actual = group_by(&l, "campaign", &query).await;
        assert_eq!(actual, Value::Array(expected), "by campaign, {what}");
    }
}
