//! The delivery engine's settings the benchmark's server runs with, for the line the
//! benchmark prints before it starts. They are read as `eventhose serve` reads them: its
//! defaults, then the `[webhooks]` table of `./eventhose.toml` when that file exists, then
//! `EVENTHOSE_WEBHOOKS__*` environment variables, then this run's `--flush-interval-ms`.
//! Other settings are left to the server, which refuses a configuration it cannot use.

use std::path::Path;

use anyhow::Context;
use eventhose_subscribers::webhooks::WebhookEngineConfig;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The settings the benchmark reports, named as the `[webhooks]` keys of the configuration.
#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineSettings {
    pub batch_max_events: u32,
    pub batch_max_bytes: usize,
    pub flush_interval_ms: u64,
    pub per_webhook_concurrency: usize,
    pub timeout_ms: u64,
}

impl Default for EngineSettings {
    /// The server's defaults.
    fn default() -> Self {
        let engine = WebhookEngineConfig::default();
        Self {
            batch_max_events: engine.batch_max_events,
            batch_max_bytes: engine.batch_max_bytes,
            flush_interval_ms: u64::try_from(engine.flush_interval.as_millis()).unwrap_or(u64::MAX),
            per_webhook_concurrency: engine.per_webhook_concurrency,
            timeout_ms: u64::try_from(engine.timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The part of the configuration the settings come from.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Settings {
    webhooks: EngineSettings,
}

/// The settings the server will run with, `flush_interval_ms` (when given) on top.
pub fn engine_settings(flush_interval_ms: Option<u64>) -> anyhow::Result<EngineSettings> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    if Path::new("eventhose.toml").exists() {
        figment = figment.merge(Toml::file("eventhose.toml"));
    }
    let mut settings = figment
        .merge(
            Env::prefixed("EVENTHOSE_")
                .filter(|key| key.as_str() != "config")
                .split("__"),
        )
        .extract::<Settings>()
        .context("invalid configuration")?
        .webhooks;
    if let Some(ms) = flush_interval_ms {
        settings.flush_interval_ms = ms;
    }
    Ok(settings)
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its large error type
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn flag_beats_env_beats_file_beats_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "eventhose.toml",
                "listen = \"127.0.0.1:1111\"\n[ingest]\nmax_events = 7\n\
                 [webhooks]\nbatch_max_events = 5\ntimeout_ms = 6\nflush_interval_ms = 8\n",
            )?;
            jail.set_env("EVENTHOSE_WEBHOOKS__TIMEOUT_MS", "9");
            jail.set_env("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "10");
            let settings = engine_settings(Some(11)).expect("settings");
            let defaults = EngineSettings::default();
            assert_eq!(settings.batch_max_events, 5); // file
            assert_eq!(settings.timeout_ms, 9); // env over file
            assert_eq!(settings.flush_interval_ms, 11); // flag over env
            assert_eq!(settings.batch_max_bytes, defaults.batch_max_bytes);
            assert_eq!(
                settings.per_webhook_concurrency,
                defaults.per_webhook_concurrency
            );
            Ok(())
        });
    }
}
