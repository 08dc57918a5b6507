//! `eventhose simulate`: a realistic MTA event stream, posted to an eventhose or printed.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use eventhose_simulator::sender::{self, SendConfig};
use eventhose_simulator::{LineFormat, SimConfig, Simulator, Summary};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("output").required(true).args(["target", "stdout"])))]
pub struct SimulateArgs {
    /// Events per second (simulated, and the pace of sending).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// How much simulated time to produce, e.g. 30s, 5m, 1h.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Seed: the same seed and start give the same stream.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated start, unix seconds (default: now).
    #[arg(long)]
    pub start: Option<i64>,
    /// Base URL of the eventhose to send to, e.g. http://127.0.0.1:8080.
    #[arg(long, requires = "key")]
    pub target: Option<String>,
    /// API key with the events/ingest grant.
    #[arg(long, env = "EVENTHOSE_KEY")]
    pub key: Option<String>,
    /// Write NDJSON to stdout instead of sending.
    #[arg(long)]
    pub stdout: bool,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Send as fast as the server takes it instead of at --rate.
    #[arg(long)]
    pub unpaced: bool,
    /// Send uncompressed bodies.
    #[arg(long)]
    pub no_gzip: bool,
    /// Wrap each event in SparkPost's {"msys":{…}} envelope.
    #[arg(long)]
    pub msys: bool,
}

/// Runs the simulation.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let start = args
        .start
        .unwrap_or_else(|| chrono_now() - args.duration.as_secs() as i64);
    let config = SimConfig::new(args.seed, start, args.rate);
    let events = config.events_for(args.duration.as_secs_f64());
    let mut simulator = Simulator::new(config).context("invalid simulation")?;
    let format = if args.msys {
        LineFormat::Msys
    } else {
        LineFormat::Bare
    };

    if args.stdout {
        let mut stdout = std::io::stdout().lock();
        let mut buffer = Vec::with_capacity(1 << 20);
        let mut summary = Summary::new();
        let mut left = events;
        while left > 0 {
            let n = left.min(10_000);
            buffer.clear();
            summary.merge(&simulator.write_lines(&mut buffer, n as usize, format));
            stdout.write_all(&buffer)?;
            left -= n;
        }
        stdout.flush()?;
        report_summary(&summary);
        return Ok(());
    }

    let (Some(target), Some(key)) = (args.target, args.key) else {
        anyhow::bail!("--target needs --key");
    };
    let mut send = SendConfig::new(target, key);
    send.batch_size = args.batch;
    send.concurrency = args.concurrency;
    send.gzip = !args.no_gzip;
    send.rate = (!args.unpaced).then_some(args.rate);
    send.line_format = format;
    let summary = std::sync::Arc::new(std::sync::Mutex::new(Summary::new()));
    let tally = summary.clone();
    let stream = std::iter::from_fn(move || Some(simulator.next_event()))
        .take(usize::try_from(events).unwrap_or(usize::MAX))
        .inspect(move |event| {
            if let Ok(mut tally) = tally.lock() {
                tally.record(event.event_type, 0, event.timestamp);
            }
        });
    let report = sender::send(send, stream).await?;
    let summary = summary.lock().map(|s| s.clone()).unwrap_or_default();
    report_summary(&summary);
    eprintln!(
        "sent {} events in {} requests: {} accepted, {} rejected, {:.0} events/s, latency p50 {:?} p99 {:?}",
        report.events_sent,
        report.requests,
        report.events_accepted,
        report.events_rejected,
        report.events_per_second,
        report.latency_p50,
        report.latency_p99
    );
    for (status, count) in &report.status_counts {
        eprintln!("  HTTP {status}: {count}");
    }
    Ok(())
}

fn report_summary(summary: &Summary) {
    eprintln!("produced {} events:", summary.total());
    for (event_type, count) in summary.iter() {
        eprintln!("  {:<22} {count}", event_type.as_str());
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
