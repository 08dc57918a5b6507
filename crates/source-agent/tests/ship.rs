//! The shipper against a loopback receiver answering scripted statuses (see `common`).

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Answer, Receiver};
use eventhose_source_agent::ship::{Batch, ShipConfig, ShipError, Shipper};

fn batch(n: u64) -> Batch {
    let mut batch = Batch::default();
    for i in 1..=n {
        batch.push(
            format!(r#"{{"type":"delivery","event_id":"{i}"}}"#).into_bytes(),
            i,
        );
    }
    batch
}

fn shipper(receiver: &Receiver) -> Shipper {
    let mut config = ShipConfig::new(receiver.target(), "the-key");
    config.min_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(50);
    Shipper::new(config).unwrap()
}

fn ids(received: &common::Received) -> Vec<&str> {
    received
        .events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_with_the_same_key() {
    let receiver = Receiver::start(vec![Answer::status(503).retry_after("1")], None).await;
    let mut shipper = shipper(&receiver);
    let mut events = batch(3);
    let started = Instant::now();
    shipper.send(&mut events).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );
    assert!(events.is_empty());
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].idempotency_key, received[1].idempotency_key);
    assert!(received[0].idempotency_key.is_some());
    assert_eq!(received[0].authorization.as_deref(), Some("the-key"));
    assert_eq!(ids(&received[1]), ["1", "2", "3"]);
    let stats = shipper.stats();
    assert_eq!((stats.accepted, stats.retries, stats.requests), (3, 1, 2));
}

#[tokio::test]
async fn server_errors_and_429_back_off_and_retry() {
    let receiver = Receiver::start(
        vec![
            Answer::status(500),
            Answer::status(429),
            Answer::status(502),
        ],
        None,
    )
    .await;
    let mut shipper = shipper(&receiver);
    let mut events = batch(1);
    shipper.send(&mut events).await.unwrap();
    assert_eq!(receiver.received().len(), 4);
    assert_eq!(shipper.stats().retries, 3);
}

#[tokio::test]
async fn a_400_naming_line_2_drops_that_event_and_resends_the_rest() {
    let refusal = r#"{"errors":[{"message":"invalid event","description":"line 2: timestamp is older than the retention","code":"1300","line":2}]}"#;
    let receiver = Receiver::start(vec![Answer::status(400).body(refusal)], None).await;
    let mut shipper = shipper(&receiver);
    let mut events = batch(3);
    shipper.send(&mut events).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(ids(&received[1]), ["1", "3"]);
    assert_ne!(
        received[0].idempotency_key, received[1].idempotency_key,
        "another request, another key"
    );
    let stats = shipper.stats();
    assert_eq!((stats.accepted, stats.dropped_by_server), (2, 1));
}

#[tokio::test]
async fn a_400_naming_no_line_drops_the_request() {
    let receiver = Receiver::start(vec![Answer::status(400)], None).await;
    let mut shipper = shipper(&receiver);
    let mut events = batch(2);
    shipper.send(&mut events).await.unwrap();
    assert!(events.is_empty());
    assert_eq!(shipper.stats().dropped_by_server, 2);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_413_halves_the_requests() {
    let receiver = Receiver::start(vec![Answer::status(413)], None).await;
    let mut shipper = shipper(&receiver);
    let mut events = batch(4);
    shipper.send(&mut events).await.unwrap();
    let received = receiver.received();
    let sizes: Vec<usize> = received.iter().map(|r| r.events.len()).collect();
    assert_eq!(sizes, [4, 2, 2]);
    assert_eq!(shipper.stats().accepted, 4);
}

#[tokio::test]
async fn a_401_is_fatal_and_keeps_the_events() {
    let receiver = Receiver::start(vec![Answer::status(401)], None).await;
    let mut shipper = shipper(&receiver);
    let mut events = batch(2);
    let error = shipper.send(&mut events).await.unwrap_err();
    assert!(
        matches!(error, ShipError::Refused { status: 401, .. }),
        "{error:?}"
    );
    assert_eq!(events.len(), 2, "nothing acknowledged");
    assert!(error.to_string().contains("401"), "{error}");
}

#[tokio::test]
async fn connection_errors_are_retried_until_the_server_is_up() {
    // A free port with nothing listening yet.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = ShipConfig::new(format!("http://{addr}"), "k");
    config.min_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(20);
    let mut shipper = Shipper::new(config).unwrap();
    let sending = tokio::spawn(async move {
        let mut events = batch(2);
        shipper.send(&mut events).await.unwrap();
        shipper.stats()
    });
    // On this single-threaded runtime the first attempt runs (and fails) during the sleep.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let receiver = Receiver::start_at(addr, vec![], None).await;
    let stats = tokio::time::timeout(Duration::from_secs(10), sending)
        .await
        .unwrap()
        .unwrap();
    assert!(stats.retries >= 1, "{stats:?}");
    assert_eq!(stats.accepted, 2);
    assert_eq!(receiver.received().len(), 1);
}
