//! Bearer tokens cached per webhook.

use super::{fetch_token, AuthError, Token};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The longest a token is given up before its announced expiry.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// Client-credentials tokens per webhook id.
///
/// A token is reused until `expires_in` minus a margin (30 s, or half the lifetime when that is
/// shorter); a token without `expires_in` is reused until [`invalidate`](Self::invalidate)d.
/// Concurrent requests for one webhook share a single token fetch. A cached token is only reused
/// for the same token URL and form body, so changing a webhook's credentials takes effect at once.
#[derive(Debug, Default)]
pub struct TokenCache {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

/// One webhook's token and the lock that serialises its fetches.
#[derive(Debug, Default)]
struct Slot {
    fetching: tokio::sync::Mutex<()>,
    cached: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    token: Token,
    token_url: String,
    body: Map<String, Value>,
    fresh_until: Option<Instant>,
}

impl Cached {
    fn usable_for(&self, token_url: &str, body: &Map<String, Value>, now: Instant) -> bool {
        self.token_url == token_url
            && &self.body == body
            && self.fresh_until.is_none_or(|until| now < until)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a token is cached for `webhook_id` and still fresh, without fetching one:
    /// `Some(Some(seconds))` left before it expires, `Some(None)` when the token endpoint gave
    /// no lifetime, `None` when nothing usable is cached.
    pub fn cached_expiry(&self, webhook_id: &str) -> Option<Option<u64>> {
        let slot = lock(&self.slots).get(webhook_id).cloned()?;
        let cached = lock(&slot.cached);
        let cached = cached.as_ref()?;
        match cached.fresh_until {
            None => Some(None),
            Some(until) => until
                .checked_duration_since(Instant::now())
                .map(|left| Some(left.as_secs())),
        }
    }

    /// A valid token for `webhook_id`: the cached one, or a new one from `token_url` (see
    /// [`fetch_token`], which also says how the URL must be checked beforehand).
    pub async fn bearer(
        &self,
        client: &reqwest::Client,
        webhook_id: &str,
        token_url: &str,
        body: &Map<String, Value>,
    ) -> Result<Token, AuthError> {
        let slot = self.slot(webhook_id);
        if let Some(token) = Self::cached_token(&slot, token_url, body) {
            return Ok(token);
        }
        let _fetching = slot.fetching.lock().await;
        // Another task may have fetched while this one waited.
        if let Some(token) = Self::cached_token(&slot, token_url, body) {
            return Ok(token);
        }
        let requested_at = Instant::now();
        let token = fetch_token(client, token_url, body).await?;
        *lock(&slot.cached) = Some(Cached {
            token: token.clone(),
            token_url: token_url.to_owned(),
            body: body.clone(),
            fresh_until: token.expires_in.map(|secs| fresh_until(requested_at, secs)),
        });
        Ok(token)
    }

    /// Forgets the token of `webhook_id`, so the next [`bearer`](Self::bearer) fetches a new one.
    pub fn invalidate(&self, webhook_id: &str) {
        lock(&self.slots).remove(webhook_id);
    }

    /// Forgets the token of `webhook_id` only if it is still `access_token` — for a caller whose
    /// token was refused, without discarding a newer one another task already fetched.
    pub fn invalidate_token(&self, webhook_id: &str, access_token: &str) {
        if let Some(slot) = lock(&self.slots).get(webhook_id) {
            let mut cached = lock(&slot.cached);
            if cached
                .as_ref()
                .is_some_and(|c| c.token.access_token == access_token)
            {
                *cached = None;
            }
        }
    }

    fn slot(&self, webhook_id: &str) -> Arc<Slot> {
        Arc::clone(lock(&self.slots).entry(webhook_id.to_owned()).or_default())
    }

    fn cached_token(slot: &Slot, token_url: &str, body: &Map<String, Value>) -> Option<Token> {
        lock(&slot.cached)
            .as_ref()
            .filter(|cached| cached.usable_for(token_url, body, Instant::now()))
            .map(|cached| cached.token.clone())
    }
}

/// When a token fetched at `requested_at` with a lifetime of `expires_in` seconds stops being used.
fn fresh_until(requested_at: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in);
    let margin = EXPIRY_MARGIN.min(lifetime / 2);
    requested_at + (lifetime - margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_thirty_seconds_or_half_the_lifetime() {
        let t0 = Instant::now();
        assert_eq!(fresh_until(t0, 3600), t0 + Duration::from_secs(3570));
        assert_eq!(fresh_until(t0, 40), t0 + Duration::from_secs(20));
        assert_eq!(fresh_until(t0, 0), t0);
    }

    #[test]
    fn cached_tokens_only_serve_the_same_credentials_until_expiry() {
        let body: Map<String, Value> = serde_json::from_str(r#"{"client_id":"a"}"#).unwrap();
        let now = Instant::now();
        let cached = Cached {
            token: Token {
                access_token: "t".to_owned(),
                expires_in: Some(60),
            },
            token_url: "https://auth.example.com/token".to_owned(),
            body: body.clone(),
            fresh_until: Some(now + Duration::from_secs(30)),
        };
        assert!(cached.usable_for("https://auth.example.com/token", &body, now));
        assert!(!cached.usable_for("https://other.example.com/token", &body, now));
        let other_body: Map<String, Value> = serde_json::from_str(r#"{"client_id":"b"}"#).unwrap();
        assert!(!cached.usable_for("https://auth.example.com/token", &other_body, now));
        assert!(!cached.usable_for(
            "https://auth.example.com/token",
            &body,
            now + Duration::from_secs(30)
        ));
    }
}
