//! The analytic stores a process opens: the data directory's DuckDB file (message events, and
//! metrics by default), or, with `analytics.url`, metrics on ClickHouse, shared by every
//! process of a cluster.

use std::sync::Arc;

use anyhow::Context;
use eventhose_analytics::{MetricsReader, MetricsWriter};
use eventhose_analytics_clickhouse::ClickHouseStore;
use eventhose_analytics_duckdb::DuckStore;

use crate::config::Config;
use crate::roles::{Role, Roles};

/// Both sides of a metrics store.
trait MetricsStore: MetricsReader + MetricsWriter {}

impl<T: MetricsReader + MetricsWriter> MetricsStore for T {}

/// What this process's roles read and write.
pub struct AnalyticStores {
    /// The DuckDB file, when a role of this process keeps data in it.
    pub duck: Option<Arc<DuckStore>>,
    /// Metrics, for the API (`None`: the Metrics API answers 503 here).
    pub metrics_reader: Option<Arc<dyn MetricsReader>>,
    /// Metrics, for the metrics role.
    pub metrics_writer: Option<Arc<dyn MetricsWriter>>,
}

/// Opens the stores `roles` need.
pub fn open(config: &Config, roles: &Roles) -> anyhow::Result<AnalyticStores> {
    let clickhouse = match &config.analytics.url {
        Some(url) if roles.runs(Role::Metrics) || roles.runs(Role::Api) => {
            let store = ClickHouseStore::open(url.endpoint(), &config.analytics.clickhouse())
                .with_context(|| format!("cannot open the metrics store at {}", url.endpoint()))?;
            tracing::info!(
                server = store.server_version(),
                database = store.database(),
                "metrics on ClickHouse"
            );
            Some(Arc::new(store))
        }
        _ => None,
    };
    let needs_duck =
        roles.runs(Role::Events) || (roles.runs(Role::Metrics) && config.analytics.url.is_none());
    let duck = if needs_duck {
        let path = duckdb_path(config);
        let store = DuckStore::open(&path, &config.analytics.store())
            .with_context(|| format!("cannot open the analytic store {}", path.display()))?;
        Some(Arc::new(store))
    } else {
        None
    };
    let metrics: Option<Arc<dyn MetricsStore>> = match (clickhouse, &duck) {
        (Some(store), _) => Some(store),
        (None, Some(store)) if config.analytics.url.is_none() => Some(store.clone()),
        _ => None,
    };
    let metrics_writer = metrics
        .clone()
        .filter(|_| roles.runs(Role::Metrics))
        .map(|store| store as Arc<dyn MetricsWriter>);
    let metrics_reader = metrics.map(|store| store as Arc<dyn MetricsReader>);
    Ok(AnalyticStores {
        duck,
        metrics_reader,
        metrics_writer,
    })
}

/// The analytic store's file in the data directory.
pub fn duckdb_path(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("analytics.duckdb")
}
