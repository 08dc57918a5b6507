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

/// Unknown secrets remembered at most; that cache is cleared when it grows past this, so
/// random keys from a scanner cannot grow memory. Known keys are cached apart, so such a flood
/// never evicts them.
const UNKNOWN_CACHE_MAX: usize = 10_000;

/// Resolves secrets to keys, caching lookups (hits and misses) for [`KEY_CACHE_TTL`].
pub struct KeyResolver {
    store: Arc<dyn KeyStore>,
    /// Live keys by digest; as large as the number of keys in use.
    known: Mutex<HashMap<String, (ApiKey, Instant)>>,
    /// Digests that matched no live key.
    unknown: Mutex<HashMap<String, Instant>>,
    /// How long an answer is trusted.
    ttl: Duration,
}

impl KeyResolver {
    /// A resolver over `store`.
    pub fn new(store: Arc<dyn KeyStore>) -> Self {
        Self::with_ttl(store, KEY_CACHE_TTL)
    }

    /// A resolver over `store` that trusts an answer for `ttl`.
    fn with_ttl(store: Arc<dyn KeyStore>, ttl: Duration) -> Self {
        Self {
            store,
            known: Mutex::default(),
            unknown: Mutex::default(),
            ttl,
        }
    }

    /// The key store the resolver reads.
    pub fn store(&self) -> Arc<dyn KeyStore> {
        self.store.clone()
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
        let now = Instant::now();
        match &found {
            Some(key) => {
                if let Ok(mut known) = self.known.lock() {
                    known.retain(|_, (_, at)| at.elapsed() < self.ttl);
                    known.insert(hash, (key.clone(), now));
                }
            }
            None => {
                // A key revoked since: its stale entry must not shadow the negative answer.
                if let Ok(mut known) = self.known.lock() {
                    known.remove(&hash);
                }
                if let Ok(mut unknown) = self.unknown.lock() {
                    if unknown.len() >= UNKNOWN_CACHE_MAX {
                        unknown.clear();
                    }
                    unknown.insert(hash, now);
                }
            }
        }
        Ok(found)
    }

    /// The cached answer for `hash`, while it is fresh.
    fn cached(&self, hash: &str) -> Option<Option<ApiKey>> {
        let fresh = |at: &Instant| at.elapsed() < self.ttl;
        if let Some((key, at)) = self.known.lock().ok()?.get(hash) {
            if fresh(at) {
                return Some(Some(key.clone()));
            }
        }
        let unknown = self.unknown.lock().ok()?;
        unknown.get(hash).filter(|at| fresh(at)).map(|_| None)
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
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use eventhose_state::{NewKey, StateError};

    /// One known key; counts the lookups that reach it.
    struct OneKey {
        key: ApiKey,
        hash: String,
        lookups: AtomicUsize,
    }

    impl KeyStore for OneKey {
        fn create_key(&self, _: NewKey) -> Result<(ApiKey, String), StateError> {
            Err(StateError::Invalid("read-only".into()))
        }
        fn find_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StateError> {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            Ok((hash == self.hash).then(|| self.key.clone()))
        }
        fn list_keys(&self) -> Result<Vec<ApiKey>, StateError> {
            Ok(vec![self.key.clone()])
        }
        fn revoke_key(&self, _: &str) -> Result<bool, StateError> {
            Ok(false)
        }
        fn count_keys(&self) -> Result<u64, StateError> {
            Ok(1)
        }
    }

    #[tokio::test]
    async fn a_flood_of_unknown_keys_does_not_evict_known_ones() {
        let store = Arc::new(OneKey {
            key: crate::acting_account::fixtures::key(None),
            hash: hash_key("the-known-secret"),
            lookups: AtomicUsize::new(0),
        });
        // A TTL longer than the test, so only eviction could cause another lookup.
        let resolver = KeyResolver::with_ttl(store.clone(), Duration::from_secs(3_600));
        assert!(resolver
            .resolve("the-known-secret")
            .await
            .unwrap()
            .is_some());
        let flood = UNKNOWN_CACHE_MAX * 2 + 1;
        for i in 0..flood {
            let guess = format!("guess-{i}");
            assert!(resolver.resolve(&guess).await.unwrap().is_none());
        }
        // The known key is still cached: no lookup beyond the first and the flood's own.
        assert!(resolver
            .resolve("the-known-secret")
            .await
            .unwrap()
            .is_some());
        assert_eq!(store.lookups.load(Ordering::Relaxed), 1 + flood);
        assert!(resolver.unknown.lock().unwrap().len() <= UNKNOWN_CACHE_MAX);
    }

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
