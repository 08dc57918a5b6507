//! The deliverability summary, the group-by reports and the time series.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::Utc;
use eventhose_analytics::{
    order_and_limit, Counters, Dimension, Filter, GroupKey, Grouping, Metric, MetricsQuery,
    MetricsRow,
};
use eventhose_state::ApiKey;
use serde_json::{json, Map, Value};

use super::metric_names::Requested;
use super::params::{parse_limit, Params, DEFAULT_LIMIT};
use super::refusal::{MetricsError, Problems};
use super::rows::{add_metrics, key_value, link};
use super::window::{self, Window, WindowKind};
use super::{breakdowns, filters, metric_names, read, watched, GRANT, GROUP_BY};
use crate::auth::Caller;
use crate::AppState;

/// A checked request of the summary, group-by or time-series endpoints.
struct Deliverability {
    window: Window,
    filter: Filter,
    metrics: Vec<Requested>,
    /// `limit` (group-by only).
    limit: usize,
    /// `order_by`, else the first requested metric (group-by only).
    order_by: Metric,
}

/// Which endpoint family a request is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Report {
    Summary,
    GroupBy,
    TimeSeries,
}

impl Deliverability {
    /// Checks every parameter the endpoint takes, naming all the bad ones at once. `limit` and
    /// `order_by` belong to the group-by endpoints; elsewhere they are ignored like any
    /// unexpected parameter.
    fn parse(query: Option<&str>, key: &ApiKey, report: Report) -> Result<Self, MetricsError> {
        let params = Params::parse(query);
        let time_series = report == Report::TimeSeries;
        let kind = if time_series {
            WindowKind::TimeSeries
        } else {
            WindowKind::Aggregate
        };
        let mut problems = Problems::default();
        let window = problems.check(window::parse(&params, kind, Utc::now()));
        let metrics = problems.check(metric_names::deliverability(&params, time_series));
        let filter = problems.check(filters::parse(&params, key));
        let (limit, order_by) = if report == Report::GroupBy {
            (
                problems.check(parse_limit(&params)),
                problems.check(metric_names::order_by(
                    &params,
                    metrics.as_deref().unwrap_or_default(),
                    time_series,
                )),
            )
        } else {
            (Some(DEFAULT_LIMIT), Some(None))
        };
        problems.finish()?;
        match (window, metrics, filter, limit, order_by) {
            (Some(window), Some(metrics), Some(filter), Some(limit), Some(order_by)) => {
                let Some(order_by) = order_by.or_else(|| metrics.first().map(|r| r.metric)) else {
                    return Err(MetricsError::bad_param("metrics", "metrics is required"));
                };
                Ok(Self {
                    window,
                    filter,
                    metrics,
                    limit,
                    order_by,
                })
            }
            _ => Err(MetricsError::bad_param("metrics", "metrics is required")),
        }
    }

    fn query(&self, grouping: Grouping) -> MetricsQuery {
        // The store may read only what the metrics need: the order needs its metric too.
        let mut metrics: Vec<Metric> = self.metrics.iter().map(|r| r.metric).collect();
        if !metrics.contains(&self.order_by) {
            metrics.push(self.order_by);
        }
        MetricsQuery {
            range: self.window.range,
            filter: self.filter.clone(),
            grouping,
            metrics,
        }
    }

    fn row(&self, counters: &Counters) -> Map<String, Value> {
        let mut row = Map::new();
        add_metrics(&mut row, &self.metrics, counters);
        row
    }

    /// The answer of a group-by: each row's value of `dimension` under `key`, then its metrics.
    fn group_rows(&self, rows: &[MetricsRow], dimension: Dimension, key: &str) -> Json<Value> {
        let results: Vec<Value> = rows
            .iter()
            .filter_map(|row| match &row.key {
                GroupKey::Value(value) => {
                    let mut out = Map::new();
                    out.insert(key.into(), key_value(dimension, value));
                    out.extend(self.row(&row.counters));
                    Some(Value::Object(out))
                }
                _ => None,
            })
            .collect();
        Json(json!({ "results": results }))
    }
}

/// The children the summary links to.
fn children() -> Vec<Value> {
    let mut links: Vec<Value> = GROUP_BY
        .iter()
        .map(|(segment, _)| segment)
        .chain([&"watched-domain", &"time-series"])
        .chain(breakdowns::PATHS.iter())
        .map(|segment| link(&format!("deliverability/{segment}"), segment))
        .collect();
    links.insert(0, link("deliverability", "deliverability"));
    links
}

/// `GET /metrics/deliverability`: one row for the whole window, and links to the reports.
pub(super) async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Deliverability::parse(query.as_deref(), key, Report::Summary)?;
    let query = request.query(Grouping::Total);
    let rows = read(&state, move |reader| reader.metrics(&query)).await?;
    let mut total = Counters::default();
    for row in &rows {
        total.merge(&row.counters);
    }
    Ok(Json(json!({
        "results": [request.row(&total)],
        "links": children(),
    })))
}

/// `GET /metrics/deliverability/<dimension>`: one row per value, ordered by `order_by` (the
/// first requested metric by default), largest first, at most `limit`.
pub(super) async fn group_by(
    dimension: Dimension,
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Deliverability::parse(query.as_deref(), key, Report::GroupBy)?;
    let query = request.query(Grouping::By(dimension));
    let mut rows = read(&state, move |reader| reader.metrics(&query)).await?;
    order_and_limit(&mut rows, request.order_by, request.limit);
    Ok(request.group_rows(&rows, dimension, dimension.result_key()))
}

/// `GET /metrics/deliverability/watched-domain`: the group-by of the recipient domains that
/// [`watched::watched`] keeps, under `watched_domain`.
pub(super) async fn watched_domain(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Deliverability::parse(query.as_deref(), key, Report::GroupBy)?;
    let mut query = request.query(Grouping::By(Dimension::Domain));
    if !query.metrics.contains(&watched::VOLUME) {
        query.metrics.push(watched::VOLUME);
    }
    let rows = read(&state, move |reader| reader.metrics(&query)).await?;
    let mut rows = watched::watched(rows);
    order_and_limit(&mut rows, request.order_by, request.limit);
    Ok(request.group_rows(&rows, Dimension::Domain, "watched_domain"))
}

/// `GET /metrics/deliverability/time-series`: one row per bucket, every bucket present.
pub(super) async fn time_series(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Deliverability::parse(query.as_deref(), key, Report::TimeSeries)?;
    let starts = request.window.bucket_starts();
    let query = request.query(Grouping::Time(starts.clone()));
    let rows = read(&state, move |reader| reader.metrics(&query)).await?;
    let mut by_start = HashMap::new();
    for row in rows {
        if let GroupKey::Bucket(start) = row.key {
            by_start
                .entry(start)
                .or_insert_with(Counters::default)
                .merge(&row.counters);
        }
    }
    let empty = Counters::default();
    let results: Vec<Value> = starts
        .iter()
        .map(|start| {
            let mut out = Map::new();
            out.insert("ts".into(), json!(request.window.timestamp(*start)));
            out.extend(request.row(by_start.get(start).unwrap_or(&empty)));
            Value::Object(out)
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}
