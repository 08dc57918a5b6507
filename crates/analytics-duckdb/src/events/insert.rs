//! Storing a batch of events: duplicates sorted out (within the batch, against [`RecentIds`],
//! then in the day tables), bodies packed into the day files, rows appended as Arrow batches
//! in one transaction with the sequence number and the hose position.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;

use duckdb::Connection;
use eventhose_analytics::{AnalyticsError, EventBatch, InsertReport, MayStore, StoredEvent};

use super::body_commits::set_length;
use super::dictionary::{self, DayDictionary};
use super::layout::{self, day_table, DayRows, DAY};
use super::recent::{identity, RecentIds};
use super::types_held::TypeSet;
use super::{bodies, now, EventsWriter, EVENTS_POSITION, EVENTS_SEQUENCE};
use crate::{engine, in_transaction, poisoned, DuckStore};

/// How many days' dictionaries the writer keeps in memory: today's and yesterday's, which
/// take nearly every event; an older day's is read from its table when one of its events comes.
const DICTIONARIES_KEPT: usize = 2;

/// Appends an Arrow batch to `table` (inside the caller's transaction).
fn append(
    conn: &Connection,
    table: &str,
    rows: duckdb::arrow::record_batch::RecordBatch,
) -> Result<(), AnalyticsError> {
    let mut appender = conn.appender(table).map_err(engine)?;
    appender.append_record_batch(rows).map_err(engine)?;
    appender.flush().map_err(engine)
}

impl DuckStore {
    /// Stores a batch (see [`EventWriter::insert`](eventhose_analytics::EventWriter::insert)).
    pub(super) fn insert_events(
        &self,
        batch: &EventBatch,
        position: Option<u64>,
        may_store: MayStore<'_>,
    ) -> Result<InsertReport, AnalyticsError> {
        let mut writer = self.events_writer()?;
        let inserted = self.insert_locked(&mut writer, batch, position, may_store);
        if inserted.is_err() {
            // The dictionaries may hold entries no table has: read them again when needed.
            writer.dictionaries.clear();
        }
        inserted
    }

    /// Reads the identities of the stored events of the redelivery window.
    fn load_recent(&self, writer: &EventsWriter) -> Result<RecentIds, AnalyticsError> {
        let tables = self.day_tables()?;
        // The newest timestamp that may move the floor (see `RecentIds`).
        let limit = now().saturating_add(writer.window);
        let mut newest = None;
        for (_, table) in tables.iter().rev() {
            let max: Option<i64> = writer
                .conn
                .query_row(
                    &format!("SELECT max(ts) FROM {table} WHERE ts <= {limit}"),
                    [],
                    |row| row.get(0),
                )
                .map_err(engine)?;
            if max.is_some() {
                newest = max;
                break;
            }
        }
        let Some(newest) = newest else {
            return Ok(RecentIds::new(writer.window, writer.max_recent_ids));
        };
        let floor = newest - writer.window;
        let mut stored = Vec::new();
        for (day, table) in &tables {
            if (day + 1) * DAY <= floor {
                continue;
            }
            let sql = format!("SELECT ts, h_event_id, subaccount FROM {table} WHERE ts >= {floor}");
            let mut statement = writer.conn.prepare(&sql).map_err(engine)?;
            let rows = statement
                .query_map([], |row| {
                    Ok((row.get::<_, i64>(0)?, identity(row.get(2)?, row.get(1)?)))
                })
                .map_err(engine)?;
            for row in rows {
                stored.push(row.map_err(engine)?);
            }
        }
        let mut recent = RecentIds::with_newest(writer.window, writer.max_recent_ids, newest);
        recent.extend(stored, now());
        Ok(recent)
    }

    /// Stores a batch (see [`DuckStore::insert_events`]) with the writer held.
    fn insert_locked(
        &self,
        writer: &mut EventsWriter,
        batch: &EventBatch,
        position: Option<u64>,
        may_store: MayStore<'_>,
    ) -> Result<InsertReport, AnalyticsError> {
        if writer.recent.is_none() {
            writer.recent = Some(self.load_recent(writer)?);
        }
        let EventsWriter {
            conn,
            recent,
            lengths,
            dictionaries,
            packer,
            ..
        } = writer;
        let Some(recent) = recent.as_mut() else {
            return Err(AnalyticsError::Internal(
                "recent event ids not loaded".into(),
            ));
        };
        // Checked with the writer held, which erasures take too.
        let events: Vec<&StoredEvent> = batch
            .events()
            .iter()
            .filter(|event| may_store(&event.indexed))
            .collect();
        let mut report = InsertReport {
            erased: (batch.len() - events.len()) as u64,
            ..InsertReport::default()
        };
        // Sort out duplicates: within the batch, in the window, then (older events) in the
        // day tables.
        let mut keys: hashbrown::HashSet<(i64, u64)> =
            hashbrown::HashSet::with_capacity(events.len());
        let mut fresh: Vec<Option<u64>> = Vec::with_capacity(events.len());
        let mut late: BTreeMap<i64, Vec<(usize, &StoredEvent)>> = BTreeMap::new();
        for (i, event) in events.iter().enumerate() {
            let ts = event.indexed.timestamp;
            let id = identity(
                event.indexed.subaccount,
                layout::lookup_hash(&event.indexed.event_id),
            );
            let new = keys.insert((ts, id)) && !(recent.covers(ts) && recent.contains(ts, id));
            if new && !recent.covers(ts) {
                late.entry(ts.div_euclid(DAY))
                    .or_default()
                    .push((i, *event));
            }
            fresh.push(new.then_some(id));
        }
        let stored_tables = self.table_names()?;
        for (day, rows) in &late {
            let table = day_table(*day);
            if !stored_tables.contains(&table) {
                continue;
            }
            for i in stored_already(conn, &table, rows).map_err(engine)? {
                fresh[i] = None;
            }
        }

        let mut fresh_by_day: BTreeMap<i64, Vec<(&StoredEvent, u64)>> = BTreeMap::new();
        for (event, id) in events.iter().zip(&fresh) {
            match id {
                Some(id) => fresh_by_day
                    .entry(event.indexed.timestamp.div_euclid(DAY))
                    .or_default()
                    .push((*event, *id)),
                None => report.duplicates += 1,
            }
        }
        let before = self.event_sequence.load(Ordering::Acquire);
        let mut sequence = before;
        let mut by_day = Vec::with_capacity(fresh_by_day.len());
        let mut appended = Vec::new();
        let mut types_added = Vec::with_capacity(fresh_by_day.len());
        let mut written = Vec::with_capacity(fresh_by_day.len());
        for (day, fresh) in fresh_by_day {
            let table = day_table(day);
            let offset = lengths.get(&table).copied().unwrap_or(0);
            let bodies: Vec<&[u8]> = fresh.iter().map(|(e, _)| &e.json[..]).collect();
            let (packed, locations) = packer.pack(&bodies, offset)?;
            if !dictionaries.contains_key(&table) {
                let loaded = DayDictionary::load(conn, &table).map_err(engine)?;
                dictionaries.insert(table.clone(), loaded);
            }
            let dictionary = dictionaries
                .get_mut(&table)
                .ok_or_else(|| AnalyticsError::Internal("dictionary not loaded".into()))?;
            let mut rows = DayRows::with_capacity(fresh.len());
            let mut types = TypeSet::default();
            for ((event, id), body) in fresh.into_iter().zip(locations) {
                sequence += 1;
                rows.push(sequence, event, body, dictionary);
                types.insert(event.indexed.event_type);
                appended.push((event.indexed.timestamp, id));
            }
            let values = dictionary.take_added().map_err(AnalyticsError::engine)?;
            // Synced beside the appends below, before the rows that point into them commit.
            written.push(self.bodies.write_unsynced(&table, offset, packed)?);
            let length = offset + packed.len() as u64;
            types_added.push((table.clone(), types));
            by_day.push((table, rows, values, length));
        }
        report.inserted = appended.len() as u64;

        let mut created = Vec::new();
        // The body files are synced on a thread of their own while DuckDB appends the rows.
        std::thread::scope(|scope| {
            let syncing = scope.spawn(|| written.into_iter().try_for_each(bodies::Written::sync));
            in_transaction(conn, || {
                for (table, rows, values, length) in by_day {
                    conn.execute_batch(&format!(
                        "{}; {}",
                        layout::create_day_table(&table),
                        dictionary::create_values_table(&table)
                    ))
                    .map_err(engine)?;
                    if let Some(values) = values {
                        append(conn, &dictionary::values_table(&table), values)?;
                    }
                    let rows = rows.finish().map_err(AnalyticsError::engine)?;
                    append(conn, &table, rows)?;
                    set_length(conn, &table, length)?;
                    created.push((table, length));
                }
                conn.execute(
                    "INSERT OR REPLACE INTO positions VALUES (?, ?)",
                    duckdb::params![EVENTS_SEQUENCE, sequence],
                )
                .map_err(engine)?;
                if let Some(position) = position {
                    conn.execute(
                        "INSERT OR REPLACE INTO positions VALUES (?, ?)",
                        duckdb::params![EVENTS_POSITION, position],
                    )
                    .map_err(engine)?;
                }
                // The blocks are durable before the rows that point into them commit.
                syncing.join().map_err(|_| {
                    AnalyticsError::Internal("syncing body files panicked".into())
                })??;
                Ok(())
            })
        })?;
        while dictionaries.len() > DICTIONARIES_KEPT {
            dictionaries.pop_first();
        }
        recent.extend(appended, now());
        let mut tables = self.tables.write().map_err(poisoned)?;
        for (table, length) in created {
            lengths.insert(table.clone(), length);
            tables.insert(table);
        }
        drop(tables);
        // Before the new sequence number is published, so a search that sees it finds the
        // types of its rows.
        self.event_types.committed(before, sequence, &types_added);
        self.event_sequence.store(sequence, Ordering::Release);
        Ok(report)
    }
}

/// Of `late` (batch index, event) pairs, the indexes whose identity (`ts`, account and
/// `event_id`) is stored in its day table already.
fn stored_already(
    conn: &Connection,
    table: &str,
    late: &[(usize, &StoredEvent)],
) -> Result<HashSet<usize>, duckdb::Error> {
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE incoming (ord UBIGINT NOT NULL, ts BIGINT NOT NULL, h_event_id UBIGINT NOT NULL, subaccount UBIGINT NOT NULL)",
    )?;
    {
        let mut appender = conn.appender("incoming")?;
        for (i, event) in late {
            appender.append_row(duckdb::params![
                *i as u64,
                event.indexed.timestamp,
                layout::lookup_hash(&event.indexed.event_id),
                event.indexed.subaccount.unwrap_or(0)
            ])?;
        }
        appender.flush()?;
    }
    let (lo, hi) = late.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (_, e)| {
        (lo.min(e.indexed.timestamp), hi.max(e.indexed.timestamp))
    });
    let mut stmt = conn.prepare(&format!(
        "SELECT i.ord FROM incoming i WHERE EXISTS (SELECT 1 FROM {table} e \
         WHERE e.ts BETWEEN {lo} AND {hi} AND e.ts = i.ts AND e.h_event_id = i.h_event_id \
         AND coalesce(e.subaccount, 0) = i.subaccount)"
    ))?;
    let found = stmt
        .query_map([], |row| row.get::<_, usize>(0))?
        .collect::<Result<HashSet<usize>, _>>()?;
    conn.execute_batch("DROP TABLE incoming")?;
    Ok(found)
}
