//! What the database records of the body files (see [`bodies`](super::bodies)): each day
//! file's committed length, and the blocks an erasure listed to be buried.

use std::collections::HashMap;
use std::path::Path;

use duckdb::Connection;
use eventhose_analytics::AnalyticsError;

use super::{query_pairs, BodyFiles};
use crate::engine;

/// Opens the body files in `dir` as the store last committed them (see
/// [`bodies`](super::bodies)): creates the tables of committed lengths and erased blocks, cuts
/// and removes what no commit covers, and buries the blocks a crash left listed as erased.
/// Returns the files and their committed lengths.
pub(crate) fn open_bodies(
    conn: &Connection,
    dir: &Path,
) -> Result<(BodyFiles, HashMap<String, u64>), AnalyticsError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS event_bodies (day_table VARCHAR PRIMARY KEY, length UBIGINT NOT NULL);
         CREATE TABLE IF NOT EXISTS event_bodies_erased (day_table VARCHAR NOT NULL, block UBIGINT NOT NULL);",
    )
    .map_err(engine)?;
    let lengths: HashMap<String, u64> =
        query_pairs(conn, "SELECT day_table, length FROM event_bodies", &[])?
            .into_iter()
            .collect();
    let files = BodyFiles::open(dir, &lengths)?;
    bury_erased(conn, &files)?;
    Ok((files, lengths))
}

/// Buries the blocks listed as erased, then unlists them.
pub(super) fn bury_erased(conn: &Connection, files: &BodyFiles) -> Result<(), AnalyticsError> {
    let listed = query_pairs::<String, u64>(
        conn,
        "SELECT day_table, block FROM event_bodies_erased",
        &[],
    )?;
    for (table, block) in &listed {
        files.bury(table, *block)?;
    }
    if !listed.is_empty() {
        conn.execute_batch("DELETE FROM event_bodies_erased")
            .map_err(engine)?;
    }
    Ok(())
}

/// Records a body file's committed length (inside the caller's transaction).
pub(super) fn set_length(
    conn: &Connection,
    table: &str,
    length: u64,
) -> Result<(), AnalyticsError> {
    conn.execute(
        "INSERT OR REPLACE INTO event_bodies VALUES (?, ?)",
        duckdb::params![table, length],
    )
    .map_err(engine)?;
    Ok(())
}
