//! One KumoMTA record → its SparkPost events: which type, which fields.
//!
//! | KumoMTA `type` | event | `bounce_class` |
//! |---|---|---|
//! | Reception | `injection` | |
//! | Delivery | `delivery` | |
//! | TransientFailure | `delay` | KumoMTA's, else the reply's; never hard |
//! | Bounce | `bounce` | KumoMTA's, else the reply's |
//! | Expiration | `bounce` | KumoMTA's, else 24 Timeout |
//! | AdminBounce | `bounce` | 25 Admin Failure |
//! | OOB | `out_of_band` | KumoMTA's, else the reply's |
//! | Feedback | `spam_complaint` (`fbtype` = the report's `feedback_type`) | |
//! | Rejection | `policy_rejection` | KumoMTA's, else the reply's |
//!
//! (How classes map: [`super::bounce_class`].) One event per recipient: `recipient` may name
//! several. Skipped, and counted: Delayed (KumoMTA's own scheduling, not a remote answer),
//! AdminRebind, DeferredInjectionRebind, XferOut and XferIn (the message moves, nothing
//! happens to it); the log hooks' own traffic (queue `*.log_hook`, delivery protocol `Lua`,
//! reception protocol `LogRecord`); types newer than this mapping (so a KumoMTA upgrade never
//! makes eventhose refuse its batches); a Rejection before `RCPT TO` (no recipient); a
//! Feedback report that names no complaining recipient.
//!
//! **Fields**, each only on the types SparkPost documents it for, plus `mailbox_provider`
//! and `mailbox_provider_region` on every type (as SparkPost's own samples carry them, and
//! as the Metrics API groups every count by them):
//!
//! - `message_id`, `event_id`: see `ids.rs`; `timestamp`: `event_time`, else `timestamp`;
//!   `injection_time`: `created` (not on OOB, Feedback and Rejection records, where it is the
//!   report's arrival or absent).
//! - `rcpt_to` (lower-cased), `raw_rcpt_to`, `recipient_domain`; `routing_domain`: the
//!   queue's routing domain, else the recipient's domain; `msg_from`: `sender` (empty is the
//!   null sender: none); `sending_domain`: its domain.
//! - `msg_size`: `size` (not when 0: KumoMTA writes 0 when it does not know);
//!   `num_retries`: `num_attempts`; `queue_time`: from `created` to the event, in ms.
//! - `raw_reason`: `response.content` with its code and enhanced code in front, as the reply
//!   was sent; `reason`: the same with addresses hidden; `error_code`: `response.code`.
//! - `campaign_id`: `meta.campaign`, else the queue's campaign; the tenant, from
//!   `meta.tenant` or the queue, names the subaccount ([`super::KumoConfig`]); on Feedback
//!   records the report's decoded trace header (`supplemental_trace`) is read first.
//! - `ip_pool`: `egress_pool`; `sending_ip`: the IP of `source_address.address`;
//!   `ip_address` (deliveries and their failures): the IP of `peer_address.addr`;
//!   `remote_addr` (rejections): the same, the client refused.
//! - `mailbox_provider[_region]`: the recipient's domain in the model's table, else, for a
//!   delivery attempt, the MX host that answered (`peer_address.name`).
//! - `delv_method` `esmtp` for `delivery_protocol` ESMTP; `recv_method` `esmtp` or `rest`
//!   for `reception_protocol` ESMTP or HTTP (`esmtp` for a Rejection, which has none).
//! - Feedback: `rcpt_to` is the complainer (the trace header's `recipient`, else the report's
//!   first `Original-Rcpt-To`), `msg_from` the report's `Original-Mail-From`, `report_by`
//!   the reporting MTA, `report_to` the address the report was sent to (the record's
//!   recipient).

use std::net::{IpAddr, SocketAddr};

use eventhose_model::{mailbox_provider, mailbox_provider_for_mx, EventType};
use serde_json::{Map, Value};

use super::bounce_class::classify;
use super::config::{KumoConfig, UnknownTenant};
use super::ids;
use super::queue::{is_log_hook_queue, QueueName};
use super::record::{get, optional_object, optional_str, Problem, Record, RecordError, RecordType};
use crate::fields::Fields;
use crate::postfix::events::rfc3339;
use crate::postfix::reason::canonical_reason;

/// 24, Timeout: an expired message's class when KumoMTA names none.
pub const EXPIRED_BOUNCE_CLASS: u16 = 24;
/// 25, Admin Failure: the class of an administrator's bounce.
pub const ADMIN_BOUNCE_CLASS: u16 = 25;

/// Why a record gave no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A record type that is no event (Delayed, AdminRebind, DeferredInjectionRebind, XferOut,
    /// XferIn).
    NotAnEvent,
    /// The log hooks' own traffic.
    HookTraffic,
    /// A record type this mapping does not know.
    UnknownType,
    /// A Rejection or Feedback record that names no recipient to report on.
    NoRecipient,
}

/// What one record gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This many events were appended.
    Events(usize),
    /// None, for this reason.
    Skipped(Skip),
}

/// Maps one record (a JSON value) to its events, appended to `out`. A record that cannot be
/// read, or whose tenant is refused, is an error naming the field, and appends nothing.
pub fn map_record(
    value: &Value,
    config: &KumoConfig,
    out: &mut Vec<Map<String, Value>>,
) -> Result<Outcome, RecordError> {
    let (record_type, _) = Record::record_type(value)?;
    let event_type = match record_type {
        RecordType::Reception => EventType::Injection,
        RecordType::Delivery => EventType::Delivery,
        RecordType::TransientFailure => EventType::Delay,
        RecordType::Bounce | RecordType::Expiration | RecordType::AdminBounce => EventType::Bounce,
        RecordType::OOB => EventType::OutOfBand,
        RecordType::Feedback => EventType::SpamComplaint,
        RecordType::Rejection => EventType::PolicyRejection,
        RecordType::AdminRebind
        | RecordType::DeferredInjectionRebind
        | RecordType::Delayed
        | RecordType::XferOut
        | RecordType::XferIn => return Ok(Outcome::Skipped(Skip::NotAnEvent)),
        RecordType::Other => return Ok(Outcome::Skipped(Skip::UnknownType)),
    };
    let record = Record::read(value)?;
    if is_hook_traffic(&record) {
        return Ok(Outcome::Skipped(Skip::HookTraffic));
    }
    let shared = Shared::read(&record, config)?;
    let recipients = match record_type {
        RecordType::Feedback => complainer(&record)?.into_iter().collect(),
        _ => record
            .recipients
            .iter()
            .copied()
            .filter(|recipient| !recipient.is_empty())
            .collect::<Vec<_>>(),
    };
    if recipients.is_empty() {
        return match record_type {
            RecordType::Rejection | RecordType::Feedback => Ok(Outcome::Skipped(Skip::NoRecipient)),
            _ => Err(RecordError::new(
                "recipient",
                Problem::Invalid("names no recipient"),
            )),
        };
    }
    for recipient in &recipients {
        out.push(event(&record, &shared, event_type, recipient));
    }
    Ok(Outcome::Events(recipients.len()))
}

fn is_hook_traffic(record: &Record<'_>) -> bool {
    is_log_hook_queue(record.queue)
        || record.delivery_protocol == Some("Lua")
        || record.reception_protocol == Some("LogRecord")
}

/// What every event of one record says, whatever its recipient.
struct Shared<'a> {
    queue: QueueName<'a>,
    subaccount: Option<u64>,
    campaign: Option<&'a str>,
    msg_from: Option<&'a str>,
    bounce_class: Option<u16>,
}

impl<'a> Shared<'a> {
    fn read(record: &Record<'a>, config: &KumoConfig) -> Result<Shared<'a>, RecordError> {
        let queue = QueueName::parse(record.queue);
        let trace = trace_header(record)?;
        let labelled = |name: &str, field: &'static str, of_queue: Option<&'a str>| {
            let from_meta = |object: Option<&'a Map<String, Value>>| {
                object
                    .and_then(|object| get(object, name))
                    .and_then(Value::as_str)
                    .filter(|text| !text.is_empty())
            };
            from_meta(trace)
                .map(|text| (text, "feedback_report.supplemental_trace"))
                .or_else(|| from_meta(record.meta).map(|text| (text, field)))
                .or_else(|| of_queue.map(|text| (text, "queue")))
        };
        let tenant = labelled("tenant", "meta.tenant", queue.tenant);
        let subaccount = match tenant {
            None => None,
            Some((tenant, field)) => match config.tenants.get(tenant) {
                Some(&id) => Some(id),
                None if config.unknown_tenant == UnknownTenant::Primary => None,
                None => {
                    return Err(RecordError::new(
                        field,
                        Problem::Invalid("names a tenant that is not mapped to a subaccount"),
                    ))
                }
            },
        };
        let campaign = labelled("campaign", "meta.campaign", queue.campaign).map(|(c, _)| c);
        let msg_from = match record.record_type {
            RecordType::Feedback => record
                .feedback_report
                .map(|report| {
                    optional_str(
                        report,
                        "original_mail_from",
                        "feedback_report.original_mail_from",
                    )
                })
                .transpose()?
                .flatten(),
            _ => Some(record.sender),
        }
        .filter(|sender| !sender.is_empty());
        let response = &record.response;
        let kumomta_class = record.bounce_classification;
        let bounce_class = match record.record_type {
            RecordType::TransientFailure => Some(classify(kumomta_class, response, None, true)),
            RecordType::Bounce | RecordType::OOB | RecordType::Rejection => {
                Some(classify(kumomta_class, response, None, false))
            }
            RecordType::Expiration => Some(classify(
                kumomta_class,
                response,
                Some(EXPIRED_BOUNCE_CLASS),
                false,
            )),
            RecordType::AdminBounce => Some(ADMIN_BOUNCE_CLASS),
            _ => None,
        };
        Ok(Shared {
            queue,
            subaccount,
            campaign,
            msg_from,
            bounce_class,
        })
    }
}

/// A Feedback report's decoded trace header (`X-KumoRef`): the recipient, tenant and
/// campaign of the message complained about, when the report quoted it.
fn trace_header<'a>(record: &Record<'a>) -> Result<Option<&'a Map<String, Value>>, RecordError> {
    match record.feedback_report {
        Some(report) if record.record_type == RecordType::Feedback => optional_object(
            report,
            "supplemental_trace",
            "feedback_report.supplemental_trace",
        ),
        _ => Ok(None),
    }
}

/// Who complained: the trace header's recipient, else the report's first `Original-Rcpt-To`.
fn complainer<'a>(record: &Record<'a>) -> Result<Option<&'a str>, RecordError> {
    if let Some(recipient) = trace_header(record)?
        .map(|trace| optional_str(trace, "recipient", "feedback_report.supplemental_trace"))
        .transpose()?
        .flatten()
        .filter(|r| !r.is_empty())
    {
        return Ok(Some(recipient));
    }
    let field = "feedback_report.original_rcpto_to";
    match record
        .feedback_report
        .and_then(|r| get(r, "original_rcpto_to"))
    {
        None => Ok(None),
        // An empty Lua table encoded as an object.
        Some(Value::Object(map)) if map.is_empty() => Ok(None),
        Some(Value::Array(list)) => match list.first() {
            None => Ok(None),
            Some(Value::String(first)) => Ok(Some(first.as_str()).filter(|r| !r.is_empty())),
            Some(_) => Err(RecordError::new(
                field,
                Problem::WrongType {
                    expected: "an array of strings",
                },
            )),
        },
        Some(_) => Err(RecordError::new(
            field,
            Problem::WrongType {
                expected: "an array of strings",
            },
        )),
    }
}

/// Builds the event `record` gives for `recipient`.
fn event(
    record: &Record<'_>,
    shared: &Shared<'_>,
    event_type: EventType,
    recipient: &str,
) -> Map<String, Value> {
    let mut fields = Fields::default();
    let kind = record.record_type;
    fields.text("type", event_type.as_str());
    fields.text("event_id", &ids::event_id(record, recipient));
    fields.text("timestamp", &rfc3339(record.time));
    fields.text("message_id", &ids::message_id(record, recipient));
    if let Some(subaccount) = shared.subaccount {
        fields.int("subaccount_id", subaccount);
    }

    let rcpt_to = recipient.to_lowercase();
    let domain = domain_of(&rcpt_to);
    fields.text("rcpt_to", &rcpt_to);
    fields.text("raw_rcpt_to", recipient);
    fields.maybe("recipient_domain", domain);
    fields.maybe("routing_domain", shared.queue.routing_domain.or(domain));
    fields.maybe("msg_from", shared.msg_from);
    fields.maybe(
        "sending_domain",
        shared
            .msg_from
            .and_then(domain_of)
            .map(str::to_lowercase)
            .as_deref(),
    );
    fields.maybe("campaign_id", shared.campaign);
    fields.maybe("ip_pool", record.egress_pool);
    fields.maybe(
        "sending_ip",
        record.source_address.and_then(ip_of).as_deref(),
    );

    let attempt = matches!(
        kind,
        RecordType::Delivery | RecordType::TransientFailure | RecordType::Bounce
    );
    let provider = domain.and_then(mailbox_provider).or_else(|| {
        record
            .peer_name
            .filter(|_| attempt)
            .and_then(mailbox_provider_for_mx)
    });
    if let Some(provider) = provider {
        fields.text("mailbox_provider", provider.name);
        fields.text("mailbox_provider_region", provider.region);
    }

    let about_original = !matches!(
        kind,
        RecordType::OOB | RecordType::Feedback | RecordType::Rejection
    );
    if about_original {
        if let Some(created) = record.created {
            fields.text("injection_time", &rfc3339(created));
        }
        if let Some(size) = record.size.filter(|&size| size > 0) {
            fields.int("msg_size", size);
        }
    }
    if matches!(kind, RecordType::Delivery | RecordType::TransientFailure) {
        let queue_time = record
            .created
            .and_then(|created| u64::try_from((record.time - created).num_milliseconds()).ok());
        if let Some(queue_time) = queue_time {
            fields.int("queue_time", queue_time);
        }
    }
    if let Some(attempts) = record.num_attempts.filter(|_| about_original) {
        fields.int("num_retries", attempts);
    }
    if record.delivery_protocol == Some("ESMTP") {
        fields.text("delv_method", "esmtp");
    }
    match record.reception_protocol {
        Some("ESMTP") => fields.text("recv_method", "esmtp"),
        Some("HTTP") => fields.text("recv_method", "rest"),
        // Rejections are made by the SMTP listener, and written without a protocol.
        None if kind == RecordType::Rejection => fields.text("recv_method", "esmtp"),
        _ => {}
    }
    let peer_ip = record.peer_addr.and_then(ip_of);
    if attempt {
        fields.maybe("ip_address", peer_ip.as_deref());
    }
    if kind == RecordType::Rejection {
        fields.maybe("remote_addr", peer_ip.as_deref());
    }

    if let Some(class) = shared.bounce_class {
        let response = &record.response;
        let raw_reason = reply_text(record);
        if let Some(code) = response.code {
            fields.int("error_code", u64::from(code));
        }
        fields.int("bounce_class", u64::from(class));
        fields.text("reason", &canonical_reason(&raw_reason));
        fields.text("raw_reason", &raw_reason);
    }
    if kind == RecordType::Feedback {
        complaint_fields(record, &mut fields);
    }
    fields.keep_documented(event_type)
}

/// `fbtype`, `report_by` and `report_to` of a Feedback record.
fn complaint_fields(record: &Record<'_>, fields: &mut Fields) {
    let Some(report) = record.feedback_report else {
        return;
    };
    let text = |name: &str| get(report, name).and_then(Value::as_str);
    fields.maybe("fbtype", text("feedback_type"));
    let reporting_mta = get(report, "reporting_mta")
        .and_then(Value::as_object)
        .and_then(|mta| get(mta, "name"))
        .and_then(Value::as_str);
    fields.maybe("report_by", reporting_mta);
    fields.maybe("report_to", record.recipients.first().copied());
}

/// The reply as sent: `550 5.1.1 text`, with whichever of the codes the record has.
fn reply_text(record: &Record<'_>) -> String {
    let response = &record.response;
    let mut text = String::new();
    if let Some(code) = response.code {
        text.push_str(&code.to_string());
    }
    if let Some(enhanced) = response.enhanced {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&enhanced.to_string());
    }
    if !response.content.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(response.content);
    }
    text
}

/// The non-empty text after the last `@`.
fn domain_of(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|domain| !domain.is_empty())
}

/// The IP of an address written as `IP`, `IP:port` or `[IPv6]:port`; `None` for a socket
/// path or anything else.
fn ip_of(address: &str) -> Option<String> {
    address
        .parse::<IpAddr>()
        .or_else(|_| address.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|ip| ip.to_string())
}
