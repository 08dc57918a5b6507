//! The transactional state store of eventhose: what must be exact and durable but is small
//! (API keys, webhooks and their batch statuses; suppressions as they arrive; the events the
//! subscribers writing here applied recently; the answers kept for idempotent ingest).
//!
//! The embedded backend is one SQLite file in the data directory, opened in WAL mode so that
//! `eventhose keys …` can change it while `eventhose serve` runs. Secrets that must be
//! readable again (webhook passwords, OAuth2 request bodies, signing secrets) are encrypted
//! with an [`EncryptionKey`] before they are written.

pub mod applied;
pub mod crypto;
pub mod erasures;
pub mod idempotency;
pub mod keys;
mod sqlite;
pub mod suppressions;
pub mod webhooks;

pub use applied::{AppliedBatch, AppliedEventStore};
pub use crypto::{CryptoError, EncryptionKey};
pub use erasures::{recipient_digest, ErasureStore, Tombstones};
pub use idempotency::{IdempotencyStore, StoredAnswer};
pub use keys::{
    hash_key, ApiKey, Grant, KeyStore, NewKey, UnknownGrant, ALL_GRANTS, SUBACCOUNT_GRANTS,
};
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

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database failed.
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
