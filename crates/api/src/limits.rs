//! Limits on what one API request may cost, beyond ingest's own ([`crate::IngestLimits`]).

use serde::{Deserialize, Serialize};

/// Limits on the query APIs' answers (`[api]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiLimits {
    /// A page of message events ends early, with a `next` link to go on, once its events add
    /// up to more than this many bytes (it holds at least one event).
    pub events_page_max_bytes: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            events_page_max_bytes: 32 * 1024 * 1024,
        }
    }
}
