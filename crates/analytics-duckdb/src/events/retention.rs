//! Retention: whole days dropped (table, dictionary, committed length, then file).

use chrono::{DateTime, Utc};
use eventhose_analytics::{AnalyticsError, RetentionReport};

use super::dictionary;
use super::layout::DAY;
use crate::{engine, in_transaction, poisoned, DuckStore};

impl DuckStore {
    /// Drops the days that end at or before `keep_from` (see
    /// [`EventWriter::enforce_retention`](eventhose_analytics::EventWriter::enforce_retention)).
    pub(super) fn drop_event_days(
        &self,
        keep_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError> {
        let mut writer = self.events_writer()?;
        let mut report = RetentionReport::default();
        for (day, name) in self.day_tables()? {
            if (day + 1) * DAY <= keep_from.timestamp() {
                // The table and its committed length go together; the file after them (a
                // crash in between leaves a file of no table, removed at open).
                in_transaction(&writer.conn, || {
                    writer
                        .conn
                        .execute_batch(&format!(
                            "DROP TABLE IF EXISTS {name}; \
                             DROP TABLE IF EXISTS {values}; \
                             DELETE FROM event_bodies WHERE day_table = '{name}'; \
                             DELETE FROM event_bodies_erased WHERE day_table = '{name}';",
                            values = dictionary::values_table(&name),
                        ))
                        .map_err(engine)
                })?;
                self.bodies.remove(&name)?;
                writer.lengths.remove(&name);
                writer.dictionaries.remove(&name);
                self.tables.write().map_err(poisoned)?.remove(&name);
                self.event_types.forget(&name);
                report.dropped.push(name);
            }
        }
        if !report.dropped.is_empty() {
            // Forgotten events may be stored again: reload the window's identities.
            writer.recent = None;
        }
        Ok(report)
    }
}
