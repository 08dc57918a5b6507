//! The analytic side of eventhose, independent of any engine: the dimensions and metrics of
//! SparkPost's Metrics API, filters, the queries the API asks, the fold that turns events into
//! minute counters, and the traits a store implements (DuckDB embedded; others later). Also the
//! message events the Events API searches: queries, filter semantics, keyword matching, and the
//! event store traits with their in-memory reference store.
//!
//! The source follows that split: `metrics/` and `events/`, and at the root what both share
//! (the store error, the retention report, and `stored`, the reader of a stored event's
//! top-level fields that the fold and the event filters use). Every public item is
//! re-exported at the crate root.

mod error;
mod events;
mod metrics;
mod retention;
mod stored;

pub use error::AnalyticsError;
pub use retention::RetentionReport;
pub use stored::value_span;

pub use metrics::dimension::Dimension;
pub use metrics::filter::{Combinator, Condition, Filter, FilterGroup, FilterOp};
pub use metrics::fold;
pub use metrics::fold::{Aggregator, EngagementLedger, LedgerChange, Tally};
pub use metrics::memory::MemoryStore;
pub use metrics::metric::{Counter, Counters, Metric, MetricScope, ADD_ON_METRICS, COUNTER_COUNT};
pub use metrics::query::{
    check_buckets, order_and_limit, rejection_class, BreakdownGrouping, BreakdownKind,
    BreakdownQuery, BreakdownRow, GroupKey, Grouping, MetricsQuery, MetricsRow, TimeRange,
    ValuesQuery,
};
pub use metrics::segments::{
    aligned, group_rows, into_buckets, needed_counters, segments, split, Granularity, Segment,
};
pub use metrics::store::{MetricsCheckpoint, MetricsReader, MetricsWriter};

pub use events::filter::{Comparison, EventFilters, IndexedEvent, TextFilter};
pub use events::keywords;
pub use events::memory::MemoryEventStore;
pub use events::store::{
    ErasureReport, EventBatch, EventCursor, EventPage, EventQuery, EventReader, EventStore,
    EventWriter, InsertReport, MayStore, StoredEvent, SEARCHABLE_EVENT_TYPES,
};

#[cfg(feature = "conformance")]
pub mod conformance;

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::stored::differential::check as check_stored;
}
