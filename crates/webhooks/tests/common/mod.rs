//! Loopback HTTP servers and helpers shared by the integration tests.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::Router;
use eventhose_webhooks::auth::Auth;
use eventhose_webhooks::post::BatchPost;
use eventhose_webhooks::target::TargetPolicy;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Loopback targets need private addresses allowed.
pub const LAX: TargetPolicy = TargetPolicy {
    allow_private: true,
};

/// Serves `router` on 127.0.0.1 at a free port for the rest of the test.
pub async fn spawn(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// One request a test server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The requests a test server received, in order.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn push(&self, path: &str, headers: HeaderMap, body: Bytes) {
        self.0.lock().unwrap().push(Seen {
            path: path.to_owned(),
            headers,
            body,
        });
    }

    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn count_path(&self, path: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .count()
    }
}

/// The single value of header `name`, asserting there is exactly one.
pub fn one_header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    let values: Vec<_> = headers.get_all(name).iter().collect();
    assert_eq!(values.len(), 1, "header {name}: {values:?}");
    values[0].to_str().unwrap()
}

/// A client for loopback tests.
pub fn lax_client() -> reqwest::Client {
    eventhose_webhooks::target::client(LAX, Duration::from_secs(10)).unwrap()
}

/// A batch with a fixed id and body and no custom headers or secrets.
pub fn batch<'a>(url: &'a str, auth: &'a Auth) -> BatchPost<'a> {
    BatchPost {
        webhook_id: "wh-1",
        url,
        batch_id: "0f8c3a1e9b7d4c2a8e6f1b3d5a7c9e0f",
        body: Bytes::from_static(br#"[{"msys":{"message_event":{"type":"delivery"}}}]"#),
        custom_headers: &[],
        auth,
        auth_token: None,
        signing_secrets: &[],
    }
}
