//! Shared by the tests: a database of their own on the local ClickHouse server, and simulated
//! events.

use eventhose_analytics_clickhouse::{ClickHouseOptions, ClickHouseStore, Endpoint};
use eventhose_model::Event;
use eventhose_simulator::{SimConfig, Simulator};

/// The server the tests use: `EVENTHOSE_TEST_CLICKHOUSE`, else the local one `.ci/run` starts.
pub fn server() -> Endpoint {
    let url = std::env::var("EVENTHOSE_TEST_CLICKHOUSE")
        .unwrap_or_else(|_| "http://127.0.0.1:8123/".to_owned());
    Endpoint::parse(&url).expect("the test server's URL")
}

/// A database of the test's own, dropped when the test ends.
pub struct TestDatabase {
    pub endpoint: Endpoint,
}

impl TestDatabase {
    pub fn new() -> TestDatabase {
        let name = format!("eh_test_{}", uuid::Uuid::new_v4().simple());
        TestDatabase {
            endpoint: server().with_database(&name).expect("database name"),
        }
    }

    /// Opens the store in this database (creating it on first open).
    pub fn open(&self) -> ClickHouseStore {
        ClickHouseStore::open(&self.endpoint, &ClickHouseOptions::default()).expect("open")
    }

    /// Runs a statement directly on the server.
    pub fn execute(&self, sql: &str) -> String {
        let url = self.endpoint.to_string();
        let base = url.split('?').next().unwrap_or(&url).to_owned();
        let mut response = ureq::post(&base).send(sql).expect("statement sent");
        let text = response.body_mut().read_to_string().expect("answer read");
        text
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = self.execute(&format!(
            "DROP DATABASE IF EXISTS {}",
            self.endpoint.database()
        ));
    }
}

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
