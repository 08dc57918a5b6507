//! Webhooks: SparkPost-style event webhooks, their secrets, and the status of their batches.
//!
//! The types here are what the API shows and the delivery engine reads; [`WebhookStore`] is
//! the storage contract both rely on. Secrets (a basic-auth password, an OAuth2 request body,
//! the signing secrets) live in the record in clear for the caller's use, and are encrypted by
//! the backend before they are written.

pub(crate) mod stored;
#[cfg(test)]
pub(crate) mod testing;

use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::StateError;

/// Which account's events a webhook receives: SparkPost's `subaccount_id` event source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WebhookScope {
    /// The primary account and every subaccount (SparkPost's `-1`, or no header on create).
    All,
    /// The primary account only (SparkPost's `0`).
    Primary,
    /// One subaccount.
    Subaccount(u64),
}

impl WebhookScope {
    /// The scope of SparkPost's `subaccount_id` number: `-1`, `0` or a subaccount id.
    pub fn from_subaccount_id(id: i64) -> Option<Self> {
        match id {
            -1 => Some(Self::All),
            0 => Some(Self::Primary),
            n if n > 0 => Some(Self::Subaccount(n as u64)),
            _ => None,
        }
    }

    /// SparkPost's `subaccount_id` number for this scope.
    pub fn subaccount_id(self) -> i64 {
        match self {
            Self::All => -1,
            Self::Primary => 0,
            Self::Subaccount(n) => n as i64,
        }
    }

    /// The account that owns a webhook of this scope.
    pub fn owner(self) -> WebhookOwner {
        match self {
            Self::All | Self::Primary => WebhookOwner::Primary,
            Self::Subaccount(n) => WebhookOwner::Subaccount(n),
        }
    }
}

/// The account a webhook belongs to: the primary account owns webhooks of scope
/// [`All`](WebhookScope::All) and [`Primary`](WebhookScope::Primary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookOwner {
    /// The primary account.
    Primary,
    /// One subaccount.
    Subaccount(u64),
}

/// How the delivery engine authenticates to the target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WebhookAuth {
    /// No authentication.
    None,
    /// HTTP basic authentication.
    Basic {
        /// User name (stored in clear).
        username: String,
        /// Password (encrypted at rest).
        password: String,
    },
    /// OAuth2 client credentials: a bearer token fetched from `url` by POSTing `body`.
    OAuth2 {
        /// Token endpoint (stored in clear).
        url: String,
        /// Form fields of the token request, e.g. `client_id`, `client_secret`, `grant_type`
        /// (encrypted at rest: it holds the client secret).
        body: serde_json::Map<String, serde_json::Value>,
    },
}

impl WebhookAuth {
    /// SparkPost's `auth_type`: `none`, `basic` or `oauth2`.
    pub fn auth_type(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Basic { .. } => "basic",
            Self::OAuth2 { .. } => "oauth2",
        }
    }
}

/// A signing secret replaced by a rotation, still valid until it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredSecret {
    /// The secret.
    pub secret: String,
    /// Unix seconds after which it is no longer used.
    pub expires_at: i64,
}

/// The secrets batches are signed with (Standard Webhooks, `whsec_…`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecrets {
    /// The secret in use.
    pub current: String,
    /// The secret replaced by the last rotation, signed with too until it expires.
    pub previous: Option<RetiredSecret>,
}

impl SigningSecrets {
    /// [`valid_at`](Self::valid_at), owned.
    pub fn secrets_at(&self, now: i64) -> Vec<String> {
        self.valid_at(now).into_iter().map(String::from).collect()
    }

    /// The secrets to sign with at `now` (unix seconds): the current one first.
    pub fn valid_at(&self, now: i64) -> Vec<&str> {
        let mut secrets = vec![self.current.as_str()];
        if let Some(previous) = &self.previous {
            if previous.expires_at > now {
                secrets.push(previous.secret.as_str());
            }
        }
        secrets
    }
}

/// A stored webhook, secrets in clear.
#[derive(Clone, Debug, PartialEq)]
pub struct Webhook {
    /// UUID.
    pub id: String,
    /// Human label.
    pub name: String,
    /// The URL batches are POSTed to.
    pub target: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Whether batches are sent.
    pub active: bool,
    /// How to authenticate to the target.
    pub auth: WebhookAuth,
    /// Extra headers on every POST, in order.
    pub custom_headers: Vec<(String, String)>,
    /// SparkPost's deprecated `auth_token`, sent as `X-MessageSystems-Webhook-Token` (encrypted
    /// at rest).
    pub auth_token: Option<String>,
    /// Whose events it receives.
    pub scope: WebhookScope,
    /// Subaccounts left out (only meaningful for [`WebhookScope::All`]).
    pub exception_subaccounts: Vec<u64>,
    /// Signing secrets.
    pub signing: SigningSecrets,
    /// Last successful delivery, unix seconds.
    pub last_successful: Option<i64>,
    /// Last failed delivery, unix seconds.
    pub last_failure: Option<i64>,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Time of the last change, unix seconds.
    pub updated_at: i64,
}

/// What `create_webhook` needs; the store assigns the id, the signing secret and the times.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWebhook {
    /// Human label.
    pub name: String,
    /// The URL batches are POSTed to.
    pub target: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Whether batches are sent.
    pub active: bool,
    /// How to authenticate to the target.
    pub auth: WebhookAuth,
    /// Extra headers on every POST.
    pub custom_headers: Vec<(String, String)>,
    /// SparkPost's deprecated `auth_token`.
    pub auth_token: Option<String>,
    /// Whose events it receives.
    pub scope: WebhookScope,
    /// Subaccounts left out.
    pub exception_subaccounts: Vec<u64>,
}

/// A partial update: only the fields that are `Some` change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WebhookChanges {
    /// New name.
    pub name: Option<String>,
    /// New target.
    pub target: Option<String>,
    /// New event types.
    pub events: Option<Vec<String>>,
    /// New active flag.
    pub active: Option<bool>,
    /// New authentication.
    pub auth: Option<WebhookAuth>,
    /// New custom headers (replacing all).
    pub custom_headers: Option<Vec<(String, String)>>,
    /// New `auth_token` (`Some(None)` removes it).
    pub auth_token: Option<Option<String>>,
    /// New scope.
    pub scope: Option<WebhookScope>,
    /// New exception subaccounts (replacing all).
    pub exception_subaccounts: Option<Vec<u64>>,
}

impl WebhookChanges {
    /// Applies the changes that are set to `webhook`, leaving the other fields as they are.
    pub fn apply_to(self, webhook: &mut Webhook) {
        let WebhookChanges {
            name,
            target,
            events,
            active,
            auth,
            custom_headers,
            auth_token,
            scope,
            exception_subaccounts,
        } = self;
        webhook.name = name.unwrap_or(std::mem::take(&mut webhook.name));
        webhook.target = target.unwrap_or(std::mem::take(&mut webhook.target));
        webhook.events = events.unwrap_or(std::mem::take(&mut webhook.events));
        webhook.active = active.unwrap_or(webhook.active);
        if let Some(auth) = auth {
            webhook.auth = auth;
        }
        webhook.custom_headers =
            custom_headers.unwrap_or(std::mem::take(&mut webhook.custom_headers));
        if let Some(auth_token) = auth_token {
            webhook.auth_token = auth_token;
        }
        webhook.scope = scope.unwrap_or(webhook.scope);
        webhook.exception_subaccounts =
            exception_subaccounts.unwrap_or(std::mem::take(&mut webhook.exception_subaccounts));
    }
}

/// The outcome of one batch, as SparkPost's batch-status API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchStatus {
    /// The batch's id (also sent as `X-MessageSystems-Batch-ID`).
    pub batch_id: String,
    /// The webhook it was sent to.
    pub webhook_id: String,
    /// When the batch was created, unix seconds.
    pub ts: i64,
    /// Failed attempts before the last one (0 when the first attempt succeeded).
    pub attempts: u32,
    /// The target's HTTP status on the last attempt, if it answered.
    pub response_code: Option<u16>,
    /// Why the last attempt failed, if it did (an HTTP status or a transport failure).
    pub failure_code: Option<String>,
    /// Events in the batch.
    pub batch_size: u32,
    /// Duration of the last attempt's round trip, in milliseconds.
    pub latency_ms: u64,
}

/// Storage of webhooks and batch statuses. Configuration changes (update, rotation,
/// deactivation) bump a webhook's `updated_at`; delivery marks do not.
pub trait WebhookStore: Send + Sync {
    /// Stores a new webhook with a fresh id and signing secret, and returns it.
    fn create_webhook(&self, new: NewWebhook) -> Result<Webhook, StateError>;
    /// Stores a new webhook like [`create_webhook`](Self::create_webhook), unless its owner
    /// already has `limit` webhooks or more: `None` then. Counting and storing are one
    /// transaction, so concurrent creations cannot pass the limit together.
    fn create_webhook_within(
        &self,
        new: NewWebhook,
        limit: usize,
    ) -> Result<Option<Webhook>, StateError>;
    /// How many webhooks `owner` has.
    fn count_webhooks(&self, owner: WebhookOwner) -> Result<usize, StateError>;
    /// The webhook with `id`, if any.
    fn get_webhook(&self, id: &str) -> Result<Option<Webhook>, StateError>;
    /// Every webhook, or those of one owner, oldest first.
    fn list_webhooks(&self, owner: Option<WebhookOwner>) -> Result<Vec<Webhook>, StateError>;
    /// Applies `changes`; returns the updated webhook, or `None` if there is none with `id`.
    fn update_webhook(
        &self,
        id: &str,
        changes: WebhookChanges,
    ) -> Result<Option<Webhook>, StateError>;
    /// Deletes a webhook and its batch statuses; returns whether it existed.
    fn delete_webhook(&self, id: &str) -> Result<bool, StateError>;
    /// Replaces the signing secret with a new one, keeping the old one valid for `grace`;
    /// returns the new secret, or `None` if there is no webhook with `id`.
    fn rotate_signing_secret(
        &self,
        id: &str,
        grace: Duration,
    ) -> Result<Option<String>, StateError>;
    /// Records a batch's outcome, replacing an earlier record of the same batch.
    fn record_batch_status(&self, status: &BatchStatus) -> Result<(), StateError>;
    /// A webhook's batch statuses, newest first, at most `limit`.
    fn batch_statuses(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<BatchStatus>, StateError>;
    /// Deletes batch statuses created before `older_than` (unix seconds); returns how many.
    fn prune_batch_statuses(&self, older_than: i64) -> Result<u64, StateError>;
    /// Records a delivery outcome at `at` (unix seconds) in `last_successful` or
    /// `last_failure`; returns whether the webhook exists.
    fn mark_delivery(&self, id: &str, success: bool, at: i64) -> Result<bool, StateError>;
    /// Sets `active` to false; returns whether the webhook exists.
    fn deactivate_webhook(&self, id: &str) -> Result<bool, StateError>;
    /// Keeps a batch that ran out of attempts (its encoded form), so it can be replayed.
    fn keep_failed_batch(
        &self,
        webhook_id: &str,
        batch_id: &str,
        payload: &[u8],
        at: i64,
    ) -> Result<(), StateError>;
    /// Asks for a kept failed batch to be sent again; returns whether there is such a batch.
    fn request_replay(&self, webhook_id: &str, batch_id: &str) -> Result<bool, StateError>;
    /// Takes up to `limit` failed batches whose replay was asked for and that no one took in
    /// the last `lease`: (webhook id, batch id, payload), oldest first. A batch taken is not
    /// handed out again (to this or another worker) until its lease passes, by which time the
    /// worker that took it has queued and forgotten it — or died, and another takes it.
    fn claim_replays(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError>;
    /// Forgets a kept failed batch (once its replay is queued durably).
    fn forget_failed_batch(&self, webhook_id: &str, batch_id: &str) -> Result<(), StateError>;
    /// Kept failed batches ordered by (webhook id, batch id), from after `after`, at most
    /// `limit`: (webhook id, batch id, payload).
    fn failed_batches(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError>;
    /// Replaces the payload of a kept failed batch (an erasure took events out of it);
    /// returns whether there is such a batch.
    fn replace_failed_batch(
        &self,
        webhook_id: &str,
        batch_id: &str,
        payload: &[u8],
    ) -> Result<bool, StateError>;
}

/// Prefix of Standard Webhooks signing secrets.
pub const SIGNING_SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and base64 of 32 random bytes (Standard Webhooks form).
pub fn generate_signing_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{SIGNING_SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_maps_sparkpost_numbers() {
        assert_eq!(
            WebhookScope::from_subaccount_id(-1),
            Some(WebhookScope::All)
        );
        assert_eq!(
            WebhookScope::from_subaccount_id(0),
            Some(WebhookScope::Primary)
        );
        assert_eq!(
            WebhookScope::from_subaccount_id(7),
            Some(WebhookScope::Subaccount(7))
        );
        assert_eq!(WebhookScope::from_subaccount_id(-2), None);
        for scope in [
            WebhookScope::All,
            WebhookScope::Primary,
            WebhookScope::Subaccount(9),
        ] {
            assert_eq!(
                WebhookScope::from_subaccount_id(scope.subaccount_id()),
                Some(scope)
            );
        }
        assert_eq!(WebhookScope::All.owner(), WebhookOwner::Primary);
        assert_eq!(
            WebhookScope::Subaccount(4).owner(),
            WebhookOwner::Subaccount(4)
        );
    }

    #[test]
    fn signing_secrets_have_the_standard_form_and_expire() {
        let secret = generate_signing_secret();
        let encoded = secret.strip_prefix(SIGNING_SECRET_PREFIX).unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap()
                .len(),
            32
        );
        assert_ne!(secret, generate_signing_secret());
        let secrets = SigningSecrets {
            current: "new".into(),
            previous: Some(RetiredSecret {
                secret: "old".into(),
                expires_at: 100,
            }),
        };
        assert_eq!(secrets.valid_at(99), ["new", "old"]);
        assert_eq!(secrets.valid_at(100), ["new"]);
    }
}
