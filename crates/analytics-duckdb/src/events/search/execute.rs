//! Carrying out a [`SearchPlan`]: the keys and body locations of the page's rows, newest
//! first, day by day and range by range until the page is full; then the stored forms of
//! those rows alone.

use std::collections::BTreeMap;

use duckdb::{Connection, ToSql};
use eventhose_analytics::AnalyticsError;

use super::conditions::DayConditions;
use super::plan::{DayMatches, DayPlan, SearchPlan};
use super::{PageRow, ResumeAfter};
use crate::{engine, DuckStore};

/// Rows whose stored forms a page reads at once (at most 64 MiB of the largest events).
const PAGE_CHUNK_ROWS: usize = 256;

impl<'t> SearchPlan<'t> {
    /// The first `wanted` rows of the plan (fewer when the matches run out), newest first.
    pub(super) fn read_rows(
        self,
        conn: &Connection,
        wanted: usize,
    ) -> Result<Vec<PageRow<'t>>, AnalyticsError> {
        let mut rows: Vec<PageRow<'t>> = Vec::with_capacity(wanted);
        for day in self.days {
            let DayPlan {
                table,
                conditions,
                matches,
            } = day;
            match matches {
                DayMatches::All(mut found) => {
                    if let Some(resume) = &self.resume {
                        found.retain(|row| resume.admits(row));
                    }
                    found.truncate(wanted - rows.len());
                    rows.extend(found);
                }
                DayMatches::Counted(span) => {
                    for range in span.ranges(self.to, wanted - rows.len()) {
                        let limit = wanted - rows.len();
                        let found = read_range(
                            conn,
                            table,
                            &conditions,
                            self.resume.as_ref(),
                            range,
                            limit,
                        )?;
                        rows.extend(found);
                        if rows.len() >= wanted {
                            break;
                        }
                    }
                }
            }
            if rows.len() >= wanted {
                break;
            }
        }
        Ok(rows)
    }
}

/// The newest `limit` rows of `table` meeting `conditions` in the seconds `[lo, hi)`, and
/// before `resume`'s event.
fn read_range<'t>(
    conn: &Connection,
    table: &'t str,
    conditions: &DayConditions,
    resume: Option<&ResumeAfter>,
    (lo, hi): (i64, i64),
    limit: usize,
) -> Result<Vec<PageRow<'t>>, AnalyticsError> {
    let mut params = conditions.params();
    let resume_sql = match resume {
        Some(ResumeAfter { ts, seq }) => {
            params.push(ts as &dyn ToSql);
            params.push(ts);
            params.push(seq);
            " AND (ts < ? OR (ts = ? AND seq < ?))"
        }
        None => "",
    };
    let sql = format!(
        "SELECT ts, seq, body FROM {table} WHERE ts >= {lo} AND ts < {hi} AND {base}{resume_sql} \
         ORDER BY ts DESC, seq DESC LIMIT {limit}",
        base = conditions.sql
    );
    let mut stmt = conn.prepare(&sql).map_err(engine)?;
    let found = stmt
        .query_map(params.as_slice(), |row| PageRow::read(row, table))
        .map_err(engine)?;
    found.collect::<Result<_, _>>().map_err(engine)
}

impl DuckStore {
    /// The stored forms of a page's rows, in order, up to the first that brings their sizes
    /// past `max_bytes` (see [`EventQuery::max_bytes`](eventhose_analytics::EventQuery)):
    /// read [`PAGE_CHUNK_ROWS`] rows at a time, so a page of large events stops near the
    /// budget instead of reading them all.
    pub(super) fn stored_forms_within(
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

    /// The stored forms of a page's rows, in order: one read of each day's body file, each
    /// block decompressed once.
    fn stored_forms(&self, rows: &[PageRow<'_>]) -> Result<Vec<String>, AnalyticsError> {
        let mut by_table: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            by_table.entry(row.table).or_default().push(i);
        }
        let mut out = vec![String::new(); rows.len()];
        for (table, indexes) in by_table {
            let locations: Vec<u64> = indexes.iter().map(|&i| rows[i].body).collect();
            // A block erased or a day dropped since the rows were read fails here.
            let bodies = self
                .bodies
                .read(table, &locations)
                .map_err(|e| AnalyticsError::engine_in(format!("stored events of {table}"), e))?;
            for (i, body) in indexes.into_iter().zip(bodies) {
                out[i] = body;
            }
        }
        Ok(out)
    }
}
