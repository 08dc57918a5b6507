//! Limits on what one API request may cost, beyond ingest's own ([`crate::IngestSettings`]).

use serde::{Deserialize, Serialize};

/// Limits on the APIs' requests and answers (`[api]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiLimits {
    /// A page of message events ends early, with a `next` link to go on, once its events add
    /// up to more than this many bytes (it holds at least one event).
    pub events_page_max_bytes: usize,
    /// Largest suppression bulk body (`PUT /suppression-list`), in bytes (SparkPost: 50 MB).
    pub suppression_bulk_max_bytes: usize,
    /// Most entries in one suppression bulk body (SparkPost: 10,000).
    pub suppression_bulk_max_entries: usize,
    /// Largest body of the single-entry suppression routes (`PUT` and `DELETE
    /// /suppression-list/{recipient}`), in bytes.
    pub suppression_entry_max_bytes: usize,
    /// Most recipients in one Data Privacy request (SparkPost: 1,000).
    pub data_privacy_max_recipients: usize,
    /// Most dead letters one `GET /dead-letters/{subscriber}` lists (its `limit`); on
    /// RabbitMQ each is read from the broker, message bodies included.
    pub dead_letters_max_page: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            events_page_max_bytes: 32 * 1024 * 1024,
            suppression_bulk_max_bytes: 50 * 1024 * 1024,
            suppression_bulk_max_entries: 10_000,
            suppression_entry_max_bytes: 64 * 1024,
            data_privacy_max_recipients: 1_000,
            dead_letters_max_page: 1_000,
        }
    }
}
