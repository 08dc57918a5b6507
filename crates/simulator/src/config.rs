//! Simulation knobs: seed, clock, catalogue sizes and outcome/engagement rates.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Latest accepted `start` (3000-01-01T00:00:00Z).
pub const MAX_START: i64 = 32_503_680_000;

/// Upper bound on the number of delays (retries) a message can go through.
pub const MAX_DELAYS: u32 = 6;

/// Seconds between consecutive delivery attempts of a delayed message, before jitter.
pub(crate) const RETRY_INTERVALS_SECS: [f64; MAX_DELAYS as usize] =
    [300.0, 600.0, 1200.0, 2400.0, 4800.0, 9600.0];

/// Largest multiplicative jitter applied to a retry interval.
pub(crate) const RETRY_JITTER: f64 = 0.2;

/// Longest time, in seconds, between injection and the first delivery attempt.
pub(crate) const MAX_ATTEMPT_LATENCY_SECS: f64 = 60.0;

/// Longest time, in seconds, between delivery and any engagement or out-of-band event.
pub(crate) const MAX_ENGAGEMENT_DELAY_SECS: f64 = 3.0 * 86_400.0;

/// A rejected configuration.
#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    /// `events_per_second` must be finite and positive.
    #[error("events_per_second must be a positive finite number, got {0}")]
    InvalidRate(f64),
    /// `start` must lie between 1970 and 3000.
    #[error("start must be a unix time between 0 and {max}, got {value}")]
    InvalidStart {
        /// The value given.
        value: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// `time_scale` must be finite and positive.
    #[error("time_scale must be a positive finite number, got {0}")]
    InvalidTimeScale(f64),
    /// A catalogue size is out of range.
    #[error("{name} must be between {min} and {max}, got {value}")]
    InvalidCount {
        /// The knob's name.
        name: &'static str,
        /// The value given.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A rate is not a probability.
    #[error("{name} must be within [0, 1], got {value}")]
    InvalidProbability {
        /// The knob's name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// Several rates that share one draw add up to more than 1.
    #[error("{0} add up to more than 1")]
    RatesExceedOne(&'static str),
}

/// How many distinct entities of each kind the simulated sender has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogSize {
    /// Distinct recipient domains (big mailbox providers first, then a long tail).
    pub recipient_domains: u32,
    /// Distinct recipient addresses.
    pub recipients: u64,
    /// Distinct sending domains.
    pub sending_domains: u32,
    /// Distinct campaigns.
    pub campaigns: u32,
    /// Distinct templates.
    pub templates: u32,
    /// Distinct IP pools.
    pub ip_pools: u32,
    /// Distinct sending IPs (spread over the pools; at least one per pool).
    pub sending_ips: u32,
    /// Subaccounts besides the primary account (id 0).
    pub subaccounts: u32,
}

impl Default for CatalogSize {
    fn default() -> Self {
        CatalogSize {
            recipient_domains: 2_000,
            recipients: 1_000_000,
            sending_domains: 8,
            campaigns: 40,
            templates: 24,
            ip_pools: 4,
            sending_ips: 16,
            subaccounts: 5,
        }
    }
}

/// What happens to messages between generation and final disposition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomeRates {
    /// Share of recipients whose message fails to generate (no injection).
    pub generation_failure: f64,
    /// Share of recipients whose generation is rejected by policy (no injection).
    pub generation_rejection: f64,
    /// Share of injected messages rejected by policy.
    pub policy_rejection: f64,
    /// Share of injected messages bounced in-band at the first attempt.
    pub bounce: f64,
    /// Share of injected messages delayed at least once.
    pub delay: f64,
    /// Share of delayed messages that finally bounce instead of being delivered.
    pub delay_then_bounce: f64,
    /// Share of delivered messages later bounced out of band.
    pub out_of_band: f64,
}

impl Default for OutcomeRates {
    fn default() -> Self {
        OutcomeRates {
            generation_failure: 0.000_5,
            generation_rejection: 0.000_5,
            policy_rejection: 0.003,
            bounce: 0.017,
            delay: 0.012,
            delay_then_bounce: 0.25,
            out_of_band: 0.002,
        }
    }
}

/// How recipients react to delivered messages (all shares are of delivered messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngagementRates {
    /// Share of open-tracked delivered messages that are opened at least once.
    pub open: f64,
    /// Share of open-tracked delivered messages that get at least one click (clickers are openers).
    pub click: f64,
    /// Share of delivered messages reported as spam.
    pub spam_complaint: f64,
    /// Share of delivered non-transactional messages unsubscribed through the mailbox provider.
    pub list_unsubscribe: f64,
    /// Share of open-tracked delivered messages unsubscribed through a tagged link (these are openers).
    pub link_unsubscribe: f64,
    /// Share of transmissions with an AMP part.
    pub amp: f64,
}

impl Default for EngagementRates {
    fn default() -> Self {
        EngagementRates {
            open: 0.30,
            click: 0.035,
            spam_complaint: 0.000_8,
            list_unsubscribe: 0.001,
            link_unsubscribe: 0.001,
            amp: 0.05,
        }
    }
}

/// Everything that determines a simulated stream. Equal configurations give byte-identical streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Simulated time of the first event, in unix seconds.
    pub start: i64,
    /// Emitted events per simulated second; the clock advances `1 / events_per_second` per event.
    pub events_per_second: f64,
    /// Multiplier on every lifecycle latency (delivery, retries, engagement). `1.0` is real time;
    /// smaller values compress message lives so that short runs show whole lifecycles.
    pub time_scale: f64,
    /// The SparkPost customer (account) id on every event.
    pub customer_id: u64,
    /// Most messages kept in flight (each costs roughly 700 bytes). When the cap is reached,
    /// the earliest pending step of a message is emitted ahead of its planned time instead
    /// of starting a new message: lives compress, memory stays bounded.
    pub max_in_flight: u64,
    /// Catalogue sizes.
    pub catalog: CatalogSize,
    /// Delivery outcome rates.
    pub outcomes: OutcomeRates,
    /// Engagement rates.
    pub engagement: EngagementRates,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            start: 1_717_200_000,
            events_per_second: 1_000.0,
            time_scale: 1.0,
            customer_id: 1521,
            max_in_flight: 250_000,
            catalog: CatalogSize::default(),
            outcomes: OutcomeRates::default(),
            engagement: EngagementRates::default(),
        }
    }
}

impl SimConfig {
    /// A configuration with realistic defaults for everything but seed, start and rate.
    pub fn new(seed: u64, start: i64, events_per_second: f64) -> Self {
        SimConfig {
            seed,
            start,
            events_per_second,
            ..SimConfig::default()
        }
    }

    /// Upper bound, in simulated seconds, between a message's injection and its final
    /// disposition (delivery, bounce or policy rejection).
    pub fn max_settle_seconds(&self) -> f64 {
        let retries: f64 = RETRY_INTERVALS_SECS.iter().sum();
        (MAX_ATTEMPT_LATENCY_SECS + retries * (1.0 + RETRY_JITTER)) * self.time_scale
    }

    /// Upper bound, in simulated seconds, between a message's injection and its last event.
    pub fn max_lifetime_seconds(&self) -> f64 {
        // Every post-delivery event is capped at this long after delivery.
        self.max_settle_seconds() + MAX_ENGAGEMENT_DELAY_SECS * self.time_scale
    }

    /// Number of events a run of `seconds` simulated seconds emits (rounded to the nearest event).
    // `as` saturates: a run of more than u64::MAX events is capped, not wrapped.
    #[allow(clippy::cast_possible_truncation)]
    pub fn events_for(&self, seconds: f64) -> u64 {
        (seconds * self.events_per_second).round().max(0.0) as u64
    }

    /// Checks every knob; [`crate::Simulator::new`] calls this.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.events_per_second.is_finite() && self.events_per_second > 0.0) {
            return Err(ConfigError::InvalidRate(self.events_per_second));
        }
        if !(0..=MAX_START).contains(&self.start) {
            return Err(ConfigError::InvalidStart {
                value: self.start,
                max: MAX_START,
            });
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(ConfigError::InvalidTimeScale(self.time_scale));
        }
        self.validate_catalog()?;
        self.validate_rates()
    }

    fn validate_catalog(&self) -> Result<(), ConfigError> {
        let c = &self.catalog;
        let counts: [(&'static str, u64, u64, u64); 9] = [
            ("max_in_flight", self.max_in_flight, 1, u64::MAX),
            (
                "recipient_domains",
                c.recipient_domains.into(),
                1,
                1_000_000,
            ),
            ("recipients", c.recipients, 1, u64::MAX >> 1),
            ("sending_domains", c.sending_domains.into(), 1, 100_000),
            ("campaigns", c.campaigns.into(), 1, 1_000_000),
            ("templates", c.templates.into(), 1, 1_000_000),
            ("ip_pools", c.ip_pools.into(), 1, 10_000),
            (
                "sending_ips",
                c.sending_ips.into(),
                c.ip_pools.max(1).into(),
                100_000,
            ),
            ("subaccounts", c.subaccounts.into(), 0, 1_000_000),
        ];
        for (name, value, min, max) in counts {
            if value < min || value > max {
                return Err(ConfigError::InvalidCount {
                    name,
                    value,
                    min,
                    max,
                });
            }
        }
        Ok(())
    }

    fn validate_rates(&self) -> Result<(), ConfigError> {
        let o = &self.outcomes;
        let e = &self.engagement;
        let probabilities = [
            ("generation_failure", o.generation_failure),
            ("generation_rejection", o.generation_rejection),
            ("policy_rejection", o.policy_rejection),
            ("bounce", o.bounce),
            ("delay", o.delay),
            ("delay_then_bounce", o.delay_then_bounce),
            ("out_of_band", o.out_of_band),
            ("open", e.open),
            ("click", e.click),
            ("spam_complaint", e.spam_complaint),
            ("list_unsubscribe", e.list_unsubscribe),
            ("link_unsubscribe", e.link_unsubscribe),
            ("amp", e.amp),
        ];
        for (name, value) in probabilities {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::InvalidProbability { name, value });
            }
        }
        if o.generation_failure + o.generation_rejection > 1.0 {
            return Err(ConfigError::RatesExceedOne(
                "generation_failure and generation_rejection",
            ));
        }
        if o.policy_rejection + o.bounce + o.delay > 1.0 {
            return Err(ConfigError::RatesExceedOne(
                "policy_rejection, bounce and delay",
            ));
        }
        if e.click > e.open || e.link_unsubscribe > e.open {
            return Err(ConfigError::RatesExceedOne(
                "click and link_unsubscribe relative to open (they must not exceed open)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(SimConfig::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_bad_rate_and_scale() {
        let mut c = SimConfig::new(1, 0, 0.0);
        assert_eq!(c.validate(), Err(ConfigError::InvalidRate(0.0)));
        c.events_per_second = f64::NAN;
        assert!(matches!(c.validate(), Err(ConfigError::InvalidRate(_))));
        c.events_per_second = 10.0;
        c.start = -5;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::InvalidStart { .. })
        ));
        c.start = 0;
        c.time_scale = -1.0;
        assert_eq!(c.validate(), Err(ConfigError::InvalidTimeScale(-1.0)));
    }

    #[test]
    fn rejects_out_of_range_counts_and_probabilities() {
        let mut c = SimConfig::default();
        c.catalog.sending_ips = c.catalog.ip_pools - 1;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::InvalidCount {
                name: "sending_ips",
                ..
            })
        ));
        let mut c = SimConfig::default();
        c.engagement.open = 1.5;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::InvalidProbability { name: "open", .. })
        ));
        let mut c = SimConfig::default();
        c.outcomes.bounce = 0.6;
        c.outcomes.delay = 0.6;
        assert!(matches!(c.validate(), Err(ConfigError::RatesExceedOne(_))));
        let mut c = SimConfig::default();
        c.engagement.click = c.engagement.open + 0.1;
        assert!(matches!(c.validate(), Err(ConfigError::RatesExceedOne(_))));
    }

    #[test]
    fn settle_bound_scales_with_time_scale() {
        let mut c = SimConfig::default();
        let real = c.max_settle_seconds();
        c.time_scale = 0.5;
        assert!((c.max_settle_seconds() - real / 2.0).abs() < 1e-6);
        assert!(c.max_lifetime_seconds() > c.max_settle_seconds());
    }

    #[test]
    fn partial_toml_like_input_keeps_defaults() {
        let c: SimConfig =
            serde_json::from_str(r#"{"seed":7,"outcomes":{"bounce":0.02}}"#).unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.outcomes.bounce, 0.02);
        assert_eq!(c.outcomes.delay, OutcomeRates::default().delay);
        assert_eq!(c.catalog, CatalogSize::default());
    }
}
