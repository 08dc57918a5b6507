//! The PowerMTA source: PowerMTA's accounting records turned into SparkPost-shaped events.
//!
//! [`header`] says which column is which, [`time`] reads the timestamps,
//! [`record`](mod@record) reads one record, [`map_record`] turns it into its event (the
//! table of types and fields is in [`map`]), [`bounce_class`] says how PowerMTA's bounce
//! categories become SparkPost's classes, and `ids.rs` how events get ids that stay the
//! same when a file is read again.

pub mod bounce_class;
mod config;
pub mod header;
mod ids;
pub mod map;
pub mod record;
pub mod time;

pub use config::{PmtaConfig, UnknownSubaccount, DEFAULT_MAX_LINE_LEN};
pub use header::Header;
pub use map::{event_type, map_record, Outcome, Skip};
pub use record::{Problem, Record, RecordError, RecordType, Row};
