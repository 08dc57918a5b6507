//! `eventhose erase --recipient ADDR`: GDPR erasure of a recipient's stored message events,
//! straight on the data directory's analytic store (which a running server holds locked), and
//! a tombstone in the state store so that late copies are dropped.

use anyhow::Context;
use eventhose_analytics::EventWriter;
use eventhose_analytics_duckdb::DuckStore;

use crate::config::Config;

/// Erases and prints what was removed, per event type.
pub fn run(config: Config, recipient: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        recipient.contains('@'),
        "--recipient must be an email address, got {recipient:?}"
    );
    let path = crate::analytics_backend::duckdb_path(&config);
    let store = DuckStore::open(&path, &config.analytics.store()).with_context(|| {
        format!(
            "cannot open {} (if `eventhose serve` is running, use DELETE /api/v1/events/message?recipients=… instead)",
            path.display()
        )
    })?;
    // The tombstone first: a server started later drops the recipient's events that are
    // still in the hose or come late, up to now.
    // Up to the allowed clock skew ahead, as the API does.
    let skew = i64::try_from(config.ingest.max_clock_skew_secs).unwrap_or(i64::MAX);
    crate::state_backend::open(&config, None)?.record_erasure(
        recipient,
        chrono::Utc::now().timestamp().saturating_add(skew),
    )?;
    let report = store.erase_recipient(recipient)?;
    for (event_type, count) in &report.erased {
        println!("{event_type}\t{count}");
    }
    println!("erased {} events of {recipient}", report.total());
    Ok(())
}
