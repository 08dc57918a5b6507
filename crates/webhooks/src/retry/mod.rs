//! When to try a failed batch again.

mod retry_after;
mod schedule;

pub use retry_after::parse_retry_after;
pub use schedule::{RetrySchedule, ScheduleError, JITTER, RETRY_AFTER_CAP};
