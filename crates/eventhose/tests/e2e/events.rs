//! Message events through the real server: the subscriber stores what was ingested, the Events
//! API finds it (filters, paging, subaccount keys, redelivery stored once), a SIGKILL while it
//! stores loses nothing acknowledged, and erasure — by the API while serving and by
//! `eventhose erase` while stopped — leaves nothing of the recipient.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::harness::*;

/// (event id, type, recipient, subaccount, campaign), in timestamp order.
const EVENTS: [(&str, &str, &str, Option<u64>, &str); 7] = [
    ("ev-1", "injection", "ann@gmail.com", None, "spring"),
    ("ev-2", "delivery", "ann@gmail.com", None, "spring"),
    ("ev-3", "injection", "bob@yahoo.com", Some(7), "spring"),
    ("ev-4", "bounce", "bob@yahoo.com", Some(7), "spring"),
    ("ev-5", "injection", "cat@gmail.com", None, "autumn-sale"),
    ("ev-6", "delivery", "cat@gmail.com", None, "autumn-sale"),
    ("ev-7", "open", "ann@gmail.com", None, "spring"),
];

/// Now, in unix seconds.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// The NDJSON of [`EVENTS`], from `now` less an hour onwards, a minute apart.
fn body(now: u64) -> String {
    let mut lines = String::new();
    for (i, (id, kind, rcpt, subaccount, campaign)) in EVENTS.iter().enumerate() {
        let mut event = json!({
            "type": kind,
            "event_id": id,
            "timestamp": (now - 3600 + 60 * i as u64).to_string(),
            "message_id": format!("msg-{}", rcpt.split('@').next().unwrap_or_default()),
            "rcpt_to": rcpt,
            "campaign_id": campaign,
            "x_unknown_field": {"kept": true},
        });
        if let Some(subaccount) = subaccount {
            event["subaccount_id"] = json!(subaccount.to_string());
        }
        if *kind == "bounce" {
            event["bounce_class"] = json!("10");
            event["reason"] = json!("550 5.1.1 no such user");
        }
        lines.push_str(&event.to_string());
        lines.push('\n');
    }
    lines
}

/// Event ids of [`EVENTS`] matching `keep`, newest first.
fn expected(keep: impl Fn(&(&str, &str, &str, Option<u64>, &str)) -> bool) -> Vec<String> {
    EVENTS
        .iter()
        .rev()
        .filter(|e| keep(e))
        .map(|e| e.0.to_string())
        .collect()
}

async fn get(server: &Server, path_and_query: &str, key: &str) -> (u16, Value) {
    let response = client()
        .get(server.url(path_and_query))
        .header("Authorization", key)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every event id a search returns, following `links.next` to the end.
async fn search_ids(server: &Server, query: &str, key: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = Some(format!("/api/v1/events/message?{query}"));
    for _ in 0..100 {
        let Some(path) = next.take() else {
            return ids;
        };
        let (status, body) = get(server, &path, key).await;
        assert_eq!(status, 200, "{path}: {body}");
        for event in body["results"].as_array().expect("results") {
            ids.push(event["event_id"].as_str().expect("event_id").to_string());
        }
        next = body["links"]["next"].as_str().map(String::from);
    }
    panic!("more than 100 pages for {query}");
}

async fn wait_stored(server: &Server, n: usize) {
    let what = format!("{n} events searchable");
    eventually(&what, || async {
        let total = get(server, "/api/v1/events/message", ROOT_KEY).await.1["total_count"].clone();
        assert!(
            total.as_u64().unwrap_or(0) <= n as u64,
            "{total} events stored, not {n}"
        );
        total == n
    })
    .await;
}

#[tokio::test]
async fn events_are_searchable_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let now = now();
    assert_eq!(ingest(&server, ROOT_KEY, body(now)).await.status(), 200);
    wait_stored(&server, EVENTS.len()).await;

    // Unfiltered, newest first, whole (unknown fields too).
    let (_, all) = get(&server, "/api/v1/events/message", ROOT_KEY).await;
    let first = &all["results"][0];
    assert_eq!(first["event_id"], "ev-7");
    assert_eq!(first["x_unknown_field"], json!({"kept": true}));
    assert!(first["timestamp"]
        .as_str()
        .unwrap_or_default()
        .contains('T'));
    assert_eq!(search_ids(&server, "", ROOT_KEY).await, expected(|_| true));

    // Filters, alone and together.
    let cases: [(&str, Vec<String>); 5] = [
        (
            "recipients=ann@gmail.com",
            expected(|e| e.2 == "ann@gmail.com"),
        ),
        (
            "recipient_domains=gmail.com",
            expected(|e| e.2.ends_with("@gmail.com")),
        ),
        ("campaigns=autumn", expected(|e| e.4 == "autumn-sale")),
        (
            "events=delivery,bounce",
            expected(|e| matches!(e.1, "delivery" | "bounce")),
        ),
        (
            "recipient_domains=gmail.com&events=injection",
            expected(|e| e.2.ends_with("@gmail.com") && e.1 == "injection"),
        ),
    ];
    for (query, want) in &cases {
        assert_eq!(&search_ids(&server, query, ROOT_KEY).await, want, "{query}");
    }

    // Pages of two: every event once, in order.
    assert_eq!(
        search_ids(&server, "per_page=2", ROOT_KEY).await,
        expected(|_| true)
    );
    let (status, bad) = get(&server, "/api/v1/events/message?per_page=0", ROOT_KEY).await;
    assert_eq!(status, 400);
    assert!(bad["errors"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .contains("per_page"));

    // A subaccount key sees its own subaccount only.
    let sub7 = keys(
        dir.path(),
        &[
            "create",
            "--grant",
            "message_events/view",
            "--subaccount",
            "7",
        ],
    );
    assert_eq!(
        search_ids(&server, "", sub7.trim()).await,
        expected(|e| e.3 == Some(7))
    );
    assert_eq!(
        search_ids(&server, "recipients=ann@gmail.com", sub7.trim()).await,
        Vec::<String>::new()
    );

    // Redelivered events are stored once. The subscriber stores in log order, so once an
    // event sent after the copies is searchable, the copies have been read.
    // Two minutes old: well inside the default search window, which ends at the current minute.
    let sentinel = json!({"type": "injection", "event_id": "ev-8", "timestamp": (now - 120).to_string(),
        "message_id": "msg-dan", "rcpt_to": "dan@aol.com"});
    let again = format!("{}{sentinel}\n", body(now));
    assert_eq!(ingest(&server, ROOT_KEY, again).await.status(), 200);
    wait_stored(&server, EVENTS.len() + 1).await;
    let mut want = vec!["ev-8".to_string()];
    want.extend(expected(|_| true));
    assert_eq!(search_ids(&server, "", ROOT_KEY).await, want);
}

#[tokio::test]
async fn erasure_leaves_nothing_of_the_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let now = now();
    assert_eq!(ingest(&server, ROOT_KEY, body(now)).await.status(), 200);
    wait_stored(&server, EVENTS.len()).await;

    // Through the API while serving (any case of the address).
    let response = client()
        .delete(server.url("/api/v1/events/message?recipients=ANN@Gmail.com"))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .expect("erase request");
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("json");
    let ann = expected(|e| e.2 == "ann@gmail.com");
    assert_eq!(report["results"]["total"], ann.len());
    assert_eq!(
        report["results"]["erased"],
        json!({"delivery": 1, "injection": 1, "open": 1})
    );
    assert!(search_ids(&server, "recipients=ann@gmail.com", ROOT_KEY)
        .await
        .is_empty());
    assert_eq!(
        search_ids(&server, "", ROOT_KEY).await,
        expected(|e| e.2 != "ann@gmail.com")
    );

    // With the command while stopped.
    assert!(server.terminate().success());
    let output = Command::new(env!("CARGO_BIN_EXE_eventhose"))
        .args(["erase", "--recipient", "cat@gmail.com", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run eventhose erase");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "erase failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("erased 2 events of cat@gmail.com"),
        "{stdout}"
    );

    let server = Server::start(dir.path(), &[]);
    let left: BTreeSet<String> = search_ids(&server, "", ROOT_KEY)
        .await
        .into_iter()
        .collect();
    let want: BTreeSet<String> = expected(|e| e.2 == "bob@yahoo.com").into_iter().collect();
    assert_eq!(left, want, "only bob's events remain");
    for recipient in ["ann@gmail.com", "cat@gmail.com"] {
        assert!(
            search_ids(&server, &format!("recipients={recipient}"), ROOT_KEY)
                .await
                .is_empty(),
            "{recipient} is gone"
        );
    }
}

/// Nothing lost: the server is killed while the message-events subscriber writes rows and
/// body files; after a restart every acknowledged event is searchable exactly once, whole.
#[tokio::test]
async fn sigkill_while_storing_loses_no_acknowledged_event() {
    const BATCH: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let url = server.url("/api/v1/ingest/events");
    let now = now();
    let batch = move |request: usize| -> String {
        (0..BATCH)
            .map(|i| {
                let event = json!({"type": "delivery", "event_id": format!("crash-{request}-{i}"),
                    "timestamp": (now - 300).to_string(), "message_id": format!("msg-{request}"),
                    "rcpt_to": format!("user{i}@example.com"), "x_custom": {"request": request}});
                format!("{event}\n")
            })
            .collect()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let sender = {
        let (stop, acked) = (stop.clone(), acked.clone());
        tokio::spawn(async move {
            let client = client();
            // Bounded: at most 5,000 requests.
            for request in 0..5_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let response = client
                    .post(&url)
                    .header("Authorization", ROOT_KEY)
                    .body(batch(request))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().push(request),
                    _ => break, // the server is gone
                }
            }
        })
    };
    // Kill once the subscriber has committed several times while the client keeps sending.
    let seen = Mutex::new(BTreeSet::new());
    eventually("several commits of stored events", || async {
        let (_, body) = get(&server, "/api/v1/events/message?per_page=1", ROOT_KEY).await;
        let mut seen = seen.lock().unwrap();
        seen.insert(body["total_count"].as_u64().unwrap_or(0));
        seen.len() >= 5 && !sender.is_finished()
    })
    .await;
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    sender.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() < 5_000,
        "the client ran out of requests before the kill"
    );

    let server = Server::start(dir.path(), &[]);
    let at_least = (acked.len() * BATCH) as u64;
    eventually("every acknowledged event stored", || async {
        let (_, body) = get(&server, "/api/v1/events/message?per_page=1", ROOT_KEY).await;
        body["total_count"].as_u64().unwrap_or(0) >= at_least
    })
    .await;
    // Every page read back: each event once, whole, and every acknowledged one there.
    let mut stored = BTreeSet::new();
    let mut next = Some("/api/v1/events/message?per_page=10000".to_string());
    for _ in 0..100 {
        let Some(path) = next.take() else { break };
        let (status, body) = get(&server, &path, ROOT_KEY).await;
        assert_eq!(status, 200, "{path}: {body}");
        for event in body["results"].as_array().expect("results") {
            let id = event["event_id"].as_str().expect("event_id");
            let request: usize = id
                .split('-')
                .nth(1)
                .and_then(|r| r.parse().ok())
                .expect("id");
            assert_eq!(event["x_custom"]["request"], json!(request), "{event}");
            assert!(stored.insert(id.to_string()), "{id} returned twice");
        }
        next = body["links"]["next"].as_str().map(String::from);
    }
    assert!(next.is_none(), "more than 100 pages");
    for request in &acked {
        for i in 0..BATCH {
            let id = format!("crash-{request}-{i}");
            assert!(stored.contains(&id), "acknowledged {id} lost");
        }
    }
}

#[tokio::test]
async fn a_page_of_large_events_stops_at_the_byte_budget() {
    let dir = tempfile::tempdir().unwrap();
    // Room for two of the 100 KiB events below in one answer.
    let server = Server::start(
        dir.path(),
        &[("EVENTHOSE_API__EVENTS_PAGE_MAX_BYTES", "150000")],
    );
    let padding = "x".repeat(100 * 1024);
    let at = now() - 600;
    let lines: String = (0..5)
        .map(|i| {
            json!({
                "type": "delivery", "event_id": format!("big-{i}"), "timestamp": (at + i).to_string(),
                "message_id": "m-big", "rcpt_to": "big@example.com", "x_padding": padding,
            })
            .to_string()
                + "\n"
        })
        .collect();
    assert_eq!(ingest(&server, ROOT_KEY, lines).await.status(), 200);
    let mut path = "/api/v1/events/message?recipients=big@example.com&per_page=100".to_owned();
    eventually("the five events are stored", || async {
        get(&server, &path, ROOT_KEY).await.1["total_count"] == 5
    })
    .await;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (status, page) = get(&server, &path, ROOT_KEY).await;
        assert_eq!(status, 200);
        let results = page["results"].as_array().unwrap();
        assert_eq!(results.len(), 2.min(5 - seen.len()), "{}", page["links"]);
        seen.extend(
            results
                .iter()
                .map(|e| e["event_id"].as_str().unwrap().to_owned()),
        );
        match page["links"]["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["big-4", "big-3", "big-2", "big-1", "big-0"]);
}
