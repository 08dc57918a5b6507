//! Settings of the RabbitMQ hose.

use std::fmt;
use std::time::Duration;

use eventhose_hose::{HoseError, MAX_SUBSCRIBER_NAME_LEN};
use lapin::uri::AMQPUri;
use serde::{Deserialize, Serialize};

use crate::tiers::WAIT_QUEUE_SUFFIX_MAX_LEN;

/// Longest prefix accepted: the longest derived name (`{prefix}{name}.wait.{millis}`) must fit
/// in AMQP's 255-byte short strings.
pub const MAX_PREFIX_LEN: usize = 255 - MAX_SUBSCRIBER_NAME_LEN - WAIT_QUEUE_SUFFIX_MAX_LEN;

/// Largest accepted `prefetch`.
pub const MAX_PREFETCH: u16 = 4096;

/// The kind of queue a subscriber's queues are declared as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueType {
    /// Replicated Raft queues: delivery limit, at-least-once dead-lettering (the default).
    #[default]
    Quorum,
    /// Classic queues: no delivery limit, dead-lettering at most once.
    Classic,
}

impl QueueType {
    /// The value of the `x-queue-type` argument.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quorum => "quorum",
            Self::Classic => "classic",
        }
    }
}

/// Where the broker is and how the hose uses it.
#[derive(Clone, PartialEq)]
pub struct AmqpHoseConfig {
    /// Broker address, `amqp://user:password@host:port/vhost` (or `amqps://…`).
    pub url: String,
    /// How the hose uses the broker.
    pub options: AmqpOptions,
}

/// How the hose uses the broker: every setting but its address. Every field has a default;
/// deserialized (an application's `[amqp]` settings, say), missing fields take it and unknown
/// ones are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpOptions {
    /// Start of every exchange and queue name, so that several installations can share a
    /// broker (at most [`MAX_PREFIX_LEN`] bytes of printable ASCII, not starting with `amq.`).
    pub prefix: String,
    /// Type of the subscriber queues: `quorum` (replicated, with a delivery limit; the
    /// default) or `classic`.
    pub queue_type: QueueType,
    /// Unacknowledged deliveries the broker may push to one subscription (1 to [`MAX_PREFETCH`]).
    pub prefetch: u16,
    /// Redeliveries a quorum work queue allows (its `x-delivery-limit`): a message is delivered
    /// at most `max_redeliveries + 1` times, then moved to `{prefix}{name}.dead`.
    pub max_redeliveries: u32,
    /// First pause before reconnecting, in milliseconds; doubled after each failed attempt …
    pub reconnect_min_ms: u64,
    /// … up to this many milliseconds.
    pub reconnect_max_ms: u64,
    /// Longest wait for the TCP connection and AMQP handshake, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Heartbeat interval proposed to the broker, in seconds (0 disables heartbeats).
    pub heartbeat_secs: u16,
    /// Longest wait for the broker's publisher confirm (and for an acknowledgement to be sent),
    /// in milliseconds.
    pub publish_timeout_ms: u64,
    /// Publishes that may wait for their confirm at once (one channel each, 1 to 1024).
    pub publish_channels: usize,
    /// Interval between queue statistics refreshes (the queue gauges), in milliseconds.
    pub stats_interval_ms: u64,
    /// Largest encoded batch, in bytes.
    pub max_batch_bytes: u64,
    /// Connection name shown by the broker (`rabbitmqctl list_connections client_properties`).
    pub connection_name: String,
    /// How long an application waits for the first connection before giving up, in
    /// milliseconds ([`AmqpOptions::startup_wait`], for
    /// [`AmqpHose::wait_until_connected`](crate::AmqpHose::wait_until_connected); the hose
    /// itself keeps trying).
    pub startup_wait_ms: u64,
}

impl Default for AmqpHoseConfig {
    fn default() -> Self {
        Self::with_url("amqp://guest:guest@127.0.0.1:5672/%2f")
    }
}

impl Default for AmqpOptions {
    fn default() -> Self {
        Self {
            prefix: "eventhose.".into(),
            queue_type: QueueType::Quorum,
            prefetch: 64,
            max_redeliveries: 20,
            reconnect_min_ms: 200,
            reconnect_max_ms: 30_000,
            connect_timeout_ms: 10_000,
            heartbeat_secs: 10,
            publish_timeout_ms: 30_000,
            publish_channels: 16,
            stats_interval_ms: 5_000,
            max_batch_bytes: 16 * 1024 * 1024,
            connection_name: "eventhose".into(),
            startup_wait_ms: 30_000,
        }
    }
}

impl AmqpHoseConfig {
    /// The default options with the broker at `url`.
    pub fn with_url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            options: AmqpOptions::default(),
        }
    }

    /// Checks every field and parses the URL.
    pub fn validate(&self) -> Result<AMQPUri, HoseError> {
        let mut uri: AMQPUri = match self.url.parse() {
            Ok(uri) => uri,
            Err(err) => {
                let why = format!("url `{}`: {err}", redact(&self.url));
                return Err(HoseError::InvalidConfig(why));
            }
        };
        let options = &self.options;
        options.validate().map_err(HoseError::InvalidConfig)?;
        if uri.query.heartbeat.is_none() {
            uri.query.heartbeat = Some(options.heartbeat_secs);
        }
        if uri.query.connection_timeout.is_none() {
            uri.query.connection_timeout = Some(options.connect_timeout_ms);
        }
        Ok(uri)
    }

    /// The URL with its password masked, for logs and errors.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

impl AmqpOptions {
    /// Checks every field; the error names the first one out of range.
    fn validate(&self) -> Result<(), String> {
        if self.prefix.len() > MAX_PREFIX_LEN {
            return Err(format!("prefix is longer than {MAX_PREFIX_LEN} bytes"));
        }
        if !self.prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("prefix must be printable ASCII without spaces".into());
        }
        if self.prefix.starts_with("amq.") {
            return Err("prefix must not start with `amq.` (reserved by the broker)".into());
        }
        if self.prefetch == 0 || self.prefetch > MAX_PREFETCH {
            return Err(format!("prefetch must be between 1 and {MAX_PREFETCH}"));
        }
        if self.max_redeliveries == 0 {
            return Err("max_redeliveries must be at least 1".into());
        }
        if self.reconnect_min_ms == 0 || self.reconnect_max_ms < self.reconnect_min_ms {
            return Err("reconnect_min_ms must be positive and at most reconnect_max_ms".into());
        }
        for (field, value) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("publish_timeout_ms", self.publish_timeout_ms),
            ("stats_interval_ms", self.stats_interval_ms),
            ("max_batch_bytes", self.max_batch_bytes),
            ("startup_wait_ms", self.startup_wait_ms),
        ] {
            if value == 0 {
                return Err(format!("{field} must be positive"));
            }
        }
        if self.publish_channels == 0 || self.publish_channels > 1024 {
            return Err("publish_channels must be between 1 and 1024".into());
        }
        if self.connection_name.is_empty() {
            return Err("connection_name must not be empty".into());
        }
        Ok(())
    }

    /// How long an application waits for the first connection ([`Self::startup_wait_ms`]).
    pub fn startup_wait(&self) -> Duration {
        Duration::from_millis(self.startup_wait_ms)
    }

    pub(crate) fn reconnect_min(&self) -> Duration {
        Duration::from_millis(self.reconnect_min_ms)
    }

    pub(crate) fn reconnect_max(&self) -> Duration {
        Duration::from_millis(self.reconnect_max_ms)
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub(crate) fn publish_timeout(&self) -> Duration {
        Duration::from_millis(self.publish_timeout_ms)
    }

    pub(crate) fn stats_interval(&self) -> Duration {
        Duration::from_millis(self.stats_interval_ms)
    }
}

impl fmt::Debug for AmqpHoseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpHoseConfig")
            .field("url", &self.redacted_url())
            .field("options", &self.options)
            .finish()
    }
}

/// Replaces the password of `scheme://user:password@host…` with `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let uri = AmqpHoseConfig::default().validate().expect("valid");
        assert_eq!(uri.authority.port, 5672);
        assert_eq!(uri.vhost, "/");
        assert_eq!(uri.query.heartbeat, Some(10));
    }

    #[test]
    fn deserializes_partial_options_over_defaults() {
        let options: AmqpOptions =
            serde_json::from_str(r#"{"queue_type": "classic", "prefetch": 8}"#).expect("parse");
        assert_eq!(options.queue_type, QueueType::Classic);
        assert_eq!(options.prefetch, 8);
        assert_eq!(options.prefix, "eventhose.");
        for unknown in [r#"{"prefech": 8}"#, r#"{"url": "amqp://broker"}"#] {
            let refused = serde_json::from_str::<AmqpOptions>(unknown);
            assert!(refused.is_err(), "unknown fields are refused: {unknown}");
        }
    }

    #[test]
    fn refuses_bad_fields_naming_them() {
        let with = |change: fn(&mut AmqpOptions)| {
            let mut config = AmqpHoseConfig::default();
            change(&mut config.options);
            config
        };
        let cases: [(&str, AmqpHoseConfig); 7] = [
            ("url", AmqpHoseConfig::with_url("http://x")),
            ("prefetch", with(|o| o.prefetch = 0)),
            ("prefix", with(|o| o.prefix = "amq.x".into())),
            ("prefix", with(|o| o.prefix = "a b".into())),
            (
                "reconnect_min_ms",
                with(|o| {
                    o.reconnect_min_ms = 10;
                    o.reconnect_max_ms = 5;
                }),
            ),
            ("publish_channels", with(|o| o.publish_channels = 0)),
            ("startup_wait_ms", with(|o| o.startup_wait_ms = 0)),
        ];
        for (field, config) in cases {
            match config.validate() {
                Err(HoseError::InvalidConfig(why)) => assert!(why.contains(field), "{why}"),
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
    }

    #[test]
    fn debug_and_errors_hide_the_password() {
        let config = AmqpHoseConfig::with_url("amqp://user:s3cret@host:5672/%2f");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("amqp://user:***@host:5672/%2f"), "{shown}");
        let bad = AmqpHoseConfig::with_url("amqp://user:s3cret@host:notaport/");
        match bad.validate() {
            Err(HoseError::InvalidConfig(why)) => assert!(!why.contains("s3cret"), "{why}"),
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }
}
