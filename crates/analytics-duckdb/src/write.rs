//! The write side: atomic commits of tallies, compaction of deltas, retention.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use duckdb::arrow::array::{
    ArrayRef, Int64Builder, StringArray, StringBuilder, UInt16Array, UInt64Array, UInt64Builder,
    UInt8Array,
};
use duckdb::arrow::datatypes::{Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{Connection, ToSql};
use eventhose_analytics::{
    AnalyticsError, Counters, Dimension, EngagementLedger, LedgerChange, MetricsCheckpoint,
    MetricsWriter, RetentionReport, Tally, COUNTER_COUNT,
};
use eventhose_model::AppliedId;

use crate::layout::{self, Family, Granularity, Partition, Rollup};
use crate::{engine, DuckStore, METRICS_POSITION};

const MINUTES_PER_DAY: i64 = 1_440;

/// Compact a partition's new deltas at least this often…
const COMPACT_EVERY: Duration = Duration::from_secs(20);
/// …or once this many delta rows were appended to it.
const COMPACT_AFTER_ROWS: u64 = 100_000;

/// The writer connection and what it appended since the last compaction.
pub(crate) struct WriterState {
    conn: Connection,
    dirty: HashMap<String, Dirty>,
    /// The highest bucket in each partition (`None`: empty), as far as read or written.
    newest: HashMap<String, Option<i64>>,
    last_compaction: Instant,
}

/// The bucket range and row count appended to a partition since it was last compacted.
#[derive(Clone, Copy, Debug)]
struct Dirty {
    partition: Partition,
    lo: i64,
    hi: i64,
    rows: u64,
}

impl WriterState {
    pub(crate) fn new(conn: Connection) -> Self {
        WriterState {
            conn,
            dirty: HashMap::new(),
            newest: HashMap::new(),
            last_compaction: Instant::now(),
        }
    }
}

/// The key of an aggregate row in one table: its bucket, the dimension values the table keeps
/// and, for breakdowns, kind, label and class (zero and empty for metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct RowKey<'a> {
    bucket: i64,
    subaccount: u64,
    texts: &'a [Box<str>],
    breakdown: (u8, &'a str, u16),
}

/// The summed values of a row: counters for metrics, four counts for breakdowns.
trait Sums: Default {
    const WIDTH: usize;
    fn add(&mut self, other: &Self);
    fn value(&self, i: usize) -> u64;
}

impl Sums for Counters {
    const WIDTH: usize = COUNTER_COUNT;
    fn add(&mut self, other: &Self) {
        self.merge(other);
    }
    fn value(&self, i: usize) -> u64 {
        self.0[i]
    }
}

impl Sums for [u64; 4] {
    const WIDTH: usize = 4;
    fn add(&mut self, other: &Self) {
        for (total, n) in self.iter_mut().zip(other) {
            *total = total.saturating_add(*n);
        }
    }
    fn value(&self, i: usize) -> u64 {
        self[i]
    }
}

/// The rows a commit appends to one table. Keys are hashed from hashes of their parts, so a
/// commit hashes each dimension string of a tally row once, not once for each of the tables
/// the row goes to; the index holds only hashes and positions, so growing it moves little.
struct Rows<'a, V> {
    index: hashbrown::HashTable<(u64, usize)>,
    keys: Vec<RowKey<'a>>,
    values: Vec<V>,
}

impl<'a, V: Sums> Rows<'a, V> {
    fn new() -> Self {
        Rows {
            index: hashbrown::HashTable::new(),
            keys: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Adds `values` to the row of `key`, whose hash is `hash`.
    fn add(&mut self, hash: u64, key: RowKey<'a>, values: &V) {
        let keys = &self.keys;
        let entry = self
            .index
            .entry(hash, |&(h, i)| h == hash && keys[i] == key, |&(h, _)| h);
        match entry {
            hashbrown::hash_table::Entry::Occupied(row) => self.values[row.get().1].add(values),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert((hash, self.keys.len()));
                self.push(key, values);
            }
        }
    }

    /// Appends a row whose key is known to be new (a tally's minute rows are distinct).
    fn push(&mut self, key: RowKey<'a>, values: &V) {
        let mut sum = V::default();
        sum.add(values);
        self.keys.push(key);
        self.values.push(sum);
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn iter(&self) -> impl Iterator<Item = (&RowKey<'a>, &V)> {
        self.keys.iter().zip(&self.values)
    }
}

/// The rows a commit appends to the tables of one month: full rows at each granularity, and
/// hour rows of each narrow rollup (in [`Rollup::narrow`] order).
struct MonthRows<'a, V> {
    full: [Rows<'a, V>; 3],
    hours: Vec<Rows<'a, V>>,
}

/// Every row a commit appends for one family, by table: a tally's minute rows (distinct by
/// construction) go to the full minute, hour and day tables and to the hour rollups; the day rollups are summed from the (smaller)
/// hour rollups.
fn family_tables<'a, V: Sums + 'a>(
    family: Family,
    rows: impl Iterator<Item = (RowKey<'a>, &'a V)>,
) -> Vec<(Partition, Rows<'a, V>)> {
    let state = hashbrown::DefaultHashBuilder::default();
    let rollups: Vec<Rollup> = Rollup::narrow().collect();
    let mut months: HashMap<(i32, u32), MonthRows<'a, V>> = HashMap::new();
    for (key, values) in rows {
        // Hour and day buckets lie in the month of their minutes.
        let month = months
            .entry(layout::month_of(key.bucket))
            .or_insert_with(|| MonthRows {
                full: std::array::from_fn(|_| Rows::new()),
                hours: rollups.iter().map(|_| Rows::new()).collect(),
            });
        let mut text_hashes = [0u64; 8];
        for (h, text) in text_hashes.iter_mut().zip(key.texts) {
            *h = state.hash_one(&**text);
        }
        let breakdown = state.hash_one(key.breakdown);
        let dimensions = state.hash_one((key.subaccount, text_hashes, breakdown));
        let [minutes, hours, days] = &mut month.full;
        minutes.push(key, values);
        for (rows, g) in [(hours, Granularity::Hour), (days, Granularity::Day)] {
            let bucket = g.floor(key.bucket);
            let hash = state.hash_one((bucket, dimensions));
            rows.add(hash, RowKey { bucket, ..key }, values);
        }
        let hour = Granularity::Hour.floor(key.bucket);
        for (rows, rollup) in month.hours.iter_mut().zip(&rollups) {
            let text = match rollup {
                Rollup::With(d) | Rollup::Across(d) => text_hashes[d.index() - 1],
                _ => 0,
            };
            let subaccount = if rollup.keeps_subaccount() {
                key.subaccount
            } else {
                0
            };
            let hash = state.hash_one((hour, subaccount, text, breakdown));
            let rollup_key = RowKey {
                bucket: hour,
                subaccount,
                texts: rollup.texts(key.texts),
                ..key
            };
            rows.add(hash, rollup_key, values);
        }
    }
    let mut out = Vec::new();
    for (month, MonthRows { full, hours }) in months {
        let partition = |g, rollup| Partition {
            family,
            g,
            month,
            rollup,
        };
        for (rollup, hour_rows) in rollups.iter().zip(hours) {
            let mut day_rows = Rows::new();
            for (key, values) in hour_rows.iter() {
                let key = RowKey {
                    bucket: Granularity::Day.floor(key.bucket),
                    ..*key
                };
                day_rows.add(state.hash_one(key), key, values);
            }
            out.push((partition(Granularity::Hour, *rollup), hour_rows));
            out.push((partition(Granularity::Day, *rollup), day_rows));
        }
        for (g, rows) in Granularity::ALL.into_iter().zip(full) {
            out.push((partition(g, Rollup::Full), rows));
        }
    }
    out
}

fn metric_tables(tally: &Tally) -> Vec<(Partition, Rows<'_, Counters>)> {
    family_tables(
        Family::Metrics,
        tally.rows.iter().map(|(key, counters)| {
            let key = RowKey {
                bucket: key.minute,
                subaccount: key.dims.subaccount,
                texts: &key.dims.text[..],
                breakdown: (0, "", 0),
            };
            (key, counters)
        }),
    )
}

fn breakdown_tables(tally: &Tally) -> Vec<(Partition, Rows<'_, [u64; 4]>)> {
    family_tables(
        Family::Breakdowns,
        tally.breakdowns.iter().map(|(key, counts)| {
            let row = RowKey {
                bucket: key.row.minute,
                subaccount: key.row.dims.subaccount,
                texts: &key.row.dims.text[..],
                breakdown: (key.kind.code(), &*key.label, key.class),
            };
            (row, counts)
        }),
    )
}

fn u64_column(values: impl Iterator<Item = u64>) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(values))
}

/// A partition's rows as one record batch, in table column order (DuckDB's appender matches
/// columns by position).
fn record_batch<V: Sums>(
    partition: &Partition,
    rows: &Rows<'_, V>,
) -> Result<RecordBatch, duckdb::Error> {
    let rows: Vec<(&RowKey<'_>, &V)> = rows.iter().collect();
    let mut bucket = Int64Builder::with_capacity(rows.len());
    let mut subaccount = UInt64Builder::with_capacity(rows.len());
    let mut texts: Vec<StringBuilder> = (1..partition.rollup.dimensions().len())
        .map(|_| StringBuilder::new())
        .collect();
    for (key, _) in &rows {
        bucket.append_value(key.bucket);
        subaccount.append_value(key.subaccount);
        for (builder, value) in texts.iter_mut().zip(key.texts) {
            builder.append_value(value);
        }
    }
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(bucket.finish()), Arc::new(subaccount.finish())];
    arrays.extend(texts.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    if partition.family == Family::Breakdowns {
        arrays.push(Arc::new(UInt8Array::from_iter_values(
            rows.iter().map(|(k, _)| k.breakdown.0),
        )));
        arrays.push(Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(k, _)| k.breakdown.1),
        )));
        arrays.push(Arc::new(UInt16Array::from_iter_values(
            rows.iter().map(|(k, _)| k.breakdown.2),
        )));
    }
    for i in 0..V::WIDTH {
        arrays.push(u64_column(rows.iter().map(|(_, v)| v.value(i))));
    }
    let fields: Vec<Field> = arrays
        .iter()
        .enumerate()
        .map(|(i, a)| Field::new(format!("c{i}"), a.data_type().clone(), false))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))
}

/// What an append wrote to one partition: its bucket range, row count, and the partition's
/// newest bucket before it.
struct Appended {
    partition: Partition,
    lo: i64,
    hi: i64,
    rows: u64,
    newest_before: Option<i64>,
}

impl WriterState {
    /// Appends a partition's rows, creating the table if needed.
    fn append<V: Sums>(
        &self,
        partition: Partition,
        rows: &Rows<'_, V>,
        created: &mut Vec<String>,
    ) -> Result<Appended, duckdb::Error> {
        let name = partition.name();
        if !self.newest.contains_key(&name) {
            self.conn.execute_batch(&partition.create())?;
        }
        let newest_before = newest_bucket(&self.conn, &self.newest, &name)?;
        let mut appender = self.conn.appender(&name)?;
        appender.append_record_batch(record_batch(&partition, rows)?)?;
        appender.flush()?;
        created.push(name);
        let (lo, hi) = bounds(rows.iter().map(|(k, _)| k.bucket));
        Ok(Appended {
            partition,
            lo,
            hi,
            rows: rows.len() as u64,
            newest_before,
        })
    }

    /// Appends a commit's rows inside the open transaction; returns what was appended, to be
    /// [recorded](Self::record_committed) once the transaction committed.
    fn append_all(
        &mut self,
        tally: &Tally,
        ledger: &[LedgerChange],
        position: Option<u64>,
        created: &mut Vec<String>,
    ) -> Result<Vec<Appended>, duckdb::Error> {
        let mut appended = Vec::new();
        for (partition, rows) in &metric_tables(tally) {
            appended.push(self.append(*partition, rows, created)?);
        }
        for (partition, rows) in &breakdown_tables(tally) {
            appended.push(self.append(*partition, rows, created)?);
        }
        let conn = &self.conn;
        let mut by_day: BTreeMap<i32, Vec<&LedgerChange>> = BTreeMap::new();
        for change in ledger {
            by_day.entry(change.day).or_default().push(change);
        }
        for (day, changes) in by_day {
            let name = layout::ledger_table(day);
            conn.execute_batch(&layout::create_ledger(&name))?;
            created.push(name.clone());
            let mut appender = conn.appender(&name)?;
            for change in changes {
                let hi = (change.key >> 64) as u64;
                let lo = (change.key & 0xFFFF_FFFF_FFFF_FFFF) as u64;
                appender.append_row([&hi as &dyn ToSql, &lo, &change.flags])?;
            }
            appender.flush()?;
        }
        let mut applied_by_day: BTreeMap<i64, Vec<&AppliedId>> = BTreeMap::new();
        for id in &tally.applied {
            applied_by_day
                .entry(id.minute.div_euclid(MINUTES_PER_DAY))
                .or_default()
                .push(id);
        }
        for (day, ids) in applied_by_day {
            let name = layout::applied_table(day);
            conn.execute_batch(&layout::create_applied(&name))?;
            created.push(name.clone());
            let mut appender = conn.appender(&name)?;
            for id in ids {
                appender.append_row(duckdb::params![id.identity, id.minute])?;
            }
            appender.flush()?;
        }
        if let Some(position) = position {
            conn.execute(
                "INSERT OR REPLACE INTO positions VALUES (?, ?)",
                duckdb::params![METRICS_POSITION, position],
            )?;
        }
        Ok(appended)
    }

    /// Notes a committed transaction's appends: the partitions it created and their newest
    /// buckets, and what compaction now has to sum. Only once committed: after a rollback (a
    /// full disk fails the commit) a partition noted as existing would never be created again.
    fn record_committed(&mut self, appended: Vec<Appended>) {
        for a in appended {
            // Rows of a commit have distinct keys; they can repeat a stored key only if a
            // bucket they hold is already in the partition. Appends past its newest bucket
            // (a backfill day by day, say) need no compaction.
            let name = a.partition.name();
            let newest = a.newest_before.map_or(a.hi, |n| n.max(a.hi));
            self.newest.insert(name.clone(), Some(newest));
            if a.newest_before.is_none_or(|newest| newest < a.lo) {
                continue;
            }
            let dirty = self.dirty.entry(name).or_insert(Dirty {
                partition: a.partition,
                lo: a.lo,
                hi: a.hi,
                rows: 0,
            });
            dirty.lo = dirty.lo.min(a.lo);
            dirty.hi = dirty.hi.max(a.hi);
            dirty.rows += a.rows;
        }
    }

    /// Sums the deltas appended to each dirty partition since its last compaction.
    fn compact(&mut self, force: bool) -> Result<(), duckdb::Error> {
        let due = force || self.last_compaction.elapsed() >= COMPACT_EVERY;
        let names: Vec<String> = self
            .dirty
            .iter()
            .filter(|(_, d)| due || d.rows >= COMPACT_AFTER_ROWS)
            .map(|(name, _)| name.clone())
            .collect();
        for name in names {
            let Some(dirty) = self.dirty.remove(&name) else {
                continue;
            };
            let range = format!("bucket >= {} AND bucket <= {}", dirty.lo, dirty.hi);
            let compacted = summed(&dirty.partition, &name, &range);
            let sql = format!(
                "BEGIN;
                 CREATE OR REPLACE TEMP TABLE compacted AS {compacted};
                 DELETE FROM {name} WHERE {range};
                 INSERT INTO {name} SELECT * FROM compacted;
                 DROP TABLE compacted;
                 COMMIT;"
            );
            if let Err(e) = self.conn.execute_batch(&sql) {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.dirty.insert(name, dirty);
                return Err(e);
            }
        }
        if due {
            self.last_compaction = Instant::now();
        }
        Ok(())
    }
}

/// `SELECT` of `source`'s rows where `condition` holds, summed by the key columns of
/// `partition`, in its column order.
fn summed(partition: &Partition, source: &str, condition: &str) -> String {
    let keys = partition.key_columns();
    // The subaccount column (after the bucket) of a rollup summed over subaccounts holds 0.
    let zero = format!("0::UBIGINT AS {}", Dimension::Subaccount.column());
    let mut selected = keys.clone();
    if !partition.rollup.keeps_subaccount() {
        selected.insert(1, &zero);
    }
    let (keys, selected) = (keys.join(", "), selected.join(", "));
    let sums = partition
        .value_columns()
        .iter()
        .map(|c| format!("SUM({c})::UBIGINT AS {c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT {selected}, {sums} FROM {source} WHERE {condition} GROUP BY {keys}")
}

/// Builds, from its full hour and day partitions, the rollups a store written before they
/// existed lacks; one transaction per rollup, so an interrupted pass resumes at the next open.
/// Returns the tables created.
pub(crate) fn build_missing_rollups(
    conn: &Connection,
    tables: &BTreeSet<String>,
) -> Result<Vec<String>, duckdb::Error> {
    let mut created = Vec::new();
    for name in tables {
        let Some(full) = Partition::parse(name) else {
            continue;
        };
        if full.rollup != Rollup::Full || full.g == Granularity::Minute {
            continue;
        }
        for rollup in Rollup::narrow() {
            let partition = Partition { rollup, ..full };
            let target = partition.name();
            if tables.contains(&target) {
                continue;
            }
            let sql = format!(
                "BEGIN; {}; INSERT INTO {target} {}; COMMIT;",
                partition.create(),
                summed(&partition, name, "TRUE")
            );
            if let Err(e) = conn.execute_batch(&sql) {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
            created.push(target);
        }
    }
    Ok(created)
}

/// The highest bucket in partition `name` (known, or read before anything is appended).
fn newest_bucket(
    conn: &Connection,
    known: &HashMap<String, Option<i64>>,
    name: &str,
) -> Result<Option<i64>, duckdb::Error> {
    match known.get(name) {
        Some(newest) => Ok(*newest),
        None => conn.query_row(&format!("SELECT max(bucket) FROM {name}"), [], |row| {
            row.get(0)
        }),
    }
}

fn bounds(buckets: impl Iterator<Item = i64>) -> (i64, i64) {
    buckets.fold((i64::MAX, i64::MIN), |(lo, hi), b| (lo.min(b), hi.max(b)))
}

impl DuckStore {
    /// Sums all pending deltas now (tests and benchmarks use it to measure compacted reads).
    pub fn compact_now(&self) -> Result<(), AnalyticsError> {
        self.writer()?.compact(true).map_err(engine)
    }
}

impl MetricsWriter for DuckStore {
    fn checkpoint(&self) -> Result<MetricsCheckpoint, AnalyticsError> {
        let writer = self.writer()?;
        let conn = &writer.conn;
        let position = crate::read_position(conn, METRICS_POSITION)?;
        let mut changes = Vec::new();
        let mut applied = Vec::new();
        for name in self.table_names()? {
            if layout::parse_applied_table(&name).is_some() {
                let sql = format!("SELECT identity, minute FROM {name}");
                let mut stmt = conn.prepare(&sql).map_err(engine)?;
                let rows = stmt
                    .query_map([], |row| {
                        Ok(AppliedId {
                            identity: row.get(0)?,
                            minute: row.get(1)?,
                        })
                    })
                    .map_err(engine)?;
                for row in rows {
                    applied.push(row.map_err(engine)?);
                }
                continue;
            }
            let Some(day) = layout::parse_ledger_table(&name) else {
                continue;
            };
            let mut stmt = conn
                .prepare(&format!("SELECT key_hi, key_lo, flags FROM {name}"))
                .map_err(engine)?;
            let rows = stmt
                .query_map([], |row| {
                    let hi: u64 = row.get(0)?;
                    let lo: u64 = row.get(1)?;
                    Ok(LedgerChange {
                        key: (u128::from(hi) << 64) | u128::from(lo),
                        flags: row.get(2)?,
                        day,
                    })
                })
                .map_err(engine)?;
            for row in rows {
                changes.push(row.map_err(engine)?);
            }
        }
        Ok(MetricsCheckpoint {
            position,
            ledger: EngagementLedger::restore(changes),
            applied,
        })
    }

    fn commit(
        &self,
        tally: &Tally,
        ledger: &[LedgerChange],
        position: Option<u64>,
    ) -> Result<(), AnalyticsError> {
        let mut writer = self.writer()?;
        let mut created = Vec::new();
        writer.conn.execute_batch("BEGIN").map_err(engine)?;
        let appended = writer.append_all(tally, ledger, position, &mut created);
        let finished = appended.and_then(|appended| {
            writer.conn.execute_batch("COMMIT")?;
            Ok(appended)
        });
        match finished {
            Ok(appended) => writer.record_committed(appended),
            Err(e) => {
                let _ = writer.conn.execute_batch("ROLLBACK");
                return Err(engine(e));
            }
        }
        self.tables
            .write()
            .map_err(crate::poisoned)?
            .extend(created);
        if let Err(e) = writer.compact(false) {
            // The deltas stay correct uncompacted; the next pass retries.
            tracing::warn!(error = %e, "compacting the analytic store failed");
        }
        Ok(())
    }

    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
        ledger_from: DateTime<Utc>,
        applied_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError> {
        let mut writer = self.writer()?;
        let ledger_day = i32::try_from(ledger_from.timestamp().div_euclid(86_400)).unwrap_or(0);
        let applied_day = applied_from.timestamp().div_euclid(86_400);
        let mut report = RetentionReport::default();
        for name in self.table_names()? {
            let expired = match Partition::parse(&name) {
                Some(Partition {
                    month: (year, month),
                    ..
                }) => {
                    let (y, m) = layout::next_month(year, month);
                    layout::month_start(y, m) <= keep_from.timestamp()
                }
                None => {
                    layout::parse_ledger_table(&name).is_some_and(|day| day < ledger_day)
                        || layout::parse_applied_table(&name).is_some_and(|day| day < applied_day)
                }
            };
            if layout::parse_applied_table(&name) == Some(applied_day) {
                // The window starts inside this day: its earlier rows go, so a restart reads
                // back only what the window holds.
                let floor = applied_from.timestamp().div_euclid(60);
                writer
                    .conn
                    .execute(&format!("DELETE FROM {name} WHERE minute < {floor}"), [])
                    .map_err(engine)?;
            }
            if expired {
                writer
                    .conn
                    .execute_batch(&format!("DROP TABLE IF EXISTS {name}"))
                    .map_err(engine)?;
                self.tables.write().map_err(crate::poisoned)?.remove(&name);
                writer.dirty.remove(&name);
                writer.newest.remove(&name);
                report.dropped.push(name);
            }
        }
        Ok(report)
    }
}
