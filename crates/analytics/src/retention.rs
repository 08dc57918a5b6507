//! What a retention pass reports, for the metrics and the message-event stores alike.

/// What a retention pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// The partitions dropped, by name.
    pub dropped: Vec<String>,
}
