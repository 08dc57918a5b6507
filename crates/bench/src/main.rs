//! `eventhose-bench`: the benchmarks whose results go in BENCHMARKS.md. Each prints the
//! machine it ran on and one Markdown table row per measurement. The benchmarks that need a
//! server run the `eventhose` binary (`serve`) as a child process.

mod amqp;
mod events;
mod hose;
mod ingest;
mod machine;
mod metrics;
mod scratch;
mod server;
mod soak;
mod sources;
mod stats;
mod subscriber_rate;
mod webhooks;
mod workload;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The benchmarks' in-process work (receiver, feeders, subscribers drained here) ran under
/// mimalloc when they were part of `eventhose`; they keep the allocator the server uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Measures eventhose's performance; results are printed as Markdown table rows.
#[derive(Debug, Parser)]
#[command(name = "eventhose-bench", version, about)]
struct Cli {
    /// The `eventhose` binary the benchmarks start as `eventhose serve`. Default: `eventhose`
    /// in the directory of this executable (the same cargo target directory).
    #[arg(long, global = true, value_name = "PATH")]
    eventhose: Option<PathBuf>,
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Durable ingest over HTTP against a fresh `eventhose serve` child process.
    Ingest(ingest::IngestBench),
    /// The raw hose (append + fsync, no HTTP), beside the disk's own fsync'd write rate.
    Hose(hose::HoseBench),
    /// Webhook delivery: ingest → hose → webhooks engine → a fast receiver in this process.
    Webhooks(webhooks::WebhooksBench),
    /// The metrics subscriber's throughput, metrics freshness, and Metrics API latency over six
    /// months of aggregates.
    Metrics(metrics::MetricsBench),
    /// The same end-to-end load (ingest → every subscriber acknowledged) on the embedded hose,
    /// RabbitMQ with quorum queues and RabbitMQ with classic queues, with the broker's CPU.
    Amqp(amqp::AmqpBench),
    /// The message-events subscriber's insert throughput and Events API latency over stored days.
    Events(events::EventsBench),
    /// A long run at a fixed rate through crashes and outages, then a check that every
    /// acknowledged event was applied; plots over time.
    Soak(soak::SoakBench),
    /// The MTA sources: the Postfix source alone and as an agent (log file, syslog over UDP
    /// and TCP) into a server, and KumoMTA records through their endpoint.
    Sources(sources::SourcesBench),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs one benchmark.
async fn run(cli: Cli) -> anyhow::Result<()> {
    let given = cli.eventhose;
    // Only the benchmarks that start a server need the binary (`hose` runs in this process).
    let eventhose = || server::locate_eventhose(given.as_deref());
    println!("machine: {}", machine::machine_description());
    match cli.command {
        BenchCommand::Ingest(bench) => ingest::run(&eventhose()?, bench).await,
        BenchCommand::Hose(bench) => hose::run(bench).await,
        BenchCommand::Webhooks(bench) => webhooks::run(&eventhose()?, bench).await,
        BenchCommand::Metrics(bench) => metrics::run(&eventhose()?, bench).await,
        BenchCommand::Events(bench) => events::run(&eventhose()?, bench).await,
        BenchCommand::Amqp(bench) => amqp::run(&eventhose()?, bench).await,
        BenchCommand::Soak(bench) => soak::run(&eventhose()?, bench).await,
        BenchCommand::Sources(bench) => sources::run(&eventhose()?, bench).await,
    }
}
