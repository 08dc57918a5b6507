//! Fixtures the workspace's tests share, so that no crate's tests copy another's. A
//! dev-dependency only: nothing here is part of eventhose.

pub mod clickhouse;
pub mod files;
pub mod json_edits;
pub mod rabbitmq;
pub mod sample_events;

use proptest::test_runner::Config;

/// Property-test settings for `cases` cases without regression files: a failure found is kept
/// as a unit test instead, next to the property.
pub fn proptest_config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}
