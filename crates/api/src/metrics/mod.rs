//! SparkPost's Metrics API under `/api/v1/metrics`: deliverability summaries, group-by reports,
//! time series, the reason and engagement breakdowns, and the discoverability lists.
//!
//! Every route needs `metrics/view`. A subaccount key sees only its own subaccount's numbers,
//! whatever the request names (the Metrics API ignores `X-MSYS-SUBACCOUNT`). Handlers check the
//! parameters (modules `params`, `window`, `metric_names`, `filters`, `query_filters`), ask the
//! analytic store through [`MetricsReader`] on the blocking pool, and shape SparkPost's rows.
//!
//! Choices where SparkPost documents nothing: group-by and breakdown rows are ordered by
//! `order_by`, else by the first requested metric, largest first (ties by key); events without
//! a dimension's value are grouped under an empty key (`""`); bounce
//! categories are numbered Undetermined 0, Hard 1, Soft 2, Block 3, Admin 4; `day`, `week`
//! (from Monday) and `month` buckets are UTC and their `ts` is written in UTC. The Deliverability
//! Add-On's endpoints, metrics and filters are refused with an explanation.

mod addon;
mod aggregate;
mod breakdowns;
mod filters;
mod lists;
mod metric_names;
mod params;
mod query_filters;
mod refusal;
mod rows;
mod watched;
mod window;

#[cfg(test)]
mod tests;

use axum::routing::get;
use axum::Router;
use eventhose_analytics::{AnalyticsError, Dimension, MetricsReader};

use crate::error::{ApiError, ErrorEntry};
use crate::AppState;

/// The grant every metrics route needs.
pub const GRANT: &str = "metrics/view";

/// Where the routes live, for links.
const BASE_PATH: &str = "/api/v1/metrics";

/// Runs a read on the blocking pool. A query the store cannot answer is the client's 400.
async fn read<T, F>(state: &AppState, operation: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn MetricsReader) -> Result<T, AnalyticsError> + Send + 'static,
{
    let reader = state
        .metrics
        .clone()
        .ok_or_else(|| ApiError::store_elsewhere("metrics"))?;
    tokio::task::spawn_blocking(move || operation(reader.as_ref()))
        .await
        .map_err(ApiError::internal)?
        .map_err(|error| match error {
            AnalyticsError::Invalid(why) => ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                ErrorEntry::new("invalid query")
                    .description(why)
                    .code("1200"),
            ),
            other => ApiError::internal(other),
        })
}

/// The group-by endpoints: path segment under `/deliverability` and the dimension.
const GROUP_BY: [(&str, Dimension); 9] = [
    ("domain", Dimension::Domain),
    ("sending-ip", Dimension::SendingIp),
    ("ip-pool", Dimension::IpPool),
    ("sending-domain", Dimension::SendingDomain),
    ("subaccount", Dimension::Subaccount),
    ("campaign", Dimension::Campaign),
    ("template", Dimension::Template),
    ("mailbox-provider", Dimension::MailboxProvider),
    ("mailbox-provider-region", Dimension::MailboxProviderRegion),
];

/// The discoverability lists: path segment (also the results key) and the dimension.
const LISTS: [(&str, Dimension); 8] = [
    ("campaigns", Dimension::Campaign),
    ("templates", Dimension::Template),
    ("domains", Dimension::Domain),
    ("ip-pools", Dimension::IpPool),
    ("sending-ips", Dimension::SendingIp),
    ("sending-domains", Dimension::SendingDomain),
    ("mailbox-providers", Dimension::MailboxProvider),
    ("mailbox-provider-regions", Dimension::MailboxProviderRegion),
];

/// The routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/metrics", get(lists::root))
        .route("/metrics/", get(lists::root))
        .route("/metrics/deliverability", get(aggregate::summary))
        .route(
            "/metrics/deliverability/time-series",
            get(aggregate::time_series),
        )
        .route(
            "/metrics/deliverability/watched-domain",
            get(aggregate::watched_domain),
        )
        .route(
            "/metrics/deliverability/query-filters-schema",
            get(lists::query_filters_schema),
        );
    for (segment, dimension) in GROUP_BY {
        router = router.route(
            &format!("/metrics/deliverability/{segment}"),
            get(move |state, caller, query| aggregate::group_by(dimension, state, caller, query)),
        );
    }
    for (segment, dimension) in LISTS {
        router = router.route(
            &format!("/metrics/{segment}"),
            get(move |state, caller, query| {
                lists::values(segment, dimension, state, caller, query)
            }),
        );
    }
    for path in addon::PATHS {
        router = router.route(path, get(addon::refuse));
    }
    router.merge(breakdowns::routes())
}
