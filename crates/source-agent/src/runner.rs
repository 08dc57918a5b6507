//! The agent's loop: items from the input into the source (Postfix or PowerMTA, see
//! `source.rs`), its events into batches, batches to the server, and the position saved
//! after each acknowledgement.
//!
//! One task does it all, in order: while a batch is being sent, no input is read (the
//! bounded channel holds the input back), so events go out in log order and at most one
//! request is in flight. A batch is sent when it is full (events or bytes), when its first
//! event has waited for the linger time, and at the end.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use eventhose_sources::syslog::{parse_line, LocalClock};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::input::follow::{spawn_follower, FollowConfig};
use crate::input::{stdin, syslog_tcp, syslog_udp, Item, Line};
use crate::position::{FilePos, PositionFile};
use crate::progress::Progress;
use crate::ship::{Batch, Shipper};
use crate::source::{Source, SourceKind};
use crate::{AgentConfig, AgentError, AgentReport, Input};

/// Items buffered between the input and the loop.
const CHANNEL: usize = 8192;
/// How far behind the wall clock a quiet log's clock is moved (lines of the last seconds may
/// still be on their way through syslog).
const QUIET_CLOCK_LAG: TimeDelta = TimeDelta::seconds(10);
/// How often the loop looks for quiet.
const TICK: Duration = Duration::from_millis(500);

pub(crate) async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<AgentReport, AgentError> {
    if matches!(
        (&config.input, &config.source),
        (Input::Syslog { .. }, SourceKind::Pmta(_))
    ) {
        return Err(AgentError::SyslogNeedsPostfix);
    }
    let position_file = match &config.input {
        Input::File { .. } => config.position_file.clone().map(PositionFile::new),
        _ => None,
    };
    let loaded = match &position_file {
        Some(file) => file
            .load_with_header()
            .map_err(|source| AgentError::Position {
                path: file.path().to_owned(),
                source,
            })?,
        None => None,
    };
    let (resume, resumed_header) = match loaded {
        Some((position, header)) => (Some(position), header),
        None => (None, None),
    };
    let (tx, rx) = mpsc::channel(CHANNEL);
    // Tasks stop when this set is dropped; threads stop when the receiver is.
    let _inputs = start_input(&config, resume, tx).await?;
    let now = Utc::now();
    let clock = LocalClock::new(config.zone, now);
    let mut agent = Agent {
        source: Source::new(
            &config.source,
            clock,
            resumed_header,
            position_file.is_some(),
        ),
        clock,
        progress: Progress::new(resume),
        batch: Batch::default(),
        shipper: Shipper::new(config.ship.clone())?,
        position_file,
        saved: resume,
        events: Vec::new(),
        report: AgentReport::default(),
        linger_until: None,
        config,
    };
    agent.run(rx, shutdown).await
}

async fn start_input(
    config: &AgentConfig,
    resume: Option<FilePos>,
    tx: mpsc::Sender<Item>,
) -> Result<JoinSet<()>, AgentError> {
    let mut tasks = JoinSet::new();
    match &config.input {
        Input::File { path, once } => {
            spawn_follower(
                FollowConfig {
                    path: path.clone(),
                    resume,
                    poll_interval: config.poll_interval,
                    max_line_len: config.max_line_len,
                    once: *once,
                },
                tx,
            );
        }
        Input::Stdin => {
            stdin::spawn_reader(std::io::stdin(), config.max_line_len, tx);
        }
        Input::Syslog { udp, tcp } => {
            if udp.is_none() && tcp.is_none() {
                return Err(AgentError::NoListener);
            }
            if let Some(addr) = *udp {
                let socket = syslog_udp::bind(addr, config.udp_receive_buffer_bytes)
                    .map_err(|source| AgentError::Bind { addr, source })?;
                tracing::info!(%addr, "receiving syslog over UDP");
                tasks.spawn(syslog_udp::receive(socket, config.max_line_len, tx.clone()));
            }
            if let Some(addr) = *tcp {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| AgentError::Bind { addr, source })?;
                tracing::info!(%addr, "listening for syslog over TCP");
                tasks.spawn(syslog_tcp::listen(
                    listener,
                    config.max_line_len,
                    config.max_connections,
                    tx.clone(),
                ));
            }
        }
    }
    Ok(tasks)
}

enum Stop {
    Shutdown,
    Ended,
}

struct Agent {
    config: AgentConfig,
    source: Source,
    /// The source's clock, for reading syslog envelopes here.
    clock: LocalClock,
    progress: Progress,
    batch: Batch,
    shipper: Shipper,
    position_file: Option<PositionFile>,
    saved: Option<FilePos>,
    events: Vec<Map<String, Value>>,
    report: AgentReport,
    /// When the batch must go, however small.
    linger_until: Option<Instant>,
}

impl Agent {
    async fn run(
        &mut self,
        mut rx: mpsc::Receiver<Item>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<AgentReport, AgentError> {
        let mut shutdown = pin!(shutdown);
        let mut ticker = tokio::time::interval(TICK);
        let mut last_line = Instant::now();
        let mut ended = false;
        let stop = loop {
            let due = self
                .linger_until
                .is_some_and(|until| until <= Instant::now());
            if ended || due || self.batch_full() {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break Stop::Shutdown,
                    sent = self.flush() => sent?,
                }
                self.linger_until = None;
                if ended {
                    break Stop::Ended;
                }
                continue;
            }
            let linger = self.linger_until;
            tokio::select! {
                biased;
                () = &mut shutdown => break Stop::Shutdown,
                item = rx.recv() => match item {
                    Some(Item::Line(line)) => {
                        last_line = Instant::now();
                        self.read_line(line);
                    }
                    Some(Item::Oversized { end }) => {
                        self.report.oversized_lines += 1;
                        self.progress.consumed(end);
                    }
                    Some(Item::CaughtUp) => {}
                    Some(Item::End) | None => {
                        self.end_correlation();
                        ended = true;
                    }
                    Some(Item::Failed(error)) => return Err(AgentError::Input(error)),
                },
                () = sleep_until(linger), if linger.is_some() => {}
                _ = ticker.tick() => {
                    let now = Utc::now();
                    self.source.set_now(now);
                    self.clock.now = now;
                    if last_line.elapsed() >= self.config.quiet_after {
                        self.quiet(now);
                    }
                    if self.batch.is_empty() {
                        self.save_position()?;
                    }
                }
            }
        };
        if let Stop::Shutdown = stop {
            if self.position_file.is_none() {
                // Nothing will be re-read: what the correlator holds is reported now.
                self.end_correlation();
            }
            let grace = self.config.shutdown_grace;
            match tokio::time::timeout(grace, self.flush()).await {
                Ok(sent) => sent?,
                Err(_) if self.position_file.is_some() => tracing::warn!(
                    events = self.batch.len(),
                    "shutdown: events not acknowledged in time; their lines will be read again"
                ),
                Err(_) => tracing::warn!(
                    events = self.batch.len(),
                    "shutdown: events not acknowledged in time are lost (this input cannot be re-read)"
                ),
            }
            self.save_position()?;
        }
        let mut report = self.report.clone();
        report.ship = self.shipper.stats();
        report.source = self.source.stats();
        report.position = self.saved;
        Ok(report)
    }

    /// Sends the whole batch, saving the position after each request's events are
    /// acknowledged.
    async fn flush(&mut self) -> Result<(), AgentError> {
        while !self.batch.is_empty() {
            self.shipper.send_some(&mut self.batch).await?;
            self.save_position()?;
        }
        self.save_position()
    }

    fn batch_full(&self) -> bool {
        let config = self.shipper.config();
        self.batch.len() >= config.max_events || self.batch.bytes() >= config.max_bytes
    }

    /// The tag of events emitted now: the oldest line they may depend on.
    fn tag(&self) -> u64 {
        let next = self.source.lines_read();
        self.source
            .oldest_needed_line()
            .map_or(next, |needed| needed.min(next))
    }

    fn read_line(&mut self, line: Line) {
        self.report.lines_read += 1;
        let number = self.source.lines_read();
        let tag = self.tag();
        match line.peer {
            None => self.source.push_bytes(&line.text, &mut self.events),
            Some(peer) => {
                let peer = peer.to_string();
                let text = String::from_utf8_lossy(&line.text);
                match parse_line(&text, &self.clock) {
                    Ok(mut syslog) => {
                        if syslog.host.is_empty() {
                            syslog.host = &peer;
                        }
                        self.source.push_syslog(&syslog, &mut self.events);
                    }
                    Err(error) => {
                        tracing::debug!(%error, "unreadable syslog message");
                        self.report.unparsed_messages += 1;
                    }
                }
            }
        }
        // Positions are kept only where they can be saved (a file with a position file).
        if self.position_file.is_some() {
            if self.source.lines_read() > number {
                self.progress.line(number, line.start, line.end);
            } else {
                self.progress.consumed(line.end);
            }
        }
        self.take_events(tag);
    }

    /// The log is quiet: its clock follows the wall clock.
    fn quiet(&mut self, now: DateTime<Utc>) {
        let tag = self.tag();
        let time: DateTime<FixedOffset> = (now - QUIET_CLOCK_LAG).fixed_offset();
        self.source.advance_to(time, &mut self.events);
        self.take_events(tag);
    }

    fn end_correlation(&mut self) {
        let tag = self.tag();
        self.source.finish(&mut self.events);
        self.take_events(tag);
    }

    /// Moves the events emitted into the batch, tagged `tag`, dropping those the server
    /// would refuse for their age.
    fn take_events(&mut self, tag: u64) {
        if self.events.is_empty() {
            return;
        }
        let now = Utc::now();
        let earliest = now - self.config.max_event_age;
        let latest = now + self.config.max_event_lead;
        for event in self.events.drain(..) {
            self.report.events_emitted += 1;
            let timestamp = event
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(|text| DateTime::parse_from_rfc3339(text).ok());
            match timestamp {
                Some(time) if time < earliest => {
                    self.report.dropped_old += 1;
                    continue;
                }
                Some(time) if time > latest => {
                    self.report.dropped_future += 1;
                    continue;
                }
                _ => {}
            }
            match serde_json::to_vec(&event) {
                Ok(line) => self.batch.push(line, tag),
                Err(error) => tracing::error!(%error, "an event could not be serialised"),
            }
        }
        if !self.batch.is_empty() && self.linger_until.is_none() {
            self.linger_until = Some(Instant::now() + self.shipper.config().linger);
        }
    }

    /// Saves the position of the oldest line still needed, if it moved.
    fn save_position(&mut self) -> Result<(), AgentError> {
        let Some(file) = &self.position_file else {
            return Ok(());
        };
        let needed = match (self.batch.min_tag(), self.source.oldest_needed_line()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let position = self.progress.position(needed);
        if position.is_none() || position == self.saved {
            return Ok(());
        }
        if let Some(position) = &position {
            // What a restart from there does not read again: the header in force.
            let header = self.source.header_at(self.progress.position_line());
            file.save_with_header(position, header)
                .map_err(|source| AgentError::Position {
                    path: file.path().to_owned(),
                    source,
                })?;
        }
        self.saved = position;
        self.report.positions_saved += 1;
        Ok(())
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
