//! The source the agent drives: Postfix's log ([`PostfixSource`]) or PowerMTA's accounting
//! records ([`PmtaSource`]), behind the few calls the runner makes.
//!
//! **Why an enum here, not a trait in `eventhose-sources`.** The two sources share the shape
//! of `push_line` and a line count, and little else: Postfix correlates lines, reads syslog
//! envelopes from the network and keeps a clock; PowerMTA keeps nothing but a header; their
//! counters differ. A trait would put no-op clock and correlation methods and an associated
//! counters type into the pure crate for the one caller that drives sources generically. A
//! private enum keeps those no-ops here, beside the runner that needs them, and each `match`
//! shows where the sources differ. A third source is one more arm.
//!
//! **PowerMTA's header across restarts.** A record means nothing without the header line
//! before it, and a restart resumes past that line. The saved position keeps the header in
//! force there ([`crate::position`]): the runner asks [`Source::header_at`] for the header
//! before the line the position starts, saves its column names with the position, and a
//! restart puts it back ([`PmtaSource::set_header`]) before the first line. Re-reading the
//! file's first line instead would be wrong after a header line in the middle of a file,
//! and would have to find the file again when the position is in a rotated one; the saved
//! header is right in both cases, and costs a few hundred bytes in the position file.
//! [`HeaderLog`] keeps the header lines read since the oldest line that may still be saved.

use std::collections::VecDeque;

use chrono::{DateTime, FixedOffset, Utc};
use eventhose_sources::pmta::{self, Header, PmtaConfig, PmtaSource};
use eventhose_sources::postfix::{self, PostfixConfig, PostfixSource};
use eventhose_sources::syslog::{LocalClock, SyslogLine};
use serde_json::{Map, Value};

/// Which source reads the input, with its configuration.
#[derive(Clone, Debug)]
pub enum SourceKind {
    /// Postfix's mail log: a file, standard input or syslog
    /// ([`crate::postfix_config`] gives the defaults with the model's bounce classifier).
    Postfix(PostfixConfig),
    /// PowerMTA's accounting CSV: a file (`<acct-file path>`), or standard input (the pipe
    /// form, `<acct-file |program>`, which may need [`PmtaConfig::default_header`]). Not
    /// syslog.
    Pmta(PmtaConfig),
}

/// The counters of the source that ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceStats {
    /// The Postfix source's counters.
    Postfix(postfix::Stats),
    /// The PowerMTA source's counters.
    Pmta(pmta::Stats),
}

impl Default for SourceStats {
    fn default() -> SourceStats {
        SourceStats::Postfix(postfix::Stats::default())
    }
}

impl SourceStats {
    /// Lines fed to the source.
    pub fn lines(&self) -> u64 {
        match self {
            SourceStats::Postfix(stats) => stats.lines,
            SourceStats::Pmta(stats) => stats.lines,
        }
    }

    /// Events the source emitted.
    pub fn events(&self) -> u64 {
        match self {
            SourceStats::Postfix(stats) => stats.events,
            SourceStats::Pmta(stats) => stats.events,
        }
    }
}

/// The source being driven.
#[derive(Debug)]
pub(crate) enum Source {
    Postfix(PostfixSource),
    Pmta {
        source: PmtaSource,
        /// Kept only when positions are saved.
        headers: Option<HeaderLog>,
    },
}

impl Source {
    /// The source `kind` asks for. `clock` dates Postfix's zone-less lines; `resumed_header`
    /// is the PowerMTA header saved with the position resumed from; `keep_headers` says
    /// whether positions are saved (and so [`header_at`](Self::header_at) asked).
    pub(crate) fn new(
        kind: &SourceKind,
        clock: LocalClock,
        resumed_header: Option<Vec<String>>,
        keep_headers: bool,
    ) -> Source {
        match kind {
            SourceKind::Postfix(config) => {
                Source::Postfix(PostfixSource::new(config.clone(), clock))
            }
            SourceKind::Pmta(config) => {
                let mut source = PmtaSource::new(config.clone());
                let resumed =
                    resumed_header.map(|names| Header::new(names.iter().map(String::as_str)));
                if let Some(header) = &resumed {
                    source.set_header(header.clone());
                }
                let headers = keep_headers.then(|| HeaderLog::new(resumed));
                Source::Pmta { source, headers }
            }
        }
    }

    /// Reads one line of a file or of standard input. Unreadable lines are counted by the
    /// source.
    pub(crate) fn push_bytes(&mut self, line: &[u8], out: &mut Vec<Map<String, Value>>) {
        match self {
            Source::Postfix(source) => {
                let _ = source.push_bytes(line, out);
            }
            Source::Pmta { source, headers } => {
                let number = source.lines_read();
                let headers_before = source.stats().headers;
                let _ = source.push_bytes(line, out);
                if let Some(headers) = headers {
                    if source.stats().headers > headers_before {
                        if let Some(header) = source.read_header() {
                            headers.read(number, header.clone());
                        }
                    }
                }
            }
        }
    }

    /// Reads a syslog message whose envelope was read here. Only Postfix takes syslog (the
    /// runner refuses syslog input for PowerMTA before it starts), so PowerMTA ignores it.
    pub(crate) fn push_syslog(
        &mut self,
        syslog: &SyslogLine<'_>,
        out: &mut Vec<Map<String, Value>>,
    ) {
        if let Source::Postfix(source) = self {
            source.push_syslog(syslog, out);
        }
    }

    /// How many lines were fed: the number of the next line.
    pub(crate) fn lines_read(&self) -> u64 {
        match self {
            Source::Postfix(source) => source.lines_read(),
            Source::Pmta { source, .. } => source.lines_read(),
        }
    }

    /// The oldest line the source's state depends on. PowerMTA's records stand alone (its
    /// header is saved with the position instead): none.
    pub(crate) fn oldest_needed_line(&self) -> Option<u64> {
        match self {
            Source::Postfix(source) => source.oldest_needed_line(),
            Source::Pmta { .. } => None,
        }
    }

    /// Moves the reference time for zone-less timestamps (Postfix only).
    pub(crate) fn set_now(&mut self, now: DateTime<Utc>) {
        if let Source::Postfix(source) = self {
            source.set_now(now);
        }
    }

    /// Moves a quiet log's clock (Postfix's correlation; nothing waits in PowerMTA's).
    pub(crate) fn advance_to(
        &mut self,
        time: DateTime<FixedOffset>,
        out: &mut Vec<Map<String, Value>>,
    ) {
        if let Source::Postfix(source) = self {
            source.advance_to(time, out);
        }
    }

    /// Ends the input: Postfix reports what its correlation holds; PowerMTA holds nothing.
    pub(crate) fn finish(&mut self, out: &mut Vec<Map<String, Value>>) {
        if let Source::Postfix(source) = self {
            source.finish(out);
        }
    }

    /// The column names of the PowerMTA header in force at the start of line `line` (the
    /// line a position about to be saved starts), to be saved with it; `None` for Postfix,
    /// or when no header line was read (a configured default serves). Header lines before
    /// `line` are forgotten: positions never move back.
    pub(crate) fn header_at(&mut self, line: u64) -> Option<&[String]> {
        match self {
            Source::Pmta {
                headers: Some(headers),
                ..
            } => headers.at(line).map(Header::columns),
            _ => None,
        }
    }

    /// The source's counters.
    pub(crate) fn stats(&self) -> SourceStats {
        match self {
            Source::Postfix(source) => SourceStats::Postfix(source.stats()),
            Source::Pmta { source, .. } => SourceStats::Pmta(source.stats()),
        }
    }
}

/// The header lines read, by number, from the one in force at the oldest line that may
/// still be saved. Memory: one header per header line read since the last save.
#[derive(Debug, Default)]
pub(crate) struct HeaderLog {
    /// In force before the first of `changes`.
    before: Option<Header>,
    /// The number of each header line read, and its header, in line order.
    changes: VecDeque<(u64, Header)>,
}

impl HeaderLog {
    /// Starting with `header` in force (the resumed one).
    fn new(header: Option<Header>) -> HeaderLog {
        HeaderLog {
            before: header,
            changes: VecDeque::new(),
        }
    }

    /// Line `number` was a header line giving `header`.
    fn read(&mut self, number: u64, header: Header) {
        self.changes.push_back((number, header));
    }

    /// The header in force at the start of line `line`: the last one read on an earlier
    /// line. Changes before `line` are folded into `before`.
    fn at(&mut self, line: u64) -> Option<&Header> {
        while self
            .changes
            .front()
            .is_some_and(|(number, _)| *number < line)
        {
            if let Some((_, header)) = self.changes.pop_front() {
                self.before = Some(header);
            }
        }
        self.before.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &str) -> Header {
        Header::parse(names)
    }

    #[test]
    fn the_header_in_force_is_the_last_one_before_the_line() {
        let mut log = HeaderLog::new(Some(header("type,a")));
        log.read(3, header("type,b"));
        log.read(7, header("type,c"));
        assert_eq!(log.at(0), Some(&header("type,a")));
        assert_eq!(
            log.at(3),
            Some(&header("type,a")),
            "line 3 is the header line"
        );
        assert_eq!(log.at(4), Some(&header("type,b")));
        assert_eq!(log.at(8), Some(&header("type,c")));
        assert!(log.changes.is_empty(), "what is behind is forgotten");
        assert_eq!(log.at(2), Some(&header("type,c")), "never back");
        assert_eq!(HeaderLog::new(None).at(5), None);
    }

    #[test]
    fn a_pmta_source_tracks_its_header_lines() {
        let clock = LocalClock::new(eventhose_sources::syslog::Zone::utc(), Utc::now());
        let resumed = vec!["type".to_owned(), "rcpt".to_owned()];
        let mut source = Source::new(
            &SourceKind::Pmta(PmtaConfig::default()),
            clock,
            Some(resumed.clone()),
            true,
        );
        let mut out = Vec::new();
        source.push_bytes(b"d,x@example.com", &mut out);
        source.push_bytes(b"type,timeLogged,rcpt", &mut out);
        source.push_bytes(b"d,2026-12-07 10:00:00+0000,x@example.com", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(source.lines_read(), 3);
        assert_eq!(source.oldest_needed_line(), None);
        assert_eq!(source.header_at(1), Some(resumed.as_slice()));
        assert_eq!(
            source.header_at(2).map(<[String]>::to_vec),
            Some(vec![
                "type".to_owned(),
                "timeLogged".to_owned(),
                "rcpt".to_owned()
            ])
        );
        assert!(matches!(source.stats(), SourceStats::Pmta(stats) if stats.headers == 1));
    }
}
