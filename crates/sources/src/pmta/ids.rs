//! The ids of PowerMTA events: stable, so reading an accounting file again gives the same
//! events.
//!
//! **`event_id`** is the decimal form of a 64-bit xxh3 hash (the digits-only shape of
//! SparkPost's ids) of the record's content, each part length-prefixed: a `pmta` tag, the
//! `type` as written, `timeLogged` (else `timeQueued`) and `timeQueued` as instants, and the
//! values of `orig`, `rcpt`, `orcpt`, `dsnStatus`, `dsnDiag`, `dsnMta`, `bounceCat`,
//! `vmta`, `jobId`, `envId`, `header_Message-Id`, `dlvSourceIp`, `dlvDestinationIp` and
//! `feedbackType`. The columns are taken by name, not position, so a file re-read with its
//! columns in another order (a changed `record-fields`) still gives the same ids. Every
//! retry of a recipient is a record of its own, logged at its own time, so each `t` record
//! gets its own id; two records alike in all of these are taken to be one record read
//! twice, which the subscribers' duplicate handling drops.
//!
//! **`message_id`** is 20 hex digits of an xxh3-128 hash. PowerMTA's records carry no id of
//! the message itself, so it is made of what names the message for this recipient: the
//! header `Message-Id` (a `header_Message-Id` column) or else the `envId` (`ENVID=`), with
//! the recipient; without either, `orig`, the recipient, `timeQueued` (else the record's
//! time) and `jobId`. A `jobId` alone names a job, often a whole campaign, not a message,
//! so it is never the id by itself. The `r`, `t`, `d` and `b` records of one message and
//! recipient share their id when they carry the same columns; `f` and `rb` records, read
//! from reports that arrive later, share it only when the report gave back the
//! `Message-Id` or `envId` (PowerMTA's processors fill what they can; what they fill is
//! **unknown** here).

use chrono::{DateTime, FixedOffset};

use super::record::Record;
use crate::postfix::events::IdHasher;

/// The `event_id` of the event of `record`.
pub(crate) fn event_id(record: &Record<'_>) -> String {
    let text = |value: Option<&str>| value.unwrap_or("").to_owned();
    let mut hasher = IdHasher::new()
        .part("pmta")
        .part(record.type_name)
        .time(record.time);
    hasher = optional_time(hasher, record.time_queued);
    for value in [
        record.orig,
        record.rcpt,
        record.orcpt,
        record.dsn_status,
        record.dsn_diag,
        record.dsn_mta,
        record.bounce_cat,
        record.vmta,
        record.job_id,
        record.env_id,
        record.header_message_id,
        record.dlv_source_ip,
        record.dlv_destination_ip,
        record.feedback_type,
    ] {
        hasher = hasher.part(&text(value));
    }
    hasher.event_id()
}

/// The `message_id` of the events of `record`.
pub(crate) fn message_id(record: &Record<'_>) -> String {
    let recipient = record.rcpt.unwrap_or("").to_lowercase();
    let hasher = IdHasher::new().part("pmta");
    if let Some(id) = record.header_message_id {
        return hasher
            .part("message-id")
            .part(id.trim())
            .part(&recipient)
            .message_id();
    }
    if let Some(id) = record.env_id {
        return hasher.part("envid").part(id).part(&recipient).message_id();
    }
    hasher
        .part("queued")
        .part(record.orig.unwrap_or(""))
        .part(&recipient)
        .time(record.time_queued.unwrap_or(record.time))
        .part(record.job_id.unwrap_or(""))
        .message_id()
}

fn optional_time(hasher: IdHasher, time: Option<DateTime<FixedOffset>>) -> IdHasher {
    match time {
        Some(time) => hasher.part("at").time(time),
        None => hasher.part("none"),
    }
}
