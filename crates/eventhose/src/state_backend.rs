//! Opens the state store `state` names: SQLite in the data directory (the default), or
//! PostgreSQL, shared by several processes.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use eventhose_state::{EncryptionKey, PostgresState, SqliteState, StateStore};

use crate::config::Config;

/// Where the SQLite state database lives inside the data directory.
pub fn sqlite_path(config: &Config) -> PathBuf {
    config.data_dir.join("state.sqlite")
}

/// Opens the configured store and brings its schema up to date; with `key`, webhooks and
/// their secrets can be used too. Blocks (a PostgreSQL store connects and migrates).
pub fn open(config: &Config, key: Option<&EncryptionKey>) -> anyhow::Result<Arc<dyn StateStore>> {
    let opened: Result<Arc<dyn StateStore>, _> = match &config.state {
        None => match key {
            Some(key) => SqliteState::open_with_key(sqlite_path(config), key).map(into_dyn),
            None => SqliteState::open(sqlite_path(config)).map(into_dyn),
        },
        Some(url) => {
            let options = config.postgres.options();
            match key {
                Some(key) => {
                    PostgresState::open_with_key(url.as_str(), &options, key).map(into_dyn)
                }
                None => PostgresState::open(url.as_str(), &options).map(into_dyn),
            }
        }
    };
    opened.with_context(|| match &config.state {
        None => format!(
            "cannot open the state store {}",
            sqlite_path(config).display()
        ),
        Some(url) => format!("cannot open the PostgreSQL state store {url:?}"),
    })
}

fn into_dyn(store: impl StateStore + 'static) -> Arc<dyn StateStore> {
    Arc::new(store)
}
