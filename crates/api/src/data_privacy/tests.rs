//! The Data Privacy API through the real router, over a real state store and in-memory events.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use eventhose_analytics::{EventBatch, EventQuery, EventReader, EventWriter};
use eventhose_analytics::{MemoryEventStore, MemoryStore};
use eventhose_state::{recipient_digest, ErasureStore, ListScope, SuppressionStore};
use serde_json::{json, Value};

use super::GRANT;
use crate::test_app::{Answer, TestApp};

const RTBF: &str = "/api/v1/data-privacy/rtbf-request";
const OPT_OUT: &str = "/api/v1/data-privacy/opt-out-request";

struct Harness {
    app: TestApp,
    events: Arc<MemoryEventStore>,
    /// A primary key with the grant.
    root: String,
    /// A key of subaccount 7 with the grant.
    sub7: String,
    /// A primary key with every other grant an erasure or a suppression needs.
    other: String,
}

async fn harness() -> Harness {
    let events = Arc::new(MemoryEventStore::new());
    let now = chrono::Utc::now().timestamp();
    let stored: Vec<Vec<u8>> = [
        ("ann@gmail.com", "e1", "0"),
        ("Ann@Gmail.com", "e2", "7"),
        ("bob@yahoo.com", "e3", "7"),
        ("cy@hotmail.com", "e4", "0"),
    ]
    .iter()
    .map(|(rcpt, id, sub)| {
        json!({"type": "delivery", "timestamp": (now - 60).to_string(), "event_id": id,
               "rcpt_to": rcpt, "subaccount_id": sub})
        .to_string()
        .into_bytes()
    })
    .collect();
    let slices: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();
    events
        .insert(&EventBatch::read(&slices).unwrap(), None)
        .unwrap();
    let app = TestApp::new(Arc::new(MemoryStore::new()), events.clone()).await;
    Harness {
        root: app.key(&[GRANT], None),
        sub7: app.key(&[GRANT], Some(7)),
        other: app.key(
            &[
                "message_events/view",
                "suppression_lists/manage",
                "webhooks/modify",
            ],
            None,
        ),
        app,
        events,
    }
}

impl Harness {
    async fn post(&self, uri: &str, key: &str, subaccount: Option<&str>, body: Value) -> Answer {
        let mut request = Request::builder()
            .method("POST")
            .uri(uri)
            .header("Authorization", key);
        if let Some(subaccount) = subaccount {
            request = request.header("X-MSYS-SUBACCOUNT", subaccount);
        }
        self.app
            .send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    /// The event ids still stored, in order.
    fn stored_ids(&self) -> Vec<String> {
        let query = EventQuery {
            from: 0,
            to: i64::MAX,
            filters: Default::default(),
            per_page: 100,
            max_bytes: usize::MAX,
            cursor: None,
        };
        let page = self.events.search(&query).unwrap();
        let mut ids: Vec<String> = page
            .events
            .iter()
            .map(|e| serde_json::from_str::<Value>(e).unwrap()["event_id"].to_string())
            .map(|id| id.trim_matches('"').to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// (recipient, type, source, subaccount) of every suppression entry, sorted.
    fn entries(&self) -> Vec<(String, String, String, Option<u64>)> {
        let mut all: Vec<_> = ["ann@gmail.com", "bob@yahoo.com"]
            .iter()
            .flat_map(|r| self.app.state.find_suppressions(r, ListScope::All).unwrap())
            .map(|e| {
                (
                    e.recipient,
                    e.suppression_type.to_string(),
                    e.source.to_string(),
                    e.subaccount,
                )
            })
            .collect();
        all.sort();
        all
    }
}

fn saved(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"results": {"message": "Request saved."}})
    );
}

#[tokio::test]
async fn rtbf_request_erases_the_recipients_events_in_every_account() {
    let h = harness().await;
    let body = json!({"recipients": ["ANN@gmail.com", "bob@yahoo.com"]});
    saved(&h.post(RTBF, &h.root, None, body).await);
    assert_eq!(h.stored_ids(), ["e4"]);
    // Tombstones keep late copies out.
    let erased: Vec<[u8; 32]> = h
        .app
        .state
        .erasures()
        .unwrap()
        .into_iter()
        .map(|(digest, _)| digest)
        .collect();
    for address in ["ann@gmail.com", "bob@yahoo.com"] {
        assert!(erased.contains(&recipient_digest(address)), "{address}");
    }
}

#[tokio::test]
async fn subaccount_key_cannot_erase_a_recipient_in_every_account() {
    let h = harness().await;
    let body = json!({"recipients": ["ann@gmail.com"]});
    for (key, header) in [(&h.sub7, None), (&h.root, Some("7")), (&h.root, Some("0"))] {
        let answer = h.post(RTBF, key, header, body.clone()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{header:?}");
    }
    let answer = h.post(RTBF, &h.other, None, body.clone()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.descriptions().contains(GRANT));
    let answer = h.post(OPT_OUT, &h.other, None, body).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(h.stored_ids(), ["e1", "e2", "e3", "e4"]);
    assert!(h.entries().is_empty());
}

#[tokio::test]
async fn bad_requests_name_the_field_and_change_nothing() {
    let h = harness().await;
    let cases = [
        (json!({}), "recipients"),
        (json!({"recipients": []}), "recipients"),
        (
            json!({"recipients": ["ann@gmail.com", "not an address"]}),
            "recipients[1]",
        ),
    ];
    for uri in [RTBF, OPT_OUT] {
        for (body, param) in &cases {
            let answer = h.post(uri, &h.root, None, body.clone()).await;
            assert_eq!(answer.bad_params(), [*param], "{uri} {body}");
        }
        let answer = h.post(uri, &h.root, None, json!({"recipients": "x"})).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(h.stored_ids(), ["e1", "e2", "e3", "e4"]);
    assert!(h.entries().is_empty());
}

#[tokio::test]
async fn one_request_takes_at_most_the_configured_number_of_recipients() {
    let h = harness().await;
    let most = crate::ApiLimits::default().data_privacy_max_recipients;
    let many = |n: usize| -> Value {
        let recipients: Vec<String> = (0..n).map(|i| format!("user{i}@example.com")).collect();
        json!({ "recipients": recipients })
    };
    let over = h.post(OPT_OUT, &h.root, None, many(most + 1)).await;
    assert_eq!(over.bad_params(), ["recipients"]);
    assert_eq!(
        h.app
            .state
            .suppression_summary(ListScope::All)
            .unwrap()
            .total(),
        0
    );
    saved(&h.post(OPT_OUT, &h.root, None, many(most)).await);
    assert_eq!(
        h.app
            .state
            .suppression_summary(ListScope::All)
            .unwrap()
            .total(),
        most as u64
    );
}

#[tokio::test]
async fn opt_out_request_suppresses_non_transactional_mail_in_the_lists_reached() {
    let h = harness().await;
    let entry = |recipient: &str, sub: Option<u64>| {
        (
            recipient.to_string(),
            "non_transactional".to_string(),
            "Compliance".to_string(),
            sub,
        )
    };
    // The primary account's list alone.
    let body = json!({"recipients": ["ann@gmail.com"], "include_subaccounts": false});
    saved(&h.post(OPT_OUT, &h.root, None, body).await);
    assert_eq!(h.entries(), [entry("ann@gmail.com", None)]);

    // A subaccount's own list, whatever `include_subaccounts` says.
    let body = json!({"recipients": ["bob@yahoo.com"], "include_subaccounts": true});
    saved(&h.post(OPT_OUT, &h.sub7, None, body.clone()).await);
    saved(&h.post(OPT_OUT, &h.root, Some("9"), body).await);
    assert_eq!(
        h.entries(),
        [
            entry("ann@gmail.com", None),
            entry("bob@yahoo.com", Some(7)),
            entry("bob@yahoo.com", Some(9)),
        ]
    );

    // Every account known: the primary, 7 (a key) and 9 (a list).
    let body = json!({"recipients": ["ann@gmail.com"], "include_subaccounts": true});
    saved(&h.post(OPT_OUT, &h.root, None, body).await);
    assert_eq!(
        h.entries(),
        [
            entry("ann@gmail.com", None),
            entry("ann@gmail.com", Some(7)),
            entry("ann@gmail.com", Some(9)),
            entry("bob@yahoo.com", Some(7)),
            entry("bob@yahoo.com", Some(9)),
        ]
    );
    // An opt-out is a compliance entry: the Suppression List API cannot remove it.
    let manager = h.app.key(&["suppression_lists/manage"], None);
    let request = Request::builder()
        .method("DELETE")
        .uri("/api/v1/suppression-list/ann@gmail.com")
        .header("Authorization", manager)
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.app.send(request).await.status, StatusCode::FORBIDDEN);
}
