//! `eventhose demo`: a server full of data in one command. It serves on a fresh temporary data
//! directory (or `--data-dir`), with a key holding every grant, a webhook to a receiver of its
//! own on loopback (so batch status has rows), two hours of simulated traffic sent at once and
//! a live stream after that, and prints where the Reports UI is and the key to sign in with.
//! Ctrl-C (or SIGTERM) stops everything and removes the temporary directory.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::http::StatusCode;
use axum::routing::post;
use clap::Args;
use eventhose_simulator::sender::{self, SendConfig};
use eventhose_simulator::{SimConfig, Simulator};
use eventhose_state::NewKey;
use tokio::net::TcpListener;

use crate::cli::ConfigArgs;
use crate::config::Config;

/// The events a demo webhook receives.
const WEBHOOK_EVENTS: [&str; 8] = [
    "injection",
    "delivery",
    "bounce",
    "delay",
    "open",
    "click",
    "spam_complaint",
    "list_unsubscribe",
];

/// How long the server may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(60);

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Simulated events per second of the live stream.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Past traffic sent at once before the live stream, e.g. 2h (0s for none).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2h")]
    pub backfill: Duration,
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let temporary = match args.config.data_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("eventhose-demo-")
                .tempdir()
                .context("cannot create a temporary data directory")?,
        ),
    };
    let mut config = args.config.load(args.listen)?;
    if let Some(dir) = &temporary {
        config.data_dir = dir.path().to_path_buf();
    }
    let key = demo_key(&config)?;
    // The demo's own receiver listens on loopback, on a port of its choosing, and every batch
    // is recorded so that batch status shows them.
    config.allow_private_targets = true;
    config.webhooks.allow_any_port = true;
    config.webhooks.record_every_batch = true;

    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let base = format!("http://{}", listener.local_addr()?);
    let receiver = start_receiver().await?;
    let server = tokio::spawn(crate::serve::serve_on(config, listener));

    let prepared = async {
        wait_until_ready(&base).await?;
        create_webhook(&base, &key, &receiver).await
    };
    if let Err(e) = prepared.await {
        server.abort();
        return Err(e);
    }
    println!("Reports UI: {base}/");
    println!("API key:    {key}");
    println!("Sending simulated traffic; Ctrl-C stops the demo.");
    let traffic = tokio::spawn(stream_traffic(base, key, args.rate, args.backfill));

    let served = server.await;
    traffic.abort();
    drop(temporary);
    served.context("the server task failed")?
}

/// The key to sign in with: the configured bootstrap key, or a new one with every grant.
fn demo_key(config: &Config) -> anyhow::Result<String> {
    if let Some(key) = &config.bootstrap_key {
        return Ok(key.0.clone());
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let store = crate::state_backend::open(config, None)?;
    let (_, secret) = store.create_key(NewKey {
        label: "demo".into(),
        grants: eventhose_state::ALL_GRANTS
            .iter()
            .map(|g| g.to_string())
            .collect(),
        subaccount: None,
        secret: None,
    })?;
    Ok(secret)
}

/// A webhook endpoint on loopback that answers every POST with 200; returns its URL.
async fn start_receiver() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot start the demo's webhook receiver")?;
    let url = format!("http://{}/webhook", listener.local_addr()?);
    let app = axum::Router::new().route("/webhook", post(|| async { StatusCode::OK }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the demo's webhook receiver stopped");
        }
    });
    Ok(url)
}

async fn wait_until_ready(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    loop {
        let ready = client.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the server was not ready within {} s",
            READY_WITHIN.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_webhook(base: &str, key: &str, target: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "name": "Demo receiver",
        "target": target,
        "events": WEBHOOK_EVENTS,
    });
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v1/webhooks"))
        .header("Authorization", key)
        .json(&body)
        .send()
        .await
        .context("cannot create the demo webhook")?;
    let status = answer.status();
    anyhow::ensure!(
        status.is_success(),
        "creating the demo webhook answered {status}: {}",
        answer.text().await.unwrap_or_default()
    );
    Ok(())
}

/// A simulator of `rate` events per second from `start`, with message lives compressed a
/// hundredfold so that whole lifecycles (retries, bounces, opens, clicks) happen within minutes.
fn simulator(seed: u64, start: i64, rate: f64) -> anyhow::Result<Simulator> {
    let mut config = SimConfig::new(seed, start, rate);
    config.time_scale = 0.01;
    config.catalog.subaccounts = 2;
    let outcomes = &mut config.outcomes;
    outcomes.bounce = 0.06;
    outcomes.delay = 0.08;
    outcomes.policy_rejection = 0.02;
    let engagement = &mut config.engagement;
    engagement.open = 0.5;
    engagement.click = 0.2;
    engagement.spam_complaint = 0.005;
    engagement.list_unsubscribe = 0.01;
    Simulator::new(config).context("invalid demo simulation")
}

/// Sends `backfill` of past traffic at once, then a live stream at `rate` until aborted.
async fn stream_traffic(base: String, key: String, rate: f64, backfill: Duration) {
    let now = chrono::Utc::now().timestamp();
    let past_rate = 3.0;
    let past_seconds = backfill.as_secs_f64();
    if past_seconds > 0.0 {
        let start = now - backfill.as_secs() as i64;
        match simulator(1, start, past_rate) {
            Ok(mut past) => {
                // `as` saturates: an absurd backfill is capped, not wrapped.
                #[allow(clippy::cast_possible_truncation)]
                let events = (past_seconds * past_rate) as usize;
                let stream = std::iter::from_fn(move || Some(past.next_event())).take(events);
                if let Err(e) =
                    sender::send(SendConfig::new(base.clone(), key.clone()), stream).await
                {
                    tracing::warn!(error = %e, "the demo's past traffic was not all sent");
                }
            }
            Err(e) => tracing::error!(error = %e, "no demo traffic"),
        }
    }
    let mut live_config = SendConfig::new(base, key);
    live_config.rate = Some(rate);
    // About one request a second. `as` saturates (NaN and negatives give 0, raised to 1).
    #[allow(clippy::cast_possible_truncation)]
    let batch_size = (rate.ceil() as usize).max(1);
    live_config.batch_size = batch_size;
    match simulator(2, chrono::Utc::now().timestamp(), rate) {
        Ok(mut live) => {
            let stream = std::iter::from_fn(move || Some(live.next_event()));
            if let Err(e) = sender::send(live_config, stream).await {
                tracing::warn!(error = %e, "the demo's live traffic stopped");
            }
        }
        Err(e) => tracing::error!(error = %e, "no live demo traffic"),
    }
}
