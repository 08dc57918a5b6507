//! The whole PowerMTA source: accounting lines in, events out.
//!
//! [`PmtaSource`] is driven as [`PostfixSource`](crate::postfix::PostfixSource) is, so one
//! file follower (or a reader of the pipe form on standard input) can feed either: a line at
//! a time, in file order, with the events appended to a vector and every line counted in
//! [`Stats`]. A line is read as one CSV record (RFC 4180 quoting, by the `csv` crate); a
//! header line ([`super::header`]) sets the columns of the lines after it; each other line
//! is a record, mapped by [`super::map_record`]. It keeps no state but the current header,
//! so feeding the same lines again gives the same events.
//!
//! A quoted field may hold a line break in RFC 4180, which would split a record over lines.
//! PowerMTA is not known to write one (whether it does is **unknown**), and joining lines
//! would let one stray quote swallow the records after it, so a line that ends inside a
//! quoted field is refused as malformed, on its own.

use serde_json::{Map, Value};

use super::config::PmtaConfig;
use super::header::Header;
use super::map::{event_type, map_record, Outcome, Skip};
use super::record::{Record, RecordError, RecordType, Row};
use super::stats::Stats;

/// Why a line gave nothing. Every such line is also counted in [`Stats`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line is longer than [`PmtaConfig::max_line_len`].
    #[error("line of {len} bytes is longer than the limit of {limit}")]
    TooLong {
        /// The line's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The line is no single CSV record.
    #[error("malformed CSV: {0}")]
    Malformed(&'static str),
    /// A record came before any header line, and no default header is configured.
    #[error("a record before any header line, and no default header is configured")]
    NoHeader,
    /// The record lacks a column its event needs, or a column cannot be read.
    #[error("invalid record: {0}")]
    Record(#[from] RecordError),
}

/// Turns PowerMTA accounting lines into SparkPost-shaped events (bare ingest objects).
#[derive(Debug)]
pub struct PmtaSource {
    config: PmtaConfig,
    default_header: Option<Header>,
    header: Option<Header>,
    fields: csv::StringRecord,
    stats: Stats,
}

impl PmtaSource {
    /// A source with `config`, whose default header (if any) serves until a header line
    /// arrives.
    pub fn new(config: PmtaConfig) -> PmtaSource {
        PmtaSource {
            default_header: config.default_header.as_deref().map(Header::parse),
            config,
            header: None,
            fields: csv::StringRecord::new(),
            stats: Stats::default(),
        }
    }

    /// Reads one line (a trailing `\n` or `\r\n` is ignored), appending the event it gives
    /// to `out`. Header lines, blank lines and records of no event give nothing and are no
    /// error; unreadable lines and records are errors. All are counted.
    pub fn push_line(
        &mut self,
        line: &str,
        out: &mut Vec<Map<String, Value>>,
    ) -> Result<(), LineError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        self.stats.lines += 1;
        let limit = self.config.max_line_len;
        if line.len() > limit {
            self.stats.oversized += 1;
            return Err(LineError::TooLong {
                len: line.len(),
                limit,
            });
        }
        if line.trim().is_empty() {
            self.stats.blank += 1;
            return Ok(());
        }
        if let Err(error) = self.read_fields(line) {
            self.stats.malformed += 1;
            return Err(error);
        }
        if self.fields.get(0).is_some_and(Header::is_header_line) {
            self.header = Some(Header::new(self.fields.iter()));
            self.stats.headers += 1;
            return Ok(());
        }
        let Some(header) = self.header.as_ref().or(self.default_header.as_ref()) else {
            self.stats.no_header += 1;
            return Err(LineError::NoHeader);
        };
        let row = Row::new(header, &self.fields);
        // Records of no event are skipped before their columns are read, so that a type
        // this source does not know is never refused for them.
        let mapped = match event_type(RecordType::parse(row.get("type").unwrap_or(""))) {
            Err(skip) => Ok(Outcome::Skipped(skip)),
            Ok(_) => Record::read(row).and_then(|record| map_record(&record, &self.config, out)),
        };
        match mapped {
            Ok(Outcome::Event) => self.stats.events += 1,
            Ok(Outcome::Skipped(Skip::NotAnEvent)) => self.stats.not_events += 1,
            Ok(Outcome::Skipped(Skip::UnknownType)) => self.stats.unknown_types += 1,
            Ok(Outcome::Skipped(Skip::NoRecipient)) => self.stats.no_recipient += 1,
            Err(error) => {
                self.stats.invalid += 1;
                return Err(error.into());
            }
        }
        Ok(())
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

    /// The header in force: the last header line read, else the configured default.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref().or(self.default_header.as_ref())
    }

    /// The header read from the stream, if any: the last header line read, or the one given
    /// to [`set_header`](Self::set_header). Unlike [`header`](Self::header), never the
    /// configured default. This is what a reader that resumes mid-file must keep.
    pub fn read_header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Puts `header` in force as if its line had just been read, without counting a line:
    /// for a reader that resumes in the middle of a file, past its header line, with the
    /// header it kept from before.
    pub fn set_header(&mut self, header: Header) {
        self.header = Some(header);
    }

    /// How many lines were fed so far: the number the next line will have (lines are
    /// numbered from 0, whatever they gave).
    pub fn lines_read(&self) -> u64 {
        self.stats.lines
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Reads `line` as exactly one CSV record into `self.fields`.
    fn read_fields(&mut self, line: &str) -> Result<(), LineError> {
        if ends_inside_quotes(line) {
            return Err(LineError::Malformed("a quoted field is not closed"));
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes());
        match reader.read_record(&mut self.fields) {
            Ok(true) => {}
            Ok(false) => return Err(LineError::Malformed("no record")),
            Err(_) => return Err(LineError::Malformed("unreadable record")),
        }
        let mut rest = csv::StringRecord::new();
        match reader.read_record(&mut rest) {
            Ok(false) => Ok(()),
            _ => Err(LineError::Malformed("a line break inside the line")),
        }
    }
}

/// True when `line` ends inside a quoted field (RFC 4180: a quote opens a quoted field only
/// at the field's start; inside, `""` is a quote and `"` closes it).
fn ends_inside_quotes(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut quoted = false;
    let mut field_start = true;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if quoted {
            if byte == b'"' {
                if bytes.get(at + 1) == Some(&b'"') {
                    at += 1;
                } else {
                    quoted = false;
                }
            }
        } else if byte == b'"' && field_start {
            quoted = true;
        }
        field_start = !quoted && byte == b',';
        at += 1;
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_quotes_are_found() {
        for (line, open) in [
            ("a,b,c", false),
            ("a,\"b,c\",d", false),
            ("a,\"b\"\"c\",d", false),
            ("a,\"b,c", true),
            ("a,\"b\"\"", true),
            ("a,b\"c,d", false),
            ("\"", true),
            ("\"\"", false),
            ("a,\"b\"x\",c", false),
        ] {
            assert_eq!(ends_inside_quotes(line), open, "{line}");
        }
    }
}
