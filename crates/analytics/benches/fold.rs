//! Reading 200,000 simulated stored events (as `eventhose-bench metrics` generates them):
//! folded into a fresh `Aggregator` (`fold/simulated`), and read for search by
//! `IndexedEvent::from_stored` (`index/from_stored`).
//!
//! `cargo bench -p eventhose-analytics --bench fold`

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]
// `criterion_group!` defines a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eventhose_analytics::{Aggregator, IndexedEvent};
use eventhose_model::Event;
use eventhose_simulator::{LineFormat, SimConfig, Simulator};

const EVENTS: usize = 200_000;

/// `EVENTS` stored events of the simulated sender (seed 11, 10,000 events/s), in their storage
/// form: the same as `simulate` in `crates/eventhose/src/bench/metrics.rs`, from a fixed start.
fn stored_events() -> Vec<Vec<u8>> {
    let mut simulator = Simulator::new(SimConfig::new(11, 1_760_000_000, 10_000.0))
        .unwrap_or_else(|error| panic!("simulator config: {error}"));
    let mut lines = Vec::new();
    simulator.write_lines(&mut lines, EVENTS, LineFormat::Bare);
    lines
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            Event::parse_ingest(line)
                .unwrap_or_else(|error| panic!("simulated event: {error}"))
                .to_json_bytes()
        })
        .collect()
}

fn bench_fold(c: &mut Criterion) {
    let events = stored_events();
    let mut group = c.benchmark_group("fold");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("simulated", |b| {
        b.iter_batched(
            Aggregator::default,
            |mut aggregator| {
                for event in &events {
                    aggregator
                        .fold(black_box(event))
                        .unwrap_or_else(|error| panic!("{error}"));
                }
                // Returned, so dropping the tally is not timed.
                aggregator
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn bench_index(c: &mut Criterion) {
    let events = stored_events();
    let mut group = c.benchmark_group("index");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("from_stored", |b| {
        b.iter(|| {
            for event in &events {
                let indexed = IndexedEvent::from_stored(black_box(event))
                    .unwrap_or_else(|error| panic!("{error}"));
                black_box(indexed);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_fold, bench_index);
criterion_main!(benches);
