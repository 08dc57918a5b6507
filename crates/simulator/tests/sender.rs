//! The sender against a small in-process ingest server.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use eventhose_simulator::sender::{send, SendConfig, SendError, INGEST_PATH};
use eventhose_simulator::{LineFormat, SimConfig, Simulator};
use flate2::read::GzDecoder;

const KEY: &str = "test-key-0123";

/// What the server answers to request number `n` (counting from 1).
type Script = Box<dyn Fn(u64) -> (StatusCode, String) + Send + Sync>;

struct Ingest {
    requests: AtomicU64,
    lines: AtomicU64,
    gzipped: AtomicU64,
    first_lines: Mutex<Vec<String>>,
    script: Script,
}

async fn ingest(
    State(state): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"message":"bad key"}]}"#.into(),
        );
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-ndjson") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, String::new());
    }
    let (status, answer) = (state.script)(n);
    if !status.is_success() {
        return (status, answer);
    }
    let text = if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        state.gzipped.fetch_add(1, Ordering::SeqCst);
        let mut text = String::new();
        if GzDecoder::new(&body[..]).read_to_string(&mut text).is_err() {
            return (StatusCode::BAD_REQUEST, "bad gzip".into());
        }
        text
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let mut count = 0;
    for line in text.lines() {
        if serde_json::from_str::<serde_json::Value>(line).is_err() {
            return (StatusCode::BAD_REQUEST, format!("bad line: {line}"));
        }
        count += 1;
    }
    if let Some(first) = text.lines().next() {
        state.first_lines.lock().unwrap().push(first.to_owned());
    }
    state.lines.fetch_add(count, Ordering::SeqCst);
    (status, answer)
}

async fn serve(script: Script) -> (String, Arc<Ingest>) {
    let state = Arc::new(Ingest {
        requests: AtomicU64::new(0),
        lines: AtomicU64::new(0),
        gzipped: AtomicU64::new(0),
        first_lines: Mutex::new(Vec::new()),
        script,
    });
    let app = Router::new()
        .route(INGEST_PATH, post(ingest))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

fn ok() -> Script {
    Box::new(|_| (StatusCode::OK, r#"{"results":{"id":"batch"}}"#.into()))
}

fn events(n: usize) -> impl Iterator<Item = eventhose_simulator::SimEvent> + Send + 'static {
    Simulator::new(SimConfig::new(5, 1_717_200_000, 1_000.0))
        .unwrap()
        .take(n)
}

fn config(target: &str) -> SendConfig {
    let mut c = SendConfig::new(target, KEY);
    c.retry_backoff = Duration::from_millis(5);
    c
}

#[tokio::test]
async fn every_event_arrives_and_the_report_matches() {
    let (target, server) = serve(ok()).await;
    let mut c = config(&target);
    c.batch_size = 300;
    c.concurrency = 3;
    let report = send(c, events(2_500)).await.unwrap();
    assert_eq!(server.lines.load(Ordering::SeqCst), 2_500);
    assert_eq!(server.requests.load(Ordering::SeqCst), 9);
    assert_eq!(server.gzipped.load(Ordering::SeqCst), 9);
    assert_eq!(report.events_sent, 2_500);
    assert_eq!(report.events_accepted, 2_500);
    assert_eq!(report.events_rejected, 0);
    assert_eq!(report.batches, 9);
    assert_eq!(report.requests, 9);
    assert_eq!(report.retries, 0);
    assert_eq!(report.status_counts.get(&200), Some(&9));
    assert!(report.bytes_sent > 0 && report.bytes_sent < 2_500 * 1_000);
    assert!(report.latency_p50 <= report.latency_p99 && report.latency_p99 <= report.latency_max);
    assert!(report.latency_max > Duration::ZERO);
    assert!(report.events_per_second > 0.0);
}

#[tokio::test]
async fn throttled_batches_are_retried() {
    let (target, server) = serve(Box::new(|n| match n {
        1 | 2 => (StatusCode::TOO_MANY_REQUESTS, "slow down".into()),
        3 => (StatusCode::SERVICE_UNAVAILABLE, String::new()),
        _ => (StatusCode::OK, "{}".into()),
    }))
    .await;
    let mut c = config(&target);
    c.batch_size = 500;
    c.concurrency = 1;
    let report = send(c, events(2_000)).await.unwrap();
    assert_eq!(server.lines.load(Ordering::SeqCst), 2_000);
    assert_eq!(report.requests, 7);
    assert_eq!(report.retries, 3);
    assert_eq!(report.status_counts.get(&429), Some(&2));
    assert_eq!(report.status_counts.get(&503), Some(&1));
    assert_eq!(report.status_counts.get(&200), Some(&4));
    assert_eq!(report.events_accepted, 2_000);
}

#[tokio::test]
async fn exhausted_retries_count_as_rejected_and_the_run_goes_on() {
    let (target, server) = serve(Box::new(|n| {
        if n <= 3 {
            (StatusCode::TOO_MANY_REQUESTS, String::new())
        } else {
            (StatusCode::OK, String::new())
        }
    }))
    .await;
    let mut c = config(&target);
    c.batch_size = 100;
    c.concurrency = 1;
    c.max_attempts = 3;
    let report = send(c, events(300)).await.unwrap();
    assert_eq!(report.events_rejected, 100);
    assert_eq!(report.events_accepted, 200);
    assert_eq!(server.lines.load(Ordering::SeqCst), 200);
    assert_eq!(report.requests, 5);
}

#[tokio::test]
async fn a_client_error_stops_an_endless_run_with_the_server_answer() {
    let (target, server) = serve(Box::new(|n| {
        if n >= 3 {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"errors":[{"message":"bad batch"}]}"#.into(),
            )
        } else {
            (StatusCode::OK, String::new())
        }
    }))
    .await;
    let mut c = config(&target);
    c.batch_size = 200;
    c.concurrency = 2;
    // An endless stream: only the refusal can end this run.
    let endless = Simulator::new(SimConfig::new(8, 1_717_200_000, 1_000.0)).unwrap();
    let err = send(c, endless).await.unwrap_err();
    match &err {
        SendError::Rejected {
            status,
            body,
            report,
        } => {
            assert_eq!(*status, 422);
            assert!(body.contains("bad batch"), "{body}");
            assert_eq!(report.events_accepted, 400);
            assert!(report.status_counts.get(&422).is_some_and(|&n| n >= 1));
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.report().is_some());
    assert!(server.requests.load(Ordering::SeqCst) < 10);
}

#[tokio::test]
async fn a_wrong_key_is_reported() {
    let (target, _server) = serve(ok()).await;
    let mut c = SendConfig::new(target, "wrong");
    c.batch_size = 10;
    let err = send(c, events(50)).await.unwrap_err();
    assert!(
        matches!(err, SendError::Rejected { status: 401, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("bad key"));
}

#[tokio::test]
async fn plain_msys_framed_lines_when_asked() {
    let (target, server) = serve(ok()).await;
    let mut c = config(&target);
    c.gzip = false;
    c.batch_size = 250;
    c.line_format = LineFormat::Msys;
    let report = send(c, events(1_000)).await.unwrap();
    assert_eq!(report.events_accepted, 1_000);
    assert_eq!(server.gzipped.load(Ordering::SeqCst), 0);
    assert_eq!(server.lines.load(Ordering::SeqCst), 1_000);
    for line in server.first_lines.lock().unwrap().iter() {
        assert!(line.starts_with(r#"{"msys":{""#), "{line}");
    }
}

#[tokio::test]
async fn server_counts_are_used_when_present() {
    let (target, _server) = serve(Box::new(|_| {
        (
            StatusCode::OK,
            r#"{"results":{"accepted":90,"rejected":10}}"#.into(),
        )
    }))
    .await;
    let mut c = config(&target);
    c.batch_size = 100;
    let report = send(c, events(400)).await.unwrap();
    assert_eq!(report.events_accepted, 360);
    assert_eq!(report.events_rejected, 40);
}

#[tokio::test]
async fn pacing_holds_the_rate_down() {
    let (target, server) = serve(ok()).await;
    let mut c = config(&target);
    c.batch_size = 500;
    c.rate = Some(20_000.0);
    let started = Instant::now();
    let report = send(c, events(5_000)).await.unwrap();
    // The tenth batch may not leave before 4,500 events' worth of time at 20,000/s.
    assert!(
        started.elapsed() >= Duration::from_millis(225),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.lines.load(Ordering::SeqCst), 5_000);
    assert_eq!(report.events_accepted, 5_000);
}

#[tokio::test]
async fn an_unreachable_server_stops_the_run() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut c = config(&target);
    c.max_attempts = 2;
    c.batch_size = 100;
    let err = send(c, events(1_000)).await.unwrap_err();
    match err {
        SendError::Unreachable { report, .. } => {
            assert!(report.transport_errors >= 2);
            assert_eq!(report.events_accepted, 0);
        }
        other => panic!("unexpected error {other}"),
    }
}

#[tokio::test]
async fn invalid_settings_are_refused_before_sending() {
    let mut c = SendConfig::new("http://127.0.0.1:1", KEY);
    c.concurrency = 0;
    assert!(matches!(
        send(c, events(1)).await,
        Err(SendError::InvalidConfig(_))
    ));
}
