//! The reason and engagement breakdowns: bounces by reason (and domain) and by classification,
//! rejections and delays by reason (and domain), clicks by link name, deliveries by attempt.
//!
//! They take `from`, `to`, `timezone`, the filters and `limit`, but no `precision` (the window
//! is rounded to whole minutes and has no longest length). Rows come largest first by the first
//! requested metric (rejections by `count_rejected`, delays by `count_delayed`), ties by
//! reason; attempts come in order `1`, `2`, `3+`.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use eventhose_analytics::{
    rejection_class, BreakdownGrouping, BreakdownKind, BreakdownQuery, BreakdownRow, Filter,
};
use eventhose_model::{bounce_class, BounceCategory};
use eventhose_state::ApiKey;
use serde_json::{json, Map, Value};

use super::metric_names::Offered;
use super::params::{parse_limit, Params};
use super::refusal::{MetricsError, Problems};
use super::window::{self, Window, WindowKind};
use super::{filters, metric_names, read, GRANT};
use crate::auth::Caller;
use crate::AppState;

/// The breakdown paths under `/metrics/deliverability`.
pub(super) const PATHS: [&str; 9] = [
    "bounce-reason",
    "bounce-reason/domain",
    "bounce-classification",
    "rejection-reason",
    "rejection-reason/domain",
    "delay-reason",
    "delay-reason/domain",
    "link-name",
    "attempt",
];

/// The metrics of the bounce reports, in the order of [`BreakdownKind::Bounce`]'s counts.
const BOUNCE_METRICS: [&str; 4] = [
    "count_bounce",
    "count_inband_bounce",
    "count_outofband_bounce",
    "count_admin_bounce",
];

/// The metrics of the link report, in the order of [`BreakdownKind::Link`]'s counts: the
/// clicks of distinct messages on the link, then every click. SparkPost defines
/// `count_raw_clicked` as the "Number of unique link clicks from recipients" (support docs) and
/// `count_clicked` as the "Total number of times that links were selected across all messages"
/// (Metrics API terminology).
const LINK_METRICS: [&str; 2] = ["count_raw_clicked", "count_clicked"];

/// The bounce class used for codes outside SparkPost's table (and events without one).
const UNDETERMINED_CLASS: u16 = 1;

/// The routes, relative to `/api/v1`.
pub(super) fn routes() -> Router<AppState> {
    use BreakdownGrouping::{Label, LabelAndDomain};
    let path = |p: &str| format!("/metrics/deliverability/{p}");
    Router::new()
        .route(
            &path("bounce-reason"),
            get(|s, c, q| bounces(Label, s, c, q)),
        )
        .route(
            &path("bounce-reason/domain"),
            get(|s, c, q| bounces(LabelAndDomain, s, c, q)),
        )
        .route(
            &path("bounce-classification"),
            get(|s, c, q| bounces(BreakdownGrouping::Class, s, c, q)),
        )
        .route(
            &path("rejection-reason"),
            get(|s, c, q| rejections(Label, s, c, q)),
        )
        .route(
            &path("rejection-reason/domain"),
            get(|s, c, q| rejections(LabelAndDomain, s, c, q)),
        )
        .route(&path("delay-reason"), get(|s, c, q| delays(Label, s, c, q)))
        .route(
            &path("delay-reason/domain"),
            get(|s, c, q| delays(LabelAndDomain, s, c, q)),
        )
        .route(&path("link-name"), get(links))
        .route(&path("attempt"), get(attempts))
}

/// A checked breakdown request.
struct Request {
    window: Window,
    filter: Filter,
    limit: usize,
    /// The requested metrics (indexes into the endpoint's offer), in the requested order.
    metrics: Vec<Offered>,
}

impl Request {
    /// Checks the parameters; `offered` lists the metrics of endpoints with a `metrics` param.
    fn parse(query: Option<&str>, key: &ApiKey, offered: &[&str]) -> Result<Self, MetricsError> {
        let params = Params::parse(query);
        let mut problems = Problems::default();
        let window = problems.check(window::parse(&params, WindowKind::Breakdown, Utc::now()));
        let filter = problems.check(filters::parse(&params, key));
        let limit = problems.check(parse_limit(&params));
        let metrics = if offered.is_empty() {
            Some(Vec::new())
        } else {
            problems.check(metric_names::offered(&params, offered))
        };
        problems.finish()?;
        match (window, filter, limit, metrics) {
            (Some(window), Some(filter), Some(limit), Some(metrics)) => Ok(Self {
                window,
                filter,
                limit,
                metrics,
            }),
            _ => Err(MetricsError::bad_param("metrics", "metrics is required")),
        }
    }

    async fn rows(
        &self,
        state: &AppState,
        kind: BreakdownKind,
        grouping: BreakdownGrouping,
    ) -> Result<Vec<BreakdownRow>, MetricsError> {
        let query = BreakdownQuery {
            range: self.window.range,
            filter: self.filter.clone(),
            kind,
            grouping,
        };
        Ok(read(state, move |reader| reader.breakdown(&query)).await?)
    }
}

/// A result row with what it is ordered by.
struct Ranked {
    /// Larger first.
    value: u64,
    /// Then by label, class and domain.
    tie: (String, u16, Option<String>),
    fields: Map<String, Value>,
}

impl Ranked {
    /// `row`, ordered by `value` and answered as `fields`.
    fn new(value: u64, row: BreakdownRow, fields: Map<String, Value>) -> Self {
        Self {
            value,
            tie: (row.label, row.class, row.domain),
            fields,
        }
    }
}

/// Orders `rows` largest first (ties by key), keeps `limit`, and answers them.
fn answer(mut rows: Vec<Ranked>, limit: usize) -> Json<Value> {
    rows.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.tie.cmp(&b.tie)));
    rows.truncate(limit);
    let results: Vec<Value> = rows.into_iter().map(|r| Value::Object(r.fields)).collect();
    Json(json!({ "results": results }))
}

/// `reason`, then `domain` when grouped by it.
fn reason_fields(row: &BreakdownRow) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("reason".into(), json!(row.label));
    if let Some(domain) = &row.domain {
        fields.insert("domain".into(), json!(domain));
    }
    fields
}

/// eventhose's numbering of bounce categories (SparkPost documents only 0 and 1).
fn category_id(category: BounceCategory) -> u8 {
    match category {
        BounceCategory::Undetermined => 0,
        BounceCategory::Hard => 1,
        BounceCategory::Soft => 2,
        BounceCategory::Block => 3,
        BounceCategory::Admin => 4,
    }
}

/// The code, name, description and category of a bounce class; unknown codes are Undetermined.
fn class_info(code: u16) -> (u16, &'static str, &'static str, BounceCategory) {
    match bounce_class(code).or_else(|| bounce_class(UNDETERMINED_CLASS)) {
        Some(class) => (class.code, class.name, class.description, class.category),
        None => (
            UNDETERMINED_CLASS,
            "Undetermined",
            "The response text could not be identified.",
            BounceCategory::Undetermined,
        ),
    }
}

/// Bounces by reason, by reason and domain, or by classification.
async fn bounces(
    grouping: BreakdownGrouping,
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Request::parse(query.as_deref(), key, &BOUNCE_METRICS)?;
    let rows = request
        .rows(&state, BreakdownKind::Bounce, grouping)
        .await?;
    // Codes outside the table are shown as Undetermined: merge them with it.
    let mut merged: BTreeMap<(String, u16, Option<String>), [u64; 4]> = BTreeMap::new();
    for row in rows {
        let code = class_info(row.class).0;
        let sums = merged.entry((row.label, code, row.domain)).or_default();
        for (sum, n) in sums.iter_mut().zip(row.counts) {
            *sum = sum.saturating_add(n);
        }
    }
    let first = request.metrics.first().map_or(0, |m| m.index);
    let ranked = merged
        .into_iter()
        .map(|((label, class, domain), counts)| {
            let (code, name, description, category) = class_info(class);
            let row = BreakdownRow {
                label,
                class,
                domain,
                counts,
            };
            let mut fields = if grouping == BreakdownGrouping::Class {
                Map::new()
            } else {
                reason_fields(&row)
            };
            fields.insert("bounce_class_name".into(), json!(name));
            fields.insert("bounce_class_description".into(), json!(description));
            if grouping != BreakdownGrouping::Class {
                fields.insert("bounce_category_id".into(), json!(category_id(category)));
            }
            fields.insert("bounce_category_name".into(), json!(category.as_str()));
            fields.insert("classification_id".into(), json!(code));
            for metric in &request.metrics {
                fields.insert(metric.name.clone(), json!(row.counts[metric.index]));
            }
            Ranked::new(row.counts[first], row, fields)
        })
        .collect();
    Ok(answer(ranked, request.limit))
}

/// The name SparkPost gives a rejection class.
fn rejection_type(class: u16) -> &'static str {
    match class {
        rejection_class::POLICY => "Policy Rejection",
        rejection_class::GENERATION_REJECTION => "Generation Rejection",
        rejection_class::GENERATION_FAILURE => "Generation Failure",
        _ => "Rejection",
    }
}

/// Rejections by reason, or by reason and domain.
async fn rejections(
    grouping: BreakdownGrouping,
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Request::parse(query.as_deref(), key, &[])?;
    let rows = request
        .rows(&state, BreakdownKind::Rejection, grouping)
        .await?;
    let ranked = rows
        .into_iter()
        .map(|row| {
            let mut fields = reason_fields(&row);
            fields.insert("count_rejected".into(), json!(row.counts[0]));
            fields.insert("rejection_category_id".into(), json!(row.class));
            fields.insert("rejection_type".into(), json!(rejection_type(row.class)));
            Ranked::new(row.counts[0], row, fields)
        })
        .collect();
    Ok(answer(ranked, request.limit))
}

/// Delays by reason, or by reason and domain.
async fn delays(
    grouping: BreakdownGrouping,
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Request::parse(query.as_deref(), key, &[])?;
    let rows = request.rows(&state, BreakdownKind::Delay, grouping).await?;
    let ranked = rows
        .into_iter()
        .map(|row| {
            let mut fields = reason_fields(&row);
            fields.insert("count_delayed".into(), json!(row.counts[0]));
            fields.insert("count_delayed_first".into(), json!(row.counts[1]));
            Ranked::new(row.counts[0], row, fields)
        })
        .collect();
    Ok(answer(ranked, request.limit))
}

/// `GET /metrics/deliverability/link-name`: clicks by link name (or URL).
async fn links(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Request::parse(query.as_deref(), key, &LINK_METRICS)?;
    let rows = request
        .rows(&state, BreakdownKind::Link, BreakdownGrouping::Label)
        .await?;
    let first = request.metrics.first().map_or(0, |m| m.index);
    let ranked = rows
        .into_iter()
        .map(|row| {
            let mut fields = Map::new();
            fields.insert("link_name".into(), json!(row.label));
            for metric in &request.metrics {
                fields.insert(metric.name.clone(), json!(row.counts[metric.index]));
            }
            Ranked::new(row.counts[first], row, fields)
        })
        .collect();
    Ok(answer(ranked, request.limit))
}

/// `GET /metrics/deliverability/attempt`: deliveries by attempt, `1`, `2` and `3+`.
async fn attempts(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let request = Request::parse(query.as_deref(), key, &[])?;
    let mut rows = request
        .rows(&state, BreakdownKind::Attempt, BreakdownGrouping::Label)
        .await?;
    rows.sort_by(|a, b| a.label.cmp(&b.label));
    let results: Vec<Value> = rows
        .into_iter()
        .map(|row| json!({ "attempt": row.label, "count_delivered": row.counts[0] }))
        .collect();
    Ok(Json(json!({ "results": results })))
}
