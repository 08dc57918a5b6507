//! One-recipient lookup in a suppression list of 1,000,000 entries (SQLite state store).
//!
//! Before criterion's measurement, it times 20,000 single lookups (hits in any case spelling
//! of the domain, and misses) and prints their percentiles: the target is p99 < 5 ms.
//!
//! `cargo bench -p eventhose-state --bench suppression_lookup`

use std::time::{Duration, Instant};

use criterion::Criterion;
use eventhose_state::{
    ListScope, SqliteState, SuppressionSource, SuppressionStore, SuppressionType,
    SuppressionUpsert, WhenKept,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ENTRIES: u64 = 1_000_000;
const BATCH: u64 = 10_000;
const SAMPLES: usize = 20_000;

/// The address of entry `i`: 1,000 domains, every tenth entry in one of 50 subaccounts.
fn recipient(i: u64) -> String {
    format!("user{i}@domain{}.example.com", i % 1000)
}

fn populate(state: &SqliteState) {
    let started = Instant::now();
    for start in (0..ENTRIES).step_by(BATCH as usize) {
        let entries = (start..start + BATCH)
            .map(|i| SuppressionUpsert {
                recipient: recipient(i),
                suppression_type: if i % 2 == 0 {
                    SuppressionType::Transactional
                } else {
                    SuppressionType::NonTransactional
                },
                source: SuppressionSource::ALL[(i % 5) as usize],
                description: Some(format!("550 5.1.1 user{i}: unknown user")),
                list_id: None,
                subaccount: (i % 10 == 0).then_some(i % 50 + 1),
                occurred_at: 1_700_000_000,
            })
            .collect();
        let report = state
            .upsert_suppressions(entries, WhenKept::Skip)
            .expect("populate");
        assert!(report.committed);
    }
    let total = state
        .suppression_summary(ListScope::All)
        .expect("summary")
        .total();
    assert_eq!(total, ENTRIES);
    println!(
        "populated {ENTRIES} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A lookup target: an existing entry with its domain upper-cased one time in four, or (one
/// time in ten) an address that is not on the list.
fn target(rng: &mut StdRng) -> (String, bool) {
    let i = rng.random_range(0..ENTRIES);
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

fn percentiles(state: &SqliteState) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut times: Vec<Duration> = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let (address, present) = target(&mut rng);
        let started = Instant::now();
        let found = state
            .find_suppressions(&address, ListScope::All)
            .expect("lookup");
        times.push(started.elapsed());
        assert_eq!(!found.is_empty(), present, "{address}");
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "find_suppressions over {ENTRIES} entries, {SAMPLES} lookups: p50 {:?}, p90 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        at(0.50),
        at(0.90),
        at(0.99),
        at(0.999),
        times[times.len() - 1]
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = SqliteState::open(dir.path().join("state.sqlite")).expect("open");
    populate(&state);
    percentiles(&state);

    let mut criterion = Criterion::default().configure_from_args();
    let mut rng = StdRng::seed_from_u64(11);
    criterion.bench_function("find_suppressions/1M entries", |b| {
        b.iter_batched(
            || target(&mut rng).0,
            |address| state.find_suppressions(&address, ListScope::All),
            criterion::BatchSize::SmallInput,
        )
    });
    criterion.final_summary();
}
