//! What the Metrics API asks the store, and what it gets back.

use chrono::{DateTime, Utc};

use crate::{AnalyticsError, Counters, Dimension, Filter, Metric};

/// A half-open time range `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: DateTime<Utc>,
    /// Exclusive end.
    pub to: DateTime<Utc>,
}

fn whole_minute(at: DateTime<Utc>) -> bool {
    at.timestamp_subsec_nanos() == 0 && at.timestamp().rem_euclid(60) == 0
}

impl TimeRange {
    /// Refuses a range that is not in whole minutes (every store has minute precision).
    pub fn check(&self) -> Result<(), AnalyticsError> {
        if !whole_minute(self.from) || !whole_minute(self.to) {
            return Err(AnalyticsError::Invalid(format!(
                "the range {} – {} is not in whole minutes",
                self.from, self.to
            )));
        }
        Ok(())
    }
}

/// Checks the documented rules for the bucket starts of [`Grouping::Time`].
pub fn check_buckets(range: &TimeRange, starts: &[DateTime<Utc>]) -> Result<(), AnalyticsError> {
    let invalid = |why: &str| Err(AnalyticsError::Invalid(format!("time buckets: {why}")));
    match starts.first() {
        None if range.from < range.to => return invalid("no bucket for a non-empty range"),
        Some(first) if *first != range.from => return invalid("the first does not start at from"),
        _ => {}
    }
    if starts.iter().any(|s| !whole_minute(*s) || *s >= range.to) {
        return invalid("a start is not a whole minute inside the range");
    }
    if starts.windows(2).any(|pair| pair[0] >= pair[1]) {
        return invalid("starts are not ascending");
    }
    Ok(())
}

/// How the rows of a metrics query are grouped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// One row for the whole range.
    Total,
    /// One row per value of a dimension.
    By(Dimension),
    /// One row per time bucket: bucket `i` is `[starts[i], starts[i+1])`, the last one ends at
    /// the range's end. The caller computes the starts (time zones and DST are its business);
    /// every start must be a whole minute inside the range, ascending, the first at `from`.
    Time(Vec<DateTime<Utc>>),
}

/// A metrics query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsQuery {
    /// The time range (whole minutes).
    pub range: TimeRange,
    /// Which rows count (subaccount scoping included).
    pub filter: Filter,
    /// How rows are grouped.
    pub grouping: Grouping,
    /// The metrics wanted: a store may read only the counters they need
    /// ([`Metric::counters`]) and leave the others zero.
    pub metrics: Vec<Metric>,
}

/// The key of a result row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    /// The single row of [`Grouping::Total`].
    Total,
    /// A dimension value (subaccount ids as decimal text).
    Value(String),
    /// The start of a time bucket.
    Bucket(DateTime<Utc>),
}

/// One result row: the counters summed over the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsRow {
    /// The group.
    pub key: GroupKey,
    /// Summed counters; [`Metric::value`] turns them into metrics.
    pub counters: Counters,
}

/// Sorts group rows by `metric`, largest first (ties by key), and keeps at most `limit`.
pub fn order_and_limit(rows: &mut Vec<MetricsRow>, metric: Metric, limit: usize) {
    rows.sort_by(|a, b| {
        metric
            .value(&b.counters)
            .cmp(&metric.value(&a.counters))
            .then_with(|| a.key.cmp(&b.key))
    });
    rows.truncate(limit);
}

/// The reason-style reports: counts by a label (and optionally by domain).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BreakdownKind {
    /// Bounces by reason and class: counts are
    /// `[count_bounce, count_inband_bounce, count_outofband_bounce, count_admin_bounce]`.
    Bounce = 1,
    /// Rejections by reason; the class is 1 policy, 2 generation rejection, 3 generation failure.
    /// Counts are `[count_rejected, 0, 0, 0]`.
    Rejection = 2,
    /// Delays by reason: `[count_delayed, count_delayed_first, 0, 0]`.
    Delay = 3,
    /// Clicks by link name (`target_link_name`, else `target_link_url`):
    /// `[count_raw_clicked, count_clicked, 0, 0]`, where `count_raw_clicked` counts each message
    /// once per link and `count_clicked` every click (SparkPost's definitions).
    Link = 4,
    /// Deliveries by attempt (`"1"`, `"2"`, `"3+"`): `[count_delivered, 0, 0, 0]`.
    Attempt = 5,
}

impl BreakdownKind {
    /// The storage code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Rejection classes of [`BreakdownKind::Rejection`].
pub mod rejection_class {
    /// `policy_rejection`.
    pub const POLICY: u16 = 1;
    /// `generation_rejection`.
    pub const GENERATION_REJECTION: u16 = 2;
    /// `generation_failure`.
    pub const GENERATION_FAILURE: u16 = 3;
}

/// How breakdown rows are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakdownGrouping {
    /// By label and class.
    Label,
    /// By label, class and recipient domain.
    LabelAndDomain,
    /// By class alone (the label is empty).
    Class,
}

/// A breakdown query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakdownQuery {
    /// The time range (whole minutes).
    pub range: TimeRange,
    /// Which rows count.
    pub filter: Filter,
    /// Which report.
    pub kind: BreakdownKind,
    /// How rows are grouped.
    pub grouping: BreakdownGrouping,
}

/// One breakdown row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakdownRow {
    /// The reason, link name or attempt label.
    pub label: String,
    /// Bounce class, rejection class or 0.
    pub class: u16,
    /// The recipient domain, when grouped by it.
    pub domain: Option<String>,
    /// The counts, as documented on [`BreakdownKind`].
    pub counts: [u64; 4],
}

/// A discoverability query: the values a dimension took in a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuesQuery {
    /// Whose values.
    pub dimension: Dimension,
    /// The time range.
    pub range: TimeRange,
    /// Only values containing this text (case-insensitive).
    pub contains: Option<String>,
    /// At most this many values.
    pub limit: usize,
    /// Which rows count (subaccount scoping).
    pub filter: Filter,
}
