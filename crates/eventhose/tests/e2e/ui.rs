//! The Reports UI in a real browser. Each test starts `eventhose serve`, feeds it a few hours
//! of simulator traffic over the ingest API, waits until the Metrics and Events APIs show all
//! of it, then runs one scenario of `tests/browser/` with Node: playwright-core drives
//! Debian's Chromium (headless, loopback only) through the UI and checks what it shows against
//! the APIs, failing on any console error. Each scenario saves its screenshot to
//! `docs/screenshots/<scenario>.png`.
//!
//! Chromium (`/usr/bin/chromium`), Node and `tests/browser/node_modules` must be installed
//! (`.ci/run` does it); without them these tests fail and say what to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eventhose_simulator::{SimConfig, Simulator};

use crate::harness::*;
use crate::receiver::{Behaviour, Receiver};

/// Debian's Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The longest a scenario may run (the scenario gives up by itself a little earlier).
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

/// Simulated events fed before a scenario, spread over the last three hours.
const EVENTS: usize = 4_000;

/// Events fed per ingest request.
const CHUNK: usize = 500;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn screenshot(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/screenshots")
        .join(format!("{scenario}.png"))
}

/// Fails, naming what to install, unless Chromium, Node and playwright-core are there.
fn require_tools() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's Chromium \
         (apt-get install -y chromium; .ci/run installs it)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "node is missing: the browser tests need Node.js 20 or later (apt-get install -y nodejs npm)"
    );
    assert!(
        browser_dir()
            .join("node_modules/playwright-core/package.json")
            .exists(),
        "playwright-core is missing: run `npm ci` in crates/eventhose/tests/browser \
         (.ci/run does it)"
    );
}

/// A simulator whose traffic starts three hours ago and lasts two and a half, with compressed
/// message lives so that whole lifecycles (retries, bounces, opens, clicks, unsubscribes) fit.
fn simulator() -> Simulator {
    simulator_over(3 * 3600, 2.5 * 3600.0, EVENTS, 0.01)
}

/// A simulator of `events` events over `span` seconds from `ago` seconds ago.
fn simulator_over(ago: i64, span: f64, events: usize, time_scale: f64) -> Simulator {
    let now = chrono::Utc::now().timestamp();
    let mut config = SimConfig::new(20_261_127, now - ago, events as f64 / span);
    config.time_scale = time_scale;
    config.catalog.recipient_domains = 12;
    config.catalog.recipients = 300;
    config.catalog.sending_domains = 3;
    config.catalog.campaigns = 5;
    config.catalog.templates = 4;
    config.catalog.ip_pools = 3;
    config.catalog.sending_ips = 4;
    config.catalog.subaccounts = 2;
    let o = &mut config.outcomes;
    o.policy_rejection = 0.03;
    o.bounce = 0.08;
    o.delay = 0.10;
    o.out_of_band = 0.03;
    let e = &mut config.engagement;
    e.open = 0.5;
    e.click = 0.2;
    e.spam_complaint = 0.01;
    e.list_unsubscribe = 0.02;
    e.link_unsubscribe = 0.01;
    Simulator::new(config).expect("valid simulator config")
}

/// `n` events as NDJSON request bodies of [`CHUNK`] lines, and how many count as targeted.
fn bodies(simulator: &mut Simulator, n: usize) -> (Vec<Vec<u8>>, u64) {
    let mut targeted = 0;
    let mut out = Vec::new();
    let mut body = Vec::new();
    for i in 0..n {
        let event = simulator.next_event();
        if matches!(
            event.event_type.as_str(),
            "injection" | "policy_rejection" | "generation_failure" | "generation_rejection"
        ) {
            targeted += 1;
        }
        body.extend_from_slice(&event.to_line());
        if (i + 1) % CHUNK == 0 || i + 1 == n {
            out.push(std::mem::take(&mut body));
        }
    }
    (out, targeted)
}

async fn feed(server: &Server, bodies: &[Vec<u8>]) {
    for body in bodies {
        let response = ingest(server, ROOT_KEY, body.clone()).await;
        assert_eq!(
            response.status(),
            200,
            "ingest: {:?}",
            response.text().await
        );
    }
}

/// Waits until the Events API holds all `events` and the Metrics API counts all `targeted`.
async fn visible(server: &Server, events: usize, targeted: u64) {
    let now = chrono::Utc::now();
    let wall = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    let utc = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let metrics = format!(
        "/api/v1/metrics/deliverability?from={}&to={}&precision=hour&metrics=count_targeted",
        wall(now - chrono::Duration::hours(6)),
        wall(now + chrono::Duration::hours(1)),
    );
    let search = format!(
        "/api/v1/events/message?from={}&to={}&per_page=1",
        utc(now - chrono::Duration::hours(6)),
        utc(now + chrono::Duration::hours(1)),
    );
    eventually(
        "the simulated traffic is visible through the APIs",
        || async {
            let counted = get_json(server, ROOT_KEY, &metrics)
                .await
                .and_then(|v| v["results"][0]["count_targeted"].as_u64());
            let stored = get_json(server, ROOT_KEY, &search)
                .await
                .and_then(|v| v["total_count"].as_u64());
            counted == Some(targeted) && stored == Some(events as u64)
        },
    )
    .await;
}

/// Runs `tests/browser/<scenario>.mjs` against `server`; fails with its output unless it
/// exits 0 within [`SCENARIO_LIMIT`]. Returns what it printed.
async fn scenario(name: &str, server: &Server, receiver: &str) -> String {
    scenario_as(name, server, ROOT_KEY, receiver).await
}

/// [`scenario`], signed in with `key`. Returns what the scenario printed.
async fn scenario_as(name: &str, server: &Server, key: &str, receiver: &str) -> String {
    let script = browser_dir().join(format!("{name}.mjs"));
    let mut node = Command::new("node");
    node.arg(&script)
        .arg(&server.base)
        .arg(key)
        .arg(receiver)
        .arg(screenshot(name))
        .current_dir(browser_dir());
    let out = run_to_end(node, &format!("browser scenario {name}"), SCENARIO_LIMIT).await;
    println!("{out}");
    out
}

/// Starts a server with `env`, feeds it, and waits until the traffic is visible.
async fn fed_server(dir: &Path, env: &[(&str, &str)]) -> (Server, Simulator) {
    require_tools();
    let server = Server::start(dir, env);
    let mut simulator = simulator();
    let (bodies, targeted) = bodies(&mut simulator, EVENTS);
    feed(&server, &bodies).await;
    visible(&server, EVENTS, targeted).await;
    (server, simulator)
}

/// Sign-in; the summary's headline numbers, rates and chart equal the Metrics API's.
#[tokio::test]
async fn ui_summary_matches_the_metrics_api() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = fed_server(dir.path(), &[]).await;
    scenario("summary", &server, "").await;
}

/// Drill down from a recipient domain; the filter chip, the URL and removing it.
#[tokio::test]
async fn ui_drilldown_by_domain() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = fed_server(dir.path(), &[]).await;
    scenario("drilldown", &server, "").await;
}

/// Search an event by recipient and open its message's history.
#[tokio::test]
async fn ui_event_search_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = fed_server(dir.path(), &[]).await;
    scenario("events", &server, "").await;
}

/// Create a webhook to a receiver on loopback and see its batch status, while traffic flows.
#[tokio::test]
async fn ui_webhook_create_and_batch_status() {
    let dir = tempfile::tempdir().unwrap();
    // The receiver refuses the first batch POSTs; with two attempts per batch, the first
    // batches run out of attempts and are kept as failed, for the UI to replay.
    let receiver = Receiver::start(Behaviour::FailFirst(12, 503)).await;
    let env = loopback_targets(&[
        ("EVENTHOSE_WEBHOOKS__RETRY_SCHEDULE", "1s"),
        ("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "200"),
    ]);
    let (server, mut simulator) = fed_server(dir.path(), &env).await;
    // Events keep arriving while the scenario creates the webhook and waits for batches.
    let (more, _) = bodies(&mut simulator, 4_000);
    let small: Vec<Vec<u8>> = more
        .iter()
        .flat_map(|body| {
            body.split_inclusive(|b| *b == b'\n')
                .collect::<Vec<_>>()
                .chunks(20)
                .map(|lines| lines.concat())
                .collect::<Vec<_>>()
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let (stop, base) = (stop.clone(), server.base.clone());
        tokio::spawn(async move {
            for body in small {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let _ = client()
                    .post(format!("{base}/api/v1/ingest/events"))
                    .header("Authorization", ROOT_KEY)
                    .header("Content-Type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let output = scenario("webhooks", &server, &receiver.url).await;
    stop.store(true, Ordering::SeqCst);
    let _ = feeder.await;
    let replayed = output
        .lines()
        .find_map(|line| line.strip_prefix("replayed "))
        .expect("the scenario names the batch it replayed");
    let posts = || {
        receiver
            .batches()
            .iter()
            .filter(|b| b.header("x-messagesystems-batch-id") == Some(replayed))
            .count()
    };
    // Posted twice (both refused), then once more on replay.
    eventually("the replayed batch reaches the receiver", || {
        let done = posts() >= 3;
        async move { done }
    })
    .await;
    assert!(
        !receiver.batches().is_empty(),
        "the receiver got the webhook's batches"
    );
    let first = &receiver.batches()[0];
    assert_eq!(
        first.header("x-test-source"),
        Some("reports-ui"),
        "the custom header set in the UI is sent"
    );
    assert!(
        first
            .header("authorization")
            .is_some_and(|v| v.starts_with("Basic ")),
        "the basic authentication set in the UI is sent"
    );
}

/// Add a suppression, find it and remove it.
#[tokio::test]
async fn ui_suppression_add_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = fed_server(dir.path(), &[]).await;
    scenario("suppressions", &server, "").await;
}

/// A key with only metrics/view and webhooks/view: what it may not do is hidden or disabled.
#[tokio::test]
async fn ui_grants_hide_what_the_key_may_not_do() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = fed_server(dir.path(), &[]).await;
    let viewer = keys(
        dir.path(),
        &[
            "create",
            "--grant",
            "metrics/view",
            "--grant",
            "webhooks/view",
            "--label",
            "report viewer",
        ],
    );
    scenario_as("grants", &server, viewer.trim(), "").await;
}

/// The bounce, rejection and delay reports and the health view render, without errors.
#[tokio::test]
async fn ui_reports_and_health_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = fed_server(dir.path(), &[]).await;
    scenario("health", &server, "").await;
}

/// Six months of traffic: the summary report shows what the API counts (its render time is
/// printed; BENCHMARKS.md measures it on a full-size store).
#[tokio::test]
async fn ui_summary_of_six_months_matches_the_api() {
    const DAYS: i64 = 175;
    const SIX_MONTHS_EVENTS: usize = 30_000;
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut simulator = simulator_over(
        DAYS * 86_400,
        (DAYS * 86_400 - 3_600) as f64,
        SIX_MONTHS_EVENTS,
        1.0,
    );
    let (bodies, targeted) = bodies(&mut simulator, SIX_MONTHS_EVENTS);
    feed(&server, &bodies).await;
    let from = (chrono::Utc::now() - chrono::Duration::days(DAYS + 2)).format("%Y-%m-%dT00:00");
    let metrics =
        format!("/api/v1/metrics/deliverability?from={from}&precision=day&metrics=count_targeted");
    eventually("six months of traffic are counted", || async {
        get_json(&server, ROOT_KEY, &metrics)
            .await
            .and_then(|v| v["results"][0]["count_targeted"].as_u64())
            == Some(targeted)
    })
    .await;
    scenario("six-months", &server, "").await;
}
