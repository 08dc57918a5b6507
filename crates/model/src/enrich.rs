//! What ingest adds to an event that leaves it out, from what the event does say:
//!
//! - `mailbox_provider` and `mailbox_provider_region`, on every type, from `recipient_domain`
//!   in the model's table ([`mailbox_provider`]);
//! - `sending_domain`, on the types documented with it, from `msg_from`'s domain;
//! - `bounce_class`, on the types documented with it, from `raw_reason` (and `error_code`
//!   when the text has no reply code) by [`classify_bounce`].
//!
//! It only ever adds: a field the event carries is kept as sent. It runs on the storage form
//! after the event's id is settled, so an id derived from content never depends on these
//! tables. The storage form is read a second time for the few fields it needs, rather than
//! threading them out of both normalisation paths, so that the two paths stay one contract.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::{classify_bounce, mailbox_provider, EventType, MailboxProvider, SmtpReply};

/// The fields enrichment reads; the rest of the event is skipped unparsed.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    recipient_domain: Option<Cow<'a, str>>,
    #[serde(default)]
    mailbox_provider: Option<IgnoredAny>,
    #[serde(borrow, default)]
    msg_from: Option<Cow<'a, str>>,
    #[serde(default)]
    sending_domain: Option<IgnoredAny>,
    #[serde(default)]
    bounce_class: Option<IgnoredAny>,
    #[serde(borrow, default)]
    raw_reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
}

/// Adds to `stored`, a storage form of an `event_type` event, what it leaves out (see the
/// module docs). Returns the recipient's domain when the event names no mailbox provider and
/// the table does not know the domain: a caller that can look up the domain's MX hosts adds
/// the provider with [`add_provider`].
pub fn enrich_stored(event_type: EventType, stored: &mut Vec<u8>) -> Option<String> {
    let Ok(probe) = serde_json::from_slice::<Probe<'_>>(stored) else {
        return None;
    };
    let documented = |name: &str| event_type.documented_fields().binary_search(&name).is_ok();
    let mut added = Added::default();
    let mut unknown_domain = None;
    if let Some(domain) = probe
        .recipient_domain
        .filter(|_| probe.mailbox_provider.is_none())
    {
        match mailbox_provider(&domain) {
            Some(provider) => added.provider = Some(provider),
            None => unknown_domain = Some(domain.into_owned()),
        }
    }
    if probe.sending_domain.is_none() && documented("sending_domain") {
        added.sending_domain = probe
            .msg_from
            .as_deref()
            .and_then(|from| from.rsplit_once('@'))
            .map(|(_, domain)| domain.to_lowercase())
            .filter(|domain| !domain.is_empty());
    }
    if probe.bounce_class.is_none() && documented("bounce_class") {
        added.bounce_class = probe.raw_reason.as_deref().map(|text| {
            classify_reply(
                text,
                probe.error_code.as_deref().and_then(|c| c.parse().ok()),
            )
        });
    }
    added.write(stored);
    unknown_domain
}

/// The bounce class of the reply `raw_reason`, with `error_code` when the text has no code.
pub(crate) fn classify_reply(raw_reason: &str, error_code: Option<u16>) -> u16 {
    let mut reply = SmtpReply::parse(raw_reason);
    if reply.code.is_none() {
        reply.code = error_code;
    }
    classify_bounce(&reply)
}

/// Appends `mailbox_provider` and `mailbox_provider_region` to a storage form that has
/// neither (as [`enrich_stored`] said).
pub fn add_provider(stored: &mut Vec<u8>, provider: MailboxProvider) {
    Added {
        provider: Some(provider),
        ..Added::default()
    }
    .write(stored);
}

/// The fields to append.
#[derive(Default)]
struct Added {
    provider: Option<MailboxProvider>,
    sending_domain: Option<String>,
    bounce_class: Option<u16>,
}

impl Added {
    fn write(self, stored: &mut Vec<u8>) {
        let mut members = Vec::new();
        if let Some(provider) = self.provider {
            members.push(("mailbox_provider", Cow::Borrowed(provider.name)));
            members.push(("mailbox_provider_region", Cow::Borrowed(provider.region)));
        }
        if let Some(domain) = self.sending_domain {
            members.push(("sending_domain", Cow::Owned(domain)));
        }
        if let Some(class) = self.bounce_class {
            members.push(("bounce_class", Cow::Owned(class.to_string())));
        }
        if members.is_empty() || stored.last() != Some(&b'}') {
            return;
        }
        stored.pop();
        for (name, value) in members {
            stored.extend_from_slice(b",\"");
            stored.extend_from_slice(name.as_bytes());
            stored.extend_from_slice(b"\":");
            // Writing a string into memory cannot fail.
            let _infallible = serde_json::to_writer(&mut *stored, value.as_ref());
        }
        stored.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::normalize_ingest_line;

    fn enriched(line: &str) -> (Value, Option<String>) {
        let (event_type, mut stored) = normalize_ingest_line(line.as_bytes()).unwrap();
        let unknown = enrich_stored(event_type, &mut stored);
        (serde_json::from_slice(&stored).unwrap(), unknown)
    }

    #[test]
    fn a_known_domain_names_its_provider_and_the_sender_its_domain() {
        let (event, unknown) = enriched(
            r#"{"type":"delivery","timestamp":"1765100000","message_id":"m1","event_id":"1",
                "rcpt_to":"a@GMail.com","msg_from":"Bounces@Mail.Example.com"}"#,
        );
        assert_eq!(event["mailbox_provider"], "Gmail");
        assert_eq!(event["mailbox_provider_region"], "Global");
        assert_eq!(event["sending_domain"], "mail.example.com");
        assert_eq!(unknown, None);
        // The result is still a storage form the model reads.
        let stored = serde_json::to_vec(&event).unwrap();
        assert!(crate::Event::from_stored(&stored).is_ok());
    }

    #[test]
    fn what_the_event_says_is_kept() {
        let (event, unknown) = enriched(
            r#"{"type":"bounce","timestamp":"1765100000","message_id":"m1","event_id":"1",
                "rcpt_to":"a@gmail.com","mailbox_provider":"Gsuite","sending_domain":"x.test",
                "msg_from":"a@y.test","bounce_class":"10","raw_reason":"421 try later"}"#,
        );
        assert_eq!(event["mailbox_provider"], "Gsuite");
        assert_eq!(event.get("mailbox_provider_region"), None);
        assert_eq!(event["sending_domain"], "x.test");
        assert_eq!(event["bounce_class"], "10");
        assert_eq!(unknown, None);
    }

    #[test]
    fn an_unknown_domain_is_returned_for_an_mx_lookup() {
        let line = r#"{"type":"delivery","timestamp":"1765100000","message_id":"m1",
            "event_id":"1","rcpt_to":"a@company.example"}"#;
        let (event_type, mut stored) = normalize_ingest_line(line.as_bytes()).unwrap();
        let before = stored.clone();
        let unknown = enrich_stored(event_type, &mut stored);
        assert_eq!(unknown.as_deref(), Some("company.example"));
        assert_eq!(stored, before, "nothing to add");
        add_provider(&mut stored, crate::mailbox_provider("outlook.com").unwrap());
        let event: Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(event["mailbox_provider"], "Outlook");
    }

    #[test]
    fn a_delay_without_a_class_is_classified_from_its_reply() {
        let (event, _) = enriched(
            r#"{"type":"delay","timestamp":"1765100000","message_id":"m1","event_id":"1",
                "rcpt_to":"a@b.example","raw_reason":"452 4.2.2 Mailbox full"}"#,
        );
        let class: u16 = event["bounce_class"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            class,
            classify_bounce(&SmtpReply::parse("452 4.2.2 Mailbox full"))
        );
        assert!(crate::bounce_class(class).is_some());
        // The code named apart from the text is used when the text has none.
        let (event, _) = enriched(
            r#"{"type":"delay","timestamp":"1765100000","message_id":"m1","event_id":"1",
                "rcpt_to":"a@b.example","raw_reason":"try again later","error_code":"421"}"#,
        );
        let mut reply = SmtpReply::parse("try again later");
        reply.code = Some(421);
        assert_eq!(
            event["bounce_class"].as_str(),
            Some(classify_bounce(&reply).to_string().as_str())
        );
    }

    #[test]
    fn a_bounce_that_names_no_class_gets_the_one_its_reply_tells() {
        let line = r#"{"type":"bounce","timestamp":"1765100000","message_id":"m1","event_id":"1",
            "rcpt_to":"a@b.example","raw_reason":"550 5.1.1 <a@b.example>: user unknown"}"#;
        let (_, stored) = normalize_ingest_line(line.as_bytes()).unwrap();
        let event: Value = serde_json::from_slice(&stored).unwrap();
        let expected = classify_reply("550 5.1.1 <a@b.example>: user unknown", None);
        assert_eq!(event["bounce_class"], expected.to_string());
        assert_eq!(crate::bounce_class(expected).map(|c| c.code), Some(10));
        // Neither a class nor a reply: refused, naming the field.
        let bare = r#"{"type":"bounce","timestamp":"1765100000","message_id":"m1",
            "event_id":"1","rcpt_to":"a@b.example"}"#;
        let error = normalize_ingest_line(bare.as_bytes()).unwrap_err();
        assert_eq!(error.field(), Some("bounce_class"));
    }

    #[test]
    fn fields_are_added_only_where_documented() {
        // `sending_domain` is not documented for relay events, `bounce_class` not for
        // deliveries.
        let (event, _) = enriched(
            r#"{"type":"relay_delivery","timestamp":"1765100000","event_id":"1",
                "msg_from":"a@x.example","rcpt_to":"b@y.example"}"#,
        );
        assert_eq!(event.get("sending_domain"), None);
        let (event, _) = enriched(
            r#"{"type":"delivery","timestamp":"1765100000","message_id":"m1","event_id":"1",
                "rcpt_to":"a@b.example","raw_reason":"250 ok"}"#,
        );
        assert_eq!(event.get("bounce_class"), None);
    }

    #[test]
    fn an_id_derived_from_content_does_not_depend_on_enrichment() {
        let line = r#"{"type":"delivery","timestamp":"1765100000","message_id":"m1",
            "rcpt_to":"a@gmail.com","msg_from":"x@y.example"}"#;
        let (_, plain) = normalize_ingest_line(line.as_bytes()).unwrap();
        let (event, _) = enriched(line);
        let plain: Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(event["event_id"], plain["event_id"]);
        assert_eq!(event["mailbox_provider"], "Gmail");
    }
}
