//! Searching the day tables in two steps: a [`plan`] (which days, their conditions, what each
//! holds of the matches, and so the total and the ranges a page reads of a busy day), then its
//! [`execute`]ion (the page's rows, newest first, then their stored forms).

mod conditions;
mod execute;
mod plan;

use std::sync::atomic::Ordering;

use eventhose_analytics::{AnalyticsError, EventCursor, EventPage, EventQuery, IndexedEvent};

use crate::DuckStore;
use conditions::selects_by_hash;
#[cfg(test)]
pub(super) use plan::LOOKUP_ROWS;

/// A row of a page before its stored form is read.
#[derive(Clone, Copy, Debug)]
struct PageRow<'t> {
    /// The event's timestamp.
    ts: i64,
    /// Its insertion sequence number.
    seq: u64,
    /// Where its stored form lies in the day's body file.
    body: u64,
    /// Its day table.
    table: &'t str,
}

impl<'t> PageRow<'t> {
    /// The row of a `SELECT ts, seq, body` from `table`.
    fn read(row: &duckdb::Row<'_>, table: &'t str) -> duckdb::Result<PageRow<'t>> {
        Ok(PageRow {
            ts: row.get(0)?,
            seq: row.get(1)?,
            body: row.get(2)?,
            table,
        })
    }
}

/// The event a cursor points at: its page holds the rows after it, newest first.
#[derive(Clone, Copy, Debug)]
struct ResumeAfter {
    ts: i64,
    seq: u64,
}

impl ResumeAfter {
    /// Whether `row` comes after the cursor's event (is older, or of its second and stored
    /// before it).
    fn admits(&self, row: &PageRow<'_>) -> bool {
        (row.ts, row.seq) < (self.ts, self.seq)
    }
}

impl DuckStore {
    /// A page of events (see [`EventReader::search`](eventhose_analytics::EventReader)).
    pub(super) fn search_events(&self, query: &EventQuery) -> Result<EventPage, AnalyticsError> {
        if query.per_page == 0 {
            return Err(AnalyticsError::Invalid(
                "per_page must be at least 1".into(),
            ));
        }
        let snapshot = query.cursor.as_ref().map_or_else(
            || self.event_sequence.load(Ordering::Acquire),
            |c| c.snapshot,
        );
        let tables = self.event_tables(query.from, query.to);
        self.with_reader(|conn| {
            let plan = self.plan_search(conn, query, &tables, snapshot)?;
            let total_count = plan.total_count;
            // The page's keys and body locations first; the stored forms of the page's rows
            // only are read afterwards.
            let mut rows = plan.read_rows(conn, query.per_page + 1)?;
            let more = rows.len() > query.per_page;
            rows.truncate(query.per_page);
            let mut events = self.stored_forms_within(&rows, query.max_bytes)?;
            let next = (more || events.len() < rows.len())
                .then(|| events.len().checked_sub(1))
                .flatten()
                .map(|last| EventCursor {
                    timestamp: rows[last].ts,
                    seq: rows[last].seq,
                    snapshot,
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
