//! Suppression lists of 1,000,000 entries on both state stores, side by side: one-recipient
//! lookups and bulk writes, on SQLite (a temporary file) and PostgreSQL (a database of its own
//! on the server of `TEST_EVENTHOSE_POSTGRES`, by default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped at the end).
//!
//! Each store is filled with upserts of 10,000 entries (their rate is printed). Before
//! criterion's measurement, 20,000 single lookups per store (hits in any case spelling of the
//! domain, and misses) print their percentiles: the target is p99 < 5 ms. Criterion then
//! measures a lookup, and an upsert of 1,000 entries (half new, half replacing stored ones).
//! `SUPPRESSION_BENCH_ENTRIES` sets a smaller list for a quick check.
//!
//! `cargo bench -p eventhose-state --features testing --bench suppression_lookup`

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use eventhose_state::testing::TestDatabase;
use eventhose_state::{
    ListScope, PostgresOptions, PostgresState, SqliteState, SuppressionSource, SuppressionStore,
    SuppressionType, SuppressionUpsert, WhenKept,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Entries per filling upsert.
const BATCH: u64 = 10_000;
/// Entries per measured bulk write.
const BULK: u64 = 1_000;
const SAMPLES: usize = 20_000;

/// A store under measurement, and where it lives (a directory or a database, removed after
/// the store is dropped).
struct Backend {
    name: &'static str,
    store: Box<dyn SuppressionStore>,
    _place: Box<dyn Any>,
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteState::open(dir.path().join("state.sqlite")).expect("open SQLite");
    Backend {
        name: "sqlite",
        store: Box::new(store),
        _place: Box::new(dir),
    }
}

fn postgres() -> Backend {
    let db = TestDatabase::create();
    let store =
        PostgresState::open(db.url(), &PostgresOptions::default()).expect("open PostgreSQL");
    Backend {
        name: "postgres",
        store: Box::new(store),
        _place: Box::new(db),
    }
}

/// Entries in each list: 1,000,000, or `SUPPRESSION_BENCH_ENTRIES` (a multiple of 10,000).
fn entries() -> u64 {
    std::env::var("SUPPRESSION_BENCH_ENTRIES")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
        .map(|n| (n / BATCH).max(1) * BATCH)
        .unwrap_or(1_000_000)
}

/// The address of entry `i`: 1,000 domains, every tenth entry in one of 50 subaccounts.
fn recipient(i: u64) -> String {
    format!("user{i}@domain{}.example.com", i % 1000)
}

/// Entry `i` as the list is filled with it.
fn entry(i: u64) -> SuppressionUpsert {
    SuppressionUpsert {
        recipient: recipient(i),
        suppression_type: if i.is_multiple_of(2) {
            SuppressionType::Transactional
        } else {
            SuppressionType::NonTransactional
        },
        source: SuppressionSource::ALL[usize::try_from(i % 5).expect("small")],
        description: Some(format!("550 5.1.1 user{i}: unknown user")),
        list_id: None,
        subaccount: i.is_multiple_of(10).then_some(i % 50 + 1),
        occurred_at: 1_700_000_000,
    }
}

fn populate(backend: &Backend, entries: u64) {
    let started = Instant::now();
    for start in (0..entries).step_by(usize::try_from(BATCH).expect("small")) {
        let batch = (start..start + BATCH).map(entry).collect();
        let report = backend
            .store
            .upsert_suppressions(batch, WhenKept::Skip)
            .expect("populate");
        assert!(report.committed);
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = backend
        .store
        .suppression_summary(ListScope::All)
        .expect("summary")
        .total();
    assert_eq!(total, entries);
    println!(
        "{}: populated {entries} entries in {seconds:.1} s ({:.0} entries/s in upserts of {BATCH})",
        backend.name,
        entries as f64 / seconds
    );
}

/// A lookup target: an existing entry with its domain upper-cased one time in four, or (one
/// time in ten) an address that is not on the list.
fn target(rng: &mut StdRng, entries: u64) -> (String, bool) {
    let i = rng.random_range(0..entries);
    if rng.random_ratio(1, 10) {
        return (format!("absent{i}@domain{}.example.com", i % 1000), false);
    }
    let address = recipient(i);
    if rng.random_ratio(1, 4) {
        let (local, domain) = address.split_once('@').expect("an address");
        (format!("{local}@{}", domain.to_uppercase()), true)
    } else {
        (address, true)
    }
}

fn percentiles(backend: &Backend, entries: u64) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut times: Vec<Duration> = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let (address, present) = target(&mut rng, entries);
        let started = Instant::now();
        let found = backend
            .store
            .find_suppressions(&address, ListScope::All)
            .expect("lookup");
        times.push(started.elapsed());
        assert_eq!(!found.is_empty(), present, "{address}");
    }
    times.sort();
    // `as` saturates, and the index is capped at the last sample next.
    #[allow(clippy::cast_possible_truncation)]
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{}: find_suppressions over {entries} entries, {SAMPLES} lookups: p50 {:?}, p90 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        backend.name,
        at(0.50),
        at(0.90),
        at(0.99),
        at(0.999),
        times[times.len() - 1]
    );
}

/// A bulk write: `BULK / 2` new entries (numbered from `next`) and as many stored ones
/// replaced by manual entries.
fn bulk(rng: &mut StdRng, entries: u64, next: &AtomicU64) -> Vec<SuppressionUpsert> {
    let first = next.fetch_add(BULK / 2, Ordering::Relaxed);
    let added = (first..first + BULK / 2).map(entry);
    let replaced = (0..BULK / 2).map(|_| SuppressionUpsert {
        source: SuppressionSource::ManuallyAdded,
        ..entry(rng.random_range(0..entries))
    });
    added.chain(replaced).collect()
}

fn main() {
    let entries = entries();
    let backends = [sqlite(), postgres()];
    for backend in &backends {
        populate(backend, entries);
        percentiles(backend, entries);
    }

    let mut criterion = Criterion::default().configure_from_args();
    let mut lookups = criterion.benchmark_group(format!("find_suppressions/{entries} entries"));
    for backend in &backends {
        let mut rng = StdRng::seed_from_u64(11);
        lookups.bench_function(backend.name, |b| {
            b.iter_batched(
                || target(&mut rng, entries).0,
                |address| backend.store.find_suppressions(&address, ListScope::All),
                BatchSize::SmallInput,
            )
        });
    }
    lookups.finish();

    let mut writes = criterion.benchmark_group(format!("upsert_suppressions/{BULK} entries"));
    writes.sample_size(20);
    for backend in &backends {
        let mut rng = StdRng::seed_from_u64(13);
        // New entries are numbered past the filled list.
        let next = AtomicU64::new(entries);
        writes.bench_function(backend.name, |b| {
            b.iter_batched(
                || bulk(&mut rng, entries, &next),
                |batch| {
                    let report = backend
                        .store
                        .upsert_suppressions(batch, WhenKept::Skip)
                        .expect("bulk write");
                    assert!(report.committed);
                },
                BatchSize::LargeInput,
            )
        });
    }
    writes.finish();
    criterion.final_summary();
}
