//! What a Postfix source is told: how to classify bounces, and the bounds on its state.

use chrono::TimeDelta;

/// Classifies a failure into one of SparkPost's bounce classes
/// ([`eventhose_model::BOUNCE_CLASSES`]) from the enhanced status code (`dsn=` or the reply's),
/// the SMTP reply code and the reply text. A code that is not a bounce class is reported as
/// 1 (Undetermined) and counted ([`Stats::unknown_bounce_classes`](crate::postfix::Stats)).
pub type Classify = fn(enhanced_status: Option<&str>, reply_code: Option<u16>, text: &str) -> u16;

/// The default cap on open queue entries.
pub const DEFAULT_MAX_OPEN_ENTRIES: usize = 100_000;
/// The default idle time after which a queue entry is dropped: longer than Postfix's default
/// `maximal_backoff_time` (4000 s), so a deferred message keeps its entry between retries.
pub const DEFAULT_ENTRY_TIMEOUT: TimeDelta = TimeDelta::hours(3);
/// The default time a content-filter hop waits for its re-queued message to appear.
pub const DEFAULT_HOP_TIMEOUT: TimeDelta = TimeDelta::minutes(1);
/// The default longest line read; longer ones are counted and skipped.
pub const DEFAULT_MAX_LINE_LEN: usize = 16 * 1024;

/// The configuration of a [`PostfixSource`](crate::postfix::PostfixSource).
#[derive(Clone, Debug)]
pub struct PostfixConfig {
    /// Gives `bounce`, `delay` and `policy_rejection` events their `bounce_class`.
    pub classify: Classify,
    /// At most this many queue entries are tracked; opening one more drops the one idle
    /// longest (counted as evicted).
    pub max_open_entries: usize,
    /// A queue entry with no line for longer than this (by the log's own clock) is dropped
    /// (counted as flushed).
    pub entry_timeout: TimeDelta,
    /// How long (log time) a hop to a loopback relay answering `queued as ID` waits for `ID`
    /// to appear before it is reported as a delivery after all.
    pub hop_timeout: TimeDelta,
    /// `syslog_name`s of Postfix instances that do not start with `postfix`.
    pub extra_instances: Vec<String>,
    /// Lines longer than this many bytes are counted and skipped.
    pub max_line_len: usize,
}

impl PostfixConfig {
    /// The defaults, with `classify` for the bounce classes.
    pub fn new(classify: Classify) -> PostfixConfig {
        PostfixConfig {
            classify,
            max_open_entries: DEFAULT_MAX_OPEN_ENTRIES,
            entry_timeout: DEFAULT_ENTRY_TIMEOUT,
            hop_timeout: DEFAULT_HOP_TIMEOUT,
            extra_instances: Vec::new(),
            max_line_len: DEFAULT_MAX_LINE_LEN,
        }
    }
}
