//! What the PowerMTA source is told: which columns carry the campaign, the IP pool and the
//! subaccount, the header of a stream that starts without one, and its bounds.

use std::collections::BTreeMap;

/// The default longest record read, in bytes; longer ones are counted and skipped.
pub const DEFAULT_MAX_LINE_LEN: usize = 16 * 1024;

/// What becomes of a record whose subaccount column holds a value that is not in
/// [`PmtaConfig::subaccounts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownSubaccount {
    /// Its events name no subaccount: they belong to the primary account, or, sent with a
    /// subaccount's key, to that subaccount (the ingest scope stamps it).
    #[default]
    Primary,
    /// The record is refused (an error naming the column), so a value missing from the map
    /// is noticed.
    Refuse,
}

/// The configuration of a [`PmtaSource`](super::PmtaSource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmtaConfig {
    /// The header used until the stream names its columns itself: PowerMTA's column names,
    /// comma-separated, as in the first line of an accounting file. For the pipe form
    /// (`<acct-file |program>`), which may start without a header line. `None`: records
    /// before the first header line are refused ([`LineError::NoHeader`](super::LineError)).
    pub default_header: Option<String>,
    /// The column whose value is the event's `campaign_id` (default `jobId`); `None` for none.
    pub campaign_column: Option<String>,
    /// The column whose value is the event's `ip_pool` (default `vmta`); `None` for none.
    pub ip_pool_column: Option<String>,
    /// The column whose value names the subaccount in [`subaccounts`](Self::subaccounts)
    /// (for instance `vmta`, or a `header_X-…` column); `None` (the default): no subaccount.
    pub subaccount_column: Option<String>,
    /// Value of [`subaccount_column`](Self::subaccount_column) → SparkPost subaccount id.
    pub subaccounts: BTreeMap<String, u64>,
    /// What a value missing from [`subaccounts`](Self::subaccounts) becomes. An empty or
    /// absent column always goes to the primary account (or the key's subaccount).
    pub unknown_subaccount: UnknownSubaccount,
    /// Records longer than this many bytes (all of their lines together) are counted and
    /// skipped.
    pub max_line_len: usize,
}

impl Default for PmtaConfig {
    fn default() -> PmtaConfig {
        PmtaConfig {
            default_header: None,
            campaign_column: Some("jobId".to_owned()),
            ip_pool_column: Some("vmta".to_owned()),
            subaccount_column: None,
            subaccounts: BTreeMap::new(),
            unknown_subaccount: UnknownSubaccount::Primary,
            max_line_len: DEFAULT_MAX_LINE_LEN,
        }
    }
}
