//! `eventhose-bench soak`, short: a minute at a small rate through the same faults as the long
//! runs (the webhook receiver failing 5 % of POSTs and down for a while, the server killed with
//! SIGKILL and restarted on its data directory, on RabbitMQ the broker stopped and started),
//! on the binaries of this build. The soak checks everything it promises and exits non-zero
//! on a violation; these tests assert the totals of its `summary.json`, never a timing.
//!
//! The RabbitMQ test stops the local broker for a few seconds, which would break any other
//! test using it meanwhile: `.config/nextest.toml` runs these tests alone.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs the soak on `hose` for a minute at 200 events/s; returns its `summary.json`.
fn soak(hose: &str) -> Value {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_eventhose-bench"))
        .args([
            "soak",
            "--hose",
            hose,
            "--minutes",
            "1",
            "--rate",
            "200",
            "--batch",
            "20",
            "--sample-every",
            "2s",
            "--broker-outage",
            "5s",
            "--drain-timeout",
            "3m",
            // Memory is no total: a minute says nothing about growth.
            "--max-rss-growth",
            "0",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the soak failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for plot in [
        "ingest-rate.png",
        "subscriber-lag.png",
        "webhook-latency.png",
        "server-rss.png",
    ] {
        assert_png(&out.path().join(plot));
    }
    assert!(stdout.contains("| verdict | no violation |"), "{stdout}");
    let summary = std::fs::read(out.path().join("summary.json")).unwrap();
    serde_json::from_slice(&summary).unwrap()
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is no PNG",
        path.display()
    );
}

/// The totals every run must have.
fn assert_totals(summary: &Value) {
    let n = |pointer: &str| {
        summary
            .pointer(pointer)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("no {pointer} in {summary:#}"))
    };
    let acked = n("/sent/acked_events");
    assert!(acked > 0, "nothing was acknowledged");
    assert_eq!(
        acked,
        n("/sent/sent_events"),
        "every event sent is acknowledged"
    );
    assert_eq!(n("/sent/abandoned_requests"), 0);
    assert_eq!(n("/restarts"), 1, "the server was killed and restarted");
    assert_eq!(n("/receiver_outages"), 1);
    assert!(
        n("/webhook_posts_failed") > 0,
        "the receiver failed some POSTs"
    );

    assert_eq!(n("/verdict/message_events/missing"), 0);
    assert_eq!(n("/verdict/message_events/duplicated"), 0);
    assert_eq!(n("/verdict/message_events/unexpected"), 0);
    assert!(n("/verdict/message_events/expected") > 0);
    let metrics = summary["verdict"]["metrics"].as_array().unwrap();
    assert!(!metrics.is_empty());
    for metric in metrics {
        assert_eq!(metric["expected"], metric["actual"], "{metric}");
    }
    let injected = metrics
        .iter()
        .find(|m| m["metric"] == "count_injected")
        .unwrap();
    assert!(injected["expected"].as_u64().unwrap() > 0);
    assert_eq!(n("/verdict/webhook/expected"), acked);
    assert_eq!(
        n("/verdict/webhook/delivered"),
        acked,
        "every event reached the webhook"
    );
    assert_eq!(n("/verdict/webhook/unexpected"), 0);
    assert_eq!(n("/verdict/suppressions/missing"), 0);
    assert_eq!(n("/verdict/suppressions/unexpected"), 0);
    assert!(
        n("/verdict/suppressions/expected") > 0,
        "some events suppress"
    );
    assert_eq!(summary["verdict"]["violations"], serde_json::json!([]));
}

mod embedded {
    #[test]
    fn soak_through_a_crash_keeps_every_acknowledged_event() {
        let summary = super::soak("embedded");
        super::assert_totals(&summary);
        assert_eq!(summary["broker_restarts"], 0);
    }
}

mod amqp {
    #[test]
    fn soak_through_a_crash_and_a_broker_restart_keeps_every_acknowledged_event() {
        let summary = super::soak("amqp");
        super::assert_totals(&summary);
        assert_eq!(summary["broker_restarts"], 1);
    }
}
