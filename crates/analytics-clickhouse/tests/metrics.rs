//! The ClickHouse store against the in-memory reference store, on a real server: the same
//! commits, the same answers; checkpoints, repeats and retention.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use common::{open, ClickHouseDatabase};
use eventhose_analytics::conformance::{self, Filled};
use eventhose_analytics::{
    Aggregator, Counter, MemoryStore, MetricsCheckpoint, MetricsWriter, Tally,
};
use eventhose_analytics_clickhouse::ClickHouseStore;
use eventhose_model::DedupWindow;

/// 2026-10-30T20:00:00Z: the simulated stream crosses the end of US daylight time.
const START: i64 = 1_793_390_400;

/// A day's deduplication window with room for every test's events.
const DAY_WINDOW: DedupWindow = DedupWindow {
    minutes: 1_440,
    max_events: 1_000_000,
};

/// Two simulated days at a low rate.
fn stored_events(n: usize) -> Vec<Vec<u8>> {
    common::simulated_events(n, 42, START, 0.05)
}

fn filled(n: usize) -> (ClickHouseDatabase, ClickHouseStore, MemoryStore, Filled) {
    let db = ClickHouseDatabase::new();
    let store = open(&db);
    let memory = MemoryStore::new();
    let filled = conformance::fill(&store, &memory, &stored_events(n));
    (db, store, memory, filled)
}

#[test]
fn answers_match_the_reference_store() {
    let (_db, store, memory, filled) = filled(6_000);
    conformance::answers_match(&store, &memory, filled);
}

#[test]
fn time_series_match_at_every_alignment() {
    let (_db, store, memory, filled) = filled(4_000);
    conformance::time_series_match(&store, &memory, filled);
}

#[test]
fn breakdowns_and_values_match_the_reference_store() {
    let (_db, store, memory, filled) = filled(5_000);
    conformance::breakdowns_and_values_match(&store, &memory, filled);
}

#[test]
fn retention_keeps_the_applied_events_from_their_floor_to_the_minute() {
    let db = ClickHouseDatabase::new();
    conformance::applied_floor_is_kept_to_the_minute(&open(&db), START / 60);
}

#[test]
fn a_checkpoint_reads_only_the_newest_identities_asked_for() {
    let db = ClickHouseDatabase::new();
    conformance::the_newest_identities_are_restored(&open(&db), START / 60);
}

#[test]
fn answers_stay_exact_after_the_server_merges_every_part() {
    let (db, store, memory, filled) = filled(6_000);
    for table in [
        "metrics_minute",
        "metrics_hour",
        "metrics_day",
        "breakdowns_day",
    ] {
        db.execute(&format!("OPTIMIZE TABLE {}.{table} FINAL", db.name()));
    }
    conformance::answers_match(&store, &memory, filled);
}

#[test]
fn a_reopened_store_resumes_from_its_position_ledger_and_repeats() {
    let db = ClickHouseDatabase::new();
    let events = stored_events(3_000);
    let mut aggregator = Aggregator::resumed(MetricsCheckpoint::default(), DAY_WINDOW);
    {
        let store = open(&db);
        assert_eq!(store.checkpoint().unwrap().position, None);
        for event in &events[..2_000] {
            aggregator.fold(event).unwrap();
        }
        let (tally, changes) = aggregator.take();
        store.commit(&tally, &changes, Some(41)).unwrap();
    }
    let store = open(&db);
    let checkpoint = store.checkpoint().unwrap();
    assert_eq!(checkpoint.position, Some(41));
    assert_eq!(checkpoint.ledger.len(), aggregator.ledger.len());
    assert_eq!(checkpoint.applied.len(), 2_000);

    // Every event already folded is a repeat; the rest count as if the worker never stopped.
    let mut resumed = Aggregator::resumed(checkpoint, DAY_WINDOW);
    for event in &events {
        resumed.fold(event).unwrap();
    }
    for event in &events[2_000..] {
        aggregator.fold(event).unwrap();
    }
    let (tally, changes) = resumed.take();
    assert_eq!(tally.applied.len(), 1_000, "the first 2,000 are repeats");
    let unique = |tally: &Tally| -> u64 {
        tally
            .rows
            .values()
            .map(|c| c.get(Counter::UniqueRendered))
            .sum()
    };
    assert_eq!(unique(&tally), unique(&aggregator.tally));
    store.commit(&tally, &changes, Some(42)).unwrap();
    assert_eq!(store.checkpoint().unwrap().position, Some(42));

    // A commit with a lower position keeps the highest.
    store.commit(&Tally::default(), &[], Some(7)).unwrap();
    assert_eq!(store.checkpoint().unwrap().position, Some(42));
}

#[test]
fn retention_drops_whole_monthly_partitions() {
    let db = ClickHouseDatabase::new();
    let report = conformance::retention_drops_whole_months(&open(&db));
    for name in [
        "metrics_minute/202608",
        "metrics_day/202609",
        "metrics_hour/202609",
    ] {
        assert!(
            report.dropped.iter().any(|n| n == name),
            "{name}: {report:?}"
        );
    }
}

#[test]
fn a_refused_query_changes_nothing() {
    let db = ClickHouseDatabase::new();
    conformance::a_refused_query_changes_nothing(&open(&db), &stored_events(500));
}

#[test]
fn a_server_that_is_not_there_is_an_engine_error_naming_it() {
    let endpoint = eventhose_analytics_clickhouse::Endpoint::parse("http://127.0.0.1:1/").unwrap();
    let error = ClickHouseStore::open(&endpoint, &Default::default())
        .err()
        .expect("nothing listens on port 1");
    assert!(
        error
            .to_string()
            .contains("connecting to http://127.0.0.1:1/"),
        "{error}"
    );
    assert!(std::error::Error::source(&error).is_some());
}

/// A commit as large as a busy second brings (tens of thousands of rows, hundreds of thousands
/// of identities) goes through the views in memory in proportion to its size.
#[test]
fn a_large_commit_is_stored_whole() {
    use eventhose_analytics::fold::{Dimensions, RowKey};
    use eventhose_analytics::{
        Counters, Filter, Grouping, Metric, MetricsQuery, MetricsReader, TimeRange,
    };
    use eventhose_model::AppliedId;

    let db = ClickHouseDatabase::new();
    let store = open(&db);
    let mut tally = Tally::default();
    let mut one = Counters::default();
    one.add(Counter::Injected, 1);
    for i in 0..20_000i64 {
        let key = RowKey {
            minute: START + (i % 600) * 60,
            dims: Dimensions {
                subaccount: 0,
                text: std::array::from_fn(|d| format!("d{d}-{}", i / 600).into()),
            },
        };
        tally.rows.insert(key, one);
    }
    tally.applied = (0..300_000u64)
        .map(|identity| AppliedId {
            minute: START / 60,
            identity,
        })
        .collect();
    tally.events = 300_000;
    store.commit(&tally, &[], Some(3)).unwrap();

    let checkpoint = store.checkpoint().unwrap();
    assert_eq!(checkpoint.position, Some(3));
    assert_eq!(checkpoint.applied.len(), 300_000);
    let rows = store
        .metrics(&MetricsQuery {
            range: TimeRange {
                from: chrono::DateTime::from_timestamp(START, 0).unwrap(),
                to: chrono::DateTime::from_timestamp(START + 86_400, 0).unwrap(),
            },
            filter: Filter::default(),
            grouping: Grouping::Total,
            metrics: vec![Metric::Injected],
        })
        .unwrap();
    assert_eq!(Metric::Injected.value(&rows[0].counters), 20_000);
}
