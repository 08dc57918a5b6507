//! Event sources for real MTAs: what their logs say, turned into the SparkPost-shaped events
//! eventhose ingests. No I/O: whoever reads the log feeds lines in and ships the events out.
//!
//! - [`syslog`]: the envelope of a syslog line (RFC 3164, RFC 3339 file lines, RFC 5424,
//!   postlogd files), with the year and zone of zone-less timestamps inferred.
//! - [`postfix`]: Postfix's mail log, correlated by queue id into per-recipient `injection`,
//!   `delivery`, `delay`, `bounce` and `policy_rejection` events.
//! - [`kumomta`]: KumoMTA's JSON log records (as its log hooks post them), one record at a
//!   time, into the SparkPost event of each record type.
//! - [`pmta`]: PowerMTA's accounting records (CSV files, or the pipe form on standard input),
//!   read through their header, one record at a time, into the SparkPost event of each
//!   record type.
//!
//! Each event is a bare ingest object (`serde_json::Map`) that eventhose-model accepts as it
//! is: one line of NDJSON for `POST /api/v1/ingest/events`.

mod fields;
pub mod kumomta;
pub mod pmta;
pub mod postfix;
pub mod syslog;
#[cfg(test)]
mod test_checks;
