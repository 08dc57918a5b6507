//! Erasure tombstones on PostgreSQL.

use super::{PostgresState, ERASURES};
use crate::erasures::{recipient_digest, ErasureStore};
use crate::StateError;

impl ErasureStore for PostgresState {
    fn record_erasure(&self, recipient: &str, at: i64) -> Result<(), StateError> {
        let digest = recipient_digest(recipient);
        self.run(move |pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let upsert = tx
                .prepare_cached(
                    "INSERT INTO erasures (recipient_digest, erased_at) VALUES ($1, $2)
                     ON CONFLICT (recipient_digest) DO UPDATE
                     SET erased_at = GREATEST(erasures.erased_at, excluded.erased_at)",
                )
                .await?;
            tx.execute(&upsert, &[&digest.as_slice(), &at]).await?;
            // Every process's tombstones learn of it (see the listener).
            tx.execute("SELECT pg_notify($1, '')", &[&ERASURES]).await?;
            Ok(tx.commit().await?)
        })
    }

    fn erasures(&self) -> Result<Vec<([u8; 32], i64)>, StateError> {
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let rows = client
                .query("SELECT recipient_digest, erased_at FROM erasures", &[])
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let digest: &[u8] = row.try_get(0)?;
                let digest = <[u8; 32]>::try_from(digest)
                    .map_err(|_| StateError::Corrupt("an erasure digest is not 32 bytes".into()))?;
                out.push((digest, row.try_get(1)?));
            }
            Ok(out)
        })
    }
}
