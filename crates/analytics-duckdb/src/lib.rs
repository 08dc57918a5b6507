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
}

impl Default for DuckOptions {
    fn default() -> Self {
        DuckOptions {
            memory_limit: "1GB".into(),
            threads: 2,
            readers: 4,
            event_id_window: Duration::from_secs(3_600),
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
    AnalyticsError::Engine(e.to_string())
}

fn poisoned<T>(_: T) -> AnalyticsError {
    AnalyticsError::Engine("a store lock was poisoned by a panic".into())
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
