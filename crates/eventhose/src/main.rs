//! `eventhose`: the email event pipeline in one binary.

mod analytics_backend;
mod cli;
mod config;
mod dead_letters;
mod demo;
mod erase;
mod faults;
mod hose_backend;
mod hosted_sources;
mod http_server;
mod keys;
mod roles;
mod serve;
mod simulate;
mod source;
mod state_backend;
mod supervise;

use clap::Parser;

/// Ingest and the subscribers allocate many small JSON values; mimalloc handles that
/// pattern markedly better than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
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
    match runtime.block_on(cli::dispatch(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
