//! Erasure of a recipient's events: who may, what it answers, and what is gone.

use axum::http::StatusCode;
use serde_json::json;

use super::{encode, harness};

#[tokio::test]
async fn only_a_primary_key_with_both_grants_erases() {
    let h = harness().await;
    let uri = format!(
        "/api/v1/events/message?recipients={}",
        encode("ann@gmail.com")
    );
    assert_eq!(
        h.send("DELETE", &uri, None, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let read_only = h.send("DELETE", &uri, Some(&h.root), &[]).await;
    assert_eq!(read_only.status, StatusCode::FORBIDDEN);
    assert!(read_only
        .descriptions()
        .contains("suppression_lists/manage"));
    let subaccount = h.send("DELETE", &uri, Some(&h.sub7_eraser), &[]).await;
    assert_eq!(subaccount.status, StatusCode::FORBIDDEN);
    assert!(subaccount.descriptions().contains("primary"));
    // Nothing was erased by the refused requests.
    assert_eq!(
        h.ids("recipients=ann@gmail.com").await,
        ["e09", "e02", "e01"]
    );
}

#[tokio::test]
async fn erasure_removes_every_event_of_the_recipient_in_every_account() {
    let h = harness().await;
    let uri = format!(
        "/api/v1/events/message?recipients={}",
        encode("ANN@Gmail.com")
    );
    let answer = h.send("DELETE", &uri, Some(&h.eraser), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body["results"],
        json!({
            "recipient": "ANN@Gmail.com",
            "erased": {"injection": 2, "delivery": 1, "spam_complaint": 1},
            "total": 4,
            "at_rest": "pending",
        })
    );
    // Gone from searches, old events (e00) and other subaccounts' (e09) included.
    assert!(h.ids("recipients=ann@gmail.com").await.is_empty());
    assert!(h
        .get("/api/v1/events/message?recipients=ann@gmail.com")
        .await
        .ids()
        .is_empty());
    assert_eq!(
        h.ids("").await,
        ["e08", "e06", "e05", "e04", "e03"],
        "the others stay"
    );
    // Again: nothing left.
    let again = h.send("DELETE", &uri, Some(&h.eraser), &[]).await;
    assert_eq!(again.body["results"]["total"], 0);
    assert_eq!(again.body["results"]["erased"], json!({}));
}

#[tokio::test]
async fn erasure_names_exactly_one_address() {
    let h = harness().await;
    for query in [
        "",
        "recipients=",
        "recipients=ann@gmail.com,bob@yahoo.co.uk",
        "recipients=not-an-address",
    ] {
        let answer = h
            .send(
                "DELETE",
                &format!("/api/v1/events/message?{query}"),
                Some(&h.eraser),
                &[],
            )
            .await;
        assert_eq!(answer.bad_params(), ["recipients"], "{query}");
    }
    assert_eq!(h.ids("").await.len(), 8);
}
