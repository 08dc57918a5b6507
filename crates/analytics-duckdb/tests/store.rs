//! The DuckDB store against the in-memory reference store: the same commits, the same answers.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, TimeZone, Utc};
use eventhose_analytics::conformance::{self, Filled};
use eventhose_analytics::{
    Aggregator, AnalyticsError, Dimension, Filter, Grouping, MemoryStore, Metric, MetricsQuery,
    MetricsWriter, TimeRange,
};
use eventhose_analytics_duckdb::{DuckOptions, DuckStore};
use eventhose_model::DedupWindow;

/// A day's deduplication window with room for every test's events.
const DAY_WINDOW: DedupWindow = DedupWindow {
    minutes: 1_440,
    max_events: 1_000_000,
};

/// 2026-10-30T20:00:00Z: the simulated stream crosses the end of US daylight time.
const START: i64 = 1_793_390_400;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().expect("valid time")
}

/// Stored events from the simulator: two simulated days at a low rate.
fn stored_events(n: usize) -> Vec<Vec<u8>> {
    // One event every 20 simulated seconds: a few thousand events span more than a day.
    common::simulated_events(n, 42, START, 0.05)
}

/// Both stores with the same commits (in several transactions, as the subscriber makes them).
fn filled(n: usize) -> (tempfile::TempDir, DuckStore, MemoryStore, Filled) {
    let dir = tempfile::tempdir().expect("tempdir");
    let duck = DuckStore::open(
        &dir.path().join("analytics.duckdb"),
        &DuckOptions::default(),
    )
    .expect("open duckdb");
    let memory = MemoryStore::new();
    let filled = conformance::fill(&duck, &memory, &stored_events(n));
    (dir, duck, memory, filled)
}

#[test]
fn answers_match_the_reference_store() {
    let (_dir, duck, memory, filled) = filled(6_000);
    conformance::answers_match(&duck, &memory, filled);
}

#[test]
fn time_series_match_at_every_alignment() {
    let (_dir, duck, memory, filled) = filled(4_000);
    conformance::time_series_match(&duck, &memory, filled);
}

#[test]
fn breakdowns_and_values_match_the_reference_store() {
    let (_dir, duck, memory, filled) = filled(5_000);
    conformance::breakdowns_and_values_match(&duck, &memory, filled);
}

#[test]
fn retention_keeps_the_applied_events_from_their_floor_to_the_minute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let duck =
        DuckStore::open(&dir.path().join("a.duckdb"), &DuckOptions::default()).expect("open");
    conformance::applied_floor_is_kept_to_the_minute(&duck, START / 60);
}

#[test]
fn commits_survive_reopening_with_their_position_and_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("analytics.duckdb");
    let events = stored_events(3_000);
    let mut aggregator = Aggregator::default();
    {
        let duck = DuckStore::open(&path, &DuckOptions::default()).expect("open");
        for event in &events[..2_000] {
            aggregator.fold(event).expect("fold");
        }
        let (tally, changes) = aggregator.take();
        duck.commit(&tally, &changes, Some(41)).expect("commit");
        duck.compact_now().expect("compact");
    }
    let duck = DuckStore::open(&path, &DuckOptions::default()).expect("reopen");
    let checkpoint = duck.checkpoint().expect("checkpoint");
    assert_eq!(checkpoint.position, Some(41));
    assert_eq!(checkpoint.ledger.len(), aggregator.ledger.len());
    // Continuing from the restored ledger gives the same unique counts as never stopping.
    let mut resumed = Aggregator::with_ledger(checkpoint.ledger);
    for event in &events[2_000..] {
        resumed.fold(event).expect("fold");
        aggregator.fold(event).expect("fold");
    }
    let unique = |a: &Aggregator| -> u64 {
        a.tally
            .rows
            .values()
            .map(|c| c.get(eventhose_analytics::Counter::UniqueRendered))
            .sum()
    };
    assert_eq!(unique(&resumed), unique(&aggregator));
}

#[test]
fn applied_events_are_remembered_across_reopening_until_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("analytics.duckdb");
    let events = stored_events(1_000);
    let day = eventhose_analytics::MetricsCheckpoint::default;
    {
        let duck = DuckStore::open(&path, &DuckOptions::default()).expect("open");
        let mut aggregator = Aggregator::resumed(day(), DAY_WINDOW);
        for event in &events {
            aggregator.fold(event).expect("fold");
        }
        let (tally, changes) = aggregator.take();
        assert_eq!(tally.applied.len(), events.len());
        duck.commit(&tally, &changes, None).expect("commit");
    }
    let duck = DuckStore::open(&path, &DuckOptions::default()).expect("reopen");
    let checkpoint = duck.checkpoint().expect("checkpoint");
    assert_eq!(checkpoint.applied.len(), events.len());
    let mut resumed = Aggregator::resumed(checkpoint, DAY_WINDOW);
    for event in &events {
        resumed.fold(event).expect("fold");
    }
    let (tally, _) = resumed.take();
    assert!(
        tally.is_empty() && tally.applied.is_empty(),
        "every event is a repeat"
    );

    let tomorrow = chrono::Utc::now() + chrono::Duration::days(2);
    let report = duck
        .enforce_retention(t(0), t(0), tomorrow)
        .expect("retention");
    assert!(
        report
            .dropped
            .iter()
            .any(|name| name.starts_with("applied_")),
        "{report:?}"
    );
    assert!(duck.checkpoint().expect("checkpoint").applied.is_empty());
}

#[test]
fn a_checkpoint_keeps_the_newest_identities_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let duck =
        DuckStore::open(&dir.path().join("a.duckdb"), &DuckOptions::default()).expect("open");
    conformance::the_newest_identities_are_restored(&duck, START / 60);
}

#[test]
fn a_refused_query_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let duck =
        DuckStore::open(&dir.path().join("a.duckdb"), &DuckOptions::default()).expect("open");
    conformance::a_refused_query_changes_nothing(&duck, &stored_events(500));
}

#[test]
fn a_store_written_before_rollups_gets_them_at_open() {
    let (dir, duck, memory, Filled { first, last }) = filled(3_000);
    drop(duck);
    let path = dir.path().join("analytics.duckdb");
    {
        let conn = duckdb::Connection::open(&path).expect("open raw");
        let rollups: Vec<String> = conn
            .prepare(
                "SELECT table_name FROM duckdb_tables() \
                 WHERE table_name LIKE '%\\_by\\_%' ESCAPE '\\' OR table_name LIKE '%\\_across\\_%' ESCAPE '\\'",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |row| row.get(0))?
                    .collect::<Result<_, _>>()
            })
            .expect("list rollups");
        // Seventeen rollups per family, granularity (hour, day) and month.
        assert!(
            rollups.len() >= 2 * 2 * 17 && rollups.len().is_multiple_of(17),
            "{rollups:?}"
        );
        for name in rollups {
            conn.execute_batch(&format!("DROP TABLE {name}"))
                .expect("drop rollup");
        }
    }
    let duck = DuckStore::open(&path, &DuckOptions::default()).expect("reopen");
    let range = TimeRange {
        from: t(first - first % 86_400),
        to: t(last - last % 86_400 + 86_400),
    };
    for grouping in [Grouping::Total, Grouping::By(Dimension::Campaign)] {
        conformance::same_metrics(
            &duck,
            &memory,
            &MetricsQuery {
                range,
                filter: Filter::default(),
                grouping,
                metrics: Metric::ALL.to_vec(),
            },
        );
    }
}

#[test]
fn retention_drops_whole_monthly_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let duck =
        DuckStore::open(&dir.path().join("r.duckdb"), &DuckOptions::default()).expect("open");
    let report = conformance::retention_drops_whole_months(&duck);
    for name in [
        "m1_202608",
        "m1_202609",
        "m1440_202609",
        "m1440_202609_by_subaccount",
        "m60_202609_by_campaign",
    ] {
        assert!(
            report.dropped.iter().any(|n| n == name),
            "{name}: {report:?}"
        );
    }
}

/// The rollup of one dimension across subaccounts tells only that dimension's values apart:
/// a row per (bucket, value) where the rollup with the subaccount has one per (bucket,
/// subaccount, value).
#[test]
fn a_rollup_across_subaccounts_keeps_one_row_per_value() {
    let (dir, duck, _, _) = filled(3_000);
    drop(duck);
    let conn = duckdb::Connection::open(dir.path().join("analytics.duckdb")).expect("open raw");
    let tables: Vec<String> = conn
        .prepare(
            "SELECT table_name FROM duckdb_tables() \
             WHERE table_name LIKE 'm1440\\_%\\_across\\_domain' ESCAPE '\\'",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()
        })
        .expect("list rollups");
    assert!(!tables.is_empty());
    for across in tables {
        let with = across.replace("_across_", "_by_");
        let count =
            |sql: String| -> u64 { conn.query_row(&sql, [], |row| row.get(0)).expect("count") };
        let subaccounts = format!("SELECT count(DISTINCT subaccount) FROM {across}");
        assert_eq!(count(subaccounts), 1, "{across}: subaccount 0 only");
        let values = |table: &str| format!("SELECT count(DISTINCT (bucket, domain)) FROM {table}");
        assert_eq!(count(values(&across)), count(values(&with)));
        let with_keys = format!("SELECT count(DISTINCT (bucket, subaccount, domain)) FROM {with}");
        assert!(
            count(with_keys) > count(values(&across)),
            "{with}: several subaccounts share values"
        );
    }
}

/// A commit that fails at its end (its write-ahead log cannot be written, as on a full disk)
/// leaves nothing behind: not the rows, and not the partitions it created, which the next
/// commit of the same rows creates again.
#[test]
fn a_commit_that_fails_at_its_end_can_be_made_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("analytics.duckdb");
    drop(DuckStore::open(&path, &DuckOptions::default()).expect("create"));
    let duck = DuckStore::open(&path, &DuckOptions::default()).expect("open duckdb");
    let wal = dir.path().join("analytics.duckdb.wal");
    assert!(!wal.exists(), "nothing written since the last close");
    std::fs::create_dir(&wal).expect("a directory where the log goes");

    let mut aggregator = Aggregator::default();
    for event in stored_events(500) {
        aggregator.fold(&event).expect("fold");
    }
    let (tally, changes) = aggregator.take();
    assert!(duck.commit(&tally, &changes, Some(1)).is_err());
    std::fs::remove_dir(&wal).expect("the log can be written again");
    duck.commit(&tally, &changes, Some(1))
        .expect("the same commit again");

    let memory = MemoryStore::new();
    memory.commit(&tally, &changes, Some(1)).expect("memory");
    let (from, to) = (START - START % 3_600, START + 3 * 86_400);
    conformance::same_metrics(
        &duck,
        &memory,
        &MetricsQuery {
            range: TimeRange {
                from: t(from),
                to: t(to),
            },
            filter: Filter::default(),
            grouping: Grouping::Total,
            metrics: Metric::ALL.to_vec(),
        },
    );
}

#[test]
fn a_file_that_is_not_a_database_fails_with_the_engines_own_error() {
    use std::error::Error as _;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.duckdb");
    std::fs::write(&path, vec![b'x'; 64 * 1024]).expect("write");
    let error = match DuckStore::open(&path, &DuckOptions::default()) {
        Ok(_) => panic!("a file of garbage opened as a store"),
        Err(error) => error,
    };
    assert!(
        matches!(error, AnalyticsError::Engine { context: None, .. }),
        "{error:?}"
    );
    let source = error
        .source()
        .and_then(|source| source.downcast_ref::<duckdb::Error>())
        .expect("DuckDB's error is the source");
    assert!(
        matches!(source, duckdb::Error::DuckDBFailure(..)),
        "{source:?}"
    );
    assert_eq!(error.to_string(), format!("analytic store: {source}"));
}
