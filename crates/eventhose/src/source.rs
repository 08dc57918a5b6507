//! `eventhose source …`: reads an MTA's log, turns it into events and sends them to an
//! eventhose's ingest API, keeping its place in the file so a restart neither skips nor loses
//! a line. It runs on the MTA's host, the way log shippers do; the work is in
//! `eventhose-source-agent`.
//!
//! - `postfix`: Postfix's mail log, from a file it follows, standard input, or syslog over
//!   UDP or TCP.
//! - `pmta`: PowerMTA's accounting files; `pmta-acct`: the same records piped to standard
//!   input (`<acct-file |eventhose source pmta-acct …>`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use eventhose_source_agent::{AgentConfig, AgentReport, Input};
use eventhose_sources::pmta::PmtaConfig;
use eventhose_sources::syslog::Zone;

/// `eventhose source …`
#[derive(Debug, Args)]
pub struct SourceArgs {
    #[command(subcommand)]
    pub mta: SourceCommand,
}

/// Which MTA's log to read.
#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Postfix's mail log.
    Postfix(PostfixArgs),
    /// PowerMTA's accounting files (CSV with a header line).
    Pmta(PmtaArgs),
    /// PowerMTA's accounting records piped to standard input.
    PmtaAcct(PmtaAcctArgs),
}

/// Where the events go.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The eventhose to send to, e.g. `http://eventhose:8080`.
    #[arg(long, env = "EVENTHOSE_TARGET")]
    pub target: String,
    /// An API key with the `events/ingest` grant.
    #[arg(long, env = "EVENTHOSE_KEY", hide_env_values = true)]
    pub key: String,
}

/// `eventhose source postfix …`
#[derive(Debug, Args)]
pub struct PostfixArgs {
    /// The log file to follow through rotation and truncation (`-`: standard input).
    #[arg(long, required_unless_present_any = ["syslog_udp", "syslog_tcp"])]
    pub file: Option<PathBuf>,
    /// Listen for syslog messages over UDP on this address.
    #[arg(long, conflicts_with = "file")]
    pub syslog_udp: Option<SocketAddr>,
    /// Listen for syslog messages over TCP on this address (octet-counted or one per line).
    #[arg(long, conflicts_with = "file")]
    pub syslog_tcp: Option<SocketAddr>,
    /// The receive buffer asked for the UDP socket, in bytes (the kernel grants at most
    /// `net.core.rmem_max`): datagrams arriving while it is full are lost.
    #[arg(long, default_value_t = eventhose_source_agent::DEFAULT_UDP_RECEIVE_BUFFER_BYTES)]
    pub syslog_udp_buffer: usize,
    /// Read the file to its end and exit (a backfill).
    #[arg(long, requires = "file")]
    pub once: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where the place in the file is kept (written after each acknowledged request).
    #[arg(long, default_value = "eventhose-postfix.position")]
    pub position: PathBuf,
    /// The time zone of log lines that carry none (traditional syslog and Postfix's own log
    /// file): an IANA name such as `Europe/Paris`, or an offset such as `+01:00`. Default:
    /// this machine's zone.
    #[arg(long, value_parser = parse_zone)]
    pub zone: Option<Zone>,
}

/// `eventhose source pmta …`
#[derive(Debug, Args)]
pub struct PmtaArgs {
    /// The accounting file to follow through PowerMTA's moves (`-`: standard input).
    #[arg(long)]
    pub file: PathBuf,
    /// Read the file to its end and exit (a backfill).
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where the place in the file (and its header) is kept.
    #[arg(long, default_value = "eventhose-pmta.position")]
    pub position: PathBuf,
    /// The columns of records that come before any header line, comma-separated
    /// (`type,timeLogged,…`), as `record-fields` configures them.
    #[arg(long)]
    pub header: Option<String>,
}

/// `eventhose source pmta-acct …`
#[derive(Debug, Args)]
pub struct PmtaAcctArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The columns of the records, comma-separated, when PowerMTA sends no header line.
    #[arg(long)]
    pub header: Option<String>,
}

/// Runs the command until the input ends (`--once`, standard input) or Ctrl-C / SIGTERM.
pub async fn run(args: SourceArgs) -> anyhow::Result<()> {
    let (config, name) = match args.mta {
        SourceCommand::Postfix(args) => (postfix_config(args), "Postfix"),
        SourceCommand::Pmta(args) => {
            let input = file_input(args.file, args.once);
            let target = args.target;
            let mut config = AgentConfig::pmta(
                input,
                target.target.trim_end_matches('/'),
                target.key,
                pmta_config(args.header),
            );
            config.position_file = Some(args.position);
            (config, "PowerMTA")
        }
        SourceCommand::PmtaAcct(args) => {
            let target = args.target;
            let config = AgentConfig::pmta(
                Input::Stdin,
                target.target.trim_end_matches('/'),
                target.key,
                pmta_config(args.header),
            );
            (config, "PowerMTA")
        }
    };
    let report = eventhose_source_agent::run(config, crate::serve::shutdown_signal())
        .await
        .with_context(|| format!("the {name} source stopped"))?;
    print_report(&report);
    Ok(())
}

/// A file to follow, or standard input for `-`.
fn file_input(path: PathBuf, once: bool) -> Input {
    if path.as_os_str() == "-" {
        Input::Stdin
    } else {
        Input::File { path, once }
    }
}

/// The agent's settings for `source postfix`.
fn postfix_config(args: PostfixArgs) -> AgentConfig {
    let input = match args.file {
        Some(path) => file_input(path, args.once),
        None => Input::Syslog {
            udp: args.syslog_udp,
            tcp: args.syslog_tcp,
        },
    };
    let target = args.target;
    let mut config = AgentConfig::new(input, target.target.trim_end_matches('/'), target.key);
    config.position_file = Some(args.position);
    config.zone = args.zone.unwrap_or_else(system_zone);
    config.udp_receive_buffer_bytes = args.syslog_udp_buffer;
    config
}

/// The PowerMTA source's settings, with `header` for records before any header line.
fn pmta_config(header: Option<String>) -> PmtaConfig {
    PmtaConfig {
        default_header: header,
        ..PmtaConfig::default()
    }
}

/// What the run did, on standard error.
fn print_report(report: &AgentReport) {
    eprintln!(
        "lines read {}, events {}, accepted {}, dropped as too old {}, too far ahead {}, \
         refused by the server {}, retries {}",
        report.lines_read,
        report.events_emitted,
        report.ship.accepted,
        report.dropped_old,
        report.dropped_future,
        report.ship.dropped_by_server,
        report.ship.retries,
    );
}

/// A zone as `--zone` takes it.
pub(crate) fn parse_zone(text: &str) -> Result<Zone, String> {
    if text.eq_ignore_ascii_case("utc") || text == "Z" {
        return Ok(Zone::utc());
    }
    if let Ok(offset) = text.parse::<chrono::FixedOffset>() {
        return Ok(Zone::Fixed(offset));
    }
    text.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
        format!("{text:?} is neither an IANA time zone (Europe/Paris) nor an offset (+01:00)")
    })
}

/// This machine's zone, as the system names it; UTC when it cannot be told.
pub(crate) fn system_zone() -> Zone {
    match iana_time_zone::get_timezone() {
        Ok(name) => parse_zone(&name).unwrap_or_else(|error| {
            tracing::warn!(%error, "reading zone-less log lines as UTC");
            Zone::utc()
        }),
        Err(error) => {
            tracing::warn!(%error, "cannot tell this machine's time zone; reading zone-less log lines as UTC (set --zone)");
            Zone::utc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_names_or_offsets() {
        assert!(matches!(parse_zone("UTC"), Ok(Zone::Fixed(o)) if o.local_minus_utc() == 0));
        assert!(matches!(parse_zone("+01:00"), Ok(Zone::Fixed(o)) if o.local_minus_utc() == 3_600));
        assert!(matches!(parse_zone("Europe/Paris"), Ok(Zone::Named(_))));
        let error = parse_zone("Mars/Olympus").err().unwrap_or_default();
        assert!(error.contains("Mars/Olympus"), "{error}");
    }
}
