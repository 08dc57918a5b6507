//! The whole Postfix source: log lines in, events out.
//!
//! [`PostfixSource`] reads the syslog envelope ([`crate::syslog`]), the Postfix record
//! ([`super::line`]) and hands it to the [`Correlator`]. Whoever reads the log (a file
//! follower, a syslog listener, a journald reader) feeds it lines in log order and ships the
//! events it appends; it does no I/O and keeps no clock of its own, so feeding the same lines
//! again gives the same events.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value};

use super::config::PostfixConfig;
use super::correlate::{Correlator, LineContext};
use super::line::{parse_message, Parsed};
use super::stats::Stats;
use crate::syslog::{parse_line, LocalClock, SyslogError, SyslogLine};

/// Why a line gave nothing. Every such line is also counted in [`Stats`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line is longer than [`PostfixConfig::max_line_len`].
    #[error("line of {len} bytes is longer than the limit of {limit}")]
    TooLong {
        /// The line's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The syslog envelope could not be read.
    #[error("unreadable syslog envelope")]
    Syslog(#[from] SyslogError),
}

/// Turns Postfix log lines into SparkPost-shaped events (bare ingest objects).
#[derive(Debug)]
pub struct PostfixSource {
    clock: LocalClock,
    correlator: Correlator,
}

impl PostfixSource {
    /// A source with `config`, dating zone-less timestamps with `clock`. A long-running
    /// source moves the clock's `now` along with [`set_now`](Self::set_now), or lines of a
    /// new year would be dated in the last one.
    pub fn new(config: PostfixConfig, clock: LocalClock) -> PostfixSource {
        PostfixSource {
            clock,
            correlator: Correlator::new(config),
        }
    }

    /// Moves the reference time used to choose the year of zone-less timestamps (a follower
    /// sets it to the wall clock now and then).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.clock.now = now;
    }

    /// Reads one line (a trailing `\n` or `\r\n` is ignored), appending the events it
    /// decides to `out`. Lines of other programs, or of no interest, give nothing and are no
    /// error; unreadable ones are errors. All are counted.
    pub fn push_line(
        &mut self,
        line: &str,
        out: &mut Vec<Map<String, Value>>,
    ) -> Result<(), LineError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        self.correlator.stats_mut().lines += 1;
        let limit = self.correlator.config().max_line_len;
        if line.len() > limit {
            self.correlator.stats_mut().oversized += 1;
            return Err(LineError::TooLong {
                len: line.len(),
                limit,
            });
        }
        match parse_line(line, &self.clock) {
            Ok(syslog) => {
                self.read_message(&syslog, out);
                Ok(())
            }
            Err(error) => {
                self.correlator.stats_mut().unparsed += 1;
                Err(error.into())
            }
        }
    }

    /// [`push_line`](Self::push_line) for bytes: invalid UTF-8 (a reply text in another
    /// charset) is replaced, a valid line is not copied.
    pub fn push_bytes(
        &mut self,
        line: &[u8],
        out: &mut Vec<Map<String, Value>>,
    ) -> Result<(), LineError> {
        self.push_line(&String::from_utf8_lossy(line), out)
    }

    /// Reads a line whose envelope was read elsewhere (a syslog listener, journald's
    /// `SYSLOG_IDENTIFIER`, `_HOSTNAME`, `MESSAGE` and time).
    pub fn push_syslog(&mut self, syslog: &SyslogLine<'_>, out: &mut Vec<Map<String, Value>>) {
        self.correlator.stats_mut().lines += 1;
        self.read_message(syslog, out);
    }

    fn read_message(&mut self, syslog: &SyslogLine<'_>, out: &mut Vec<Map<String, Value>>) {
        // Every dated line moves the log's clock, whatever it says.
        self.correlator.advance_to(syslog.timestamp, out);
        let parsed = parse_message(
            syslog.app,
            syslog.message,
            &self.correlator.config().extra_instances,
        );
        let stats = self.correlator.stats_mut();
        match parsed {
            Parsed::Line(line) => {
                let context = LineContext {
                    host: syslog.host,
                    timestamp: syslog.timestamp,
                    message: syslog.message,
                };
                self.correlator.push(context, &line, out);
            }
            Parsed::NotPostfix => stats.not_postfix += 1,
            Parsed::Ignored => stats.ignored += 1,
            Parsed::Malformed { .. } => stats.malformed += 1,
        }
    }

    /// Moves the log clock to `time` when the log is quiet (see [`Correlator::advance_to`]).
    pub fn advance_to(&mut self, time: DateTime<FixedOffset>, out: &mut Vec<Map<String, Value>>) {
        self.correlator.advance_to(time, out);
    }

    /// Ends the input (see [`Correlator::finish`]).
    pub fn finish(&mut self, out: &mut Vec<Map<String, Value>>) {
        self.correlator.finish(out);
    }

    /// How many lines were fed so far: the number the next line will have (lines are
    /// numbered from 0, whatever they gave).
    pub fn lines_read(&self) -> u64 {
        self.correlator.stats_ref().lines
    }

    /// The number of the oldest line the source's state still depends on (see
    /// [`Correlator::oldest_needed_line`]); `None` when no entry or hop is open.
    ///
    /// A reader that must survive restarts keeps its place at that line (or at the oldest
    /// line whose events are not yet safely delivered, whichever is older): re-reading from
    /// there rebuilds the open entries, and the events re-emitted have the same ids.
    pub fn oldest_needed_line(&self) -> Option<u64> {
        self.correlator.oldest_needed_line()
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.correlator.stats()
    }
}
