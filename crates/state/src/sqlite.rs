//! The SQLite backend of the state store: one file in the data directory, opened in WAL mode
//! with full syncs and secure delete. Migrations run in order at open, each in its own
//! transaction; `user_version` counts those applied. One writer connection makes every write
//! (and the reads that must see it); read-only connections beside it (`readers`) serve searches
//! and key lookups, so neither waits for a write.

mod applied;
mod erasures;
mod idempotency;
mod readers;
mod suppressions;
mod webhooks;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::crypto::{EncryptionKey, Sealer};
use crate::keys::{grants_column, new_record, parse_grants, ApiKey, KeyRecord, KeyStore, NewKey};
use crate::{unix_now, StateError};
use readers::Readers;

/// One schema migration: SQL, or a step that needs Rust (values SQL cannot compute alike).
enum Migration {
    Sql(&'static str),
    Code(fn(&Connection) -> Result<(), StateError>),
}

use Migration::{Code, Sql};

/// Schema migrations, applied in order, each in its own transaction; `user_version` records how
/// many ran.
const MIGRATIONS: &[Migration] = &[
    Sql("CREATE TABLE api_keys (
        id          TEXT PRIMARY KEY,
        label       TEXT NOT NULL,
        prefix      TEXT NOT NULL,
        hash        TEXT NOT NULL UNIQUE,
        grants      TEXT NOT NULL,
        subaccount  INTEGER,
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER
    );"),
    Sql("CREATE TABLE webhooks (
        id                     TEXT PRIMARY KEY,
        name                   TEXT NOT NULL,
        target                 TEXT NOT NULL,
        events                 TEXT NOT NULL,
        active                 INTEGER NOT NULL,
        auth_type              TEXT NOT NULL,
        auth_username          TEXT,
        auth_url               TEXT,
        custom_headers         TEXT NOT NULL,
        subaccount             INTEGER NOT NULL,
        exception_subaccounts  TEXT NOT NULL,
        secrets                BLOB NOT NULL,
        last_successful        INTEGER,
        last_failure           INTEGER,
        created_at             INTEGER NOT NULL,
        updated_at             INTEGER NOT NULL
    );
    CREATE INDEX webhooks_by_subaccount ON webhooks (subaccount);
    CREATE TABLE webhook_batches (
        webhook_id     TEXT NOT NULL,
        batch_id       TEXT NOT NULL,
        ts             INTEGER NOT NULL,
        attempts       INTEGER NOT NULL,
        response_code  INTEGER,
        failure_code   TEXT,
        batch_size     INTEGER NOT NULL,
        latency_ms     INTEGER NOT NULL,
        PRIMARY KEY (webhook_id, batch_id)
    );
    CREATE INDEX webhook_batches_by_age ON webhook_batches (ts);
    CREATE TABLE state_meta (
        name   TEXT PRIMARY KEY,
        value  BLOB NOT NULL
    );"),
    Sql("CREATE TABLE webhook_failed_batches (
        webhook_id        TEXT NOT NULL,
        batch_id          TEXT NOT NULL,
        payload           BLOB NOT NULL,
        failed_at         INTEGER NOT NULL,
        replay_requested  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (webhook_id, batch_id)
    );
    CREATE INDEX webhook_failed_batches_by_age ON webhook_failed_batches (failed_at);"),
    // Suppression lists. `subaccount` 0 is the primary account and `list_id` '' an
    // account-level entry, so that the unique key has no NULLs. `recipient_key` is the address
    // lower-cased (`suppressions::recipient_key`); `recipient` the address as last written.
    Sql("CREATE TABLE suppressions (
        id             INTEGER PRIMARY KEY,
        subaccount     INTEGER NOT NULL,
        recipient_key  TEXT NOT NULL,
        recipient      TEXT NOT NULL,
        domain         TEXT NOT NULL,
        type           TEXT NOT NULL,
        list_id        TEXT NOT NULL,
        source         TEXT NOT NULL,
        description    TEXT,
        occurred_at    INTEGER NOT NULL,
        created        INTEGER NOT NULL,
        updated        INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX suppressions_by_recipient
        ON suppressions (recipient_key, subaccount, type, list_id);
    CREATE INDEX suppressions_by_updated ON suppressions (updated);
    CREATE INDEX suppressions_by_account_updated ON suppressions (subaccount, updated);
    CREATE INDEX suppressions_by_domain ON suppressions (domain, updated);
    CREATE INDEX suppressions_by_source ON suppressions (source, subaccount);"),
    // Custom headers (often tokens) move from the clear `custom_headers` column into the
    // sealed secrets. Sealing needs the encryption key, which migrations do not have: this
    // leaves a marker, and the next open with the key seals the rows written before
    // (`webhooks::seal_clear_custom_headers`).
    Sql("INSERT OR REPLACE INTO state_meta (name, value) VALUES ('seal_custom_headers', x'01');"),
    // Erasure tombstones (`erasures.rs`): the SHA-256 of an erased, case-folded address and
    // when it was erased; never the address.
    Sql("CREATE TABLE erasures (
        recipient_digest  BLOB PRIMARY KEY,
        erased_at         INTEGER NOT NULL
    );"),
    // Suppression keys become the whole address lower-cased (they kept the local part's case);
    // entries that now share a key merge into the one written last.
    Code(suppressions::rekey_case_insensitive),
    // The identities of the events the webhooks and suppressions subscribers applied, kept
    // for their deduplication window (`applied.rs`).
    Sql("CREATE TABLE applied_events (
        subscriber  TEXT NOT NULL,
        minute      INTEGER NOT NULL,
        identities  BLOB NOT NULL
    );
    CREATE INDEX applied_events_by_minute ON applied_events (subscriber, minute);"),
    // Answers to ingest requests sent with an `Idempotency-Key` (`crate::idempotency`).
    Sql("CREATE TABLE ingest_requests (
        key_id        TEXT NOT NULL,
        idempotency   TEXT NOT NULL,
        body_digest   BLOB NOT NULL,
        status        INTEGER NOT NULL,
        answer        BLOB NOT NULL,
        created_at    INTEGER NOT NULL,
        PRIMARY KEY (key_id, idempotency)
    );
    CREATE INDEX ingest_requests_by_created ON ingest_requests (created_at);"),
    // When a worker took a failed batch's replay (`WebhookStore::claim_replays`).
    Sql("ALTER TABLE webhook_failed_batches ADD COLUMN replay_claimed_at INTEGER;"),
];

/// The embedded state store: one SQLite database file, one writer connection and a few
/// read-only ones.
pub struct SqliteState {
    /// The writer; also serves reads that must see a write of the same call.
    conn: Mutex<Connection>,
    /// Readers for the searches and lookups that need no write.
    readers: Readers,
    /// Readers for API-key lookups alone (every request makes one).
    key_readers: Readers,
    sealer: Option<Sealer>,
}

impl SqliteState {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// Without an encryption key, API keys work but webhook operations fail with
    /// [`StateError::NoEncryptionKey`]; use [`open_with_key`](Self::open_with_key) for those.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StateError> {
        if let Some(parent) = path.as_ref().parent() {
            std::fs::create_dir_all(parent)?;
        }
        let conn = Connection::open(path.as_ref())?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Deleted rows (erased recipients, removed secrets) are overwritten, not left in free
        // pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        migrate(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            readers: Readers::new(path.as_ref(), 4),
            key_readers: Readers::new(path.as_ref(), 2),
            sealer: None,
        })
    }

    /// Opens the database like [`open`](Self::open), with the key that encrypts the secrets
    /// stored with webhooks. Fails with [`StateError::WrongKey`] when the database's secrets
    /// were sealed with another key.
    pub fn open_with_key(path: impl AsRef<Path>, key: &EncryptionKey) -> Result<Self, StateError> {
        let mut state = Self::open(path)?;
        let sealer = Sealer::new(key);
        state.with(|conn| check_key(conn, &sealer))?;
        state.with(|conn| webhooks::seal_clear_custom_headers(conn, &sealer))?;
        state.sealer = Some(sealer);
        Ok(state)
    }

    /// The sealer, or [`StateError::NoEncryptionKey`].
    fn sealer(&self) -> Result<&Sealer, StateError> {
        self.sealer.as_ref().ok_or(StateError::NoEncryptionKey)
    }

    /// Runs `f` on the writer connection.
    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| StateError::Task("state connection lock poisoned".into()))?;
        f(&conn)
    }

    /// Runs `f` on a read-only connection: it sees the last commit and does not wait for the
    /// writer.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        self.readers.with(f)
    }
}

fn migrate(conn: &Connection) -> Result<(), StateError> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Applies the migrations not yet run among the first `count` (tests build older databases).
fn migrate_to(conn: &Connection, count: usize) -> Result<(), StateError> {
    let done: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    // A negative version counts as none run (and one past usize, which cannot be, as all).
    let done = usize::try_from(done.max(0)).unwrap_or(usize::MAX);
    let pending = MIGRATIONS[..count].iter().enumerate();
    for (index, migration) in pending.skip(done) {
        conn.execute_batch("BEGIN")?;
        let applied = match migration {
            Sql(sql) => conn.execute_batch(sql).map_err(StateError::from),
            Code(step) => step(conn),
        }
        .and_then(|()| {
            conn.pragma_update(None, "user_version", index as i64 + 1)?;
            Ok(conn.execute_batch("COMMIT")?)
        });
        if let Err(e) = applied {
            // The failed step changed nothing; the error says why.
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(())
}

/// Seals [`crate::KEY_CHECK`] on first use of a key, then proves `sealer` opens the stored check
/// (which another process may have written first).
fn check_key(conn: &Connection, sealer: &Sealer) -> Result<(), StateError> {
    let sealed = sealer.seal(crate::KEY_CHECK, b"key_check")?;
    conn.execute(
        "INSERT OR IGNORE INTO state_meta (name, value) VALUES ('key_check', ?1)",
        params![sealed],
    )?;
    let stored: Vec<u8> = conn.query_row(
        "SELECT value FROM state_meta WHERE name = 'key_check'",
        [],
        |row| row.get(0),
    )?;
    crate::verify_key_check(sealer, &stored)
}

fn row_to_key(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    let grants: String = row.get("grants")?;
    let subaccount: Option<i64> = row.get("subaccount")?;
    Ok(ApiKey {
        id: row.get("id")?,
        label: row.get("label")?,
        prefix: row.get("prefix")?,
        grants: parse_grants(&grants),
        subaccount: subaccount.map(|s| s as u64),
        created_at: row.get("created_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

impl KeyStore for SqliteState {
    fn create_key(&self, new: NewKey) -> Result<(ApiKey, String), StateError> {
        let KeyRecord { key, secret, hash } = new_record(new)?;
        self.with(|conn| {
            conn.execute(
                "INSERT INTO api_keys (id, label, prefix, hash, grants, subaccount, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    key.id,
                    key.label,
                    key.prefix,
                    hash,
                    grants_column(&key.grants),
                    key.subaccount.map(|s| s as i64),
                    key.created_at
                ],
            )?;
            Ok(())
        })?;
        Ok((key, secret))
    }

    fn find_key_by_hash(&self, hash: &str) -> Result<Option<ApiKey>, StateError> {
        self.key_readers.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT * FROM api_keys WHERE hash = ?1",
                    params![hash],
                    row_to_key,
                )
                .optional()?)
        })
    }

    fn list_keys(&self) -> Result<Vec<ApiKey>, StateError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT * FROM api_keys ORDER BY created_at, id")?;
            let keys = stmt
                .query_map([], row_to_key)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(keys)
        })
    }

    fn revoke_key(&self, id: &str) -> Result<bool, StateError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                params![unix_now(), id],
            )?;
            Ok(changed > 0)
        })
    }

    fn count_keys(&self) -> Result<u64, StateError> {
        self.read(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM api_keys", [], |row| row.get(0))?;
            Ok(n as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::hash_key;

    /// A store without an encryption key in a new directory (kept alive by the caller).
    pub(crate) fn store() -> (tempfile::TempDir, SqliteState) {
        let dir = tempfile::tempdir().unwrap();
        let state = SqliteState::open(dir.path().join("state.sqlite")).unwrap();
        (dir, state)
    }

    fn new_key(grants: &[&str]) -> NewKey {
        NewKey {
            label: "test".into(),
            grants: grants.iter().map(|g| g.to_string()).collect(),
            ..NewKey::default()
        }
    }

    #[test]
    fn stores_only_the_hash() {
        let (dir, state) = store();
        let (key, secret) = state.create_key(new_key(&["events/ingest"])).unwrap();
        assert_eq!(secret.len(), 40);
        assert_eq!(key.prefix, &secret[..4]);
        drop(state);
        let bytes = std::fs::read(dir.path().join("state.sqlite")).unwrap();
        let wal = std::fs::read(dir.path().join("state.sqlite-wal")).unwrap_or_default();
        let needle = secret.as_bytes();
        for file in [&bytes, &wal] {
            assert!(!file.windows(needle.len()).any(|w| w == needle));
        }
    }

    #[test]
    fn a_long_write_does_not_stall_key_lookups() {
        let (_dir, state) = store();
        let state = std::sync::Arc::new(state);
        let (_, secret) = state.create_key(new_key(&["events/ingest"])).unwrap();
        // A writer in the middle of a long transaction: the writer connection is taken and
        // the database's write lock is held.
        let writer = state.conn.lock().unwrap();
        writer
            .execute_batch(
                "BEGIN IMMEDIATE;
                 INSERT INTO api_keys (id, label, prefix, hash, grants, created_at)
                 VALUES ('w', 'w', 'w', 'w', 'events/ingest', 0);",
            )
            .unwrap();
        let (answer, answered) = std::sync::mpsc::channel();
        let reader = state.clone();
        std::thread::spawn(move || {
            let found = reader.find_key_by_hash(&hash_key(&secret));
            let counted = reader.count_keys();
            let _ = answer.send((found, counted));
        });
        let (found, counted) = answered
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the lookup waited for the writer");
        assert!(found.unwrap().is_some(), "the committed key is found");
        assert_eq!(counted.unwrap(), 1, "the open write is not seen");
        writer.execute_batch("COMMIT").unwrap();
        drop(writer);
        assert_eq!(state.count_keys().unwrap(), 2);
    }
}
