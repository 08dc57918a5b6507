//! Applied-event identities on PostgreSQL: one row per subscriber, minute and commit, the
//! identities packed in a byte string (see `crate::applied`).

use eventhose_model::AppliedId;

use super::PostgresState;
use crate::applied::{unpack, AppliedBatch, AppliedEventStore, PackedBatch};
use crate::StateError;

/// Writes a commit's identities (one statement, whatever the number of minutes) and drops the
/// rows that left the window, inside the caller's transaction.
pub(super) async fn remember(
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &PackedBatch,
) -> Result<(), StateError> {
    let (minutes, identities): (Vec<i64>, Vec<&[u8]>) = batch
        .rows
        .iter()
        .map(|(minute, packed)| (*minute, packed.as_slice()))
        .unzip();
    let insert = tx
        .prepare_cached(
            "INSERT INTO applied_events (subscriber, minute, identities)
             SELECT $1, minute, identities FROM unnest($2::BIGINT[], $3::BYTEA[])
                 AS rows (minute, identities)",
        )
        .await?;
    tx.execute(&insert, &[&batch.subscriber, &minutes, &identities])
        .await?;
    let forget = tx
        .prepare_cached("DELETE FROM applied_events WHERE subscriber = $1 AND minute < $2")
        .await?;
    tx.execute(&forget, &[&batch.subscriber, &batch.forget_before])
        .await?;
    Ok(())
}

impl AppliedEventStore for PostgresState {
    fn applied_events(&self, subscriber: &str, since: i64) -> Result<Vec<AppliedId>, StateError> {
        let subscriber = subscriber.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await?;
            let select = client
                .prepare_cached(
                    "SELECT minute, identities FROM applied_events
                     WHERE subscriber = $1 AND minute >= $2",
                )
                .await?;
            let mut found = Vec::new();
            for row in client.query(&select, &[&subscriber, &since]).await? {
                let minute: i64 = row.try_get(0)?;
                let packed: &[u8] = row.try_get(1)?;
                found.extend(unpack(packed)?.map(|identity| AppliedId { minute, identity }));
            }
            Ok(found)
        })
    }

    fn remember_applied(&self, batch: AppliedBatch<'_>) -> Result<(), StateError> {
        let batch = PackedBatch::from(batch);
        self.run(move |pool| async move {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            remember(&tx, &batch).await?;
            Ok(tx.commit().await?)
        })
    }
}
