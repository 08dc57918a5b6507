//! Building the SparkPost-shaped events and their ids.
//!
//! Events are bare ingest objects (`serde_json::Map`), every field one of the documented
//! SparkPost fields of its type, integers as decimal strings as SparkPost sends them,
//! timestamps as RFC 3339 text with the log's own offset. `raw_reason` is the reply text as
//! logged, `reason` its canonical form ([`super::reason`]).
//!
//! **Ids.** `event_id` is the decimal form of a 64-bit xxh3 hash (the digits-only shape of
//! SparkPost's ids, as [`eventhose_model::content_event_id`] makes them) of what identifies
//! the log record behind the event, each part length-prefixed:
//!
//! - `delivery`, `delay`, `bounce`: the type, host, instance, queue id, `to=`, the recipient
//!   as received, the line's timestamp (to the microsecond when the log has them) and `dsn=`;
//! - `bounce` of an expiry: a kind of its own, host, instance, queue id, recipient, timestamp;
//! - `injection`: host, instance, queue id, recipient and the `message_id` (which carries the
//!   arrival time);
//! - `policy_rejection`: host, instance, queue id, recipient and timestamp, or, without a
//!   queue id, the `message_id` derived from the line and the recipient.
//!
//! Re-reading the same log gives the same ids, so the pipeline's deduplication drops a re-sent
//! event; each retry of a deferred recipient is its own line, at its own time, so each delay
//! gets its own id. Two lines alike in all of these (same recipient, same status, same second)
//! are taken to be the same line logged twice.
//!
//! `message_id` is this source's id for a message, as SparkPost's is its own: 20 hex digits
//! of an xxh3-128 hash of host, instance, queue id and the second the message arrived (queue
//! ids are reused, the arrival time tells the uses apart; a long queue id does not repeat, so
//! with `enable_long_queue_ids` the arrival is left out and the id is the same however much of
//! the log was read). The arrival is the time of the
//! entry's first line, or, when that is a delivery line (the log was read from the middle of
//! a message's life), the line's time less its `delay=` in whole seconds: an estimate, so
//! ids of a message are stable for the same log read from the same start, not necessarily
//! from another. An SMTP reject without a queue id gets one from host, instance, timestamp
//! and the whole message text. The header `Message-ID` is not used: it may be missing, or
//! shared by copies of a message, and no documented field holds it.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use eventhose_model::{mailbox_provider, mailbox_provider_for_mx, EventType, MailboxProvider};
use serde_json::{Map, Value};
use xxhash_rust::xxh3::Xxh3Default;

/// Hashes parts, each preceded by its length so that no two lists of parts hash alike by
/// concatenation.
pub(crate) struct IdHasher(Xxh3Default);

impl IdHasher {
    pub(crate) fn new() -> IdHasher {
        IdHasher(Xxh3Default::new())
    }

    pub(crate) fn part(mut self, part: &str) -> IdHasher {
        self.0.update(&(part.len() as u64).to_le_bytes());
        self.0.update(part.as_bytes());
        self
    }

    pub(crate) fn time(self, time: DateTime<FixedOffset>) -> IdHasher {
        self.part(&time.timestamp().to_string())
            .part(&time.timestamp_subsec_micros().to_string())
    }

    /// The digits-only `event_id`.
    pub(crate) fn event_id(self) -> String {
        self.0.digest().to_string()
    }

    /// A 20-hex-digit `message_id`.
    pub(crate) fn message_id(self) -> String {
        let low_80_bits = self.0.digest128() & ((1_u128 << 80) - 1);
        format!("{low_80_bits:020x}")
    }
}

/// An RFC 3339 timestamp with the log's offset.
pub(crate) fn rfc3339(time: DateTime<FixedOffset>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// What every event of one message says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MessageFacts {
    pub(crate) message_id: String,
    /// When the message was received, when the reception was seen.
    pub(crate) injection_time: Option<DateTime<FixedOffset>>,
    pub(crate) msg_from: Option<String>,
    pub(crate) msg_size: Option<u64>,
    pub(crate) recv_method: Option<&'static str>,
}

/// Fills one event's fields in order.
pub(crate) struct EventBuilder {
    event_type: EventType,
    fields: Map<String, Value>,
}

impl EventBuilder {
    pub(crate) fn new(
        event_type: EventType,
        event_id: String,
        timestamp: DateTime<FixedOffset>,
    ) -> EventBuilder {
        let mut fields = Map::new();
        fields.insert("type".to_owned(), Value::String(event_type.to_string()));
        fields.insert("event_id".to_owned(), Value::String(event_id));
        fields.insert("timestamp".to_owned(), Value::String(rfc3339(timestamp)));
        EventBuilder { event_type, fields }
    }

    fn documented(&self, name: &str) -> bool {
        self.event_type
            .documented_fields()
            .binary_search(&name)
            .is_ok()
    }

    pub(crate) fn text(mut self, name: &str, value: Option<&str>) -> EventBuilder {
        if let Some(value) = value {
            self.fields
                .insert(name.to_owned(), Value::String(value.to_owned()));
        }
        self
    }

    pub(crate) fn int(self, name: &str, value: Option<u64>) -> EventBuilder {
        self.text(name, value.map(|v| v.to_string()).as_deref())
    }

    /// `message_id`, `msg_from`, `sending_domain`, `msg_size`, `injection_time` and
    /// `recv_method`; the size and the sending domain only for the types documented with them.
    pub(crate) fn message(self, facts: &MessageFacts, with_size: bool) -> EventBuilder {
        let injection_time = facts.injection_time.map(rfc3339);
        let sending_domain = facts
            .msg_from
            .as_deref()
            .and_then(|from| from.rsplit_once('@'))
            .map(|(_, domain)| domain.to_lowercase())
            .filter(|domain| !domain.is_empty() && self.documented("sending_domain"));
        self.text("message_id", Some(&facts.message_id))
            .text("msg_from", facts.msg_from.as_deref())
            .text("sending_domain", sending_domain.as_deref())
            .int("msg_size", facts.msg_size.filter(|_| with_size))
            .text("injection_time", injection_time.as_deref())
            .text("recv_method", facts.recv_method)
    }

    /// `rcpt_to` (lower-cased), `raw_rcpt_to` (as logged) and `recipient_domain`, plus
    /// `routing_domain` when asked (the types documented with it), and the mailbox provider
    /// the domain names, if the model's table knows it.
    pub(crate) fn recipient(self, address: &str, with_routing: bool) -> EventBuilder {
        let lowered = address.to_lowercase();
        let domain = lowered
            .rsplit_once('@')
            .map(|(_, domain)| domain.to_owned())
            .filter(|domain| !domain.is_empty());
        self.text("rcpt_to", Some(&lowered))
            .text("raw_rcpt_to", Some(address))
            .text("recipient_domain", domain.as_deref())
            .text("routing_domain", domain.as_deref().filter(|_| with_routing))
            .provider(domain.as_deref().and_then(mailbox_provider))
    }

    /// The provider whose MX host took (or refused) the message, for a domain the table does
    /// not know: a company's domain hosted at a provider. Sets nothing if a provider is set.
    pub(crate) fn relay_host(self, host: Option<&str>) -> EventBuilder {
        if self.fields.contains_key("mailbox_provider") {
            return self;
        }
        self.provider(host.and_then(mailbox_provider_for_mx))
    }

    /// `mailbox_provider` and `mailbox_provider_region`, carried by every type (the Metrics
    /// API groups every count by them).
    fn provider(self, provider: Option<MailboxProvider>) -> EventBuilder {
        match provider {
            Some(provider) => self
                .text("mailbox_provider", Some(provider.name))
                .text("mailbox_provider_region", Some(provider.region)),
            None => self,
        }
    }

    pub(crate) fn build(self) -> Map<String, Value> {
        self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_documented_shapes() {
        let event_id = IdHasher::new().part("a").part("b").event_id();
        assert!(event_id.bytes().all(|b| b.is_ascii_digit()), "{event_id}");
        let message_id = IdHasher::new().part("a").message_id();
        assert_eq!(message_id.len(), 20);
        assert!(
            message_id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{message_id}"
        );
    }

    #[test]
    fn parts_are_delimited() {
        assert_ne!(
            IdHasher::new().part("ab").part("c").event_id(),
            IdHasher::new().part("a").part("bc").event_id()
        );
        assert_eq!(
            IdHasher::new().part("ab").part("c").event_id(),
            IdHasher::new().part("ab").part("c").event_id()
        );
    }

    #[test]
    fn times_keep_the_offset() {
        let time = DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123456+01:00").unwrap();
        assert_eq!(rfc3339(time), "2026-12-07T10:00:00.123456+01:00");
        let whole = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap();
        assert_eq!(rfc3339(whole), "2026-12-07T10:00:00Z");
    }
}
