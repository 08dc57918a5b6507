//! Shared by the tests: a database of their own on the local ClickHouse server, and simulated
//! events.

use eventhose_analytics_clickhouse::{ClickHouseOptions, ClickHouseStore, Endpoint};
use eventhose_simulator::{SimConfig, Simulator};
pub use eventhose_test_support::clickhouse::ClickHouseDatabase;

/// Opens the store in `db` (creating it on first open).
pub fn open(db: &ClickHouseDatabase) -> ClickHouseStore {
    let endpoint = Endpoint::parse(&db.url()).expect("the test database's URL");
    ClickHouseStore::open(&endpoint, &ClickHouseOptions::default()).expect("open")
}

/// `n` simulated events in storage form, from `start` at `events_per_second`.
pub fn simulated_events(n: usize, seed: u64, start: i64, events_per_second: f64) -> Vec<Vec<u8>> {
    Simulator::new(SimConfig::new(seed, start, events_per_second))
        .expect("simulator")
        .stored_events(n)
        .expect("simulated events are valid")
}
