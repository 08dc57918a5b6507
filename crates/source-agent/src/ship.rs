//! Sending events to eventhose's ingest API, and what each answer means.
//!
//! A [`Batch`] is a list of events already serialised as NDJSON lines, bounded by count and
//! bytes below the server's per-request limits. [`Shipper::send`] POSTs it, gzipped, to
//! `{target}/api/v1/ingest/events` with the key in `Authorization` and an `Idempotency-Key`
//! that is a hash of the body: a retry of the same request carries the same key (and so does
//! the same request sent again after a restart), a changed body gets another.
//!
//! | answer | what happens |
//! |---|---|
//! | 2xx | every event of the request is acknowledged |
//! | 400 naming lines | the events on those lines are dropped (logged with the server's words, counted), the rest resent |
//! | 400 naming none | the request is dropped whole (logged, counted): resending it cannot help |
//! | 413 | the request is split in half and each half sent (a single event refused is dropped) |
//! | 401, 403, 404, 405, 415, other 4xx | fatal: [`ShipError::Refused`], the agent stops |
//! | 408, 409, 429, 5xx, connection errors | retried after a capped exponential backoff with jitter, or after `Retry-After` when the server sends one |
//!
//! Nothing is acknowledged until the server answers 2xx, and `send` returns only once the
//! whole batch is acknowledged or dropped; dropping its future (shutdown) leaves the events
//! not yet acknowledged in the batch.

use std::io::Write;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use serde::Deserialize;

/// Bounds on requests and their retries.
#[derive(Clone, Debug)]
pub struct ShipConfig {
    /// The eventhose server, e.g. `http://eventhose:8080`.
    pub target: String,
    /// An API key with the `events/ingest` grant.
    pub key: String,
    /// Most events in one request (the server's default limit is 10,000).
    pub max_events: usize,
    /// Most NDJSON bytes (before gzip) in one request (the server accepts 10 MiB compressed,
    /// 64 MiB decompressed by default).
    pub max_bytes: usize,
    /// How long an event may wait for others to fill its request.
    pub linger: Duration,
    /// How long one request may take.
    pub request_timeout: Duration,
    /// The first retry's delay; each next one doubles, up to `max_backoff`.
    pub min_backoff: Duration,
    /// The longest delay between retries (a `Retry-After` may ask for longer, up to
    /// `max_retry_after`).
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl ShipConfig {
    /// The defaults for `target` and `key`.
    pub fn new(target: impl Into<String>, key: impl Into<String>) -> ShipConfig {
        ShipConfig {
            target: target.into(),
            key: key.into(),
            max_events: 5_000,
            max_bytes: 4 * 1024 * 1024,
            linger: Duration::from_secs(1),
            request_timeout: Duration::from_secs(60),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
        }
    }
}

/// Why shipping stopped.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The server refused the requests in a way retrying cannot fix (a wrong key, a wrong
    /// target).
    #[error("the server refused the events with {status}: {body}")]
    Refused {
        /// The status.
        status: u16,
        /// The answer's body (SparkPost's error shape), as sent.
        body: String,
    },
}

/// Events waiting to be sent: NDJSON lines, and for each a tag the caller chooses (the
/// runner's: the oldest input line the event depends on).
#[derive(Debug, Default)]
pub struct Batch {
    lines: Vec<Vec<u8>>,
    tags: Vec<u64>,
    bytes: usize,
}

impl Batch {
    /// Adds one event line (without its newline).
    pub fn push(&mut self, line: Vec<u8>, tag: u64) {
        self.bytes += line.len() + 1;
        self.lines.push(line);
        self.tags.push(tag);
    }

    /// How many events are waiting.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// No events waiting.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The NDJSON bytes waiting.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The smallest tag of the events waiting.
    pub fn min_tag(&self) -> Option<u64> {
        self.tags.iter().copied().min()
    }

    /// Removes the first `n` events.
    fn drain_front(&mut self, n: usize) {
        let removed: usize = self.lines.drain(..n).map(|line| line.len() + 1).sum();
        self.tags.drain(..n);
        self.bytes -= removed;
    }

    /// Removes the events at `indices` among the first `within` (0-based, any order).
    fn remove(&mut self, indices: &mut [usize], within: usize) -> usize {
        indices.sort_unstable();
        let mut removed = 0;
        for &index in indices.iter().rev() {
            if index < within && index < self.lines.len() {
                self.bytes -= self.lines.remove(index).len() + 1;
                self.tags.remove(index);
                removed += 1;
            }
        }
        removed
    }
}

/// What [`Shipper`] has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShipStats {
    /// Requests sent (every attempt).
    pub requests: u64,
    /// Events the server accepted.
    pub accepted: u64,
    /// Events dropped because the server refused them (a 400 naming their line, a 400
    /// naming none, a lone event too large).
    pub dropped_by_server: u64,
    /// Attempts that were retried (connection errors, 408, 409, 429, 5xx).
    pub retries: u64,
}

/// The ingest client.
#[derive(Debug)]
pub struct Shipper {
    client: reqwest::Client,
    url: String,
    config: ShipConfig,
    /// The most events sent in one request: `max_events`, halved on each 413.
    limit: usize,
    stats: ShipStats,
}

/// SparkPost's error answer.
#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Debug, Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    message: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    line: Option<usize>,
}

enum Attempt {
    Accepted,
    Retry(Option<Duration>),
    BadLines(Vec<(usize, String)>),
    BadRequest(String),
    TooLarge,
    Fatal(u16, String),
}

impl Shipper {
    /// A client for `config`.
    pub fn new(config: ShipConfig) -> Result<Shipper, ShipError> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(ShipError::Client)?;
        let url = format!(
            "{}/api/v1/ingest/events",
            config.target.trim_end_matches('/')
        );
        Ok(Shipper {
            client,
            url,
            limit: config.max_events.max(1),
            config,
            stats: ShipStats::default(),
        })
    }

    /// The counters so far.
    pub fn stats(&self) -> ShipStats {
        self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &ShipConfig {
        &self.config
    }

    /// Sends every event of `batch`, retrying until each is acknowledged or dropped, and
    /// empties it. Cancel-safe: events leave the batch only once acknowledged or dropped.
    pub async fn send(&mut self, batch: &mut Batch) -> Result<(), ShipError> {
        while !batch.is_empty() {
            self.send_some(batch).await?;
        }
        Ok(())
    }

    /// Sends requests (retrying as needed) until some events at the front of `batch` are
    /// acknowledged or dropped: one request's worth, so the caller can save its progress
    /// between requests. Cancel-safe as [`send`](Self::send) is.
    pub async fn send_some(&mut self, batch: &mut Batch) -> Result<(), ShipError> {
        let mut failures: u32 = 0;
        while !batch.is_empty() {
            let count = batch.len().min(self.limit);
            let body = ndjson(&batch.lines[..count]);
            self.stats.requests += 1;
            match self.attempt(&body).await {
                Attempt::Accepted => {
                    self.stats.accepted += count as u64;
                    batch.drain_front(count);
                    return Ok(());
                }
                Attempt::BadLines(lines) => {
                    for (line, reason) in &lines {
                        tracing::warn!(line, %reason, "the server refused an event; dropped");
                    }
                    let mut indices: Vec<usize> = lines
                        .iter()
                        .map(|(line, _)| line.saturating_sub(1))
                        .collect();
                    let dropped = batch.remove(&mut indices, count);
                    self.stats.dropped_by_server += dropped as u64;
                    if dropped > 0 {
                        return Ok(());
                    }
                    // Lines beyond the request: nothing to drop, so the request as a whole.
                    tracing::error!(
                        events = count,
                        "the server named lines the request does not have; its events are dropped"
                    );
                    self.stats.dropped_by_server += count as u64;
                    batch.drain_front(count);
                    return Ok(());
                }
                Attempt::BadRequest(body) => {
                    tracing::error!(events = count, %body, "the server refused the request and named no line; its events are dropped");
                    self.stats.dropped_by_server += count as u64;
                    batch.drain_front(count);
                    return Ok(());
                }
                Attempt::TooLarge if count > 1 => {
                    self.limit = (count / 2).max(1);
                    tracing::warn!(
                        limit = self.limit,
                        "request too large for the server; sending fewer events per request"
                    );
                }
                Attempt::TooLarge => {
                    tracing::error!("the server refused a single event as too large; dropped");
                    self.stats.dropped_by_server += 1;
                    batch.drain_front(1);
                    return Ok(());
                }
                Attempt::Fatal(status, body) => return Err(ShipError::Refused { status, body }),
                Attempt::Retry(retry_after) => {
                    self.stats.retries += 1;
                    let delay = match retry_after {
                        Some(asked) => asked.min(self.config.max_retry_after),
                        None => backoff(&self.config, failures),
                    };
                    failures = failures.saturating_add(1);
                    tokio::time::sleep(delay).await;
                }
            }
        }
        Ok(())
    }

    async fn attempt(&self, body: &[u8]) -> Attempt {
        let idempotency_key = format!("src-{:032x}", xxhash_rust::xxh3::xxh3_128(body));
        let Ok(compressed) = gzip(body) else {
            return Attempt::Retry(None);
        };
        let sent = self
            .client
            .post(&self.url)
            .header(AUTHORIZATION, &self.config.key)
            .header(CONTENT_TYPE, "application/x-ndjson")
            .header(CONTENT_ENCODING, "gzip")
            .header("Idempotency-Key", idempotency_key)
            .body(compressed)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(%error, "ingest request failed; retrying");
                return Attempt::Retry(None);
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        match status {
            status if status.is_success() => Attempt::Accepted,
            StatusCode::BAD_REQUEST => {
                let lines = named_lines(&text);
                if lines.is_empty() {
                    Attempt::BadRequest(text)
                } else {
                    Attempt::BadLines(lines)
                }
            }
            StatusCode::PAYLOAD_TOO_LARGE => Attempt::TooLarge,
            StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS => {
                tracing::warn!(%status, "ingest answered; retrying");
                Attempt::Retry(retry_after)
            }
            status if status.is_server_error() => {
                tracing::warn!(%status, "ingest answered; retrying");
                Attempt::Retry(retry_after)
            }
            status => Attempt::Fatal(status.as_u16(), text),
        }
    }
}

/// The lines (1-based) a 400 names, each with what the server said about it.
fn named_lines(body: &str) -> Vec<(usize, String)> {
    let Ok(answer) = serde_json::from_str::<ErrorAnswer>(body) else {
        return Vec::new();
    };
    answer
        .errors
        .into_iter()
        .filter_map(|entry| {
            let line = entry.line?;
            let reason = match entry.description {
                Some(description) => format!("{}: {description}", entry.message),
                None => entry.message,
            };
            Some((line, reason))
        })
        .collect()
}

fn ndjson(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
    for line in lines {
        body.extend_from_slice(line);
        body.push(b'\n');
    }
    body
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The delay before retry number `failures + 1`: `min_backoff` doubled per failure, capped
/// at `max_backoff`, then a random part of it taken away (between none and half), so that
/// agents failing together do not retry together.
fn backoff(config: &ShipConfig, failures: u32) -> Duration {
    let doubled = config
        .min_backoff
        .saturating_mul(1_u32 << failures.min(20))
        .min(config.max_backoff);
    let keep = rand::random_range(0.5..=1.0);
    doubled.mul_f64(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let mut config = ShipConfig::new("http://x", "k");
        config.min_backoff = Duration::from_millis(100);
        config.max_backoff = Duration::from_secs(1);
        for failures in 0..30 {
            let delay = backoff(&config, failures);
            let full = Duration::from_millis(100 << failures.min(4)).min(config.max_backoff);
            assert!(delay <= full && delay >= full / 2, "{failures}: {delay:?}");
        }
    }

    #[test]
    fn reads_the_lines_a_400_names() {
        let body = r#"{"errors":[{"message":"invalid event","description":"line 2: timestamp too old","code":"1300","line":2},{"message":"more invalid events","description":"3 more invalid lines not listed","code":"1300"}]}"#;
        assert_eq!(
            named_lines(body),
            [(2, "invalid event: line 2: timestamp too old".to_owned())]
        );
        assert!(named_lines("not json").is_empty());
    }

    #[test]
    fn retry_after_in_seconds_or_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    }

    #[test]
    fn batches_remove_named_events() {
        let mut batch = Batch::default();
        for (i, line) in ["a", "bb", "c"].iter().enumerate() {
            batch.push(line.as_bytes().to_vec(), i as u64 + 10);
        }
        assert_eq!(
            (batch.len(), batch.bytes(), batch.min_tag()),
            (3, 7, Some(10))
        );
        assert_eq!(batch.remove(&mut [1, 7], 3), 1);
        assert_eq!(ndjson(&batch.lines), b"a\nc\n");
        assert_eq!(batch.tags, [10, 12]);
        batch.drain_front(1);
        assert_eq!((batch.len(), batch.bytes()), (1, 2));
    }
}
