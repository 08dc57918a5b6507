//! Equal configurations give byte-identical streams; different ones do not.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use common::{compressed, ndjson};
use eventhose_simulator::{LineFormat, SimConfig, Simulator};

#[test]
fn same_seed_gives_identical_bytes() {
    let config = SimConfig::new(42, 1_717_200_000, 5_000.0);
    let a = ndjson(config.clone(), 50_000);
    let b = ndjson(config, 50_000);
    assert_eq!(a.iter().filter(|&&b| b == b'\n').count(), 50_000);
    assert!(a == b, "streams of the same config differ");
}

#[test]
fn different_seeds_give_different_streams() {
    let a = ndjson(SimConfig::new(1, 1_717_200_000, 5_000.0), 50_000);
    let b = ndjson(SimConfig::new(2, 1_717_200_000, 5_000.0), 50_000);
    assert_ne!(a, b);
    // Not merely a shifted copy: the first lines already differ.
    let first = |v: &[u8]| v.split(|&c| c == b'\n').next().map(<[u8]>::to_vec);
    assert_ne!(first(&a), first(&b));
}

#[test]
fn other_knobs_change_the_stream() {
    let base = SimConfig::new(7, 1_717_200_000, 1_000.0);
    let mut faster = base.clone();
    faster.events_per_second = 2_000.0;
    let mut bouncier = base.clone();
    bouncier.outcomes.bounce = 0.2;
    let reference = ndjson(base, 5_000);
    assert_ne!(reference, ndjson(faster, 5_000));
    assert_ne!(reference, ndjson(bouncier, 5_000));
}

#[test]
fn iterator_lines_equal_the_fast_path() {
    let config = compressed(11);
    let fast = ndjson(config.clone(), 20_000);
    let mut slow = Vec::new();
    for event in Simulator::new(config).unwrap().take(20_000) {
        slow.extend_from_slice(&event.to_line());
    }
    assert!(fast == slow, "write_ndjson and SimEvent::to_line disagree");
}

#[test]
fn iterator_events_carry_their_type_and_timestamp() {
    for event in Simulator::new(compressed(5)).unwrap().take(5_000) {
        assert_eq!(event.value["type"], event.event_type.as_str());
        assert_eq!(event.value["timestamp"], event.timestamp.to_string());
    }
}

#[test]
fn msys_lines_wrap_the_same_events() {
    let config = compressed(3);
    let bare = ndjson(config.clone(), 2_000);
    let mut sim = Simulator::new(config).unwrap();
    let mut wrapped = Vec::new();
    let summary = sim.write_lines(&mut wrapped, 2_000, LineFormat::Msys);
    assert_eq!(summary.bytes(), wrapped.len() as u64);
    let bare_lines = bare.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let wrapped_lines = wrapped.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let mut count = 0;
    for (plain, framed) in bare_lines.zip(wrapped_lines) {
        let plain: serde_json::Value = serde_json::from_slice(plain).unwrap();
        let framed: serde_json::Value = serde_json::from_slice(framed).unwrap();
        let msys = framed["msys"].as_object().unwrap();
        assert_eq!(msys.len(), 1);
        let (category, inner) = msys.iter().next().unwrap();
        assert_eq!(inner, &plain);
        let kind: eventhose_simulator::EventType = plain["type"].as_str().unwrap().parse().unwrap();
        assert_eq!(kind.category().key(), category.as_str());
        count += 1;
    }
    assert_eq!(count, 2_000);
}

#[test]
fn chunked_writes_continue_the_same_stream() {
    let config = SimConfig::new(9, 1_717_200_000, 3_000.0);
    let whole = ndjson(config.clone(), 10_000);
    let mut sim = Simulator::new(config).unwrap();
    let mut chunked = Vec::new();
    for _ in 0..10 {
        sim.write_ndjson(&mut chunked, 1_000);
    }
    assert_eq!(sim.emitted(), 10_000);
    assert!(whole == chunked);
}
