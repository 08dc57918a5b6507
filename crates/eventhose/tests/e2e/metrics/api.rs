//! Talking to the Metrics API of a test server, and loading it with events.

use std::time::Instant;

use serde_json::Value;

use crate::harness::*;

/// Query parameters, in order.
pub type Query = Vec<(&'static str, String)>;

/// GETs `path` with query parameters as `key`; returns the status and the JSON body.
pub async fn get(
    server: &Server,
    key: &str,
    path: &str,
    params: &[(&str, String)],
) -> (u16, Value) {
    let response = client()
        .get(server.url(path))
        .header("Authorization", key)
        .query(params)
        .send()
        .await
        .expect("metrics request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("metrics body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, body)
}

/// GETs and insists on a 200; returns the body.
pub async fn ok(server: &Server, path: &str, params: &[(&str, String)]) -> Value {
    let (status, body) = get(server, ROOT_KEY, path, params).await;
    assert_eq!(status, 200, "GET {path} {params:?}: {body}");
    body
}

/// Query parameters from string pairs.
pub fn params(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// Ingests `events` in order, in requests of at most 1,000 lines, each acknowledged.
pub async fn ingest_all(server: &Server, events: &[Value]) {
    for chunk in events.chunks(1_000) {
        let response = ingest(server, ROOT_KEY, super::events::ndjson(chunk)).await;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "ingest: {body}");
    }
}

/// Polls `fetch` until it returns `expected` or [`PATIENCE`] runs out; then compares once more,
/// so a mismatch is shown in full.
pub async fn eventually_equal<T, F, Fut>(what: &str, expected: &T, mut fetch: F)
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        let actual = fetch().await;
        if actual == *expected {
            return;
        }
        if Instant::now() >= deadline {
            assert_eq!(actual, *expected, "{what} (after waiting {PATIENCE:?})");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
