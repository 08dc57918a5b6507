//! Shared by the differential tests: stored events from the simulator.

use eventhose_model::Event;
use eventhose_simulator::{SimConfig, Simulator};

/// `n` simulated events in storage form, from `start` at `events_per_second`.
pub fn simulated_events(n: usize, seed: u64, start: i64, events_per_second: f64) -> Vec<Vec<u8>> {
    let mut sim =
        Simulator::new(SimConfig::new(seed, start, events_per_second)).expect("simulator");
    let mut out = Vec::new();
    sim.write_ndjson(&mut out, n);
    out.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            Event::parse_ingest(line)
                .expect("simulated events are valid")
                .to_json_bytes()
        })
        .collect()
}
