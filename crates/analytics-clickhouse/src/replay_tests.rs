//! Every statement the store sends, replayed through a current ClickHouse engine (PyPI's
//! `chdb`, run by `tests/replay_on_current_engine.py`): the store is tested on the local
//! 18.16 server, and this proves a current server takes the same statements and answers the
//! same.

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use eventhose_analytics::{conformance, MemoryStore, MetricsWriter};
use eventhose_simulator::{SimConfig, Simulator};
use eventhose_test_support::clickhouse::ClickHouseDatabase;

use crate::{ClickHouseOptions, ClickHouseStore, Endpoint};

/// The Python with `chdb` installed: `TEST_EVENTHOSE_CHDB_PYTHON` (`.ci/run` sets it), else
/// `python3`.
fn python() -> String {
    std::env::var("TEST_EVENTHOSE_CHDB_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

#[test]
fn every_statement_runs_the_same_on_a_current_engine() {
    let database = ClickHouseDatabase::new();
    let endpoint = Endpoint::parse(&database.url()).expect("endpoint");
    let store = ClickHouseStore::open(&endpoint, &ClickHouseOptions::default()).expect("open");
    let memory = MemoryStore::new();
    let events = Simulator::new(SimConfig::new(7, 1_793_390_400, 0.05))
        .expect("simulator")
        .stored_events(6_000)
        .expect("valid events");
    let filled = conformance::fill(&store, &memory, &events);
    conformance::answers_match(&store, &memory, filled);
    conformance::time_series_match(&store, &memory, filled);
    conformance::breakdowns_and_values_match(&store, &memory, filled);
    let at = |t: i64| -> DateTime<Utc> { Utc.timestamp_opt(t, 0).single().expect("time") };
    store.checkpoint().expect("checkpoint");
    store
        .enforce_retention(
            at(filled.first + 86_400 * 40),
            at(filled.last),
            at(filled.last),
        )
        .expect("retention");
    store.checkpoint().expect("checkpoint");

    let exchanges = store.client.recorded.lock().expect("recorded").clone();
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, exchange) in exchanges.iter().enumerate() {
        let path = dir.path().join(format!("{i:05}"));
        std::fs::write(path.with_extension("sql"), &exchange.statement).expect("write");
        std::fs::write(path.with_extension("answer"), &exchange.answer).expect("write");
        if let Some(data) = &exchange.data {
            std::fs::write(path.with_extension("data"), data).expect("write");
        }
    }
    assert!(exchanges.len() > 300, "{} statements", exchanges.len());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replay_on_current_engine.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("the replay script runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert!(report.contains("replayed"), "{report}");
}
