//! The metrics store traits: what the Metrics API reads and what the metrics subscriber
//! writes.
//!
//! They are shaped by the queries, not by an engine: the embedded store is DuckDB
//! (`eventhose-analytics-duckdb`); a distributed engine implements the same traits.
//! Methods block; async callers run them on a blocking thread.

use chrono::{DateTime, Utc};
use eventhose_model::AppliedId;

use super::fold::{EngagementLedger, LedgerChange, Tally};
use crate::{
    AnalyticsError, BreakdownQuery, BreakdownRow, MetricsQuery, MetricsRow, RetentionReport,
    ValuesQuery,
};

/// Reading metrics.
pub trait MetricsReader: Send + Sync {
    /// Counters summed per group over the range, for rows passing the filter. Groups without
    /// any event are left out (time buckets included; the caller fills the gaps).
    fn metrics(&self, query: &MetricsQuery) -> Result<Vec<MetricsRow>, AnalyticsError>;

    /// Breakdown counts per label (and class, and domain when asked).
    fn breakdown(&self, query: &BreakdownQuery) -> Result<Vec<BreakdownRow>, AnalyticsError>;

    /// Distinct values of a dimension seen in the range, sorted, at most `limit`. Empty values
    /// (events without the field) are left out.
    fn values(&self, query: &ValuesQuery) -> Result<Vec<String>, AnalyticsError>;
}

/// What the metrics subscriber resumes from.
#[derive(Debug, Default)]
pub struct MetricsCheckpoint {
    /// The highest hose position whose events are in the store.
    pub position: Option<u64>,
    /// The engagement ledger as of that position.
    pub ledger: EngagementLedger,
    /// The identities of the events folded recently (see [`Tally::applied`]), for the
    /// aggregator to skip their repeats.
    pub applied: Vec<AppliedId>,
}

/// Writing metrics: one atomic commit per checkpoint.
pub trait MetricsWriter: Send + Sync {
    /// The state of the last commit.
    fn checkpoint(&self) -> Result<MetricsCheckpoint, AnalyticsError>;

    /// [`checkpoint`](Self::checkpoint) with only the newest `max_applied` identities (by the
    /// minute they were applied): what an aggregator whose window holds no more resumes from.
    /// A store whose identities outgrow memory reads no more than those.
    fn checkpoint_newest(&self, max_applied: usize) -> Result<MetricsCheckpoint, AnalyticsError> {
        let mut checkpoint = self.checkpoint()?;
        checkpoint.applied.sort_by_key(|id| id.minute);
        let older = checkpoint.applied.len().saturating_sub(max_applied);
        checkpoint.applied.drain(..older);
        Ok(checkpoint)
    }

    /// Adds `tally` (with the identities of its events) and `ledger` changes and records
    /// `position`, all or nothing.
    fn commit(
        &self,
        tally: &Tally,
        ledger: &[LedgerChange],
        position: Option<u64>,
    ) -> Result<(), AnalyticsError>;

    /// Drops whole partitions holding only data older than `keep_from` (aggregates), ledger
    /// partitions older than `ledger_from`, and the identities of events applied before
    /// `applied_from`.
    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
        ledger_from: DateTime<Utc>,
        applied_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError>;
}
