//! Synthetic MTA event stream in SparkPost's event format.
//!
//! [`Simulator`] turns a [`SimConfig`] (seed, start time, event rate and knobs describing the
//! sender) into an endless, deterministic stream of events — injections, deliveries, delays,
//! bounces, policy rejections, generation failures, opens, clicks, AMP events, unsubscribes,
//! spam complaints and out-of-band bounces — with the fields SparkPost documents for each
//! type. Message lives unfold over simulated time, so every message's events share its
//! `message_id`, start with its injection and keep `num_retries`/`queue_time` consistent.
//!
//! The [`sender`] module posts such a stream as NDJSON batches to an ingest endpoint;
//! [`postfix_log`] writes a Postfix mail log instead, for the Postfix source.
//!
//! Generation speed: [`Simulator::write_ndjson`] writes JSON bytes directly, splicing
//! per-transmission and per-message fields rendered once. Measured with
//! `examples/throughput.rs` (optimised build, one core of a 2-core VM): about 0.7 million
//! events/s with real-time message lives (hundreds of thousands of messages in flight, so
//! it is bound by memory latency) and 0.9–1.1 million events/s with compressed lives
//! (`time_scale` ≤ 0.01). The `serde_json::Value` iterator path manages about 130 thousand
//! events/s. Lines average 970–1,030 bytes.
//!
//! Memory: each message in flight costs roughly 700 bytes; [`SimConfig::max_in_flight`]
//! bounds their number.

#![warn(missing_docs)]

mod catalog;
mod config;
mod event;
mod fields;
mod ids;
mod lifecycle;
mod message;
pub mod postfix_log;
mod render;
mod schedule;
pub mod sender;
mod simulator;
mod summary;

pub use config::{
    CatalogSize, ConfigError, EngagementRates, OutcomeRates, SimConfig, MAX_DELAYS, MAX_START,
};
pub use event::{LineFormat, SimEvent};
/// The event types the simulator produces (the model's type, re-exported).
pub use eventhose_model::EventType;
pub use simulator::Simulator;
pub use summary::Summary;
