//! One accounting record → its SparkPost event: which type, which fields.
//!
//! | PowerMTA | event | `bounce_class` |
//! |---|---|---|
//! | `r` received | `injection` | |
//! | `d` delivered | `delivery` | |
//! | `t` transient | `delay` | `bounceCat`'s, else the reply's; never hard |
//! | `b` bounced | `bounce` | `bounceCat`'s, else the reply's |
//! | `rb` remote bounce | `out_of_band` | `bounceCat`'s, else the reply's |
//! | `f` feedback loop | `spam_complaint` (`fbtype`: `feedbackType`, lower-cased) | |
//!
//! (Categories: [`super::bounce_class`].) Skipped, and counted: `tq` (a transient failure of
//! a whole queue, a domain or VirtualMTA that could not be reached: it names no recipient,
//! and each recipient's own `t` or `b` record reports what became of it), `rs` (a remote
//! status report that is no bounce; what PowerMTA files as one is **unknown**, so nothing is
//! made of it), types this mapping does not know, and an `f` record that names no
//! complaining recipient.
//!
//! **Fields**, each only on the types SparkPost documents it for, plus `mailbox_provider` and
//! `mailbox_provider_region` on every type (the rule of the KumoMTA source):
//!
//! - `timestamp`: `timeLogged`, else `timeQueued`; `injection_time`: `timeQueued` (not on
//!   `f` and `rb` records, about reports that came back later); `event_id`, `message_id`:
//!   see `ids.rs`.
//! - `rcpt_to`: `rcpt`, lower-cased; `raw_rcpt_to`: the address of `orcpt` when it is of
//!   type `rfc822`, else `rcpt` as written; `recipient_domain` and `routing_domain`: the
//!   recipient's domain; `msg_from`: `orig`; `sending_domain`: its domain.
//! - `campaign_id`, `ip_pool` and the subaccount: the configured columns
//!   ([`super::PmtaConfig`]; by default `jobId` and `vmta`, no subaccount).
//! - `sending_ip`: `dlvSourceIp`; `ip_address` (deliveries and their failures):
//!   `dlvDestinationIp`, else the address in parentheses in `dsnMta`; both only when they
//!   are IP addresses. `msg_size`: `dlvSize` (not on `f` and `rb` records, where it is the
//!   report's size); `recv_method`: `esmtp` for `srcType` `smtp`.
//! - `queue_time` (ms, deliveries and delays): `timeLogged` − `timeQueued`, else
//!   `totalSecondsQueued`.
//! - `raw_reason`: `dsnDiag` without its diagnostic type (`smtp;`), else `dsnStatus`;
//!   `reason`: the same with addresses hidden; `error_code`: the reply code in it;
//!   the enhanced code is the reply's, else the one `dsnStatus` starts with.
//! - `mailbox_provider[_region]`: the recipient's domain in the model's table, else, for a
//!   delivery attempt, the name of the MX host in `dsnMta`.

use std::net::IpAddr;

use eventhose_model::{
    mailbox_provider, mailbox_provider_for_mx, EnhancedStatus, EventType, SmtpReply,
};
use serde_json::{Map, Value};

use super::bounce_class::classify;
use super::config::{PmtaConfig, UnknownSubaccount};
use super::ids;
use super::record::{Problem, Record, RecordError, RecordType};
use crate::fields::Fields;
use crate::postfix::events::rfc3339;
use crate::postfix::reason::canonical_reason;

/// Why a record gave no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A record type that is no event (`tq`, `rs`).
    NotAnEvent,
    /// A record type this mapping does not know.
    UnknownType,
    /// An `f` record that names no recipient.
    NoRecipient,
}

/// What one record gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// One event was appended.
    Event,
    /// None, for this reason.
    Skipped(Skip),
}

/// Maps one record to its event, appended to `out`. A record that lacks what its event
/// needs, or whose subaccount is refused, is an error naming the column, and appends
/// nothing.
pub fn map_record(
    record: &Record<'_>,
    config: &PmtaConfig,
    out: &mut Vec<Map<String, Value>>,
) -> Result<Outcome, RecordError> {
    let event_type = match event_type(record.record_type) {
        Ok(event_type) => event_type,
        Err(skip) => return Ok(Outcome::Skipped(skip)),
    };
    match (record.rcpt, record.record_type) {
        (None, RecordType::Feedback) => return Ok(Outcome::Skipped(Skip::NoRecipient)),
        (None, RecordType::RemoteBounce) | (Some(_), _) => {}
        (None, _) => return Err(RecordError::new("rcpt", Problem::Missing)),
    }
    let subaccount = subaccount(record, config)?;
    out.push(event(record, config, event_type, subaccount));
    Ok(Outcome::Event)
}

/// The event type of a record type, or why it has none.
pub fn event_type(record_type: RecordType) -> Result<EventType, Skip> {
    match record_type {
        RecordType::Received => Ok(EventType::Injection),
        RecordType::Delivered => Ok(EventType::Delivery),
        RecordType::Transient => Ok(EventType::Delay),
        RecordType::Bounced => Ok(EventType::Bounce),
        RecordType::RemoteBounce => Ok(EventType::OutOfBand),
        RecordType::Feedback => Ok(EventType::SpamComplaint),
        RecordType::TransientQueue | RecordType::RemoteStatus => Err(Skip::NotAnEvent),
        RecordType::Other => Err(Skip::UnknownType),
    }
}

/// The subaccount the configured column names, if any.
fn subaccount(record: &Record<'_>, config: &PmtaConfig) -> Result<Option<u64>, RecordError> {
    let Some(column) = config.subaccount_column.as_deref() else {
        return Ok(None);
    };
    let Some(value) = record.row.get(column) else {
        return Ok(None);
    };
    match config.subaccounts.get(value) {
        Some(&id) => Ok(Some(id)),
        None if config.unknown_subaccount == UnknownSubaccount::Primary => Ok(None),
        None => Err(RecordError::new(column, Problem::UnmappedSubaccount)),
    }
}

fn event(
    record: &Record<'_>,
    config: &PmtaConfig,
    event_type: EventType,
    subaccount: Option<u64>,
) -> Map<String, Value> {
    let kind = record.record_type;
    let mut fields = Fields::default();
    fields.text("type", event_type.as_str());
    fields.text("event_id", &ids::event_id(record));
    fields.text("timestamp", &rfc3339(record.time));
    fields.text("message_id", &ids::message_id(record));
    if let Some(id) = subaccount {
        fields.int("subaccount_id", id);
    }

    let rcpt_to = record.rcpt.map(str::to_lowercase);
    let domain = rcpt_to.as_deref().and_then(domain_of);
    if let (Some(rcpt_to), Some(rcpt)) = (rcpt_to.as_deref(), record.rcpt) {
        fields.text("rcpt_to", rcpt_to);
        fields.text("raw_rcpt_to", rfc822_address(record.orcpt).unwrap_or(rcpt));
    }
    fields.maybe("recipient_domain", domain);
    fields.maybe("routing_domain", domain);
    let msg_from = record.orig.filter(|orig| *orig != "<>");
    fields.maybe("msg_from", msg_from);
    fields.maybe(
        "sending_domain",
        msg_from
            .and_then(domain_of)
            .map(str::to_lowercase)
            .as_deref(),
    );
    let column = |name: &Option<String>| name.as_deref().and_then(|name| record.row.get(name));
    fields.maybe("campaign_id", column(&config.campaign_column));
    fields.maybe("ip_pool", column(&config.ip_pool_column));
    fields.maybe("sending_ip", record.dlv_source_ip.and_then(ip).as_deref());

    let attempt = matches!(
        kind,
        RecordType::Delivered | RecordType::Transient | RecordType::Bounced
    );
    let (mx_name, mx_ip) = record.dsn_mta.map(split_mta).unwrap_or((None, None));
    if attempt {
        let destination = record.dlv_destination_ip.and_then(ip).or(mx_ip);
        fields.maybe("ip_address", destination.as_deref());
    }
    let provider = domain.and_then(mailbox_provider).or_else(|| {
        mx_name
            .filter(|_| attempt)
            .and_then(mailbox_provider_for_mx)
    });
    if let Some(provider) = provider {
        fields.text("mailbox_provider", provider.name);
        fields.text("mailbox_provider_region", provider.region);
    }

    let about_original = !matches!(kind, RecordType::Feedback | RecordType::RemoteBounce);
    if about_original {
        if let Some(queued) = record.time_queued {
            fields.text("injection_time", &rfc3339(queued));
        }
    }
    if let Some(size) = record.dlv_size.filter(|&size| size > 0 && about_original) {
        fields.int("msg_size", size);
    }
    if record
        .src_type
        .is_some_and(|t| t.eq_ignore_ascii_case("smtp"))
    {
        fields.text("recv_method", "esmtp");
    }
    if let Some(queue_time) = queue_time(record).filter(|_| attempt) {
        fields.int("queue_time", queue_time);
    }

    if matches!(
        kind,
        RecordType::Transient | RecordType::Bounced | RecordType::RemoteBounce
    ) {
        failure_fields(record, kind == RecordType::Transient, &mut fields);
    }
    if kind == RecordType::Feedback {
        let fbtype = record.feedback_type.map(|t| t.trim().to_ascii_lowercase());
        fields.maybe("fbtype", fbtype.as_deref().filter(|t| !t.is_empty()));
    }
    fields.keep_documented(event_type)
}

/// `bounce_class`, `error_code`, `raw_reason` and `reason` of a failure.
fn failure_fields(record: &Record<'_>, transient: bool, fields: &mut Fields) {
    let diag = record.dsn_diag.map(strip_diagnostic_type);
    let status = record
        .dsn_status
        .and_then(|status| EnhancedStatus::parse(status.split_whitespace().next()?));
    let raw_reason = diag.or(record.dsn_status).unwrap_or("");
    let parsed = SmtpReply::parse(raw_reason);
    let reply = SmtpReply::new(parsed.code, parsed.enhanced.or(status), parsed.text);
    let class = classify(record.bounce_cat, &reply, transient);
    fields.int("bounce_class", u64::from(class));
    if let Some(code) = parsed.code.filter(|_| diag.is_some()) {
        fields.int("error_code", u64::from(code));
    }
    if !raw_reason.is_empty() {
        fields.text("raw_reason", raw_reason);
        fields.text("reason", &canonical_reason(raw_reason));
    }
}

/// `timeLogged` − `timeQueued` in ms, else `totalSecondsQueued` in ms.
fn queue_time(record: &Record<'_>) -> Option<u64> {
    let between = record
        .time_logged
        .zip(record.time_queued)
        .and_then(|(logged, queued)| u64::try_from((logged - queued).num_milliseconds()).ok());
    between.or_else(|| {
        record
            .total_seconds_queued
            .and_then(|seconds| seconds.checked_mul(1000))
    })
}

/// A DSN diagnostic without its type: `smtp;550 …` → `550 …`.
fn strip_diagnostic_type(diag: &str) -> &str {
    let diag = diag.trim();
    match diag.split_once(';') {
        Some((kind, rest)) if kind.trim().eq_ignore_ascii_case("smtp") => rest.trim_start(),
        _ => diag,
    }
}

/// The address of an `orcpt` of type `rfc822` (`rfc822;user@example.com`).
fn rfc822_address(orcpt: Option<&str>) -> Option<&str> {
    let (kind, address) = orcpt?.split_once(';')?;
    let address = address.trim();
    (kind.trim().eq_ignore_ascii_case("rfc822") && address.contains('@')).then_some(address)
}

/// `dsnMta` as `name (IP)`: the host name (without a trailing dot) and the IP.
fn split_mta(mta: &str) -> (Option<&str>, Option<String>) {
    let (name, rest) = match mta.split_once('(') {
        Some((name, rest)) => (name, Some(rest)),
        None => (mta, None),
    };
    let name = name.trim().trim_end_matches('.');
    let address = rest
        .and_then(|rest| rest.split_once(')'))
        .and_then(|(inside, _)| ip(inside));
    (Some(name).filter(|name| !name.is_empty()), address)
}

/// The non-empty text after the last `@`.
fn domain_of(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|domain| !domain.is_empty())
}

/// The text as an IP address, written canonically; `None` when it is not one.
fn ip(text: &str) -> Option<String> {
    text.trim().parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_lose_their_type() {
        assert_eq!(strip_diagnostic_type("smtp;550 5.1.1 no"), "550 5.1.1 no");
        assert_eq!(strip_diagnostic_type("SMTP; 452 full"), "452 full");
        assert_eq!(strip_diagnostic_type("x-local;oops"), "x-local;oops");
    }

    #[test]
    fn orcpt_gives_only_rfc822_addresses() {
        assert_eq!(
            rfc822_address(Some("rfc822;Jane@Example.com")),
            Some("Jane@Example.com")
        );
        assert_eq!(rfc822_address(Some("x-other;Jane@Example.com")), None);
        assert_eq!(rfc822_address(Some("rfc822;jane")), None);
        assert_eq!(rfc822_address(None), None);
    }

    #[test]
    fn remote_mtas_are_split() {
        assert_eq!(
            split_mta("gmail-smtp-in.l.google.com. (142.251.2.27)"),
            (
                Some("gmail-smtp-in.l.google.com"),
                Some("142.251.2.27".to_owned())
            )
        );
        assert_eq!(split_mta("mx.example.net"), (Some("mx.example.net"), None));
        assert_eq!(split_mta("(not an ip)"), (None, None));
    }
}
