//! The analytic side of eventhose, independent of any engine: the dimensions and metrics of
//! SparkPost's Metrics API, filters, the queries the API asks, the fold that turns events into
//! minute counters, and the traits a store implements (DuckDB embedded; others later).

mod dimension;
mod filter;
pub mod fold;
mod memory;
mod metric;
mod query;
mod store;

pub use dimension::Dimension;
pub use filter::{Combinator, Condition, Filter, FilterGroup, FilterOp};
pub use fold::{Aggregator, EngagementLedger, LedgerChange, Tally};
pub use memory::MemoryStore;
pub use metric::{Counter, Counters, Metric, MetricScope, ADD_ON_METRICS, COUNTER_COUNT};
pub use query::{
    check_buckets, order_and_limit, rejection_class, BreakdownGrouping, BreakdownKind, BreakdownQuery,
    BreakdownRow, GroupKey, Grouping, MetricsQuery, MetricsRow, TimeRange, ValuesQuery,
};
pub use store::{AnalyticsError, MetricsCheckpoint, MetricsReader, MetricsWriter, RetentionReport};
