//! Settings: built-in defaults, then the config file, then `EVENTHOSE_*` environment variables,
//! then command-line flags (flags win).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use eventhose_api::IngestLimits;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Everything `eventhose serve` can be told.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Directory for all state: the hose log, the state database, subscriber checkpoints.
    pub data_dir: PathBuf,
    /// A key created with every grant when the data directory has no key yet.
    pub bootstrap_key: Option<String>,
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    pub log: String,
    /// Limits on ingest requests.
    pub ingest: IngestLimits,
    /// The embedded hose.
    pub hose: HoseSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            bootstrap_key: None,
            log: "info".into(),
            ingest: IngestLimits::default(),
            hose: HoseSettings::default(),
        }
    }
}

/// Settings of the embedded hose.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HoseSettings {
    /// Log segment size, in bytes.
    pub segment_bytes: u64,
    /// Ingest answers 429 while any subscriber is further behind than this, in bytes.
    pub max_lag_bytes: u64,
    /// Ingest answers 503 while the data disk has less free space than this, in bytes.
    pub min_free_disk_bytes: u64,
}

impl Default for HoseSettings {
    fn default() -> Self {
        let defaults = eventhose_hose::embedded::EmbeddedConfig::default();
        Self {
            segment_bytes: defaults.segment_bytes,
            max_lag_bytes: defaults.max_subscriber_lag_bytes,
            min_free_disk_bytes: defaults.min_free_disk_bytes,
        }
    }
}

impl HoseSettings {
    /// The embedded hose's configuration.
    pub fn embedded(&self) -> eventhose_hose::embedded::EmbeddedConfig {
        eventhose_hose::embedded::EmbeddedConfig {
            segment_bytes: self.segment_bytes,
            max_subscriber_lag_bytes: self.max_lag_bytes,
            min_free_disk_bytes: self.min_free_disk_bytes,
            ..Default::default()
        }
    }
}

/// Flags that override the file and the environment (only those given).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// Loads the layered configuration. A missing config file is an error only when it was named.
pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    match file {
        Some(path) => {
            anyhow::ensure!(path.exists(), "config file {} not found", path.display());
            figment = figment.merge(Toml::file(path));
        }
        None if Path::new("eventhose.toml").exists() => {
            figment = figment.merge(Toml::file("eventhose.toml"));
        }
        None => {}
    }
    figment
        .merge(
            Env::prefixed("EVENTHOSE_")
                .filter(|key| key.as_str() != "config")
                .split("__"),
        )
        .merge(Serialized::defaults(overrides))
        .extract()
        .context("invalid configuration")
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its large error type
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "listen = \"127.0.0.1:1111\"\ndata_dir = \"/from/file\"\nlog = \"debug\"\n[ingest]\nmax_events = 7\n",
            )?;
            jail.set_env("EVENTHOSE_DATA_DIR", "/from/env");
            jail.set_env("EVENTHOSE_INGEST__MAX_LINE_BYTES", "99");
            let overrides = Overrides {
                listen: Some("127.0.0.1:2222".parse().unwrap()),
                data_dir: None,
            };
            let config = load(Some(Path::new("custom.toml")), &overrides).unwrap();
            assert_eq!(config.listen.port(), 2222); // flag
            assert_eq!(config.data_dir, PathBuf::from("/from/env")); // env over file
            assert_eq!(config.log, "debug"); // file over default
            assert_eq!(config.ingest.max_events, 7);
            assert_eq!(config.ingest.max_line_bytes, 99);
            assert_eq!(
                config.ingest.max_body_bytes,
                IngestLimits::default().max_body_bytes
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_named_file_are_errors() {
        Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "lisen = \"127.0.0.1:1\"\n")?;
            let err = load(Some(Path::new("bad.toml")), &Overrides::default()).unwrap_err();
            assert!(format!("{err:#}").contains("lisen"), "{err:#}");
            assert!(load(Some(Path::new("missing.toml")), &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn defaults_work_with_nothing_given() {
        Jail::expect_with(|_| {
            let config = load(None, &Overrides::default()).unwrap();
            assert_eq!(config, Config::default());
            Ok(())
        });
    }
}
