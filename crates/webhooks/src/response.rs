//! What a target (or token endpoint) answered, kept for batch status and the validate endpoint.

use serde_json::{Map, Value};

/// How much of a response body is kept.
pub const RESPONSE_BODY_LIMIT: usize = 4096;

/// A summary of an HTTP response: status, headers and the first 4 KiB of the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetResponse {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lower case) and values, in the order received; non-UTF-8 values are lossy.
    pub headers: Vec<(String, String)>,
    /// The first [`RESPONSE_BODY_LIMIT`] bytes of the body, decoded lossily as UTF-8.
    pub body: String,
}

impl TargetResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// SparkPost's shape: `{"status": 200, "headers": {"name": "value"}, "body": "OK"}`
    /// (repeated headers keep their last value).
    pub fn to_json(&self) -> Value {
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(key, value)| (key.clone(), Value::String(value.clone())))
            .collect();
        serde_json::json!({ "status": self.status, "headers": headers, "body": self.body })
    }
}

/// Reads `response` into a [`TargetResponse`] plus up to `limit` raw body bytes. A body that
/// fails mid-way keeps what arrived: the status is what counts.
pub(crate) async fn capture(
    mut response: reqwest::Response,
    limit: usize,
) -> (TargetResponse, Vec<u8>) {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut raw = Vec::new();
    while raw.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - raw.len();
                raw.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    let kept = &raw[..raw.len().min(RESPONSE_BODY_LIMIT)];
    let summary = TargetResponse {
        status,
        headers,
        body: String::from_utf8_lossy(kept).into_owned(),
    };
    (summary, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_ignores_case_and_json_has_sparkpost_shape() {
        let response = TargetResponse {
            status: 200,
            headers: vec![("content-type".to_owned(), "text/plain".to_owned())],
            body: "OK".to_owned(),
        };
        assert_eq!(response.header("Content-Type"), Some("text/plain"));
        assert_eq!(response.header("retry-after"), None);
        assert_eq!(
            response.to_json(),
            serde_json::json!({"status": 200, "headers": {"content-type": "text/plain"}, "body": "OK"})
        );
    }
}
