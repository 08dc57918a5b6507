//! One accounting record, read through its file's header: the typed view the mapping uses.
//!
//! The record types and the columns read (PowerMTA's names; any other column is ignored):
//!
//! | type | meaning |
//! |---|---|
//! | `r` | received (the message was accepted for a recipient) |
//! | `d`, `delivery` | delivered |
//! | `b`, `bounce` | bounced: PowerMTA gave up on the recipient |
//! | `t` | transient: a delivery attempt failed and will be retried |
//! | `tq` | transient-queue: a failure of a whole queue (a domain or VirtualMTA), no recipient |
//! | `f` | feedback loop: a complaint read by PowerMTA's `<feedback-loop-processor>` |
//! | `rb` | remote bounce: a bounce mail read by PowerMTA's `<bounce-processor>` |
//! | `rs` | remote status: a report read likewise that is no bounce |
//!
//! Columns: `timeLogged` (when the record was written), `timeQueued` (when the message was
//! queued), `totalSecondsQueued`, `orig` (`MAIL FROM`), `rcpt` (`RCPT TO`), `orcpt` (the
//! `ORCPT` parameter, `rfc822;address`), `dsnAction`, `dsnStatus` (the enhanced status code,
//! perhaps followed by text in parentheses), `dsnDiag` (the remote reply, often prefixed
//! `smtp;`), `dsnMta` (the remote MTA, `name (IP)`), `bounceCat`, `srcType`, `srcMta`,
//! `dlvSourceIp`, `dlvDestinationIp` (also read in the misspelling `dlvDesintationIp`
//! one copy of the guide has), `dlvSize`, `vmta`, `jobId`, `envId`, `feedbackType` (on `f`
//! records) and `header_Message-Id`.
//!
//! **Unknown**: the long names of the types other than `delivery` and `bounce` (such
//! records are counted as of an unknown type); which columns `f`, `rb` and `rs` records can
//! carry beyond the common ones (`feedbackType` is read if present; the report's other
//! fields are not); what `rs` records report; whether any column counts attempts (none is
//! read, so events carry no `num_retries`).

use chrono::{DateTime, FixedOffset};

use super::header::Header;
use super::time::parse_time;

/// A PowerMTA record type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// `r`: received.
    Received,
    /// `d` or `delivery`: delivered.
    Delivered,
    /// `b` or `bounce`: bounced.
    Bounced,
    /// `t`: a transient failure of one recipient.
    Transient,
    /// `tq`: a transient failure of a queue.
    TransientQueue,
    /// `f`: a feedback-loop complaint.
    Feedback,
    /// `rb`: a remote (out-of-band) bounce.
    RemoteBounce,
    /// `rs`: a remote status report.
    RemoteStatus,
    /// Any other value.
    Other,
}

impl RecordType {
    /// The type of a record's `type` field.
    pub fn parse(text: &str) -> RecordType {
        match text.trim() {
            "r" => RecordType::Received,
            "d" | "delivery" => RecordType::Delivered,
            "b" | "bounce" => RecordType::Bounced,
            "t" => RecordType::Transient,
            "tq" => RecordType::TransientQueue,
            "f" => RecordType::Feedback,
            "rb" => RecordType::RemoteBounce,
            "rs" => RecordType::RemoteStatus,
            _ => RecordType::Other,
        }
    }
}

/// What is wrong with a column of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The column is not in the header, or is empty, where the record needs it.
    #[error("is missing")]
    Missing,
    /// The value is not one of PowerMTA's timestamp forms.
    #[error("is not a timestamp")]
    BadTimestamp,
    /// The value is not a whole number.
    #[error("is not a whole number")]
    BadNumber,
    /// The value names no configured subaccount, and unknown values are refused.
    #[error("names a value that is not mapped to a subaccount")]
    UnmappedSubaccount,
}

/// A record that cannot be read, naming the column (as PowerMTA spells it, or as
/// configured) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column `{column}` {problem}")]
pub struct RecordError {
    /// The column.
    pub column: String,
    /// What is wrong.
    pub problem: Problem,
}

impl RecordError {
    pub(crate) fn new(column: &str, problem: Problem) -> RecordError {
        RecordError {
            column: column.to_owned(),
            problem,
        }
    }
}

/// A data line's fields, looked up through its header.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    header: &'a Header,
    fields: &'a csv::StringRecord,
}

impl<'a> Row<'a> {
    /// The fields of one line, named by `header`.
    pub fn new(header: &'a Header, fields: &'a csv::StringRecord) -> Row<'a> {
        Row { header, fields }
    }

    /// The value of column `name` (ignoring ASCII case), `None` when the header has no such
    /// column, the line is shorter, or the value is empty.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let fields: &'a csv::StringRecord = self.fields;
        self.header
            .index(name)
            .and_then(|at| fields.get(at))
            .filter(|value| !value.is_empty())
    }

    fn time(&self, name: &str) -> Result<Option<DateTime<FixedOffset>>, RecordError> {
        self.get(name)
            .map(|text| {
                parse_time(text).ok_or_else(|| RecordError::new(name, Problem::BadTimestamp))
            })
            .transpose()
    }

    fn number(&self, name: &str) -> Result<Option<u64>, RecordError> {
        self.get(name)
            .map(|text| {
                text.trim()
                    .parse::<u64>()
                    .map_err(|_| RecordError::new(name, Problem::BadNumber))
            })
            .transpose()
    }
}

/// The typed view of one data record.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// The record's type.
    pub record_type: RecordType,
    /// The `type` field as written.
    pub type_name: &'a str,
    /// When the record was written: `timeLogged`, else (files configured without it)
    /// `timeQueued`.
    pub time: DateTime<FixedOffset>,
    /// `timeLogged`, when the record has it.
    pub time_logged: Option<DateTime<FixedOffset>>,
    /// `timeQueued`.
    pub time_queued: Option<DateTime<FixedOffset>>,
    /// `totalSecondsQueued`.
    pub total_seconds_queued: Option<u64>,
    /// `orig`.
    pub orig: Option<&'a str>,
    /// `rcpt`.
    pub rcpt: Option<&'a str>,
    /// `orcpt`.
    pub orcpt: Option<&'a str>,
    /// `dsnStatus`.
    pub dsn_status: Option<&'a str>,
    /// `dsnDiag`.
    pub dsn_diag: Option<&'a str>,
    /// `dsnMta`.
    pub dsn_mta: Option<&'a str>,
    /// `bounceCat`.
    pub bounce_cat: Option<&'a str>,
    /// `srcType`.
    pub src_type: Option<&'a str>,
    /// `dlvSourceIp`.
    pub dlv_source_ip: Option<&'a str>,
    /// `dlvDestinationIp`.
    pub dlv_destination_ip: Option<&'a str>,
    /// `dlvSize`.
    pub dlv_size: Option<u64>,
    /// `vmta`.
    pub vmta: Option<&'a str>,
    /// `jobId`.
    pub job_id: Option<&'a str>,
    /// `envId`.
    pub env_id: Option<&'a str>,
    /// `header_Message-Id`.
    pub header_message_id: Option<&'a str>,
    /// `feedbackType`.
    pub feedback_type: Option<&'a str>,
    /// The whole line, for the configured columns.
    pub row: Row<'a>,
}

impl<'a> Record<'a> {
    /// Reads a data line. The type is read first; a time that cannot be read, or a record
    /// with neither `timeLogged` nor `timeQueued`, is an error naming the column.
    pub fn read(row: Row<'a>) -> Result<Record<'a>, RecordError> {
        let type_name = row.get("type").unwrap_or("");
        let time_logged = row.time("timeLogged")?;
        let time_queued = row.time("timeQueued")?;
        let time = time_logged
            .or(time_queued)
            .ok_or_else(|| RecordError::new("timeLogged", Problem::Missing))?;
        Ok(Record {
            record_type: RecordType::parse(type_name),
            type_name,
            time,
            time_logged,
            time_queued,
            total_seconds_queued: row.number("totalSecondsQueued")?,
            orig: row.get("orig"),
            rcpt: row.get("rcpt"),
            orcpt: row.get("orcpt"),
            dsn_status: row.get("dsnStatus"),
            dsn_diag: row.get("dsnDiag"),
            dsn_mta: row.get("dsnMta"),
            bounce_cat: row.get("bounceCat"),
            src_type: row.get("srcType"),
            dlv_source_ip: row.get("dlvSourceIp"),
            dlv_destination_ip: row
                .get("dlvDestinationIp")
                .or_else(|| row.get("dlvDesintationIp")),
            dlv_size: row.number("dlvSize")?,
            vmta: row.get("vmta"),
            job_id: row.get("jobId"),
            env_id: row.get("envId"),
            header_message_id: row.get("header_Message-Id"),
            feedback_type: row.get("feedbackType"),
            row,
        })
    }
}
