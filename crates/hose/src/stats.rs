//! Point-in-time statistics of a hose.

/// Totals and per-subscriber lag of a hose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HoseStats {
    /// Committed end of the log (byte offset; for non-log implementations, a monotonic count).
    pub end_position: u64,
    /// One entry per registered subscriber, sorted by name.
    pub subscribers: Vec<SubscriberStats>,
    /// Number of log segments on disk.
    pub segments: usize,
    /// Bytes used on disk by the log and the delayed queues.
    pub disk_bytes: u64,
    /// The log position of the oldest byte still on disk (embedded hose), `None` where the
    /// hose cannot tell (a broker keeps its storage to itself).
    pub retained_from: Option<u64>,
}

/// Progress of one subscriber.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriberStats {
    /// Subscriber name.
    pub name: String,
    /// Bytes between its acknowledged position and the end of the log.
    pub lag_bytes: u64,
    /// End of its contiguous acknowledged prefix.
    pub acked_position: u64,
    /// Messages waiting in its delayed queue (due or not).
    pub deferred: usize,
}

impl HoseStats {
    /// The entry of the named subscriber, if registered.
    pub fn subscriber(&self, name: &str) -> Option<&SubscriberStats> {
        self.subscribers.iter().find(|s| s.name == name)
    }

    /// The largest lag of any subscriber (0 when there are none).
    pub fn max_lag_bytes(&self) -> u64 {
        self.subscribers
            .iter()
            .map(|s| s.lag_bytes)
            .max()
            .unwrap_or(0)
    }
}
