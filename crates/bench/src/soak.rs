//! `eventhose-bench soak`: a long run at a fixed rate with faults on the way, then a proof from
//! the outside that nothing acknowledged was lost or applied twice.
//!
//! One `eventhose serve` child process (fresh data directory; every subscriber on) on the
//! embedded hose or on RabbitMQ, one webhook for every event type aimed at a receiver in this
//! process. Simulated events go to the ingest API at `--rate`, each request retried until it
//! is answered 200 (with an `Idempotency-Key`, so a retry is safe), and every acknowledged
//! event is noted. On the way ([`faults`]): the receiver fails every `--fail-every`-th POST
//! with a 500 throughout, and is down (connections refused) for a tenth of the run; the server
//! is killed with SIGKILL and started again on the same data directory; on RabbitMQ the broker
//! is stopped and started again (`rabbitmqctl stop_app` / `start_app`: this disturbs every
//! other user of the broker). Meanwhile [`sampling`] notes the ingest rate, each subscriber's
//! lag, the webhook latency and the server's RSS.
//!
//! At the end the run waits (bounded) for the subscribers to drain, then [`verify`] checks,
//! through the public APIs and the receiver: every acknowledged event is a message event
//! exactly once, the Metrics API's totals are what the acknowledged events make, every event
//! reached the webhook at least once, every suppression the rules call for exists (and no
//! other), and the RSS stayed flat. [`report`] writes the Markdown summary, the samples and a
//! JSON summary to `--out`, [`plot`] the PNG plots; any violation fails the run.

mod expect;
mod faults;
mod ledger;
mod load;
mod plot;
mod report;
mod sampling;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::amqp::{delete_prefix, webhook_loaded};
use crate::scratch::bench_dir;
use crate::webhooks::create_webhook;
use crate::webhooks::receiver::{Receiver, Slow};
use faults::ServerSlot;
use ledger::Ledger;
use sampling::{Deliveries, LagSource};

/// Options of `eventhose-bench soak`.
#[derive(Debug, Args)]
pub struct SoakBench {
    /// How long to send events, in minutes (fractions allowed).
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Events sent per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// The hose the server runs on.
    #[arg(long, value_enum, default_value_t = Hose::Embedded)]
    hose: Hose,
    /// Where the plots and the summaries go (default: `soak-<hose>-<unix time>` here).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Events per ingest request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Ingest requests in flight at most.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Time between samples.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    sample_every: Duration,
    /// The receiver answers every N-th POST that carries events with a 500 (20: 5 %; 0: none).
    #[arg(long, default_value_t = 20)]
    fail_every: u64,
    /// Fail when the median RSS of the last quarter of the run exceeds that of the first
    /// quarter by more than this factor (0: do not check).
    #[arg(long, default_value_t = 1.5)]
    max_rss_growth: f64,
    /// Longest wait, after the last event was acknowledged, for everything to arrive.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    drain_timeout: Duration,
    /// The RabbitMQ broker of `--hose amqp` (its `rabbitmqctl` must work on this machine).
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// How long the broker stays stopped (`--hose amqp`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    broker_outage: Duration,
    /// Where the server keeps its data (default: a new directory under the temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the data directory (and, on RabbitMQ, the run's queues) after the run.
    #[arg(long)]
    keep: bool,
    /// The simulator's seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The hose a soak runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Hose {
    /// The embedded log.
    Embedded,
    /// RabbitMQ (quorum queues, the default).
    Amqp,
}

impl Hose {
    /// `embedded` or `amqp`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Amqp => "amqp",
        }
    }
}

/// The webhook retry schedule of the run: about 5.6 minutes of retries, so a batch outlives
/// the receiver's longest outage ([`faults::MAX_RECEIVER_OUTAGE`]).
const RETRY_SCHEDULE: &str = "2s,5s,10s,20s,30s,30s,30s,30s,30s,30s,30s,30s";

/// Runs the soak; fails when a check fails.
pub async fn run(eventhose: &Path, bench: SoakBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        bench.minutes.is_finite() && bench.minutes > 0.0,
        "--minutes must be positive"
    );
    anyhow::ensure!(
        bench.rate.is_finite() && bench.rate > 0.0,
        "--rate must be positive"
    );
    anyhow::ensure!(bench.batch > 0, "--batch must be positive");
    anyhow::ensure!(
        !bench.sample_every.is_zero(),
        "--sample-every must be positive"
    );
    let duration = Duration::from_secs_f64(bench.minutes * 60.0);
    let out = match &bench.out {
        Some(out) => out.clone(),
        None => PathBuf::from(format!(
            "soak-{}-{}",
            bench.hose.name(),
            chrono::Utc::now().timestamp()
        )),
    };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let dir = bench_dir(bench.dir.as_deref(), "soak")?;
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let prefix = format!("soak.{id}.");

    let mut env = vec![
        ("EVENTHOSE_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("EVENTHOSE_WEBHOOKS__ALLOW_ANY_PORT", "true".to_owned()),
        (
            "EVENTHOSE_WEBHOOKS__RETRY_SCHEDULE",
            RETRY_SCHEDULE.to_owned(),
        ),
    ];
    if bench.hose == Hose::Amqp {
        env.extend([
            ("EVENTHOSE_HOSE", bench.amqp_url.clone()),
            ("EVENTHOSE_AMQP__PREFIX", prefix.clone()),
            (
                "EVENTHOSE_AMQP__CONNECTION_NAME",
                format!("eventhose-soak-{id}"),
            ),
            ("EVENTHOSE_AMQP__STATS_INTERVAL_MS", "1000".to_owned()),
        ]);
    }
    let lag_source = match bench.hose {
        Hose::Embedded => LagSource::Embedded,
        Hose::Amqp => LagSource::Amqp {
            prefix: prefix.clone(),
        },
    };

    let receiver = Arc::new(
        Receiver::start_with(Slow::default(), bench.fail_every)
            .await
            .context("cannot start the webhook receiver")?,
    );
    let server = Arc::new(ServerSlot::start(eventhose, &dir, env).await?);
    let base = server.endpoint().borrow().clone().map(|e| e.base);
    let base = base.context("the server is not running")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    create_webhook(&client, &base, 0, &receiver.url(0)).await?;
    webhook_loaded(&base).await?;

    let outcome = soak(&bench, duration, &server, &receiver, &lag_source, &prefix).await;

    if let Err(e) = server.stop().await {
        eprintln!("stopping the server: {e:#}");
    }
    if bench.hose == Hose::Amqp && !bench.keep {
        if let Err(e) = delete_prefix(&bench.amqp_url, &prefix).await {
            eprintln!("deleting the run's queues: {e:#}");
        }
    }
    if !bench.keep && bench.dir.is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
    let finished = outcome?;
    let written = report::write(&out, &bench, &finished)?;
    plot::draw_all(&out, &finished).context("cannot draw the plots")?;
    println!("{written}");
    println!("plots, samples and summaries: {}", out.display());
    let violations = &finished.verdict.violations;
    anyhow::ensure!(
        violations.is_empty(),
        "{} violation(s):\n  {}",
        violations.len(),
        violations.join("\n  ")
    );
    Ok(())
}

/// Everything a finished run knows.
pub struct Finished {
    /// How long events were sent.
    pub duration: Duration,
    /// The hose.
    pub hose: Hose,
    /// What the sender saw.
    pub sent: load::SendReport,
    /// The faults, as they happened.
    pub faults: Vec<faults::Happened>,
    /// The samples taken over the run and the drain.
    pub samples: Vec<sampling::Sample>,
    /// The unit of the subscribers' lag (`bytes` or `messages`).
    pub lag_unit: &'static str,
    /// How long the drain took after the last acknowledgement, if it completed.
    pub drained_after: Option<Duration>,
    /// POSTs with events the receiver got, and how many it failed on purpose.
    pub webhook_posts: (u64, u64),
    /// Latencies of every first delivery, sorted.
    pub latencies: Vec<Duration>,
    /// The checks.
    pub verdict: verify::Verdict,
}

/// The run itself, between the server's start and its stop.
async fn soak(
    bench: &SoakBench,
    duration: Duration,
    server: &Arc<ServerSlot>,
    receiver: &Arc<Receiver>,
    lag_source: &LagSource,
    prefix: &str,
) -> anyhow::Result<Finished> {
    let ledger = Arc::new(Ledger::default());
    let deliveries = Arc::new(Deliveries::default());
    let start = Instant::now();
    let (stop_sampling, sampling_stopped) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(sampling::run(sampling::SamplerContext {
        start,
        every: bench.sample_every,
        ledger: ledger.clone(),
        deliveries: deliveries.clone(),
        receiver: receiver.clone(),
        endpoint: server.endpoint(),
        lag_source: lag_source.clone(),
        stop: sampling_stopped,
    }));
    let plan = faults::plan(duration, bench.hose, bench.broker_outage);
    let faults = tokio::spawn(faults::run(plan, start, server.clone(), receiver.clone()));
    let load = load::LoadConfig {
        rate: bench.rate,
        batch: bench.batch,
        concurrency: bench.concurrency,
        seed: bench.seed,
        duration,
        give_up_after: bench.drain_timeout,
    };
    let sent = load::run(load, start, server.endpoint(), ledger.clone()).await?;
    let faults = faults.await.context("the fault task failed")??;
    let acked_at = Instant::now();
    eprintln!(
        "sent for {:.1} min: {} events acknowledged in {} requests; draining",
        duration.as_secs_f64() / 60.0,
        sent.acked_events,
        sent.acked_requests
    );

    let drain = verify::Drain {
        endpoint: server.endpoint(),
        lag_source,
        prefix,
        ledger: &ledger,
        deliveries: &deliveries,
        receiver,
        deadline: acked_at + bench.drain_timeout,
    };
    let drained = drain.wait().await;
    let drained_after = drained.then(|| acked_at.elapsed());
    if !drained {
        eprintln!("not drained after {:?}", bench.drain_timeout);
    }
    let base = server
        .endpoint()
        .borrow()
        .clone()
        .map(|e| e.base)
        .context("the server is not running")?;
    let verdict = verify::settle(
        &base,
        &ledger,
        &deliveries,
        receiver,
        acked_at + bench.drain_timeout,
    )
    .await?;
    let _ = stop_sampling.send(true);
    let samples = sampler.await.context("the sampler failed")?;
    let mut verdict = verdict;
    verify::rss(&mut verdict, &samples, duration, bench.max_rss_growth);
    verify::sender(&mut verdict, &sent);
    if !drained {
        verdict.violations.push(format!(
            "the subscribers did not drain within {}",
            humantime::format_duration(bench.drain_timeout)
        ));
    }
    Ok(Finished {
        duration,
        hose: bench.hose,
        sent,
        faults,
        samples,
        lag_unit: lag_source.unit(),
        drained_after,
        webhook_posts: receiver.posts(),
        latencies: deliveries.latencies(),
        verdict,
    })
}
