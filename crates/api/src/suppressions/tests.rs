//! The suppression list routes driven through the real router over a real SQLite state store.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use eventhose_state::{
    ListScope, SuppressionSource, SuppressionStore, SuppressionType, SuppressionUpsert, WhenKept,
};
use serde_json::{json, Value};

use crate::test_app::{Answer, TestApp};

const LIST: &str = "/api/v1/suppression-list";

struct Harness {
    app: TestApp,
    /// A primary key with `suppression_lists/manage`.
    root: String,
    /// A key of subaccount 7 with `suppression_lists/manage`.
    sub7: String,
    /// A primary key without the grant.
    other: String,
}

impl Answer {
    fn recipients(&self) -> Vec<String> {
        self.body["results"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| e["recipient"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn harness() -> Harness {
    let app = TestApp::new(
        Arc::new(crate::analytics::MemoryStore::new()),
        Arc::new(crate::analytics::MemoryEventStore::new()),
    )
    .await;
    Harness {
        root: app.key(&[super::GRANT], None),
        sub7: app.key(&[super::GRANT], Some(7)),
        other: app.key(&["webhooks/view"], None),
        app,
    }
}

impl Harness {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        key: &str,
        subaccount: Option<&str>,
        body: impl Into<Body>,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("Authorization", key);
        if let Some(subaccount) = subaccount {
            request = request.header("X-MSYS-SUBACCOUNT", subaccount);
        }
        self.app.send(request.body(body.into()).unwrap()).await
    }

    async fn get(&self, uri: &str, key: &str, subaccount: Option<&str>) -> Answer {
        self.call(Method::GET, uri, key, subaccount, Body::empty())
            .await
    }

    async fn put(&self, uri: &str, key: &str, subaccount: Option<&str>, body: Value) -> Answer {
        self.call(Method::PUT, uri, key, subaccount, body.to_string())
            .await
    }

    async fn delete(&self, uri: &str, key: &str, subaccount: Option<&str>, body: &str) -> Answer {
        self.call(Method::DELETE, uri, key, subaccount, body.to_string())
            .await
    }

    async fn summary(&self, key: &str, subaccount: Option<&str>) -> Value {
        let answer = self.get(&format!("{LIST}/summary"), key, subaccount).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body["results"].clone()
    }

    /// Stores an entry straight into the store (for sources the API cannot write).
    fn store(&self, recipient: &str, kind: SuppressionType, source: SuppressionSource) {
        let report = self
            .app
            .state
            .upsert_suppressions(
                vec![SuppressionUpsert {
                    recipient: recipient.into(),
                    suppression_type: kind,
                    source,
                    description: Some(format!("{source} entry")),
                    list_id: None,
                    subaccount: None,
                    occurred_at: 1,
                }],
                WhenKept::Skip,
            )
            .unwrap();
        assert!(report.committed);
    }
}

fn entry(recipient: &str, kind: &str) -> Value {
    json!({ "recipient": recipient, "type": kind })
}

#[tokio::test]
async fn every_route_needs_a_key_with_the_grant() {
    let h = harness().await;
    let routes = [
        (Method::GET, LIST.to_string()),
        (Method::PUT, LIST.to_string()),
        (Method::GET, format!("{LIST}/summary")),
        (Method::GET, format!("{LIST}/a@example.com")),
        (Method::PUT, format!("{LIST}/a@example.com")),
        (Method::DELETE, format!("{LIST}/a@example.com")),
    ];
    for (method, uri) in routes {
        let unknown = h
            .call(method.clone(), &uri, "not-a-key", None, Body::empty())
            .await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        let forbidden = h
            .call(method.clone(), &uri, &h.other, None, Body::empty())
            .await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert!(forbidden.body["errors"][0]["description"]
            .as_str()
            .unwrap()
            .contains("suppression_lists/manage"));
    }
}

#[tokio::test]
async fn one_entry_round_trip_with_case_ignored() {
    let h = harness().await;
    let put = h
        .put(
            &format!("{LIST}/Local@Example.COM"),
            &h.root,
            None,
            json!({"type": "transactional", "description": "asked by phone"}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(
        put.body,
        json!({"results": {"message": "Suppression list successfully updated"}})
    );

    let got = h
        .get(&format!("{LIST}/Local@example.com"), &h.root, None)
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert_eq!(got.body["total_count"], 1);
    assert_eq!(got.body["links"], json!([]));
    let shown = &got.body["results"][0];
    assert_eq!(shown["recipient"], "Local@Example.COM");
    assert_eq!(shown["type"], "transactional");
    assert_eq!(shown["source"], "Manually Added");
    assert_eq!(shown["description"], "asked by phone");
    assert_eq!(shown["transactional"], true);
    assert_eq!(shown["non_transactional"], false);
    assert!(shown.get("subaccount_id").is_none() && shown.get("list_id").is_none());
    let created = shown["created"].as_str().unwrap();
    assert_eq!(created.len(), "2017-10-01T12:00:00+00:00".len());
    assert!(created.ends_with("+00:00"));

    // Found whatever the letter case asked for (SparkPost reports `rcpt_to` lower-cased).
    let lower = h
        .get(&format!("{LIST}/local@example.com"), &h.root, None)
        .await;
    assert_eq!(lower.status, StatusCode::OK, "{}", lower.body);
    assert_eq!(lower.body["results"][0]["recipient"], "Local@Example.COM");

    // Written again in another spelling: the same entry, shown as last sent.
    let again = h
        .put(
            &format!("{LIST}/LOCAL@EXAMPLE.com"),
            &h.root,
            None,
            json!({"type": "transactional"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let got = h
        .get(&format!("{LIST}/Local@example.COM"), &h.root, None)
        .await;
    assert_eq!(got.recipients(), ["LOCAL@EXAMPLE.com"]);
    assert!(got.body["results"][0].get("description").is_none());
    let by_domain = h
        .get(&format!("{LIST}?domain=EXAMPLE.COM"), &h.root, None)
        .await;
    assert_eq!(by_domain.body["total_count"], 1);

    let deleted = h
        .delete(&format!("{LIST}/Local@example.com"), &h.root, None, "")
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, Value::Null);
    let gone = h
        .get(&format!("{LIST}/Local@example.com"), &h.root, None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let again = h
        .delete(&format!("{LIST}/Local@example.com"), &h.root, None, "")
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bulk_upsert_is_all_or_nothing() {
    let h = harness().await;
    let bad = h
        .put(
            LIST,
            &h.root,
            None,
            json!({"recipients": [
                entry("good@example.com", "transactional"),
                entry("not-an-address", "transactional"),
                entry("also-good@example.com", "sometimes"),
                {"recipient": "x@example.com", "type": "transactional", "list_id": "bad list"},
            ]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.params(),
        [
            "recipients[1].recipient",
            "recipients[2].type",
            "recipients[3].list_id"
        ]
    );
    assert_eq!(
        h.summary(&h.root, None).await["total"],
        0,
        "nothing applied"
    );

    let good = h
        .put(
            &format!("{LIST}/"),
            &h.root,
            None,
            json!({"recipients": [
                entry("a@example.com", "transactional"),
                entry("a@example.com", "non_transactional"),
                {"recipient": "b@example.com", "type": "non_transactional",
                 "description": "newsletter", "list_id": "news.example.com"},
            ]}),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert_eq!(
        good.body,
        json!({"results": {"message": "Suppression List successfully updated"}})
    );
    let summary = h.summary(&h.root, None).await;
    assert_eq!(summary["manually_added"], 3);
    assert_eq!(summary["total"], 3);
    let listed = h.get(&format!("{LIST}/b@example.com"), &h.root, None).await;
    assert_eq!(listed.body["results"][0]["list_id"], "news.example.com");
}

#[tokio::test]
async fn the_older_fields_official_clients_send_are_accepted() {
    let h = harness().await;
    // python-sparkpost's `suppression_list.create([...])` and node-sparkpost's `upsert`
    // examples: `email` and the two type booleans; both true is an entry of each type.
    let bulk = h
        .put(
            LIST,
            &h.root,
            None,
            json!({"recipients": [
                {"email": "both@example.com", "transactional": true, "non_transactional": true,
                 "description": "Test description"},
                {"email": "tx@example.com", "transactional": true, "non_transactional": false},
                {"recipient": "typed@example.com", "type": "transactional", "non_transactional": true},
            ]}),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{}", bulk.body);
    let types = |answer: &Answer| -> Vec<String> {
        let mut types: Vec<String> = answer.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        types.sort();
        types
    };
    let both = h
        .get(&format!("{LIST}/both@example.com"), &h.root, None)
        .await;
    assert_eq!(types(&both), ["non_transactional", "transactional"]);
    assert_eq!(both.body["results"][0]["description"], "Test description");
    let tx = h
        .get(&format!("{LIST}/tx@example.com"), &h.root, None)
        .await;
    assert_eq!(types(&tx), ["transactional"]);
    let typed = h
        .get(&format!("{LIST}/typed@example.com"), &h.root, None)
        .await;
    assert_eq!(
        types(&typed),
        ["transactional"],
        "type wins over the booleans"
    );

    // python-sparkpost's single `create({...})` puts the address in the path.
    let one = h
        .put(
            &format!("{LIST}/single@example.com"),
            &h.root,
            None,
            json!({"transactional": false, "non_transactional": true}),
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    let single = h
        .get(&format!("{LIST}/single@example.com"), &h.root, None)
        .await;
    assert_eq!(types(&single), ["non_transactional"]);

    // Neither true, or not booleans, is refused naming the field.
    for (body, param) in [
        (
            json!({"transactional": false, "non_transactional": false}),
            "type",
        ),
        (json!({"transactional": "yes"}), "transactional"),
        (json!({}), "type"),
    ] {
        let refused = h
            .put(&format!("{LIST}/no@example.com"), &h.root, None, body)
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(refused.params(), [param]);
    }

    // `limit` is the page size's older name.
    let page = h.get(&format!("{LIST}?limit=2"), &h.root, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body["results"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["total_count"], 5);
}

#[tokio::test]
async fn a_single_entry_body_is_read_up_to_its_limit_and_refused_past_it() {
    let h = harness().await;
    let limit = crate::ApiLimits::default().suppression_entry_max_bytes;
    let body = |len: usize| {
        let mut body = br#"{"type":"transactional"}"#.to_vec();
        body.resize(len, b' ');
        body
    };
    let uri = format!("{LIST}/edge@example.com");
    let at_limit = h.call(Method::PUT, &uri, &h.root, None, body(limit)).await;
    assert_eq!(at_limit.status, StatusCode::OK, "{}", at_limit.body);
    let past = h
        .call(Method::PUT, &uri, &h.root, None, body(limit + 1))
        .await;
    assert_eq!(past.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", past.body);
}

#[tokio::test]
async fn bulk_body_is_limited_to_50_mb() {
    let h = harness().await;
    let mut body = br#"{"recipients":[], "padding": ""#.to_vec();
    body.resize(
        crate::ApiLimits::default().suppression_bulk_max_bytes + 1,
        b'x',
    );
    let answer = h.call(Method::PUT, LIST, &h.root, None, body).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer.body["errors"][0]["message"].is_string());

    // A body over axum's default limit but within 50 MB is read.
    let many: Vec<Value> = (0..10_000)
        .map(|i| {
            json!({"recipient": format!("user{i}@example.com"), "type": "non_transactional",
                   "description": "x".repeat(300)})
        })
        .collect();
    let body = json!({ "recipients": many }).to_string();
    assert!(body.len() > 2 * 1024 * 1024);
    let answer = h.call(Method::PUT, LIST, &h.root, None, body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(h.summary(&h.root, None).await["total"], 10_000);
}

/// The (type, list id) of every entry `uri` retrieves, sorted.
async fn entry_keys(h: &Harness, uri: &str) -> Vec<(String, String)> {
    let answer = h.get(uri, &h.root, None).await;
    let mut keys: Vec<(String, String)> = answer.body["results"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["type"].as_str().unwrap_or_default().to_string(),
                        e["list_id"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn delete_by_type_and_by_list() {
    let h = harness().await;
    let answer = h
        .put(
            LIST,
            &h.root,
            None,
            json!({"recipients": [
                entry("R@example.com", "transactional"),
                entry("r@EXAMPLE.com", "non_transactional"),
                {"recipient": "r@example.com", "type": "non_transactional", "list_id": "news"},
            ]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    // Entries are matched and deleted without regard to the letter case of the address.
    let uri = format!("{LIST}/r@Example.com");
    let remaining = || entry_keys(&h, &uri);
    let by_type = h
        .delete(&uri, &h.root, None, r#"{"type":"transactional"}"#)
        .await;
    assert_eq!(by_type.status, StatusCode::NO_CONTENT);
    assert_eq!(
        remaining().await,
        [
            ("non_transactional".to_string(), String::new()),
            ("non_transactional".to_string(), "news".to_string())
        ]
    );
    let by_list = h
        .delete(&format!("{uri}?list_id=news"), &h.root, None, "")
        .await;
    assert_eq!(by_list.status, StatusCode::NO_CONTENT);
    assert_eq!(
        remaining().await,
        [("non_transactional".to_string(), String::new())]
    );
    let missing_list = h
        .delete(&format!("{uri}?list_id=news"), &h.root, None, "")
        .await;
    assert_eq!(missing_list.status, StatusCode::NOT_FOUND);
    let account_level = h
        .delete(&format!("{uri}?list_id="), &h.root, None, "")
        .await;
    assert_eq!(account_level.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.get(&uri, &h.root, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn compliance_entries_cannot_be_changed_or_removed() {
    let h = harness().await;
    h.store(
        "legal@example.com",
        SuppressionType::Transactional,
        SuppressionSource::Compliance,
    );
    let uri = format!("{LIST}/legal@example.com");

    let single = h
        .put(
            &uri,
            &h.root,
            None,
            json!({"type": "transactional", "description": "mine"}),
        )
        .await;
    assert_eq!(single.status, StatusCode::FORBIDDEN);
    assert_eq!(single.params(), ["recipient"]);

    let bulk = h
        .put(
            LIST,
            &h.root,
            None,
            json!({"recipients": [
                entry("new@example.com", "transactional"),
                entry("legal@example.com", "transactional"),
            ]}),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::FORBIDDEN);
    assert_eq!(bulk.params(), ["recipients[1]"]);
    assert_eq!(
        h.get(&format!("{LIST}/new@example.com"), &h.root, None)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "nothing applied"
    );

    let delete = h.delete(&uri, &h.root, None, "").await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    assert_eq!(
        delete.body["errors"][0]["message"],
        "Recipient could not be removed - Compliance"
    );
    let kept = h.get(&uri, &h.root, None).await;
    assert_eq!(kept.body["results"][0]["source"], "Compliance");
    assert_eq!(kept.body["results"][0]["description"], "Compliance entry");

    // The other type is not protected.
    let other_type = h
        .put(&uri, &h.root, None, json!({"type": "non_transactional"}))
        .await;
    assert_eq!(other_type.status, StatusCode::OK);
    let delete_other = h
        .delete(&uri, &h.root, None, r#"{"type":"non_transactional"}"#)
        .await;
    assert_eq!(delete_other.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn summary_counts_per_source_and_account() {
    let h = harness().await;
    use SuppressionSource::*;
    use SuppressionType::*;
    h.store("b1@example.com", Transactional, BounceRule);
    h.store("b2@example.com", NonTransactional, BounceRule);
    h.store("s@example.com", NonTransactional, SpamComplaint);
    h.store("l@example.com", NonTransactional, ListUnsubscribe);
    h.store("u@example.com", NonTransactional, UnsubscribeLink);
    h.store("c@example.com", Transactional, Compliance);
    let answer = h
        .put(
            &format!("{LIST}/m@example.com"),
            &h.sub7,
            None,
            json!({"type": "transactional"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        h.summary(&h.root, None).await,
        json!({
            "spam_complaint": 1,
            "list_unsubscribe": 1,
            "bounce_rule": 2,
            "unsubscribe_link": 1,
            "manually_added": 1,
            "compliance": 1,
            "total": 7,
        })
    );
    let primary = h.summary(&h.root, Some("0")).await;
    assert_eq!(
        (primary["total"].clone(), primary["manually_added"].clone()),
        (json!(6), json!(0))
    );
    let sub = h.summary(&h.sub7, None).await;
    assert_eq!(
        (sub["total"].clone(), sub["manually_added"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(h.summary(&h.root, Some("7")).await, sub);
}

#[tokio::test]
async fn paging_visits_every_entry_once() {
    let h = harness().await;
    let entries: Vec<Value> = (0..25)
        .map(|i| entry(&format!("user{i:02}@example.com"), "non_transactional"))
        .collect();
    let answer = h
        .put(LIST, &h.root, None, json!({ "recipients": entries }))
        .await;
    assert_eq!(answer.status, StatusCode::OK);

    // Cursor paging, following the `next` links.
    let mut seen = Vec::new();
    let mut uri = format!("{LIST}?cursor=initial&per_page=7&types=non_transactional");
    for pages in 1.. {
        let page = h.get(&uri, &h.root, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(page.body["total_count"], 25);
        seen.extend(page.recipients());
        let next = page.body["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_string());
        match next {
            Some(href) => {
                assert!(href.contains("types=non_transactional"), "{href}");
                uri = href;
            }
            None => {
                assert_eq!(pages, 4);
                break;
            }
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 25, "no repeats");

    // Page numbers cover the same entries; the newest comes first, `asc` reverses.
    let mut by_page = Vec::new();
    for page in 1..=4 {
        let answer = h
            .get(&format!("{LIST}?per_page=7&page={page}"), &h.root, None)
            .await;
        let rels = answer.link_rels();
        assert_eq!(rels.contains(&"next"), page < 4, "page {page}: {rels:?}");
        by_page.extend(answer.recipients());
    }
    assert_eq!(by_page.len(), 25);
    assert_eq!(by_page.iter().collect::<BTreeSet<_>>().len(), 25);
    let ascending = h
        .get(&format!("{LIST}?sort=asc&per_page=25"), &h.root, None)
        .await;
    let mut reversed = ascending.recipients();
    reversed.reverse();
    assert_eq!(reversed, by_page);
    assert_eq!(by_page[0], "user24@example.com");
}

#[tokio::test]
async fn subaccount_keys_see_and_change_only_their_list() {
    let h = harness().await;
    let uri = format!("{LIST}/x@example.com");
    let mine = json!({"type": "non_transactional", "description": "sub"});
    assert_eq!(
        h.put(&uri, &h.sub7, None, mine).await.status,
        StatusCode::OK
    );
    let primary = json!({"type": "non_transactional", "description": "primary"});
    assert_eq!(
        h.put(&uri, &h.root, None, primary).await.status,
        StatusCode::OK
    );
    let for_nine = json!({"type": "non_transactional"});
    assert_eq!(
        h.put(&uri, &h.root, Some("9"), for_nine).await.status,
        StatusCode::OK
    );

    let all = h.get(&uri, &h.root, None).await;
    assert_eq!(all.body["total_count"], 3);
    let only_primary = h.get(&uri, &h.root, Some("0")).await;
    assert_eq!(only_primary.body["total_count"], 1);
    assert!(only_primary.body["results"][0]
        .get("subaccount_id")
        .is_none());
    let seven = h.get(&uri, &h.root, Some("7")).await;
    assert_eq!(seven.body["results"][0]["subaccount_id"], 7);
    assert_eq!(seven.body["results"][0]["description"], "sub");

    let own = h.get(&uri, &h.sub7, None).await;
    assert_eq!(own.body["total_count"], 1);
    assert_eq!(own.body["results"][0]["description"], "sub");
    let search = h.get(LIST, &h.sub7, None).await;
    assert_eq!(search.body["total_count"], 1);
    for other in ["0", "9"] {
        let answer = h.get(&uri, &h.sub7, Some(other)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.params(), ["X-MSYS-SUBACCOUNT"]);
    }

    // The subaccount's delete removes its own entry only.
    assert_eq!(
        h.delete(&uri, &h.sub7, None, "").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.get(&uri, &h.sub7, None).await.status,
        StatusCode::NOT_FOUND
    );
    let left = h.get(&uri, &h.root, None).await;
    assert_eq!(left.body["total_count"], 2);
    // A primary delete without the header acts on the primary list.
    assert_eq!(
        h.delete(&uri, &h.root, None, "").await.status,
        StatusCode::NO_CONTENT
    );
    let left = h.get(&uri, &h.root, None).await;
    assert_eq!(left.body["results"][0]["subaccount_id"], 9);
    assert_eq!(
        h.app
            .state
            .find_suppressions("x@example.com", ListScope::All)
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn search_filters() {
    let h = harness().await;
    use SuppressionSource::*;
    use SuppressionType::*;
    h.store("a@one.example", Transactional, BounceRule);
    h.store("b@one.example", NonTransactional, SpamComplaint);
    h.store("c@two.example", NonTransactional, BounceRule);
    let answer = h
        .put(
            &format!("{LIST}/d@two.example"),
            &h.root,
            None,
            json!({"type": "transactional", "description": "Mailbox does not exist", "list_id": "news"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let count = |query: &'static str| {
        let h = &h;
        async move {
            let answer = h.get(&format!("{LIST}?{query}"), &h.root, None).await;
            assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.body);
            answer.body["total_count"].as_u64().unwrap()
        }
    };
    assert_eq!(count("").await, 4);
    assert_eq!(count("domain=ONE.example").await, 2);
    assert_eq!(count("sources=Bounce%20Rule").await, 2);
    assert_eq!(count("sources=Bounce%20Rule,Spam%20Complaint").await, 3);
    assert_eq!(count("types=transactional").await, 2);
    assert_eq!(
        count("types=transactional&sources=Manually%20Added").await,
        1
    );
    assert_eq!(count("description=does%20mailbox").await, 1);
    assert_eq!(
        count("description=does%20mailbox&description_strict=true").await,
        0
    );
    assert_eq!(
        count("description=Mailbox%20does%20not%20exist&description_strict=true").await,
        1
    );
    assert_eq!(count("list_id=news").await, 1);
    assert_eq!(count("list_id=").await, 3);
    assert_eq!(count("from=2000-01-01T00:00:00Z").await, 4);
    assert_eq!(count("from=2999-01-01T00:00:00Z").await, 0);
    assert_eq!(count("to=2000-01-01T00:00:00Z").await, 0);
}

#[tokio::test]
async fn each_bad_parameter_is_a_400_naming_it() {
    let h = harness().await;
    for (query, param) in [
        ("from=yesterday", "from"),
        ("to=soon", "to"),
        ("from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from"),
        ("domain=no%20spaces", "domain"),
        ("sources=Teleport", "sources"),
        ("types=both", "types"),
        ("description_strict=maybe", "description_strict"),
        ("list_id=a..b", "list_id"),
        ("cursor=garbage", "cursor"),
        ("per_page=0", "per_page"),
        ("per_page=10001", "per_page"),
        ("page=0", "page"),
        ("page=3&per_page=5000", "page"),
        ("sort=sideways", "sort"),
    ] {
        let answer = h.get(&format!("{LIST}?{query}"), &h.root, None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(answer.params(), [param], "{query}");
        assert_eq!(answer.body["errors"][0]["code"], "1200");
    }
    let retrieve = h
        .get(&format!("{LIST}/a@example.com?types=all"), &h.root, None)
        .await;
    assert_eq!(retrieve.params(), ["types"]);
    let header = h.get(LIST, &h.root, Some("minus-one")).await;
    assert_eq!(header.status, StatusCode::BAD_REQUEST);
    assert_eq!(header.params(), ["X-MSYS-SUBACCOUNT"]);

    for method in [Method::GET, Method::DELETE] {
        let answer = h
            .call(
                method.clone(),
                &format!("{LIST}/not-an-address"),
                &h.root,
                None,
                Body::empty(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{method}");
        assert_eq!(answer.params(), ["recipient"], "{method}");
    }
    let put_bad_recipient = h
        .put(
            &format!("{LIST}/nobody"),
            &h.root,
            None,
            json!({"type": "transactional"}),
        )
        .await;
    assert_eq!(put_bad_recipient.params(), ["recipient"]);
    let no_type = h
        .put(
            &format!("{LIST}/a@example.com"),
            &h.root,
            None,
            json!({"description": "x"}),
        )
        .await;
    assert_eq!(no_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        no_type.body["errors"][0]["message"],
        "Must supply a suppression type"
    );
    let bad_type = h
        .put(
            &format!("{LIST}/a@example.com"),
            &h.root,
            None,
            json!({"type": 3}),
        )
        .await;
    assert_eq!(bad_type.params(), ["type"]);
    let bad_list = h
        .delete(
            &format!("{LIST}/a@example.com?list_id=.x"),
            &h.root,
            None,
            "",
        )
        .await;
    assert_eq!(bad_list.params(), ["list_id"]);
    let bad_delete_type = h
        .delete(
            &format!("{LIST}/a@example.com"),
            &h.root,
            None,
            r#"{"type":"all"}"#,
        )
        .await;
    assert_eq!(bad_delete_type.params(), ["type"]);
    let not_json = h
        .call(Method::PUT, LIST, &h.root, None, "recipients=a@example.com")
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.params(), ["recipients"]);
}
