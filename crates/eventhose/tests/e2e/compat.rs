//! SparkPost's own client libraries against a real server: the Node client (npm `sparkpost`)
//! and the Python client (PyPI `sparkpost`), each running `tests/compat/<client>` as a user
//! would write it from the client's README and examples. The server is fed a week of traffic
//! first; the scripts check the shape of every answer and print what they saw, which is
//! compared here with what was fed.
//!
//! Node with `tests/compat/node_modules` and Python with `tests/compat/.venv` must be installed
//! (`.ci/run` does it); without them these tests fail and say what to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::*;
use crate::receiver::{Behaviour, Receiver};

/// The longest one client's script may run.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// Days of traffic fed.
const DAYS: i64 = 7;

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

/// Feeds a week of traffic: a message a day to `user<d>@gmail.com`, injected and delivered,
/// and one to `gone@yahoo.com` three days ago, injected and hard-bounced; campaign `weekly`.
async fn feed_a_week(server: &Server) {
    let now = chrono::Utc::now().timestamp();
    let line = |kind: &str, id: String, at: i64, rcpt: &str, extra: Value| {
        let mut event = json!({
            "type": kind, "event_id": id, "timestamp": at.to_string(),
            "message_id": format!("m-{rcpt}"), "rcpt_to": rcpt, "campaign_id": "weekly",
        });
        if let (Some(event), Value::Object(extra)) = (event.as_object_mut(), extra) {
            event.extend(extra);
        }
        event.to_string() + "\n"
    };
    let mut body = String::new();
    for day in 0..DAYS {
        let at = now - day * 86_400 - 1_800;
        let rcpt = format!("user{day}@gmail.com");
        body += &line("injection", format!("i{day}"), at, &rcpt, json!({}));
        body += &line("delivery", format!("d{day}"), at + 60, &rcpt, json!({}));
    }
    let at = now - 3 * 86_400;
    body += &line("injection", "ib".into(), at, "gone@yahoo.com", json!({}));
    body += &line(
        "bounce",
        "b".into(),
        at + 60,
        "gone@yahoo.com",
        json!({"bounce_class": "10", "reason": "550 5.1.1 no such user"}),
    );
    let answer = ingest(server, ROOT_KEY, body).await;
    assert_eq!(
        answer.status(),
        200,
        "{}",
        answer.text().await.unwrap_or_default()
    );
    let fed = (2 * DAYS + 2) as u64;
    let from = a_week_ago();
    let events = format!("/api/v1/events/message?from={from}&per_page=1");
    let metrics =
        format!("/api/v1/metrics/deliverability?from={from}&metrics=count_injected&precision=hour");
    eventually("the week is searchable and counted", || async {
        let events = get_json(server, ROOT_KEY, &events).await;
        let injected = get_json(server, ROOT_KEY, &metrics).await;
        let events = events.and_then(|v| v["total_count"].as_u64());
        let injected = injected.and_then(|v| v["results"][0]["count_injected"].as_u64());
        events == Some(fed) && injected == Some(DAYS as u64 + 1)
    })
    .await;
}

/// Seven days ago, as the clients send times (UTC, minutes).
fn a_week_ago() -> String {
    (chrono::Utc::now() - chrono::Duration::days(DAYS))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Runs `program script` in `tests/compat` against `server`; returns what it printed, as JSON.
async fn run_client(program: PathBuf, script: &str, server: &Server, receiver: &str) -> Value {
    let mut command = Command::new(&program);
    command
        .arg(compat_dir().join(script))
        .current_dir(compat_dir())
        .env("EVENTHOSE_URL", &server.base)
        .env("EVENTHOSE_KEY", ROOT_KEY)
        .env("RECEIVER_URL", receiver)
        .env("FROM", a_week_ago());
    let out = run_to_end(command, script, SCRIPT_LIMIT).await;
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{script} printed {out:?}: {e}"))
}

async fn fed_server(dir: &Path) -> Server {
    let server = Server::start(dir, &loopback_targets(&[]));
    feed_a_week(&server).await;
    server
}

#[tokio::test]
async fn sparkpost_node_client_works_unchanged() {
    assert!(
        compat_dir()
            .join("node_modules/sparkpost/package.json")
            .exists(),
        "SparkPost's Node client is missing: run `npm ci` in crates/eventhose/tests/compat \
         (.ci/run does it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = fed_server(dir.path()).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let seen = run_client("node".into(), "node_client.js", &server, &receiver.url).await;
    assert_eq!(seen["webhook_renamed"], "Renamed Test Webhook");
    // Suppressions: the older booleans make one entry per type; case does not matter.
    assert_eq!(
        seen["suppression_types_of_test2"],
        json!(["non_transactional", "transactional"])
    );
    // Five written, and the week's hard bounce on both types.
    assert_eq!(seen["suppression_listed"], 5, "`limit` is the page size");
    assert_eq!(seen["suppression_total"], 7);
    assert_eq!(seen["suppression_after_delete"], 404);
    // Events: every delivery of the week, two a page, each once.
    assert_eq!(seen["events_total"], DAYS);
    assert_eq!(seen["events_seen"], DAYS);
    assert_eq!(seen["events_distinct"], DAYS);
    // Metrics over the week without `precision`.
    assert_eq!(seen["metrics_injected"], DAYS + 1);
    assert_eq!(seen["metrics_delivered"], DAYS);
    assert_eq!(seen["metrics_bounced"], 1);
    assert_eq!(
        seen["metrics_domains"],
        json!([["gmail.com", DAYS], ["yahoo.com", 1]])
    );
    assert_eq!(
        seen["metrics_domain_list"],
        json!(["gmail.com", "yahoo.com"])
    );
}

#[tokio::test]
async fn sparkpost_python_client_works_unchanged() {
    let python = compat_dir().join(".venv/bin/python");
    assert!(
        python.exists(),
        "SparkPost's Python client is missing: run `python3 -m venv .venv && .venv/bin/pip \
         install -r requirements.txt` in crates/eventhose/tests/compat (.ci/run does it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = fed_server(dir.path()).await;
    let seen = run_client(python, "python_client.py", &server, "").await;
    // `update` with `transactional: false` changes the non-transactional entry only: a false
    // flag never lifts a suppression.
    assert_eq!(
        seen["py1"],
        json!([
            ["non_transactional", "Updated description"],
            ["transactional", "Test description"]
        ])
    );
    assert_eq!(seen["listed"], 2);
    assert_eq!(seen["py2_after_delete"], 404);
    assert_eq!(seen["campaigns"], json!(["weekly"]));
    assert_eq!(seen["domains"], json!(["gmail.com", "yahoo.com"]));
}
