//! Erasure of a recipient's events: the rows, the dictionary entries only they used, and
//! their stored forms (blocks copied without them, the old blocks buried).

use std::collections::BTreeMap;

use duckdb::Connection;
use eventhose_analytics::keywords::fold_case;
use eventhose_analytics::{AnalyticsError, ErasureReport, IndexedEvent};

use super::body_commits::{bury_erased, set_length};
use super::{bodies, dictionary, layout, query_column, EventsWriter};
use crate::{engine, in_transaction, DuckStore};

/// Deletes the rows of `table` whose bodies lie at `locations`, and the dictionary entries no
/// other row uses (an erased event's values, a bounce reason naming the recipient say, must go
/// with it). Inside the caller's transaction.
fn delete_rows(conn: &Connection, table: &str, locations: &[u64]) -> Result<(), AnalyticsError> {
    let list: Vec<String> = locations.iter().map(u64::to_string).collect();
    let rows = format!("body IN ({})", list.join(", "));
    let values = dictionary::values_table(table);
    let mut sql = String::new();
    for filter in dictionary::dictionary_filters() {
        let Some(column) = layout::id_column(filter) else {
            continue;
        };
        sql.push_str(&format!(
            "DELETE FROM {values} WHERE filter = {index} \
               AND id IN (SELECT {column} FROM {table} WHERE {rows}) \
               AND id NOT IN (SELECT {column} FROM {table} WHERE NOT ({rows}) AND {column} IS NOT NULL); ",
            index = filter.index(),
        ));
    }
    sql.push_str(&format!("DELETE FROM {table} WHERE {rows};"));
    conn.execute_batch(&sql).map_err(engine)
}

impl DuckStore {
    /// Erases the events of `recipient` (see
    /// [`EventWriter::erase_recipient`](eventhose_analytics::EventWriter::erase_recipient)).
    pub(super) fn erase_events_of(&self, recipient: &str) -> Result<ErasureReport, AnalyticsError> {
        let mut writer = self.events_writer()?;
        let report = self.erase_rows(&mut writer, &fold_case(recipient))?;
        bury_erased(&writer.conn, &self.bodies)?;
        if report.total() > 0 {
            writer.recent = None;
        }
        Ok(report)
    }

    /// Deletes the rows of a (folded) recipient in one transaction that also moves the other
    /// rows of their body blocks to copies without the erased bodies and lists the old blocks
    /// as erased (see [`bodies`]); burying them is left to the caller.
    pub(super) fn erase_rows(
        &self,
        writer: &mut EventsWriter,
        wanted: &str,
    ) -> Result<ErasureReport, AnalyticsError> {
        let tables = self.day_tables()?;
        let mut report = ErasureReport::default();
        let hash = layout::lookup_hash(wanted);
        let EventsWriter {
            conn,
            lengths,
            dictionaries,
            ..
        } = writer;
        // First, each block holding an erased body is copied without it to the end of its
        // file; the transaction below moves the block's other rows to the copy.
        let mut moves = Vec::new();
        let mut grown = Vec::new();
        // The rows to delete, by body location.
        let mut doomed: Vec<(&str, Vec<u64>)> = Vec::new();
        for (_, table) in &tables {
            // The hashes select candidates; their stored forms decide (a hash collision must
            // not erase another recipient's event).
            let sql = format!(
                "SELECT body FROM {table} WHERE h_recipient = {hash} OR h_raw_rcpt = {hash}"
            );
            let candidates: Vec<u64> = query_column(conn, &sql, &[])?;
            if candidates.is_empty() {
                continue;
            }
            let stored = self
                .bodies
                .read(table, &candidates)
                .map_err(|e| AnalyticsError::engine_in(format!("stored events of {table}"), e))?;
            let mut erased: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            let mut locations = Vec::new();
            for (body, json) in candidates.into_iter().zip(stored) {
                let event = IndexedEvent::from_stored(json.as_bytes()).map_err(|e| {
                    AnalyticsError::engine_in(format!("stored event of {table}"), e)
                })?;
                if !event.recipients.iter().any(|r| r == wanted) {
                    continue;
                }
                *report.erased.entry(event.event_type).or_default() += 1;
                erased
                    .entry(bodies::block_of(body))
                    .or_default()
                    .push(bodies::index_of(body));
                locations.push(body);
            }
            if erased.is_empty() {
                continue;
            }
            doomed.push((table, locations));
            let start = lengths.get(table).copied().unwrap_or(0);
            let mut copies = Vec::new();
            for (block, indexes) in erased {
                let copy = self.bodies.without(table, block, &indexes)?;
                moves.push((table, block, start + copies.len() as u64));
                copies.extend(copy);
            }
            self.bodies.write(table, start, &copies)?;
            grown.push((table, start + copies.len() as u64));
        }
        in_transaction(conn, || {
            for (table, locations) in &doomed {
                delete_rows(conn, table, locations)?;
            }
            for (table, old, new) in &moves {
                let ((old_first, old_last), (new_first, _)) =
                    (bodies::locations_of(*old), bodies::locations_of(*new));
                conn.execute_batch(&format!(
                    "UPDATE {table} SET body = body - {old_first} + {new_first} \
                     WHERE body BETWEEN {old_first} AND {old_last}; \
                     INSERT INTO event_bodies_erased VALUES ('{table}', {old})"
                ))
                .map_err(engine)?;
            }
            for (table, length) in &grown {
                set_length(conn, table, *length)?;
            }
            Ok(())
        })?;
        for (table, length) in grown {
            lengths.insert(table.clone(), length);
        }
        // Dictionary entries only erased rows used are gone from the tables.
        for (table, _) in &doomed {
            dictionaries.remove(*table);
        }
        Ok(report)
    }
}
