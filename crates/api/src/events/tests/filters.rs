//! Every filter alone and in combination, keyword semantics, the window, the rendered events,
//! and subaccount isolation.

use super::{encode, harness, time};

/// Every message event of the sample window, newest first (`e07` is a relay event).
const ALL: [&str; 8] = ["e09", "e08", "e06", "e05", "e04", "e03", "e02", "e01"];

#[tokio::test]
async fn without_filters_every_message_event_of_the_window_newest_first() {
    let h = harness().await;
    let answer = h.search_as("", &h.root).await;
    assert_eq!(answer.ids(), ALL);
    assert_eq!(answer.body["total_count"], 8);
    assert_eq!(answer.body["links"], serde_json::json!({}));
    // Stored fields come back as stored, `timestamp` in the Events API's ISO form.
    let first = &answer.results()[7];
    assert_eq!(first["type"], "injection");
    assert_eq!(first["raw_rcpt_to"], "Ann@Gmail.com");
    assert_eq!(first["ab_test_version"], "2");
    let expected = format!("{}.000+00:00", &time(h.t0)[..19]);
    assert_eq!(first["timestamp"], expected.as_str());
}

#[tokio::test]
async fn the_window_is_half_open_and_defaults_to_the_last_day() {
    let h = harness().await;
    let uri = format!(
        "/api/v1/events/message?from={}&to={}",
        time(h.t0 + 60),
        time(h.t0 + 240)
    );
    assert_eq!(h.get(&uri).await.ids(), ["e04", "e03", "e02"]);
    // Without from and to: the last 24 hours up to a minute ago, e00 included.
    let all = h.get("/api/v1/events/message").await;
    assert_eq!(all.ids().len(), 9);
    assert_eq!(all.ids().last().map(String::as_str), Some("e00"));
    // Minutes without seconds are read too.
    let uri = format!(
        "/api/v1/events/message?from={}&to={}",
        &time(h.t0 - 60)[..16],
        &time(h.t0 + 60)[..16]
    );
    let answer = h.get(&uri).await;
    assert!(answer.ids().contains(&"e01".to_string()), "{}", answer.body);
}

#[tokio::test]
async fn every_filter_alone() {
    let h = harness().await;
    for (query, expected) in [
        ("events=bounce,open", &["e06", "e03"][..]),
        ("event_ids=e02,e05,E06", &["e05", "e02"]),
        ("recipients=ANN@gmail.com", &["e09", "e02", "e01"]),
        ("recipient_domains=yahoo", &["e03"]),
        ("from_addresses=news@acme.com", &["e01"]),
        ("sending_domains=acme", &["e01"]),
        ("subjects=friday", &["e01"]),
        ("reasons=unknown,later", &["e04", "e03"]),
        ("campaigns=blackfriday", &["e08", "e02", "e01"]),
        ("templates=tpl", &["e05", "e01"]),
        ("sending_ips=10.0.0.1", &["e02", "e01"]),
        ("ip_pools=pool", &["e01"]),
        ("messages=m3", &["e04", "e03"]),
        ("transmissions=100", &["e02", "e01"]),
        ("mailbox_providers=gmail", &["e02"]),
        ("mailbox_provider_regions=uk", &["e03"]),
        ("ab_tests=subject", &["e05", "e01"]),
        ("ab_tests=subject-test&ab_test_versions=1", &["e05"]),
        ("bounce_classes=21,25", &["e04"]),
        ("subaccounts=0", &["e06", "e05", "e02", "e01"]),
        ("subaccounts=7,8", &["e09", "e08", "e04", "e03"]),
    ] {
        assert_eq!(h.ids(query).await, expected, "{query}");
    }
}

#[tokio::test]
async fn keyword_parameters_match_whole_keywords_only() {
    let h = harness().await;
    // SparkPost's example: `blackfriday` matches `blackfriday-specials`, `friday` does not.
    assert_eq!(h.ids("campaigns=friday").await, ["e03"]);
    assert_eq!(
        h.ids(&format!("campaigns={}", encode("Specials BLACKFRIDAY")))
            .await,
        ["e02", "e01"]
    );
    assert!(h.ids("reasons=unknow").await.is_empty());
    assert_eq!(h.ids("recipient_domains=co.uk").await, ["e03"]);
    assert_eq!(
        h.ids(&format!("subjects={}", encode("friday black"))).await,
        ["e01"]
    );
    // Exact parameters do not match parts.
    assert!(h.ids("sending_ips=10.0.0").await.is_empty());
    assert!(h.ids("recipients=ann").await.is_empty());
}

#[tokio::test]
async fn filters_combine_with_and_across_and_or_within() {
    let h = harness().await;
    let recipients = "recipients=ann@gmail.com,bob@yahoo.co.uk";
    assert_eq!(
        h.ids(&format!("{recipients}&events=delivery,delay")).await,
        ["e04", "e02"]
    );
    assert_eq!(
        h.ids(&format!("{recipients}&events=delivery,delay&subaccounts=7"))
            .await,
        ["e04"]
    );
    assert_eq!(
        h.ids("campaigns=blackfriday&subaccounts=8&events=injection")
            .await,
        ["e08"]
    );
    assert!(h
        .ids(&format!("{recipients}&events=delay&campaigns=friday"))
        .await
        .is_empty());
    // Another delimiter: commas become part of the values.
    assert_eq!(
        h.ids("events=bounce;open&delimiter=;").await,
        ["e06", "e03"]
    );
    assert!(h
        .ids("subjects=Black%20Friday,x&delimiter=;")
        .await
        .is_empty());
}

#[tokio::test]
async fn a_subaccount_key_sees_only_its_own_events() {
    let h = harness().await;
    let own = h.search_as("", &h.sub7).await;
    assert_eq!(own.ids(), ["e09", "e04", "e03"]);
    assert_eq!(own.body["total_count"], 3);
    assert_eq!(
        h.search_as("subaccounts=7,8", &h.sub7).await.ids(),
        own.ids()
    );
    let others = h.search_as("subaccounts=0,8", &h.sub7).await;
    assert!(others.ids().is_empty());
    assert_eq!(others.body["total_count"], 0);
    assert_eq!(
        h.search_as("recipients=ann@gmail.com", &h.sub7).await.ids(),
        ["e09"]
    );
    // X-MSYS-SUBACCOUNT is not used by the Events API.
    let uri = format!("/api/v1/events/message?{}", h.window());
    let header = [("X-MSYS-SUBACCOUNT", "7")];
    let primary = h.send("GET", &uri, Some(&h.root), &header).await;
    assert_eq!(primary.ids(), ALL);
    let sub = h
        .send("GET", &uri, Some(&h.sub7), &[("X-MSYS-SUBACCOUNT", "0")])
        .await;
    assert_eq!(sub.ids(), ["e09", "e04", "e03"]);
}
