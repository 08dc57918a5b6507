//! The plan of a search, made before any row of its page is read: which day tables it reads,
//! each with its conditions and what it holds of the matches (all of them, for a lookup by
//! hash; otherwise their count and span), so the total; and for a counted day, the ranges of
//! seconds a page reads from it.

use duckdb::{Connection, ToSql};
use eventhose_analytics::{AnalyticsError, EventQuery};

use super::conditions::{selects_by_hash, DayConditions};
use super::{PageRow, ResumeAfter};
use crate::events::layout::DAY;
use crate::{engine, DuckStore};

/// A lookup by hash reads all its matches in a day at once when there are at most this many;
/// more (a hash shared by a day's worth of events) are counted and paged like other filters.
pub(in crate::events) const LOOKUP_ROWS: usize = 20_000;

/// What a search reads: the days, newest first, and where its page starts.
pub(super) struct SearchPlan<'t> {
    /// The days overlapping the query's range, newest first.
    pub(super) days: Vec<DayPlan<'t>>,
    /// The cursor's event, which the page continues after.
    pub(super) resume: Option<ResumeAfter>,
    /// The end of the seconds a page reads: the query's `to`, or just past the cursor's
    /// second.
    pub(super) to: i64,
    /// The matches over the whole range (constant across the pages of one snapshot).
    pub(super) total_count: u64,
}

/// One day of a [`SearchPlan`].
pub(super) struct DayPlan<'t> {
    /// Its table.
    pub(super) table: &'t str,
    /// The conditions its rows meet.
    pub(super) conditions: DayConditions,
    /// What the plan knows of its matches.
    pub(super) matches: DayMatches<'t>,
}

/// What a search knows of one day's matches before it reads a page.
pub(super) enum DayMatches<'t> {
    /// All of them (a lookup by hash, or none at all), newest first.
    All(Vec<PageRow<'t>>),
    /// How many there are (at least one), and the seconds they span.
    Counted(MatchSpan),
}

impl DayMatches<'_> {
    fn count(&self) -> u64 {
        match self {
            DayMatches::All(rows) => rows.len() as u64,
            DayMatches::Counted(span) => span.count,
        }
    }
}

/// A day's count of matches (at least one) and the seconds they span.
pub(super) struct MatchSpan {
    count: u64,
    oldest: i64,
    newest: i64,
}

impl MatchSpan {
    /// The ranges `[lo, hi)` of seconds to read, newest first, for up to `missing` more rows
    /// of a page that ends before `to`: a day with few matches in one go, a busy one newest
    /// slice first (see [`slices`]), so the page stops as soon as it is full.
    pub(super) fn ranges(&self, to: i64, missing: usize) -> Vec<(i64, i64)> {
        // Where the day's matches lie, up to the cursor.
        let (from, to) = (self.oldest, to.min(self.newest + 1));
        if from >= to {
            return Vec::new();
        }
        if self.count <= missing as u64 {
            vec![(from, to)]
        } else {
            slices(
                from,
                to,
                first_slice(missing, self.count, self.newest + 1 - self.oldest),
            )
        }
    }
}

impl DuckStore {
    /// Tables of days overlapping `[from, to)`, newest first.
    pub(super) fn event_tables(&self, from: i64, to: i64) -> Vec<(i64, String)> {
        let mut days: Vec<(i64, String)> = self
            .day_tables()
            .unwrap_or_default()
            .into_iter()
            .filter(|(day, _)| day * DAY < to && (day + 1) * DAY > from)
            .collect();
        days.reverse();
        days
    }

    /// Plans `query` over `tables` (newest first, see [`DuckStore::event_tables`]) for the
    /// rows up to `snapshot`: each day's conditions first, then its matches.
    pub(super) fn plan_search<'t>(
        &self,
        conn: &Connection,
        query: &EventQuery,
        tables: &'t [(i64, String)],
        snapshot: u64,
    ) -> Result<SearchPlan<'t>, AnalyticsError> {
        let (to, resume) = match &query.cursor {
            // Rows at the cursor's second or earlier; ties broken by sequence number.
            Some(cursor) => (
                query.to.min(cursor.timestamp + 1),
                Some(ResumeAfter {
                    ts: cursor.timestamp,
                    seq: cursor.seq,
                }),
            ),
            None => (query.to, None),
        };
        let mut conditions = Vec::with_capacity(tables.len());
        for (_, table) in tables {
            conditions.push(self.day_conditions(conn, table, &query.filters, snapshot)?);
        }
        // Matches per day over the whole range: the total (constant across the pages of one
        // snapshot), and which days a page needs to read at all. A lookup by hash matches few
        // rows: they are all read at once, which counts them too, so the day's hash column is
        // scanned once instead of twice.
        let lookup = selects_by_hash(&query.filters);
        let mut days = Vec::with_capacity(tables.len());
        for ((_, table), conditions) in tables.iter().zip(conditions) {
            let matches = day_matches(conn, table, &conditions, query, lookup)?;
            days.push(DayPlan {
                table,
                conditions,
                matches,
            });
        }
        let total_count = days.iter().map(|day| day.matches.count()).sum();
        Ok(SearchPlan {
            days,
            resume,
            to,
            total_count,
        })
    }
}

/// What the rows of `table` meeting `conditions` in the query's range are: all of them read
/// when `lookup` finds at most [`LOOKUP_ROWS`], otherwise counted.
fn day_matches<'t>(
    conn: &Connection,
    table: &'t str,
    conditions: &DayConditions,
    query: &EventQuery,
    lookup: bool,
) -> Result<DayMatches<'t>, AnalyticsError> {
    let params: Vec<&dyn ToSql> = conditions.params();
    let range = format!(
        "{table} WHERE ts >= {} AND ts < {} AND {}",
        query.from, query.to, conditions.sql
    );
    if lookup {
        let sql = format!(
            // Ordered: DuckDB runs a top-n in parallel, where a bare LIMIT (insertion order
            // kept) took half as long again as the whole scan.
            "SELECT ts, seq, body FROM {range} ORDER BY ts DESC, seq DESC LIMIT {}",
            LOOKUP_ROWS + 1
        );
        let mut stmt = conn.prepare(&sql).map_err(engine)?;
        let found = stmt
            .query_map(params.as_slice(), |row| PageRow::read(row, table))
            .map_err(engine)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(engine)?;
        if found.len() <= LOOKUP_ROWS {
            return Ok(DayMatches::All(found));
        }
    }
    // The span of the matches comes almost free with the count (DuckDB's row group statistics
    // answer most of it), and spares a page the slices of a quiet end.
    let (count, span): (u64, Option<(i64, i64)>) = conn
        .query_row(
            &format!("SELECT count(*), min(ts), max(ts) FROM {range}"),
            params.as_slice(),
            |row| Ok((row.get(0)?, row.get::<_, Option<i64>>(1)?.zip(row.get(2)?))),
        )
        .map_err(engine)?;
    Ok(match span {
        Some((oldest, newest)) if count > 0 => DayMatches::Counted(MatchSpan {
            count,
            oldest,
            newest,
        }),
        _ => DayMatches::All(Vec::new()),
    })
}

/// The length of a first slice holding about twice `rows` if `matches` were spread evenly over
/// `span` seconds: a minute at least, an hour at most. Sorting a slice costs in proportion to
/// the rows it holds, not to the page.
// `as` saturates, and the width is clamped next: nothing wraps.
#[allow(clippy::cast_possible_truncation)]
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

#[cfg(test)]
mod tests {
    use super::*;

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
