//! A loopback stand-in for eventhose's ingest endpoint that answers scripted statuses and
//! records what it received. The real server is exercised by the binary's end-to-end test
//! that the `eventhose source` command's wiring adds; here only the HTTP contract matters.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{Map, Value};

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<&'static str>,
    pub body: String,
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: r#"{"errors":[{"message":"scripted"}]}"#.to_owned(),
        }
    }

    pub fn retry_after(mut self, value: &'static str) -> Answer {
        self.retry_after = Some(value);
        self
    }

    pub fn body(mut self, body: &str) -> Answer {
        self.body = body.to_owned();
        self
    }
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Received {
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub events: Vec<Map<String, Value>>,
    pub status: u16,
}

#[derive(Default)]
pub struct Script {
    /// Answers given in order; after them, `then`.
    pub answers: VecDeque<Answer>,
    /// The answer once the script is used up (200 when `None`).
    pub then: Option<Answer>,
    pub received: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub script: Arc<Mutex<Script>>,
}

impl Receiver {
    pub async fn start(answers: Vec<Answer>, then: Option<Answer>) -> Receiver {
        Receiver::start_at("127.0.0.1:0".parse().unwrap(), answers, then).await
    }

    pub async fn start_at(
        addr: SocketAddr,
        answers: Vec<Answer>,
        then: Option<Answer>,
    ) -> Receiver {
        let script = Arc::new(Mutex::new(Script {
            answers: answers.into(),
            then,
            received: Vec::new(),
        }));
        let app = Router::new()
            .route("/api/v1/ingest/events", post(ingest))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, script }
    }

    pub fn target(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    pub fn set_then(&self, then: Option<Answer>) {
        self.script.lock().unwrap().then = then;
    }

    /// Every event answered 200.
    pub fn accepted(&self) -> Vec<Map<String, Value>> {
        self.received()
            .into_iter()
            .filter(|r| r.status == 200)
            .flat_map(|r| r.events)
            .collect()
    }

    /// Waits (bounded: 30 s, for loaded machines) until `condition` holds for what was
    /// received.
    pub async fn wait_for(&self, what: &str, condition: impl Fn(&[Received]) -> bool) {
        for _ in 0..3000 {
            if condition(&self.received()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}: {:?}", self.received().len());
    }
}

async fn ingest(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut text = Vec::new();
    if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut text)
            .unwrap();
    } else {
        text = body.to_vec();
    }
    let events: Vec<Map<String, Value>> = text
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut script = script.lock().unwrap();
    let answer = script
        .answers
        .pop_front()
        .or_else(|| script.then.clone())
        .unwrap_or_else(|| {
            Answer::status(200).body(&format!(
                r#"{{"results":{{"id":"b","accepted":{}}}}}"#,
                events.len()
            ))
        });
    script.received.push(Received {
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
        events,
        status: answer.status,
    });
    let mut response = (
        StatusCode::from_u16(answer.status).unwrap(),
        answer.body.clone(),
    )
        .into_response();
    if let Some(value) = answer.retry_after {
        response
            .headers_mut()
            .insert("retry-after", value.parse().unwrap());
    }
    response
}

/// A Postfix log line dated `minutes_ago` minutes before now, in RFC 3339 file format.
pub fn line_at(minutes_ago: i64, seconds: i64, rest: &str) -> String {
    let time = chrono::Utc::now() - chrono::TimeDelta::minutes(minutes_ago)
        + chrono::TimeDelta::seconds(seconds);
    format!("{} mx {rest}\n", time.format("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
}

/// A log of `count` messages, each spanning the next one's first lines (so that queue
/// entries are open across lines of others): `client=`, `from=`, then the previous message's
/// delivery and `removed`.
pub fn interleaved_log(count: usize) -> String {
    let id = |k: usize| format!("{:010X}", 0xA0000 + k);
    let mut log = String::new();
    for k in 0..=count {
        let s = i64::try_from(k).unwrap() * 2;
        if k < count {
            log += &line_at(
                60,
                s,
                &format!("postfix/smtpd[1]: {}: client=c[192.0.2.1]", id(k)),
            );
            log += &line_at(
                60,
                s,
                &format!(
                    "postfix/qmgr[2]: {}: from=<s@example.com>, size=10, nrcpt=1 (queue active)",
                    id(k)
                ),
            );
        }
        if k > 0 {
            let p = id(k - 1);
            log += &line_at(60, s + 1, &format!("postfix/smtp[3]: {p}: to=<r{k}@example.net>, relay=mx[198.51.100.7]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)"));
            log += &line_at(60, s + 1, &format!("postfix/qmgr[2]: {p}: removed"));
        }
    }
    log
}

pub fn event_ids(events: &[Map<String, Value>]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}
