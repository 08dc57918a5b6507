//! API-key authentication: `Authorization: <key>` (or Basic with the key as user name), as
//! SparkPost accepts, resolved to the stored key through a short-lived cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use eventhose_state::{hash_key, ApiKey, KeyStore};

use crate::error::ApiError;
use crate::AppState;

/// How long a looked-up key is trusted before the store is asked again. Keys changed by the
/// `eventhose keys` command (another process) take effect within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(2);

/// Entries kept at most; the cache is cleared when it grows past this (random keys from a
/// scanner must not grow memory).
const KEY_CACHE_MAX: usize = 10_000;

/// Resolves secrets to keys, caching lookups (hits and misses) for [`KEY_CACHE_TTL`].
pub struct KeyResolver {
    store: Arc<dyn KeyStore>,
    cache: Mutex<HashMap<String, (Option<ApiKey>, Instant)>>,
}

impl KeyResolver {
    /// A resolver over `store`.
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self {
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The live key for `secret`, or `None` if it is unknown or revoked.
    pub async fn resolve(&self, secret: &str) -> Result<Option<ApiKey>, ApiError> {
        let hash = hash_key(secret);
        if let Some(hit) = self.cached(&hash) {
            return Ok(hit);
        }
        let store = self.store.clone();
        let lookup_hash = hash.clone();
        let found = tokio::task::spawn_blocking(move || store.find_key_by_hash(&lookup_hash))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
            .filter(|key| key.revoked_at.is_none());
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= KEY_CACHE_MAX {
                cache.clear();
            }
            cache.insert(hash, (found.clone(), Instant::now()));
        }
        Ok(found)
    }

    fn cached(&self, hash: &str) -> Option<Option<ApiKey>> {
        let cache = self.cache.lock().ok()?;
        let (key, at) = cache.get(hash)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| key.clone())
    }
}

/// The authenticated caller: extracting it answers 401 when the key is missing, unknown or revoked.
#[derive(Clone, Debug)]
pub struct Caller(pub ApiKey);

impl Caller {
    /// Answers 403 unless the key carries `grant`.
    pub fn require(&self, grant: &str) -> Result<&ApiKey, ApiError> {
        if self.0.allows(grant) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(grant))
        }
    }
}

/// The key in an `Authorization` header value: the raw key, or `Basic base64(key:)`.
fn secret_from_header(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let user = text.split(':').next()?.to_string();
        return (!user.is_empty()).then_some(user);
    }
    (!value.is_empty()).then(|| value.to_string())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(secret_from_header)
            .ok_or_else(ApiError::unauthorized)?;
        match state.keys.resolve(&secret).await? {
            Some(key) => Ok(Caller(key)),
            None => Err(ApiError::unauthorized()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::secret_from_header;

    #[test]
    fn reads_raw_and_basic_forms() {
        assert_eq!(secret_from_header("abc123").as_deref(), Some("abc123"));
        // base64("abc123:") = YWJjMTIzOg==
        assert_eq!(
            secret_from_header("Basic YWJjMTIzOg==").as_deref(),
            Some("abc123")
        );
        assert_eq!(secret_from_header("Basic !!!"), None);
        assert_eq!(secret_from_header("  "), None);
    }
}
