//! The time plan of a metrics read, the same for every engine: stores keep minute, hour and day
//! aggregates, and a query reads each part of its range from the coarsest of them that covers
//! it exactly.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::{AnalyticsError, Counter, Counters, GroupKey, Grouping, MetricsQuery, MetricsRow};

/// An aggregate granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    /// Minute buckets.
    Minute,
    /// Hour buckets.
    Hour,
    /// Day buckets (UTC).
    Day,
}

impl Granularity {
    /// Every granularity, finest first.
    pub const ALL: [Granularity; 3] = [Granularity::Minute, Granularity::Hour, Granularity::Day];

    /// The bucket length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Granularity::Minute => 60,
            Granularity::Hour => 3_600,
            Granularity::Day => 86_400,
        }
    }

    /// The start of the bucket holding unix time `t`.
    pub fn floor(self, t: i64) -> i64 {
        t.div_euclid(self.seconds()) * self.seconds()
    }

    /// The first bucket start at or after unix time `t`.
    pub fn ceil(self, t: i64) -> i64 {
        let f = self.floor(t);
        if f == t {
            t
        } else {
            f + self.seconds()
        }
    }
}

/// A half-open range `[lo, hi)` of unix seconds read at one granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The granularity its rows are read at.
    pub g: Granularity,
    /// Inclusive start.
    pub lo: i64,
    /// Exclusive end.
    pub hi: i64,
}

/// Splits `[from, to)` into minute, hour and day segments: whole days from the day aggregates,
/// whole hours around them from the hour aggregates, the minutes at the edges from the minute
/// aggregates.
pub fn split(from: i64, to: i64) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut push = |g, lo: i64, hi: i64| {
        if lo < hi {
            out.push(Segment { g, lo, hi });
        }
    };
    let (d0, d1) = (Granularity::Day.ceil(from), Granularity::Day.floor(to));
    let (h0, h1) = (Granularity::Hour.ceil(from), Granularity::Hour.floor(to));
    if d0 < d1 {
        push(Granularity::Minute, from, h0);
        push(Granularity::Hour, h0, d0);
        push(Granularity::Day, d0, d1);
        push(Granularity::Hour, d1, h1);
        push(Granularity::Minute, h1, to);
    } else if h0 < h1 {
        push(Granularity::Minute, from, h0);
        push(Granularity::Hour, h0, h1);
        push(Granularity::Minute, h1, to);
    } else {
        push(Granularity::Minute, from, to);
    }
    out
}

/// The coarsest granularity every boundary is a multiple of: what a time series with those
/// bucket boundaries (and range ends) can be read at.
pub fn aligned(boundaries: impl Iterator<Item = i64> + Clone) -> Granularity {
    [Granularity::Day, Granularity::Hour]
        .into_iter()
        .find(|g| boundaries.clone().all(|b| b % g.seconds() == 0))
        .unwrap_or(Granularity::Minute)
}

/// The segments a metrics query reads, once its range and buckets are checked (whole minutes;
/// [`check_buckets`](crate::check_buckets)): for a time series, its whole range at the
/// coarsest granularity all its bucket boundaries allow (the rows are folded into its buckets
/// after); otherwise the coarsest exact split of its range ([`split`]). None for an empty range.
pub fn segments(query: &MetricsQuery) -> Result<Vec<Segment>, AnalyticsError> {
    query.range.check()?;
    let (from, to) = (query.range.from.timestamp(), query.range.to.timestamp());
    Ok(match &query.grouping {
        Grouping::Time(starts) => {
            crate::check_buckets(&query.range, starts)?;
            if from >= to {
                return Ok(Vec::new());
            }
            vec![Segment {
                g: aligned(starts.iter().map(|s| s.timestamp()).chain([from, to])),
                lo: from,
                hi: to,
            }]
        }
        _ => split(from, to),
    })
}

/// The counters the query's metrics need (every counter when it names none), in counter order.
pub fn needed_counters(query: &MetricsQuery) -> Vec<Counter> {
    let mut counters: Vec<Counter> = if query.metrics.is_empty() {
        Counter::ALL.to_vec()
    } else {
        query
            .metrics
            .iter()
            .flat_map(|m| m.counters().iter().copied())
            .collect()
    };
    counters.sort_by_key(|c| c.index());
    counters.dedup();
    counters
}

/// Folds counters keyed by stored bucket start (unix seconds) into the caller's time buckets
/// (`starts`, ascending), sorted by bucket; rows before the first start are outside the range.
pub fn into_buckets(
    starts: &[DateTime<Utc>],
    rows: impl IntoIterator<Item = (i64, Counters)>,
) -> Vec<MetricsRow> {
    let mut merged: HashMap<usize, Counters> = HashMap::new();
    for (t, counters) in rows {
        let i = starts.partition_point(|s| s.timestamp() <= t);
        if i == 0 {
            continue;
        }
        merged.entry(i - 1).or_default().merge(&counters);
    }
    let mut out: Vec<MetricsRow> = merged
        .into_iter()
        .map(|(i, counters)| MetricsRow {
            key: GroupKey::Bucket(starts[i]),
            counters,
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// The result rows of a query from counters a store summed per key: under
/// [`Grouping::By`] the key is the dimension's value, under [`Grouping::Time`] the stored
/// bucket's start (unix seconds, folded into the caller's buckets), under [`Grouping::Total`]
/// anything.
pub fn group_rows(grouping: &Grouping, rows: Vec<(String, Counters)>) -> Vec<MetricsRow> {
    match grouping {
        Grouping::Total => rows
            .into_iter()
            .map(|(_, counters)| MetricsRow {
                key: GroupKey::Total,
                counters,
            })
            .collect(),
        Grouping::By(_) => rows
            .into_iter()
            .map(|(key, counters)| MetricsRow {
                key: GroupKey::Value(key),
                counters,
            })
            .collect(),
        Grouping::Time(starts) => into_buckets(
            starts,
            rows.into_iter()
                .filter_map(|(bucket, counters)| Some((bucket.parse().ok()?, counters))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_the_coarsest_exact_segments() {
        let day = 86_400;
        let hour = 3_600;
        let from = 2 * day - 2 * hour - 300; // 21:55 on day 1
        let to = 5 * day + hour + 120; // 01:02 on day 5
        let segments = split(from, to);
        let covered: i64 = segments.iter().map(|s| s.hi - s.lo).sum();
        assert_eq!(covered, to - from);
        let seg = |g, lo, hi| Segment { g, lo, hi };
        assert_eq!(
            segments,
            vec![
                seg(Granularity::Minute, from, 2 * day - 2 * hour),
                seg(Granularity::Hour, 2 * day - 2 * hour, 2 * day),
                seg(Granularity::Day, 2 * day, 5 * day),
                seg(Granularity::Hour, 5 * day, 5 * day + hour),
                seg(Granularity::Minute, 5 * day + hour, to),
            ]
        );
        assert_eq!(split(60, 120), vec![seg(Granularity::Minute, 60, 120)]);
    }

    #[test]
    fn time_buckets_use_the_coarsest_aligned_granularity() {
        assert_eq!(aligned([0, 86_400, 172_800].into_iter()), Granularity::Day);
        assert_eq!(aligned([0, 3_600, 86_400].into_iter()), Granularity::Hour);
        assert_eq!(aligned([0, 1_800, 3_600].into_iter()), Granularity::Minute);
    }

    #[test]
    fn rounding() {
        assert_eq!(Granularity::Hour.floor(3_599), 0);
        assert_eq!(Granularity::Hour.ceil(1), 3_600);
        assert_eq!(Granularity::Hour.ceil(3_600), 3_600);
        assert_eq!(Granularity::Day.floor(-1), -86_400);
    }

    #[test]
    fn stored_buckets_fold_into_the_callers_buckets() {
        let at = |t| DateTime::from_timestamp(t, 0).unwrap();
        let starts = [at(3_600), at(7_200)];
        let mut one = Counters::default();
        one.bump(Counter::ALL[0]);
        let rows = into_buckets(
            &starts,
            [(0, one), (3_600, one), (5_400, one), (9_000, one)],
        );
        let keys: Vec<_> = rows
            .iter()
            .map(|r| (r.key.clone(), r.counters.get(Counter::ALL[0])))
            .collect();
        assert_eq!(
            keys,
            [
                (GroupKey::Bucket(at(3_600)), 2),
                (GroupKey::Bucket(at(7_200)), 1)
            ]
        );
    }
}
