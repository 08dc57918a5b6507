//! [`WebhookStore`] on SQLite, in the stored form of [`crate::webhooks::stored`].
//!
//! The `custom_headers` column held the headers in clear before they were sealed; it now holds
//! `[]`. Rows written before are sealed the next time the store is opened with its key
//! ([`seal_clear_custom_headers`]).

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::SqliteState;
use crate::crypto::Sealer;
use crate::unix_now;
use crate::webhooks::stored::{
    claim_times, from_json, latency_column, latency_from_column, limit_parameter, new_record,
    oldest_first, owner_range, rotate_secret, StoredWebhook,
};
use crate::webhooks::{
    BatchStatus, NewWebhook, Webhook, WebhookChanges, WebhookOwner, WebhookStore,
};
use crate::StateError;

/// The `state_meta` row migration 5 leaves behind until every row written before it has its
/// custom headers sealed.
pub(super) const SEAL_HEADERS_PENDING: &str = "seal_custom_headers";

/// What the `custom_headers` column holds now that the headers are sealed.
const NO_CLEAR_HEADERS: &str = "[]";

/// A `webhooks` row as stored, and its clear `custom_headers` column (what rows written before
/// the headers were sealed hold them in).
fn read_row(row: &Row<'_>) -> rusqlite::Result<(StoredWebhook, String)> {
    let stored = StoredWebhook {
        id: row.get("id")?,
        name: row.get("name")?,
        target: row.get("target")?,
        events: row.get("events")?,
        active: row.get("active")?,
        auth_type: row.get("auth_type")?,
        auth_username: row.get("auth_username")?,
        auth_url: row.get("auth_url")?,
        subaccount: row.get("subaccount")?,
        exception_subaccounts: row.get("exception_subaccounts")?,
        secrets: row.get("secrets")?,
        last_successful: row.get("last_successful")?,
        last_failure: row.get("last_failure")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    };
    Ok((stored, row.get("custom_headers")?))
}

/// Opens a row [`read_row`] read; its custom headers are in the clear column if the secrets do
/// not hold them.
fn open_row(
    (stored, clear_headers): (StoredWebhook, String),
    sealer: &Sealer,
) -> Result<Webhook, StateError> {
    stored.open(sealer, || from_json(&clear_headers))
}

/// Writes every column of `webhook` (insert, or update in place: the row keeps its place in
/// the creation order), sealing its secrets.
fn write(conn: &Connection, sealer: &Sealer, webhook: &Webhook) -> Result<(), StateError> {
    let row = StoredWebhook::seal(webhook, sealer)?;
    conn.execute(
        "INSERT INTO webhooks (id, name, target, events, active, auth_type,
             auth_username, auth_url, custom_headers, subaccount, exception_subaccounts,
             secrets, last_successful, last_failure, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, target = excluded.target,
             events = excluded.events, active = excluded.active,
             auth_type = excluded.auth_type, auth_username = excluded.auth_username,
             auth_url = excluded.auth_url, custom_headers = excluded.custom_headers,
             subaccount = excluded.subaccount,
             exception_subaccounts = excluded.exception_subaccounts,
             secrets = excluded.secrets, last_successful = excluded.last_successful,
             last_failure = excluded.last_failure, created_at = excluded.created_at,
             updated_at = excluded.updated_at",
        params![
            row.id,
            row.name,
            row.target,
            row.events,
            row.active,
            row.auth_type,
            row.auth_username,
            row.auth_url,
            NO_CLEAR_HEADERS,
            row.subaccount,
            row.exception_subaccounts,
            row.secrets,
            row.last_successful,
            row.last_failure,
            row.created_at,
            row.updated_at,
        ],
    )?;
    Ok(())
}

/// Seals the custom headers that rows written before migration 5 hold in clear, once: runs
/// while the migration's marker is in `state_meta`, and removes it. The old text is
/// overwritten (`secure_delete`) and the WAL checkpointed, so that it does not linger in the
/// files.
pub(super) fn seal_clear_custom_headers(
    conn: &Connection,
    sealer: &Sealer,
) -> Result<(), StateError> {
    let pending: i64 = conn.query_row(
        "SELECT COUNT(*) FROM state_meta WHERE name = ?1",
        params![SEAL_HEADERS_PENDING],
        |row| row.get(0),
    )?;
    if pending == 0 {
        return Ok(());
    }
    let secure_delete: i64 = conn.pragma_query_value(None, "secure_delete", |row| row.get(0))?;
    conn.pragma_update(None, "secure_delete", 1)?;
    let resealed = reseal_clear_headers(conn, sealer);
    conn.pragma_update(None, "secure_delete", secure_delete)?;
    if resealed? > 0 {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// Rewrites every row whose `custom_headers` column is not empty (which seals the headers),
/// and drops the marker, in one transaction; returns how many rows were rewritten.
fn reseal_clear_headers(conn: &Connection, sealer: &Sealer) -> Result<usize, StateError> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let mut statement = tx.prepare("SELECT id FROM webhooks WHERE custom_headers <> ?1")?;
    let ids = statement
        .query_map(params![NO_CLEAR_HEADERS], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    drop(statement);
    for id in &ids {
        if let Some(webhook) = read_one(&tx, sealer, id)? {
            write(&tx, sealer, &webhook)?;
        }
    }
    tx.execute(
        "DELETE FROM state_meta WHERE name = ?1",
        params![SEAL_HEADERS_PENDING],
    )?;
    tx.commit()?;
    Ok(ids.len())
}

fn read_one(conn: &Connection, sealer: &Sealer, id: &str) -> Result<Option<Webhook>, StateError> {
    conn.query_row(
        "SELECT * FROM webhooks WHERE id = ?1",
        params![id],
        read_row,
    )
    .optional()?
    .map(|row| open_row(row, sealer))
    .transpose()
}

/// Reads, changes and writes back one webhook inside a transaction; `None` if it is missing.
fn modify<T>(
    conn: &Connection,
    sealer: &Sealer,
    id: &str,
    change: impl FnOnce(&mut Webhook) -> T,
) -> Result<Option<(Webhook, T)>, StateError> {
    let tx = conn.unchecked_transaction()?;
    let Some(mut webhook) = read_one(&tx, sealer, id)? else {
        return Ok(None);
    };
    let outcome = change(&mut webhook);
    webhook.updated_at = unix_now();
    write(&tx, sealer, &webhook)?;
    tx.commit()?;
    Ok(Some((webhook, outcome)))
}

fn read_batch(row: &Row<'_>) -> rusqlite::Result<BatchStatus> {
    Ok(BatchStatus {
        batch_id: row.get("batch_id")?,
        webhook_id: row.get("webhook_id")?,
        ts: row.get("ts")?,
        attempts: row.get("attempts")?,
        response_code: row.get("response_code")?,
        failure_code: row.get("failure_code")?,
        batch_size: row.get("batch_size")?,
        latency_ms: latency_from_column(row.get("latency_ms")?),
    })
}

fn count_owned(conn: &Connection, owner: WebhookOwner) -> Result<usize, StateError> {
    let (low, high) = owner_range(Some(owner));
    let count: i64 = conn.query_row(
        "SELECT COUNT(*) FROM webhooks WHERE subaccount BETWEEN ?1 AND ?2",
        params![low, high],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(count).unwrap_or(0))
}

impl WebhookStore for SqliteState {
    fn create_webhook(&self, new: NewWebhook) -> Result<Webhook, StateError> {
        let sealer = self.sealer()?;
        let webhook = new_record(new);
        self.with(|conn| write(conn, sealer, &webhook))?;
        Ok(webhook)
    }

    fn create_webhook_within(
        &self,
        new: NewWebhook,
        limit: usize,
    ) -> Result<Option<Webhook>, StateError> {
        let sealer = self.sealer()?;
        let owner = new.scope.owner();
        let webhook = new_record(new);
        self.with(|conn| {
            // Immediate: the count holds until the insert commits, in other processes too.
            let tx = rusqlite::Transaction::new_unchecked(
                conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            if count_owned(&tx, owner)? >= limit {
                return Ok(None);
            }
            write(&tx, sealer, &webhook)?;
            tx.commit()?;
            Ok(Some(webhook))
        })
    }

    fn count_webhooks(&self, owner: WebhookOwner) -> Result<usize, StateError> {
        self.with(|conn| count_owned(conn, owner))
    }

    fn get_webhook(&self, id: &str) -> Result<Option<Webhook>, StateError> {
        let sealer = self.sealer()?;
        self.with(|conn| read_one(conn, sealer, id))
    }

    fn list_webhooks(&self, owner: Option<WebhookOwner>) -> Result<Vec<Webhook>, StateError> {
        let sealer = self.sealer()?;
        let (low, high) = owner_range(owner);
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT * FROM webhooks WHERE subaccount BETWEEN ?1 AND ?2
                 ORDER BY created_at, rowid",
            )?;
            let rows = stmt
                .query_map(params![low, high], read_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(|row| open_row(row, sealer)).collect()
        })
    }

    fn update_webhook(
        &self,
        id: &str,
        changes: WebhookChanges,
    ) -> Result<Option<Webhook>, StateError> {
        let sealer = self.sealer()?;
        let changed =
            self.with(|conn| modify(conn, sealer, id, |webhook| changes.apply_to(webhook)))?;
        Ok(changed.map(|(webhook, ())| webhook))
    }

    fn delete_webhook(&self, id: &str) -> Result<bool, StateError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "DELETE FROM webhook_batches WHERE webhook_id = ?1",
                params![id],
            )?;
            tx.execute(
                "DELETE FROM webhook_failed_batches WHERE webhook_id = ?1",
                params![id],
            )?;
            let deleted = tx.execute("DELETE FROM webhooks WHERE id = ?1", params![id])?;
            tx.commit()?;
            Ok(deleted > 0)
        })
    }

    fn rotate_signing_secret(
        &self,
        id: &str,
        grace: Duration,
    ) -> Result<Option<String>, StateError> {
        let sealer = self.sealer()?;
        let rotated =
            self.with(|conn| modify(conn, sealer, id, |webhook| rotate_secret(webhook, grace)))?;
        Ok(rotated.map(|(_, secret)| secret))
    }

    fn record_batch_status(&self, status: &BatchStatus) -> Result<(), StateError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO webhook_batches (webhook_id, batch_id, ts, attempts,
                     response_code, failure_code, batch_size, latency_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    status.webhook_id,
                    status.batch_id,
                    status.ts,
                    status.attempts,
                    status.response_code,
                    status.failure_code,
                    status.batch_size,
                    latency_column(status.latency_ms),
                ],
            )?;
            Ok(())
        })
    }

    fn batch_statuses(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<BatchStatus>, StateError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT * FROM webhook_batches WHERE webhook_id = ?1
                 ORDER BY ts DESC, rowid DESC LIMIT ?2",
            )?;
            let statuses = stmt
                .query_map(params![webhook_id, limit_parameter(limit)], read_batch)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(statuses)
        })
    }

    fn prune_batch_statuses(&self, older_than: i64) -> Result<u64, StateError> {
        self.with(|conn| {
            let removed = conn.execute(
                "DELETE FROM webhook_batches WHERE ts < ?1",
                params![older_than],
            )?;
            conn.execute(
                "DELETE FROM webhook_failed_batches WHERE failed_at < ?1",
                params![older_than],
            )?;
            Ok(removed as u64)
        })
    }

    fn mark_delivery(&self, id: &str, success: bool, at: i64) -> Result<bool, StateError> {
        let column = if success {
            "last_successful"
        } else {
            "last_failure"
        };
        self.with(|conn| {
            let changed = conn.execute(
                &format!("UPDATE webhooks SET {column} = ?1 WHERE id = ?2"),
                params![at, id],
            )?;
            Ok(changed > 0)
        })
    }

    fn deactivate_webhook(&self, id: &str) -> Result<bool, StateError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE webhooks SET active = 0, updated_at = ?1 WHERE id = ?2",
                params![unix_now(), id],
            )?;
            Ok(changed > 0)
        })
    }

    fn keep_failed_batch(
        &self,
        webhook_id: &str,
        batch_id: &str,
        payload: &[u8],
        at: i64,
    ) -> Result<(), StateError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO webhook_failed_batches (webhook_id, batch_id, payload, failed_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![webhook_id, batch_id, payload, at],
            )?;
            Ok(())
        })
    }

    fn request_replay(&self, webhook_id: &str, batch_id: &str) -> Result<bool, StateError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE webhook_failed_batches SET replay_requested = 1, replay_claimed_at = NULL
                 WHERE webhook_id = ?1 AND batch_id = ?2",
                params![webhook_id, batch_id],
            )?;
            Ok(changed > 0)
        })
    }

    fn claim_replays(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError> {
        let (now, cutoff) = claim_times(lease);
        let claimed = self.with(|conn| {
            let mut statement = conn.prepare_cached(
                "UPDATE webhook_failed_batches SET replay_claimed_at = ?1
                 WHERE rowid IN (
                     SELECT rowid FROM webhook_failed_batches
                     WHERE replay_requested = 1
                         AND (replay_claimed_at IS NULL OR replay_claimed_at <= ?2)
                     ORDER BY failed_at, webhook_id, batch_id LIMIT ?3)
                 RETURNING failed_at, webhook_id, batch_id, payload",
            )?;
            let rows = statement
                .query_map(params![now, cutoff, limit_parameter(limit)], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        Ok(oldest_first(claimed))
    }

    fn forget_failed_batch(&self, webhook_id: &str, batch_id: &str) -> Result<(), StateError> {
        self.with(|conn| {
            conn.execute(
                "DELETE FROM webhook_failed_batches WHERE webhook_id = ?1 AND batch_id = ?2",
                params![webhook_id, batch_id],
            )?;
            Ok(())
        })
    }

    fn failed_batches(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StateError> {
        let (webhook_id, batch_id) = after.unwrap_or(("", ""));
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT webhook_id, batch_id, payload FROM webhook_failed_batches
                 WHERE (webhook_id, batch_id) > (?1, ?2)
                 ORDER BY webhook_id, batch_id LIMIT ?3",
            )?;
            let rows = statement
                .query_map(
                    params![webhook_id, batch_id, limit_parameter(limit)],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn replace_failed_batch(
        &self,
        webhook_id: &str,
        batch_id: &str,
        payload: &[u8],
    ) -> Result<bool, StateError> {
        self.with(|conn| {
            let changed = conn.execute(
                "UPDATE webhook_failed_batches SET payload = ?3
                 WHERE webhook_id = ?1 AND batch_id = ?2",
                params![webhook_id, batch_id, payload],
            )?;
            Ok(changed > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::EncryptionKey;
    use crate::webhooks::generate_signing_secret;
    use crate::webhooks::testing::{store_every_kind_of_secret, CLEAR_USERNAME};

    #[test]
    fn secrets_are_not_stored_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let state =
            SqliteState::open_with_key(dir.path().join("state.sqlite"), &EncryptionKey::generate())
                .unwrap();
        let secrets = store_every_kind_of_secret(&state);
        drop(state);
        let mut bytes = std::fs::read(dir.path().join("state.sqlite")).unwrap();
        bytes.extend(std::fs::read(dir.path().join("state.sqlite-wal")).unwrap_or_default());
        let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            contains(CLEAR_USERNAME),
            "the user name is stored, and the scan works"
        );
        for secret in &secrets {
            assert!(!contains(secret), "{secret} is stored in clear");
        }
    }

    #[test]
    fn database_file_cannot_leak_custom_headers_written_before_they_were_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let key = EncryptionKey::generate();
        let token = "legacy-header-token-0815";
        let id = "3f6d9a7e-0000-4000-8000-000000000001";
        {
            // A database as the release before the sealing left it: four migrations, and a
            // webhook whose custom headers are in the clear column, not in the secrets.
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            super::super::migrate_to(&conn, 4).unwrap();
            let sealer = Sealer::new(&key);
            check_key_row(&conn, &sealer);
            let secrets = serde_json::json!({
                "signing": {"current": generate_signing_secret(), "previous": null}
            });
            let sealed = sealer
                .seal(secrets.to_string().as_bytes(), id.as_bytes())
                .unwrap();
            let clear = serde_json::json!([["X-Api-Key", token], ["X-Team", "mail"]]);
            conn.execute(
                "INSERT INTO webhooks (id, name, target, events, active, auth_type,
                     custom_headers, subaccount, exception_subaccounts, secrets,
                     created_at, updated_at)
                 VALUES (?1, 'old', 'https://x.example/', '[\"delivery\"]', 1, 'none',
                     ?2, -1, '[]', ?3, 1, 1)",
                params![id, clear.to_string(), sealed],
            )
            .unwrap();
        }
        let contains = |needle: &str| {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend(std::fs::read(dir.path().join("state.sqlite-wal")).unwrap_or_default());
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        };
        assert!(contains(token), "the legacy row holds the token in clear");

        // A keyless open (`eventhose keys …`) migrates the schema but cannot seal yet.
        drop(SqliteState::open(&path).unwrap());
        let state = SqliteState::open_with_key(&path, &key).unwrap();
        let hook = state.get_webhook(id).unwrap().unwrap();
        assert_eq!(
            hook.custom_headers,
            [
                ("X-Api-Key".to_string(), token.to_string()),
                ("X-Team".to_string(), "mail".to_string())
            ]
        );
        drop(state);
        assert!(!contains(token), "the token is still in the files in clear");

        // Done once: the marker is gone, and reopening changes nothing.
        let state = SqliteState::open_with_key(&path, &key).unwrap();
        let pending: i64 = state
            .with(|conn| {
                Ok(conn.query_row(
                    "SELECT COUNT(*) FROM state_meta WHERE name = ?1",
                    params![SEAL_HEADERS_PENDING],
                    |row| row.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(pending, 0);
        assert_eq!(state.get_webhook(id).unwrap(), Some(hook));
    }

    /// Stores the key check the way `open_with_key` does, for a database built by hand.
    fn check_key_row(conn: &Connection, sealer: &Sealer) {
        super::super::check_key(conn, sealer).unwrap();
    }
}
