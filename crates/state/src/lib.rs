//! The transactional state store of eventhose: what must be exact and durable but is small
//! (API keys today; webhooks and suppressions as they arrive).
//!
//! The embedded backend is one SQLite file in the data directory, opened in WAL mode so that
//! `eventhose keys …` can change it while `eventhose serve` runs.

pub mod keys;
mod sqlite;

pub use keys::{
    hash_key, ApiKey, Grant, KeyStore, NewKey, UnknownGrant, ALL_GRANTS, SUBACCOUNT_GRANTS,
};
pub use sqlite::SqliteState;

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
}
