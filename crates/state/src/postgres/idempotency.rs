//! [`IdempotencyStore`] on PostgreSQL: one row per API key and idempotency key.

use super::PostgresState;
use crate::idempotency::{IdempotencyStore, StoredAnswer};
use crate::StateError;

impl IdempotencyStore for PostgresState {
    fn find_answer(
        &self,
        key_id: &str,
        idempotency_key: &str,
        since: i64,
    ) -> Result<Option<StoredAnswer>, StateError> {
        let (key_id, idempotency_key) = (key_id.to_owned(), idempotency_key.to_owned());
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let select = client
                .prepare_cached(
                    "SELECT body_digest, status, answer, created_at FROM ingest_requests
                     WHERE key_id = $1 AND idempotency = $2 AND created_at >= $3",
                )
                .await?;
            let Some(row) = client
                .query_opt(&select, &[&key_id, &idempotency_key, &since])
                .await?
            else {
                return Ok(None);
            };
            let status: i32 = row.try_get(1)?;
            StoredAnswer::from_columns(
                row.try_get(0)?,
                i64::from(status),
                row.try_get(2)?,
                row.try_get(3)?,
            )
            .map(Some)
        })
    }

    fn keep_answer(
        &self,
        key_id: &str,
        idempotency_key: &str,
        answer: &StoredAnswer,
        expire_before: i64,
    ) -> Result<(), StateError> {
        let (key_id, idempotency_key) = (key_id.to_owned(), idempotency_key.to_owned());
        let answer = answer.clone();
        self.run(move |pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let expire = tx
                .prepare_cached("DELETE FROM ingest_requests WHERE created_at < $1")
                .await?;
            tx.execute(&expire, &[&expire_before]).await?;
            let insert = tx
                .prepare_cached(
                    "INSERT INTO ingest_requests
                         (key_id, idempotency, body_digest, status, answer, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (key_id, idempotency) DO NOTHING",
                )
                .await?;
            tx.execute(
                &insert,
                &[
                    &key_id,
                    &idempotency_key,
                    &answer.request_digest.as_slice(),
                    &i32::from(answer.status),
                    &answer.body,
                    &answer.created_at,
                ],
            )
            .await?;
            Ok(tx.commit().await?)
        })
    }
}
