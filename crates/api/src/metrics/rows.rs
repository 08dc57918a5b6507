//! Shaping result rows: metric fields from summed counters, group keys, and links.

use eventhose_analytics::{Counters, Dimension, Metric};
use serde_json::{json, Map, Value};

use super::BASE_PATH;

/// Adds each metric's value, computed from the summed counters, in the requested order.
pub(super) fn add_metrics(row: &mut Map<String, Value>, metrics: &[Metric], counters: &Counters) {
    for metric in metrics {
        row.insert(metric.name().into(), json!(metric.value(counters)));
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
