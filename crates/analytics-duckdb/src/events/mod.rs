//! Raw events for the Events API, in daily tables (see [`layout`]).
//!
//! * **Bulk appends.** An insert reads nothing back: each event's identity (`timestamp` and a
//!   hash of `event_id`) is checked against [`RecentIds`], which holds every stored event
//!   of the redelivery window; only events older than the window are looked up in their day
//!   table. New rows go to their day tables as Arrow batches, in one transaction with the
//!   sequence high-water mark and the hose position.
//! * **Stable paging.** Each stored row gets an insertion sequence number; the high-water mark
//!   is committed with the rows. A first page fixes its snapshot (the mark then) and every
//!   later page filters `seq <= snapshot`. Events of one second are ordered by it too.
//! * **Newest first, cheaply.** A page is read from slices of the time range, newest first
//!   from the day's newest match (the first as long as the day's count says a page needs,
//!   then doubling), stopping as soon as the page is full, so a first page rarely reads more
//!   than the newest row groups.
//! * **Lookups in one scan.** A lookup by hash (recipients, messages, event ids) matches few
//!   rows: a day's matches are read at once, which both counts them and orders the page, so
//!   the day's hash column is scanned once, not once to count and again to page.
//! * **Type filters only where they exclude something.** The API always names event types;
//!   a day table holding no other types is searched without the condition (`types_held`).
//! * **Text as dictionary ids.** Text filters other than the lookups by hash are stored as
//!   ids in a dictionary per day and filter (`dictionary`); a search turns its values into
//!   the matching ids of each day first.
//! * **Stored forms beside the tables.** Each day's event bodies are compressed blocks in a
//!   file of their own (`bodies`); a row holds its body's location. The blocks are synced
//!   (on a thread of their own, while DuckDB appends the rows) before the transaction that
//!   commits their rows and the file's new length.
//!
//! One module per job: [`upgrade`] (the layout upgrade at open), [`insert`], [`search`] (a
//! plan, then its execution), [`retention`], [`erase`], and [`body_commits`] (what the
//! database records of the body files). This module holds the writer's state and the trait
//! implementations, which delegate to them.

mod bodies;
mod body_commits;
mod dictionary;
mod erase;
mod insert;
mod layout;
mod recent;
mod retention;
mod search;
mod types_held;
mod upgrade;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use duckdb::types::FromSql;
use duckdb::{Connection, ToSql};
use eventhose_analytics::{
    AnalyticsError, ErasureReport, EventBatch, EventPage, EventQuery, EventReader, EventWriter,
    InsertReport, MayStore, RetentionReport,
};

use crate::{engine, poisoned, DuckStore};
pub(crate) use bodies::BodyFiles;
pub(crate) use body_commits::open_bodies;
use dictionary::DayDictionary;
pub(crate) use layout::parse_day_table;
use recent::RecentIds;
pub(crate) use types_held::TypesHeld;
pub(crate) use upgrade::upgrade_layout;

/// The position row of the message-events subscriber.
pub const EVENTS_POSITION: &str = "message_events";
/// The row holding the highest sequence number ever assigned.
pub(crate) const EVENTS_SEQUENCE: &str = "message_events_sequence";

/// The writer connection of the event tables, the committed lengths of their body files, the
/// identities of recent events (loaded from the tables at the first insert), and the
/// dictionaries of the days written lately.
pub(crate) struct EventsWriter {
    conn: Connection,
    window: i64,
    max_recent_ids: usize,
    lengths: HashMap<String, u64>,
    recent: Option<RecentIds>,
    dictionaries: BTreeMap<String, DayDictionary>,
    packer: bodies::Packer,
}

impl EventsWriter {
    pub(crate) fn new(
        conn: Connection,
        window: std::time::Duration,
        max_recent_ids: usize,
        lengths: HashMap<String, u64>,
    ) -> Result<EventsWriter, AnalyticsError> {
        Ok(EventsWriter {
            conn,
            window: i64::try_from(window.as_secs()).unwrap_or(i64::MAX / 4),
            max_recent_ids,
            lengths,
            recent: None,
            dictionaries: BTreeMap::new(),
            packer: bodies::Packer::new()?,
        })
    }
}

/// The values of a one-column query.
fn query_column<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<T>, AnalyticsError> {
    let mut stmt = conn.prepare(sql).map_err(engine)?;
    let rows = stmt.query_map(params, |row| row.get(0)).map_err(engine)?;
    rows.collect::<Result<_, _>>().map_err(engine)
}

/// The rows of a two-column query.
fn query_pairs<A: FromSql, B: FromSql>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> Result<Vec<(A, B)>, AnalyticsError> {
    let mut stmt = conn.prepare(sql).map_err(engine)?;
    let rows = stmt
        .query_map(params, |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(engine)?;
    rows.collect::<Result<_, _>>().map_err(engine)
}

fn now() -> i64 {
    Utc::now().timestamp()
}

impl DuckStore {
    /// The day tables, oldest first.
    fn day_tables(&self) -> Result<Vec<(i64, String)>, AnalyticsError> {
        Ok(self
            .table_names()?
            .into_iter()
            .filter_map(|name| parse_day_table(&name).map(|day| (day, name)))
            .collect())
    }

    fn events_writer(&self) -> Result<std::sync::MutexGuard<'_, EventsWriter>, AnalyticsError> {
        self.events_writer.lock().map_err(poisoned)
    }
}

impl EventReader for DuckStore {
    fn search(&self, query: &EventQuery) -> Result<EventPage, AnalyticsError> {
        self.search_events(query)
    }
}

impl EventWriter for DuckStore {
    fn insert_checked(
        &self,
        batch: &EventBatch,
        position: Option<u64>,
        may_store: MayStore<'_>,
    ) -> Result<InsertReport, AnalyticsError> {
        self.insert_events(batch, position, may_store)
    }

    fn checkpoint(&self) -> Result<Option<u64>, AnalyticsError> {
        let writer = self.events_writer()?;
        crate::read_position(&writer.conn, EVENTS_POSITION)
    }

    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError> {
        self.drop_event_days(keep_from)
    }

    fn erase_recipient(&self, recipient: &str) -> Result<ErasureReport, AnalyticsError> {
        self.erase_events_of(recipient)
    }
}

#[cfg(test)]
mod tests;
