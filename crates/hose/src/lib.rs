//! The event hose: a durable publish/subscribe log of opaque messages.
//!
//! Ingest publishes batches of serialized events; every registered subscriber (metrics, message events,
//! webhooks, suppressions, ...) reads every message at least once through its own durable cursor and can
//! schedule individual messages for delayed redelivery (the webhook retry queue).
//!
//! The [`Hose`] and [`Subscription`] traits are the contract; [`embedded::EmbeddedHose`] implements it
//! with an append-only, checksummed, segmented log in a local directory. The `conformance` module
//! (feature `conformance`) holds implementation-agnostic checks that any implementation must pass, and
//! [`mod@bench`] measures the embedded log's append throughput against the disk's own limit.

#![warn(missing_docs)]

pub mod bench;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod dead_letter;
mod delivery;
pub mod embedded;
mod error;
mod hose;
mod name;
mod publish_gate;
mod stats;
mod sync_util;

pub use dead_letter::{
    dead_letter_id, is_dead_letter_id, DeadLetter, DeadLetterPage, Rejected, Settle,
};
pub use delivery::{Delivery, DeliveryTag, Message, PublishReceipt};
pub use error::HoseError;
pub use hose::{Deferral, Hose, Rewrite, RewriteReport, Rewriter, Subscription};
pub use name::{validate_subscriber_name, MAX_SUBSCRIBER_NAME_LEN};
pub use publish_gate::{Admission, PublishGate, PublishPass};
pub use stats::{HoseStats, SubscriberStats};
