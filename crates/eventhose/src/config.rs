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
    /// Let webhook targets and token URLs be loopback, private or other non-public addresses
    /// (development and tests only: it opens the door to server-side request forgery).
    pub allow_private_targets: bool,
    /// Webhooks.
    pub webhooks: WebhookSettings,
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
            allow_private_targets: false,
            webhooks: WebhookSettings::default(),
        }
    }
}

/// Settings of webhooks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Base64 of the 32-byte key that encrypts webhook secrets in the state store. When
    /// absent, a key is generated once into `<data_dir>/secret.key`.
    pub encryption_key: Option<SecretText>,
    /// Delays between delivery attempts, e.g. `"30s,1m,2m"`; the number of delays plus one
    /// is the attempt limit. Default: 12 attempts over about 8 hours.
    pub retry_schedule: Option<String>,
    /// A batch is sent when it holds this many events …
    pub batch_max_events: u32,
    /// … or this many bytes …
    pub batch_max_bytes: usize,
    /// … or at the latest after this many milliseconds.
    pub flush_interval_ms: u64,
    /// A POST without an answer after this many milliseconds failed.
    pub timeout_ms: u64,
    /// Requests in flight to one webhook at most.
    pub per_webhook_concurrency: usize,
    /// Keep the status of every batch, not only of retried and failed ones.
    pub record_every_batch: bool,
    /// Days batch statuses are kept.
    pub status_retention_days: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        let engine = eventhose_subscribers::webhooks::WebhookEngineConfig::default();
        Self {
            encryption_key: None,
            retry_schedule: None,
            batch_max_events: engine.batch_max_events,
            batch_max_bytes: engine.batch_max_bytes,
            flush_interval_ms: engine.flush_interval.as_millis() as u64,
            timeout_ms: engine.timeout.as_millis() as u64,
            per_webhook_concurrency: engine.per_webhook_concurrency,
            record_every_batch: engine.record_every_batch,
            status_retention_days: engine.status_retention.as_secs() / 86_400,
        }
    }
}

impl WebhookSettings {
    /// The delivery engine's configuration.
    pub fn engine(
        &self,
        policy: eventhose_webhooks::TargetPolicy,
    ) -> anyhow::Result<eventhose_subscribers::webhooks::WebhookEngineConfig> {
        use std::time::Duration;
        let schedule = match &self.retry_schedule {
            Some(text) => eventhose_webhooks::RetrySchedule::parse(text)
                .map_err(|e| anyhow::anyhow!("invalid webhooks.retry_schedule: {e}"))?,
            None => eventhose_webhooks::RetrySchedule::default(),
        };
        anyhow::ensure!(
            self.batch_max_events > 0 && self.batch_max_bytes > 0 && self.flush_interval_ms > 0,
            "webhooks.batch_max_events, batch_max_bytes and flush_interval_ms must be positive"
        );
        Ok(eventhose_subscribers::webhooks::WebhookEngineConfig {
            batch_max_events: self.batch_max_events,
            batch_max_bytes: self.batch_max_bytes,
            flush_interval: Duration::from_millis(self.flush_interval_ms),
            timeout: Duration::from_millis(self.timeout_ms.max(1)),
            schedule,
            per_webhook_concurrency: self.per_webhook_concurrency.max(1),
            record_every_batch: self.record_every_batch,
            status_retention: Duration::from_secs(self.status_retention_days * 86_400),
            policy,
            ..Default::default()
        })
    }
}

/// A configured secret: its `Debug` form does not show it.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct SecretText(pub String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"…\"")
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
    /// zstd level of log records (negative levels are faster and compress less).
    pub zstd_level: i32,
}

impl Default for HoseSettings {
    fn default() -> Self {
        let defaults = eventhose_hose::embedded::EmbeddedConfig::default();
        Self {
            segment_bytes: defaults.segment_bytes,
            max_lag_bytes: defaults.max_subscriber_lag_bytes,
            min_free_disk_bytes: defaults.min_free_disk_bytes,
            zstd_level: defaults.zstd_level,
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
            zstd_level: self.zstd_level,
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
            jail.set_env("EVENTHOSE_ALLOW_PRIVATE_TARGETS", "true");
            jail.set_env("EVENTHOSE_WEBHOOKS__ENCRYPTION_KEY", "a2V5");
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
            assert!(config.allow_private_targets);
            let key = config.webhooks.encryption_key.clone().unwrap();
            assert_eq!(key.0, "a2V5");
            assert!(
                !format!("{config:?}").contains("a2V5"),
                "the key leaks in Debug"
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
            assert!(!config.allow_private_targets);
            assert_eq!(config.webhooks.encryption_key, None);
            Ok(())
        });
    }
}
