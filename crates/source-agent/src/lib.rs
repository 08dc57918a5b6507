//! The I/O side of eventhose's MTA sources: read a Postfix log (a followed file, standard
//! input, or syslog over UDP or TCP) or PowerMTA's accounting records (a followed CSV file,
//! or the pipe form on standard input), turn it into events with
//! [`eventhose_sources::postfix::PostfixSource`] or [`eventhose_sources::pmta::PmtaSource`]
//! ([`SourceKind`]), and ship them to eventhose's ingest API, keeping the position in the
//! file durably.
//!
//! [`run`] wires it together (the loop itself is in `runner.rs`; `source.rs` puts either
//! source behind the calls it makes):
//!
//! ```text
//! input (input/) ──Item──▶ Source (source.rs) ──events──▶ Batch ──▶ Shipper (ship.rs) ──▶ POST /api/v1/ingest/events
//!                               │ oldest line needed, header        │ acknowledged
//!                               └──────────────▶ Progress (progress.rs) ──▶ PositionFile (position.rs)
//! ```
//!
//! - Syslog input is for Postfix only; with PowerMTA, [`run`] refuses it
//!   ([`AgentError::SyslogNeedsPostfix`]).
//! - PowerMTA's records stand alone, but mean nothing without the header line before them:
//!   the position file keeps the header in force at the saved position, so a restart past
//!   the header line reads the records after it as before (see [`position`]). A rotated
//!   file's new header line is read like any line and replaces the columns from there on.
//!
//! - Events older than [`AgentConfig::max_event_age`] or further ahead than
//!   [`AgentConfig::max_event_lead`] (the server refuses both) are dropped before sending
//!   and counted, so a backfill of an old log sends what can still be kept.
//! - When no line has arrived for [`AgentConfig::quiet_after`], the Postfix correlator's
//!   clock is moved to the wall clock (less a few seconds), so that entries time out and
//!   hops waiting for a re-queued message are reported although the log is quiet.
//! - What the saved position guarantees across crashes is in [`position`].
//! - On shutdown, the events read are sent (for at most [`AgentConfig::shutdown_grace`]) and
//!   the position saved. A file input keeps its open queue entries for the next start (it
//!   re-reads their lines); standard input and syslog, which cannot re-read, end the
//!   correlation first ([`eventhose_sources::postfix::PostfixSource::finish`]).
//!
//! ```no_run
//! use eventhose_source_agent::{run, AgentConfig, Input};
//!
//! # async fn example() -> Result<(), eventhose_source_agent::AgentError> {
//! let input = Input::File { path: "/var/log/mail.log".into(), once: false };
//! let mut config = AgentConfig::new(input, "http://eventhose:8080", "KEY");
//! config.position_file = Some("/var/lib/eventhose-source/mail.log.position".into());
//! let report = run(config, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! println!("{} events accepted", report.ship.accepted);
//! # Ok(())
//! # }
//! ```
//!
//! PowerMTA's accounting file is read the same way, with [`AgentConfig::pmta`]:
//!
//! ```no_run
//! use eventhose_source_agent::{run, AgentConfig, Input};
//! use eventhose_sources::pmta::PmtaConfig;
//!
//! # async fn example() -> Result<(), eventhose_source_agent::AgentError> {
//! let input = Input::File { path: "/var/log/pmta/acct.csv".into(), once: false };
//! let mut config = AgentConfig::pmta(input, "http://eventhose:8080", "KEY", PmtaConfig::default());
//! config.position_file = Some("/var/lib/eventhose-source/acct.csv.position".into());
//! let report = run(config, std::future::pending()).await?;
//! # Ok(())
//! # }
//! ```

pub mod input;
pub mod position;
mod progress;
mod runner;
pub mod ship;
mod source;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;
use eventhose_model::{classify_bounce, EnhancedStatus, SmtpReply};
use eventhose_sources::pmta::PmtaConfig;
use eventhose_sources::postfix::PostfixConfig;
use eventhose_sources::syslog::Zone;

pub use position::{FileId, FilePos, PositionFile};
pub use ship::{ShipConfig, ShipError, ShipStats};
pub use source::{SourceKind, SourceStats};

/// Where the log comes from.
#[derive(Clone, Debug)]
pub enum Input {
    /// A log file, followed like `tail -F` (rotation and truncation handled); with `once`,
    /// read to its end and stop (a backfill).
    File {
        /// The log file, e.g. `/var/log/mail.log`.
        path: PathBuf,
        /// Read to the end once, then stop.
        once: bool,
    },
    /// Standard input, to its end.
    Stdin,
    /// Syslog messages on the network, on either or both.
    Syslog {
        /// A UDP address to receive on (RFC 5426).
        udp: Option<SocketAddr>,
        /// A TCP address to listen on (RFC 6587, octet counting or newline framing).
        tcp: Option<SocketAddr>,
    },
}

/// The syslog UDP socket's receive buffer asked for by default: 8 MiB, some 10,000 messages
/// of a Postfix log (Linux charges about 800 bytes per datagram).
pub const DEFAULT_UDP_RECEIVE_BUFFER_BYTES: usize = 8 << 20;

/// What the agent does.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Where the log comes from.
    pub input: Input,
    /// Where the position in a file input is kept; without one, a file is read from its
    /// start on every run. Ignored for other inputs.
    pub position_file: Option<PathBuf>,
    /// The server, the key, and the bounds on requests and retries.
    pub ship: ShipConfig,
    /// Which source reads the input: Postfix ([`postfix_config`] gives its defaults with
    /// the model's bounce classifier) or PowerMTA.
    pub source: SourceKind,
    /// The zone of timestamps without one (traditional syslog lines; Postfix only).
    pub zone: Zone,
    /// How often a file is looked at when nothing is new.
    pub poll_interval: Duration,
    /// Longer lines (or syslog messages) are skipped and counted.
    pub max_line_len: usize,
    /// At most this many syslog TCP connections at once.
    pub max_connections: usize,
    /// The receive buffer asked for the syslog UDP socket, in bytes (the kernel caps it at
    /// `net.core.rmem_max`): what absorbs a burst before datagrams are dropped.
    pub udp_receive_buffer_bytes: usize,
    /// After this long without a line, the correlator's clock follows the wall clock
    /// (Postfix only).
    pub quiet_after: Duration,
    /// Events older than this are dropped before sending (the server keeps 183 days).
    pub max_event_age: TimeDelta,
    /// Events dated further ahead than this are dropped before sending (the server allows
    /// an hour).
    pub max_event_lead: TimeDelta,
    /// How long shutdown may spend sending what was read.
    pub shutdown_grace: Duration,
}

impl AgentConfig {
    /// The defaults for reading a Postfix log from `input` and sending to `target` with
    /// `key`.
    pub fn new(input: Input, target: impl Into<String>, key: impl Into<String>) -> AgentConfig {
        AgentConfig::with_source(input, target, key, SourceKind::Postfix(postfix_config()))
    }

    /// The defaults for reading PowerMTA accounting records from `input` (a file, or
    /// standard input for the pipe form; not syslog) with `pmta`, and sending to `target`
    /// with `key`. Lines are read up to `pmta.max_line_len` bytes.
    pub fn pmta(
        input: Input,
        target: impl Into<String>,
        key: impl Into<String>,
        pmta: PmtaConfig,
    ) -> AgentConfig {
        let max_line_len = pmta.max_line_len;
        let mut config = AgentConfig::with_source(input, target, key, SourceKind::Pmta(pmta));
        config.max_line_len = max_line_len;
        config
    }

    /// The defaults for reading `input` with `source` and sending to `target` with `key`.
    pub fn with_source(
        input: Input,
        target: impl Into<String>,
        key: impl Into<String>,
        source: SourceKind,
    ) -> AgentConfig {
        AgentConfig {
            input,
            position_file: None,
            ship: ShipConfig::new(target, key),
            source,
            zone: Zone::utc(),
            poll_interval: Duration::from_millis(250),
            max_line_len: eventhose_sources::postfix::config::DEFAULT_MAX_LINE_LEN,
            max_connections: 256,
            udp_receive_buffer_bytes: DEFAULT_UDP_RECEIVE_BUFFER_BYTES,
            quiet_after: Duration::from_secs(5),
            // A day less than the server's 183, so an event is not refused on its way.
            max_event_age: TimeDelta::days(182),
            max_event_lead: TimeDelta::minutes(55),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The model's bounce classifier, in the shape the Postfix source takes.
fn classify(enhanced: Option<&str>, code: Option<u16>, text: &str) -> u16 {
    classify_bounce(&SmtpReply::new(
        code,
        enhanced.and_then(EnhancedStatus::parse),
        text,
    ))
}

/// The Postfix source's defaults, with eventhose-model's bounce classifier.
pub fn postfix_config() -> PostfixConfig {
    PostfixConfig::new(classify)
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentReport {
    /// Lines (or syslog messages) read.
    pub lines_read: u64,
    /// Lines longer than the limit, skipped.
    pub oversized_lines: u64,
    /// Syslog messages from the network whose envelope could not be read.
    pub unparsed_messages: u64,
    /// Events the source emitted.
    pub events_emitted: u64,
    /// Events dropped before sending: older than `max_event_age`.
    pub dropped_old: u64,
    /// Events dropped before sending: later than `max_event_lead` ahead.
    pub dropped_future: u64,
    /// What the shipper did (accepted, dropped by the server, retries, requests).
    pub ship: ShipStats,
    /// Positions saved.
    pub positions_saved: u64,
    /// The last position saved.
    pub position: Option<FilePos>,
    /// The source's counters.
    pub source: SourceStats,
}

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The position file could not be read or written.
    #[error("position file {path}")]
    Position {
        /// The position file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A syslog address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// Syslog input with no address to listen on.
    #[error("syslog input needs a UDP or a TCP address")]
    NoListener,
    /// Syslog input for a source other than Postfix.
    #[error("syslog input carries Postfix logs only; PowerMTA accounting is read from a file or standard input")]
    SyslogNeedsPostfix,
    /// Reading the input failed.
    #[error("reading the input failed")]
    Input(#[source] std::io::Error),
    /// The server refused the events for good (or the client could not be built).
    #[error("shipping events failed")]
    Ship(#[from] ShipError),
}

/// Runs the agent until the input ends (standard input, or a file with `once`), a fatal
/// error, or `shutdown` completes; then sends what was read (within the shutdown grace),
/// saves the position and reports.
pub async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<AgentReport, AgentError> {
    runner::run(config, shutdown).await
}
