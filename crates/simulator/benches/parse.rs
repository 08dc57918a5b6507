//! The model's ingest parsing throughput over 1,000 simulated events (bare and
//! `msys`-wrapped lines): the value-tree path `parse_ingest` used to take, `parse_ingest` +
//! `to_json_bytes` now, `normalize_ingest_line`, and that followed by `enrich_stored` (what
//! ingest does). Here rather than in `eventhose-model`, which the simulator depends on.
//!
//! `cargo bench -p eventhose-simulator --bench parse`

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]
// `criterion_group!` defines a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eventhose_model::{enrich_stored, normalize_ingest_line, Event};
use eventhose_simulator::{LineFormat, SimConfig, Simulator};
use std::hint::black_box;

const EVENTS: usize = 1_000;

/// One way of turning an ingest line into its storage form.
type IngestPath = fn(&[u8]) -> Vec<u8>;

/// `EVENTS` simulated lines in `format`, without their newlines.
fn simulated_lines(format: LineFormat) -> Vec<Vec<u8>> {
    let mut simulator = Simulator::new(SimConfig::new(7, 1_760_000_000, 10_000.0))
        .unwrap_or_else(|error| panic!("simulator config: {error}"));
    let mut text = Vec::new();
    simulator.write_lines(&mut text, EVENTS, format);
    text.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// The path `parse_ingest` took before the raw-slice fast path: a full `Value` tree.
fn value_tree_path(line: &[u8]) -> Vec<u8> {
    let value = serde_json::from_slice(line).unwrap_or_else(|error| panic!("{error}"));
    Event::from_value(value)
        .unwrap_or_else(|error| panic!("{error}"))
        .to_json_bytes()
}

fn parse_ingest_path(line: &[u8]) -> Vec<u8> {
    Event::parse_ingest(line)
        .unwrap_or_else(|error| panic!("{error}"))
        .to_json_bytes()
}

fn storage_only_path(line: &[u8]) -> Vec<u8> {
    normalize_ingest_line(line)
        .unwrap_or_else(|error| panic!("{error}"))
        .1
}

fn enriched_path(line: &[u8]) -> Vec<u8> {
    let (event_type, mut stored) =
        normalize_ingest_line(line).unwrap_or_else(|error| panic!("{error}"));
    let _unknown_domain = enrich_stored(event_type, &mut stored);
    stored
}

fn bench_paths(c: &mut Criterion) {
    for (format_name, format) in [("bare", LineFormat::Bare), ("msys", LineFormat::Msys)] {
        let lines = simulated_lines(format);
        let mut group = c.benchmark_group(format!("ingest_{format_name}"));
        group.throughput(Throughput::Elements(lines.len() as u64));
        let paths: [(&str, IngestPath); 4] = [
            ("value_tree", value_tree_path),
            ("parse_ingest", parse_ingest_path),
            ("normalize_ingest_line", storage_only_path),
            ("normalize_and_enrich", enriched_path),
        ];
        for (path_name, path) in paths {
            group.bench_function(path_name, |b| {
                b.iter_batched_ref(
                    || Vec::with_capacity(lines.len()),
                    |stored: &mut Vec<Vec<u8>>| {
                        for line in &lines {
                            stored.push(path(black_box(line)));
                        }
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_paths);
criterion_main!(benches);
