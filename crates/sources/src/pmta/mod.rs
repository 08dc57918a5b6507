//! The PowerMTA source: PowerMTA's accounting records turned into SparkPost-shaped events.
//!
//! PowerMTA writes an accounting record per recipient and thing that happens to it
//! (received, delivered, deferred, bounced, and the complaints and bounces its processors
//! read from returned mail) as CSV: to accounting files (`<acct-file path>`), whose first
//! line names the columns, or to a program's standard input (`<acct-file |program>`, the
//! pipe form), which may not (whether it writes a header is **unknown**, so a default
//! header can be configured). PowerMTA's guide is not public; what is known of the format
//! comes from copies of it and public examples, and what is not is marked **unknown** in
//! each module.
//!
//! [`header`] says which column is which, [`time`] reads the timestamps,
//! [`record`](mod@record) reads one record, [`map_record`] turns it into its event (the
//! table of types and fields is in [`map`]), [`bounce_class`] says how PowerMTA's bounce
//! categories become SparkPost's classes, and `ids.rs` how events get ids that stay the
//! same when a file is read again. [`PmtaSource`] puts them together behind the same
//! `push_line` and `stats` as the Postfix source's.
//!
//! ```
//! use eventhose_sources::pmta::{PmtaConfig, PmtaSource};
//!
//! let mut source = PmtaSource::new(PmtaConfig::default());
//! let mut events = Vec::new();
//! for line in [
//!     "type,timeLogged,timeQueued,orig,rcpt,dsnStatus,dsnDiag,dsnMta,vmta,jobId",
//!     "d,2026-12-07 11:00:02+0000,2026-12-07 11:00:00+0000,s@example.com,Jane@gmail.com,\
//!      2.0.0 (success),smtp;250 2.0.0 OK,gmail-smtp-in.l.google.com (142.251.2.27),vmta1,spring",
//! ] {
//!     source.push_line(line, &mut events).unwrap();
//! }
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0]["type"], "delivery");
//! assert_eq!(events[0]["rcpt_to"], "jane@gmail.com");
//! assert_eq!(events[0]["campaign_id"], "spring");
//! assert_eq!(events[0]["ip_pool"], "vmta1");
//! assert_eq!(events[0]["queue_time"], "2000");
//! assert_eq!(events[0]["mailbox_provider"], "Gmail");
//! ```

pub mod bounce_class;
mod config;
pub mod header;
mod ids;
pub mod map;
pub mod record;
mod source;
mod stats;
pub mod time;

pub use config::{PmtaConfig, UnknownSubaccount, DEFAULT_MAX_LINE_LEN};
pub use header::Header;
pub use map::{event_type, map_record, Outcome, Skip};
pub use record::{Problem, Record, RecordError, RecordType, Row};
pub use source::{LineError, PmtaSource};
pub use stats::Stats;

#[cfg(test)]
mod tests;
