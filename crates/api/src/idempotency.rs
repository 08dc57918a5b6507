//! `Idempotency-Key` on ingest requests: a request retried with the same key (per API key,
//! within the configured time) gets the first request's answer and publishes nothing again.
//!
//! The key names one request: the same key with a different request (another body, encoding
//! or acting subaccount) is refused with a 409, and so is a retry that arrives while the
//! first is still being answered. Only answers a retry would get again are kept (200, and the
//! refusals of the request itself: 400, 413, 415); after a 429, a 503 or a crash the retry is
//! processed anew, and the subscribers recognise its events by their ids.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use eventhose_state::{unix_now, IdempotencyStore, StoredAnswer};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorEntry};

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The header set on a replayed answer.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The longest accepted key, in characters.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The request headers that change what an ingest request means, and so are part of its
/// identity beside the body.
const MEANINGFUL_HEADERS: [&str; 2] = ["content-encoding", "x-msys-subaccount"];

/// The kept answers and the keys of the requests being answered.
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    in_flight: Mutex<HashSet<(String, String)>>,
}

/// What a request with a key may do.
pub(crate) enum Begun {
    /// Answer with the first request's answer.
    Replay(Response),
    /// Process the request, then [`Claim::keep`] its answer.
    Claimed(Claim),
}

/// The right to answer a key's request; dropping it lets another request with the key in.
pub(crate) struct Claim {
    owner: Arc<Idempotency>,
    key: (String, String),
    request_digest: [u8; 32],
    ttl_secs: i64,
}

impl Idempotency {
    /// Keeps answers in `store`.
    pub fn new(store: Arc<dyn IdempotencyStore>) -> Self {
        Self {
            store,
            in_flight: Mutex::new(HashSet::new()),
        }
    }

    /// Looks the key up: a replay of the kept answer, a 409 (another request under the key,
    /// or the same one still being answered), or the claim to answer it.
    pub(crate) async fn begin(
        self: &Arc<Self>,
        key_id: &str,
        idempotency_key: String,
        request_digest: [u8; 32],
        ttl_secs: u64,
    ) -> Result<Begun, ApiError> {
        let ttl_secs = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
        let key = (key_id.to_owned(), idempotency_key);
        if !self.in_flight().insert(key.clone()) {
            return Err(conflict(
                "a request with this Idempotency-Key is still being answered; retry later",
            ));
        }
        let claim = Claim {
            owner: self.clone(),
            key,
            request_digest,
            ttl_secs,
        };
        let store = self.store.clone();
        let (key_id, idempotency_key) = claim.key.clone();
        let since = unix_now().saturating_sub(ttl_secs);
        let kept = tokio::task::spawn_blocking(move || {
            store.find_answer(&key_id, &idempotency_key, since)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
        match kept {
            None => Ok(Begun::Claimed(claim)),
            Some(answer) if answer.request_digest == request_digest => {
                Ok(Begun::Replay(replay(answer)))
            }
            Some(_) => Err(conflict(
                "this Idempotency-Key was used for a different request; use a new key",
            )),
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Claim {
    /// Keeps the answer when a retry would get it again (see the module docs). A failure to
    /// keep it is logged: the answer stands, and a retry is processed anew.
    pub(crate) async fn keep(self, status: StatusCode, body: &serde_json::Value) {
        let kept = matches!(
            status,
            StatusCode::OK
                | StatusCode::BAD_REQUEST
                | StatusCode::PAYLOAD_TOO_LARGE
                | StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        if !kept {
            return;
        }
        let now = unix_now();
        let answer = StoredAnswer {
            request_digest: self.request_digest,
            status: status.as_u16(),
            body: body.to_string().into_bytes(),
            created_at: now,
        };
        let store = self.owner.store.clone();
        let (key_id, idempotency_key) = self.key.clone();
        let expire_before = now.saturating_sub(self.ttl_secs);
        let result = tokio::task::spawn_blocking(move || {
            store.keep_answer(&key_id, &idempotency_key, &answer, expire_before)
        })
        .await;
        if let Err(error) = result
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            tracing::warn!(%error, "could not keep the answer of an idempotent ingest request");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.owner.in_flight().remove(&self.key);
    }
}

/// The request's `Idempotency-Key`, if it has one: 1 to [`MAX_IDEMPOTENCY_KEY_LEN`] visible
/// ASCII characters (spaces allowed inside).
pub(crate) fn header_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let acceptable = !text.is_empty()
        && text.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && text.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
    if !acceptable {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorEntry::new("invalid Idempotency-Key")
                .description(format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
                ))
                .code("1200")
                .param("Idempotency-Key"),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// What identifies a request under its key: its route (`route_tag`, empty for
/// `/ingest/events`, so that its kept answers stay valid), its body and the headers that
/// change its meaning.
pub(crate) fn request_digest(headers: &HeaderMap, route_tag: &str, body: &[u8]) -> [u8; 32] {
    let mut digest = Sha256::new();
    if !route_tag.is_empty() {
        digest.update((route_tag.len() as u64).to_le_bytes());
        digest.update(route_tag.as_bytes());
    }
    for name in MEANINGFUL_HEADERS {
        let value = headers.get(name).map_or(&b""[..], HeaderValue::as_bytes);
        digest.update((value.len() as u64).to_le_bytes());
        digest.update(value);
    }
    digest.update(body);
    digest.finalize().into()
}

fn conflict(description: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorEntry::new("idempotency key conflict")
            .description(description)
            .code("1304")
            .param("Idempotency-Key"),
    )
}

/// The kept answer, marked as a replay.
fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        answer.body,
    )
        .into_response();
    response
        .headers_mut()
        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn keys_are_checked_at_their_edges() {
        assert_eq!(header_key(&headers(&[])).unwrap(), None);
        let longest = "k".repeat(MAX_IDEMPOTENCY_KEY_LEN);
        assert_eq!(
            header_key(&headers(&[("idempotency-key", &longest)])).unwrap(),
            Some(longest.clone())
        );
        let too_long = "k".repeat(MAX_IDEMPOTENCY_KEY_LEN + 1);
        for bad in [too_long.as_str(), "", "  "] {
            let error = header_key(&headers(&[("idempotency-key", bad)])).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST);
            assert_eq!(error.errors[0].param.as_deref(), Some("Idempotency-Key"));
        }
    }

    #[test]
    fn the_digest_covers_the_body_and_the_meaningful_headers() {
        let plain = request_digest(&headers(&[]), "", b"body");
        assert_eq!(
            plain,
            request_digest(&headers(&[("user-agent", "x")]), "", b"body")
        );
        assert_ne!(plain, request_digest(&headers(&[]), "", b"other"));
        assert_ne!(
            plain,
            request_digest(&headers(&[("x-msys-subaccount", "3")]), "", b"body")
        );
        assert_ne!(
            request_digest(&headers(&[("content-encoding", "gzip")]), "", b""),
            request_digest(&headers(&[("x-msys-subaccount", "gzip")]), "", b""),
            "each header is told apart"
        );
        assert_ne!(
            plain,
            request_digest(&headers(&[]), "kumomta", b"body"),
            "the routes are told apart"
        );
    }
}
