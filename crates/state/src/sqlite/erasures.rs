//! Erasure tombstones in SQLite.

use rusqlite::params;

use super::SqliteState;
use crate::erasures::{recipient_digest, ErasureStore};
use crate::StateError;

impl ErasureStore for SqliteState {
    fn record_erasure(&self, recipient: &str, at: i64) -> Result<(), StateError> {
        let digest = recipient_digest(recipient);
        self.with(|conn| {
            conn.execute(
                "INSERT INTO erasures (recipient_digest, erased_at) VALUES (?1, ?2)
                 ON CONFLICT (recipient_digest) DO UPDATE
                 SET erased_at = max(erased_at, excluded.erased_at)",
                params![digest.as_slice(), at],
            )?;
            Ok(())
        })
    }

    fn erasures(&self) -> Result<Vec<([u8; 32], i64)>, StateError> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT recipient_digest, erased_at FROM erasures")?;
            let rows = stmt.query_map([], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (digest, at) = row?;
                // Rows are written by `record_erasure` only, always 32 bytes.
                if let Ok(digest) = <[u8; 32]>::try_from(digest.as_slice()) {
                    out.push((digest, at));
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erasures::Tombstones;

    #[test]
    fn tombstones_survive_reopening_and_keep_no_address() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let state = SqliteState::open(&path).unwrap();
        state.record_erasure("Ann@Example.com", 100).unwrap();
        state.record_erasure("ann@example.com", 50).unwrap();
        drop(state);
        let state = SqliteState::open(&path).unwrap();
        let tombstones = Tombstones::load(&state).unwrap();
        assert!(tombstones.erased("ann@example.com", 100));
        assert!(!tombstones.erased("ann@example.com", 101));
        drop(state);
        for file in ["state.sqlite", "state.sqlite-wal"] {
            let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
            let needle = b"example.com";
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{file}");
        }
    }

    #[test]
    fn deleted_rows_leave_no_text_in_free_pages() {
        use crate::suppressions::{
            ListSelector, SuppressionDeletion, SuppressionSource, SuppressionStore,
            SuppressionType, SuppressionUpsert, WhenKept,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let state = SqliteState::open(&path).unwrap();
        let secret_address = "erase-me-please@example.org";
        let entry = SuppressionUpsert {
            recipient: secret_address.into(),
            suppression_type: SuppressionType::NonTransactional,
            source: SuppressionSource::ManuallyAdded,
            description: Some("asked".into()),
            list_id: None,
            subaccount: None,
            occurred_at: 1,
        };
        state
            .upsert_suppressions(vec![entry], WhenKept::Abort)
            .unwrap();
        let deletion = SuppressionDeletion {
            recipient: secret_address.into(),
            subaccount: None,
            suppression_type: None,
            list: ListSelector::Any,
        };
        state.delete_suppressions(&deletion).unwrap();
        state
            .with(|conn| {
                conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
                Ok(())
            })
            .unwrap();
        drop(state);
        for file in ["state.sqlite", "state.sqlite-wal"] {
            let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
            let needle = secret_address.as_bytes();
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{file}");
        }
    }
}
