//! Shared by the differential tests: stored events from the simulator.

use eventhose_simulator::{SimConfig, Simulator};

/// `n` simulated events in storage form, from `start` at `events_per_second`.
pub fn simulated_events(n: usize, seed: u64, start: i64, events_per_second: f64) -> Vec<Vec<u8>> {
    Simulator::new(SimConfig::new(seed, start, events_per_second))
        .expect("simulator")
        .stored_events(n)
        .expect("simulated events are valid")
}
