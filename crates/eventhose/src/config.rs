//! Settings: built-in defaults, then the config file, then `EVENTHOSE_*` environment variables,
//! then command-line flags (flags win).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use eventhose_api::{ApiLimits, IngestSettings};

use crate::hosted_sources::SourcesSettings;
use crate::http_server::HttpLimits;
use crate::roles::{Role, Roles};
use eventhose_hose_amqp::{AmqpHoseConfig, AmqpOptions};
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
    /// A key created with every grant when the data directory has no key yet (at least 20
    /// characters). It is a root credential: its `Debug` form is redacted, `serve` warns when
    /// it creates the key, and it is best removed from the configuration once used.
    pub bootstrap_key: Option<SecretText>,
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    pub log: String,
    /// How ingest reads requests: limits, KumoMTA records, enrichment.
    pub ingest: IngestSettings,
    /// Limits on the HTTP listener: connections, header and request deadlines.
    pub http: HttpLimits,
    /// Limits on the query APIs' answers.
    pub api: ApiLimits,
    /// The hose: a table of embedded-log settings (the default), or a RabbitMQ URL
    /// (`amqp://…`, `amqps://…`) whose options are in `amqp`.
    pub hose: HoseChoice,
    /// Options of the RabbitMQ hose (used when `hose` is a URL), documented, defaulted and
    /// checked by [`AmqpOptions`].
    pub amqp: AmqpOptions,
    /// The state store (API keys, webhooks, suppressions…): absent for SQLite in the data
    /// directory, or a PostgreSQL URL (`postgres://user:password@host:port/database`) that
    /// several eventhose processes share; its options are in `postgres`.
    pub state: Option<StateUrl>,
    /// Options of the PostgreSQL state store (used when `state` is a URL).
    pub postgres: PostgresSettings,
    /// Let webhook targets and token URLs be loopback, private or other non-public addresses
    /// (development and tests only: it opens the door to server-side request forgery).
    pub allow_private_targets: bool,
    /// Webhooks.
    pub webhooks: WebhookSettings,
    /// The analytic store (metrics and message events).
    pub analytics: AnalyticsSettings,
    /// The roles this process runs (`--roles`); all of them by default. A subset needs the
    /// hose on RabbitMQ and the state on PostgreSQL, shared with the processes running the
    /// others.
    pub roles: Vec<Role>,
    /// How long, in minutes, each subscriber remembers the events it applied, so that an event
    /// arriving again (a client's retry, a source re-reading its input, a redelivery) is
    /// ignored; 0 turns deduplication off.
    pub dedup_window_minutes: u64,
    /// The most events each subscriber remembers for deduplication (18–37 bytes each); past
    /// it the oldest are forgotten before the window ends. 0 turns deduplication off.
    pub dedup_max_events: usize,
    /// MTA sources this process runs itself (`[[sources.postfix]]`, `[[sources.pmta]]`),
    /// sending to its own ingest API.
    pub sources: SourcesSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            bootstrap_key: None,
            log: "info".into(),
            ingest: IngestSettings::default(),
            http: HttpLimits::default(),
            api: ApiLimits::default(),
            hose: HoseChoice::default(),
            amqp: AmqpOptions::default(),
            state: None,
            postgres: PostgresSettings::default(),
            allow_private_targets: false,
            webhooks: WebhookSettings::default(),
            analytics: AnalyticsSettings::default(),
            roles: Role::ALL.to_vec(),
            dedup_window_minutes: eventhose_subscribers::DEFAULT_DEDUP_WINDOW.span().as_secs() / 60,
            dedup_max_events: eventhose_subscribers::DEFAULT_DEDUP_WINDOW.max_events,
            sources: SourcesSettings::default(),
        }
    }
}

/// Settings of the analytic store and the metrics subscriber.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsSettings {
    /// Where metrics are kept: absent for DuckDB in the data directory, or a ClickHouse URL
    /// (`http://user:password@host:8123/?database=eventhose`) that every process of a cluster
    /// shares. Message events stay in the data directory's DuckDB file.
    pub url: Option<AnalyticsUrl>,
    /// The longest one ClickHouse statement may take, in milliseconds (with `url`).
    pub clickhouse_timeout_ms: u64,
    /// The largest answer read from ClickHouse, in bytes (with `url`; a checkpoint's ledger
    /// of first engagements is the largest).
    pub clickhouse_max_response_bytes: u64,
    /// DuckDB's memory limit, e.g. `"1GB"`.
    pub memory_limit: String,
    /// Threads DuckDB may use for one query.
    pub threads: u16,
    /// Days metrics are kept (SparkPost keeps 6 months).
    pub metrics_retention_days: u64,
    /// Days a message's first open or click is remembered for the unique metrics.
    pub unique_window_days: u64,
    /// Days raw message events are kept for the Events API (SparkPost keeps 10).
    pub events_retention_days: u64,
    /// How often the metrics and message-events subscribers commit, in milliseconds (how
    /// fresh the APIs are).
    pub commit_interval_ms: u64,
    /// The most identities of recently stored message events kept in memory (about 20 bytes
    /// each) to recognise redeliveries without reading the day tables; older ones are
    /// looked up.
    pub event_id_window_max: usize,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        let store = eventhose_analytics_duckdb::DuckOptions::default();
        let retention = eventhose_subscribers::MetricsRetention::default();
        let clickhouse = eventhose_analytics_clickhouse::ClickHouseOptions::default();
        Self {
            url: None,
            clickhouse_timeout_ms: u64::try_from(clickhouse.timeout.as_millis())
                .unwrap_or(u64::MAX),
            clickhouse_max_response_bytes: clickhouse.max_response_bytes,
            memory_limit: store.memory_limit,
            threads: store.threads,
            metrics_retention_days: retention.keep.as_secs() / 86_400,
            unique_window_days: retention.unique_window.as_secs() / 86_400,
            events_retention_days: 10,
            commit_interval_ms: 1_000,
            event_id_window_max: store.event_id_window_max,
        }
    }
}

impl AnalyticsSettings {
    /// The store's options.
    pub fn store(&self) -> eventhose_analytics_duckdb::DuckOptions {
        eventhose_analytics_duckdb::DuckOptions {
            memory_limit: self.memory_limit.clone(),
            threads: self.threads.max(1),
            event_id_window_max: self.event_id_window_max,
            ..Default::default()
        }
    }

    /// The ClickHouse store's options.
    pub fn clickhouse(&self) -> eventhose_analytics_clickhouse::ClickHouseOptions {
        eventhose_analytics_clickhouse::ClickHouseOptions {
            timeout: std::time::Duration::from_millis(self.clickhouse_timeout_ms.max(1)),
            max_response_bytes: self.clickhouse_max_response_bytes.max(1),
        }
    }

    /// How long raw message events are kept.
    pub fn events_retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(86_400 * self.events_retention_days.max(1))
    }

    /// The metrics subscriber's retention.
    pub fn retention(&self) -> eventhose_subscribers::MetricsRetention {
        let day = std::time::Duration::from_secs(86_400);
        eventhose_subscribers::MetricsRetention {
            keep: day * u32::try_from(self.metrics_retention_days.max(1)).unwrap_or(u32::MAX),
            unique_window: day * u32::try_from(self.unique_window_days.max(1)).unwrap_or(u32::MAX),
            ..Default::default()
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
    /// … or at the latest after this many milliseconds (a webhook with no batch under way
    /// has its events sent at once).
    pub flush_interval_ms: u64,
    /// A POST without an answer after this many milliseconds failed.
    pub timeout_ms: u64,
    /// Requests in flight to one webhook at most.
    pub per_webhook_concurrency: usize,
    /// Keep the status of every batch, not only of retried and failed ones.
    pub record_every_batch: bool,
    /// Days batch statuses are kept.
    pub status_retention_days: u64,
    /// Most webhooks one account (the primary account, or one subaccount) may have; creating
    /// one more is refused with a 409. SparkPost publishes no such limit. Default: 100.
    pub max_per_account: usize,
    /// Accept webhook targets on any port. Default off, as SparkPost: "Only ports 80 for http
    /// and 443 for https can be set."
    pub allow_any_port: bool,
    /// Accept any 2xx answer to the test POST of create, re-target and validate. Default off,
    /// as SparkPost: anything but HTTP 200 fails the request with a 400.
    pub test_post_accepts_any_2xx: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        let engine = eventhose_subscribers::webhooks::WebhookEngineConfig::default();
        Self {
            encryption_key: None,
            retry_schedule: None,
            batch_max_events: engine.batch_max_events,
            batch_max_bytes: engine.batch_max_bytes,
            flush_interval_ms: u64::try_from(engine.flush_interval.as_millis()).unwrap_or(u64::MAX),
            timeout_ms: u64::try_from(engine.timeout.as_millis()).unwrap_or(u64::MAX),
            per_webhook_concurrency: engine.per_webhook_concurrency,
            record_every_batch: engine.record_every_batch,
            status_retention_days: engine.status_retention.as_secs() / 86_400,
            max_per_account: eventhose_api::DEFAULT_MAX_WEBHOOKS_PER_ACCOUNT,
            allow_any_port: false,
            test_post_accepts_any_2xx: false,
        }
    }
}

impl WebhookSettings {
    /// SparkPost's rules on targets, as relaxed by these settings.
    pub fn target_rules(&self) -> eventhose_api::TargetRules {
        eventhose_api::TargetRules {
            any_port: self.allow_any_port,
            test_post_any_2xx: self.test_post_accepts_any_2xx,
        }
    }

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

/// A PostgreSQL URL for the state store (`postgres://…` or `postgresql://…`); its `Debug`
/// form hides the password.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(try_from = "String", into = "String")]
pub struct StateUrl(String);

impl StateUrl {
    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StateUrl {
    type Error = String;

    fn try_from(url: String) -> Result<Self, String> {
        match url.split_once("://") {
            Some(("postgres" | "postgresql", _)) => Ok(Self(url)),
            _ => Err(
                "`state` must be a PostgreSQL URL (postgres://user:password@host:port/database); \
                 leave it out for SQLite in the data directory"
                    .into(),
            ),
        }
    }
}

impl From<StateUrl> for String {
    fn from(url: StateUrl) -> Self {
        url.0
    }
}

impl std::fmt::Debug for StateUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) => {
                if parsed.password().is_some() {
                    let _ = parsed.set_password(Some("…"));
                }
                write!(f, "{:?}", parsed.as_str())
            }
            Err(_) => f.write_str("\"…\""),
        }
    }
}

/// A ClickHouse URL for the analytic store, checked when read; its `Debug` form hides the
/// password.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(try_from = "String", into = "String")]
pub struct AnalyticsUrl {
    text: String,
    endpoint: eventhose_analytics_clickhouse::Endpoint,
}

impl AnalyticsUrl {
    /// The endpoint the URL names.
    pub fn endpoint(&self) -> &eventhose_analytics_clickhouse::Endpoint {
        &self.endpoint
    }
}

impl TryFrom<String> for AnalyticsUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match eventhose_analytics_clickhouse::Endpoint::parse(&text) {
            Ok(endpoint) => Ok(Self { text, endpoint }),
            Err(e) => Err(format!(
                "`analytics.url` must be a ClickHouse URL \
                 (http://user:password@host:8123/?database=eventhose): {e}; \
                 leave it out for DuckDB in the data directory"
            )),
        }
    }
}

impl From<AnalyticsUrl> for String {
    fn from(url: AnalyticsUrl) -> Self {
        url.text
    }
}

impl std::fmt::Debug for AnalyticsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.endpoint.to_string())
    }
}

/// Options of the PostgreSQL state store.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresSettings {
    /// Connections each process keeps open to PostgreSQL, at most.
    pub max_connections: usize,
    /// How long a query waits for a connection (or to open one) before failing, in
    /// milliseconds.
    pub connect_timeout_ms: u64,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        let defaults = eventhose_state::PostgresOptions::default();
        Self {
            max_connections: defaults.max_connections,
            connect_timeout_ms: u64::try_from(defaults.connect_timeout.as_millis())
                .unwrap_or(u64::MAX),
        }
    }
}

impl PostgresSettings {
    /// The store's options.
    pub fn options(&self) -> eventhose_state::PostgresOptions {
        eventhose_state::PostgresOptions {
            max_connections: self.max_connections.max(1),
            connect_timeout: std::time::Duration::from_millis(self.connect_timeout_ms.max(1)),
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

/// Which hose carries the events: `hose = { … }` (the embedded log) or `hose = "amqp://…"`.
#[derive(Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HoseChoice {
    /// The embedded, segmented log in the data directory.
    Embedded(HoseSettings),
    /// RabbitMQ at this URL (`amqp://user:password@host:port/vhost` or `amqps://…`).
    Amqp(String),
}

impl Default for HoseChoice {
    fn default() -> Self {
        Self::Embedded(HoseSettings::default())
    }
}

impl std::fmt::Debug for HoseChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded(settings) => f.debug_tuple("Embedded").field(settings).finish(),
            Self::Amqp(url) => f
                .debug_tuple("Amqp")
                .field(&AmqpHoseConfig::with_url(url.as_str()).redacted_url())
                .finish(),
        }
    }
}

/// URL schemes `hose` accepts as a string.
const BROKER_SCHEMES: [&str; 2] = ["amqp", "amqps"];

impl<'de> Deserialize<'de> for HoseChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};

        struct ChoiceVisitor;

        impl<'de> Visitor<'de> for ChoiceVisitor {
            type Value = HoseChoice;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a RabbitMQ URL (amqp://… or amqps://…) or a table of embedded-hose settings",
                )
            }

            fn visit_str<E: de::Error>(self, url: &str) -> Result<HoseChoice, E> {
                let Some((scheme, _)) = url.split_once("://") else {
                    return Err(E::custom(
                        "a hose given as a string must be a RabbitMQ URL (amqp://… or amqps://…)",
                    ));
                };
                if !BROKER_SCHEMES.contains(&scheme) {
                    return Err(E::custom(format!(
                        "unsupported hose URL scheme `{scheme}`: use amqp:// or amqps:// for \
                         RabbitMQ, or a table of embedded-hose settings"
                    )));
                }
                Ok(HoseChoice::Amqp(url.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<HoseChoice, A::Error> {
                HoseSettings::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(HoseChoice::Embedded)
            }
        }

        deserializer.deserialize_any(ChoiceVisitor)
    }
}

/// The hose `serve` opens, fully configured.
#[derive(Clone, Debug, PartialEq)]
pub enum HoseBackend {
    /// The embedded log in `<data_dir>/hose`.
    Embedded(eventhose_hose::embedded::EmbeddedConfig),
    /// The RabbitMQ hose.
    Amqp(AmqpHoseConfig),
}

impl Config {
    /// How long, and how many, events each subscriber remembers.
    pub fn dedup_window(&self) -> eventhose_model::DedupWindow {
        eventhose_model::DedupWindow::new(
            std::time::Duration::from_secs(self.dedup_window_minutes.saturating_mul(60)),
            self.dedup_max_events,
        )
    }

    /// The roles this process runs.
    pub fn roles(&self) -> Roles {
        Roles::new(&self.roles)
    }

    /// The hose chosen by `hose`, with its settings.
    pub fn hose_backend(&self) -> HoseBackend {
        match &self.hose {
            HoseChoice::Embedded(settings) => HoseBackend::Embedded(settings.embedded()),
            HoseChoice::Amqp(url) => HoseBackend::Amqp(AmqpHoseConfig {
                url: url.clone(),
                options: self.amqp.clone(),
            }),
        }
    }

    /// The ingest settings, with the oldest accepted event set by the longest retention: an
    /// event no store would keep is refused at the door.
    pub fn ingest_settings(&self) -> IngestSettings {
        let longest_days = self
            .analytics
            .metrics_retention_days
            .max(self.analytics.events_retention_days)
            .max(1);
        IngestSettings {
            max_event_age_secs: longest_days.saturating_mul(86_400),
            ..self.ingest.clone()
        }
    }

    /// Checks what deserializing cannot: the RabbitMQ settings, when RabbitMQ is chosen.
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.webhooks.max_per_account > 0,
            "webhooks.max_per_account must be positive"
        );
        anyhow::ensure!(
            self.state.is_none() || self.webhooks.encryption_key.is_some(),
            "`state` is PostgreSQL, shared by processes that must all read the webhooks' \
             secrets: set webhooks.encryption_key (the same on each; \
             EVENTHOSE_WEBHOOKS__ENCRYPTION_KEY)"
        );
        self.roles().check(self)?;
        self.sources.validate()?;
        anyhow::ensure!(
            self.sources.is_empty() || self.roles.contains(&Role::Ingest),
            "`sources` send to this process's own ingest API: run the `ingest` role here"
        );
        if let HoseBackend::Amqp(amqp) = self.hose_backend() {
            amqp.validate()
                .map_err(|e| anyhow::anyhow!("invalid `hose` URL or `amqp` settings: {e}"))?;
        }
        Ok(())
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
    /// `--roles`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
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
    let config = figment
        .merge(
            Env::prefixed("EVENTHOSE_")
                .filter(|key| key.as_str() != "config")
                .split("__"),
        )
        .merge(Serialized::defaults(overrides))
        .extract::<Config>()
        .context("invalid configuration")?;
    config.validate().context("invalid configuration")?;
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its large error type
mod tests {
    use super::*;
    use eventhose_hose_amqp::QueueType;
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
            jail.set_env("EVENTHOSE_WEBHOOKS__MAX_PER_ACCOUNT", "7");
            jail.set_env("EVENTHOSE_WEBHOOKS__ALLOW_ANY_PORT", "true");
            let overrides = Overrides {
                listen: Some("127.0.0.1:2222".parse().unwrap()),
                data_dir: None,
                roles: None,
            };
            let config = load(Some(Path::new("custom.toml")), &overrides).unwrap();
            assert_eq!(config.listen.port(), 2222); // flag
            assert_eq!(config.data_dir, PathBuf::from("/from/env")); // env over file
            assert_eq!(config.log, "debug"); // file over default
            assert_eq!(config.ingest.max_events, 7);
            assert_eq!(config.ingest.max_line_bytes, 99);
            assert_eq!(
                config.ingest.max_body_bytes,
                IngestSettings::default().max_body_bytes
            );
            assert!(config.allow_private_targets);
            assert_eq!(config.webhooks.max_per_account, 7);
            assert_eq!(
                config.webhooks.target_rules(),
                eventhose_api::TargetRules {
                    any_port: true,
                    test_post_any_2xx: false,
                }
            );
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
    fn debug_output_cannot_leak_the_bootstrap_key() {
        Jail::expect_with(|jail| {
            let secret = "bootstrap-root-key-0123456789";
            jail.create_file("eventhose.toml", &format!("bootstrap_key = \"{secret}\"\n"))?;
            let config = load(None, &Overrides::default()).unwrap();
            assert_eq!(
                config.bootstrap_key.as_ref().map(|key| key.0.as_str()),
                Some(secret),
                "the key is read"
            );
            let shown = format!("{config:?}");
            assert!(!shown.contains(secret), "the bootstrap key leaks: {shown}");
            jail.set_env("EVENTHOSE_BOOTSTRAP_KEY", "bootstrap-from-env-0123456789");
            let config = load(None, &Overrides::default()).unwrap();
            assert!(!format!("{config:#?}").contains("bootstrap-from-env"));
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

    const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

    fn broker_config(config: &Config) -> AmqpHoseConfig {
        match config.hose_backend() {
            HoseBackend::Amqp(amqp) => amqp,
            other => panic!("expected the RabbitMQ hose, got {other:?}"),
        }
    }

    #[test]
    fn a_broker_url_in_the_environment_selects_rabbitmq_with_its_options() {
        Jail::expect_with(|jail| {
            jail.set_env("EVENTHOSE_HOSE", BROKER);
            jail.set_env("EVENTHOSE_AMQP__PREFIX", "tenant7.");
            jail.set_env("EVENTHOSE_AMQP__QUEUE_TYPE", "classic");
            jail.set_env("EVENTHOSE_AMQP__PREFETCH", "8");
            jail.set_env("EVENTHOSE_AMQP__MAX_REDELIVERIES", "5");
            let config = load(None, &Overrides::default()).unwrap();
            assert_eq!(config.hose, HoseChoice::Amqp(BROKER.into()));
            let amqp = broker_config(&config);
            assert_eq!(amqp.url, BROKER);
            assert_eq!(amqp.options.prefix, "tenant7.");
            assert_eq!(amqp.options.queue_type, QueueType::Classic);
            assert_eq!(amqp.options.prefetch, 8);
            assert_eq!(amqp.options.max_redeliveries, 5);
            let defaults = AmqpOptions::default();
            assert_eq!(amqp.options.publish_channels, defaults.publish_channels);
            assert_eq!(amqp.options.connection_name, defaults.connection_name);
            let shown = format!("{config:?}");
            assert!(
                !shown.contains("guest:guest"),
                "the password leaks: {shown}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_broker_url_in_the_file_selects_rabbitmq() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "eventhose.toml",
                "hose = \"amqps://u:p@broker.example:5671/prod\"\n[amqp]\nprefix = \"eh.\"\nstats_interval_ms = 250\nstartup_wait_ms = 1500\n",
            )?;
            let config = load(None, &Overrides::default()).unwrap();
            let amqp = broker_config(&config);
            assert_eq!(amqp.url, "amqps://u:p@broker.example:5671/prod");
            assert_eq!(amqp.options.prefix, "eh.");
            assert_eq!(amqp.options.stats_interval_ms, 250);
            assert_eq!(amqp.options.queue_type, QueueType::Quorum);
            assert_eq!(
                config.amqp.startup_wait(),
                std::time::Duration::from_millis(1500)
            );
            Ok(())
        });
    }

    #[test]
    fn embedded_hose_settings_still_come_from_the_table_and_the_environment() {
        Jail::expect_with(|jail| {
            jail.create_file("eventhose.toml", "[hose]\nzstd_level = 3\n")?;
            jail.set_env("EVENTHOSE_HOSE__SEGMENT_BYTES", "262144");
            let config = load(None, &Overrides::default()).unwrap();
            let HoseBackend::Embedded(embedded) = config.hose_backend() else {
                panic!("expected the embedded hose: {config:?}");
            };
            assert_eq!(embedded.segment_bytes, 262_144);
            assert_eq!(embedded.zstd_level, 3);
            let defaults = HoseSettings::default();
            assert_eq!(embedded.min_free_disk_bytes, defaults.min_free_disk_bytes);
            Ok(())
        });
    }

    #[test]
    fn the_default_hose_is_embedded() {
        Jail::expect_with(|_| {
            let config = load(None, &Overrides::default()).unwrap();
            assert_eq!(
                config.hose_backend(),
                HoseBackend::Embedded(HoseSettings::default().embedded())
            );
            Ok(())
        });
    }

    #[test]
    fn bad_hose_values_are_clear_errors() {
        let cases = [
            ("hose = \"kafka://broker:9092\"\n", "kafka"),
            ("hose = \"http://broker\"\n", "amqp://"),
            ("hose = \"rabbitmq\"\n", "amqp://"),
            ("[hose]\nsegment_byte = 1\n", "segment_byte"),
            (
                "hose = \"amqp://localhost\"\n[amqp]\nqueue_type = \"stream\"\n",
                "stream",
            ),
            (
                "hose = \"amqp://localhost\"\n[amqp]\nprefetch = 0\n",
                "prefetch",
            ),
            (
                "hose = \"amqp://localhost\"\n[amqp]\nprefix = \"amq.x\"\n",
                "prefix",
            ),
            (
                "hose = \"amqp://localhost\"\n[amqp]\nstartup_wait_ms = 0\n",
                "startup_wait_ms",
            ),
            ("[webhooks]\nmax_per_account = 0\n", "max_per_account"),
            ("[amqp]\nprefech = 8\n", "prefech"),
            ("[amqp]\nurl = \"amqp://elsewhere\"\n", "url"),
        ];
        for (file, named) in cases {
            Jail::expect_with(|jail| {
                jail.create_file("eventhose.toml", file)?;
                let err = load(None, &Overrides::default()).unwrap_err();
                let text = format!("{err:#}");
                assert!(text.contains(named), "{file:?}: {text}");
                Ok(())
            });
        }
    }

    #[test]
    fn an_unknown_scheme_in_the_environment_is_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("EVENTHOSE_HOSE", "redis://127.0.0.1:6379");
            let err = load(None, &Overrides::default()).unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains("redis") && text.contains("amqp://"), "{text}");
            Ok(())
        });
    }

    #[test]
    fn the_analytics_url_names_a_clickhouse_database_and_hides_its_password() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "EVENTHOSE_ANALYTICS__URL",
                "http://ops:hunter2@ch.internal:8123/?database=mail",
            );
            jail.set_env("EVENTHOSE_ANALYTICS__CLICKHOUSE_TIMEOUT_MS", "2500");
            let config = load(None, &Overrides::default()).unwrap();
            let url = config.analytics.url.as_ref().expect("a URL");
            assert_eq!(url.endpoint().database(), "mail");
            assert!(!format!("{config:?}").contains("hunter2"));
            let options = config.analytics.clickhouse();
            assert_eq!(options.timeout, std::time::Duration::from_millis(2_500));

            jail.set_env("EVENTHOSE_ANALYTICS__URL", "clickhouse://ch:9000/");
            let err = load(None, &Overrides::default()).unwrap_err();
            let text = format!("{err:#}");
            assert!(
                text.contains("analytics.url") && text.contains("http"),
                "{text}"
            );
            Ok(())
        });
    }

    #[test]
    fn defaults_work_with_nothing_given() {
        Jail::expect_with(|_| {
            let config = load(None, &Overrides::default()).unwrap();
            assert_eq!(config, Config::default());
            assert!(!config.allow_private_targets);
            assert_eq!(
                config.webhooks.target_rules(),
                eventhose_api::TargetRules::default(),
                "SparkPost's rules unless relaxed"
            );
            assert_eq!(config.webhooks.encryption_key, None);
            assert_eq!(config.webhooks.max_per_account, 100);
            Ok(())
        });
    }

    #[test]
    fn the_oldest_accepted_event_follows_the_longest_retention() {
        Jail::expect_with(|jail| {
            jail.set_env("EVENTHOSE_ANALYTICS__METRICS_RETENTION_DAYS", "30");
            jail.set_env("EVENTHOSE_ANALYTICS__EVENTS_RETENTION_DAYS", "40");
            jail.set_env("EVENTHOSE_INGEST__MAX_CLOCK_SKEW_SECS", "120");
            let limits = load(None, &Overrides::default()).unwrap().ingest_settings();
            assert_eq!(limits.max_event_age_secs, 40 * 86_400);
            assert_eq!(limits.max_clock_skew_secs, 120);
            Ok(())
        });
    }
}
