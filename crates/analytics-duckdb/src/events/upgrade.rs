//! The layout upgrade of the day tables at open.

use duckdb::Connection;
use eventhose_analytics::AnalyticsError;

use super::{layout, parse_day_table, query_pairs};
use crate::{engine, in_transaction};

/// Brings the day tables to the layout this build writes: tables of the previous layout are
/// upgraded in place (one transaction); a store with any other layout (development builds
/// before the layout settled) is refused.
pub(crate) fn upgrade_layout(conn: &Connection) -> Result<(), AnalyticsError> {
    let (expected, previous) = (layout::column_list(), layout::previous_column_list());
    let mut upgrades = String::new();
    for (name, columns) in day_table_layouts(conn)? {
        if columns == expected {
            continue;
        }
        if columns != previous {
            return Err(AnalyticsError::Internal(format!(
                "table {name} has another column layout than this version writes; \
                 drop the events_* tables (message events only) or use a new data directory"
            )));
        }
        upgrades.push_str(&layout::upgrade_from_previous(&name));
    }
    if !upgrades.is_empty() {
        in_transaction(conn, || conn.execute_batch(&upgrades).map_err(engine))?;
        tracing::info!("upgraded the message event tables to this version's layout");
    }
    Ok(())
}

/// Each day table with its columns in [`layout::column_list`]'s form.
pub(super) fn day_table_layouts(
    conn: &Connection,
) -> Result<Vec<(String, String)>, AnalyticsError> {
    let tables = query_pairs::<String, String>(
        conn,
        "SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index) \
         FROM duckdb_columns() WHERE NOT internal AND table_name LIKE 'events\\_%' ESCAPE '\\' \
         GROUP BY table_name",
        &[],
    )?;
    Ok(tables
        .into_iter()
        .filter(|(name, _)| parse_day_table(name).is_some())
        .collect())
}
