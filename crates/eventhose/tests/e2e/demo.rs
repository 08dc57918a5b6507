//! `eventhose demo`: within a minute, the APIs behind the Reports UI's Summary, Bounces &
//! delays, Message events, Webhooks and Suppressions views all have data; SIGTERM stops it
//! cleanly and removes its temporary data directory.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// How long the demo may take to fill every view.
const WITHIN: Duration = Duration::from_secs(60);

async fn get(server: &Server, key: &str, path: &str) -> Value {
    get_json(server, key, path).await.unwrap_or(Value::Null)
}

/// What each view needs, `None` once it has data.
async fn views_still_empty(server: &Server, key: &str) -> Vec<&'static str> {
    let from = (chrono::Utc::now() - chrono::Duration::hours(3))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let positive = |v: &Value| v.as_u64().is_some_and(|n| n > 0);
    let mut empty = Vec::new();
    let summary = get(
        server,
        key,
        &format!(
            "/api/v1/metrics/deliverability?from={from}&metrics=count_targeted,count_delivered"
        ),
    )
    .await;
    if !positive(&summary["results"][0]["count_delivered"]) {
        empty.push("Summary");
    }
    let bounces = get(
        server,
        key,
        &format!("/api/v1/metrics/deliverability/bounce-reason?from={from}&metrics=count_bounce"),
    )
    .await;
    let delays = get(
        server,
        key,
        &format!("/api/v1/metrics/deliverability/delay-reason?from={from}"),
    )
    .await;
    let has_rows = |v: &Value| v["results"].as_array().is_some_and(|rows| !rows.is_empty());
    if !has_rows(&bounces) || !has_rows(&delays) {
        empty.push("Bounces & delays");
    }
    let events = get(server, key, "/api/v1/events/message?per_page=1").await;
    if !positive(&events["total_count"]) {
        empty.push("Message events");
    }
    let webhooks = get(server, key, "/api/v1/webhooks").await;
    let batches = match webhooks["results"][0]["id"].as_str() {
        Some(id) => get(server, key, &format!("/api/v1/webhooks/{id}/batch-status")).await,
        None => Value::Null,
    };
    if !has_rows(&batches) {
        empty.push("Webhooks");
    }
    let suppressions = get(server, key, "/api/v1/suppression-list/summary").await;
    if !positive(&suppressions["results"]["total"]) {
        empty.push("Suppressions");
    }
    empty
}

#[tokio::test]
async fn demo_fills_every_view_within_a_minute_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().to_str().unwrap().to_owned();
    // No bootstrap key: the demo makes its own and prints it.
    let server = Server::spawn(
        &["demo", "--listen", "127.0.0.1:0", "--backfill", "30m"],
        &[("EVENTHOSE_BOOTSTRAP_KEY", ""), ("TMPDIR", &tmp_path)],
    );
    assert_eq!(server.printed("Reports UI:"), format!("{}/", server.base));
    let key = server.printed("API key:");
    assert_eq!(key.len(), 40, "{key}");
    let ui = client().get(server.url("/")).send().await.expect("the UI");
    assert_eq!(ui.status(), 200);
    let data_dirs = || {
        std::fs::read_dir(tmp.path())
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(data_dirs(), 1, "the demo's temporary data directory");

    let deadline = Instant::now() + WITHIN;
    loop {
        let empty = views_still_empty(&server, &key).await;
        if empty.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after {} s these views are still empty: {empty:?}",
            WITHIN.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let status = server.terminate();
    assert!(status.success(), "{status}");
    assert_eq!(data_dirs(), 0, "the temporary data directory is removed");
}
