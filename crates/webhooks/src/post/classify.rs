//! Turning `reqwest` errors into [`Failure`]s.

use super::Failure;
use crate::target::TargetError;
use std::error::Error;
use std::io;

/// The error and its causes, looking inside `io::Error`s (whose `source()` skips the wrapped error).
fn causes<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&current| next_cause(current))
}

fn next_cause<'a>(current: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    match current
        .downcast_ref::<io::Error>()
        .and_then(io::Error::get_ref)
    {
        Some(inner) => Some(inner),
        None => current.source(),
    }
}

/// The causes of a `reqwest` error as one line, without the request URL (which may carry
/// secrets in its query string).
pub(crate) fn describe_error(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in causes(err).skip(1) {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        text_without_url(err)
    } else {
        parts.join(": ")
    }
}

/// The guard's refusal, when that is what stopped the request.
pub(crate) fn target_error(err: &reqwest::Error) -> Option<TargetError> {
    causes(err)
        .find_map(|e| e.downcast_ref::<TargetError>())
        .cloned()
}

/// Classifies a transport error: refused by policy, timeout, TLS, connect, or other.
pub(crate) fn classify(err: &reqwest::Error) -> Failure {
    if let Some(target) = target_error(err) {
        return Failure::Target(target);
    }
    if err.is_timeout() {
        return Failure::Timeout;
    }
    if causes(err).any(|e| e.downcast_ref::<rustls::Error>().is_some()) {
        return Failure::Tls(describe_error(err));
    }
    if err.is_connect() {
        return Failure::Connect(describe_error(err));
    }
    Failure::Other(describe_error(err))
}

/// The text of a `reqwest` error with its URL removed.
fn text_without_url(err: &reqwest::Error) -> String {
    let text = err.to_string();
    match err.url() {
        Some(url) => text.replace(&format!(" ({url})"), ""),
        None => text,
    }
}
