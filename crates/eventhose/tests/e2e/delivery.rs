//! Webhook delivery end to end: ingest → hose → webhooks subscriber → a real receiver.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;
use crate::receiver::{Behaviour, Receiver};
use eventhose_test_support::files::{file_holds, files_under};

async fn batch_status(server: &Server, webhook_id: &str) -> Vec<Value> {
    let response = client()
        .get(server.url(&format!("/api/v1/webhooks/{webhook_id}/batch-status")))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    json["results"].as_array().cloned().unwrap_or_default()
}

/// Standard Webhooks verification, written here from the spec, independently of the server.
fn verify_signature(secret: &str, id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    header.split(' ').any(|signature| signature == expected)
}

fn fast_retries() -> Vec<(&'static str, &'static str)> {
    loopback_targets(&[
        ("EVENTHOSE_WEBHOOKS__RETRY_SCHEDULE", "300ms,300ms,300ms"),
        ("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "100"),
    ])
}

#[tokio::test]
async fn batches_reach_the_receiver_signed_with_sparkposts_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &fast_retries());
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (id, secret) = create_webhook(&server, &receiver.url, &["delivery", "bounce"]).await;

    let body = format!(
        "{}{}{}",
        ndjson("delivery", "d", 10),
        ndjson("click", "c", 5),
        ndjson("bounce", "b", 3)
    );
    assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    eventually("13 wanted events delivered", || async {
        receiver.event_ids().len() == 13
    })
    .await;
    assert!(
        receiver.event_ids().iter().all(|id| !id.starts_with('c')),
        "clicks were not asked for"
    );

    for batch in receiver.batches() {
        assert_eq!(batch.header("content-type"), Some("application/json"));
        let batch_id = batch.header("x-messagesystems-batch-id").unwrap();
        assert_eq!(batch.header("webhook-id"), Some(batch_id));
        let timestamp = batch.header("webhook-timestamp").unwrap();
        let signature = batch.header("webhook-signature").unwrap();
        assert!(verify_signature(
            &secret,
            batch_id,
            timestamp,
            &batch.body,
            signature
        ));
        for envelope in batch.json().as_array().unwrap() {
            let msys = envelope["msys"].as_object().unwrap();
            assert_eq!(msys.len(), 1);
            let (category, event) = msys.iter().next().unwrap();
            assert_eq!(category, "message_event");
            assert_eq!(event["x_custom"], "kept");
        }
    }
    // First-time successes are not in batch status (as SparkPost), and the webhook shows a success.
    assert!(batch_status(&server, &id).await.is_empty());
}

/// SparkPost's webhook object (webhooks.apib): "auth_token … Authentication token to present
/// in the `X-MessageSystems-Webhook-Token` header of POST requests to target"; and its list
/// sample shows `"last_successful": "2014-08-01 16:09:15"`.
#[tokio::test]
async fn the_deprecated_auth_token_rides_on_every_batch() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &fast_retries());
    let receiver = Receiver::start(Behaviour::Ok).await;
    let token = "5ebe2294ecd0e0f08eab7690d2a6ee69";
    let response = client()
        .post(server.url("/api/v1/webhooks"))
        .header("Authorization", ROOT_KEY)
        .json(
            &json!({ "name": "legacy", "target": receiver.url, "events": ["delivery"],
            "auth_token": token }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let created: Value = response.json().await.unwrap();
    let id = created["results"]["id"].as_str().unwrap().to_string();

    let body = ndjson("delivery", "t", 6);
    assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    eventually("6 events delivered", || async {
        receiver.event_ids().len() == 6
    })
    .await;
    let batches = receiver.batches();
    assert!(!batches.is_empty());
    for batch in &batches {
        assert_eq!(batch.header("x-messagesystems-webhook-token"), Some(token));
    }

    let shown: Value = client()
        .get(server.url(&format!("/api/v1/webhooks/{id}")))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["results"]["auth_token"], "********");
    assert!(!shown.to_string().contains(token));
    let last = shown["results"]["last_successful"]
        .as_str()
        .unwrap_or_default();
    assert!(
        chrono::NaiveDateTime::parse_from_str(last, "%Y-%m-%d %H:%M:%S").is_ok(),
        "last_successful {last:?} is not SparkPost's form"
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_until_it_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &fast_retries());
    let receiver = Receiver::start(Behaviour::FailFirst(2, 503)).await;
    let (id, _) = create_webhook(&server, &receiver.url, &["delivery"]).await;
    assert_eq!(
        ingest(&server, ROOT_KEY, ndjson("delivery", "r", 4))
            .await
            .status(),
        200
    );

    eventually("the batch is delivered after two failures", || async {
        batch_status(&server, &id)
            .await
            .iter()
            .any(|s| s["response_code"] == 200 && s["attempts"] == 2)
    })
    .await;
    let batches = receiver.batches();
    assert_eq!(batches.len(), 3, "one batch, three attempts");
    let ids: Vec<_> = batches
        .iter()
        .map(|b| b.header("x-messagesystems-batch-id").unwrap().to_string())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "retries keep the batch id"
    );
    // The schedule is 300 ms between attempts with ±20 % jitter: never sooner than 240 ms.
    for pair in batches.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(240),
            "retried after only {gap:?}"
        );
    }
    assert_eq!(receiver.event_ids().len(), 4);
}

#[tokio::test]
async fn a_receiver_down_past_the_attempt_limit_leaves_a_failed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &fast_retries());
    let receiver = Receiver::start(Behaviour::FailFirst(usize::MAX, 500)).await;
    let (id, _) = create_webhook(&server, &receiver.url, &["delivery"]).await;
    assert_eq!(
        ingest(&server, ROOT_KEY, ndjson("delivery", "x", 2))
            .await
            .status(),
        200
    );
    eventually("the batch is given up after 4 attempts", || async {
        batch_status(&server, &id)
            .await
            .iter()
            .any(|s| s["attempts"] == 4 && s["failure_code"] == "500")
    })
    .await;
    assert_eq!(receiver.batches().len(), 4);
    assert!(receiver.event_ids().len() == 2);
    let backlog = format!("eventhose_webhook_backlog_events{{webhook=\"{id}\"}}");
    eventually("a batch given up leaves the backlog", || async {
        metric(&server, &backlog).await == Some(0.0)
    })
    .await;

    // Kept as failed, it can be replayed once the receiver is back.
    let batch_id = batch_status(&server, &id).await[0]["batch_id"]
        .as_str()
        .unwrap()
        .to_string();
    let replay = |batch: String| {
        let url = server.url(&format!("/api/v1/webhooks/{id}/batches/{batch}/replay"));
        async move {
            client()
                .post(url)
                .header("Authorization", ROOT_KEY)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(replay("no-such-batch".into()).await, 404);
    receiver.recover();
    assert_eq!(replay(batch_id.clone()).await, 200);
    eventually("the replayed batch is delivered", || async {
        receiver.batches().len() == 5
    })
    .await;
    let last = receiver.batches().pop().unwrap();
    assert_eq!(
        last.header("x-messagesystems-batch-id"),
        Some(batch_id.as_str())
    );
    // A batch is replayed once per request.
    assert_eq!(replay(batch_id).await, 404);
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_a_fast_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &fast_retries());
    let slow = Receiver::start(Behaviour::Slow(Duration::from_secs(20))).await;
    let fast = Receiver::start(Behaviour::Ok).await;
    create_webhook(&server, &slow.url, &["delivery"]).await;
    create_webhook(&server, &fast.url, &["delivery"]).await;
    for round in 0..5 {
        let body = ndjson("delivery", &format!("s{round}"), 20);
        assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    }
    // The fast receiver gets everything while the slow one has not answered a single batch.
    eventually("the fast receiver has all 100 events", || async {
        fast.event_ids().len() == 100
    })
    .await;
    assert!(
        slow.batches().is_empty(),
        "the slow receiver answered already"
    );
}

#[tokio::test]
async fn a_busy_webhooks_batches_wait_without_being_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = fast_retries();
    env.extend([
        ("EVENTHOSE_WEBHOOKS__PER_WEBHOOK_CONCURRENCY", "1"),
        ("EVENTHOSE_WEBHOOKS__BATCH_MAX_EVENTS", "1"),
    ]);
    let server = Server::start(dir.path(), &env);
    let slow = Receiver::start(Behaviour::Slow(Duration::from_millis(1_500))).await;
    create_webhook(&server, &slow.url, &["delivery"]).await;
    // Three batches of one event: one in flight, two waiting for its one request slot.
    let body = ndjson("delivery", "busy", 3);
    assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    eventually("the slow receiver has all three events", || async {
        slow.event_ids().len() == 3
    })
    .await;
    // Each batch went into the delayed queue once, when it was sealed: waiting for the slot
    // wrote none of them again (every half second, before).
    let writes = metric(
        &server,
        "eventhose_hose_deferred_messages_total{subscriber=\"webhooks\"}",
    )
    .await;
    assert_eq!(writes, Some(3.0));
}

#[tokio::test]
async fn an_erased_recipients_late_events_are_neither_stored_nor_sent() {
    const SKEW: i64 = 5;
    let dir = tempfile::tempdir().unwrap();
    let mut env = fast_retries();
    env.push(("EVENTHOSE_INGEST__MAX_CLOCK_SKEW_SECS", "5"));
    let server = Server::start(dir.path(), &env);
    let receiver = Receiver::start(Behaviour::Ok).await;
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    let now = chrono::Utc::now().timestamp();
    let line = |id: &str, rcpt: &str, at: i64| {
        json!({"type": "delivery", "event_id": id, "timestamp": at.to_string(),
            "message_id": format!("m-{id}"), "rcpt_to": rcpt})
        .to_string()
            + "\n"
    };
    let body = line("before", "Ann@Example.com", now - 120);
    assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    eventually("the first event is delivered", || async {
        receiver.event_ids().contains("before")
    })
    .await;

    let before_erasure = chrono::Utc::now().timestamp();
    let erase = client()
        .delete(server.url("/api/v1/events/message?recipients=ann@example.com"))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(erase.status(), 200);
    // The tombstone reaches the allowed clock skew past the erasure: mail is new once its time
    // is later than that, which takes the clock's next second at most.
    let erased = chrono::Utc::now().timestamp();
    let mut later = erased;
    for _ in 0..30 {
        later = chrono::Utc::now().timestamp();
        if later > erased {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(later > erased, "the clock did not move on");

    // A copy that comes late, with a time before the erasure; then mail that is new.
    let body = line("late", "ann@example.com", now - 60)
        + &line("early-clock", "ann@example.com", before_erasure + SKEW)
        + &line("other", "bob@example.com", now - 60)
        + &line("new", "ann@example.com", later + SKEW);
    assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    let search = |who: &'static str| {
        let url = server.url(&format!(
            "/api/v1/events/message?recipients={who}&to={}",
            chrono::DateTime::from_timestamp(now + 180, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
        ));
        async move {
            let response = client()
                .get(url)
                .header("Authorization", ROOT_KEY)
                .send()
                .await
                .unwrap();
            let json: Value = response.json().await.unwrap();
            let ids: Vec<String> = json["results"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
                .collect();
            ids
        }
    };
    // The events after the late one arrive, so the late one has been through every writer.
    eventually("the events after it are delivered and stored", || async {
        let delivered = receiver.event_ids();
        delivered.contains("other")
            && delivered.contains("new")
            && search("bob@example.com").await == ["other"]
            && search("ann@example.com").await == ["new"]
    })
    .await;
    assert!(
        !receiver.event_ids().contains("late"),
        "the late copy was sent"
    );
    assert!(
        !receiver.event_ids().contains("early-clock"),
        "an event within the clock skew of the erasure was sent"
    );
}

#[tokio::test]
async fn sigkill_with_batches_in_flight_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let env = fast_retries();
    let server = Server::start(dir.path(), &env);
    let receiver = Receiver::start(Behaviour::FailFirst(usize::MAX, 500)).await;
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    let mut acknowledged = std::collections::BTreeSet::new();
    for round in 0..10 {
        let prefix = format!("k{round}");
        assert_eq!(
            ingest(&server, ROOT_KEY, ndjson("delivery", &prefix, 25))
                .await
                .status(),
            200
        );
        acknowledged.extend((0..25).map(|i| format!("{prefix}-{i}")));
    }
    // Batches are failing and being retried when the server dies.
    eventually("batches are being attempted", || async {
        !receiver.batches().is_empty()
    })
    .await;
    server.kill9();

    receiver.recover();
    let server = Server::start(dir.path(), &env);
    eventually("every acknowledged event reaches the receiver", || async {
        receiver.event_ids().is_superset(&acknowledged)
    })
    .await;
    drop(server);
}

/// Events per batch the receiver got, in arrival order.
fn batch_sizes(receiver: &Receiver) -> Vec<usize> {
    receiver
        .batches()
        .iter()
        .map(|batch| batch.json().as_array().map_or(0, Vec::len))
        .collect()
}

#[tokio::test]
async fn batches_are_cut_by_count_by_bytes_and_by_time() {
    // By count: a flush interval far longer than the test, so only the count cuts.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &loopback_targets(&[
            ("EVENTHOSE_WEBHOOKS__BATCH_MAX_EVENTS", "10"),
            ("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "600000"),
        ]),
    );
    let receiver = Receiver::start(Behaviour::Ok).await;
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    assert_eq!(
        ingest(&server, ROOT_KEY, ndjson("delivery", "n", 35))
            .await
            .status(),
        200
    );
    // The rest, five, go out at once too: the webhook has nothing else under way.
    eventually("every event", || async { receiver.events_posted() == 35 }).await;
    let mut sizes = batch_sizes(&receiver);
    sizes.sort_unstable();
    assert_eq!(sizes, vec![5, 10, 10, 10]);
    drop(server);

    // By bytes: each batch stops at the first event that takes it to the byte limit.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &loopback_targets(&[
            ("EVENTHOSE_WEBHOOKS__BATCH_MAX_BYTES", "2000"),
            ("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "600000"),
        ]),
    );
    let receiver = Receiver::start(Behaviour::Ok).await;
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    assert_eq!(
        ingest(&server, ROOT_KEY, ndjson("delivery", "b", 40))
            .await
            .status(),
        200
    );
    eventually("every event", || async { receiver.events_posted() == 40 }).await;
    let batches = receiver.batches();
    assert!(batches.len() >= 3, "{} batches", batches.len());
    // Every batch but the rest of the request is cut at the byte limit.
    let rests = batches.iter().filter(|b| b.body.len() < 2000).count();
    assert!(rests <= 1, "{rests} batches cut before the byte limit");
    for batch in &batches {
        let events = batch.json().as_array().unwrap().len();
        let per_event = batch.body.len() / events;
        assert!(
            batch.body.len() < 2000 + per_event + 2,
            "cut late: {} bytes",
            batch.body.len()
        );
    }
    drop(server);

    // By time: while the webhook is busy (a request that takes 3 s), a few events far below
    // the count and byte limits still leave on the tick, beside that request.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &loopback_targets(&[("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "200")]),
    );
    let receiver = Receiver::start(Behaviour::Slow(Duration::from_secs(3))).await;
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    for prefix in ["busy", "t"] {
        let n = if prefix == "busy" { 1 } else { 3 };
        assert_eq!(
            ingest(&server, ROOT_KEY, ndjson("delivery", prefix, n))
                .await
                .status(),
            200
        );
    }
    eventually("the small batch leaves on the tick", || async {
        batch_sizes(&receiver) == vec![1, 3]
    })
    .await;
    let batches = receiver.batches();
    assert!(
        batches[1].at - batches[0].at < Duration::from_secs(3),
        "the second batch waited for the first request to end"
    );
    // The counters move once the receiver's answer is back, just after it logged the batch.
    for name in [
        "eventhose_webhook_events_delivered_total{webhook=",
        "eventhose_webhook_delivery_seconds_bucket{webhook=",
        "eventhose_webhook_requests_in_flight{webhook=",
        "eventhose_webhook_backlog_events{webhook=",
        "eventhose_hose_subscriber_deferred{subscriber=\"webhooks\"}",
    ] {
        eventually(&format!("{name} in /metrics"), || async {
            metrics_text(&server).await.contains(name)
        })
        .await;
    }
}

/// Erasure reaches the copies at rest: a batch waiting an hour for its retry is rewritten in
/// the delayed queue without the erased recipient, the hose segments that held the events are
/// deleted once every subscriber has taken them, and the server counts the moment the last
/// copy is gone.
#[tokio::test]
async fn an_erasure_rewrites_the_retry_queue_and_reports_the_last_copy_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &loopback_targets(&[
            ("EVENTHOSE_WEBHOOKS__RETRY_SCHEDULE", "1h"),
            ("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "100"),
        ]),
    );
    let receiver = Receiver::start(Behaviour::FailFirst(1, 503)).await;
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    assert_eq!(
        ingest(&server, ROOT_KEY, ndjson("delivery", "x", 2))
            .await
            .status(),
        200
    );
    let (erased, kept) = (b"userx-0@example.com", b"userx-1@example.com");
    let delayed_queue = || {
        files_under(dir.path())
            .into_iter()
            .find(|path| path.ends_with("webhooks.deferred"))
            .expect("the webhooks subscriber's delayed queue")
    };
    eventually("the failed batch waits for its retry", || async {
        receiver.batches().len() == 1 && file_holds(&delayed_queue(), erased)
    })
    .await;
    let segments_before: Vec<_> = files_under(dir.path())
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .collect();
    assert!(!segments_before.is_empty());

    let report = send_as_root(
        client().delete(server.url("/api/v1/events/message?recipients=userx-0@example.com")),
    )
    .await;
    assert_eq!(report["results"]["at_rest"], "pending");
    eventually("the server reports the last copy gone", || async {
        metric(&server, "eventhose_erasures_at_rest_completed_total").await == Some(1.0)
    })
    .await;
    assert_eq!(
        metric(&server, "eventhose_erasures_at_rest_pending").await,
        Some(0.0)
    );
    let queue = delayed_queue();
    assert!(
        !file_holds(&queue, erased),
        "the erased address is still queued"
    );
    assert!(
        file_holds(&queue, kept),
        "the other recipient's event was dropped"
    );
    for segment in &segments_before {
        assert!(!segment.exists(), "{} is still on disk", segment.display());
    }
    assert_eq!(receiver.batches().len(), 1, "nothing was sent meanwhile");
}

/// The flush tick is only an upper bound: with a tick ten minutes away, an idle webhook still
/// gets an event at once, and what arrives while its request is under way goes out together as
/// its next batch, the moment that request ends.
#[tokio::test]
async fn an_idle_webhook_gets_events_at_once_and_a_busy_one_gathers_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &loopback_targets(&[("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "600000")]),
    );
    // Each request takes 3 s: time enough to send three events beside the first, even on a
    // busy machine.
    let receiver = Receiver::start(Behaviour::Slow(Duration::from_secs(3))).await;
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    let send = |id: &str| ingest(&server, ROOT_KEY, event("delivery", id) + "\n");
    assert_eq!(send("first").await.status(), 200);
    // Sent while the first batch's request is under way.
    for id in ["second", "third", "fourth"] {
        assert_eq!(send(id).await.status(), 200);
    }
    eventually(
        "every event is delivered long before the flush tick",
        || async { receiver.events_posted() == 4 },
    )
    .await;
    let sizes: Vec<usize> = receiver
        .batches()
        .iter()
        .map(|batch| batch.json().as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(
        sizes,
        [1, 3],
        "the events gathered meanwhile make one batch"
    );
}
