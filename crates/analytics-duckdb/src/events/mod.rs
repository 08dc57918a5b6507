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

mod bodies;
mod dictionary;
mod layout;
mod recent;
mod types_held;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use duckdb::types::FromSql;
use duckdb::{Connection, ToSql};
use eventhose_analytics::keywords::fold_case;
use eventhose_analytics::{
    AnalyticsError, ErasureReport, EventBatch, EventCursor, EventFilters, EventPage, EventQuery,
    EventReader, EventWriter, IndexedEvent, InsertReport, RetentionReport, StoredEvent, TextFilter,
};
use eventhose_model::EventType;

use crate::{engine, in_transaction, poisoned, DuckStore};
pub(crate) use bodies::BodyFiles;
use dictionary::DayDictionary;
pub(crate) use layout::parse_day_table;
use layout::{day_table, DayRows, DAY};
use recent::{id_hash, RecentIds};
use types_held::TypeSet;
pub(crate) use types_held::TypesHeld;

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
    lengths: HashMap<String, u64>,
    recent: Option<RecentIds>,
    dictionaries: BTreeMap<String, DayDictionary>,
    packer: bodies::Packer,
}

impl EventsWriter {
    pub(crate) fn new(
        conn: Connection,
        window: std::time::Duration,
        lengths: HashMap<String, u64>,
    ) -> Result<EventsWriter, AnalyticsError> {
        Ok(EventsWriter {
            conn,
            window: i64::try_from(window.as_secs()).unwrap_or(i64::MAX / 4),
            lengths,
            recent: None,
            dictionaries: BTreeMap::new(),
            packer: bodies::Packer::new()?,
        })
    }
}

/// How many days' dictionaries the writer keeps in memory: today's and yesterday's, which
/// take nearly every event; an older day's is read from its table when one of its events comes.
const DICTIONARIES_KEPT: usize = 2;

/// Opens the body files in `dir` as the store last committed them (see [`bodies`]): creates
/// the tables of committed lengths and erased blocks, cuts and removes what no commit
/// covers, and buries the blocks a crash left listed as erased. Returns the files and their
/// committed lengths.
pub(crate) fn open_bodies(
    conn: &Connection,
    dir: &Path,
) -> Result<(BodyFiles, HashMap<String, u64>), AnalyticsError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS event_bodies (day_table VARCHAR PRIMARY KEY, length UBIGINT NOT NULL);
         CREATE TABLE IF NOT EXISTS event_bodies_erased (day_table VARCHAR NOT NULL, block UBIGINT NOT NULL);",
    )
    .map_err(engine)?;
    let lengths: HashMap<String, u64> =
        query_pairs(conn, "SELECT day_table, length FROM event_bodies", &[])?
            .into_iter()
            .collect();
    let files = BodyFiles::open(dir, &lengths)?;
    bury_erased(conn, &files)?;
    Ok((files, lengths))
}

/// Buries the blocks listed as erased, then unlists them.
fn bury_erased(conn: &Connection, files: &BodyFiles) -> Result<(), AnalyticsError> {
    let listed = query_pairs::<String, u64>(
        conn,
        "SELECT day_table, block FROM event_bodies_erased",
        &[],
    )?;
    for (table, block) in &listed {
        files.bury(table, *block)?;
    }
    if !listed.is_empty() {
        conn.execute_batch("DELETE FROM event_bodies_erased")
            .map_err(engine)?;
    }
    Ok(())
}

/// Records a body file's committed length (inside the caller's transaction).
fn set_length(conn: &Connection, table: &str, length: u64) -> Result<(), AnalyticsError> {
    conn.execute(
        "INSERT OR REPLACE INTO event_bodies VALUES (?, ?)",
        duckdb::params![table, length],
    )
    .map_err(engine)?;
    Ok(())
}

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

/// Brings the day tables to the layout this build writes: tables of the previous layout are
/// upgraded in place (one transaction); a store with any other layout (development builds
/// before the layout settled) is refused.
pub(crate) fn upgrade_layout(conn: &Connection) -> Result<(), AnalyticsError> {
    let (expected, previous) = (layout::column_list(), layout::previous_column_list());
    let mut upgrades = String::new();
    for (name, columns) in day_table_layouts(conn)? {
        if columns == expected {
            continue;
        }
        if columns != previous {
            return Err(AnalyticsError::Engine(format!(
                "table {name} has another column layout than this version writes; \
                 drop the events_* tables (message events only) or use a new data directory"
            )));
        }
        upgrades.push_str(&layout::upgrade_from_previous(&name));
    }
    if !upgrades.is_empty() {
        in_transaction(conn, || conn.execute_batch(&upgrades).map_err(engine))?;
        tracing::info!("upgraded the message event tables to this version's layout");
    }
    Ok(())
}

/// Each day table with its columns in [`layout::column_list`]'s form.
fn day_table_layouts(conn: &Connection) -> Result<Vec<(String, String)>, AnalyticsError> {
    let tables = query_pairs::<String, String>(
        conn,
        "SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index) \
         FROM duckdb_columns() WHERE NOT internal AND table_name LIKE 'events\\_%' ESCAPE '\\' \
         GROUP BY table_name",
        &[],
    )?;
    Ok(tables
        .into_iter()
        .filter(|(name, _)| parse_day_table(name).is_some())
        .collect())
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
            return Ok(RecentIds::new(writer.window));
        };
        let floor = newest - writer.window;
        let mut stored = Vec::new();
        for (day, table) in &tables {
            if (day + 1) * DAY <= floor {
                continue;
            }
            let sql = format!("SELECT ts, h_event_id FROM {table} WHERE ts >= {floor}");
            stored.extend(query_pairs::<i64, u64>(&writer.conn, &sql, &[])?);
        }
        let mut recent = RecentIds::with_newest(writer.window, newest);
        recent.extend(stored, now());
        Ok(recent)
    }
}

/// Of `late` (batch index, event) pairs, the indexes whose identity (`ts` and [`id_hash`]) is
/// stored in its day table already.
fn stored_already(
    conn: &Connection,
    table: &str,
    late: &[(usize, &StoredEvent)],
) -> Result<HashSet<usize>, duckdb::Error> {
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE incoming (ord UBIGINT NOT NULL, ts BIGINT NOT NULL, h_event_id UBIGINT NOT NULL)",
    )?;
    {
        let mut appender = conn.appender("incoming")?;
        for (i, event) in late {
            appender.append_row(duckdb::params![
                *i as u64,
                event.indexed.timestamp,
                id_hash(&event.indexed.event_id)
            ])?;
        }
        appender.flush()?;
    }
    let (lo, hi) = late.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (_, e)| {
        (lo.min(e.indexed.timestamp), hi.max(e.indexed.timestamp))
    });
    let mut stmt = conn.prepare(&format!(
        "SELECT i.ord FROM incoming i WHERE EXISTS (SELECT 1 FROM {table} e \
         WHERE e.ts BETWEEN {lo} AND {hi} AND e.ts = i.ts AND e.h_event_id = i.h_event_id)"
    ))?;
    let found = stmt
        .query_map([], |row| row.get::<_, u64>(0))?
        .map(|ord| ord.map(|o| o as usize))
        .collect::<Result<HashSet<usize>, _>>()?;
    conn.execute_batch("DROP TABLE incoming")?;
    Ok(found)
}

/// The WHERE clause of the filters on day table `table`, with its parameters; the event type
/// condition only when `by_type` (see [`types_held`]). Dictionary filters are turned into
/// the day's matching ids first.
fn filter_sql(
    conn: &Connection,
    table: &str,
    filters: &EventFilters,
    by_type: bool,
) -> Result<(String, Vec<Box<dyn ToSql>>), AnalyticsError> {
    let mut sql = Sql::default();
    if by_type {
        sql.any_of(
            "type",
            filters
                .event_types
                .iter()
                .map(|t| boxed_value(layout::type_code(*t)))
                .collect(),
        );
    }
    sql.any_of("bounce_class", boxed(&filters.bounce_classes));
    sql.any_of("subaccount", boxed(&filters.subaccounts));
    sql.any_of("ab_test_version", boxed(&filters.ab_test_versions));
    for filter in TextFilter::ALL {
        let wanted = filters.text(filter);
        if wanted.is_empty() {
            continue;
        }
        if let Some(hash_column) = layout::hash_column(filter) {
            // The hash alone selects: comparing the text as well would make DuckDB read
            // strings for every row of the day. The rows of a page are checked against the
            // filters once read (`search`).
            let hashes = wanted
                .iter()
                .map(|w| boxed_value(layout::lookup_hash(&dictionary::compared_form(filter, w))));
            sql.any_of(hash_column, hashes.collect());
            continue;
        }
        let Some(column) = layout::id_column(filter) else {
            continue;
        };
        let Some((ids_sql, params)) = dictionary::matching_ids_sql(table, filter, wanted) else {
            sql.parts.push("FALSE".into());
            continue;
        };
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let ids: Vec<u32> = query_column(conn, &ids_sql, &refs)?;
        if ids.is_empty() {
            sql.parts.push("FALSE".into());
        } else if ids.len() <= INLINE_IDS {
            let list: Vec<String> = ids.iter().map(u32::to_string).collect();
            sql.parts.push(format!("{column} IN ({})", list.join(", ")));
        } else {
            sql.parts.push(format!("{column} IN ({ids_sql})"));
            sql.params.extend(params.into_iter().map(boxed_value));
        }
    }
    let where_sql = if sql.parts.is_empty() {
        "TRUE".to_owned()
    } else {
        sql.parts.join(" AND ")
    };
    Ok((where_sql, sql.params))
}

/// Up to this many matching ids are written into a search's SQL as constants (which DuckDB
/// checks against each row group's bounds); more are selected by a subquery.
const INLINE_IDS: usize = 256;

/// Whether `filters` name a lookup whose SQL compares hashes only (see [`filter_sql`]).
fn selects_by_hash(filters: &EventFilters) -> bool {
    TextFilter::ALL
        .into_iter()
        .any(|f| layout::hash_column(f).is_some() && !filters.text(f).is_empty())
}

/// A lookup by hash reads all its matches in a day at once when there are at most this many;
/// more (a hash shared by a day's worth of events) are counted and paged like other filters.
const LOOKUP_ROWS: usize = 20_000;

/// A row of a page before its stored form is read: `(ts, seq, body location, table)`.
type PageRow<'t> = (i64, u64, u64, &'t str);

/// Rows whose stored forms a page reads at once (at most 64 MiB of the largest events).
const PAGE_CHUNK_ROWS: usize = 256;

/// A [`PageRow`] of a `SELECT ts, seq, body` from `table`.
fn page_row<'t>(row: &duckdb::Row<'_>, table: &'t str) -> duckdb::Result<PageRow<'t>> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, table))
}

/// What a search knows of one day's matches before it reads a page.
enum DayMatches<'t> {
    /// All of them (a lookup by hash, or none at all), newest first.
    All(Vec<PageRow<'t>>),
    /// How many there are (at least one), and the seconds they span.
    Counted {
        count: u64,
        oldest: i64,
        newest: i64,
    },
}

impl DayMatches<'_> {
    fn count(&self) -> u64 {
        match self {
            DayMatches::All(rows) => rows.len() as u64,
            DayMatches::Counted { count, .. } => *count,
        }
    }
}

/// Conditions (ANDed) and their parameters, in order.
#[derive(Default)]
struct Sql {
    parts: Vec<String>,
    params: Vec<Box<dyn ToSql>>,
}

impl Sql {
    /// `column IN (values)`; nothing when there are no values.
    fn any_of(&mut self, column: &str, values: Vec<Box<dyn ToSql>>) {
        if values.is_empty() {
            return;
        }
        self.parts.push(format!(
            "{column} IN ({})",
            vec!["?"; values.len()].join(", ")
        ));
        self.params.extend(values);
    }
}

fn boxed_value<T: ToSql + 'static>(value: T) -> Box<dyn ToSql> {
    Box::new(value)
}

fn boxed(values: &[u64]) -> Vec<Box<dyn ToSql>> {
    values
        .iter()
        .map(|v| Box::new(*v) as Box<dyn ToSql>)
        .collect()
}

/// The length of a first slice holding about twice `rows` if `matches` were spread evenly over
/// `span` seconds: a minute at least, an hour at most. Sorting a slice costs in proportion to
/// the rows it holds, not to the page.
fn first_slice(rows: usize, matches: u64, span: i64) -> i64 {
    let width = 2.0 * rows as f64 * span.max(1) as f64 / matches.max(1) as f64;
    (width as i64).clamp(60, 3_600)
}

/// Slices of `[from, to)` to read a page from, newest first: `first` seconds long, then
/// slices doubling in length.
fn slices(from: i64, to: i64, first: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut hi = to;
    let mut width = first;
    while hi > from {
        let lo = (hi - width).max(from);
        out.push((lo, hi));
        hi = lo;
        width = width.saturating_mul(2);
    }
    out
}

impl EventReader for DuckStore {
    fn search(&self, query: &EventQuery) -> Result<EventPage, AnalyticsError> {
        if query.per_page == 0 {
            return Err(AnalyticsError::Invalid(
                "per_page must be at least 1".into(),
            ));
        }
        let snapshot = query.cursor.as_ref().map_or_else(
            || self.event_sequence.load(Ordering::Acquire),
            |c| c.snapshot,
        );
        let (to, cursor_cond) = match &query.cursor {
            // Rows at the cursor's second or earlier; ties broken by sequence number.
            Some(cursor) => (
                query.to.min(cursor.timestamp + 1),
                Some((cursor.timestamp, cursor.seq)),
            ),
            None => (query.to, None),
        };
        let tables = self.event_tables(query.from, query.to);
        self.with_reader(|conn| {
            // Each day's conditions: the type condition only where it excludes something.
            let mut filters = Vec::with_capacity(tables.len());
            for (_, table) in &tables {
                let by_type = self.type_condition_needed(
                    conn,
                    table,
                    &query.filters.event_types,
                    snapshot,
                )?;
                let (filter, params) = filter_sql(conn, table, &query.filters, by_type)?;
                filters.push((format!("seq <= {snapshot} AND ({filter})"), params));
            }
            // Matches per day over the whole range: the total (constant across the pages of
            // one snapshot), and which days a page needs to read at all. A lookup by hash
            // matches few rows: they are all read at once, which counts them too, so the day's
            // hash column is scanned once instead of twice.
            let lookup = selects_by_hash(&query.filters);
            let mut days = Vec::with_capacity(tables.len());
            for ((_, table), (base, filter_params)) in tables.iter().zip(&filters) {
                let params: Vec<&dyn ToSql> = filter_params.iter().map(|p| p.as_ref()).collect();
                let range = format!(
                    "{table} WHERE ts >= {} AND ts < {} AND {base}",
                    query.from, query.to
                );
                if lookup {
                    let sql = format!(
                        // Ordered: DuckDB runs a top-n in parallel, where a bare LIMIT
                        // (insertion order kept) took half as long again as the whole scan.
                        "SELECT ts, seq, body FROM {range} ORDER BY ts DESC, seq DESC LIMIT {}",
                        LOOKUP_ROWS + 1
                    );
                    let mut stmt = conn.prepare(&sql).map_err(engine)?;
                    let found = stmt
                        .query_map(params.as_slice(), |row| page_row(row, table))
                        .map_err(engine)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(engine)?;
                    if found.len() <= LOOKUP_ROWS {
                        days.push(DayMatches::All(found));
                        continue;
                    }
                }
                // The span of the matches comes almost free with the count (DuckDB's row group
                // statistics answer most of it), and spares a page the slices of a quiet end.
                let (count, span): (u64, Option<(i64, i64)>) = conn
                    .query_row(
                        &format!("SELECT count(*), min(ts), max(ts) FROM {range}"),
                        params.as_slice(),
                        |row| Ok((row.get(0)?, row.get::<_, Option<i64>>(1)?.zip(row.get(2)?))),
                    )
                    .map_err(engine)?;
                days.push(match span {
                    Some((oldest, newest)) if count > 0 => DayMatches::Counted {
                        count,
                        oldest,
                        newest,
                    },
                    _ => DayMatches::All(Vec::new()),
                });
            }
            let total_count = days.iter().map(DayMatches::count).sum();
            let wanted = query.per_page + 1;
            // The page's keys and body locations first; the stored forms of the page's rows
            // only are read afterwards.
            let mut rows: Vec<PageRow<'_>> = Vec::with_capacity(wanted);
            'tables: for (((_, table), matches), (base, filter_params)) in
                tables.iter().zip(days).zip(&filters)
            {
                let (count, oldest, newest) = match matches {
                    DayMatches::All(mut found) => {
                        if let Some((ts, last_seq)) = &cursor_cond {
                            found.retain(|(t, seq, _, _)| (*t, *seq) < (*ts, *last_seq));
                        }
                        found.truncate(wanted - rows.len());
                        rows.extend(found);
                        if rows.len() >= wanted {
                            break 'tables;
                        }
                        continue;
                    }
                    DayMatches::Counted {
                        count,
                        oldest,
                        newest,
                    } => (count, oldest, newest),
                };
                // Where the day's matches lie, up to the cursor.
                let (from, to) = (oldest, to.min(newest + 1));
                if from >= to {
                    continue;
                }
                // A day with few matches is read in one go; a busy one newest slice first,
                // until the page is full.
                let missing = wanted - rows.len();
                let ranges = if count <= missing as u64 {
                    vec![(from, to)]
                } else {
                    slices(from, to, first_slice(missing, count, newest + 1 - oldest))
                };
                for (lo, hi) in ranges {
                    let mut params: Vec<&dyn ToSql> =
                        filter_params.iter().map(|p| p.as_ref()).collect();
                    let cursor_sql = match &cursor_cond {
                        Some((ts, seq)) => {
                            params.push(ts);
                            params.push(ts);
                            params.push(seq);
                            " AND (ts < ? OR (ts = ? AND seq < ?))"
                        }
                        None => "",
                    };
                    let sql = format!(
                        "SELECT ts, seq, body FROM {table} WHERE ts >= {lo} AND ts < {hi} AND {base}{cursor_sql} \
                         ORDER BY ts DESC, seq DESC LIMIT {}",
                        wanted - rows.len()
                    );
                    let mut stmt = conn.prepare(&sql).map_err(engine)?;
                    let found = stmt
                        .query_map(params.as_slice(), |row| page_row(row, table))
                        .map_err(engine)?;
                    for row in found {
                        rows.push(row.map_err(engine)?);
                    }
                    if rows.len() >= wanted {
                        break 'tables;
                    }
                }
            }
            let more = rows.len() > query.per_page;
            rows.truncate(query.per_page);
            let mut events = self.stored_forms_within(&rows, query.max_bytes)?;
            let next = (more || events.len() < rows.len())
                .then(|| events.len().checked_sub(1))
                .flatten()
                .map(|last| {
                    let (timestamp, seq, _, _) = rows[last];
                    EventCursor {
                        timestamp,
                        seq,
                        snapshot,
                    }
                });
            if selects_by_hash(&query.filters) {
                events.retain(|body| {
                    IndexedEvent::from_stored(body.as_bytes())
                        .is_ok_and(|event| event.matches(&query.filters))
                });
            }
            Ok(EventPage {
                events,
                total_count,
                next,
            })
        })
    }
}

impl DuckStore {
    /// The stored forms of a page's rows, in order, up to the first that brings their sizes
    /// past `max_bytes` (see [`EventQuery::max_bytes`]): read [`PAGE_CHUNK_ROWS`] rows at a
    /// time, so a page of large events stops near the budget instead of reading them all.
    fn stored_forms_within(
        &self,
        rows: &[PageRow<'_>],
        max_bytes: usize,
    ) -> Result<Vec<String>, AnalyticsError> {
        let mut events = Vec::with_capacity(rows.len());
        let mut bytes = 0usize;
        for chunk in rows.chunks(PAGE_CHUNK_ROWS) {
            for body in self.stored_forms(chunk)? {
                if bytes > max_bytes {
                    return Ok(events);
                }
                bytes = bytes.saturating_add(body.len());
                events.push(body);
            }
        }
        Ok(events)
    }

    /// The stored forms of a page's rows (`(ts, seq, body location, table)`), in order:
    /// one read of each day's body file, each block decompressed once.
    fn stored_forms(&self, rows: &[PageRow<'_>]) -> Result<Vec<String>, AnalyticsError> {
        let mut by_table: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, (_, _, _, table)) in rows.iter().enumerate() {
            by_table.entry(table).or_default().push(i);
        }
        let mut out = vec![String::new(); rows.len()];
        for (table, indexes) in by_table {
            let locations: Vec<u64> = indexes.iter().map(|&i| rows[i].2).collect();
            // A block erased or a day dropped since the rows were read fails here.
            let bodies = self
                .bodies
                .read(table, &locations)
                .map_err(|e| AnalyticsError::Engine(format!("stored events of {table}: {e}")))?;
            for (i, body) in indexes.into_iter().zip(bodies) {
                out[i] = body;
            }
        }
        Ok(out)
    }

    /// Whether a search for `wanted` types (none: any type) needs the type condition on
    /// `table`: whether its rows up to `snapshot` hold a type outside `wanted`.
    fn type_condition_needed(
        &self,
        conn: &Connection,
        table: &str,
        wanted: &[EventType],
        snapshot: u64,
    ) -> Result<bool, AnalyticsError> {
        if wanted.is_empty() {
            return Ok(false);
        }
        let wanted = TypeSet::of(wanted.iter().copied());
        if let Some(held) = self.event_types.get(table, snapshot) {
            return Ok(!held.is_subset(wanted));
        }
        // Every row up to `through` is visible to the query that follows.
        let through = self.event_sequence.load(Ordering::Acquire);
        let sql = format!("SELECT DISTINCT type FROM {table}");
        let mut held = TypeSet::default();
        for code in query_column::<u8>(conn, &sql, &[])? {
            match layout::type_of_code(code) {
                Some(event_type) => held.insert(event_type),
                // A type this build does not know: keep the condition, remember nothing.
                None => return Ok(true),
            }
        }
        self.event_types.loaded(table, held, through);
        Ok(!held.is_subset(wanted))
    }

    /// Tables of days overlapping `[from, to)`, newest first.
    fn event_tables(&self, from: i64, to: i64) -> Vec<(i64, String)> {
        let mut days: Vec<(i64, String)> = self
            .day_tables()
            .unwrap_or_default()
            .into_iter()
            .filter(|(day, _)| day * DAY < to && (day + 1) * DAY > from)
            .collect();
        days.reverse();
        days
    }

    fn events_writer(&self) -> Result<std::sync::MutexGuard<'_, EventsWriter>, AnalyticsError> {
        self.events_writer.lock().map_err(poisoned)
    }
}

impl DuckStore {
    /// Stores a batch (see [`EventWriter::insert`]) with the writer held.
    fn insert_locked(
        &self,
        writer: &mut EventsWriter,
        batch: &EventBatch,
        position: Option<u64>,
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
            return Err(AnalyticsError::Engine("recent event ids not loaded".into()));
        };
        let events = batch.events();
        let mut report = InsertReport::default();
        // Sort out duplicates: within the batch, in the window, then (older events) in the
        // day tables.
        let mut keys: hashbrown::HashSet<(i64, u64)> =
            hashbrown::HashSet::with_capacity(events.len());
        let mut fresh: Vec<Option<u64>> = Vec::with_capacity(events.len());
        let mut late: BTreeMap<i64, Vec<(usize, &StoredEvent)>> = BTreeMap::new();
        for (i, event) in events.iter().enumerate() {
            let ts = event.indexed.timestamp;
            let id = id_hash(&event.indexed.event_id);
            let new = keys.insert((ts, id)) && !(recent.covers(ts) && recent.contains(ts, id));
            if new && !recent.covers(ts) {
                late.entry(ts.div_euclid(DAY)).or_default().push((i, event));
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
                    .push((event, *id)),
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
                .ok_or_else(|| AnalyticsError::Engine("dictionary not loaded".into()))?;
            let mut rows = DayRows::with_capacity(fresh.len());
            let mut types = TypeSet::default();
            for ((event, id), body) in fresh.into_iter().zip(locations) {
                sequence += 1;
                rows.push(sequence, event, body, dictionary);
                types.insert(event.indexed.event_type);
                appended.push((event.indexed.timestamp, id));
            }
            let values = dictionary
                .take_added()
                .map_err(|e| AnalyticsError::Engine(e.to_string()))?;
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
                    let rows = rows
                        .finish()
                        .map_err(|e| AnalyticsError::Engine(e.to_string()))?;
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
                syncing
                    .join()
                    .map_err(|_| AnalyticsError::Engine("syncing body files panicked".into()))??;
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

impl EventWriter for DuckStore {
    fn insert(
        &self,
        batch: &EventBatch,
        position: Option<u64>,
    ) -> Result<InsertReport, AnalyticsError> {
        let mut writer = self.events_writer()?;
        let inserted = self.insert_locked(&mut writer, batch, position);
        if inserted.is_err() {
            // The dictionaries may hold entries no table has: read them again when needed.
            writer.dictionaries.clear();
        }
        inserted
    }

    fn checkpoint(&self) -> Result<Option<u64>, AnalyticsError> {
        let writer = self.events_writer()?;
        crate::read_position(&writer.conn, EVENTS_POSITION)
    }

    fn enforce_retention(
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

    fn erase_recipient(&self, recipient: &str) -> Result<ErasureReport, AnalyticsError> {
        let mut writer = self.events_writer()?;
        let report = self.erase_rows(&mut writer, &fold_case(recipient))?;
        bury_erased(&writer.conn, &self.bodies)?;
        if report.total() > 0 {
            writer.recent = None;
        }
        Ok(report)
    }
}

impl DuckStore {
    /// Deletes the rows of a (folded) recipient in one transaction that also moves the other
    /// rows of their body blocks to copies without the erased bodies and lists the old blocks
    /// as erased (see [`bodies`]); burying them is left to the caller.
    fn erase_rows(
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
                .map_err(|e| AnalyticsError::Engine(format!("stored events of {table}: {e}")))?;
            let mut erased: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            let mut locations = Vec::new();
            for (body, json) in candidates.into_iter().zip(stored) {
                let event = IndexedEvent::from_stored(json.as_bytes())
                    .map_err(|e| AnalyticsError::Engine(format!("stored event of {table}: {e}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DuckOptions;

    /// 2026-11-20T00:00:00Z.
    const START: i64 = 1_795_132_800;

    /// 1,500 events a second apart (several body blocks), every third one to
    /// `gone@example.com`.
    fn events() -> Vec<Vec<u8>> {
        (0..1_500)
            .map(|i| {
                let rcpt = if i % 3 == 0 { "gone" } else { "kept" };
                format!(
                    r#"{{"type":"delivery","timestamp":"{}","event_id":"e{i}","message_id":"m{i}","rcpt_to":"{rcpt}@example.com"}}"#,
                    START + i
                )
                .into_bytes()
            })
            .collect()
    }

    fn insert(store: &DuckStore, events: &[Vec<u8>]) {
        let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
        let batch = EventBatch::read(&slices).expect("readable");
        store.insert(&batch, Some(1)).expect("insert");
    }

    fn search(store: &DuckStore) -> Vec<String> {
        let query = EventQuery {
            from: START,
            to: START + DAY,
            filters: EventFilters::default(),
            per_page: 10_000,
            max_bytes: usize::MAX,
            cursor: None,
        };
        store.search(&query).expect("search").events
    }

    #[test]
    fn erasure_leaves_no_body_of_the_recipient_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.duckdb");
        let table = day_table(START / DAY);
        {
            let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
            insert(&store, &events());
            let report = store.erase_recipient("Gone@Example.com").unwrap();
            assert_eq!(report.total(), 500);
            let on_disk = store.bodies.all(&table).unwrap();
            assert!(on_disk.iter().all(|b| !b.contains("gone@")));
            assert_eq!(
                on_disk.iter().filter(|b| b.contains("kept@")).count(),
                1_000
            );
            let found = search(&store);
            assert_eq!(found.len(), 1_000);
            assert!(found.iter().all(|b| b.contains("kept@")));
        }
        // And after reopening.
        let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
        assert_eq!(search(&store).len(), 1_000);
    }

    #[test]
    fn a_store_of_the_previous_layout_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.duckdb");
        let table = day_table(START / DAY);
        let events: Vec<Vec<u8>> = (0..10)
            .map(|i| {
                let kind = if i % 2 == 0 { "delivery" } else { "bounce" };
                format!(
                    r#"{{"type":"{kind}","timestamp":"{}","event_id":"e{i}"}}"#,
                    START + i
                )
                .into_bytes()
            })
            .collect();
        insert(
            &DuckStore::open(&path, &DuckOptions::default()).unwrap(),
            &events,
        );
        // Rewritten as the previous layout kept it: the event id as text after `ts`, the
        // type by name.
        {
            let conn = Connection::open(&path).unwrap();
            let names: Vec<String> = layout::column_list()
                .split(", ")
                .filter_map(|c| c.split(' ').next().map(str::to_owned))
                .filter(|name| !["seq", "ts", "type"].contains(&name.as_str()))
                .collect();
            conn.execute_batch(&format!(
                "CREATE TABLE old AS SELECT seq, ts, 'e' || (ts - {START}) AS event_id, \
                 CASE type WHEN 1 THEN 'delivery' ELSE 'bounce' END AS type, {} FROM {table}; \
                 DROP TABLE {table}; ALTER TABLE old RENAME TO {table};",
                names.join(", ")
            ))
            .unwrap();
            assert_eq!(
                day_table_layouts(&conn).unwrap(),
                [(table.clone(), layout::previous_column_list())]
            );
        }
        let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
        let mut query = EventQuery {
            from: START,
            to: START + DAY,
            filters: EventFilters {
                event_types: vec![EventType::Bounce],
                ..EventFilters::default()
            },
            per_page: 100,
            max_bytes: usize::MAX,
            cursor: None,
        };
        let bounces = store.search(&query).unwrap().events;
        let expected: Vec<i64> = (0..10)
            .rev()
            .filter(|i| i % 2 == 1)
            .map(|i| START + i)
            .collect();
        assert_eq!(
            bounces.iter().map(|b| timestamp_of(b)).collect::<Vec<_>>(),
            expected
        );
        query.filters = EventFilters::default();
        assert_eq!(store.search(&query).unwrap().total_count, 10);
        let slices: Vec<&[u8]> = events.iter().map(Vec::as_slice).collect();
        let again = store
            .insert(&EventBatch::read(&slices).unwrap(), Some(2))
            .unwrap();
        assert_eq!((again.inserted, again.duplicates), (0, 10));
        drop(store);

        // Any other layout is refused, naming the table.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE events_20990101 (x INTEGER)")
            .unwrap();
        drop(conn);
        let refused = DuckStore::open(&path, &DuckOptions::default())
            .err()
            .unwrap();
        assert!(refused.to_string().contains("events_20990101"), "{refused}");
    }

    /// The timestamp of a stored form written by the tests here.
    fn timestamp_of(body: &str) -> i64 {
        IndexedEvent::from_stored(body.as_bytes())
            .expect("stored form")
            .timestamp
    }

    #[test]
    fn a_lookup_pages_alike_whether_a_day_is_read_whole_or_counted() {
        let busy = |i: i64, at: i64| {
            format!(
                r#"{{"type":"delivery","timestamp":"{at}","event_id":"b{i}","rcpt_to":"busy@example.com"}}"#
            )
            .into_bytes()
        };
        // More matches than a lookup reads at once on the first day, a few on the second.
        let first_day = LOOKUP_ROWS as i64 + 100;
        let mut stored: Vec<Vec<u8>> = (0..first_day).map(|i| busy(i, START + i)).collect();
        stored.extend((0..50).map(|i| busy(first_day + i, START + DAY + i)));
        // And one of another recipient.
        stored.push(events()[1].clone());
        let dir = tempfile::tempdir().unwrap();
        let store = DuckStore::open(&dir.path().join("a.duckdb"), &DuckOptions::default()).unwrap();
        insert(&store, &stored);
        let mut filters = EventFilters::default();
        filters.set_text(TextFilter::Recipients, vec!["Busy@Example.com".into()]);
        let mut query = EventQuery {
            from: START,
            to: START + 2 * DAY,
            filters,
            per_page: 7_000,
            max_bytes: usize::MAX,
            cursor: None,
        };
        let mut found = Vec::new();
        for _ in 0..10 {
            let page = store.search(&query).unwrap();
            assert_eq!(page.total_count, first_day as u64 + 50);
            found.extend(page.events);
            match page.next {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        let times: Vec<i64> = found.iter().map(|b| timestamp_of(b)).collect();
        assert_eq!(times.len(), first_day as usize + 50, "every match once");
        assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert_eq!(times[0], START + DAY + 49);
    }

    /// The dictionary values of the store's `filter` for the day of `START`.
    fn dictionary_values(store: &DuckStore, filter: TextFilter) -> Vec<String> {
        let table = dictionary::values_table(&day_table(START / DAY));
        let writer = store.events_writer().unwrap();
        let sql = format!(
            "SELECT raw FROM {table} WHERE filter = {} ORDER BY id",
            filter.index()
        );
        query_column(&writer.conn, &sql, &[]).unwrap()
    }

    fn campaign_search(store: &DuckStore, campaign: &str) -> u64 {
        let mut filters = EventFilters::default();
        filters.set_text(TextFilter::Campaigns, vec![campaign.into()]);
        let query = EventQuery {
            from: START,
            to: START + DAY,
            filters,
            per_page: 10,
            max_bytes: usize::MAX,
            cursor: None,
        };
        store.search(&query).expect("search").total_count
    }

    #[test]
    fn erasure_removes_the_dictionary_values_only_its_rows_used() {
        let event = |i: i64, rcpt: &str, campaign: &str| {
            format!(
                r#"{{"type":"bounce","timestamp":"{}","event_id":"d{i}","rcpt_to":"{rcpt}","reason":"550 {rcpt} unknown","campaign_id":"{campaign}"}}"#,
                START + i
            )
            .into_bytes()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.duckdb");
        {
            let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
            insert(
                &store,
                &[
                    event(0, "gone@example.com", "Shared"),
                    event(1, "kept@example.com", "Shared"),
                    event(2, "gone@example.com", "Only Gone"),
                ],
            );
            assert_eq!(campaign_search(&store, "only"), 1);
            store.erase_recipient("gone@example.com").unwrap();
            assert_eq!(
                dictionary_values(&store, TextFilter::Reasons),
                ["550 kept@example.com unknown"]
            );
            assert_eq!(dictionary_values(&store, TextFilter::Campaigns), ["Shared"]);
            assert_eq!(campaign_search(&store, "only"), 0);
            // A new value after the erasure gets an id of its own.
            insert(&store, &[event(3, "new@example.com", "Fresh")]);
            assert_eq!(campaign_search(&store, "fresh"), 1);
            assert_eq!(campaign_search(&store, "shared"), 1);
        }
        // After reopening, ids continue past every id given, erased ones too.
        let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
        insert(&store, &[event(4, "later@example.com", "Later")]);
        assert_eq!(campaign_search(&store, "later"), 1);
        assert_eq!(campaign_search(&store, "fresh"), 1);
        assert_eq!(campaign_search(&store, "shared"), 1);
        assert_eq!(
            dictionary_values(&store, TextFilter::Campaigns),
            ["Shared", "Fresh", "Later"]
        );
    }

    #[test]
    fn a_day_whose_dictionary_was_dropped_from_memory_reads_it_back() {
        let event = |day: i64, i: i64, campaign: &str| {
            format!(
                r#"{{"type":"delivery","timestamp":"{}","event_id":"{day}-{i}","rcpt_to":"a@example.com","campaign_id":"{campaign}"}}"#,
                START + day * DAY + i
            )
            .into_bytes()
        };
        let dir = tempfile::tempdir().unwrap();
        let store = DuckStore::open(&dir.path().join("a.duckdb"), &DuckOptions::default()).unwrap();
        insert(&store, &[event(0, 0, "First"), event(0, 1, "Second")]);
        // Two later days push the first day's dictionary out of memory.
        insert(&store, &[event(1, 0, "Other")]);
        insert(&store, &[event(2, 0, "Other")]);
        assert!(!store
            .events_writer()
            .unwrap()
            .dictionaries
            .contains_key(&day_table(START / DAY)));
        insert(&store, &[event(0, 2, "Second"), event(0, 3, "Third")]);
        assert_eq!(
            dictionary_values(&store, TextFilter::Campaigns),
            ["First", "Second", "Third"]
        );
        assert_eq!(campaign_search(&store, "second"), 2);
        assert_eq!(campaign_search(&store, "third"), 1);
        assert_eq!(campaign_search(&store, "first"), 1);
    }

    #[test]
    fn a_crash_before_burial_is_buried_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.duckdb");
        let table = day_table(START / DAY);
        {
            let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
            insert(&store, &events());
            // The erasure committed, and the process died before burying the old blocks.
            let mut writer = store.events_writer().unwrap();
            let report = store.erase_rows(&mut writer, "gone@example.com").unwrap();
            assert_eq!(report.total(), 500);
            let on_disk = store.bodies.all(&table).unwrap();
            assert!(
                on_disk.iter().any(|b| b.contains("gone@")),
                "not buried yet"
            );
        }
        let store = DuckStore::open(&path, &DuckOptions::default()).unwrap();
        let on_disk = store.bodies.all(&table).unwrap();
        assert!(on_disk.iter().all(|b| !b.contains("gone@")));
        let found = search(&store);
        assert_eq!(found.len(), 1_000);
        assert!(found.iter().all(|b| b.contains("kept@")));
    }

    #[test]
    fn slices_cover_the_range_newest_first() {
        // Sparse matches: the first slice is the longest allowed.
        let s = slices(0, 20_000, first_slice(1_000, 1_000, 20_000));
        assert_eq!(s[0], (16_400, 20_000));
        assert_eq!(s[1], (9_200, 16_400));
        assert_eq!(s.last().map(|x| x.0), Some(0));
        let covered: i64 = s.iter().map(|(lo, hi)| hi - lo).sum();
        assert_eq!(covered, 20_000);
    }

    #[test]
    fn dense_matches_start_with_a_short_slice() {
        // 10M matches a day, 1,001 rows wanted: about 17 s would do, a minute is the floor.
        assert_eq!(first_slice(1_001, 10_000_000, 86_400), 60);
        // 100,000 a day: about half an hour.
        assert_eq!(first_slice(1_001, 100_000, 86_400), 1_729);
    }
}
