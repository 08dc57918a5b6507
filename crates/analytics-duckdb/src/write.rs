//! The write side: atomic commits of tallies, compaction of deltas, retention.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use duckdb::arrow::array::{
    ArrayRef, Int64Builder, StringBuilder, UInt16Array, UInt64Array, UInt64Builder, UInt8Array,
};
use duckdb::arrow::datatypes::{Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{Connection, ToSql};
use eventhose_analytics::fold::{BreakdownKey, Dimensions};
use eventhose_analytics::{
    AnalyticsError, Counters, EngagementLedger, LedgerChange, MetricsCheckpoint, MetricsWriter,
    RetentionReport, Tally, COUNTER_COUNT,
};

use crate::layout::{self, Family, Granularity};
use crate::{engine, DuckStore, METRICS_POSITION};

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
    family: Family,
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

/// Rows of one partition, keyed by bucket and dimensions.
type MetricRows<'a> = BTreeMap<(i64, &'a Dimensions), Counters>;
type BreakdownRows<'a> = BTreeMap<(i64, &'a Dimensions, u8, &'a str, u16), [u64; 4]>;

fn metric_partitions(tally: &Tally) -> HashMap<String, MetricRows<'_>> {
    let mut out: HashMap<String, MetricRows<'_>> = HashMap::new();
    for (key, counters) in &tally.rows {
        for g in Granularity::ALL {
            let bucket = g.floor(key.minute);
            let name = layout::partition(Family::Metrics, g, layout::month_of(bucket));
            out.entry(name)
                .or_default()
                .entry((bucket, &key.dims))
                .or_default()
                .merge(counters);
        }
    }
    out
}

fn breakdown_partitions(tally: &Tally) -> HashMap<String, BreakdownRows<'_>> {
    let mut out: HashMap<String, BreakdownRows<'_>> = HashMap::new();
    for (key, counts) in &tally.breakdowns {
        let BreakdownKey {
            row,
            kind,
            label,
            class,
        } = key;
        for g in Granularity::ALL {
            let bucket = g.floor(row.minute);
            let name = layout::partition(Family::Breakdowns, g, layout::month_of(bucket));
            let slot = out
                .entry(name)
                .or_default()
                .entry((bucket, &row.dims, kind.code(), &**label, *class))
                .or_default();
            for (total, n) in slot.iter_mut().zip(counts) {
                *total += n;
            }
        }
    }
    out
}

/// The columns every partition starts with: bucket and dimensions.
struct KeyColumns {
    bucket: Int64Builder,
    subaccount: UInt64Builder,
    text: Vec<StringBuilder>,
}

impl KeyColumns {
    fn new() -> KeyColumns {
        KeyColumns {
            bucket: Int64Builder::new(),
            subaccount: UInt64Builder::new(),
            text: (0..8).map(|_| StringBuilder::new()).collect(),
        }
    }

    fn push(&mut self, bucket: i64, dims: &Dimensions) {
        self.bucket.append_value(bucket);
        self.subaccount.append_value(dims.subaccount);
        for (builder, value) in self.text.iter_mut().zip(dims.text.iter()) {
            builder.append_value(value);
        }
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(self.bucket.finish()),
            Arc::new(self.subaccount.finish()),
        ];
        arrays.extend(
            self.text
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        arrays
    }
}

fn u64_column(values: impl Iterator<Item = u64>) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(values))
}

/// A record batch whose fields are named and typed by its arrays (DuckDB's appender matches
/// columns by position).
fn record_batch(arrays: Vec<ArrayRef>) -> Result<RecordBatch, duckdb::Error> {
    let fields: Vec<Field> = arrays
        .iter()
        .enumerate()
        .map(|(i, a)| Field::new(format!("c{i}"), a.data_type().clone(), false))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))
}

/// The rows of a metrics partition, in table column order.
fn metric_batch(rows: &MetricRows<'_>) -> Result<RecordBatch, duckdb::Error> {
    let mut keys = KeyColumns::new();
    for (bucket, dims) in rows.keys() {
        keys.push(*bucket, dims);
    }
    let mut arrays = keys.finish();
    for i in 0..COUNTER_COUNT {
        arrays.push(u64_column(rows.values().map(|c| c.0[i])));
    }
    record_batch(arrays)
}

/// The rows of a breakdown partition, in table column order.
fn breakdown_batch(rows: &BreakdownRows<'_>) -> Result<RecordBatch, duckdb::Error> {
    let mut keys = KeyColumns::new();
    let mut label = StringBuilder::new();
    for (bucket, dims, _, text, _) in rows.keys() {
        keys.push(*bucket, dims);
        label.append_value(text);
    }
    let mut arrays = keys.finish();
    arrays.push(Arc::new(UInt8Array::from_iter_values(
        rows.keys().map(|k| k.2),
    )));
    arrays.push(Arc::new(label.finish()));
    arrays.push(Arc::new(UInt16Array::from_iter_values(
        rows.keys().map(|k| k.4),
    )));
    for i in 0..4 {
        arrays.push(u64_column(rows.values().map(|c| c[i])));
    }
    record_batch(arrays)
}

impl WriterState {
    fn append_all(
        &mut self,
        tally: &Tally,
        ledger: &[LedgerChange],
        position: Option<u64>,
        created: &mut Vec<String>,
    ) -> Result<(), duckdb::Error> {
        let conn = &self.conn;
        let metric_rows = metric_partitions(tally);
        let breakdown_rows = breakdown_partitions(tally);
        let mut appended: Vec<(String, Family, i64, i64, u64, Option<i64>)> = Vec::new();

        for (name, rows) in &metric_rows {
            conn.execute_batch(&layout::create_partition(Family::Metrics, name))?;
            created.push(name.clone());
            let newest = newest_bucket(conn, &self.newest, name)?;
            let mut appender = conn.appender(name)?;
            appender.append_record_batch(metric_batch(rows)?)?;
            appender.flush()?;
            let (lo, hi) = bounds(rows.keys().map(|(b, _)| *b));
            appended.push((
                name.clone(),
                Family::Metrics,
                lo,
                hi,
                rows.len() as u64,
                newest,
            ));
        }
        for (name, rows) in &breakdown_rows {
            conn.execute_batch(&layout::create_partition(Family::Breakdowns, name))?;
            created.push(name.clone());
            let newest = newest_bucket(conn, &self.newest, name)?;
            let mut appender = conn.appender(name)?;
            appender.append_record_batch(breakdown_batch(rows)?)?;
            appender.flush()?;
            let (lo, hi) = bounds(rows.keys().map(|k| k.0));
            appended.push((
                name.clone(),
                Family::Breakdowns,
                lo,
                hi,
                rows.len() as u64,
                newest,
            ));
        }
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
                let lo = change.key as u64;
                appender.append_row([&hi as &dyn ToSql, &lo, &change.flags])?;
            }
            appender.flush()?;
        }
        if let Some(position) = position {
            conn.execute(
                "INSERT OR REPLACE INTO positions VALUES (?, ?)",
                duckdb::params![METRICS_POSITION, position],
            )?;
        }
        for (name, family, lo, hi, rows, newest) in appended {
            // Rows of a commit have distinct keys; they can repeat a stored key only if a
            // bucket they hold is already in the partition. Appends past its newest bucket
            // (a backfill day by day, say) need no compaction.
            self.newest
                .insert(name.clone(), Some(newest.map_or(hi, |n| n.max(hi))));
            if newest.is_none_or(|newest| newest < lo) {
                continue;
            }
            let dirty = self.dirty.entry(name).or_insert(Dirty {
                family,
                lo,
                hi,
                rows: 0,
            });
            dirty.lo = dirty.lo.min(lo);
            dirty.hi = dirty.hi.max(hi);
            dirty.rows += rows;
        }
        Ok(())
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
            let keys = layout::key_columns(dirty.family).join(", ");
            let sums = layout::value_columns(dirty.family)
                .iter()
                .map(|c| format!("SUM({c})::UBIGINT AS {c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let range = format!("bucket >= {} AND bucket <= {}", dirty.lo, dirty.hi);
            let sql = format!(
                "BEGIN;
                 CREATE OR REPLACE TEMP TABLE compacted AS SELECT {keys}, {sums} FROM {name} WHERE {range} GROUP BY {keys};
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
        for name in self.table_names()? {
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
        let finished = appended.and_then(|()| writer.conn.execute_batch("COMMIT"));
        if let Err(e) = finished {
            let _ = writer.conn.execute_batch("ROLLBACK");
            return Err(engine(e));
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
    ) -> Result<RetentionReport, AnalyticsError> {
        let mut writer = self.writer()?;
        let ledger_day = i32::try_from(ledger_from.timestamp().div_euclid(86_400)).unwrap_or(0);
        let mut report = RetentionReport::default();
        for name in self.table_names()? {
            let expired = match layout::parse_partition(&name) {
                Some((_, _, (year, month))) => {
                    let (y, m) = layout::next_month(year, month);
                    layout::month_start(y, m) <= keep_from.timestamp()
                }
                None => layout::parse_ledger_table(&name).is_some_and(|day| day < ledger_day),
            };
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
