//! Raw events for the Events API: one table per UTC day (`events_20261127`), each event whole
//! beside the columns searches filter on, computed at insert time by the shared definitions
//! (`IndexedEvent`, the keyword tokenizer) so SQL needs only `=`, `IN` and `contains`.
//!
//! * **Idempotent inserts.** A batch is appended to a temporary table and copied into its day
//!   table without the rows whose `(event_id, ts)` is there already; the lookup is restricted
//!   to the batch's seconds, which the table's zone maps find without a scan.
//! * **Stable paging.** Each stored row gets an insertion sequence number; the high-water mark
//!   is committed with the rows. A first page fixes its snapshot (the mark then) and every
//!   later page filters `seq <= snapshot`.
//! * **Newest first, cheaply.** A page is read from slices of the time range, newest first
//!   (the last hour, then growing slices), stopping as soon as the page is full, so a first
//!   page rarely reads more than the newest row groups.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use duckdb::{Connection, ToSql};
use eventhose_analytics::keywords::{fold_case, Tokenizer};
use eventhose_analytics::{
    AnalyticsError, Comparison, ErasureReport, EventCursor, EventFilters, EventPage, EventQuery,
    EventReader, EventWriter, IndexedEvent, InsertReport, RetentionReport, TextFilter,
};
use eventhose_model::EventType;

use crate::{engine, poisoned, DuckStore};

/// The position row of the message-events subscriber.
pub const EVENTS_POSITION: &str = "message_events";
/// The row holding the highest sequence number ever assigned.
pub(crate) const EVENTS_SEQUENCE: &str = "message_events_sequence";

const DAY: i64 = 86_400;

/// The day table of unix day `day`.
fn day_table(day: i64) -> String {
    let date = DateTime::<Utc>::from_timestamp(day * DAY, 0)
        .unwrap_or_default()
        .date_naive();
    format!("events_{}", date.format("%Y%m%d"))
}

/// The unix day of a day table's name.
pub(crate) fn parse_day_table(name: &str) -> Option<i64> {
    let digits = name.strip_prefix("events_")?;
    let date = NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(
        date.and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp()
            .div_euclid(DAY),
    )
}

/// The column of a text filter.
fn text_column(filter: TextFilter) -> String {
    format!("f_{}", filter.field())
}

/// Keyword columns hold the keywords joined by spaces, with a space at each end, so "has the
/// keyword `k`" is `contains(column, ' k ')` (keywords never contain whitespace: it separates
/// them). The recipients column joins the folded addresses the same way with newlines.
fn joined(items: &[String], separator: char) -> String {
    let mut out = String::from(separator);
    for item in items {
        out.push_str(item);
        out.push(separator);
    }
    out
}

/// `CREATE TABLE` of a day table, or (with `staging`) of the temporary table a batch is
/// appended to first: the same columns, with the batch order in place of the sequence number.
fn create_day_table(name: &str, staging: bool) -> String {
    let texts = TextFilter::ALL
        .iter()
        .map(|f| format!("{} VARCHAR", text_column(*f)))
        .collect::<Vec<_>>()
        .join(", ");
    let (create, first) = if staging {
        ("CREATE OR REPLACE TEMP TABLE", "ord UBIGINT NOT NULL")
    } else {
        ("CREATE TABLE IF NOT EXISTS", "seq UBIGINT NOT NULL")
    };
    format!(
        "{create} {name} ({first}, ts BIGINT NOT NULL, event_id VARCHAR NOT NULL, type VARCHAR NOT NULL, \
         subaccount UBIGINT, bounce_class UBIGINT, ab_test_version UBIGINT, recipients VARCHAR NOT NULL, \
         {texts}, raw VARCHAR NOT NULL)"
    )
}

/// The columns after the first (`seq` / `ord`), in table order.
fn data_columns() -> String {
    let mut columns = vec![
        "ts".to_owned(),
        "event_id".into(),
        "type".into(),
        "subaccount".into(),
        "bounce_class".into(),
        "ab_test_version".into(),
        "recipients".into(),
    ];
    columns.extend(TextFilter::ALL.iter().map(|f| text_column(*f)));
    columns.push("raw".into());
    columns.join(", ")
}

/// One event ready for the appender.
struct Row<'a> {
    indexed: IndexedEvent,
    raw: &'a str,
}

/// The value of a text column for an event: the raw text, its folded form, or its keywords.
enum TextValue {
    Missing,
    Text(String),
    Tokens(Vec<String>),
}

impl TextValue {
    fn of(indexed: &IndexedEvent, filter: TextFilter) -> TextValue {
        match (indexed.text(filter), filter.comparison()) {
            (None, _) => TextValue::Missing,
            (Some(text), Comparison::Exact) => TextValue::Text(text.to_owned()),
            (Some(text), Comparison::Caseless) => TextValue::Text(fold_case(text)),
            (Some(text), Comparison::Keywords(tokenizer)) => {
                TextValue::Tokens(tokenizer.tokens(text))
            }
        }
    }
}

fn append_rows(conn: &Connection, rows: &[Row<'_>]) -> Result<(), duckdb::Error> {
    let mut appender = conn.appender("incoming")?;
    for (ord, row) in rows.iter().enumerate() {
        let ix = &row.indexed;
        let mut params: Vec<Box<dyn ToSql>> = vec![
            Box::new(ord as u64),
            Box::new(ix.timestamp),
            Box::new(ix.event_id.clone()),
            Box::new(ix.event_type.as_str().to_owned()),
            Box::new(ix.subaccount),
            Box::new(ix.bounce_class),
            Box::new(ix.ab_test_version),
            Box::new(joined(&ix.recipients, '\n')),
        ];
        for filter in TextFilter::ALL {
            params.push(match TextValue::of(ix, filter) {
                TextValue::Missing => Box::new(None::<String>),
                TextValue::Text(text) => Box::new(Some(text)),
                TextValue::Tokens(tokens) => Box::new(Some(joined(&tokens, ' '))),
            });
        }
        params.push(Box::new(row.raw.to_owned()));
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p.as_ref()).collect();
        appender.append_row(refs.as_slice())?;
    }
    appender.flush()
}

impl DuckStore {
    /// Inserts one day's rows, skipping stored `(event_id, ts)`; returns how many were stored.
    fn insert_day(
        conn: &Connection,
        day: i64,
        rows: &[Row<'_>],
        first_seq: u64,
        created: &mut Vec<String>,
    ) -> Result<u64, duckdb::Error> {
        let table = day_table(day);
        conn.execute_batch(&create_day_table(&table, false))?;
        created.push(table.clone());
        conn.execute_batch(&create_day_table("incoming", true))?;
        append_rows(conn, rows)?;
        let (lo, hi) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| {
            (lo.min(r.indexed.timestamp), hi.max(r.indexed.timestamp))
        });
        let inserted = conn.execute(
            &format!(
                "INSERT INTO {table} ({first}, {columns}) \
                 SELECT {first_seq} + row_number() OVER (ORDER BY i.ord) - 1, {staged} \
                 FROM incoming i \
                 WHERE NOT EXISTS (SELECT 1 FROM {table} e WHERE e.ts BETWEEN {lo} AND {hi} \
                                   AND e.ts = i.ts AND e.event_id = i.event_id)",
                first = "seq",
                columns = data_columns(),
                staged = data_columns()
                    .split(", ")
                    .map(|c| format!("i.{c}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            [],
        )?;
        conn.execute_batch("DROP TABLE incoming")?;
        Ok(inserted as u64)
    }

    /// Tables of days overlapping `[from, to)`, newest first.
    fn event_tables(&self, from: i64, to: i64) -> Vec<(i64, String)> {
        let tables = self.tables.read().map(|t| t.clone()).unwrap_or_default();
        let mut days: Vec<(i64, String)> = tables
            .into_iter()
            .filter_map(|name| parse_day_table(&name).map(|day| (day, name)))
            .filter(|(day, _)| day * DAY < to && (day + 1) * DAY > from)
            .collect();
        days.sort_by_key(|day| std::cmp::Reverse(day.0));
        days
    }
}

/// The WHERE clause of the filters, with its parameters.
fn filter_sql(filters: &EventFilters) -> (String, Vec<Box<dyn ToSql>>) {
    let mut sql = Sql::default();
    sql.any_of(
        "type",
        filters
            .event_types
            .iter()
            .map(|t| Box::new(t.as_str().to_owned()) as Box<dyn ToSql>)
            .collect(),
    );
    sql.any_of("bounce_class", boxed(&filters.bounce_classes));
    sql.any_of("subaccount", boxed(&filters.subaccounts));
    sql.any_of("ab_test_version", boxed(&filters.ab_test_versions));
    for filter in TextFilter::ALL {
        let wanted = filters.text(filter);
        if wanted.is_empty() {
            continue;
        }
        let column = text_column(filter);
        let text = |fold: bool| -> Vec<Box<dyn ToSql>> {
            wanted
                .iter()
                .map(|w| Box::new(if fold { fold_case(w) } else { w.clone() }) as Box<dyn ToSql>)
                .collect()
        };
        match filter.comparison() {
            Comparison::Exact => sql.any_of(&column, text(false)),
            Comparison::Caseless => sql.any_of(&column, text(true)),
            Comparison::Keywords(tokenizer) => {
                let alternatives: Vec<String> = wanted
                    .iter()
                    .map(|w| keyword_condition(&column, tokenizer, w, &mut sql.params))
                    .collect();
                sql.parts.push(format!("({})", alternatives.join(" OR ")));
            }
        }
    }
    let where_sql = if sql.parts.is_empty() {
        "TRUE".to_owned()
    } else {
        sql.parts.join(" AND ")
    };
    (where_sql, sql.params)
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

/// Every keyword of `wanted` is a keyword of the column's text (nothing matches a value
/// without keywords).
fn keyword_condition(
    column: &str,
    tokenizer: Tokenizer,
    wanted: &str,
    params: &mut Vec<Box<dyn ToSql>>,
) -> String {
    let tokens = tokenizer.tokens(wanted);
    if tokens.is_empty() {
        return "FALSE".into();
    }
    let all: Vec<String> = tokens
        .into_iter()
        .map(|token| {
            params.push(Box::new(format!(" {token} ")));
            format!("contains({column}, ?)")
        })
        .collect();
    format!("({})", all.join(" AND "))
}

fn boxed(values: &[u64]) -> Vec<Box<dyn ToSql>> {
    values
        .iter()
        .map(|v| Box::new(*v) as Box<dyn ToSql>)
        .collect()
}

/// Slices of `[from, to)` to read a page from, newest first: the last hour, then slices
/// doubling in length.
fn slices(from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut hi = to;
    let mut width = 3_600;
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
            // Rows at the cursor's second or earlier; ties broken by event id.
            Some(cursor) => (
                query.to.min(cursor.timestamp + 1),
                Some((cursor.timestamp, cursor.event_id.clone())),
            ),
            None => (query.to, None),
        };
        let tables = self.event_tables(query.from, query.to);
        let (filter, filter_params) = filter_sql(&query.filters);
        let base = format!("seq <= {snapshot} AND ({filter})");
        self.with_reader(|conn| {
            // The total over the whole range (constant across pages of one snapshot).
            let mut total_count = 0u64;
            for (_, table) in &tables {
                let sql = format!(
                    "SELECT count(*) FROM {table} WHERE ts >= {} AND ts < {} AND {base}",
                    query.from, query.to
                );
                let params: Vec<&dyn ToSql> = filter_params.iter().map(|p| p.as_ref()).collect();
                let n: u64 = conn
                    .query_row(&sql, params.as_slice(), |row| row.get(0))
                    .map_err(engine)?;
                total_count += n;
            }
            let wanted = query.per_page + 1;
            let mut rows: Vec<(i64, String, String)> = Vec::with_capacity(wanted);
            'slices: for (lo, hi) in slices(query.from, to) {
                for (day, table) in &tables {
                    if *day * DAY >= hi || (*day + 1) * DAY <= lo {
                        continue;
                    }
                    let mut params: Vec<&dyn ToSql> =
                        filter_params.iter().map(|p| p.as_ref()).collect();
                    let cursor_sql = match &cursor_cond {
                        Some((ts, id)) => {
                            params.push(ts);
                            params.push(ts);
                            params.push(id);
                            " AND (ts < ? OR (ts = ? AND event_id < ?))"
                        }
                        None => "",
                    };
                    let sql = format!(
                        "SELECT ts, event_id, raw FROM {table} WHERE ts >= {lo} AND ts < {hi} AND {base}{cursor_sql} \
                         ORDER BY ts DESC, event_id DESC LIMIT {}",
                        wanted - rows.len()
                    );
                    let mut stmt = conn.prepare(&sql).map_err(engine)?;
                    let found = stmt
                        .query_map(params.as_slice(), |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                        })
                        .map_err(engine)?;
                    for row in found {
                        rows.push(row.map_err(engine)?);
                    }
                    if rows.len() >= wanted {
                        break 'slices;
                    }
                }
            }
            let next = (rows.len() > query.per_page).then(|| {
                let (timestamp, event_id, _) = &rows[query.per_page - 1];
                EventCursor {
                    timestamp: *timestamp,
                    event_id: event_id.clone(),
                    snapshot,
                }
            });
            rows.truncate(query.per_page);
            Ok(EventPage {
                events: rows.into_iter().map(|(_, _, raw)| raw).collect(),
                total_count,
                next,
            })
        })
    }
}

impl EventWriter for DuckStore {
    fn insert(
        &self,
        events: &[&[u8]],
        position: Option<u64>,
    ) -> Result<InsertReport, AnalyticsError> {
        let mut by_day: BTreeMap<i64, Vec<Row<'_>>> = BTreeMap::new();
        let mut in_batch: HashSet<(i64, String)> = HashSet::new();
        let mut report = InsertReport::default();
        for (i, bytes) in events.iter().enumerate() {
            let indexed = IndexedEvent::from_stored(bytes)
                .map_err(|e| AnalyticsError::Invalid(format!("event {i}: {e}")))?;
            let raw = std::str::from_utf8(bytes)
                .map_err(|_| AnalyticsError::Invalid(format!("event {i}: not UTF-8")))?;
            if !in_batch.insert((indexed.timestamp, indexed.event_id.clone())) {
                report.duplicates += 1;
                continue;
            }
            by_day
                .entry(indexed.timestamp.div_euclid(DAY))
                .or_default()
                .push(Row { indexed, raw });
        }
        let conn = self.events_writer.lock().map_err(poisoned)?;
        let mut sequence = self.event_sequence.load(Ordering::Acquire);
        let mut created = Vec::new();
        conn.execute_batch("BEGIN").map_err(engine)?;
        let result = (|| -> Result<u64, duckdb::Error> {
            for (day, rows) in &by_day {
                let inserted =
                    DuckStore::insert_day(&conn, *day, rows, sequence + 1, &mut created)?;
                report.inserted += inserted;
                report.duplicates += rows.len() as u64 - inserted;
                sequence += inserted;
            }
            conn.execute(
                "INSERT OR REPLACE INTO positions VALUES (?, ?)",
                duckdb::params![EVENTS_SEQUENCE, sequence],
            )?;
            if let Some(position) = position {
                conn.execute(
                    "INSERT OR REPLACE INTO positions VALUES (?, ?)",
                    duckdb::params![EVENTS_POSITION, position],
                )?;
            }
            conn.execute_batch("COMMIT")?;
            Ok(sequence)
        })();
        match result {
            Ok(sequence) => {
                self.tables.write().map_err(poisoned)?.extend(created);
                self.event_sequence.store(sequence, Ordering::Release);
                Ok(report)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(engine(e))
            }
        }
    }

    fn checkpoint(&self) -> Result<Option<u64>, AnalyticsError> {
        let conn = self.events_writer.lock().map_err(poisoned)?;
        crate::read_position(&conn, EVENTS_POSITION)
    }

    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError> {
        let conn = self.events_writer.lock().map_err(poisoned)?;
        let mut report = RetentionReport::default();
        let names = self.table_names()?;
        for name in names {
            let Some(day) = parse_day_table(&name) else {
                continue;
            };
            if (day + 1) * DAY <= keep_from.timestamp() {
                conn.execute_batch(&format!("DROP TABLE IF EXISTS {name}"))
                    .map_err(engine)?;
                self.tables.write().map_err(poisoned)?.remove(&name);
                report.dropped.push(name);
            }
        }
        Ok(report)
    }

    fn erase_recipient(&self, recipient: &str) -> Result<ErasureReport, AnalyticsError> {
        let wanted = format!("\n{}\n", fold_case(recipient));
        let conn = self.events_writer.lock().map_err(poisoned)?;
        let tables: Vec<String> = self
            .table_names()?
            .into_iter()
            .filter(|n| parse_day_table(n).is_some())
            .collect();
        let mut report = ErasureReport::default();
        conn.execute_batch("BEGIN").map_err(engine)?;
        let result = (|| -> Result<(), AnalyticsError> {
            for table in &tables {
                let mut stmt = conn
                    .prepare(&format!(
                        "SELECT type, count(*) FROM {table} WHERE contains(recipients, ?) GROUP BY type"
                    ))
                    .map_err(engine)?;
                let counts = stmt
                    .query_map([&wanted], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
                    })
                    .map_err(engine)?;
                for count in counts {
                    let (name, n) = count.map_err(engine)?;
                    let event_type: EventType =
                        name.parse()
                            .map_err(|e: eventhose_model::UnknownEventType| {
                                AnalyticsError::Engine(e.to_string())
                            })?;
                    *report.erased.entry(event_type).or_default() += n;
                }
                conn.execute(
                    &format!("DELETE FROM {table} WHERE contains(recipients, ?)"),
                    [&wanted],
                )
                .map_err(engine)?;
            }
            conn.execute_batch("COMMIT").map_err(engine)
        })();
        if let Err(e) = result {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_tables_round_trip() {
        assert_eq!(day_table(0), "events_19700101");
        assert_eq!(parse_day_table(&day_table(20_000)), Some(20_000));
        assert_eq!(parse_day_table("events_x"), None);
    }

    #[test]
    fn slices_cover_the_range_newest_first() {
        let s = slices(0, 20_000);
        assert_eq!(s[0], (16_400, 20_000));
        assert_eq!(s.last().map(|x| x.0), Some(0));
        let covered: i64 = s.iter().map(|(lo, hi)| hi - lo).sum();
        assert_eq!(covered, 20_000);
    }
}
