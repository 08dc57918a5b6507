//! Applied-event identities in SQLite: one row per subscriber, minute and commit, the
//! identities packed in a blob (see `crate::applied`).

use std::collections::BTreeMap;

use eventhose_model::AppliedId;
use rusqlite::{params, Connection};

use super::SqliteState;
use crate::applied::{pack, unpack, AppliedBatch, AppliedEventStore};
use crate::StateError;

/// Writes a commit's identities and drops the rows that left the window, inside the caller's
/// transaction when it has one.
pub(super) fn remember(conn: &Connection, batch: AppliedBatch<'_>) -> Result<(), StateError> {
    let mut by_minute: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    for id in batch.ids {
        by_minute.entry(id.minute).or_default().push(id.identity);
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO applied_events (subscriber, minute, identities) VALUES (?1, ?2, ?3)",
    )?;
    for (minute, identities) in by_minute {
        insert.execute(params![
            batch.subscriber,
            minute,
            pack(identities.into_iter())
        ])?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(minute: i64, identity: u64) -> AppliedId {
        AppliedId { minute, identity }
    }

    #[test]
    fn identities_are_kept_per_subscriber_until_they_leave_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let state = SqliteState::open(&path).unwrap();
        fn batch<'a>(
            subscriber: &'a str,
            ids: &'a [AppliedId],
            forget_before: i64,
        ) -> AppliedBatch<'a> {
            AppliedBatch {
                subscriber,
                ids,
                forget_before,
            }
        }
        state
            .remember_applied(batch("webhooks", &[id(10, 1), id(11, 2)], 0))
            .unwrap();
        state
            .remember_applied(batch("suppressions", &[id(10, 3)], 0))
            .unwrap();
        drop(state);

        let state = SqliteState::open(&path).unwrap();
        let mut kept = state.applied_events("webhooks", 0).unwrap();
        kept.sort_by_key(|id| id.identity);
        assert_eq!(kept, [id(10, 1), id(11, 2)]);
        assert_eq!(state.applied_events("webhooks", 11).unwrap(), [id(11, 2)]);
        state
            .remember_applied(batch("webhooks", &[id(12, 4)], 11))
            .unwrap();
        let mut kept = state.applied_events("webhooks", 0).unwrap();
        kept.sort_by_key(|id| id.identity);
        assert_eq!(kept, [id(11, 2), id(12, 4)], "minute 10 left the window");
        assert_eq!(
            state.applied_events("suppressions", 0).unwrap(),
            [id(10, 3)]
        );
    }
}
