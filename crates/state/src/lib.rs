//! The transactional state store of eventhose: what must be exact and durable but is small
//! (API keys, webhooks and their batch statuses; suppressions as they arrive; erasure
//! tombstones; the events the subscribers writing here applied recently; the answers kept for
//! idempotent ingest).
//!
//! The embedded backend is one SQLite file in the data directory, opened in WAL mode so that
//! `eventhose keys …` can change it while `eventhose serve` runs; the shared one, for several
//! processes, is PostgreSQL ([`PostgresState`]). Both implement every store trait, which
//! [`StateStore`] gathers, and pass the same conformance suite. Secrets that must be
//! readable again (webhook passwords, OAuth2 request bodies, signing secrets) are encrypted
//! with an [`EncryptionKey`] before they are written.

pub mod applied;
#[cfg(test)]
mod conformance;
pub mod crypto;
pub mod erasures;
pub mod idempotency;
pub mod keys;
mod postgres;
mod sqlite;
pub mod suppressions;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod webhooks;

pub use applied::{AppliedBatch, AppliedEventStore};
pub use crypto::{CryptoError, EncryptionKey};
pub use erasures::{recipient_digest, ErasureStore, Tombstones};
pub use idempotency::{IdempotencyStore, StoredAnswer};
pub use keys::{
    hash_key, ApiKey, Grant, KeyStore, NewKey, UnknownGrant, ALL_GRANTS, SUBACCOUNT_GRANTS,
};
pub use postgres::{PostgresOptions, PostgresState, ERASURES, WEBHOOK_CHANGES};
pub use sqlite::SqliteState;
pub use suppressions::{
    DeleteOutcome, DescriptionFilter, InvalidSuppression, ListScope, ListSelector, PageRequest,
    SortOrder, Suppression, SuppressionCursor, SuppressionDeletion, SuppressionPage,
    SuppressionQuery, SuppressionSource, SuppressionStore, SuppressionSummary, SuppressionType,
    SuppressionUpsert, UpsertOutcome, UpsertReport, WhenKept,
};
pub use webhooks::{
    generate_signing_secret, BatchStatus, NewWebhook, RetiredSecret, SigningSecrets, Webhook,
    WebhookAuth, WebhookChanges, WebhookOwner, WebhookScope, WebhookStore, SIGNING_SECRET_PREFIX,
};

/// Now, in unix seconds (0 on a clock before 1970): the clock the state's records are stamped
/// with (creation and update times, batch statuses, secret expiries) and compared against,
/// and the other crates' seconds clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Every store of the state, as one object: what `serve` opens, on either backend.
pub trait StateStore:
    KeyStore + WebhookStore + SuppressionStore + ErasureStore + AppliedEventStore + IdempotencyStore
{
    /// A counter that moves whenever another process sharing the store changes a webhook;
    /// `None` when no other process can (SQLite).
    fn webhook_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>>;

    /// A counter that moves whenever another process sharing the store records an erasure;
    /// `None` when no other process can (SQLite).
    fn erasure_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>>;
}

impl StateStore for SqliteState {
    fn webhook_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    fn erasure_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

impl StateStore for PostgresState {
    fn webhook_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(PostgresState::webhook_changes(self))
    }

    fn erasure_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(PostgresState::erasure_changes(self))
    }
}

/// What the key check seals: opening it proves the configured key is the one the stored
/// secrets were sealed with.
const KEY_CHECK: &[u8] = b"eventhose state encryption key check";

/// Proves `sealer` opens `stored`, the key check sealed by the first process that used a key.
fn verify_key_check(sealer: &crypto::Sealer, stored: &[u8]) -> Result<(), StateError> {
    match sealer.open(stored, b"key_check") {
        Ok(plain) if plain == KEY_CHECK => Ok(()),
        _ => Err(StateError::WrongKey),
    }
}

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database failed.
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL server failed or refused a statement.
    #[error("state store: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool in time.
    #[error("state store: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The data directory could not be prepared.
    #[error("state store: {0}")]
    Io(#[from] std::io::Error),
    /// A value given by the caller is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A blocking task panicked or was cancelled.
    #[error("state store task failed: {0}")]
    Task(String),
    /// Encrypting or decrypting a stored secret failed.
    #[error("state store: {0}")]
    Crypto(#[from] CryptoError),
    /// The store was opened without an encryption key, and the operation needs one.
    #[error("state store: opened without an encryption key; webhooks need one")]
    NoEncryptionKey,
    /// The encryption key is not the one the stored secrets were sealed with.
    #[error("state store: the encryption key does not match the one the stored secrets were encrypted with")]
    WrongKey,
    /// A stored value could not be decoded.
    #[error("state store: corrupt stored value: {0}")]
    Corrupt(String),
}
