//! Metrics: the dimensions and metrics of SparkPost's Metrics API, filters over dimensions,
//! the queries the API asks, the fold that turns events into minute counters, the metrics
//! store traits, and their in-memory reference store.

pub(crate) mod dimension;
pub(crate) mod filter;
pub mod fold;
pub(crate) mod memory;
pub(crate) mod metric;
pub(crate) mod query;
pub(crate) mod segments;
pub(crate) mod store;
