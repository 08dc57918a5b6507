//! The counters a PowerMTA source keeps, for metrics.

/// What a PowerMTA source has seen and done. Counters only grow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines fed in.
    pub lines: u64,
    /// Empty lines, skipped.
    pub blank: u64,
    /// Lines longer than the configured limit, skipped.
    pub oversized: u64,
    /// Lines that are no CSV record: a quoted field left open (a record split over lines),
    /// or a line break inside a line.
    pub malformed: u64,
    /// Header lines read (the first of a file, and any later one that replaced it).
    pub headers: u64,
    /// Records before any header, with no default header configured, refused.
    pub no_header: u64,
    /// Records refused for a column (missing, or not a timestamp or number, or an unmapped
    /// subaccount).
    pub invalid: u64,
    /// Records of types that are no event (`tq`, `rs`).
    pub not_events: u64,
    /// Records of types this source does not know.
    pub unknown_types: u64,
    /// `f` records naming no recipient.
    pub no_recipient: u64,
    /// Events emitted.
    pub events: u64,
}
