//! Posts one batch, retrying throttling answers and transport errors a bounded number of times.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::batch::{gzip, Batch};
use super::config::SendConfig;

/// One HTTP try.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt {
    /// HTTP status, or `None` when no answer came.
    pub(crate) status: Option<u16>,
    pub(crate) latency: Duration,
}

/// How a batch ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The server took the batch (it may still report some events as rejected).
    Accepted { accepted: u64, rejected: u64 },
    /// Retries ran out on 429/503, or the server failed with a 5xx or an unexpected status.
    Failed,
    /// A 4xx other than 429: the run must stop.
    Refused { status: u16, body: String },
    /// No answer after every try: the run must stop.
    Unreachable(reqwest::Error),
    /// The body could not be compressed: the run must stop.
    Compression(std::io::Error),
}

/// Everything that happened to one batch.
#[derive(Debug)]
pub(crate) struct BatchResult {
    pub(crate) events: u64,
    pub(crate) attempts: Vec<Attempt>,
    /// Body bytes of one try.
    pub(crate) body_bytes: u64,
    pub(crate) outcome: Outcome,
}

/// Reads accepted/rejected counts from a 2xx answer. Understands `accepted`/`rejected`
/// (also under `results`) and SparkPost's `number_succeeded`/`number_failed`; without
/// counts the whole batch counts as accepted.
pub(crate) fn accepted_counts(body: &str, events: u64) -> (u64, u64) {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return (events, 0);
    };
    let scope = value
        .get("results")
        .filter(|r| r.is_object())
        .unwrap_or(&value);
    let find = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| scope.get(*k).and_then(Value::as_u64))
    };
    let accepted = find(&["accepted", "events_accepted", "number_succeeded"]);
    let rejected = find(&["rejected", "events_rejected", "number_failed"]);
    match (accepted, rejected) {
        (Some(a), Some(r)) => (a.min(events), r.min(events)),
        (Some(a), None) => (a.min(events), events.saturating_sub(a)),
        (None, Some(r)) => (events.saturating_sub(r), r.min(events)),
        (None, None) => (events, 0),
    }
}

/// The pause an answer's `Retry-After` asks for, when it gives whole seconds.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// Posts `batch` to the ingest endpoint.
pub(crate) async fn post_batch(
    client: &Client,
    config: &SendConfig,
    url: &str,
    batch: Batch,
) -> BatchResult {
    let events = batch.events;
    let body: Bytes = if config.gzip {
        let raw = batch.body;
        match tokio::task::spawn_blocking(move || gzip(&raw)).await {
            Ok(Ok(packed)) => Bytes::from(packed),
            Ok(Err(e)) => return failed_before_sending(events, Outcome::Compression(e)),
            Err(join) => {
                let e = std::io::Error::other(join.to_string());
                return failed_before_sending(events, Outcome::Compression(e));
            }
        }
    } else {
        batch.body
    };
    let mut attempts = Vec::with_capacity(1);
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let mut request = client
            .post(url)
            .header(AUTHORIZATION, config.key.as_str())
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(body.clone());
        if config.gzip {
            request = request.header(CONTENT_ENCODING, "gzip");
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let hint = retry_after(response.headers());
                // A body that cannot be read is reported as empty; the status decides.
                let text = response.text().await.unwrap_or_default();
                Ok((status, hint, text))
            }
            Err(e) => Err(e),
        };
        let latency = started.elapsed();
        let retry_hint = match answer {
            Err(e) => {
                attempts.push(Attempt {
                    status: None,
                    latency,
                });
                if attempt >= config.max_attempts {
                    break Outcome::Unreachable(e);
                }
                None
            }
            Ok((status, hint, text)) => {
                attempts.push(Attempt {
                    status: Some(status.as_u16()),
                    latency,
                });
                if status.is_success() {
                    let (accepted, rejected) = accepted_counts(&text, events);
                    break Outcome::Accepted { accepted, rejected };
                }
                let throttled = status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE;
                if throttled {
                    if attempt >= config.max_attempts {
                        break Outcome::Failed;
                    }
                    hint
                } else if status.is_client_error() {
                    break Outcome::Refused {
                        status: status.as_u16(),
                        body: text,
                    };
                } else {
                    break Outcome::Failed;
                }
            }
        };
        tokio::time::sleep(config.backoff(attempt, retry_hint)).await;
    };
    BatchResult {
        events,
        attempts,
        body_bytes: body.len() as u64,
        outcome,
    }
}

fn failed_before_sending(events: u64, outcome: Outcome) -> BatchResult {
    BatchResult {
        events,
        attempts: Vec::new(),
        body_bytes: 0,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_default_to_the_whole_batch() {
        assert_eq!(accepted_counts("", 10), (10, 0));
        assert_eq!(accepted_counts(r#"{"results":{"id":"abc"}}"#, 10), (10, 0));
    }

    #[test]
    fn counts_are_read_from_known_keys() {
        assert_eq!(
            accepted_counts(r#"{"results":{"accepted":7,"rejected":3}}"#, 10),
            (7, 3)
        );
        assert_eq!(accepted_counts(r#"{"accepted":8}"#, 10), (8, 2));
        assert_eq!(
            accepted_counts(
                r#"{"results":{"number_succeeded":9,"number_failed":1}}"#,
                10
            ),
            (9, 1)
        );
        assert_eq!(accepted_counts(r#"{"rejected":4}"#, 10), (6, 4));
        assert_eq!(accepted_counts(r#"{"accepted":50}"#, 10), (10, 0));
    }
}
