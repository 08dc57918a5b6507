//! The hose on RabbitMQ end to end: real `eventhose serve` processes with
//! `EVENTHOSE_HOSE=amqp://…`, on the broker at 127.0.0.1:5672 (guest/guest). Each test uses an
//! exchange and queue prefix and a connection name of its own, deletes its queues and exchange
//! at the end, and closes only its own connections.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventhose_state::unix_now;
use eventhose_test_support::rabbitmq::rabbitmqctl;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;

use crate::harness::*;
use crate::receiver::{Behaviour, Receiver};

const BROKER_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Events per ingest request in the streaming tests.
const BATCH: usize = 20;
/// Requests per client in the streaming tests, at most (one page of suppressions holds them).
const MAX_REQUESTS: usize = 200;

/// One test's corner of the broker: its prefix and connection name. Dropping it deletes the
/// prefix's queues and exchange (declare it before the servers, so they stop first).
pub(crate) struct Broker {
    prefix: String,
    connection_name: String,
}

impl Broker {
    pub(crate) fn new() -> Broker {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Broker {
            prefix: format!("e2e.{}.", &id[..12]),
            connection_name: format!("eventhose-e2e-{}", &id[..12]),
        }
    }

    /// The environment that puts a server on this broker corner, plus `extra`.
    pub(crate) fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("EVENTHOSE_HOSE", BROKER_URL),
            ("EVENTHOSE_AMQP__PREFIX", self.prefix.as_str()),
            (
                "EVENTHOSE_AMQP__CONNECTION_NAME",
                self.connection_name.as_str(),
            ),
            ("EVENTHOSE_AMQP__STATS_INTERVAL_MS", "200"),
            ("EVENTHOSE_AMQP__RECONNECT_MIN_MS", "1500"),
            ("EVENTHOSE_AMQP__RECONNECT_MAX_MS", "3000"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.sort();
        env
    }

    /// Work queue of a subscriber.
    pub(crate) fn queue(&self, subscriber: &str) -> String {
        format!("{}{subscriber}", self.prefix)
    }

    /// Names of this prefix's queues.
    fn queues(&self) -> Vec<String> {
        self.listed_queues().expect("rabbitmqctl list_queues")
    }

    /// Names of this prefix's queues; `None` when `rabbitmqctl` fails (no panic: drop uses it).
    fn listed_queues(&self) -> Option<Vec<String>> {
        let output = Command::new("rabbitmqctl")
            .args(["--quiet", "list_queues", "name", "--no-table-headers"])
            .output()
            .ok()
            .filter(|output| output.status.success())?;
        let names = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .filter(|name| name.starts_with(&self.prefix))
            .map(str::to_owned)
            .collect();
        Some(names)
    }

    /// Makes the broker close every connection of this test's servers; returns how many.
    fn close_connections(&self) -> usize {
        let needle = format!("\"{}\"", self.connection_name);
        let pids: Vec<String> = rabbitmqctl(&[
            "list_connections",
            "pid",
            "client_properties",
            "--no-table-headers",
        ])
        .lines()
        .filter(|line| line.contains(&needle))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
        for pid in &pids {
            rabbitmqctl(&[
                "close_connection",
                pid,
                "closed by an eventhose e2e fault test",
            ]);
        }
        pids.len()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let queues = self.listed_queues().unwrap_or_default();
        let exchange = format!("{}events", self.prefix);
        // A runtime of its own on a thread of its own: this may run inside the test's runtime.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let connection = Connection::connect(BROKER_URL, ConnectionProperties::default())
                    .await
                    .expect("cleanup connection");
                let channel = connection.create_channel().await.expect("channel");
                for queue in queues {
                    channel
                        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                        .await
                        .expect("delete queue");
                }
                channel
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await
                    .expect("delete exchange");
                let _ = connection.close(200, "e2e cleanup".into()).await;
            });
        });
        let cleaned = cleanup.join();
        if !std::thread::panicking() {
            assert!(
                cleaned.is_ok(),
                "the test's queues and exchange are deleted"
            );
            assert_eq!(self.queues(), Vec::<String>::new(), "queues left behind");
        }
    }
}

pub(crate) fn start(dir: &std::path::Path, env: &[(String, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Server::start(dir, &env)
}

/// `YYYY-MM-DDTHH:MM` in UTC, as the Metrics API takes it.
fn utc_minute(unix: i64) -> String {
    let (days, rest) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}",
        rest / 3_600,
        rest % 3_600 / 60
    )
}

/// The recipient of event `id` (each event has its own).
pub(crate) fn recipient(id: &str) -> String {
    format!("user-{id}@example.com")
}

/// A recent event of `kind`; bounces are hard (class 10), so each one becomes a suppression.
fn event(kind: &str, id: &str) -> String {
    let bounce = if kind == "bounce" {
        r#","bounce_class":"10","reason":"550 5.1.1 no such user""#
    } else {
        ""
    };
    format!(
        r#"{{"type":"{kind}","event_id":"{id}","timestamp":"{}","message_id":"msg-{id}","rcpt_to":"{}"{bounce}}}"#,
        unix_now() - 60,
        recipient(id)
    )
}

/// NDJSON of events of `kind` with ids `{prefix}-0 …`; returns (body, ids).
pub(crate) fn events(kind: &str, prefix: &str, n: usize) -> (String, Vec<String>) {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let body = ids.iter().map(|id| event(kind, id) + "\n").collect();
    (body, ids)
}

/// Metrics API totals of the last two hours.
async fn metric_totals(server: &Server, metrics: &str) -> Value {
    let response = client()
        .get(server.url("/api/v1/metrics/deliverability"))
        .header("Authorization", ROOT_KEY)
        .query(&[
            ("metrics", metrics.to_string()),
            ("from", utc_minute(unix_now() - 7_200)),
        ])
        .send()
        .await
        .expect("metrics request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("metrics JSON");
    body["results"][0].clone()
}

/// One Metrics API total of the last two hours (0 when absent).
pub(crate) async fn metric_total(server: &Server, metric: &str) -> u64 {
    metric_totals(server, metric).await[metric]
        .as_u64()
        .unwrap_or(0)
}

/// Every recipient on the server's suppression list (at most 10,000).
pub(crate) async fn suppressed(server: &Server) -> BTreeSet<String> {
    let response = client()
        .get(server.url("/api/v1/suppression-list?per_page=10000"))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .expect("suppression request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("suppression JSON");
    let total = body["total_count"].as_u64().unwrap_or(0);
    assert!(total <= 10_000, "the test reads one page of suppressions");
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|entry| entry["recipient"].as_str().map(String::from))
        .collect()
}

async fn status(server: &Server, path: &str) -> u16 {
    client()
        .get(server.url(path))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// The webhook settings for quick retries to a receiver on loopback.
pub(crate) fn webhooks_fast() -> Vec<(&'static str, &'static str)> {
    loopback_targets(&[
        (
            "EVENTHOSE_WEBHOOKS__RETRY_SCHEDULE",
            "300ms,300ms,300ms,300ms",
        ),
        ("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "100"),
    ])
}

#[tokio::test]
async fn amqp_every_subscriber_gets_every_event() {
    let broker = Broker::new();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &broker.env(&webhooks_fast()));
    assert_eq!(status(&server, "/readyz").await, 200);

    // The receiver refuses the first three batch POSTs: retries go through the wait queues.
    let receiver = Receiver::start(Behaviour::FailFirst(3, 503)).await;
    create_webhook(&server, &receiver.url, &["delivery", "bounce"]).await;
    let (deliveries, delivery_ids) = events("delivery", "d", 40);
    let (bounces, bounce_ids) = events("bounce", "b", 20);
    let (opens, _) = events("open", "o", 10);
    for body in [deliveries, bounces, opens] {
        assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    }

    // The counter: exact without faults (nothing is redelivered).
    eventually("the counter counts every event", || async {
        counted(&server, "delivery").await >= 40
            && counted(&server, "bounce").await >= 20
            && counted(&server, "open").await >= 10
    })
    .await;
    assert_eq!(counted(&server, "delivery").await, 40);
    assert_eq!(counted(&server, "bounce").await, 20);
    assert_eq!(counted(&server, "open").await, 10);

    // The Metrics API.
    eventually("the Metrics API counts every event", || async {
        let totals = metric_totals(&server, "count_delivered,count_bounce").await;
        totals["count_delivered"] == 40 && totals["count_bounce"] == 20
    })
    .await;

    // Suppressions: every hard bounce, nothing else.
    let expected: BTreeSet<String> = bounce_ids.iter().map(|id| recipient(id)).collect();
    eventually("every hard bounce is suppressed", || async {
        suppressed(&server).await.len() >= expected.len()
    })
    .await;
    assert_eq!(suppressed(&server).await, expected);

    // Webhooks: every wanted event arrives, and every batch is accepted in the end: once the
    // three refusals are spent, each batch's last POST is accepted, so the POSTs number the
    // distinct batches plus three.
    let wanted: BTreeSet<String> = delivery_ids.into_iter().chain(bounce_ids).collect();
    eventually("every batch is accepted after the refusals", || async {
        let posts = receiver.batches();
        let batches: BTreeSet<String> = posts
            .iter()
            .filter_map(|post| post.header("x-messagesystems-batch-id").map(String::from))
            .collect();
        receiver.event_ids() == wanted && posts.len() >= batches.len() + 3
    })
    .await;
    let wait_queue = format!("{}.wait.", broker.queue("webhooks"));
    let queues = broker.queues();
    assert!(
        queues.iter().any(|q| q.starts_with(&wait_queue)),
        "retries went through a wait queue: {queues:?}"
    );

    // The queue gauges are in /metrics.
    let counter_queue = broker.queue("counter");
    eventually("queue gauges in /metrics", || async {
        let consumers = format!("eventhose_hose_queue_consumers{{queue=\"{counter_queue}\"}}");
        let messages = format!("eventhose_hose_queue_messages{{queue=\"{counter_queue}\"}}");
        let dead = format!("eventhose_hose_queue_messages{{queue=\"{counter_queue}.dead\"}}");
        metric(&server, &consumers).await == Some(1.0)
            && metric(&server, &messages).await == Some(0.0)
            && metric(&server, &dead).await == Some(0.0)
    })
    .await;
    let status = server.terminate();
    assert!(status.success(), "SIGTERM exit: {status:?}");
}

#[tokio::test]
async fn amqp_a_request_sent_twice_is_counted_and_delivered_once() {
    let broker = Broker::new();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &broker.env(&webhooks_fast()));
    let receiver = Receiver::start(Behaviour::Ok).await;
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    // A client's retry: both copies enter the broker, and RabbitMQ has no positions to
    // recognise them by; the subscribers recognise the event ids.
    let (body, _) = events("delivery", "twice", 30);
    for _ in 0..2 {
        assert_eq!(ingest(&server, ROOT_KEY, body.clone()).await.status(), 200);
    }
    // Applied in queue order: once the sentinel is counted and delivered, so is all before it.
    let (sentinel, _) = events("delivery", "sentinel", 1);
    assert_eq!(ingest(&server, ROOT_KEY, sentinel).await.status(), 200);
    eventually("the sentinel is counted and delivered", || async {
        metric_total(&server, "count_delivered").await >= 31
            && receiver.event_ids().contains("sentinel-0")
    })
    .await;
    assert_eq!(metric_total(&server, "count_delivered").await, 31);
    assert_eq!(receiver.events_posted(), 31, "each event posted once");
    eventually("the counter sees the hose: both copies", || async {
        counted(&server, "delivery").await == 61
    })
    .await;
}

/// What the ingest clients saw.
#[derive(Default)]
pub(crate) struct Seen {
    /// Ids of the events of every request answered 200.
    pub(crate) acked: Mutex<Vec<String>>,
    /// Events sent, answered or not.
    pub(crate) sent: AtomicU64,
    /// Requests answered 503 (with a `Retry-After`).
    pub(crate) unavailable: AtomicU64,
    /// Requests answered 200 after the first 503.
    pub(crate) acked_after_outage: AtomicU64,
    /// Anything else: (client, request, what happened).
    pub(crate) unexpected: Mutex<Vec<String>>,
}

impl Seen {
    pub(crate) fn acked(&self) -> Vec<String> {
        self.acked.lock().unwrap().clone()
    }

    pub(crate) fn acked_requests(&self) -> usize {
        self.acked.lock().unwrap().len() / BATCH
    }
}

/// Two clients running [`stream_bounces`] against `server` until `stop`.
fn two_streams(
    server: &Server,
    stop: &Arc<AtomicBool>,
    seen: &Arc<Seen>,
    server_may_die: bool,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..2)
        .map(|c| {
            tokio::spawn(stream_bounces(
                server.base.clone(),
                c,
                MAX_REQUESTS,
                stop.clone(),
                seen.clone(),
                server_may_die,
            ))
        })
        .collect()
}

/// Sends hard bounces from client `c` until `stop`, at most `max_requests`; returns at the first
/// transport error when `server_may_die`, else records it as unexpected.
pub(crate) async fn stream_bounces(
    base: String,
    c: usize,
    max_requests: usize,
    stop: Arc<AtomicBool>,
    seen: Arc<Seen>,
    server_may_die: bool,
) {
    let http = client();
    for k in 0..max_requests {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (body, ids) = events("bounce", &format!("c{c}-{k}"), BATCH);
        seen.sent.fetch_add(BATCH as u64, Ordering::SeqCst);
        let answer = http
            .post(format!("{base}/api/v1/ingest/events"))
            .header("Authorization", ROOT_KEY)
            .body(body)
            .send()
            .await;
        match answer {
            Ok(response) if response.status() == 200 => {
                seen.acked.lock().unwrap().extend(ids);
                if seen.unavailable.load(Ordering::SeqCst) > 0 {
                    seen.acked_after_outage.fetch_add(1, Ordering::SeqCst);
                }
            }
            Ok(response) if response.status() == 503 => {
                if response.headers().get("retry-after").is_none() {
                    let what = format!("client {c} request {k}: 503 without Retry-After");
                    seen.unexpected.lock().unwrap().push(what);
                }
                seen.unavailable.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let what = format!("client {c} request {k}: {status} {text}");
                seen.unexpected.lock().unwrap().push(what);
            }
            Err(_) if server_may_die => return,
            Err(error) => {
                let what = format!("client {c} request {k}: {error}");
                seen.unexpected.lock().unwrap().push(what);
            }
        }
    }
}

/// Waits until `server` has every acknowledged event in the counter, the Metrics API, the
/// suppression list and (if given) the webhook receiver; returns what the counter counted.
async fn every_acknowledged_event_arrived(
    server: &Server,
    acked: &[String],
    receiver: Option<&Receiver>,
) -> u64 {
    let n = acked.len() as u64;
    eventually("the counter counts every acknowledged event", || async {
        counted(server, "bounce").await >= n
    })
    .await;
    eventually(
        "the Metrics API counts every acknowledged event",
        || async { metric_total(server, "count_bounce").await >= n },
    )
    .await;
    let wanted: BTreeSet<String> = acked.iter().map(|id| recipient(id)).collect();
    eventually("every acknowledged bounce is suppressed", || async {
        suppressed(server).await.is_superset(&wanted)
    })
    .await;
    if let Some(receiver) = receiver {
        let wanted: BTreeSet<String> = acked.iter().cloned().collect();
        eventually("every acknowledged event reaches the receiver", || async {
            receiver.event_ids().is_superset(&wanted)
        })
        .await;
    }
    counted(server, "bounce").await
}

#[tokio::test]
async fn amqp_broker_fault_mid_stream_answers_503_then_recovers_losing_nothing() {
    let broker = Broker::new();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &broker.env(&[]));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let clients = two_streams(&server, &stop, &seen, false);

    eventually("a stream is flowing", || async {
        seen.acked_requests() >= 20
    })
    .await;
    assert!(
        broker.close_connections() >= 1,
        "the server's connection is on the broker"
    );
    // While it reconnects: ingest answers 503, /readyz says not ready and the hose's gauge
    // says unavailable.
    let deadline = std::time::Instant::now() + PATIENCE;
    let (mut seen_not_ready, mut seen_unavailable_gauge) = (false, false);
    loop {
        seen_not_ready |= status(&server, "/readyz").await == 503;
        seen_unavailable_gauge |= metric(&server, "eventhose_hose_available").await == Some(0.0);
        let unavailable = seen.unavailable.load(Ordering::SeqCst);
        if unavailable > 0 && seen_not_ready && seen_unavailable_gauge {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no outage seen: {unavailable} requests answered 503, /readyz not ready: \
             {seen_not_ready}, gauge at 0: {seen_unavailable_gauge}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eventually("ingest answers 200 again by itself", || async {
        seen.acked_after_outage.load(Ordering::SeqCst) >= 20
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(status(&server, "/readyz").await, 200);
    assert_eq!(metric(&server, "eventhose_hose_available").await, Some(1.0));
    let unexpected = seen.unexpected.lock().unwrap().clone();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");

    let acked = seen.acked();
    let counted = every_acknowledged_event_arrived(&server, &acked, None).await;
    eprintln!(
        "broker fault: {} events acknowledged, {} sent, {} requests answered 503, counter {counted}",
        acked.len(),
        seen.sent.load(Ordering::SeqCst),
        seen.unavailable.load(Ordering::SeqCst),
    );
}

#[tokio::test]
async fn amqp_sigkill_mid_stream_then_restart_delivers_every_acknowledged_event() {
    let broker = Broker::new();
    let dir = tempfile::tempdir().unwrap();
    let env = broker.env(&webhooks_fast());
    let server = start(dir.path(), &env);
    let receiver = Receiver::start(Behaviour::Ok).await;
    create_webhook(&server, &receiver.url, &["bounce"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let clients = two_streams(&server, &stop, &seen, true);
    eventually("a stream is flowing", || async {
        seen.acked_requests() >= 30
    })
    .await;
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    let unexpected = seen.unexpected.lock().unwrap().clone();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");

    // The same configuration and data directory: the queues kept what was not acknowledged.
    let server = start(dir.path(), &env);
    let acked = seen.acked();
    let counted = every_acknowledged_event_arrived(&server, &acked, Some(&receiver)).await;
    let (body, _) = events("bounce", "after-restart", 5);
    assert_eq!(ingest(&server, ROOT_KEY, body).await.status(), 200);
    eprintln!(
        "SIGKILL: {} events acknowledged, {} sent, counter {counted}",
        acked.len(),
        seen.sent.load(Ordering::SeqCst),
    );
}

#[tokio::test]
async fn amqp_two_servers_on_one_prefix_are_competing_consumers() {
    let broker = Broker::new();
    let env = broker.env(&[]);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(dir_a.path(), &env);
    let b = start(dir_b.path(), &env);
    let consumers = format!(
        "eventhose_hose_queue_consumers{{queue=\"{}\"}}",
        broker.queue("counter")
    );
    eventually("both servers consume the counter queue", || async {
        metric(&a, &consumers).await == Some(2.0)
    })
    .await;

    // Forty requests of ten events, alternately to each server: forty messages on the broker.
    let mut all = BTreeSet::new();
    for k in 0..40 {
        let (body, ids) = events("bounce", &format!("r{k}"), 10);
        let server = if k % 2 == 0 { &a } else { &b };
        assert_eq!(ingest(server, ROOT_KEY, body).await.status(), 200);
        all.extend(ids);
    }
    let n = all.len() as u64;
    eventually("the two counters together count every event", || async {
        counted(&a, "bounce").await + counted(&b, "bounce").await >= n
    })
    .await;
    let (by_a, by_b) = (counted(&a, "bounce").await, counted(&b, "bounce").await);
    assert_eq!(by_a + by_b, n, "each event counted once, by one server");
    assert!(by_a > 0 && by_b > 0, "both took a share: {by_a} and {by_b}");

    // Each server's suppression subscriber took its share too; together they hold every one.
    let wanted: BTreeSet<String> = all.iter().map(|id| recipient(id)).collect();
    eventually(
        "the two suppression lists together hold every bounce",
        || async {
            let (sa, sb) = (suppressed(&a).await, suppressed(&b).await);
            sa.union(&sb).cloned().collect::<BTreeSet<_>>() == wanted
        },
    )
    .await;
    let (sa, sb) = (suppressed(&a).await, suppressed(&b).await);
    assert!(!sa.is_empty() && !sb.is_empty(), "both wrote suppressions");
    assert!(sa.is_disjoint(&sb), "no event went to both servers");
}
