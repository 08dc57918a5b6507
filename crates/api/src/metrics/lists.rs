//! The discoverability endpoints: `/metrics/` (links to what can be listed and reported), the
//! lists of values seen (campaigns, domains, …), and the `query_filters` schema.

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::Utc;
use eventhose_analytics::{Dimension, Filter, ValuesQuery};
use serde_json::{json, Value};

use super::params::{parse_limit, Params};
use super::refusal::{MetricsError, Problems};
use super::rows::link;
use super::window::{self, WindowKind};
use super::{filters, query_filters, read, GRANT, LISTS};
use crate::auth::Caller;
use crate::AppState;

/// `GET /metrics/`: links to the lists and to the deliverability reports.
pub(super) async fn root(caller: Caller) -> Result<Json<Value>, MetricsError> {
    caller.require(GRANT)?;
    let mut segments: Vec<&str> = LISTS.iter().map(|(segment, _)| *segment).collect();
    segments.push("deliverability");
    segments.sort_unstable();
    let links: Vec<Value> = segments.iter().map(|s| link(s, s)).collect();
    Ok(Json(json!({ "results": {}, "links": links })))
}

/// `GET /metrics/<list>`: the values `dimension` took in the window (`from` optional: by
/// default everything kept), containing `match` (case-insensitive), sorted, at most `limit`;
/// answered as `{"results":{"<list>":[…]}}`.
pub(super) async fn values(
    list: &'static str,
    dimension: Dimension,
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, MetricsError> {
    let key = caller.require(GRANT)?;
    let params = Params::parse(query.as_deref());
    let mut problems = Problems::default();
    let window = problems.check(window::parse(&params, WindowKind::List, Utc::now()));
    let limit = problems.check(parse_limit(&params));
    problems.finish()?;
    let (Some(window), Some(limit)) = (window, limit) else {
        return Err(MetricsError::bad_param("from", "invalid window"));
    };
    let mut filter = Filter::default();
    filters::scope_to_key(&mut filter, key);
    let query = ValuesQuery {
        dimension,
        range: window.range,
        contains: params.get("match").map(String::from),
        limit,
        filter,
    };
    let values = read(&state, move |reader| reader.values(&query)).await?;
    Ok(Json(json!({ "results": { list: values } })))
}

/// `GET /metrics/deliverability/query-filters-schema`: the JSON Schema of `query_filters`.
pub(super) async fn query_filters_schema(caller: Caller) -> Result<Json<Value>, MetricsError> {
    caller.require(GRANT)?;
    Ok(Json(json!({ "results": query_filters::schema() })))
}
