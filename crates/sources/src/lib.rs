//! Event sources for real MTAs: what their logs say, turned into the SparkPost-shaped events
//! eventhose ingests. No I/O: whoever reads the log feeds lines in and ships the events out.
//!
//! - [`syslog`]: the envelope of a syslog line (RFC 3164, RFC 3339 file lines, RFC 5424,
//!   postlogd files), with the year and zone of zone-less timestamps inferred.
//! - [`postfix`]: Postfix's mail log.

pub mod postfix;
pub mod syslog;
