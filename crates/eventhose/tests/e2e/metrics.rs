//! The Metrics API end to end: a real `eventhose serve` fed a deterministic event set, its
//! answers compared with values the test computes itself from the raw event JSON
//! ([`reference`]), bad parameters, and exactly-once counting across a SIGKILL.

mod api;
mod clock;
mod events;
mod reference;

mod bad_params;
mod breakdowns;
mod clickhouse;
mod crash;
mod dst;
mod repeats;
mod reports;
mod scoping;
mod series;
mod uniques;

use serde_json::{Map, Value};

use crate::harness::*;
use api::{eventually_equal, ingest_all, ok, params};
use clock::DAY;
use reference::{Fact, Filter, Totals, METRICS};

/// A server loaded with the standard event set.
pub struct Loaded {
    /// Keeps the data directory alive.
    pub dir: tempfile::TempDir,
    pub server: Server,
    /// Midnight UTC of the day the events happen on.
    pub base: i64,
    /// What the test expects, from the events.
    pub facts: Vec<Fact>,
}

/// Midnight UTC three days ago: recent enough for every retention (aggregates and the
/// unique-engagement window), fixed for the whole run.
pub fn base_day() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    (now.div_euclid(DAY) - 3) * DAY
}

/// Starts a server, ingests the simulated and hand-written events, and waits until the whole
/// day's summary shows all of them.
pub async fn loaded() -> Loaded {
    loaded_with(&[]).await
}

/// [`loaded`], the server started with `env`.
pub async fn loaded_with(env: &[(&str, &str)]) -> Loaded {
    let base = base_day();
    let mut all = events::simulated(base, 4_000);
    all.extend(events::edge_cases(base));
    let facts = reference::facts(&all);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), env);
    ingest_all(&server, &all).await;
    let loaded = Loaded {
        dir,
        server,
        base,
        facts,
    };
    let expected = vec![Value::Object(row(&Totals::of(&loaded.facts), &METRICS))];
    eventually_equal(
        "the day's summary counts every event",
        &expected,
        || async { summary(&loaded.server, base, base + DAY, &[]).await },
    )
    .await;
    loaded
}

/// The summary's `results` for `[from, to)` (UTC, 1min precision) with extra parameters.
pub async fn summary(
    server: &Server,
    from: i64,
    to: i64,
    extra: &[(&'static str, String)],
) -> Vec<Value> {
    let mut query = window(from, to, &METRICS.join(","));
    query.extend_from_slice(extra);
    let body = ok(server, "/api/v1/metrics/deliverability", &query).await;
    body["results"].as_array().cloned().unwrap_or_default()
}

/// `from`, `to` (UTC) and `metrics` parameters.
pub fn window(from: i64, to: i64, metrics: &str) -> Vec<(&'static str, String)> {
    let mut query = params(&[("metrics", metrics)]);
    query.push(("from", clock::param_time(from, 0)));
    query.push(("to", clock::param_time(to, 0)));
    query
}

/// A result row of `metrics` from reference totals.
pub fn row(totals: &Totals, metrics: &[&str]) -> Map<String, Value> {
    metrics
        .iter()
        .map(|m| (m.to_string(), Value::from(totals.get(m))))
        .collect()
}

/// Reference totals of the facts in `[from, to)` passing `filter`.
pub fn totals(facts: &[Fact], from: i64, to: i64, filter: &Filter) -> Totals {
    Totals::of(reference::select(facts, from, to, filter))
}
