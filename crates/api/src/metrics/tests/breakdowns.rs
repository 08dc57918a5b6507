//! The reason, classification, link and attempt breakdowns.

use axum::http::StatusCode;
use serde_json::json;

use super::{event, gmail, harness, harness_of, uri, with, MARCH};

#[tokio::test]
async fn bounce_reasons_carry_their_class() {
    let h = harness().await;
    let answer = h
        .get(&uri(
            "deliverability/bounce-reason",
            &format!("{MARCH}&metrics=count_bounce,count_admin_bounce"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([
            {
                "reason": "550 5.1.1 user unknown",
                "bounce_class_name": "Invalid Recipient",
                "bounce_class_description": "The recipient is invalid.",
                "bounce_category_id": 1,
                "bounce_category_name": "Hard",
                "classification_id": 10,
                "count_bounce": 1,
                "count_admin_bounce": 0
            },
            {
                "reason": "550 mailbox gone",
                "bounce_class_name": "Invalid Recipient",
                "bounce_class_description": "The recipient is invalid.",
                "bounce_category_id": 1,
                "bounce_category_name": "Hard",
                "classification_id": 10,
                "count_bounce": 1,
                "count_admin_bounce": 0
            },
            {
                "reason": "554 policy",
                "bounce_class_name": "Admin Failure",
                "bounce_class_description": "The message was failed by SparkPost's configured policies.",
                "bounce_category_id": 4,
                "bounce_category_name": "Admin",
                "classification_id": 25,
                "count_bounce": 0,
                "count_admin_bounce": 1
            }
        ])
    );
    // By domain, ordered by the first metric; limit keeps the largest.
    let answer = h
        .get(&uri(
            "deliverability/bounce-reason/domain",
            &format!("{MARCH}&metrics=count_admin_bounce,count_outofband_bounce&limit=2"),
        ))
        .await;
    let rows = answer.results().as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["domain"], "hotmail.com");
    assert_eq!(rows[0]["count_admin_bounce"], 1);
    // Ties (no admin bounces) go by reason: "550 5.1.1 …" before "550 mailbox gone".
    assert_eq!(rows[1]["domain"], "yahoo.com");
    assert_eq!(rows[1]["count_outofband_bounce"], 0);
    assert_eq!(
        rows[1].as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "reason",
            "domain",
            "bounce_class_name",
            "bounce_class_description",
            "bounce_category_id",
            "bounce_category_name",
            "classification_id",
            "count_admin_bounce",
            "count_outofband_bounce"
        ]
    );
}

#[tokio::test]
async fn bounce_classification_groups_by_class() {
    let h = harness().await;
    let answer = h
        .get(&uri(
            "deliverability/bounce-classification",
            &format!("{MARCH}&metrics=count_bounce,count_inband_bounce"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([
            {
                "bounce_class_name": "Invalid Recipient",
                "bounce_class_description": "The recipient is invalid.",
                "bounce_category_name": "Hard",
                "classification_id": 10,
                "count_bounce": 2,
                "count_inband_bounce": 1
            },
            {
                "bounce_class_name": "Admin Failure",
                "bounce_class_description": "The message was failed by SparkPost's configured policies.",
                "bounce_category_name": "Admin",
                "classification_id": 25,
                "count_bounce": 0,
                "count_inband_bounce": 0
            }
        ])
    );
    // Only the four bounce metrics are offered.
    let answer = h
        .get(&uri(
            "deliverability/bounce-classification",
            &format!("{MARCH}&metrics=count_delivered"),
        ))
        .await;
    assert_eq!(answer.bad_params(), ["metrics"]);
    let answer = h.get(&uri("deliverability/bounce-reason", MARCH)).await;
    assert_eq!(answer.bad_params(), ["metrics"], "metrics is required");
}

#[tokio::test]
async fn rejection_reasons_name_their_type() {
    let h = harness().await;
    let answer = h.get(&uri("deliverability/rejection-reason", MARCH)).await;
    assert_eq!(
        answer.results(),
        &json!([
            {
                "reason": "550 blocked by policy",
                "count_rejected": 1,
                "rejection_category_id": 1,
                "rejection_type": "Policy Rejection"
            },
            {
                "reason": "render failed",
                "count_rejected": 1,
                "rejection_category_id": 3,
                "rejection_type": "Generation Failure"
            }
        ])
    );
    let answer = h
        .get(&uri(
            "deliverability/rejection-reason/domain",
            &format!("{MARCH}&limit=1"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{
            "reason": "550 blocked by policy",
            "domain": "gmail.com",
            "count_rejected": 1,
            "rejection_category_id": 1,
            "rejection_type": "Policy Rejection"
        }])
    );
}

#[tokio::test]
async fn delay_reasons_count_first_attempts() {
    let h = harness().await;
    let answer = h.get(&uri("deliverability/delay-reason", MARCH)).await;
    assert_eq!(
        answer.results(),
        &json!([{ "reason": "421 try later", "count_delayed": 2, "count_delayed_first": 1 }])
    );
    let answer = h
        .get(&uri("deliverability/delay-reason/domain", MARCH))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{
            "reason": "421 try later",
            "domain": "hotmail.com",
            "count_delayed": 2,
            "count_delayed_first": 1
        }])
    );
    // Filters apply: the delays are subaccount 7's.
    let answer = h
        .get(&uri(
            "deliverability/delay-reason",
            &format!("{MARCH}&subaccounts=0"),
        ))
        .await;
    assert_eq!(answer.results(), &json!([]));
    let answer = h
        .get_with(&uri("deliverability/delay-reason", MARCH), Some(&h.sub7))
        .await;
    assert_eq!(answer.results()[0]["count_delayed"], 2);
}

#[tokio::test]
async fn link_names_count_clicks_per_link() {
    let h = harness().await;
    let answer = h
        .get(&uri(
            "deliverability/link-name",
            &format!("{MARCH}&metrics=count_raw_clicked,count_clicked"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([
            { "link_name": "buy-now", "count_raw_clicked": 1, "count_clicked": 2 },
            { "link_name": "https://acme.example/x", "count_raw_clicked": 1, "count_clicked": 1 }
        ])
    );
    let answer = h
        .get(&uri(
            "deliverability/link-name",
            &format!("{MARCH}&metrics=count_unique_clicked"),
        ))
        .await;
    assert!(answer.descriptions().contains("not offered"));
    // A subaccount key sees none of the primary account's clicks.
    let answer = h
        .get_with(
            &uri(
                "deliverability/link-name",
                &format!("{MARCH}&metrics=count_clicked"),
            ),
            Some(&h.sub7),
        )
        .await;
    assert_eq!(answer.results(), &json!([]));
}

/// SparkPost's definitions: `count_clicked` is the "Total number of times that links were
/// selected across all messages" (Metrics API terminology), `count_raw_clicked` the "Number of
/// unique link clicks from recipients" (support docs): each message counts once per link.
#[tokio::test]
async fn link_clicks_follow_sparkposts_definitions() {
    let click = |message: &str, minute: u32, link: &str| {
        event(
            "click",
            &format!("2024-03-05T10:{minute:02}:00Z"),
            with(gmail(message), json!({ "target_link_name": link })),
        )
    };
    // m1 clicks "shop" three times and "unsubscribe-help" twice; m2 clicks "shop" once.
    let h = harness_of(vec![
        vec![
            click("m1", 1, "shop"),
            click("m1", 2, "unsubscribe-help"),
            click("m1", 3, "shop"),
        ],
        vec![
            click("m1", 4, "shop"),
            click("m1", 5, "unsubscribe-help"),
            click("m2", 6, "shop"),
        ],
    ])
    .await;
    let answer = h
        .get(&uri(
            "deliverability/link-name",
            &format!("{MARCH}&metrics=count_clicked,count_raw_clicked,count_raw_clicked_approx"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([
            {
                "link_name": "shop",
                "count_clicked": 4,
                "count_raw_clicked": 2,
                "count_raw_clicked_approx": 2
            },
            {
                "link_name": "unsubscribe-help",
                "count_clicked": 2,
                "count_raw_clicked": 1,
                "count_raw_clicked_approx": 1
            }
        ])
    );
    // Every click of the report is one of the summary's.
    let answer = h
        .get(&uri(
            "deliverability",
            &format!("{MARCH}&metrics=count_clicked,count_unique_clicked"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{ "count_clicked": 6, "count_unique_clicked": 2 }])
    );
    // Ordered by the first requested metric.
    let answer = h
        .get(&uri(
            "deliverability/link-name",
            &format!("{MARCH}&metrics=count_raw_clicked_approx&limit=1"),
        ))
        .await;
    assert_eq!(
        answer.results(),
        &json!([{ "link_name": "shop", "count_raw_clicked_approx": 2 }])
    );
}

#[tokio::test]
async fn attempts_come_in_order() {
    let h = harness().await;
    let answer = h.get(&uri("deliverability/attempt", MARCH)).await;
    assert_eq!(
        answer.results(),
        &json!([
            { "attempt": "1", "count_delivered": 1 },
            { "attempt": "3+", "count_delivered": 1 }
        ])
    );
    let answer = h
        .get(&uri("deliverability/attempt", "metrics=count_delivered"))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.bad_params(), ["from"]);
}
