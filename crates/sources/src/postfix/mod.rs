//! The Postfix source: Postfix's log lines turned into SparkPost-shaped events.
//!
//! Postfix has no event log, only its mail log: a line per step of a message through the
//! queue, joined by queue id. [`line`](mod@line) reads one line's record, [`correlate`] joins them into
//! per-recipient events (how, and what is reported when, is documented there), [`events`]
//! builds the events and their ids, and [`PostfixSource`] puts the syslog envelope, the
//! records and the correlation together. `anchors.rs` keeps which input lines the open state
//! depends on, for readers that must restart without losing it.
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use eventhose_sources::postfix::{PostfixConfig, PostfixSource};
//! use eventhose_sources::syslog::{LocalClock, Zone};
//!
//! // A stand-in: give the source a real classifier of SMTP replies.
//! fn classify(_enhanced: Option<&str>, _code: Option<u16>, _text: &str) -> u16 {
//!     1
//! }
//!
//! let now: DateTime<Utc> = "2026-12-07T12:00:00Z".parse().unwrap();
//! let mut source = PostfixSource::new(PostfixConfig::new(classify), LocalClock::new(Zone::utc(), now));
//! let mut events = Vec::new();
//! for line in [
//!     "Dec  7 11:00:00 mx postfix/smtpd[1]: 1CF582025C: client=a[192.0.2.1]",
//!     "Dec  7 11:00:01 mx postfix/qmgr[2]: 1CF582025C: from=<s@example.com>, size=365, nrcpt=1 (queue active)",
//!     "Dec  7 11:00:02 mx postfix/smtp[3]: 1CF582025C: to=<r@example.net>, relay=mx.example.net[198.51.100.7]:25, delay=2, delays=1/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
//!     "Dec  7 11:00:02 mx postfix/qmgr[2]: 1CF582025C: removed",
//! ] {
//!     source.push_line(line, &mut events).unwrap();
//! }
//! assert_eq!(events.len(), 2);
//! assert_eq!(events[0]["type"], "injection");
//! assert_eq!(events[1]["type"], "delivery");
//! assert_eq!(events[1]["queue_time"], "2000");
//! ```

mod anchors;
pub mod config;
pub mod correlate;
pub mod events;
pub mod line;
pub mod reason;
pub mod scan;
mod source;
mod stats;

pub use config::{Classify, PostfixConfig};
pub use correlate::{Correlator, LineContext};
pub use line::{parse_message, Parsed, PostfixLine, Record};
pub use source::{LineError, PostfixSource};
pub use stats::Stats;

#[cfg(test)]
mod tests;
