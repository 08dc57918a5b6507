//! The checks every metrics store passes: the same commits as [`MemoryStore`], the same
//! answers. A store's tests fill both with [`fill`] and run each check; a failed check panics
//! naming the query.

use chrono::{DateTime, TimeZone, Utc};
use eventhose_model::{AppliedId, Event};

use crate::{
    Aggregator, BreakdownGrouping, BreakdownKind, BreakdownQuery, BreakdownRow, Combinator,
    Condition, Dimension, Filter, FilterGroup, FilterOp, GroupKey, Grouping, MemoryStore, Metric,
    MetricsQuery, MetricsReader, MetricsRow, MetricsWriter, RetentionReport, Tally, TimeRange,
    ValuesQuery,
};

/// A store under test: both traits.
pub trait MetricsStore: MetricsReader + MetricsWriter {}

impl<T: MetricsReader + MetricsWriter + ?Sized> MetricsStore for T {}

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().expect("valid time")
}

/// What [`fill`] stored: the first and last event times.
#[derive(Clone, Copy, Debug)]
pub struct Filled {
    /// The earliest event's `timestamp`.
    pub first: i64,
    /// The latest event's `timestamp`.
    pub last: i64,
}

/// Folds `events` (stored forms) and commits them to `store` and `memory` alike, 700 events a
/// commit with positions 1, 2, …, as the subscriber does.
pub fn fill(store: &dyn MetricsStore, memory: &MemoryStore, events: &[Vec<u8>]) -> Filled {
    let mut aggregator = Aggregator::default();
    let mut position = 0;
    for chunk in events.chunks(700) {
        for event in chunk {
            aggregator.fold(event).expect("fold");
        }
        position += 1;
        let (tally, changes) = aggregator.take();
        store
            .commit(&tally, &changes, Some(position))
            .expect("store commit");
        memory
            .commit(&tally, &changes, Some(position))
            .expect("memory commit");
    }
    let (first, last) = events.iter().fold((i64::MAX, i64::MIN), |(lo, hi), e| {
        let ts = Event::from_stored(e).expect("stored").timestamp();
        (lo.min(ts), hi.max(ts))
    });
    Filled { first, last }
}

fn sorted(mut rows: Vec<MetricsRow>) -> Vec<MetricsRow> {
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    rows
}

/// Asserts that `store` answers `query` as `memory` does, metric by metric.
pub fn same_metrics(store: &dyn MetricsReader, memory: &MemoryStore, query: &MetricsQuery) {
    let expected = sorted(memory.metrics(query).expect("memory"));
    let got = sorted(store.metrics(query).expect("store"));
    assert_eq!(got.len(), expected.len(), "row count for {query:?}");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.key, e.key, "{query:?}");
        for metric in &query.metrics {
            assert_eq!(
                metric.value(&g.counters),
                metric.value(&e.counters),
                "{metric} of {:?} for {query:?}",
                g.key
            );
        }
    }
}

/// Filters of every shape: none, `eq` lists, OR groups with `like`, `notEq` and `notLike` on
/// the subaccount, and values a literal must escape.
pub fn filters() -> Vec<Filter> {
    let mut simple = Filter::default();
    simple.require(
        Dimension::Domain,
        FilterOp::Eq,
        vec!["gmail.com".into(), "yahoo.com".into()],
    );
    let mut grouped = Filter::default();
    grouped.groups.push(FilterGroup {
        combinator: Combinator::Or,
        conditions: vec![
            Condition {
                dimension: Dimension::Campaign,
                op: FilterOp::Like,
                values: vec!["a".into()],
            },
            Condition {
                dimension: Dimension::Subaccount,
                op: FilterOp::Eq,
                values: vec!["0".into()],
            },
        ],
    });
    grouped.require(Dimension::Domain, FilterOp::NotLike, vec!["hotmail".into()]);
    let mut not_eq = Filter::default();
    not_eq.require(Dimension::Subaccount, FilterOp::NotEq, vec!["0".into()]);
    let mut like = Filter::default();
    like.require(Dimension::Template, FilterOp::Like, vec!["e".into()]);
    like.require(Dimension::Subaccount, FilterOp::NotLike, vec!["9".into()]);
    let mut hostile = Filter::default();
    hostile.require(
        Dimension::Campaign,
        FilterOp::NotEq,
        vec!["x' OR '1'='1".into(), "back\\slash".into(), "%_".into()],
    );
    hostile.require(Dimension::Domain, FilterOp::NotLike, vec!["'\\%".into()]);
    vec![Filter::default(), simple, grouped, not_eq, like, hostile]
}

/// Every metric, total and grouped by each dimension, over ranges that read every segment
/// kind, under every filter of [`filters`].
pub fn answers_match(store: &dyn MetricsReader, memory: &MemoryStore, filled: Filled) {
    let Filled { first, last } = filled;
    assert!(last - first > 86_400, "the stream spans more than a day");
    let metrics = Metric::ALL.to_vec();
    // Whole minutes at odd offsets, so every segment kind is read.
    let ranges = [
        (first - first % 60, last - last % 60 + 60),
        (
            first - first % 60 + 17 * 60,
            last - last % 60 - 3 * 3_600 + 60 * 7,
        ),
        (
            first - first % 3_600 + 3_600,
            first - first % 3_600 + 5 * 3_600,
        ),
    ];
    for (from, to) in ranges {
        let range = TimeRange {
            from: t(from),
            to: t(to),
        };
        for filter in filters() {
            let groupings = std::iter::once(Grouping::Total)
                .chain(Dimension::ALL.iter().map(|d| Grouping::By(*d)));
            for grouping in groupings {
                same_metrics(
                    store,
                    memory,
                    &MetricsQuery {
                        range,
                        filter: filter.clone(),
                        grouping,
                        metrics: metrics.clone(),
                    },
                );
            }
        }
    }
}

/// Time series with buckets of 15 minutes, 1 and 3 hours and a day.
pub fn time_series_match(store: &dyn MetricsReader, memory: &MemoryStore, filled: Filled) {
    let Filled { first, last } = filled;
    let hour0 = first - first % 3_600;
    let end = last - last % 3_600 + 3_600;
    for step in [60 * 15, 3_600, 3 * 3_600, 86_400] {
        let from = if step == 86_400 {
            first - first % 86_400
        } else {
            hour0
        };
        let starts: Vec<_> = (0..)
            .map(|i| from + i * step)
            .take_while(|s| *s < end)
            .map(t)
            .collect();
        let query = MetricsQuery {
            range: TimeRange {
                from: t(from),
                to: t(end),
            },
            filter: Filter::default(),
            grouping: Grouping::Time(starts),
            metrics: vec![Metric::Targeted, Metric::Delivered, Metric::UniqueRendered],
        };
        same_metrics(store, memory, &query);
        let rows = store.metrics(&query).expect("series");
        assert!(rows.len() > 1, "several buckets have events at step {step}");
        assert!(rows.iter().all(|r| matches!(r.key, GroupKey::Bucket(_))));
    }
}

/// Every breakdown kind and grouping under every filter, and the values of every dimension.
pub fn breakdowns_and_values_match(
    store: &dyn MetricsReader,
    memory: &MemoryStore,
    filled: Filled,
) {
    let Filled { first, last } = filled;
    let range = TimeRange {
        from: t(first - first % 60),
        to: t(last - last % 60 + 60),
    };
    let kinds = [
        BreakdownKind::Bounce,
        BreakdownKind::Rejection,
        BreakdownKind::Delay,
        BreakdownKind::Link,
        BreakdownKind::Attempt,
    ];
    let groupings = [
        BreakdownGrouping::Label,
        BreakdownGrouping::LabelAndDomain,
        BreakdownGrouping::Class,
    ];
    let key = |r: &BreakdownRow| (r.label.clone(), r.class, r.domain.clone());
    let mut nonempty = 0;
    for kind in kinds {
        for grouping in groupings {
            for filter in filters() {
                let query = BreakdownQuery {
                    range,
                    filter,
                    kind,
                    grouping,
                };
                let mut expected = memory.breakdown(&query).expect("memory");
                let mut got = store.breakdown(&query).expect("store");
                expected.sort_by_key(key);
                got.sort_by_key(key);
                assert_eq!(got, expected, "{query:?}");
                nonempty += usize::from(!got.is_empty());
            }
        }
    }
    assert!(nonempty > 30, "the event set exercises the breakdowns");
    for dimension in Dimension::ALL {
        for contains in [None, Some("o".to_owned()), Some("'".to_owned())] {
            let query = ValuesQuery {
                dimension,
                range,
                contains,
                limit: 5,
                filter: Filter::default(),
            };
            assert_eq!(
                store.values(&query).expect("store"),
                memory.values(&query).expect("memory"),
                "{query:?}"
            );
        }
    }
}

/// Retention keeps the applied identities from `applied_from` on, to the minute: three
/// identities a few minutes apart from `minute`, the floor between the first two.
pub fn applied_floor_is_kept_to_the_minute(store: &dyn MetricsStore, minute: i64) {
    let tally = Tally {
        events: 3,
        applied: [(minute, 1), (minute + 10, 2), (minute + 20, 3)]
            .map(|(minute, identity)| AppliedId { minute, identity })
            .to_vec(),
        ..Tally::default()
    };
    let memory = MemoryStore::new();
    for store in [store, &memory as &dyn MetricsStore] {
        store.commit(&tally, &[], None).expect("commit");
        store
            .enforce_retention(t(0), t(0), t((minute + 5) * 60))
            .expect("retention");
        let mut kept: Vec<u64> = store
            .checkpoint()
            .expect("checkpoint")
            .applied
            .iter()
            .map(|id| id.identity)
            .collect();
        kept.sort_unstable();
        assert_eq!(kept, [2, 3]);
    }
}

/// Total `metric` over `[from, to)`.
fn total(store: &dyn MetricsReader, from: i64, to: i64, metric: Metric) -> u64 {
    store
        .metrics(&MetricsQuery {
            range: TimeRange {
                from: t(from),
                to: t(to),
            },
            filter: Filter::default(),
            grouping: Grouping::Total,
            metrics: vec![metric],
        })
        .expect("query")
        .first()
        .map_or(0, |r| metric.value(&r.counters))
}

/// Retention drops whole months of aggregates: one injection each on 2026-08-29, 2026-09-30
/// and 2026-11-01, everything kept from 2026-10-15 on, so August and September go whole and
/// October stays although it starts earlier. Returns the report: its partition names are the
/// store's own, for its test to check.
pub fn retention_drops_whole_months(store: &dyn MetricsStore) -> RetentionReport {
    let mut aggregator = Aggregator::default();
    for (i, ts) in [1_788_000_000i64, 1_790_700_000, 1_793_400_000]
        .iter()
        .enumerate()
    {
        let line = format!(
            r#"{{"type":"injection","timestamp":"{ts}","event_id":"{i}","message_id":"m{i}"}}"#
        );
        aggregator.fold(line.as_bytes()).expect("fold");
    }
    let (tally, changes) = aggregator.take();
    store.commit(&tally, &changes, None).expect("commit");
    let (from, to) = (1_779_999_960, 1_800_000_000);
    assert_eq!(total(store, from, to, Metric::Injected), 3);
    let keep_from = t(1_792_022_400);
    let report = store
        .enforce_retention(keep_from, keep_from, keep_from)
        .expect("retention");
    assert!(
        report
            .dropped
            .iter()
            .all(|n| !n.contains("202610") && !n.contains("202611")),
        "{report:?}"
    );
    assert_eq!(total(store, from, to, Metric::Injected), 1);
    report
}

/// A query the store refuses (a subaccount filter that is no id) changes nothing: `events`
/// are committed at position 1, and the answers and checkpoint are the same after it.
pub fn a_refused_query_changes_nothing(store: &dyn MetricsStore, events: &[Vec<u8>]) {
    let mut aggregator = Aggregator::default();
    for event in events {
        aggregator.fold(event).expect("fold");
    }
    let (tally, changes) = aggregator.take();
    store.commit(&tally, &changes, Some(1)).expect("commit");
    let all = MetricsQuery {
        range: TimeRange {
            from: t(0),
            to: t(3_999_999_960),
        },
        filter: Filter::default(),
        grouping: Grouping::Total,
        metrics: vec![Metric::Targeted],
    };
    let before = store.metrics(&all).expect("query");
    assert!(!before.is_empty());
    let mut bad = all.clone();
    bad.filter
        .require(Dimension::Subaccount, FilterOp::Eq, vec!["1 OR 1=1".into()]);
    assert!(matches!(
        store.metrics(&bad),
        Err(crate::AnalyticsError::Invalid(_))
    ));
    assert_eq!(store.metrics(&all).expect("query"), before);
    assert_eq!(store.checkpoint().expect("checkpoint").position, Some(1));
}

/// [`MetricsWriter::checkpoint_newest`] keeps the newest identities: a thousand applied over
/// ten minutes from `minute`, the newest 250 asked for.
pub fn the_newest_identities_are_restored(store: &dyn MetricsStore, minute: i64) {
    let tally = Tally {
        events: 1_000,
        applied: (0..1_000u64)
            .map(|identity| AppliedId {
                minute: minute + i64::try_from(identity / 100).expect("small"),
                identity,
            })
            .collect(),
        ..Tally::default()
    };
    store.commit(&tally, &[], Some(1)).expect("commit");
    let checkpoint = store.checkpoint_newest(250).expect("checkpoint");
    let mut kept: Vec<u64> = checkpoint.applied.iter().map(|id| id.identity).collect();
    kept.sort_unstable();
    // The last 250 by minute: minutes 8 and 9 whole (200), and 50 of minute 7.
    assert_eq!(kept.len(), 250);
    assert!(kept.iter().all(|&id| id >= 700), "{kept:?}");
    assert!(kept.iter().filter(|&&id| id >= 800).count() == 200);
    assert!(
        checkpoint
            .applied
            .windows(2)
            .all(|w| w[0].minute <= w[1].minute),
        "oldest first"
    );
    assert_eq!(checkpoint.position, Some(1));
    assert_eq!(store.checkpoint().expect("checkpoint").applied.len(), 1_000);
}
