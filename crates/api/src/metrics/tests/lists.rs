//! The discoverability lists, the root links, the Add-On refusals and the filters schema.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::super::query_filters;
use super::{harness, uri};

const MARCH_DAY: &str = "from=2024-03-05T00:00&to=2024-03-06T00:00";

#[tokio::test]
async fn lists_hold_the_values_seen_in_the_window() {
    let h = harness().await;
    let answer = h.get(&uri("campaigns", MARCH_DAY)).await;
    assert_eq!(
        answer.results(),
        &json!({ "campaigns": ["spring-sale", "summer", "winter-promo"] })
    );
    // Without from: everything kept.
    let answer = h.get(&uri("campaigns", "")).await;
    assert_eq!(
        answer.results()["campaigns"],
        json!(["dst", "spring-sale", "summer", "winter-promo"])
    );
    let answer = h
        .get(&uri("campaigns", &format!("{MARCH_DAY}&match=RING")))
        .await;
    assert_eq!(answer.results()["campaigns"], json!(["spring-sale"]));
    let answer = h
        .get(&uri("campaigns", &format!("{MARCH_DAY}&limit=2")))
        .await;
    assert_eq!(
        answer.results()["campaigns"],
        json!(["spring-sale", "summer"])
    );
    let answer = h.get(&uri("campaigns", "limit=0")).await;
    assert_eq!(answer.bad_params(), ["limit"]);
    let answer = h.get(&uri("campaigns", "from=tuesday")).await;
    assert_eq!(answer.bad_params(), ["from"]);
    // A subaccount key lists its own subaccount's values.
    let answer = h
        .get_with(&uri("campaigns", MARCH_DAY), Some(&h.sub7))
        .await;
    assert_eq!(
        answer.results()["campaigns"],
        json!(["spring-sale", "winter-promo"])
    );
}

#[tokio::test]
async fn every_list_is_keyed_by_its_name() {
    let h = harness().await;
    for (list, expected) in [
        ("templates", json!(["tpl-a", "tpl-b"])),
        ("domains", json!(["gmail.com", "hotmail.com", "yahoo.com"])),
        ("ip-pools", json!(["pool-a", "pool-b"])),
        ("sending-ips", json!(["10.0.0.1", "10.0.0.2"])),
        ("sending-domains", json!(["mail.acme.com", "news.acme.com"])),
        ("mailbox-providers", json!(["Gmail", "Microsoft", "Yahoo"])),
        (
            "mailbox-provider-regions",
            json!(["Europe", "Global", "North America"]),
        ),
    ] {
        let answer = h.get(&uri(list, MARCH_DAY)).await;
        assert_eq!(answer.results(), &json!({ list: expected }), "{list}");
    }
}

#[tokio::test]
async fn the_root_links_to_the_lists_and_reports() {
    let h = harness().await;
    for path in ["/api/v1/metrics", "/api/v1/metrics/"] {
        let answer = h.get(path).await;
        assert_eq!(answer.results(), &json!({}));
        let rels = answer.link_rels();
        assert_eq!(
            rels,
            [
                "campaigns",
                "deliverability",
                "domains",
                "ip-pools",
                "mailbox-provider-regions",
                "mailbox-providers",
                "sending-domains",
                "sending-ips",
                "templates"
            ]
        );
        assert_eq!(answer.body["links"][0]["href"], "/api/v1/metrics/campaigns");
    }
}

#[tokio::test]
async fn add_on_reports_are_refused_with_the_reason() {
    let h = harness().await;
    for path in [
        "deliverability/subject-campaign",
        "subject-campaigns",
        "benchmarks/inbox-rate",
    ] {
        let answer = h
            .get(&uri(
                path,
                "from=2024-03-05T00:00&metrics=count_inbox_panel",
            ))
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            answer.body["errors"][0]["message"], "Deliverability Add-On required",
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_schema_describes_what_the_parser_accepts() {
    let h = harness().await;
    let answer = h.get(&uri("deliverability/query-filters-schema", "")).await;
    let schema = answer.results();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["required"], json!(["groupings"]));
    let keys: Vec<&str> = schema["definitions"]["filters"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "domains",
            "sending_ips",
            "ip_pools",
            "campaigns",
            "templates",
            "sending_domains",
            "mailbox_providers",
            "subaccounts",
            "mailbox_provider_regions"
        ]
    );
    // Each filter key of the schema is one the parser takes, and the others are refused.
    for key in &keys {
        let value = if *key == "subaccounts" {
            json!(3)
        } else {
            json!("abc")
        };
        let doc = json!({ "groupings": [{ "AND": { *key: { "eq": [value], "like": ["abc"] } } }] });
        assert!(query_filters::parse(&doc.to_string()).is_ok(), "{key}");
    }
    let refused = json!({ "groupings": [{ "AND": { "nodes": { "eq": ["x"] } } }] });
    assert!(query_filters::parse(&refused.to_string()).is_err());
    // Every $ref points at a definition.
    let text = schema.to_string();
    for reference in text.split("\"#/definitions/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            schema["definitions"]
                .get(name)
                .is_some_and(Value::is_object),
            "{name}"
        );
    }
}
