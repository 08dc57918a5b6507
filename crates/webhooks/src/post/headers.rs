//! The request headers of a batch POST.

use super::{BatchPost, Failure};
use crate::signing::signature_header;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

/// SparkPost's batch id header.
pub const BATCH_ID_HEADER: &str = "x-messagesystems-batch-id";
/// SparkPost's header for a webhook's deprecated `auth_token`. SparkPost's reference:
/// "Authentication token to present in the `X-MessageSystems-Webhook-Token` header of POST
/// requests to target."
pub const WEBHOOK_TOKEN_HEADER: &str = "x-messagesystems-webhook-token";
/// Standard Webhooks message id (here the batch id; constant across retries).
pub const WEBHOOK_ID_HEADER: &str = "webhook-id";
/// Standard Webhooks timestamp of the attempt, in Unix seconds.
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Standard Webhooks signatures.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "webhook-signature";

/// Custom headers first, then the fixed ones (which replace custom headers of the same name).
pub(super) fn base(post: &BatchPost<'_>) -> Result<HeaderMap, Failure> {
    let mut headers = HeaderMap::new();
    for (name, value) in post.custom_headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Failure::Other(format!("invalid custom header name '{name}'")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Failure::Other(format!("invalid value for custom header '{name}'")))?;
        headers.append(name, value);
    }
    let batch_id = HeaderValue::from_str(post.batch_id)
        .map_err(|_| Failure::Other(format!("invalid batch id '{}'", post.batch_id)))?;
    if let Some(token) = post.auth_token {
        let mut value = HeaderValue::from_str(token)
            .map_err(|_| Failure::Other("auth_token is not a valid header value".to_owned()))?;
        value.set_sensitive(true);
        headers.insert(WEBHOOK_TOKEN_HEADER, value);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(BATCH_ID_HEADER, batch_id.clone());
    headers.insert(WEBHOOK_ID_HEADER, batch_id);
    Ok(headers)
}

/// Adds the attempt's timestamp and, with secrets, its signatures.
pub(super) fn stamp(
    headers: &mut HeaderMap,
    post: &BatchPost<'_>,
    timestamp: i64,
) -> Result<(), Failure> {
    headers.insert(WEBHOOK_TIMESTAMP_HEADER, HeaderValue::from(timestamp));
    if post.signing_secrets.is_empty() {
        headers.remove(WEBHOOK_SIGNATURE_HEADER);
        return Ok(());
    }
    let signatures = signature_header(post.signing_secrets, post.batch_id, timestamp, &post.body)
        .map_err(|e| Failure::Other(format!("cannot sign the batch: {e}")))?;
    let value = HeaderValue::from_str(&signatures)
        .map_err(|_| Failure::Other("signature is not a valid header value".to_owned()))?;
    headers.insert(WEBHOOK_SIGNATURE_HEADER, value);
    Ok(())
}

/// `Basic base64(username:password)`, marked sensitive.
pub(super) fn basic(username: &str, password: &str) -> HeaderValue {
    let encoded = STANDARD.encode(format!("{username}:{password}"));
    // Base64 output is always a valid header value.
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

/// `Bearer <token>`, marked sensitive.
pub(super) fn bearer(access_token: &str) -> Result<HeaderValue, Failure> {
    let mut value = HeaderValue::from_str(&format!("Bearer {access_token}")).map_err(|_| {
        Failure::Auth("access token contains characters not allowed in a header".to_owned())
    })?;
    value.set_sensitive(true);
    Ok(value)
}
