//! The embedded analytic store: one DuckDB database file in the data directory, the role Vertica
//! plays in SparkPost's pipeline. It implements the `eventhose-analytics` traits.
//!
//! * **Writes** come from one subscriber at a time through `MetricsWriter::commit`: each commit
//!   appends the tally's rows (as deltas) to the minute, hour and day partitions and to the
//!   hour and day rollups (summed over all dimensions but the subaccount and at most one
//!   other, or over all but one), the engagement-ledger changes, and the hose position, in one
//!   transaction. Deltas are compacted (summed per key) in the background of later commits, so
//!   queries read few rows.
//! * **Reads** split a time range into day, hour and minute segments and read each from the
//!   coarsest partitions that cover it exactly, and from the narrowest rollup that keeps every
//!   dimension the query filters or groups by.
//! * **Retention** drops whole monthly partitions (and daily ledger tables).
//! * **Raw events** for the Events API live in daily tables beside the aggregates, their
//!   stored forms in compressed body files beside the database file (`events`).
//!
//! # How the store works
//!
//! One DuckDB file, `data/analytics.duckdb`, behind engine-independent traits
//! (`eventhose-analytics`: `MetricsReader`/`MetricsWriter`, `EventReader`/`EventWriter`), so a
//! distributed engine can take its place. `MemoryStore` and `MemoryEventStore` are the reference
//! implementations; the DuckDB store is differential-tested against them
//! (`crates/analytics-duckdb/tests/`).
//!
//! - **Metrics.** The metrics subscriber folds each event (`fold.rs`: a borrowed parse of the ~20
//!   fields metrics read) into 32 counters per minute and dimension combination (subaccount,
//!   recipient domain, mailbox provider and region, sending domain, campaign, template, IP pool,
//!   sending IP), plus breakdown rows (bounce reason and class, rejection reason and type, delay
//!   reason, link name, delivery attempt). Every API metric is a counter or a sum/difference of
//!   counters (`metric.rs`), computed after summing. A commit appends the deltas to minute, hour
//!   and day tables, partitioned by calendar month (`m1_202611`, `m60_…`, `m1440_…`, `b…` for
//!   breakdowns), with the hose position in the same transaction; deltas are summed per key by a
//!   compaction pass between commits. A commit's rows have distinct keys, so an append whose
//!   buckets all lie past the partition's newest bucket (a backfill, a new minute) needs no
//!   compaction and is not marked for one. Beside each hour and day table the same commit writes
//!   seventeen rollups (`layout::Rollup`): the rows summed over every dimension but the
//!   subaccount (`m1440_202611_by_subaccount`), over every dimension but the subaccount and one
//!   other (`…_by_domain`, `…_by_campaign`, …), and over every dimension but one, subaccounts
//!   included (`…_across_domain`, …: the reading of a primary key's group-by, with a row per value
//!   instead of one per value and subaccount; their subaccount column holds 0); a store written
//!   before them gets them built from its full tables at open. A query reads whole days from day tables, whole hours around them from
//!   hour tables and the edge minutes from minute tables, and of those the narrowest rollup that
//!   keeps every dimension it filters or groups by (two text dimensions, or minutes: the full
//!   table); a time series reads the coarsest table its bucket boundaries allow and folds rows
//!   into the caller's buckets (time zones and DST are the API's business). Retention drops whole
//!   monthly tables, rollups with them.
//! - **Unique metrics.** A ledger of first engagements (a 128-bit hash of `message_id` → which
//!   kinds of engagement it has had) counts a message in the minute of its first render, initial
//!   render, click, … The ledger remembers `unique_window_days` (default 10, the raw-event window)
//!   and is stored with the aggregates (daily tables `ledger_YYYYMMDD`); over any range a unique
//!   metric is the exact number of messages whose first engagement of that kind (within the
//!   window) fell in that range.
//! - **Repeats.** The identities (account and `event_id`, hashed to 64 bits) of the events the
//!   metrics subscriber folded are appended in the same commit to daily tables
//!   (`applied_YYYYMMDD`, by the day they were applied), read back at start so that an event
//!   sent again is skipped, and dropped with retention once they leave `dedup_window_minutes`.
//!   Message events need no such table: their day tables and the redelivery window below
//!   already know each stored event.
//! - **Message events.** The message-events subscriber reads each delivery's events into an
//!   `EventBatch` as they arrive (the borrowed field scanner: the costly part), and a checkpoint
//!   appends the batch to daily tables (`events_YYYYMMDD`) as Arrow batches: each row holds the
//!   columns searches filter on and the location of the event's stored form in the day's body file
//!   (`analytics.bodies/events_YYYYMMDD`: zstd blocks of about 32 KiB of events, so a row is read
//!   back with one small read and decompression, and a page spread over 64 blocks or more is
//!   read on one thread per core; a large batch's blocks are compressed on one thread per core,
//!   each taking a run of whole blocks; the blocks are synced, on a thread of their own while
//!   DuckDB appends the rows, before the transaction that commits their rows and the file's new
//!   length, and a file is cut back to its committed length at open). The columns are computed at insert time by the shared definitions
//!   (`IndexedEvent`). Lookup filters — `event_ids`, `recipients`, `messages` — are a 64-bit hash
//!   column each (and `raw_rcpt_to`'s, for erasure), and a search selects by the hash alone; the
//!   rows of a page are checked against the filters once read, so only a count could be off, by a
//!   hash collision. A lookup reads all of a day's matches (up to 20,000) in one scan, which gives
//!   both its count and its page. Every other text filter is an id (`UINTEGER`) in a dictionary per day and
//!   filter (`events/dictionary.rs`: `{day table}_values` maps ids to the raw text and to the form
//!   searches compare — as it is, case-folded, or `Tokenizer::keyword_text`, so a keyword match is a
//!   `contains`); a search first selects the matching ids of each day from the small values table,
//!   then the rows by id. Strings were most of DuckDB's cost per inserted row; ids are
//!   appended and compressed several times faster. The writer keeps the dictionaries of the two
//!   newest days written in memory and appends new entries with the rows that use them; erasure
//!   deletes the entries only erased rows used. The event type is a one-byte code (its position
//!   in `EventType::ALL`, pinned by a test); no column holds text. An insert reads nothing back
//!   for redeliveries:
//!   `RecentIds` holds the identity `(timestamp, h_event_id)` (a 64-bit xxh3 of `event_id`) of
//!   every stored event of the last `event_id_window` (1 h, at most `event_id_window_max`
//!   identities) behind the newest timestamp, loaded
//!   from the tables at the first insert and after retention or erasure; only older events are
//!   looked up in their day table. Each stored row gets an insertion sequence number, which
//!   breaks ties between events of one second, and a search's cursor carries the snapshot (the
//!   highest number when its first page ran), so paging never skips or repeats an event while
//!   new ones arrive. Day tables of the layout before (event id and type as text) are upgraded
//!   in place at open; any other layout is refused. A search leaves out the event type condition on a day whose
//!   types are all wanted (the API's default names every searchable type, and comparing each
//!   row's type string costs a scan): `TypesHeld` keeps each day's types up to a sequence number,
//!   loaded once and extended by the writer after each commit (invariant: a superset, never a
//!   subset, of the types of the rows it covers). It counts matches per day, skips days without
//!   any, reads a day with few matches in one query and a busy one newest slice first, from its
//!   newest match down (the count brings the matches' first and last second along; the first
//!   slice as long as their density says a page needs, then doubling), reading only
//!   `(ts, seq, body)`; the stored forms are then read for the page's rows alone, each block
//!   decompressed once, 256 rows at a time until the page's byte budget (`EventQuery::max_bytes`,
//!   `[api] events_page_max_bytes`) is spent; the page then ends with a cursor at its last event.
//!   The subscriber leaves out events older than the oldest day retention keeps. Retention drops whole days (table, committed length, then file);
//!   `eventhose erase` and `DELETE /api/v1/events/message` remove a recipient's events
//!   (`rcpt_to` or `raw_rcpt_to`): the blocks holding them are copied without them, the other rows
//!   moved to the copies and the old blocks listed in the same transaction, then the old blocks
//!   are zeroed (again at open, if a crash came first).

mod events;
mod layout;
mod read;
mod sql;
mod write;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use duckdb::{Config, Connection};
use eventhose_analytics::AnalyticsError;

use write::WriterState;

pub use events::EVENTS_POSITION;

/// The subscriber whose position the metrics commits record.
pub const METRICS_POSITION: &str = "metrics";

/// Tuning of the embedded store.
#[derive(Clone, Debug)]
pub struct DuckOptions {
    /// DuckDB's memory limit, e.g. `"1GB"`.
    pub memory_limit: String,
    /// Worker threads DuckDB may use per query.
    pub threads: u16,
    /// Connections kept for concurrent readers.
    pub readers: usize,
    /// How far back (in event time) inserts remember the ids of stored events, to drop
    /// redeliveries without reading the tables; older events are looked up in their table.
    pub event_id_window: Duration,
    /// The most identities that window holds (about 20 bytes each); past it the oldest
    /// seconds are left to the lookups.
    pub event_id_window_max: usize,
}

impl Default for DuckOptions {
    fn default() -> Self {
        DuckOptions {
            memory_limit: "1GB".into(),
            threads: 2,
            readers: 4,
            event_id_window: Duration::from_secs(3_600),
            event_id_window_max: 1_000_000,
        }
    }
}

/// The DuckDB analytic store.
pub struct DuckStore {
    writer: Mutex<WriterState>,
    events_writer: Mutex<events::EventsWriter>,
    /// Highest insertion sequence number of a stored event (committed).
    event_sequence: AtomicU64,
    /// The event types each day table holds (see `events::TypesHeld`).
    event_types: events::TypesHeld,
    /// The stored forms of raw events, beside the database file (see `events::BodyFiles`).
    bodies: events::BodyFiles,
    readers: Mutex<Vec<Connection>>,
    spare: Mutex<Connection>,
    tables: RwLock<BTreeSet<String>>,
}

fn engine(e: duckdb::Error) -> AnalyticsError {
    AnalyticsError::engine(e)
}

fn poisoned<T>(_: T) -> AnalyticsError {
    AnalyticsError::Internal("a store lock was poisoned by a panic".into())
}

impl DuckStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path, options: &DuckOptions) -> Result<DuckStore, AnalyticsError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let config = Config::default()
            .max_memory(&options.memory_limit)
            .and_then(|c| c.threads(i64::from(options.threads.max(1))))
            .and_then(|c| c.enable_autoload_extension(false))
            .map_err(engine)?;
        let conn = Connection::open_with_flags(path, config).map_err(engine)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS positions (subscriber VARCHAR PRIMARY KEY, position UBIGINT NOT NULL)",
        )
        .map_err(engine)?;
        let mut tables = read_table_names(&conn)?;
        let built = write::build_missing_rollups(&conn, &tables).map_err(engine)?;
        if !built.is_empty() {
            tracing::info!(
                tables = built.len(),
                "built the metrics rollups this store lacked"
            );
        }
        tables.extend(built);
        events::upgrade_layout(&conn)?;
        let readers = (0..options.readers.max(1))
            .map(|_| conn.try_clone().map_err(engine))
            .collect::<Result<Vec<_>, _>>()?;
        let spare = conn.try_clone().map_err(engine)?;
        let events_writer = conn.try_clone().map_err(engine)?;
        let (bodies, body_lengths) = events::open_bodies(&conn, &path.with_extension("bodies"))?;
        let event_sequence = read_position(&conn, events::EVENTS_SEQUENCE)?.unwrap_or(0);
        Ok(DuckStore {
            writer: Mutex::new(WriterState::new(conn)),
            events_writer: Mutex::new(events::EventsWriter::new(
                events_writer,
                options.event_id_window,
                options.event_id_window_max,
                body_lengths,
            )?),
            event_sequence: AtomicU64::new(event_sequence),
            event_types: events::TypesHeld::default(),
            bodies,
            readers: Mutex::new(readers),
            spare: Mutex::new(spare),
            tables: RwLock::new(tables),
        })
    }

    /// The memory DuckDB holds now (its buffer pool and the rest its allocator tracks), in
    /// bytes: it grows up to `memory_limit` as data is read and written.
    pub fn memory_bytes(&self) -> Result<u64, AnalyticsError> {
        self.with_reader(|conn| {
            conn.query_row(
                "SELECT coalesce(sum(memory_usage_bytes), 0)::UBIGINT FROM duckdb_memory()",
                [],
                |row| row.get(0),
            )
            .map_err(engine)
        })
    }

    /// Runs `f` on a reader connection (a new one if all are busy).
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, AnalyticsError>,
    ) -> Result<T, AnalyticsError> {
        let taken = self.readers.lock().map_err(poisoned)?.pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self
                .spare
                .lock()
                .map_err(poisoned)?
                .try_clone()
                .map_err(engine)?,
        };
        let result = f(&conn);
        self.readers.lock().map_err(poisoned)?.push(conn);
        result
    }

    fn writer(&self) -> Result<MutexGuard<'_, WriterState>, AnalyticsError> {
        self.writer.lock().map_err(poisoned)
    }

    /// The names of the tables that exist.
    fn table_names(&self) -> Result<BTreeSet<String>, AnalyticsError> {
        Ok(self.tables.read().map_err(poisoned)?.clone())
    }

    fn has_table(&self, name: &str) -> bool {
        self.tables
            .read()
            .map(|t| t.contains(name))
            .unwrap_or(false)
    }
}

fn read_table_names(conn: &Connection) -> Result<BTreeSet<String>, AnalyticsError> {
    let mut stmt = conn
        .prepare("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")
        .map_err(engine)?;
    let names = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(engine)?
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(engine)?;
    Ok(names)
}

/// Runs `f` in a transaction on `conn`: committed when `f` succeeds, rolled back when `f` or
/// the commit fails.
fn in_transaction<T>(
    conn: &Connection,
    f: impl FnOnce() -> Result<T, AnalyticsError>,
) -> Result<T, AnalyticsError> {
    conn.execute_batch("BEGIN").map_err(engine)?;
    let done = f().and_then(|value| {
        conn.execute_batch("COMMIT").map_err(engine)?;
        Ok(value)
    });
    if done.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    done
}

/// The value stored in `positions` for `name`, if any.
fn read_position(conn: &Connection, name: &str) -> Result<Option<u64>, AnalyticsError> {
    match conn.query_row(
        "SELECT position FROM positions WHERE subscriber = ?",
        [name],
        |row| row.get(0),
    ) {
        Ok(position) => Ok(Some(position)),
        Err(duckdb::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(engine(e)),
    }
}
