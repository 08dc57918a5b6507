//! The Postfix source: Postfix's log lines turned into SparkPost-shaped events.
//!
//! Postfix has no event log, only its mail log: a line per step of a message through the
//! queue, joined by queue id. [`line`] reads one line's record.

pub mod line;
pub mod scan;

pub use line::{parse_message, Parsed, PostfixLine, Record};
