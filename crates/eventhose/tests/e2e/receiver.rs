//! A webhook receiver on loopback that records what it is sent and answers as told.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

/// One POST the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the request arrived.
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("receiver got JSON")
    }

    /// Whether this is the test POST sent on create (`[{"msys":{}}]`).
    pub fn is_ping(&self) -> bool {
        self.json() == serde_json::json!([{"msys": {}}])
    }
}

/// How the receiver answers batch POSTs (the create-time test POST always gets 200).
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// 200 at once.
    Ok,
    /// This status for the first N batch POSTs, 200 after.
    FailFirst(usize, u16),
    /// 200 after sleeping this long.
    Slow(Duration),
}

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    failures_left: Arc<AtomicUsize>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let failures_left = Arc::new(AtomicUsize::new(match behaviour {
            Behaviour::FailFirst(n, _) => n,
            _ => 0,
        }));
        let (log, left) = (received.clone(), failures_left.clone());
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let (log, left) = (log.clone(), left.clone());
                async move {
                    let got = Received {
                        headers,
                        body,
                        at: std::time::Instant::now(),
                    };
                    let ping = got.is_ping();
                    if let (Behaviour::Slow(pause), false) = (behaviour, ping) {
                        tokio::time::sleep(pause).await;
                    }
                    let status = match behaviour {
                        Behaviour::FailFirst(_, code) if !ping => {
                            let failing = left
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok();
                            if failing {
                                StatusCode::from_u16(code).unwrap()
                            } else {
                                StatusCode::OK
                            }
                        }
                        _ => StatusCode::OK,
                    };
                    log.lock().unwrap().push(got);
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url,
            received,
            failures_left,
        }
    }

    /// Every batch POST so far (pings excluded).
    pub fn batches(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| !r.is_ping())
            .cloned()
            .collect()
    }

    /// The distinct event ids received, over all batches.
    pub fn event_ids(&self) -> std::collections::BTreeSet<String> {
        self.batches()
            .iter()
            .flat_map(|b| b.json().as_array().cloned().unwrap_or_default())
            .filter_map(|envelope| {
                let msys = envelope["msys"].as_object()?;
                let event = msys.values().next()?;
                event["event_id"].as_str().map(String::from)
            })
            .collect()
    }

    /// Every event envelope received, repeats included.
    pub fn events_posted(&self) -> usize {
        self.batches()
            .iter()
            .map(|batch| batch.json().as_array().map_or(0, Vec::len))
            .sum()
    }

    /// Makes every later batch POST succeed.
    pub fn recover(&self) {
        self.failures_left.store(0, Ordering::SeqCst);
    }
}
