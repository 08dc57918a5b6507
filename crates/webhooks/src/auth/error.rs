//! Errors raised while obtaining an OAuth2 token.

use crate::response::TargetResponse;
use crate::target::TargetError;

/// Why no token could be obtained.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The token request did not get an HTTP answer.
    #[error("POST to webhook tokens URL failed: {0}")]
    Request(String),
    /// The SSRF guard refused the token URL's address.
    #[error("webhook tokens URL refused: {0}")]
    Target(TargetError),
    /// The token endpoint answered with a non-2xx status.
    #[error("POST to webhook tokens URL failed with HTTP {}", .0.status)]
    Status(TargetResponse),
    /// The answer is not a JSON object with a string `access_token`.
    #[error("webhook tokens URL answered without a usable access_token: {0}")]
    InvalidResponse(String),
}

impl AuthError {
    /// The token endpoint's answer, when there was one.
    pub fn response(&self) -> Option<&TargetResponse> {
        match self {
            AuthError::Status(response) => Some(response),
            AuthError::Request(_) | AuthError::Target(_) | AuthError::InvalidResponse(_) => None,
        }
    }
}
