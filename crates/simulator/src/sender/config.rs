//! Settings of a send run.

use std::time::Duration;

use crate::event::LineFormat;

use super::error::SendError;

/// Path of the ingest endpoint, appended to [`SendConfig::target`].
pub const INGEST_PATH: &str = "/api/v1/ingest/events";

/// How to post events.
#[derive(Debug, Clone, PartialEq)]
pub struct SendConfig {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    pub target: String,
    /// API key, sent verbatim in the `Authorization` header.
    pub key: String,
    /// Events per request.
    pub batch_size: usize,
    /// Whether request bodies are gzip-compressed (`Content-Encoding: gzip`).
    pub gzip: bool,
    /// Requests kept in flight at once.
    pub concurrency: usize,
    /// Real-time pacing in events per second; `None` sends as fast as possible.
    pub rate: Option<f64>,
    /// Tries per batch (first try included) when the server answers 429/503 or cannot be reached.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further retry, capped at [`MAX_BACKOFF`].
    pub retry_backoff: Duration,
    /// Limit on one request, connection and response included.
    pub request_timeout: Duration,
    /// How events are framed on their lines.
    pub line_format: LineFormat,
}

/// Longest wait between two tries of a batch, whatever the server asks for.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

impl SendConfig {
    /// Defaults: 1,000 events per request, gzip on, 4 requests in flight, no pacing,
    /// 5 tries with a 250 ms initial backoff, 30 s request timeout, bare-object lines.
    pub fn new(target: impl Into<String>, key: impl Into<String>) -> Self {
        SendConfig {
            target: target.into(),
            key: key.into(),
            batch_size: 1_000,
            gzip: true,
            concurrency: 4,
            rate: None,
            max_attempts: 5,
            retry_backoff: Duration::from_millis(250),
            request_timeout: Duration::from_secs(30),
            line_format: LineFormat::Bare,
        }
    }

    /// The full ingest URL.
    pub fn endpoint(&self) -> String {
        format!("{}{INGEST_PATH}", self.target.trim_end_matches('/'))
    }

    /// Wait before try number `attempt + 1` (attempts count from 1).
    pub(crate) fn backoff(&self, attempt: u32, server_hint: Option<Duration>) -> Duration {
        let doubling = self
            .retry_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        server_hint.unwrap_or(doubling).min(MAX_BACKOFF)
    }

    /// Checks the settings before a run.
    pub(crate) fn validate(&self) -> Result<(), SendError> {
        let problem =
            if !(self.target.starts_with("http://") || self.target.starts_with("https://")) {
                Some(format!(
                    "target must be an http(s) URL, got {:?}",
                    self.target
                ))
            } else if self.batch_size == 0 {
                Some("batch_size must be at least 1".to_owned())
            } else if self.concurrency == 0 {
                Some("concurrency must be at least 1".to_owned())
            } else if self.max_attempts == 0 {
                Some("max_attempts must be at least 1".to_owned())
            } else if self.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
                Some("rate must be a positive number of events per second".to_owned())
            } else {
                None
            };
        problem.map_or(Ok(()), |p| Err(SendError::InvalidConfig(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_joins_without_double_slash() {
        let c = SendConfig::new("http://127.0.0.1:8080/", "k");
        assert_eq!(c.endpoint(), "http://127.0.0.1:8080/api/v1/ingest/events");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = SendConfig::new("http://x", "k");
        assert_eq!(c.backoff(1, None), Duration::from_millis(250));
        assert_eq!(c.backoff(3, None), Duration::from_millis(1_000));
        assert_eq!(c.backoff(30, None), MAX_BACKOFF);
        assert_eq!(
            c.backoff(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(c.backoff(1, Some(Duration::from_secs(60))), MAX_BACKOFF);
    }

    #[test]
    fn validation_catches_bad_settings() {
        assert!(SendConfig::new("http://x", "k").validate().is_ok());
        assert!(SendConfig::new("ftp://x", "k").validate().is_err());
        let mut c = SendConfig::new("http://x", "k");
        c.batch_size = 0;
        assert!(c.validate().is_err());
        let mut c = SendConfig::new("http://x", "k");
        c.rate = Some(0.0);
        assert!(c.validate().is_err());
    }
}
