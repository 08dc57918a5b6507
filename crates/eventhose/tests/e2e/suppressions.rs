//! Automatic suppressions: events ingested into a real server become suppression list entries,
//! seen through the Suppression List API.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::*;

/// What identifies an entry in the answers: recipient, type, source, subaccount, description.
type Shown = (String, String, String, Option<u64>, Option<String>);

fn shown(entries: &Value) -> BTreeSet<Shown> {
    entries
        .as_array()
        .expect("results")
        .iter()
        .map(|e| {
            (
                e["recipient"].as_str().unwrap_or_default().to_string(),
                e["type"].as_str().unwrap_or_default().to_string(),
                e["source"].as_str().unwrap_or_default().to_string(),
                e["subaccount_id"].as_u64(),
                e["description"].as_str().map(String::from),
            )
        })
        .collect()
}

async fn get(server: &Server, path: &str, key: &str, subaccount: Option<&str>) -> (u16, Value) {
    let mut request = client().get(server.url(path)).header("Authorization", key);
    if let Some(subaccount) = subaccount {
        request = request.header("X-MSYS-SUBACCOUNT", subaccount);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn entry(recipient: &str, kind: &str, source: &str, sub: Option<u64>, why: &str) -> Shown {
    (
        recipient.into(),
        kind.into(),
        source.into(),
        sub,
        Some(why.into()),
    )
}

#[tokio::test]
async fn events_become_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let t = recent();
    let events = [
        format!(
            r#"{{"type":"bounce","event_id":"hb","timestamp":"{}","message_id":"m1","rcpt_to":"Hard.Bounce@Example.COM","bounce_class":"10","reason":"550 5.1.1 no such user","transactional":"1"}}"#,
            t
        ),
        format!(
            r#"{{"type":"bounce","event_id":"sb","timestamp":"{}","message_id":"m2","rcpt_to":"soft@example.com","bounce_class":"22","reason":"452 4.2.2 mailbox full"}}"#,
            t + 1
        ),
        format!(
            r#"{{"type":"spam_complaint","event_id":"sc","timestamp":"{}","message_id":"m3","rcpt_to":"spam@example.com","fbtype":"abuse"}}"#,
            t + 2
        ),
        format!(
            r#"{{"type":"list_unsubscribe","event_id":"lu","timestamp":"{}","message_id":"m4","rcpt_to":"list@example.com"}}"#,
            t + 3
        ),
        format!(
            r#"{{"type":"link_unsubscribe","event_id":"ku","timestamp":"{}","message_id":"m5","rcpt_to":"link@example.com","subaccount_id":"7"}}"#,
            t + 4
        ),
        format!(
            r#"{{"type":"delivery","event_id":"dl","timestamp":"{}","message_id":"m6","rcpt_to":"fine@example.com"}}"#,
            t + 5
        ),
    ];
    let body = events.join("\n") + "\n";
    assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);

    let search = "/api/v1/suppression-list?per_page=100";
    eventually("four suppressions", || async {
        get(&server, search, ROOT_KEY, None).await.1["total_count"] == 4
    })
    .await;
    let (status, all) = get(&server, search, ROOT_KEY, None).await;
    assert_eq!(status, 200);
    let expected: BTreeSet<Shown> = [
        entry(
            "Hard.Bounce@Example.COM",
            "transactional",
            "Bounce Rule",
            None,
            "550 5.1.1 no such user",
        ),
        entry(
            "spam@example.com",
            "non_transactional",
            "Spam Complaint",
            None,
            "Spam complaint (abuse)",
        ),
        entry(
            "list@example.com",
            "non_transactional",
            "List Unsubscribe",
            None,
            "Unsubscribed through the List-Unsubscribe header",
        ),
        entry(
            "link@example.com",
            "non_transactional",
            "Unsubscribe Link",
            Some(7),
            "Unsubscribed through an unsubscribe link",
        ),
    ]
    .into();
    assert_eq!(shown(&all["results"]), expected);

    // The subaccount's list holds its entry only, for the primary key with the header and for
    // the subaccount's own key.
    let sub_key = keys(
        dir.path(),
        &[
            "create",
            "--grant",
            "suppression_lists/manage",
            "--subaccount",
            "7",
        ],
    );
    for (key, header) in [(ROOT_KEY, Some("7")), (sub_key.trim(), None)] {
        let (status, sub) = get(&server, search, key, header).await;
        assert_eq!(status, 200, "{sub}");
        assert_eq!(sub["total_count"], 1);
        assert_eq!(sub["results"][0]["recipient"], "link@example.com");
    }
    let (_, primary) = get(&server, search, ROOT_KEY, Some("0")).await;
    assert_eq!(primary["total_count"], 3);

    // One recipient, in any letter case (SparkPost reports `rcpt_to` lower-cased).
    let (status, one) = get(
        &server,
        "/api/v1/suppression-list/hard.bounce@example.com",
        ROOT_KEY,
        None,
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        one["results"][0]["created"].as_str().map(str::len),
        Some(25)
    );
    let (status, _) = get(
        &server,
        "/api/v1/suppression-list/soft@example.com",
        ROOT_KEY,
        None,
    )
    .await;
    assert_eq!(status, 404);

    assert_eq!(one["results"][0]["recipient"], "Hard.Bounce@Example.COM");

    let (_, summary) = get(&server, "/api/v1/suppression-list/summary", ROOT_KEY, None).await;
    assert_eq!(
        summary["results"],
        serde_json::json!({
            "spam_complaint": 1,
            "list_unsubscribe": 1,
            "bounce_rule": 1,
            "unsubscribe_link": 1,
            "manually_added": 0,
            "compliance": 0,
            "total": 4,
        })
    );
}

#[tokio::test]
async fn bulk_limits_are_configurable_and_hold_at_their_edges() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            ("EVENTHOSE_API__SUPPRESSION_BULK_MAX_ENTRIES", "3"),
            ("EVENTHOSE_API__SUPPRESSION_BULK_MAX_BYTES", "400"),
        ],
    );
    let body = |n: usize| {
        let entries: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"recipient":"r{i}@example.com","type":"transactional"}}"#))
            .collect();
        format!(r#"{{"recipients":[{}]}}"#, entries.join(","))
    };
    let put = |body: String| {
        client()
            .put(server.url("/api/v1/suppression-list"))
            .header("Authorization", ROOT_KEY)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    // The most entries are taken; one more is refused, naming the limit.
    assert_eq!(put(body(3)).await.unwrap().status(), 200);
    let refused = put(body(4)).await.unwrap();
    assert_eq!(refused.status(), 400);
    let json: serde_json::Value = refused.json().await.unwrap();
    assert!(json["errors"][0]["description"]
        .as_str()
        .unwrap()
        .contains("1 to 3 entries"));
    // A body of exactly the most bytes is read; one byte more is 413.
    let padded = |len: usize| {
        let start = body(1);
        let mut padded = start[..start.len() - 1].to_owned();
        padded.push_str(&" ".repeat(len - start.len()));
        padded.push('}');
        padded
    };
    assert_eq!(put(padded(400)).await.unwrap().status(), 200);
    assert_eq!(put(padded(401)).await.unwrap().status(), 413);
}
