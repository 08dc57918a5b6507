//! The analytic store on ClickHouse: the metrics every process of a cluster reads, the role
//! Vertica plays in SparkPost's pipeline. It implements the `eventhose-analytics` metrics
//! traits (`MetricsReader`, `MetricsWriter`) and is differential-tested against the in-memory
//! reference store, as the embedded DuckDB store is.
//!
//! # How the store works
//!
//! Chosen with `analytics = "http://user:password@host:8123/?database=eventhose"`; the store
//! creates its database, tables and views at open (`schema.rs`) and speaks ClickHouse's HTTP
//! interface with `RowBinary` rows (`client.rs`, `rowbinary.rs`).
//!
//! - **A commit is one block.** `MetricsWriter::commit` inserts one block of records into
//!   `metrics_in`, a `Null` table: a record per tally row, breakdown row, ledger change and
//!   identity of an event folded, and one for the position, each using the columns of its
//!   kind (`schema::Record`). Materialized views select each kind into the tables below.
//!   ClickHouse writes a block whole or not at all; the insert asks for a block as large as
//!   the commit, and its body is gzip-framed, so a writer that dies midway leaves a stream
//!   without its end, which the server refuses, where a plain body cut between two records
//!   would read as a shorter insert. This holds on every version, without the insert
//!   deduplication that 18.16's non-replicated tables lack. (A server that fails part-way
//!   through the views, say on a full disk, can leave some of them written; the insert then
//!   fails and the worker retries from its checkpoint, as after any failed commit.) One row of
//!   arrays per commit, fanned out by `ARRAY JOIN`, would be the compact form, but 18.16
//!   sizes an `ARRAY JOIN`'s output by the average array of the block and runs out of memory.
//! - **Aggregates** live in `metrics_minute`, `metrics_hour`, `metrics_day` and the same three
//!   of `breakdowns_…`: `SummingMergeTree` tables partitioned by UTC month, ordered by bucket
//!   and dimensions, so background merges do the compaction. Each view sums a commit's rows to
//!   its granularity. Reads sum again (`GROUP BY`), so parts not yet merged add up correctly.
//!   A query reads whole days from the day table, whole hours around them from the hour
//!   table and the edge minutes from the minute table (`eventhose_analytics::split`).
//! - **Position, ledger, repeats.** `metrics_position` (`ReplacingMergeTree`, the highest
//!   wins), `metrics_ledger` (first engagements, partitioned by day) and `metrics_applied`
//!   (identities by day applied, read back from the floor in `metrics_applied_floor`) are
//!   filled by the same block, so the checkpoint a worker resumes from always matches the
//!   counters.
//! - **A commit still running** when a worker restarts (the client gave up waiting, the server
//!   had not) would land after the new worker read its checkpoint, and its events would be
//!   counted twice. Every commit runs under a query id with the store's prefix, and
//!   `checkpoint` first waits until the server runs none of them.
//! - **Retention** drops whole partitions: months of aggregates, days of ledger and of applied
//!   identities (`ALTER TABLE … DROP PARTITION ID`).
//! - **Values** are written into statements as literals (`sql.rs`): 18.16 takes no query
//!   parameters. Strings are quoted and escaped; numbers are formatted.
//!
//! One metrics writer per database: the ledger of first engagements and the repeats are the
//! writer's memory, restored from the store at start.
//!
//! Supported servers: ClickHouse 18.16 and later (the statements are tested on Debian's 18.16
//! and replayed through a current engine).

mod client;
mod endpoint;
mod error;
mod metrics;
mod rowbinary;
mod schema;
mod sql;

#[cfg(test)]
mod replay_tests;

use std::time::Duration;

use eventhose_analytics::AnalyticsError;

pub use endpoint::{Endpoint, DEFAULT_DATABASE};
pub use error::ClickHouseError;

use client::Client;

/// Tuning of the ClickHouse store.
#[derive(Clone, Debug)]
pub struct ClickHouseOptions {
    /// The longest a statement may take, from connecting to the last byte of its answer.
    pub timeout: Duration,
    /// The largest answer read (a checkpoint's ledger is the largest); a larger one fails.
    pub max_response_bytes: u64,
}

impl Default for ClickHouseOptions {
    fn default() -> Self {
        ClickHouseOptions {
            timeout: Duration::from_secs(60),
            max_response_bytes: client::MAX_RESPONSE_BYTES,
        }
    }
}

/// The oldest server version the store's statements run on.
pub const OLDEST_SUPPORTED: (u32, u32) = (18, 16);

/// The ClickHouse analytic store.
pub struct ClickHouseStore {
    client: Client,
    database: String,
    version: String,
    /// The query id prefix of this database's commits.
    commit_prefix: String,
    timeout: Duration,
}

impl ClickHouseStore {
    /// Connects, checks the server's version, and creates what the store needs that is missing.
    pub fn open(
        endpoint: &Endpoint,
        options: &ClickHouseOptions,
    ) -> Result<ClickHouseStore, AnalyticsError> {
        let client = Client::new(
            endpoint.clone(),
            options.timeout,
            options.max_response_bytes,
        );
        let version = String::from_utf8_lossy(
            &client
                .query("SELECT version()")
                .map_err(|e| AnalyticsError::engine_in(format!("connecting to {endpoint}"), e))?,
        )
        .trim()
        .to_owned();
        check_version(&version).map_err(AnalyticsError::engine)?;
        let database = endpoint.database().to_owned();
        for statement in schema::statements(&database) {
            client
                .execute(&statement)
                .map_err(|e| AnalyticsError::engine_in("creating the store's tables", e))?;
        }
        Ok(ClickHouseStore {
            client,
            commit_prefix: format!("eventhose-{database}-metrics-commit-"),
            database,
            version,
            timeout: options.timeout,
        })
    }

    /// The server's version, as it states it.
    pub fn server_version(&self) -> &str {
        &self.version
    }

    /// The database the store keeps its tables in.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Runs a query that answers in `RowBinary`.
    fn rows(&self, sql: &str) -> Result<Vec<u8>, AnalyticsError> {
        self.client
            .query(&format!("{sql} FORMAT RowBinary"))
            .map_err(AnalyticsError::engine)
    }
}

/// Refuses a server older than [`OLDEST_SUPPORTED`].
fn check_version(version: &str) -> Result<(), ClickHouseError> {
    let mut parts = version.split('.').map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) if (major, minor) >= OLDEST_SUPPORTED => Ok(()),
        (Some(Ok(_)), Some(Ok(_))) => Err(ClickHouseError::Unexpected(format!(
            "server version {version} is older than {}.{}, the oldest supported",
            OLDEST_SUPPORTED.0, OLDEST_SUPPORTED.1
        ))),
        _ => Err(ClickHouseError::Unexpected(format!(
            "the server's version {version:?} is not major.minor…"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_18_16_on_are_accepted() {
        assert!(check_version("18.16.1").is_ok());
        assert!(check_version("26.9.2.1").is_ok());
        assert!(check_version("18.14.19").is_err());
        assert!(check_version("1.1.54394").is_err());
        assert!(check_version("banana").is_err());
    }
}
