//! The reason and engagement breakdowns, and the discoverability lists.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::api::ok;
use super::clock::{DAY, HOUR, MINUTE};
use super::reference::{select, Detail, Fact, Filter, Op, BOUNCE_CLASSES};
use super::{loaded, window, Loaded};

const BOUNCE_METRICS: [&str; 4] = [
    "count_bounce",
    "count_inband_bounce",
    "count_outofband_bounce",
    "count_admin_bounce",
];

/// eventhose's bounce category ids (its API documents Undetermined 0, Hard 1, Soft 2, Block 3,
/// Admin 4; SparkPost only 0 and 1).
fn category_id(category: &str) -> u64 {
    match category {
        "Undetermined" => 0,
        "Hard" => 1,
        "Soft" => 2,
        "Block" => 3,
        _ => 4,
    }
}

/// Rows keyed for sorting: (value ordered by, largest first; then the tie key) → the row.
type Ranked = Vec<(u64, (String, u16, Option<String>), Value)>;

fn finish(mut rows: Ranked, limit: usize) -> Value {
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    rows.truncate(limit);
    Value::Array(rows.into_iter().map(|(_, _, row)| row).collect())
}

/// How a breakdown groups: by reason, by reason and domain, or (bounces) by class alone.
#[derive(Clone, Copy, PartialEq)]
enum By {
    Reason,
    ReasonAndDomain,
    Class,
}

fn domain_of(fact: &Fact, by: By) -> Option<String> {
    (by == By::ReasonAndDomain).then(|| fact.value("domains"))
}

fn expected_bounces(
    facts: &[Fact],
    range: (i64, i64),
    filter: &Filter,
    by: By,
    metrics: &[&str],
    limit: usize,
) -> Value {
    let mut groups: BTreeMap<(String, u16, Option<String>), [u64; 4]> = BTreeMap::new();
    for fact in select(facts, range.0, range.1, filter) {
        if let Some(Detail::Bounce {
            reason,
            class,
            inband,
            admin,
        }) = &fact.detail
        {
            let label = if by == By::Class {
                String::new()
            } else {
                reason.clone()
            };
            let counts = groups
                .entry((label, *class, domain_of(fact, by)))
                .or_default();
            let add = match (admin, inband) {
                (true, _) => [0, 0, 0, 1],
                (false, true) => [1, 1, 0, 0],
                (false, false) => [1, 0, 1, 0],
            };
            for (c, a) in counts.iter_mut().zip(add) {
                *c += a;
            }
        }
    }
    let rows = groups
        .into_iter()
        .map(|((label, class, domain), counts)| {
            let (code, name, description, category) = *BOUNCE_CLASSES
                .iter()
                .find(|c| c.0 == class)
                .expect("the events use documented classes");
            let mut row = Map::new();
            if by != By::Class {
                row.insert("reason".into(), json!(label));
            }
            if let Some(domain) = &domain {
                row.insert("domain".into(), json!(domain));
            }
            row.insert("bounce_class_name".into(), json!(name));
            row.insert("bounce_class_description".into(), json!(description));
            if by != By::Class {
                row.insert("bounce_category_id".into(), json!(category_id(category)));
            }
            row.insert("bounce_category_name".into(), json!(category));
            row.insert("classification_id".into(), json!(code));
            for metric in metrics {
                let i = BOUNCE_METRICS
                    .iter()
                    .position(|m| m == metric)
                    .expect("bounce metric");
                row.insert(metric.to_string(), json!(counts[i]));
            }
            let first = BOUNCE_METRICS
                .iter()
                .position(|m| *m == metrics[0])
                .unwrap();
            (counts[first], (label, class, domain), Value::Object(row))
        })
        .collect();
    finish(rows, limit)
}

fn expected_rejections(facts: &[Fact], range: (i64, i64), filter: &Filter, by: By) -> Value {
    let mut groups: BTreeMap<(String, u16, Option<String>), u64> = BTreeMap::new();
    for fact in select(facts, range.0, range.1, filter) {
        if let Some(Detail::Rejection { reason, kind }) = &fact.detail {
            *groups
                .entry((reason.clone(), *kind, domain_of(fact, by)))
                .or_default() += 1;
        }
    }
    let rows = groups
        .into_iter()
        .map(|((reason, kind, domain), n)| {
            let mut row = Map::new();
            row.insert("reason".into(), json!(reason));
            if let Some(domain) = &domain {
                row.insert("domain".into(), json!(domain));
            }
            row.insert("count_rejected".into(), json!(n));
            row.insert("rejection_category_id".into(), json!(kind));
            let kind_name = match kind {
                1 => "Policy Rejection",
                2 => "Generation Rejection",
                _ => "Generation Failure",
            };
            row.insert("rejection_type".into(), json!(kind_name));
            (n, (reason, kind, domain), Value::Object(row))
        })
        .collect();
    finish(rows, 10_000)
}

fn expected_delays(facts: &[Fact], range: (i64, i64), filter: &Filter, by: By) -> Value {
    let mut groups: BTreeMap<(String, u16, Option<String>), [u64; 2]> = BTreeMap::new();
    for fact in select(facts, range.0, range.1, filter) {
        if let Some(Detail::Delay { reason, first }) = &fact.detail {
            let counts = groups
                .entry((reason.clone(), 0, domain_of(fact, by)))
                .or_default();
            counts[0] += 1;
            counts[1] += u64::from(*first);
        }
    }
    let rows = groups
        .into_iter()
        .map(|((reason, class, domain), [delayed, first])| {
            let mut row = Map::new();
            row.insert("reason".into(), json!(reason));
            if let Some(domain) = &domain {
                row.insert("domain".into(), json!(domain));
            }
            row.insert("count_delayed".into(), json!(delayed));
            row.insert("count_delayed_first".into(), json!(first));
            (delayed, (reason, class, domain), Value::Object(row))
        })
        .collect();
    finish(rows, 10_000)
}

fn expected_links(
    facts: &[Fact],
    range: (i64, i64),
    filter: &Filter,
    metrics: &[&str],
    limit: usize,
) -> Value {
    let mut groups: BTreeMap<String, [u64; 2]> = BTreeMap::new();
    for fact in select(facts, range.0, range.1, filter) {
        if let Some(Detail::Click {
            link,
            first_on_link,
        }) = &fact.detail
        {
            let counts = groups.entry(link.clone()).or_default();
            counts[0] += u64::from(*first_on_link);
            counts[1] += 1;
        }
    }
    let rows = groups
        .into_iter()
        .map(|(link, counts)| {
            // counts: [each message once per link (raw), every click].
            let index = |m: &str| usize::from(m == "count_clicked");
            let mut row = Map::new();
            row.insert("link_name".into(), json!(link));
            for metric in metrics {
                row.insert(metric.to_string(), json!(counts[index(metric)]));
            }
            (
                counts[index(metrics[0])],
                (link, 0, None),
                Value::Object(row),
            )
        })
        .collect();
    finish(rows, limit)
}

fn expected_attempts(facts: &[Fact], range: (i64, i64), filter: &Filter) -> Value {
    let mut groups: BTreeMap<&str, u64> = BTreeMap::new();
    for fact in select(facts, range.0, range.1, filter) {
        if let Some(Detail::Delivery { attempt }) = &fact.detail {
            *groups.entry(attempt).or_default() += 1;
        }
    }
    Value::Array(
        groups
            .into_iter()
            .map(|(attempt, n)| json!({"attempt": attempt, "count_delivered": n}))
            .collect(),
    )
}

async fn results(l: &Loaded, path: &str, query: Vec<(&'static str, String)>) -> Value {
    ok(&l.server, &format!("/api/v1/metrics/{path}"), &query).await["results"].clone()
}

#[tokio::test]
async fn metrics_breakdowns_match_the_reference() {
    let l = loaded().await;
    let f = &l.facts;
    let day = (l.base, l.base + DAY);
    let early = (l.base + HOUR + 30 * MINUTE, l.base + 2 * HOUR + 30 * MINUTE);
    let none = Filter::default();
    let edge_only = Filter::default().eq(
        "campaigns",
        &["edge-bounce", "edge-retry", "edge-reject", "edge-oob-only"],
    );
    let with_query = |mut q: Vec<(&'static str, String)>, filter: &Filter, limit: usize| {
        q.push(("limit", limit.to_string()));
        if !filter.0.is_empty() {
            q.push(("query_filters", filter.query_filters()));
        }
        q
    };

    for (range, filter) in [(day, &none), (early, &none), (day, &edge_only)] {
        let q = |metrics: &str, limit: usize| {
            with_query(window(range.0, range.1, metrics), filter, limit)
        };
        let what = format!("{} to {}, filter {:?}", range.0, range.1, filter);
        for (path, by) in [
            ("deliverability/bounce-reason", By::Reason),
            ("deliverability/bounce-reason/domain", By::ReasonAndDomain),
            ("deliverability/bounce-classification", By::Class),
        ] {
            let expected = expected_bounces(f, range, filter, by, &BOUNCE_METRICS, 10_000);
            assert!(
                expected.as_array().is_some_and(|rows| !rows.is_empty()),
                "{path}: no rows, {what}"
            );
            assert_eq!(
                results(&l, path, q(&BOUNCE_METRICS.join(","), 10_000)).await,
                expected,
                "{path}, {what}"
            );
            // Another first metric orders the rows; limit cuts them.
            let picked = ["count_admin_bounce", "count_outofband_bounce"];
            let expected = expected_bounces(f, range, filter, by, &picked, 3);
            assert_eq!(
                results(&l, path, q(&picked.join(","), 3)).await,
                expected,
                "{path} by admin, {what}"
            );
        }
        for (path, by) in [
            ("deliverability/rejection-reason", By::Reason),
            (
                "deliverability/rejection-reason/domain",
                By::ReasonAndDomain,
            ),
        ] {
            let expected = expected_rejections(f, range, filter, by);
            assert_eq!(
                results(&l, path, q("", 10_000)).await,
                expected,
                "{path}, {what}"
            );
        }
        for (path, by) in [
            ("deliverability/delay-reason", By::Reason),
            ("deliverability/delay-reason/domain", By::ReasonAndDomain),
        ] {
            let expected = expected_delays(f, range, filter, by);
            assert_eq!(
                results(&l, path, q("", 10_000)).await,
                expected,
                "{path}, {what}"
            );
        }
        let expected = expected_attempts(f, range, filter);
        assert_eq!(
            results(&l, "deliverability/attempt", q("", 10_000)).await,
            expected,
            "attempt, {what}"
        );
    }

    // The hand-written events exercise every attempt and the long and raw-only reasons.
    let attempts = expected_attempts(f, day, &none);
    assert_eq!(attempts.as_array().map(Vec::len), Some(3), "{attempts}");
    let delays = expected_delays(f, day, &none, By::Reason).to_string();
    assert!(delays.contains("452 4.2.2 mailbox full (raw only)"));
    let bounces = expected_bounces(f, day, &none, By::Reason, &BOUNCE_METRICS, 10_000).to_string();
    assert!(bounces.contains("DNS lookup failed (raw only)"));
    assert!(
        !bounces.contains(&"very long reason ".repeat(20)),
        "the long reason is cut"
    );

    // Clicks by link: every click (count_clicked) and each message once per link (raw).
    let engaged = Filter::default().group(true, vec![("campaigns", Op::Like, vec!["ENGAGE"])]);
    for (filter, metrics, limit) in [
        (&none, vec!["count_clicked", "count_raw_clicked"], 10_000),
        (&none, vec!["count_raw_clicked"], 5),
        (&engaged, vec!["count_raw_clicked", "count_clicked"], 10_000),
    ] {
        let expected = expected_links(f, day, filter, &metrics, limit);
        let query = with_query(window(day.0, day.1, &metrics.join(",")), filter, limit);
        let actual = results(&l, "deliverability/link-name", query).await;
        assert_eq!(actual, expected, "link-name {metrics:?} {filter:?}");
    }
    let links = expected_links(
        f,
        day,
        &engaged,
        &["count_clicked", "count_raw_clicked"],
        10,
    );
    assert!(
        links
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["link_name"] == "Buy now"
                && r["count_clicked"] == 4
                && r["count_raw_clicked"] == 2),
        "{links}"
    );
}

/// The lists and the values a dimension took.
fn expected_values(
    facts: &[Fact],
    range: (i64, i64),
    param: &str,
    matching: Option<&str>,
    limit: usize,
) -> Value {
    let mut values: Vec<String> = select(facts, range.0, range.1, &Filter::default())
        .map(|fact| fact.value(param))
        .filter(|v| !v.is_empty())
        .filter(|v| matching.is_none_or(|m| v.to_lowercase().contains(&m.to_lowercase())))
        .collect();
    values.sort();
    values.dedup();
    values.truncate(limit);
    json!(values)
}

/// The list endpoints: path segment and filter parameter.
pub const LISTS: [(&str, &str); 8] = [
    ("campaigns", "campaigns"),
    ("templates", "templates"),
    ("domains", "domains"),
    ("ip-pools", "ip_pools"),
    ("sending-ips", "sending_ips"),
    ("sending-domains", "sending_domains"),
    ("mailbox-providers", "mailbox_providers"),
    ("mailbox-provider-regions", "mailbox_provider_regions"),
];

#[tokio::test]
async fn metrics_lists_match_and_limit() {
    let l = loaded().await;
    let f = &l.facts;
    let day = (l.base, l.base + DAY);
    let late = (l.base + 3 * HOUR, l.base + 3 * HOUR + 20 * MINUTE);
    for (list, param) in LISTS {
        let all = expected_values(f, day, param, None, 10_000);
        assert!(
            all.as_array().is_some_and(|v| v.len() >= 2),
            "{list}: {all}"
        );
        // A pattern taken from the middle of a value, in another case.
        let sample = all[all.as_array().unwrap().len() / 2]
            .as_str()
            .unwrap()
            .to_string();
        let middle: String = sample
            .chars()
            .skip(1)
            .take(4)
            .collect::<String>()
            .to_uppercase();
        for (range, matching, limit) in [
            (day, None, None),
            (late, None, None),
            (day, Some(middle.as_str()), None),
            (day, None, Some(2)),
            (day, Some("e"), Some(3)),
        ] {
            let mut query = vec![
                ("from", super::clock::param_time(range.0, 0)),
                ("to", super::clock::param_time(range.1, 0)),
            ];
            if let Some(m) = matching {
                query.push(("match", m.to_string()));
            }
            if let Some(n) = limit {
                query.push(("limit", n.to_string()));
            }
            let expected = expected_values(f, range, param, matching, limit.unwrap_or(1_000));
            let actual = results(&l, list, query.clone()).await;
            assert_eq!(
                actual,
                json!({ list: expected }),
                "/metrics/{list} {query:?}"
            );
        }
    }
    // Without from, the lists cover everything kept.
    let everything = (0, l.base + 2 * DAY);
    let actual = results(&l, "campaigns", vec![]).await;
    assert_eq!(
        actual,
        json!({"campaigns": expected_values(f, everything, "campaigns", None, 1_000)})
    );

    // The root lists what can be listed and reported.
    let body = ok(&l.server, "/api/v1/metrics/", &[]).await;
    let hrefs = body["links"].to_string();
    for list in LISTS
        .iter()
        .map(|(list, _)| list)
        .chain(&["deliverability"])
    {
        assert!(
            hrefs.contains(&format!("/api/v1/metrics/{list}\"")),
            "{list} not in {hrefs}"
        );
    }
}
