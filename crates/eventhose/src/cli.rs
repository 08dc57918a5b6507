//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Overrides};

/// eventhose: a self-hostable email event pipeline that speaks SparkPost's API.
#[derive(Debug, Parser)]
#[command(name = "eventhose", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run everything (API, hose, subscribers) in one process, or some roles of it
    /// (`--roles`).
    Serve(ServeArgs),
    /// Serve a temporary data directory full of simulated traffic, for a first look at the
    /// Reports UI (prints its address and a key; Ctrl-C stops and removes everything).
    Demo(crate::demo::DemoArgs),
    /// Generate a realistic MTA event stream and send it to an eventhose, or print it.
    Simulate(crate::simulate::SimulateArgs),
    /// Manage API keys (works while `serve` runs).
    Keys(KeysArgs),
    /// Delete every stored message event of a recipient (GDPR erasure) and report what was
    /// removed. Run it while `serve` is stopped; a running server does the same through
    /// `DELETE /api/v1/events/message?recipients=ADDR`.
    Erase(EraseArgs),
    /// Lists, shows, retries and drops the messages subscribers set aside as unreadable (through
    /// the running server's API).
    DeadLetters(crate::dead_letters::DeadLettersArgs),
    /// Reads an MTA's log and sends its events to an eventhose (run it on the MTA's host).
    Source(crate::source::SourceArgs),
}

#[derive(Debug, Args)]
pub struct EraseArgs {
    /// The recipient's address (compared case-insensitively).
    #[arg(long)]
    pub recipient: String,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Where settings come from; shared by every command that opens the data directory.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Config file (TOML). Default: ./eventhose.toml if it exists.
    #[arg(long, env = "EVENTHOSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    /// Loads the layered configuration with these flags on top.
    pub fn load(&self, listen: Option<SocketAddr>) -> anyhow::Result<config::Config> {
        self.load_with(Overrides {
            listen,
            ..Overrides::default()
        })
    }

    /// Loads the layered configuration with these flags and `overrides` on top.
    pub fn load_with(&self, overrides: Overrides) -> anyhow::Result<config::Config> {
        config::load(
            self.config.as_deref(),
            &Overrides {
                data_dir: self.data_dir.clone(),
                ..overrides
            },
        )
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The roles this process runs, comma-separated (default: all). A subset needs the hose
    /// on RabbitMQ and the state on PostgreSQL, shared with the processes running the others.
    #[arg(long, value_delimiter = ',')]
    pub roles: Option<Vec<crate::roles::Role>>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (once; it is stored only hashed).
    Create {
        /// A grant, e.g. events/ingest; repeat or separate with commas.
        #[arg(long = "grant", required = true, value_delimiter = ',')]
        grants: Vec<String>,
        /// Restrict the key to one subaccount.
        #[arg(long)]
        subaccount: Option<u64>,
        /// A label to recognise the key by.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List keys (never their secrets).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: String,
    },
}

/// Runs the chosen command.
pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = args.config.load_with(Overrides {
                listen: args.listen,
                roles: args.roles,
                ..Overrides::default()
            })?;
            crate::serve::serve(config).await
        }
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Simulate(args) => crate::simulate::run(args).await,
        Command::Keys(args) => crate::keys::run(args.config.load(None)?, args.command),
        Command::Erase(args) => crate::erase::run(args.config.load(None)?, &args.recipient),
        Command::DeadLetters(args) => crate::dead_letters::run(args).await,
        Command::Source(args) => crate::source::run(args).await,
    }
}
