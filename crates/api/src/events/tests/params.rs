//! Keys and grants first; then every bad parameter is a 400 naming it.

use axum::http::StatusCode;
use chrono::Utc;

use super::{harness, time};

#[tokio::test]
async fn keys_and_the_grant_are_required() {
    let h = harness().await;
    for path in [
        "/api/v1/events/message",
        "/api/v1/events/message/documentation",
        "/api/v1/events/message/samples",
    ] {
        assert_eq!(
            h.get_with(path, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        let answer = h.get_with(path, Some(&h.other)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            answer.descriptions().contains("message_events/view"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn each_bad_parameter_is_named() {
    let h = harness().await;
    let now = Utc::now().timestamp();
    let too_old = time(now - 11 * 86_400);
    let recent = time(now - 3_600);
    let earlier = time(now - 7_200);
    for (query, param) in [
        ("from=yesterday".to_string(), "from"),
        ("from=2024-03-05".to_string(), "from"),
        ("to=2024-13-01T00:00:00Z".to_string(), "to"),
        (format!("from={recent}&to={earlier}"), "to"),
        (format!("from={recent}&to={recent}"), "to"),
        (format!("from={}", time(now)), "from"),
        (format!("from={too_old}"), "from"),
        ("cursor=garbage".to_string(), "cursor"),
        ("cursor=ZTE6MToyOg".to_string(), "cursor"),
        ("per_page=0".to_string(), "per_page"),
        ("events=delivery,nope".to_string(), "events"),
        ("events=relay_injection".to_string(), "events"),
        ("bounce_classes=10,hard".to_string(), "bounce_classes"),
        ("subaccounts=seven".to_string(), "subaccounts"),
        ("subaccounts=-1".to_string(), "subaccounts"),
        ("ab_test_versions=1".to_string(), "ab_test_versions"),
        (
            "ab_tests=t&ab_test_versions=v1".to_string(),
            "ab_test_versions",
        ),
        ("campaigns=-".to_string(), "campaigns"),
        ("subjects=a,_".to_string(), "subjects"),
        ("recipient_domains=..".to_string(), "recipient_domains"),
    ] {
        let answer = h.get(&format!("/api/v1/events/message?{query}")).await;
        assert_eq!(answer.bad_params(), [param], "{query}: {}", answer.body);
        assert_eq!(answer.body["errors"][0]["code"], "1200", "{query}");
    }
}

#[tokio::test]
async fn every_bad_parameter_of_one_request_is_named() {
    let h = harness().await;
    let answer = h
        .get("/api/v1/events/message?from=soon&per_page=0&events=nope&subaccounts=x&cursor=bad")
        .await;
    let mut named = answer.bad_params();
    named.sort();
    assert_eq!(
        named,
        ["cursor", "events", "from", "per_page", "subaccounts"]
    );
    let descriptions = answer.descriptions();
    assert!(descriptions.contains("nope"), "{descriptions}");
}

#[tokio::test]
async fn unknown_parameters_are_ignored_and_the_retention_edge_is_allowed() {
    let h = harness().await;
    let answer = h.search_as("color=blue&page=3", &h.root).await;
    assert_eq!(answer.ids().len(), 8);
    let nine_days = time(Utc::now().timestamp() - 9 * 86_400);
    let answer = h
        .get(&format!("/api/v1/events/message?from={nine_days}"))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}
