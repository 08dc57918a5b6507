//! Shaping result rows: metric fields from summed counters, group keys, and links.

use eventhose_analytics::{Counters, Dimension};
use serde_json::{json, Map, Value};

use super::metric_names::Requested;
use super::BASE_PATH;

/// Adds each metric's value, computed from the summed counters, in the requested order and
/// under the requested name.
pub(super) fn add_metrics(
    row: &mut Map<String, Value>,
    metrics: &[Requested],
    counters: &Counters,
) {
    for requested in metrics {
        row.insert(
            requested.name.clone(),
            json!(requested.metric.value(counters)),
        );
    }
}

/// A group-by key as SparkPost writes it: `subaccount_id` as a number, the rest as text.
pub(super) fn key_value(dimension: Dimension, value: &str) -> Value {
    match dimension {
        Dimension::Subaccount => value
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(value)),
        _ => Value::from(value),
    }
}

/// A `links` entry for `path` under `/api/v1/metrics`.
pub(super) fn link(path: &str, rel: &str) -> Value {
    json!({ "href": format!("{BASE_PATH}/{path}"), "rel": rel, "method": "GET" })
}
