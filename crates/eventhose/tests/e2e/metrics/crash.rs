//! Exactly once across SIGKILL: clients ingest while the metrics subscriber commits, the server
//! is killed mid-stream and restarted on the same data, and every request's events are counted
//! exactly once if it was acknowledged — and not at all, or exactly once, if its answer was lost.
//!
//! Each client sends one event type, and its request `k` carries its own minute (`start + k`
//! minutes) and its own size, so a per-minute time series shows each request on its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::api::ok;
use super::base_day;
use super::clock::{param_time, MINUTE};
use super::events::{event, ndjson};
use crate::harness::*;

/// (event type, the metric that counts it), one client each.
const CLIENTS: [(&str, &str); 4] = [
    ("injection", "count_injected"),
    ("delivery", "count_delivered"),
    ("delay", "count_delayed"),
    ("policy_rejection", "count_policy_rejection"),
];

/// Requests per client before the kill, at most (a 1min series covers 24 hours).
const MAX_REQUESTS: u64 = 1_400;
/// Requests per client after the restart.
const AFTER_RESTART: u64 = 5;

/// Each client's requests: (k, events, outcome).
type Outcomes = Arc<Mutex<Vec<(u64, usize, Outcome)>>>;

/// What became of one request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Answered 200: its events must be counted exactly once.
    Acked,
    /// No answer (the server died): counted exactly once or not at all.
    Unknown,
}

/// The events of request `k` of client `c`.
fn request(start: i64, c: usize, k: u64) -> (usize, String) {
    let (kind, _) = CLIENTS[c];
    let n = 20 + (k % 13) as usize;
    let at = start + k as i64 * MINUTE + c as i64;
    let events: Vec<Value> = (0..n)
        .map(|i| {
            event(
                kind,
                at,
                json!({
                    "message_id": format!("crash-{c}-{k}-{i}"),
                    "campaign_id": "crash",
                    "num_retries": "0",
                    "reason": "550 crash test",
                    "bounce_class": "25",
                }),
            )
        })
        .collect();
    (n, ndjson(&events))
}

/// Sends requests `first..` of client `c` until `stop`, a failure, or `last`; records outcomes.
async fn client_loop(
    base: String,
    start: i64,
    c: usize,
    ks: std::ops::Range<u64>,
    stop: Arc<AtomicBool>,
    outcomes: Outcomes,
) {
    let http = client();
    for k in ks {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (n, body) = request(start, c, k);
        // A 429 (backpressure) refuses the request whole: send it again, a bounded number of times.
        let mut outcome = Outcome::Unknown;
        for _ in 0..200 {
            let result = http
                .post(format!("{base}/api/v1/ingest/events"))
                .header("Authorization", ROOT_KEY)
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(response) if response.status() == 429 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(response) if response.status() == 200 => {
                    outcome = Outcome::Acked;
                    break;
                }
                _ => break,
            }
        }
        outcomes.lock().unwrap().push((k, n, outcome));
        if outcome != Outcome::Acked {
            return; // the server is gone
        }
    }
}

/// The per-minute values of each client's metric over requests `0..requests`.
async fn per_minute(server: &Server, start: i64, requests: u64) -> Vec<Vec<u64>> {
    let metrics: Vec<&str> = CLIENTS.iter().map(|(_, m)| *m).collect();
    let query = vec![
        ("metrics", metrics.join(",")),
        ("precision", "1min".to_string()),
        ("from", param_time(start, 0)),
        ("to", param_time(start + requests as i64 * MINUTE, 0)),
    ];
    let body = ok(server, "/api/v1/metrics/deliverability/time-series", &query).await;
    let rows = body["results"].as_array().expect("results");
    assert_eq!(rows.len() as u64, requests, "one bucket per request minute");
    CLIENTS
        .iter()
        .map(|(_, metric)| {
            rows.iter()
                .map(|r| r[*metric].as_u64().expect("count"))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_exactly_once_across_sigkill() {
    exactly_once_across_sigkill(&[]).await;
}

/// The metrics worker writing to ClickHouse, killed mid-stream: the commit row it was sending
/// is all or nothing, and the restarted worker resumes from the position ClickHouse holds.
#[tokio::test]
async fn metrics_on_clickhouse_count_exactly_once_across_sigkill() {
    let database = eventhose_test_support::clickhouse::ClickHouseDatabase::new();
    let url = database.url();
    exactly_once_across_sigkill(&[("EVENTHOSE_ANALYTICS__URL", url.as_str())]).await;
}

async fn exactly_once_across_sigkill(store: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let start = base_day() + 60 * MINUTE;
    // Frequent commits, so the kill lands among them.
    let mut env = vec![("EVENTHOSE_ANALYTICS__COMMIT_INTERVAL_MS", "200")];
    env.extend_from_slice(store);
    let server = Server::start(dir.path(), &env);
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Vec<Outcomes> = CLIENTS.iter().map(|_| Arc::default()).collect();
    let clients: Vec<_> = (0..CLIENTS.len())
        .map(|c| {
            tokio::spawn(client_loop(
                server.base.clone(),
                start,
                c,
                0..MAX_REQUESTS,
                stop.clone(),
                outcomes[c].clone(),
            ))
        })
        .collect();

    // Kill once the metrics subscriber has committed some of every type, and then more in
    // several later commits, while the clients keep sending.
    let summary_query = vec![
        (
            "metrics",
            CLIENTS
                .iter()
                .map(|(_, m)| *m)
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("from", param_time(start, 0)),
        ("to", param_time(start + MAX_REQUESTS as i64 * MINUTE, 0)),
    ];
    let progress = Mutex::new(Vec::<Value>::new());
    eventually("metrics committed for every client, mid-stream", || async {
        let acked_enough = outcomes.iter().all(|o| o.lock().unwrap().len() >= 20);
        let body = ok(&server, "/api/v1/metrics/deliverability", &summary_query).await;
        let row = body["results"][0].clone();
        let committed = CLIENTS
            .iter()
            .all(|(_, m)| row[*m].as_u64().unwrap_or(0) > 0);
        let mut seen = progress.lock().unwrap();
        if committed && seen.last() != Some(&row) {
            seen.push(row);
        }
        acked_enough && seen.len() >= 3
    })
    .await;
    for o in &outcomes {
        assert!(
            (o.lock().unwrap().len() as u64) < MAX_REQUESTS,
            "the clients ran out of requests before the kill"
        );
    }
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }

    // Restart on the same data and send a few more requests per client.
    let server = Server::start(dir.path(), &env);
    let mut next = Vec::new();
    for o in &outcomes {
        next.push(
            o.lock()
                .unwrap()
                .iter()
                .map(|(k, _, _)| k + 1)
                .max()
                .unwrap_or(0),
        );
    }
    let after: Vec<_> = (0..CLIENTS.len())
        .map(|c| {
            tokio::spawn(client_loop(
                server.base.clone(),
                start,
                c,
                next[c]..next[c] + AFTER_RESTART,
                Arc::new(AtomicBool::new(false)),
                outcomes[c].clone(),
            ))
        })
        .collect();
    for c in after {
        c.await.unwrap();
    }
    let requests = next.iter().max().unwrap() + AFTER_RESTART;
    for (c, o) in outcomes.iter().enumerate() {
        let o = o.lock().unwrap();
        let late: Vec<_> = o.iter().filter(|(k, _, _)| *k >= next[c]).collect();
        assert_eq!(late.len() as u64, AFTER_RESTART);
        assert!(
            late.iter()
                .all(|(_, _, outcome)| *outcome == Outcome::Acked),
            "after restart: {late:?}"
        );
    }

    // The subscriber folds in log order and commits a prefix at a time: once every request
    // acknowledged after the restart is counted, so is everything the log held before it.
    let expected: Vec<Vec<(u64, usize, Outcome)>> =
        outcomes.iter().map(|o| o.lock().unwrap().clone()).collect();
    eventually("every request after the restart is counted", || async {
        let counted = per_minute(&server, start, requests).await;
        expected.iter().enumerate().all(|(c, requests)| {
            requests
                .iter()
                .filter(|(k, _, _)| *k >= next[c])
                .all(|(k, n, _)| counted[c][usize::try_from(*k).unwrap()] >= *n as u64)
        })
    })
    .await;
    let counted = per_minute(&server, start, requests).await;
    let mut lost_answers = 0;
    for (c, requests) in expected.iter().enumerate() {
        let (kind, metric) = CLIENTS[c];
        let mut seen = vec![false; counted[c].len()];
        for (k, n, outcome) in requests {
            let minute = usize::try_from(*k).unwrap();
            let got = counted[c][minute];
            seen[minute] = true;
            match outcome {
                Outcome::Acked => assert_eq!(
                    got, *n as u64,
                    "{kind} request {k} was acknowledged: {metric} must count its {n} events once"
                ),
                Outcome::Unknown => {
                    eprintln!("{kind} request {k} lost its answer; counted {got} of {n}");
                    assert!(
                        got == 0 || got == *n as u64,
                        "{kind} request {k} lost its answer: {metric} is {got}, not 0 or {n}"
                    );
                    lost_answers += 1;
                }
            }
        }
        for (k, got) in counted[c].iter().enumerate() {
            if !seen[k] {
                assert_eq!(
                    *got, 0,
                    "{kind}: minute {k} was never sent, yet counts {got}"
                );
            }
        }
        let acked = requests.iter().filter(|r| r.2 == Outcome::Acked).count();
        eprintln!(
            "{kind}: {acked} requests acknowledged, {} before the kill",
            next[c]
        );
        assert!(
            acked as u64 >= 20 + AFTER_RESTART,
            "{kind}: {acked} requests acknowledged"
        );
    }
    assert!(
        lost_answers <= CLIENTS.len(),
        "at most one request per client was cut off"
    );
}
