//! Applied-event identities in SQLite: one row per subscriber, minute and commit, the
//! identities packed in a blob (see `crate::applied`).

use eventhose_model::AppliedId;
use rusqlite::{params, Connection};

use super::SqliteState;
use crate::applied::{unpack, AppliedBatch, AppliedEventStore, PackedBatch};
use crate::StateError;

/// Writes a commit's identities and drops the rows that left the window, inside the caller's
/// transaction when it has one.
pub(super) fn remember(conn: &Connection, batch: AppliedBatch<'_>) -> Result<(), StateError> {
    let batch = PackedBatch::from(batch);
    let mut insert = conn.prepare_cached(
        "INSERT INTO applied_events (subscriber, minute, identities) VALUES (?1, ?2, ?3)",
    )?;
    for (minute, identities) in &batch.rows {
        insert.execute(params![batch.subscriber, minute, identities])?;
    }
    conn.prepare_cached("DELETE FROM applied_events WHERE subscriber = ?1 AND minute < ?2")?
        .execute(params![batch.subscriber, batch.forget_before])?;
    Ok(())
}

impl AppliedEventStore for SqliteState {
    fn applied_events(&self, subscriber: &str, since: i64) -> Result<Vec<AppliedId>, StateError> {
        self.read(|conn| {
            let mut select = conn.prepare_cached(
                "SELECT minute, identities FROM applied_events
                 WHERE subscriber = ?1 AND minute >= ?2",
            )?;
            let mut rows = select.query(params![subscriber, since])?;
            let mut found = Vec::new();
            while let Some(row) = rows.next()? {
                let minute: i64 = row.get(0)?;
                let packed: Vec<u8> = row.get(1)?;
                found.extend(unpack(&packed)?.map(|identity| AppliedId { minute, identity }));
            }
            Ok(found)
        })
    }

    fn remember_applied(&self, batch: AppliedBatch<'_>) -> Result<(), StateError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            remember(&tx, batch)?;
            Ok(tx.commit()?)
        })
    }
}
