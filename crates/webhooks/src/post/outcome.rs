//! What came of one batch POST.

use crate::response::TargetResponse;
use crate::target::TargetError;
use std::time::Duration;

/// The result of one POST of one batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The target answered 2xx.
    Delivered {
        /// The HTTP status.
        status: u16,
        /// Round-trip time of the POST, including reading the start of the response body.
        latency: Duration,
    },
    /// The batch was not accepted and may be retried.
    Failed {
        /// Why.
        failure: Failure,
        /// Time spent on the attempt.
        latency: Duration,
        /// The target's `Retry-After`, when it sent a parseable one (unclamped).
        retry_after: Option<Duration>,
        /// What the target (or, for [`Failure::Auth`], the token endpoint) answered, if anything.
        response: Option<TargetResponse>,
    },
}

impl Outcome {
    /// Whether the batch was delivered.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered { .. })
    }

    /// The time the attempt took.
    pub fn latency(&self) -> Duration {
        match self {
            Outcome::Delivered { latency, .. } | Outcome::Failed { latency, .. } => *latency,
        }
    }
}

/// Why a POST failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The target answered with a non-2xx status (3xx included: redirects are not followed).
    #[error("target answered HTTP {0}")]
    Status(u16),
    /// No complete answer within the client's timeout.
    #[error("timed out")]
    Timeout,
    /// The connection could not be made.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The TLS handshake failed (certificate or protocol).
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The target URL or its address is refused by the policy.
    #[error(transparent)]
    Target(TargetError),
    /// No OAuth2 token could be obtained.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Anything else (invalid custom header, signing secret, protocol error, …).
    #[error("{0}")]
    Other(String),
}

impl Failure {
    /// The batch-status `failure_code`: the status as text (`"500"`), or `"timeout"`, `"connect"`,
    /// `"tls"`, `"target"`, `"auth"` or `"other"`.
    pub fn code(&self) -> String {
        match self {
            Failure::Status(status) => status.to_string(),
            Failure::Timeout => "timeout".to_owned(),
            Failure::Connect(_) => "connect".to_owned(),
            Failure::Tls(_) => "tls".to_owned(),
            Failure::Target(_) => "target".to_owned(),
            Failure::Auth(_) => "auth".to_owned(),
            Failure::Other(_) => "other".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_codes() {
        assert_eq!(Failure::Status(503).code(), "503");
        assert_eq!(Failure::Status(302).code(), "302");
        assert_eq!(Failure::Timeout.code(), "timeout");
        assert_eq!(Failure::Connect("refused".into()).code(), "connect");
        assert_eq!(Failure::Tls("bad cert".into()).code(), "tls");
        assert_eq!(
            Failure::Target(TargetError::Scheme("ftp".into())).code(),
            "target"
        );
        assert_eq!(Failure::Auth("502".into()).code(), "auth");
        assert_eq!(Failure::Other("x".into()).code(), "other");
    }
}
