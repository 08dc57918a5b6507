//! The PowerMTA source: PowerMTA's accounting records turned into SparkPost-shaped events.
//!
//! [`header`] says which column is which, [`time`] reads the timestamps and
//! [`record`](mod@record) reads one record.

pub mod header;
pub mod record;
pub mod time;

pub use header::Header;
pub use record::{Problem, Record, RecordError, RecordType, Row};
