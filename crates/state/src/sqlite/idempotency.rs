//! [`IdempotencyStore`] on SQLite: one row per API key and idempotency key.

use rusqlite::{params, OptionalExtension};

use super::SqliteState;
use crate::idempotency::{IdempotencyStore, StoredAnswer};
use crate::StateError;

impl IdempotencyStore for SqliteState {
    fn find_answer(
        &self,
        key_id: &str,
        idempotency_key: &str,
        since: i64,
    ) -> Result<Option<StoredAnswer>, StateError> {
        self.read(|conn| {
            let found = conn
                .prepare_cached(
                    "SELECT body_digest, status, answer, created_at FROM ingest_requests
                     WHERE key_id = ?1 AND idempotency = ?2 AND created_at >= ?3",
                )?
                .query_row(params![key_id, idempotency_key, since], |row| {
                    Ok((
                        row.get::<_, Vec<u8>>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .optional()?;
            found
                .map(|(digest, status, body, created_at)| {
                    StoredAnswer::from_columns(&digest, status, body, created_at)
                })
                .transpose()
        })
    }

    fn keep_answer(
        &self,
        key_id: &str,
        idempotency_key: &str,
        answer: &StoredAnswer,
        expire_before: i64,
    ) -> Result<(), StateError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            tx.prepare_cached("DELETE FROM ingest_requests WHERE created_at < ?1")?
                .execute(params![expire_before])?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO ingest_requests
                     (key_id, idempotency, body_digest, status, answer, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                key_id,
                idempotency_key,
                &answer.request_digest[..],
                answer.status,
                answer.body,
                answer.created_at
            ])?;
            Ok(tx.commit()?)
        })
    }
}
