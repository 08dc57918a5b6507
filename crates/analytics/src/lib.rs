//! The analytic side of eventhose, independent of any engine: the dimensions and metrics of
//! SparkPost's Metrics API, filters, the queries the API asks, the fold that turns events into
//! minute counters, and the traits a store implements (DuckDB embedded; others later). Also the
//! message events the Events API searches: queries, filter semantics, keyword matching, and the
//! event store traits with their in-memory reference store.

mod dimension;
mod event_filter;
mod events;
mod filter;
pub mod fold;
pub mod keywords;
mod memory;
mod memory_events;
mod metric;
mod query;
mod store;
mod stored;

pub use dimension::Dimension;
pub use event_filter::{Comparison, EventFilters, IndexedEvent, TextFilter};
pub use events::{
    ErasureReport, EventBatch, EventCursor, EventPage, EventQuery, EventReader, EventStore,
    EventWriter, InsertReport, StoredEvent, SEARCHABLE_EVENT_TYPES,
};
pub use filter::{Combinator, Condition, Filter, FilterGroup, FilterOp};
pub use fold::{Aggregator, EngagementLedger, LedgerChange, Tally};
pub use memory::MemoryStore;
pub use memory_events::MemoryEventStore;
pub use metric::{Counter, Counters, Metric, MetricScope, ADD_ON_METRICS, COUNTER_COUNT};
pub use query::{
    check_buckets, order_and_limit, rejection_class, BreakdownGrouping, BreakdownKind,
    BreakdownQuery, BreakdownRow, GroupKey, Grouping, MetricsQuery, MetricsRow, TimeRange,
    ValuesQuery,
};
pub use store::{AnalyticsError, MetricsCheckpoint, MetricsReader, MetricsWriter, RetentionReport};
pub use stored::value_span;

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::stored::differential::check as check_stored;
}
