//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;

use eventhose_simulator::{SimConfig, Simulator};
use serde_json::Value;

/// A configuration whose message lives are compressed so that a few hundred thousand
/// events contain many complete lifecycles.
pub fn compressed(seed: u64) -> SimConfig {
    let mut config = SimConfig::new(seed, 1_717_200_000, 200.0);
    config.time_scale = 0.002;
    config
}

/// The first `n` events of `config` as NDJSON bytes.
pub fn ndjson(config: SimConfig, n: usize) -> Vec<u8> {
    let mut sim = Simulator::new(config).expect("valid config");
    let mut out = Vec::new();
    sim.write_ndjson(&mut out, n);
    out
}

/// The first `n` events of `config`, parsed, with their line sizes in bytes.
pub fn parsed(config: SimConfig, n: usize) -> Vec<(Value, usize)> {
    let bytes = ndjson(config, n);
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(|line| {
            (
                serde_json::from_slice(line).expect("valid JSON"),
                line.len(),
            )
        })
        .collect()
}

/// A string field of an event.
pub fn s<'a>(event: &'a Value, key: &str) -> &'a str {
    event[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing or not a string in {event}"))
}

/// A numeric-string field of an event.
pub fn n(event: &Value, key: &str) -> i64 {
    s(event, key)
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not numeric in {event}"))
}

/// Event indices grouped by `message_id`, in stream order, with groups in order of first appearance.
pub fn by_message(events: &[(Value, usize)]) -> Vec<Vec<usize>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, (event, _)) in events.iter().enumerate() {
        let id = s(event, "message_id");
        let g = *index.entry(id).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// Whether an event type ends a message's delivery attempts.
pub fn is_disposition(kind: &str) -> bool {
    matches!(kind, "delivery" | "bounce" | "policy_rejection")
}
