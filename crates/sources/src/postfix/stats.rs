//! The counters a Postfix source keeps, for metrics.

/// What a Postfix source has seen and done. Counters only grow; `open_entries` and
/// `pending_hops` are the current sizes of its state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines fed in.
    pub lines: u64,
    /// Lines longer than the configured limit, skipped.
    pub oversized: u64,
    /// Lines whose syslog envelope could not be read (see [`crate::syslog::SyslogError`]).
    pub unparsed: u64,
    /// Lines of programs other than Postfix.
    pub not_postfix: u64,
    /// Postfix lines of no interest (connections, warnings, …).
    pub ignored: u64,
    /// Postfix lines that began like a record of interest but could not be read.
    pub malformed: u64,
    /// Delivery lines with a status that is no event (address verification probes, …).
    pub ignored_statuses: u64,
    /// Lines about notifications Postfix made itself, which give no events.
    pub generated: u64,
    /// Rejects that name no recipient (before `RCPT TO`), which give no event.
    pub rejects_without_recipient: u64,
    /// Events emitted.
    pub events: u64,
    /// Queue entries dropped after the entry timeout.
    pub flushed: u64,
    /// Queue entries dropped because the cap was reached.
    pub evicted: u64,
    /// Queue ids that started a new message before their `removed` line was seen.
    pub reused: u64,
    /// Content-filter hops linked to the message they continue.
    pub hops_linked: u64,
    /// Hops to loopback whose new queue id never appeared (or that found the list of waiting
    /// hops full), reported as deliveries.
    pub hops_unresolved: u64,
    /// Classifier answers that were not a bounce class (reported as 1, Undetermined).
    pub unknown_bounce_classes: u64,
    /// Queue entries open now.
    pub open_entries: usize,
    /// Hops waiting for their new queue id now.
    pub pending_hops: usize,
}
