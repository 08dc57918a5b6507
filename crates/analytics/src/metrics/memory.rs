//! An in-memory store: the reference implementation of [`MetricsReader`] and [`MetricsWriter`].
//!
//! Everything sits behind one mutex and every query scans every row. It is meant to be
//! obviously right, not fast: other stores are differential-tested against it, and API tests
//! run over it.
//!
//! Every counter is summed, whatever metrics the query names. A group is present when at least
//! one stored row falls into it.
//!
//! Retention partitions are UTC days: a day's aggregate rows (and breakdowns) are dropped once
//! the whole day is before `keep_from`; a ledger change is dropped once its day is wholly before
//! `ledger_from`. Partition names are `aggregates/YYYY-MM-DD` and `ledger/YYYY-MM-DD`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use eventhose_model::AppliedId;

use super::fold::{BreakdownKey, Dimensions, LedgerChange, RowKey, Tally};
use crate::{
    AnalyticsError, BreakdownGrouping, BreakdownQuery, BreakdownRow, Counters, Dimension,
    EngagementLedger, Filter, GroupKey, Grouping, MetricsCheckpoint, MetricsQuery, MetricsReader,
    MetricsRow, MetricsWriter, RetentionReport, TimeRange, ValuesQuery,
};

const DAY_SECONDS: i64 = 86_400;

/// Metrics kept in memory (see the module docs).
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Committed>,
}

/// What the commits so far added up to.
#[derive(Debug, Default)]
struct Committed {
    rows: HashMap<RowKey, Counters>,
    breakdowns: HashMap<BreakdownKey, [u64; 4]>,
    ledger: Vec<LedgerChange>,
    applied: Vec<AppliedId>,
    position: Option<u64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Committed>, AnalyticsError> {
        self.inner
            .lock()
            .map_err(|_| AnalyticsError::Internal("memory store lock poisoned".into()))
    }
}

/// The values of every dimension of a row, indexed by [`Dimension::index`].
fn dimension_values(dims: &Dimensions) -> Vec<Cow<'_, str>> {
    Dimension::ALL.iter().map(|&d| dims.value(d)).collect()
}

fn passes(filter: &Filter, dims: &Dimensions) -> bool {
    let values = dimension_values(dims);
    filter.matches(|d| values[d.index()].as_ref())
}

fn in_range(range: &TimeRange, minute: i64) -> bool {
    range.from.timestamp() <= minute && minute < range.to.timestamp()
}

/// The group of a row's minute and dimensions under `grouping`, if it has one.
fn group_key(grouping: &Grouping, minute: i64, dims: &Dimensions) -> Option<GroupKey> {
    match grouping {
        Grouping::Total => Some(GroupKey::Total),
        Grouping::By(dimension) => Some(GroupKey::Value(dims.value(*dimension).into_owned())),
        Grouping::Time(starts) => {
            let after = starts.partition_point(|start| start.timestamp() <= minute);
            after.checked_sub(1).map(|i| GroupKey::Bucket(starts[i]))
        }
    }
}

fn day_name(day: i64) -> String {
    DateTime::<Utc>::from_timestamp(day * DAY_SECONDS, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| format!("day-{day}"))
}

impl MetricsReader for MemoryStore {
    fn metrics(&self, query: &MetricsQuery) -> Result<Vec<MetricsRow>, AnalyticsError> {
        query.range.check()?;
        if let Grouping::Time(starts) = &query.grouping {
            crate::check_buckets(&query.range, starts)?;
        }
        let committed = self.lock()?;
        let mut groups: BTreeMap<GroupKey, Counters> = BTreeMap::new();
        for (key, counters) in &committed.rows {
            if !in_range(&query.range, key.minute) || !passes(&query.filter, &key.dims) {
                continue;
            }
            if let Some(group) = group_key(&query.grouping, key.minute, &key.dims) {
                groups.entry(group).or_default().merge(counters);
            }
        }
        Ok(groups
            .into_iter()
            .map(|(key, counters)| MetricsRow { key, counters })
            .collect())
    }

    fn breakdown(&self, query: &BreakdownQuery) -> Result<Vec<BreakdownRow>, AnalyticsError> {
        query.range.check()?;
        let committed = self.lock()?;
        let mut groups: BTreeMap<(String, u16, Option<String>), [u64; 4]> = BTreeMap::new();
        for (key, counts) in &committed.breakdowns {
            if key.kind != query.kind
                || !in_range(&query.range, key.row.minute)
                || !passes(&query.filter, &key.row.dims)
            {
                continue;
            }
            let domain = || key.row.dims.value(Dimension::Domain).into_owned();
            let group = match query.grouping {
                BreakdownGrouping::Label => (key.label.to_string(), key.class, None),
                BreakdownGrouping::LabelAndDomain => {
                    (key.label.to_string(), key.class, Some(domain()))
                }
                BreakdownGrouping::Class => (String::new(), key.class, None),
            };
            let total = groups.entry(group).or_default();
            for (sum, n) in total.iter_mut().zip(counts) {
                *sum = sum.saturating_add(*n);
            }
        }
        Ok(groups
            .into_iter()
            .filter(|(_, counts)| counts.iter().any(|&n| n > 0))
            .map(|((label, class, domain), counts)| BreakdownRow {
                label,
                class,
                domain,
                counts,
            })
            .collect())
    }

    fn values(&self, query: &ValuesQuery) -> Result<Vec<String>, AnalyticsError> {
        query.range.check()?;
        let contains = query.contains.as_deref().map(str::to_lowercase);
        let committed = self.lock()?;
        let mut values = BTreeSet::new();
        for key in committed.rows.keys() {
            if !in_range(&query.range, key.minute) || !passes(&query.filter, &key.dims) {
                continue;
            }
            let value = key.dims.value(query.dimension);
            let wanted = match &contains {
                Some(text) => value.to_lowercase().contains(text.as_str()),
                None => true,
            };
            if !value.is_empty() && wanted {
                values.insert(value.into_owned());
            }
        }
        Ok(values.into_iter().take(query.limit).collect())
    }
}

impl MetricsWriter for MemoryStore {
    fn checkpoint(&self) -> Result<MetricsCheckpoint, AnalyticsError> {
        let committed = self.lock()?;
        Ok(MetricsCheckpoint {
            position: committed.position,
            ledger: EngagementLedger::restore(committed.ledger.iter().copied()),
            applied: committed.applied.clone(),
        })
    }

    /// Adds everything under the lock, so a commit is all or nothing. The recorded position is
    /// the highest one committed so far (a commit without a position keeps the last one).
    fn commit(
        &self,
        tally: &Tally,
        ledger: &[LedgerChange],
        position: Option<u64>,
    ) -> Result<(), AnalyticsError> {
        let mut committed = self.lock()?;
        for (key, counters) in &tally.rows {
            committed
                .rows
                .entry(key.clone())
                .or_default()
                .merge(counters);
        }
        for (key, counts) in &tally.breakdowns {
            let total = committed.breakdowns.entry(key.clone()).or_default();
            for (sum, n) in total.iter_mut().zip(counts) {
                *sum = sum.saturating_add(*n);
            }
        }
        committed.ledger.extend_from_slice(ledger);
        committed.applied.extend_from_slice(&tally.applied);
        committed.position = committed.position.max(position);
        Ok(())
    }

    fn enforce_retention(
        &self,
        keep_from: DateTime<Utc>,
        ledger_from: DateTime<Utc>,
        applied_from: DateTime<Utc>,
    ) -> Result<RetentionReport, AnalyticsError> {
        let mut committed = self.lock()?;
        let applied_floor = applied_from.timestamp().div_euclid(60);
        committed.applied.retain(|id| id.minute >= applied_floor);
        // A day partition is dropped when its end is at or before the bound.
        let old = |day: i64, bound: DateTime<Utc>| (day + 1) * DAY_SECONDS <= bound.timestamp();
        let mut dropped = BTreeSet::new();
        committed.rows.retain(|key, _| {
            let day = key.minute.div_euclid(DAY_SECONDS);
            let drop = old(day, keep_from);
            if drop {
                dropped.insert(format!("aggregates/{}", day_name(day)));
            }
            !drop
        });
        committed
            .breakdowns
            .retain(|key, _| !old(key.row.minute.div_euclid(DAY_SECONDS), keep_from));
        committed.ledger.retain(|change| {
            let day = i64::from(change.day);
            let drop = old(day, ledger_from);
            if drop {
                dropped.insert(format!("ledger/{}", day_name(day)));
            }
            !drop
        });
        Ok(RetentionReport {
            dropped: dropped.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Aggregator, BreakdownKind, Combinator, Condition, Counter, FilterGroup, FilterOp, Metric,
    };

    /// 2023-11-14T22:13:00Z, a whole minute.
    const T0: i64 = 1_699_999_980;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn range(from: i64, to: i64) -> TimeRange {
        TimeRange {
            from: at(from),
            to: at(to),
        }
    }

    fn event(kind: &str, seconds: i64, extra: &str) -> Vec<u8> {
        format!(r#"{{"type":"{kind}","timestamp":"{seconds}","event_id":"e"{extra}}}"#).into_bytes()
    }

    /// Folds `events` and commits them as one checkpoint at `position`.
    fn commit(store: &MemoryStore, agg: &mut Aggregator, events: &[Vec<u8>], position: u64) {
        for e in events {
            agg.fold(e).unwrap();
        }
        let (tally, ledger) = agg.take();
        store.commit(&tally, &ledger, Some(position)).unwrap();
    }

    fn sample() -> MemoryStore {
        let store = MemoryStore::new();
        let mut agg = Aggregator::default();
        let gmail = r#","recipient_domain":"gmail.com","campaign_id":"Spring Sale""#;
        let yahoo = r#","recipient_domain":"yahoo.com","campaign_id":"fall","subaccount_id":"7""#;
        commit(
            &store,
            &mut agg,
            &[
                event("injection", T0, gmail),
                event("injection", T0 + 30, gmail),
                event("injection", T0 + 60, yahoo),
                event("delivery", T0 + 120, gmail),
            ],
            10,
        );
        commit(
            &store,
            &mut agg,
            &[
                event("injection", T0 + 125, gmail),
                event(
                    "bounce",
                    T0 + 180,
                    &format!(r#"{yahoo},"bounce_class":"10","reason":"550 no such user""#),
                ),
                event(
                    "bounce",
                    T0 + 190,
                    &format!(r#"{gmail},"bounce_class":"10","reason":"550 no such user""#),
                ),
            ],
            20,
        );
        store
    }

    fn total(rows: &[MetricsRow], metric: Metric) -> u64 {
        rows.iter().map(|r| metric.value(&r.counters)).sum()
    }

    #[test]
    fn sums_commits_within_the_half_open_range() {
        let store = sample();
        let all = MetricsQuery {
            range: range(T0, T0 + 3600),
            filter: Filter::default(),
            grouping: Grouping::Total,
            metrics: vec![],
        };
        let rows = store.metrics(&all).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].key, GroupKey::Total);
        assert_eq!(Metric::Injected.value(&rows[0].counters), 4);
        assert_eq!(Metric::Bounce.value(&rows[0].counters), 2);
        // The end is exclusive: events at T0+120 and later are outside [T0, T0+120).
        let early = MetricsQuery {
            range: range(T0, T0 + 120),
            ..all.clone()
        };
        let rows = store.metrics(&early).unwrap();
        assert_eq!(Metric::Injected.value(&rows[0].counters), 3);
        assert_eq!(Metric::Delivered.value(&rows[0].counters), 0);
        // Nothing in range: no row at all.
        let empty = MetricsQuery {
            range: range(T0 + 7200, T0 + 7260),
            ..all
        };
        assert!(store.metrics(&empty).unwrap().is_empty());
    }

    #[test]
    fn groups_by_dimension_and_filters_with_filter_semantics() {
        let store = sample();
        let mut query = MetricsQuery {
            range: range(T0, T0 + 3600),
            filter: Filter::default(),
            grouping: Grouping::By(Dimension::Subaccount),
            metrics: vec![Metric::Injected],
        };
        let rows = store.metrics(&query).unwrap();
        let keys: Vec<_> = rows.iter().map(|r| r.key.clone()).collect();
        assert_eq!(
            keys,
            vec![GroupKey::Value("0".into()), GroupKey::Value("7".into())]
        );
        assert_eq!(Metric::Injected.value(&rows[0].counters), 3);
        query.grouping = Grouping::By(Dimension::Domain);
        query.filter.groups.push(FilterGroup {
            combinator: Combinator::Or,
            conditions: vec![
                Condition {
                    dimension: Dimension::Campaign,
                    op: FilterOp::Like,
                    values: vec!["SALE".into()],
                },
                Condition {
                    dimension: Dimension::Subaccount,
                    op: FilterOp::Eq,
                    values: vec!["7".into()],
                },
            ],
        });
        assert_eq!(store.metrics(&query).unwrap().len(), 2);
        query
            .filter
            .require(Dimension::Domain, FilterOp::NotEq, vec!["gmail.com".into()]);
        let rows = store.metrics(&query).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].key, GroupKey::Value("yahoo.com".into()));
        assert_eq!(total(&rows, Metric::Injected), 1);
        assert_eq!(total(&rows, Metric::HardBounce), 1);
    }

    #[test]
    fn time_buckets_follow_the_given_starts() {
        let store = sample();
        let starts = vec![at(T0), at(T0 + 60), at(T0 + 180)];
        let query = MetricsQuery {
            range: range(T0, T0 + 240),
            filter: Filter::default(),
            grouping: Grouping::Time(starts),
            metrics: vec![Metric::Injected, Metric::Bounce],
        };
        let rows = store.metrics(&query).unwrap();
        let by_bucket: Vec<_> = rows
            .iter()
            .map(|r| (r.key.clone(), Metric::Injected.value(&r.counters)))
            .collect();
        assert_eq!(
            by_bucket,
            vec![
                (GroupKey::Bucket(at(T0)), 2),
                (GroupKey::Bucket(at(T0 + 60)), 2),
                (GroupKey::Bucket(at(T0 + 180)), 0),
            ]
        );
        assert_eq!(Metric::Bounce.value(&rows[2].counters), 2);
    }

    #[test]
    fn refuses_queries_off_the_documented_shape() {
        let store = sample();
        let base = MetricsQuery {
            range: range(T0, T0 + 240),
            filter: Filter::default(),
            grouping: Grouping::Total,
            metrics: vec![],
        };
        let mut bad_range = base.clone();
        bad_range.range.to = at(T0 + 241);
        assert!(matches!(
            store.metrics(&bad_range),
            Err(AnalyticsError::Invalid(_))
        ));
        for starts in [
            vec![at(T0 + 60)],
            vec![at(T0), at(T0 + 240)],
            vec![at(T0), at(T0 + 120), at(T0 + 60)],
            vec![at(T0), at(T0 + 30)],
        ] {
            let query = MetricsQuery {
                grouping: Grouping::Time(starts.clone()),
                ..base.clone()
            };
            assert!(
                matches!(store.metrics(&query), Err(AnalyticsError::Invalid(_))),
                "{starts:?}"
            );
        }
    }

    #[test]
    fn breakdowns_group_by_label_class_and_domain() {
        let store = sample();
        let mut query = BreakdownQuery {
            range: range(T0, T0 + 3600),
            filter: Filter::default(),
            kind: BreakdownKind::Bounce,
            grouping: BreakdownGrouping::Label,
        };
        let rows = store.breakdown(&query).unwrap();
        assert_eq!(
            rows,
            vec![BreakdownRow {
                label: "550 no such user".into(),
                class: 10,
                domain: None,
                counts: [2, 2, 0, 0],
            }]
        );
        query.grouping = BreakdownGrouping::LabelAndDomain;
        let rows = store.breakdown(&query).unwrap();
        let domains: Vec<_> = rows.iter().map(|r| r.domain.clone()).collect();
        assert_eq!(
            domains,
            vec![Some("gmail.com".into()), Some("yahoo.com".into())]
        );
        query.grouping = BreakdownGrouping::Class;
        query
            .filter
            .require(Dimension::Subaccount, FilterOp::Eq, vec!["7".into()]);
        let rows = store.breakdown(&query).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].label.as_str(), rows[0].counts[0]), ("", 1));
        query.kind = BreakdownKind::Attempt;
        assert!(store.breakdown(&query).unwrap().is_empty());
    }

    #[test]
    fn values_are_distinct_sorted_matching_and_limited() {
        let store = sample();
        let mut query = ValuesQuery {
            dimension: Dimension::Campaign,
            range: range(T0, T0 + 3600),
            contains: None,
            limit: 10,
            filter: Filter::default(),
        };
        assert_eq!(store.values(&query).unwrap(), vec!["Spring Sale", "fall"]);
        query.contains = Some("SAL".into());
        assert_eq!(store.values(&query).unwrap(), vec!["Spring Sale"]);
        query.contains = None;
        query.limit = 1;
        assert_eq!(store.values(&query).unwrap(), vec!["Spring Sale"]);
        query.limit = 10;
        query.dimension = Dimension::Template;
        assert!(
            store.values(&query).unwrap().is_empty(),
            "empty values are left out"
        );
        query.dimension = Dimension::Campaign;
        query
            .filter
            .require(Dimension::Subaccount, FilterOp::Eq, vec!["7".into()]);
        assert_eq!(store.values(&query).unwrap(), vec!["fall"]);
    }

    #[test]
    fn checkpoint_restores_position_and_ledger() {
        let store = MemoryStore::new();
        assert_eq!(store.checkpoint().unwrap().position, None);
        let mut agg = Aggregator::default();
        let open = |m: &str| event("open", T0, &format!(r#","message_id":"{m}""#));
        commit(&store, &mut agg, &[open("m1"), open("m2")], 5);
        // A restart: the aggregator continues from the stored ledger.
        let checkpoint = store.checkpoint().unwrap();
        assert_eq!(checkpoint.position, Some(5));
        let mut restarted = Aggregator::with_ledger(checkpoint.ledger);
        commit(&store, &mut restarted, &[open("m1"), open("m3")], 9);
        store.commit(&Tally::default(), &[], None).unwrap();
        assert_eq!(store.checkpoint().unwrap().position, Some(9));
        let rows = store
            .metrics(&MetricsQuery {
                range: range(T0, T0 + 60),
                filter: Filter::default(),
                grouping: Grouping::Total,
                metrics: vec![Metric::Rendered],
            })
            .unwrap();
        assert_eq!(rows[0].counters.get(Counter::Rendered), 4);
        assert_eq!(rows[0].counters.get(Counter::UniqueRendered), 3);
    }

    #[test]
    fn retention_drops_whole_days_only() {
        let store = MemoryStore::new();
        let mut agg = Aggregator::default();
        let day = DAY_SECONDS;
        let first_day = T0.div_euclid(day) * day;
        let open =
            |seconds: i64, m: &str| event("open", seconds, &format!(r#","message_id":"{m}""#));
        commit(
            &store,
            &mut agg,
            &[
                open(first_day + 10, "a"),
                open(first_day + day + 10, "b"),
                event("delay", first_day + 20, r#","reason":"421 later""#),
            ],
            1,
        );
        // The bound falls inside the second day: only the first day is wholly older.
        let report = store
            .enforce_retention(
                at(first_day + day + 3600),
                at(first_day + day),
                at(first_day + day),
            )
            .unwrap();
        assert_eq!(
            report.dropped,
            vec![
                format!("aggregates/{}", day_name(first_day / day)),
                format!("ledger/{}", day_name(first_day / day)),
            ]
        );
        let rows = store
            .metrics(&MetricsQuery {
                range: range(first_day, first_day + 2 * day),
                filter: Filter::default(),
                grouping: Grouping::Total,
                metrics: vec![Metric::Rendered],
            })
            .unwrap();
        assert_eq!(rows[0].counters.get(Counter::Rendered), 1);
        let delays = store
            .breakdown(&BreakdownQuery {
                range: range(first_day, first_day + 2 * day),
                filter: Filter::default(),
                kind: BreakdownKind::Delay,
                grouping: BreakdownGrouping::Label,
            })
            .unwrap();
        assert!(delays.is_empty());
        // Message "a" was forgotten with its ledger day; "b" is still remembered.
        let mut restored = Aggregator::with_ledger(store.checkpoint().unwrap().ledger);
        restored.fold(&open(first_day + day + 20, "a")).unwrap();
        restored.fold(&open(first_day + day + 20, "b")).unwrap();
        let (tally, _) = restored.take();
        let unique: u64 = tally
            .rows
            .values()
            .map(|c| c.get(Counter::UniqueRendered))
            .sum();
        assert_eq!(unique, 1);
    }
}
