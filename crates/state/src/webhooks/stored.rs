//! The stored form of webhooks and batch statuses, shared by the backends: non-secret fields
//! are plain columns (JSON text for lists); the secrets of a webhook (passwords, OAuth2
//! request bodies, signing secrets, the deprecated `auth_token` and custom headers, which
//! often carry tokens) are one JSON document sealed into the `secrets` column, bound to the
//! webhook's id.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    generate_signing_secret, NewWebhook, RetiredSecret, SigningSecrets, Webhook, WebhookAuth,
    WebhookOwner, WebhookScope,
};
use crate::crypto::Sealer;
use crate::{unix_now, StateError};

/// What the `secrets` column holds, before sealing.
#[derive(Serialize, Deserialize)]
struct SealedSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    basic_password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oauth2_body: Option<serde_json::Map<String, serde_json::Value>>,
    signing: SigningSecrets,
    /// `None` in SQLite rows written before custom headers were sealed (they are in a clear
    /// column there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_headers: Option<Vec<(String, String)>>,
    /// SparkPost's deprecated `auth_token`; absent in rows written before it was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_token: Option<String>,
}

/// A `webhooks` row as stored, secrets sealed: what a backend writes and reads back.
pub(crate) struct StoredWebhook {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) target: String,
    /// The event types, a JSON list.
    pub(crate) events: String,
    pub(crate) active: bool,
    pub(crate) auth_type: String,
    pub(crate) auth_username: Option<String>,
    pub(crate) auth_url: Option<String>,
    /// SparkPost's `subaccount_id` of the scope.
    pub(crate) subaccount: i64,
    /// The exception subaccounts, a JSON list.
    pub(crate) exception_subaccounts: String,
    /// The sealed [`SealedSecrets`] document.
    pub(crate) secrets: Vec<u8>,
    pub(crate) last_successful: Option<i64>,
    pub(crate) last_failure: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl StoredWebhook {
    /// The row of `webhook`, its secrets sealed with `sealer`.
    pub(crate) fn seal(webhook: &Webhook, sealer: &Sealer) -> Result<Self, StateError> {
        let (username, url, password, body) = match &webhook.auth {
            WebhookAuth::None => (None, None, None, None),
            WebhookAuth::Basic { username, password } => {
                (Some(username.clone()), None, Some(password.clone()), None)
            }
            WebhookAuth::OAuth2 { url, body } => {
                (None, Some(url.clone()), None, Some(body.clone()))
            }
        };
        let secrets = SealedSecrets {
            basic_password: password,
            oauth2_body: body,
            signing: webhook.signing.clone(),
            custom_headers: Some(webhook.custom_headers.clone()),
            auth_token: webhook.auth_token.clone(),
        };
        Ok(Self {
            id: webhook.id.clone(),
            name: webhook.name.clone(),
            target: webhook.target.clone(),
            events: to_json(&webhook.events)?,
            active: webhook.active,
            auth_type: webhook.auth.auth_type().to_owned(),
            auth_username: username,
            auth_url: url,
            subaccount: webhook.scope.subaccount_id(),
            exception_subaccounts: to_json(&webhook.exception_subaccounts)?,
            secrets: sealer.seal(to_json(&secrets)?.as_bytes(), webhook.id.as_bytes())?,
            last_successful: webhook.last_successful,
            last_failure: webhook.last_failure,
            created_at: webhook.created_at,
            updated_at: webhook.updated_at,
        })
    }

    /// The webhook of this row, its secrets opened with `sealer`. `unsealed_headers` gives the
    /// custom headers of a row whose secrets do not hold them (a backend that kept them in
    /// clear once).
    pub(crate) fn open(
        self,
        sealer: &Sealer,
        unsealed_headers: impl FnOnce() -> Result<Vec<(String, String)>, StateError>,
    ) -> Result<Webhook, StateError> {
        let secrets: SealedSecrets =
            serde_json::from_slice(&sealer.open(&self.secrets, self.id.as_bytes())?)
                .map_err(corrupt)?;
        let auth = match self.auth_type.as_str() {
            "none" => WebhookAuth::None,
            "basic" => WebhookAuth::Basic {
                username: self.auth_username.unwrap_or_default(),
                password: secrets.basic_password.unwrap_or_default(),
            },
            "oauth2" => WebhookAuth::OAuth2 {
                url: self.auth_url.unwrap_or_default(),
                body: secrets.oauth2_body.unwrap_or_default(),
            },
            other => return Err(StateError::Corrupt(format!("auth_type `{other}`"))),
        };
        Ok(Webhook {
            scope: WebhookScope::from_subaccount_id(self.subaccount)
                .ok_or_else(|| StateError::Corrupt(format!("subaccount {}", self.subaccount)))?,
            events: from_json(&self.events)?,
            custom_headers: match secrets.custom_headers {
                Some(sealed) => sealed,
                None => unsealed_headers()?,
            },
            exception_subaccounts: from_json(&self.exception_subaccounts)?,
            auth_token: secrets.auth_token,
            id: self.id,
            name: self.name,
            target: self.target,
            active: self.active,
            auth,
            signing: secrets.signing,
            last_successful: self.last_successful,
            last_failure: self.last_failure,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A new webhook as it will be stored: fresh id and signing secret, times now.
pub(crate) fn new_record(new: NewWebhook) -> Webhook {
    let at = unix_now();
    Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        name: new.name,
        target: new.target,
        events: new.events,
        active: new.active,
        auth: new.auth,
        custom_headers: new.custom_headers,
        auth_token: new.auth_token,
        scope: new.scope,
        exception_subaccounts: new.exception_subaccounts,
        signing: SigningSecrets {
            current: generate_signing_secret(),
            previous: None,
        },
        last_successful: None,
        last_failure: None,
        created_at: at,
        updated_at: at,
    }
}

/// Replaces `webhook`'s signing secret with a new one, keeping the old one valid for `grace`;
/// returns the new secret.
pub(crate) fn rotate_secret(webhook: &mut Webhook, grace: Duration) -> String {
    let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    let fresh = generate_signing_secret();
    let old = std::mem::replace(&mut webhook.signing.current, fresh.clone());
    webhook.signing.previous = Some(RetiredSecret {
        secret: old,
        expires_at: unix_now().saturating_add(grace),
    });
    fresh
}

/// The subaccount column range of `owner`'s webhooks (the primary account owns scopes -1
/// and 0), or of every webhook.
pub(crate) fn owner_range(owner: Option<WebhookOwner>) -> (i64, i64) {
    match owner {
        None => (i64::MIN, i64::MAX),
        Some(WebhookOwner::Primary) => (
            WebhookScope::All.subaccount_id(),
            WebhookScope::Primary.subaccount_id(),
        ),
        Some(WebhookOwner::Subaccount(n)) => {
            let id = WebhookScope::Subaccount(n).subaccount_id();
            (id, id)
        }
    }
}

/// A batch's `latency_ms` as stored (saturating: the column is signed).
pub(crate) fn latency_column(latency_ms: u64) -> i64 {
    i64::try_from(latency_ms).unwrap_or(i64::MAX)
}

/// A stored `latency_ms` (never negative when written by [`latency_column`]).
pub(crate) fn latency_from_column(column: i64) -> u64 {
    u64::try_from(column).unwrap_or(0)
}

/// A claim's (now, cutoff): replays claimed at or before the cutoff may be claimed again.
pub(crate) fn claim_times(lease: Duration) -> (i64, i64) {
    let now = unix_now();
    let lease = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
    (now, now.saturating_sub(lease))
}

/// Claimed replays as (webhook id, batch id, payload), oldest first, from rows that carry
/// their failure time.
pub(crate) fn oldest_first(
    mut claimed: Vec<(i64, String, String, Vec<u8>)>,
) -> Vec<(String, String, Vec<u8>)> {
    claimed.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
    claimed
        .into_iter()
        .map(|(_, webhook_id, batch_id, payload)| (webhook_id, batch_id, payload))
        .collect()
}

/// A row limit as a query parameter.
pub(crate) fn limit_parameter(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A stored value that does not decode.
fn corrupt(e: impl std::fmt::Display) -> StateError {
    StateError::Corrupt(e.to_string())
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StateError> {
    serde_json::to_string(value).map_err(corrupt)
}

/// Decodes a JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(column: &str) -> Result<T, StateError> {
    serde_json::from_str(column).map_err(corrupt)
}
