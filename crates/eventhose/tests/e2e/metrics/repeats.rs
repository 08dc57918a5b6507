//! Events that enter the hose more than once — a client's retry, the same events split
//! differently, a source re-reading part of its input, a resend after the server died between
//! storing a request and answering it — are counted, stored, delivered and suppressed once.
//!
//! Every test ends by sending a sentinel event and waiting until each product shows it: the
//! subscribers apply events in log order, so by then every repeat before it was applied (or
//! ignored), and the exact comparisons that follow cannot pass early.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::api::ok;
use super::clock::{param_time, HOUR};
use super::events::{event, ndjson, simulated};
use super::reference::{facts, Filter, Totals, METRICS};
use super::reports::{expected_groups, GROUP_BY};
use super::{base_day, row, summary, window};
use crate::harness::*;
use crate::receiver::{Behaviour, Receiver};

/// The events' window: the simulated traffic lies in `base` + 2 h … + 5 h.
const WINDOW: i64 = 12 * HOUR;
/// Where the sentinel is, after the window.
const SENTINEL_AT: i64 = 13 * HOUR;

/// A time as the Events API takes it.
fn events_time(seconds: i64) -> String {
    format!("{}:00Z", param_time(seconds, 0))
}

/// POSTs `body` and insists on a 200.
async fn ingest_ok(server: &Server, body: String) {
    let response = ingest(server, ROOT_KEY, body).await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "ingest: {text}");
}

/// Creates a webhook for every type among `events`, pointing at `receiver`; returns its id.
async fn webhook_for(server: &Server, receiver: &Receiver, events: &[Value]) -> String {
    let types: BTreeSet<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    let types: Vec<&str> = types.into_iter().collect();
    create_webhook(server, &receiver.url, &types).await.0
}

/// The sentinel: an injection after the window, with its own id.
fn sentinel(base: i64, name: &str) -> Value {
    event(
        "injection",
        base + SENTINEL_AT,
        json!({ "event_id": name, "message_id": name }),
    )
}

/// The number of events the Events API holds in `[from, to)`.
async fn stored_events(server: &Server, from: i64, to: i64) -> u64 {
    let path = format!(
        "/api/v1/events/message?from={}&to={}&per_page=1",
        events_time(from),
        events_time(to)
    );
    get_json(server, ROOT_KEY, &path)
        .await
        .and_then(|body| body["total_count"].as_u64())
        .unwrap_or(0)
}

/// Waits until the metrics, message events and (if given) the webhook have the sentinel, and
/// the webhook's backlog is empty.
async fn wait_for_sentinel(server: &Server, base: i64, webhook: Option<(&Receiver, &str)>) {
    let (from, to) = (base + SENTINEL_AT - HOUR, base + SENTINEL_AT + HOUR);
    eventually("the sentinel is counted", || async {
        let rows = summary(server, from, to, &[]).await;
        rows.first().and_then(|r| r["count_injected"].as_u64()) == Some(1)
    })
    .await;
    eventually("the sentinel is stored", || async {
        stored_events(server, from, to).await == 1
    })
    .await;
    if let Some((receiver, id)) = webhook {
        let backlog = format!("eventhose_webhook_backlog_events{{webhook=\"{id}\"}}");
        eventually("the sentinel is delivered and nothing waits", || async {
            receiver
                .event_ids()
                .iter()
                .any(|e| e.starts_with("sentinel"))
                && metric(server, &backlog).await == Some(0.0)
        })
        .await;
    }
}

/// What the Metrics API must show for `events`, each counted once.
fn expected_summary(events: &[Value]) -> Vec<Value> {
    vec![Value::Object(row(&Totals::of(&facts(events)), &METRICS))]
}

/// Sends the sentinel, waits for it, and checks that the metrics and message events hold each
/// of `events` once.
async fn assert_counted_and_stored_once(server: &Server, base: i64, events: &[Value]) {
    ingest_ok(server, ndjson(&[sentinel(base, "sentinel")])).await;
    wait_for_sentinel(server, base, None).await;
    assert_eq!(
        summary(server, base, base + WINDOW, &[]).await,
        expected_summary(events)
    );
    assert_eq!(
        stored_events(server, base, base + WINDOW).await,
        events.len() as u64
    );
}

/// The recipients on the primary account's suppression list.
async fn suppressed(server: &Server) -> BTreeSet<String> {
    let body = get_json(server, ROOT_KEY, "/api/v1/suppression-list?per_page=10000")
        .await
        .expect("suppression list");
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|entry| entry["recipient"].as_str().map(str::to_lowercase))
        .collect()
}

#[tokio::test]
async fn events_sent_twice_are_counted_stored_delivered_and_suppressed_once() {
    let base = base_day();
    let mut events = simulated(base, 1_200);
    // Half the events name no id: theirs is derived from their content, the same each time.
    for event in events.iter_mut().skip(600) {
        event.as_object_mut().unwrap().remove("event_id");
    }
    let dir = tempfile::tempdir().unwrap();
    let env = loopback_targets(&[("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "100")]);
    let server = Server::start(dir.path(), &env);
    let receiver = Receiver::start(Behaviour::Ok).await;
    let webhook = webhook_for(&server, &receiver, &events).await;

    // Sent once, in requests of 400 …
    for chunk in events.chunks(400) {
        ingest_ok(&server, ndjson(chunk)).await;
    }
    // … the first request retried as it was …
    ingest_ok(&server, ndjson(&events[..400])).await;
    // … and everything again, split differently and in another order.
    for chunk in events.chunks(250).rev() {
        ingest_ok(&server, ndjson(chunk)).await;
    }
    ingest_ok(&server, ndjson(&[sentinel(base, "sentinel-1")])).await;
    wait_for_sentinel(&server, base, Some((&receiver, &webhook))).await;

    assert_eq!(
        summary(&server, base, base + WINDOW, &[]).await,
        expected_summary(&events),
        "every metric counts each event once"
    );
    let all = METRICS.join(",");
    let facts = facts(&events);
    for (segment, param, key) in GROUP_BY {
        let mut query = window(base, base + WINDOW, &all);
        query.push(("limit", "10000".into()));
        let path = format!("/api/v1/metrics/deliverability/{segment}");
        let filter = Filter::default();
        let expected = expected_groups(
            &facts,
            base,
            base + WINDOW,
            &filter,
            param,
            key,
            &METRICS,
            METRICS[0],
            10_000,
        );
        let actual = ok(&server, &path, &query).await["results"].clone();
        assert_eq!(actual, Value::Array(expected), "{path}");
    }
    assert_eq!(
        stored_events(&server, base, base + WINDOW).await,
        events.len() as u64,
        "message events hold each event once"
    );
    let ids = receiver.event_ids();
    assert_eq!(
        ids.len(),
        events.len() + 1,
        "every event reached the webhook"
    );
    assert_eq!(
        receiver.events_posted(),
        ids.len(),
        "and none of them twice"
    );

    // A suppression deleted after its complaint is not brought back by a retry of it.
    let list = suppressed(&server).await;
    let complaint = events
        .iter()
        .find(|e| {
            e["type"] == "spam_complaint"
                && e["rcpt_to"]
                    .as_str()
                    .is_some_and(|to| list.contains(&to.to_lowercase()))
        })
        .expect("a spam complaint on the list")
        .clone();
    let recipient = complaint["rcpt_to"].as_str().unwrap().to_lowercase();
    let deleted = client()
        .delete(server.url(&format!("/api/v1/suppression-list/{recipient}")))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    ingest_ok(&server, ndjson(&[complaint])).await;
    // A complaint of another recipient after it: once that one is on the list, the writer has
    // read past the retry.
    let marker = event(
        "spam_complaint",
        base + SENTINEL_AT,
        json!({ "event_id": "sentinel-2", "rcpt_to": "sentinel@example.com" }),
    );
    ingest_ok(&server, ndjson(&[marker])).await;
    eventually("the suppressions writer read past the retry", || async {
        suppressed(&server).await.contains("sentinel@example.com")
    })
    .await;
    assert!(
        !suppressed(&server).await.contains(&recipient),
        "the retried complaint did not re-suppress {recipient}"
    );
    assert_eq!(
        summary(&server, base, base + WINDOW, &[]).await,
        expected_summary(&events)
    );
}

#[tokio::test]
async fn a_source_re_reading_part_of_its_input_is_counted_once() {
    let base = base_day();
    // A log read as a source reads it, without event ids: each line's id comes from its
    // content.
    let mut events = simulated(base, 900);
    for event in &mut events {
        event.as_object_mut().unwrap().remove("event_id");
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    // Read up to 60%, restarted from an older position (30%), then read to the end.
    let (restart, stop) = (events.len() * 3 / 10, events.len() * 6 / 10);
    for chunk in events[..stop].chunks(100) {
        ingest_ok(&server, ndjson(chunk)).await;
    }
    for chunk in events[restart..].chunks(100) {
        ingest_ok(&server, ndjson(chunk)).await;
    }
    assert_counted_and_stored_once(&server, base, &events).await;
}

#[tokio::test]
async fn a_resend_after_a_crash_between_storing_and_answering_is_exact() {
    let base = base_day();
    let events = simulated(base, 300);
    let dir = tempfile::tempdir().unwrap();
    // The server dies like `kill -9` right after the hose made the request durable, before
    // it answers: the client sees no answer and sends the request again.
    let crashing = Server::start(dir.path(), &[("TEST_EVENTHOSE_ABORT_AFTER_PUBLISH", "1")]);
    let first = client()
        .post(crashing.url("/api/v1/ingest/events"))
        .header("Authorization", ROOT_KEY)
        .body(ndjson(&events))
        .send()
        .await;
    assert!(
        first.is_err(),
        "the server died before answering: {first:?}"
    );
    drop(crashing);

    let server = Server::start(dir.path(), &[]);
    ingest_ok(&server, ndjson(&events)).await;
    assert_counted_and_stored_once(&server, base, &events).await;
}

/// NDJSON of injections with ids `dedup-{i}` for each `i` of `ids`, dated a minute ago.
fn injections(ids: std::ops::Range<usize>) -> String {
    ids.map(|i| crate::harness::event("injection", &format!("dedup-{i}")) + "\n")
        .collect()
}

#[tokio::test]
async fn a_window_at_its_bound_forgets_its_oldest_events_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("EVENTHOSE_DEDUP_MAX_EVENTS", "100")]);
    let sample = |name: &str| format!("{name}{{subscriber=\"metrics\"}}");
    ingest_ok(&server, injections(0..300)).await;
    // The newest hundred are remembered; sent again, they are ignored …
    ingest_ok(&server, injections(200..300)).await;
    // … the oldest were forgotten to make room: sent again, they count again.
    ingest_ok(&server, injections(0..100)).await;
    ingest_ok(&server, crate::harness::ndjson("injection", "sentinel", 1)).await;

    // 200 forgotten making room for 201–300, 100 for the repeats, 1 for the sentinel: the
    // count reaches 301 only once the sentinel is folded, so the repeats were too; the
    // events folded are counted once their commit is done.
    let forgotten = sample("eventhose_dedup_forgotten_early_total");
    let applied = sample("eventhose_subscriber_events_total");
    eventually("the sentinel is applied and committed", || async {
        metric(&server, &forgotten).await == Some(301.0)
            && metric(&server, &applied).await >= Some(401.0)
    })
    .await;
    assert_eq!(
        metric(&server, &applied).await,
        Some(401.0),
        "300, the oldest 100 again, the sentinel"
    );
    let remembered = metric(&server, &sample("eventhose_dedup_remembered_events")).await;
    assert_eq!(remembered, Some(100.0));

    // Message events keep their own record of what they stored: each event is there once.
    eventually("each event is stored once", || async {
        get_json(&server, ROOT_KEY, "/api/v1/events/message?per_page=1")
            .await
            .and_then(|body| body["total_count"].as_u64())
            == Some(301)
    })
    .await;
}

/// POSTs `body` with an `Idempotency-Key`; returns the status, the replay header and the body.
async fn ingest_with_key(server: &Server, key: &str, body: String) -> (u16, bool, Value) {
    let response = client()
        .post(server.url("/api/v1/ingest/events"))
        .header("Authorization", ROOT_KEY)
        .header("Idempotency-Key", key)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (status, replayed, response.json().await.unwrap())
}

#[tokio::test]
async fn an_idempotency_key_gets_the_first_answer_until_it_expires() {
    let base = base_day();
    let events = simulated(base, 200);
    let dir = tempfile::tempdir().unwrap();
    let env = [("EVENTHOSE_INGEST__IDEMPOTENCY_KEY_TTL_SECS", "3")];
    let server = Server::start(dir.path(), &env);

    let (status, replayed, first) = ingest_with_key(&server, "order-1", ndjson(&events)).await;
    assert_eq!((status, replayed), (200, false), "{first}");
    let (status, replayed, again) = ingest_with_key(&server, "order-1", ndjson(&events)).await;
    assert_eq!((status, replayed), (200, true));
    assert_eq!(
        again, first,
        "the retry gets the first answer, batch id included"
    );

    let (status, _, other) = ingest_with_key(&server, "order-1", ndjson(&events[..10])).await;
    assert_eq!(status, 409, "another request under the same key: {other}");
    assert_eq!(other["errors"][0]["param"], "Idempotency-Key");

    let bad = "{\"type\":\"delivery\"}\n".to_string();
    let (status, replayed, refused) = ingest_with_key(&server, "order-2", bad.clone()).await;
    assert_eq!((status, replayed), (400, false));
    let (status, replayed, again) = ingest_with_key(&server, "order-2", bad).await;
    assert_eq!((status, replayed, &again), (400, true, &refused));

    // Once the key has expired the request is processed anew; its events are recognised.
    eventually("the key expires", || async {
        let (status, replayed, _) = ingest_with_key(&server, "order-1", ndjson(&events)).await;
        assert_eq!(status, 200);
        !replayed
    })
    .await;
    ingest_ok(&server, ndjson(&[sentinel(base, "sentinel")])).await;
    wait_for_sentinel(&server, base, None).await;
    assert_eq!(
        summary(&server, base, base + WINDOW, &[]).await,
        expected_summary(&events),
        "the events are counted once"
    );
}
