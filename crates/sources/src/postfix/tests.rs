//! The Postfix source end to end: log lines in, events out, every event checked against
//! eventhose-model's ingest validation and documented field lists.

use chrono::{DateTime, TimeDelta, Utc};
use eventhose_model::{Event, EventType};
use serde_json::{Map, Value};

use super::{PostfixConfig, PostfixSource, Stats};
use crate::syslog::{LocalClock, Zone};

/// A small stand-in for the real classifier: enough to see which inputs it was given.
fn classify(enhanced: Option<&str>, code: Option<u16>, text: &str) -> u16 {
    match (enhanced, code) {
        (Some(status), _) if status.starts_with("5.1.") => 10,
        (Some(status), _) if status.starts_with("5.7.") => 50,
        (Some(status), _) if status.starts_with('4') => 70,
        (_, Some(code)) if text.contains("DT:SPM") && code >= 500 => 52,
        _ => 1,
    }
}

fn now() -> DateTime<Utc> {
    "2026-12-31T12:00:00Z".parse().unwrap()
}

fn source_with(config: PostfixConfig) -> PostfixSource {
    PostfixSource::new(config, LocalClock::new(Zone::utc(), now()))
}

fn config() -> PostfixConfig {
    PostfixConfig::new(classify)
}

/// Feeds `lines` to a fresh source; returns the events (each checked) and the counters.
fn run_with(config: PostfixConfig, lines: &[&str]) -> (Vec<Map<String, Value>>, Stats) {
    let mut source = source_with(config);
    let mut events = Vec::new();
    for line in lines {
        let _ = source.push_line(line, &mut events);
    }
    check_all(&events);
    let stats = source.stats();
    assert_eq!(
        stats.events,
        events.len() as u64,
        "events counted once each"
    );
    (events, stats)
}

fn run(lines: &[&str]) -> (Vec<Map<String, Value>>, Stats) {
    run_with(config(), lines)
}

/// See [`crate::test_checks::check_events`]: documented fields and the provider.
fn check_all(events: &[Map<String, Value>]) {
    crate::test_checks::check_events(events, crate::fields::EVERY_TYPE);
}

fn types(events: &[Map<String, Value>]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn field<'a>(event: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    event.get(name).and_then(Value::as_str)
}

const LIFECYCLE: &[&str] = &[
    "Feb 24 16:08:23 letterman postfix/smtpd[24906]: connect from xxx[2.3.4.5]",
    "Feb 24 16:08:23 letterman postfix/smtpd[24906]: 5270320179: client=xxx[2.3.4.5]",
    "Feb 24 16:08:23 letterman postfix/cleanup[24907]: 5270320179: message-id=<x@y>",
    "Feb 24 16:08:23 letterman postfix/qmgr[8204]: 5270320179: from=<Sender@Example.com>, size=365, nrcpt=1 (queue active)",
    "Feb 24 16:18:40 letterman postfix/smtp[59649]: 5270320179: to=<Hebj@Telia.com>, relay=mail.telia.com[81.236.60.210]:25, delay=617, delays=0.1/617/0.03/0.05, dsn=2.0.0, status=sent (250 2.0.0 6FVIjIMwUJwU66FVIjAEB0 mail accepted for delivery)",
    "Feb 24 16:18:40 letterman postfix/qmgr[8204]: 5270320179: removed",
];

#[test]
fn a_full_lifecycle_gives_an_injection_and_a_delivery() {
    let (events, stats) = run(LIFECYCLE);
    assert_eq!(types(&events), ["injection", "delivery"]);
    let (injection, delivery) = (&events[0], &events[1]);
    assert_eq!(field(injection, "timestamp"), Some("2026-02-24T16:08:23Z"));
    assert_eq!(field(injection, "rcpt_to"), Some("hebj@telia.com"));
    assert_eq!(field(injection, "raw_rcpt_to"), Some("Hebj@Telia.com"));
    assert_eq!(field(injection, "msg_from"), Some("Sender@Example.com"));
    assert_eq!(field(injection, "msg_size"), Some("365"));
    assert_eq!(field(injection, "recv_method"), Some("esmtp"));
    assert_eq!(field(injection, "routing_domain"), Some("telia.com"));
    let message_id = field(injection, "message_id").unwrap();
    assert_eq!(message_id.len(), 20);
    assert_eq!(field(delivery, "message_id"), Some(message_id));
    assert_eq!(field(delivery, "timestamp"), Some("2026-02-24T16:18:40Z"));
    assert_eq!(
        field(delivery, "injection_time"),
        Some("2026-02-24T16:08:23Z")
    );
    assert_eq!(field(delivery, "ip_address"), Some("81.236.60.210"));
    assert_eq!(field(delivery, "delv_method"), Some("esmtp"));
    assert_eq!(field(delivery, "queue_time"), Some("617000"));
    assert_eq!(field(delivery, "num_retries"), Some("0"));
    assert_eq!(field(delivery, "rcpt_to"), Some("hebj@telia.com"));
    assert_ne!(field(injection, "event_id"), field(delivery, "event_id"));
    assert_eq!(
        (stats.lines, stats.ignored, stats.events, stats.open_entries),
        (6, 1, 2, 0)
    );
}

#[test]
fn the_sending_domain_and_the_mailbox_provider_are_filled_in() {
    let lines = [
        "Dec 07 10:00:00 mx postfix/smtpd[1]: 1A2B3C: client=app[10.0.0.8]",
        "Dec 07 10:00:00 mx postfix/qmgr[2]: 1A2B3C: from=<News@Mail.Example.COM>, size=900, nrcpt=3 (queue active)",
        "Dec 07 10:00:01 mx postfix/smtp[3]: 1A2B3C: to=<a@GMail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.26]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)",
        "Dec 07 10:00:01 mx postfix/smtp[3]: 1A2B3C: to=<b@company.example>, relay=company-example.mail.protection.outlook.com[52.101.1.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.6.0 Queued mail for delivery)",
        "Dec 07 10:00:01 mx postfix/smtp[3]: 1A2B3C: to=<c@small.example>, relay=mx.small.example[192.0.2.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
        "Dec 07 10:00:01 mx postfix/qmgr[2]: 1A2B3C: removed",
    ];
    let (events, _) = run(&lines);
    assert_eq!(
        types(&events),
        [
            "injection",
            "delivery",
            "injection",
            "delivery",
            "injection",
            "delivery"
        ]
    );
    for event in &events {
        assert_eq!(field(event, "sending_domain"), Some("mail.example.com"));
    }
    let provider = |event| field(event, "mailbox_provider");
    // By the recipient's domain, from the first event on.
    assert_eq!(provider(&events[0]), Some("Gmail"));
    assert_eq!(provider(&events[1]), Some("Gmail"));
    // A domain the table does not know: by the MX host the delivery went to.
    assert_eq!(provider(&events[2]), None);
    assert_eq!(provider(&events[3]), Some("Office 365"));
    assert!(field(&events[3], "mailbox_provider_region").is_some());
    // Neither known.
    assert_eq!(provider(&events[5]), None);
    assert_eq!(field(&events[5], "mailbox_provider_region"), None);
}

const DEFERRED_THEN_SENT: &[&str] = &[
    "Dec 29 02:54:03 mail postfix/smtpd[7640]: 732BB407C3: client=app[10.0.0.8]",
    "Dec 29 02:54:03 mail postfix/qmgr[1686]: 732BB407C3: from=<app@example.com>, size=2048, nrcpt=1 (queue active)",
    "Dec 29 02:54:09 mail postfix/smtp[7648]: 732BB407C3: host mail.domain.com[1.1.1.1] said: 451 DT:SPM 163 mx13,P8CowECpNVM_oEVaenoEAQ--.23796S3 1514512449, please try again 15min later (in reply to end of DATA command)",
    "Dec 29 02:54:12 mail postfix/smtp[7648]: 732BB407C3: to=<redacted@domain.com>, relay=mail.domain.com[1.1.1.1]:25, delay=6.2, delays=0.1/0/5.2/0.87, dsn=4.0.0, status=deferred (host mail.domain.com[1.1.1.1] said: 451 DT:SPM 163 mx40,WsCowAAnEhlCoEVa5GjcAA--.20089S3 1514512452, please try again 15min later (in reply to end of DATA command))",
    "Dec 29 03:03:48 mail postfix/qmgr[1686]: 732BB407C3: from=<app@example.com>, size=2048, nrcpt=1 (queue active)",
    "Dec 29 03:03:48 mail postfix/smtp[8492]: 732BB407C3: to=<redacted@domain.com>, relay=mail.domain.com[1.1.1.1]:25, delay=582, delays=563/16/1.7/0.81, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
    "Dec 29 03:03:48 mail postfix/qmgr[1686]: 732BB407C3: removed",
];

#[test]
fn deferred_then_sent_gives_injection_delay_delivery() {
    let (events, _) = run(DEFERRED_THEN_SENT);
    assert_eq!(types(&events), ["injection", "delay", "delivery"]);
    let delay = &events[1];
    assert_eq!(field(delay, "error_code"), Some("451"));
    assert_eq!(field(delay, "bounce_class"), Some("70"));
    assert_eq!(field(delay, "num_retries"), Some("0"));
    assert_eq!(field(delay, "queue_time"), Some("6200"));
    assert!(field(delay, "raw_reason")
        .unwrap()
        .starts_with("host mail.domain.com[1.1.1.1] said: 451 DT:SPM"));
    assert!(field(delay, "reason")
        .unwrap()
        .starts_with("host mail.domain.com[a.b.c.d] said: 451 DT:SPM"));
    assert_eq!(field(&events[2], "num_retries"), Some("1"));
    assert_eq!(field(&events[2], "queue_time"), Some("582000"));
    assert_eq!(field(&events[0], "timestamp"), Some("2026-12-29T02:54:03Z"));
}

const BOUNCED_WITH_NOTIFICATION: &[&str] = &[
    "May 11 01:06:27 vmail postfix/smtpd[1688]: connect from localhost[127.0.0.1]",
    "May 11 01:06:55 vmail postfix/smtpd[1688]: 3372E982BC: client=localhost[127.0.0.1]",
    "May 11 01:07:18 vmail postfix/cleanup[1691]: 3372E982BC: message-id=<20110511080655.3372E982BC@vmail.domain.com>",
    "May 11 01:07:18 vmail postfix/qmgr[1686]: 3372E982BC: from=<user@domain.com>, size=365, nrcpt=1 (queue active)",
    "May 11 01:07:19 vmail postfix/virtual[1692]: 3372E982BC: to=<bob/@domain.com>, orig_to=<bob@domain.com>, relay=virtual, delay=29, delays=29/0.01/0/0.06, dsn=5.1.1, status=bounced (unknown user: \"bob/@domain.com\")",
    "May 11 01:07:19 vmail postfix/cleanup[1691]: 09ABB982BE: message-id=<20110511080719.09ABB982BE@vmail.domain.com>",
    "May 11 01:07:19 vmail postfix/qmgr[1686]: 09ABB982BE: from=<>, size=2237, nrcpt=1 (queue active)",
    "May 11 01:07:19 vmail postfix/bounce[1693]: 3372E982BC: sender non-delivery notification: 09ABB982BE",
    "May 11 01:07:19 vmail postfix/qmgr[1686]: 3372E982BC: removed",
    "May 11 01:07:19 vmail postfix/virtual[1692]: 09ABB982BE: to=<user@domain.com>, relay=virtual, delay=0.02, delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (delivered to maildir)",
    "May 11 01:07:19 vmail postfix/qmgr[1686]: 09ABB982BE: removed",
];

#[test]
fn a_bounce_is_reported_and_the_notification_is_not() {
    let (events, stats) = run(BOUNCED_WITH_NOTIFICATION);
    assert_eq!(types(&events), ["injection", "bounce"]);
    let bounce = &events[1];
    assert_eq!(field(bounce, "bounce_class"), Some("10"));
    assert_eq!(field(bounce, "rcpt_to"), Some("bob@domain.com"));
    assert_eq!(
        field(bounce, "raw_reason"),
        Some("unknown user: \"bob/@domain.com\"")
    );
    assert_eq!(field(bounce, "error_code"), None);
    assert_eq!(field(bounce, "delv_method"), Some("virtual"));
    assert!(
        bounce.get("queue_time").is_none(),
        "queue_time is not documented for bounces"
    );
    assert_eq!(stats.generated, 1);
    assert_eq!(stats.open_entries, 0);
}

#[test]
fn null_sender_messages_without_a_reception_are_postfixs_own() {
    // A delay notification whose `notification:` line was not seen.
    let (events, stats) = run(&[
        "Dec  7 10:00:00 mx postfix/cleanup[1]: 0AB1C2D3E4: message-id=<n@mx>",
        "Dec  7 10:00:00 mx postfix/qmgr[2]: 0AB1C2D3E4: from=<>, size=2000, nrcpt=1 (queue active)",
        "Dec  7 10:00:01 mx postfix/smtp[3]: 0AB1C2D3E4: to=<s@example.com>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 Ok)",
    ]);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(stats.generated, 1);
    // The same from a remote client (a bounce relayed through) is reported.
    let (events, _) = run(&[
        "Dec  7 10:00:00 mx postfix/smtpd[1]: 0AB1C2D3E4: client=remote[192.0.2.1]",
        "Dec  7 10:00:00 mx postfix/qmgr[2]: 0AB1C2D3E4: from=<>, size=2000, nrcpt=1 (queue active)",
        "Dec  7 10:00:01 mx postfix/smtp[3]: 0AB1C2D3E4: to=<s@example.com>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 Ok)",
    ]);
    assert_eq!(types(&events), ["injection", "delivery"]);
    assert_eq!(field(&events[0], "msg_from"), Some(""));
}

const EXPIRED: &[&str] = &[
    "Apr  5 14:50:16 mail postfix/pickup[3660]: BACE842E72: uid=1000 from=<noreply@domain.com>",
    "Apr  5 14:50:16 mail postfix/qmgr[3663]: BACE842E72: from=<noreply@domain.com>, size=900, nrcpt=2 (queue active)",
    "Apr  5 14:50:17 mail postfix/smtp[3670]: BACE842E72: to=<a@slow.example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to mx.slow.example[192.0.2.50]:25: Connection timed out)",
    "Apr  5 14:50:17 mail postfix/smtp[3671]: BACE842E72: to=<b@fast.example>, relay=mx.fast.example[192.0.2.60]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 Ok)",
    "Apr  5 15:40:17 mail postfix/smtp[3670]: BACE842E72: to=<a@slow.example>, relay=mx.slow.example[192.0.2.50]:25, delay=3001, delays=3000/0/0.5/0.5, dsn=4.2.2, status=deferred (host mx.slow.example[192.0.2.50] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command))",
    "Apr  5 16:40:00 mail postfix/qmgr[3663]: BACE842E72: from=<noreply@domain.com>, status=expired, returned to sender",
    "Apr  5 16:40:00 mail postfix/bounce[3700]: BACE842E72: sender non-delivery notification: C0FFEE1234",
    "Apr  5 16:40:00 mail postfix/qmgr[3663]: BACE842E72: removed",
];

#[test]
fn expiry_bounces_every_recipient_still_deferred() {
    let mut config = config();
    config.entry_timeout = TimeDelta::hours(2);
    let (events, _) = run_with(config, EXPIRED);
    assert_eq!(
        types(&events),
        [
            "injection",
            "delay",
            "injection",
            "delivery",
            "delay",
            "bounce"
        ]
    );
    let bounce = &events[5];
    assert_eq!(field(bounce, "rcpt_to"), Some("a@slow.example"));
    assert_eq!(field(bounce, "bounce_class"), Some("24"));
    assert_eq!(field(bounce, "error_code"), Some("452"));
    assert_eq!(field(bounce, "num_retries"), Some("2"));
    assert!(field(bounce, "reason").unwrap().contains("Mailbox full"));
    assert_eq!(field(bounce, "timestamp"), Some("2026-04-05T16:40:00Z"));
    assert_eq!(field(&events[0], "recv_method"), Some("pickup"));
    // The connection failure has no reply code.
    assert_eq!(field(&events[1], "error_code"), None);
    assert_eq!(field(&events[1], "ip_address"), None);
}

#[test]
fn a_bounced_line_after_expiry_is_not_a_second_bounce() {
    let mut lines = EXPIRED[..6].to_vec();
    lines.push("Apr  5 16:40:00 mail postfix/smtp[3670]: BACE842E72: to=<a@slow.example>, relay=none, delay=6584, delays=6584/0/0/0, dsn=4.4.1, status=bounced (message expired)");
    let (events, _) = run(&lines);
    assert_eq!(types(&events).iter().filter(|t| **t == "bounce").count(), 1);
}

const NOQUEUE: &str = "May 31 09:53:35 test-fe1 postfix/smtpd[3061]: NOQUEUE: reject: RCPT from internal.example.net[99.88.77.66]: 553 5.7.1 <segreteria@babel.it>: Sender address rejected: not logged in; from=<segreteria@babel.it> to=<segreteria@babel.it> proto=ESMTP helo=<snix>";

#[test]
fn noqueue_rejects_are_policy_rejections() {
    let (events, stats) = run(&[
        NOQUEUE,
        "May 31 09:53:36 test-fe1 postfix/smtpd[3061]: NOQUEUE: reject_warning: RCPT from x[1.2.3.4]: 450 4.7.1 <a@b>: maybe; from=<s@t> to=<a@b> proto=ESMTP helo=<h>",
        "May 31 09:53:37 test-fe1 postfix/smtpd[3061]: NOQUEUE: reject: MAIL from x[1.2.3.4]: 553 5.7.1 <s@t>: Sender address rejected; from=<s@t> proto=ESMTP helo=<h>",
    ]);
    assert_eq!(types(&events), ["policy_rejection"]);
    let rejection = &events[0];
    assert_eq!(field(rejection, "rcpt_to"), Some("segreteria@babel.it"));
    assert_eq!(field(rejection, "msg_from"), Some("segreteria@babel.it"));
    assert_eq!(field(rejection, "remote_addr"), Some("99.88.77.66"));
    assert_eq!(field(rejection, "error_code"), Some("553"));
    assert_eq!(field(rejection, "bounce_class"), Some("50"));
    assert_eq!(field(rejection, "recv_method"), Some("esmtp"));
    assert_eq!(field(rejection, "timestamp"), Some("2026-05-31T09:53:35Z"));
    assert_eq!(field(rejection, "message_id").map(str::len), Some(20));
    assert_eq!(stats.rejects_without_recipient, 1);
    // Another reject in the same second is another message.
    let other = NOQUEUE.replace("to=<segreteria@babel.it>", "to=<info@babel.it>");
    let (again, _) = run(&[NOQUEUE, &other]);
    assert_ne!(again[0]["message_id"], again[1]["message_id"]);
    assert_eq!(again[0], events[0]);
}

#[test]
fn a_cleanup_reject_refuses_the_queued_message() {
    let (events, stats) = run(&[
        "Dec  7 10:00:00 mx postfix/smtpd[1]: 6A9D51C0A3: client=x[192.0.2.1]",
        "Dec  7 10:00:01 mx postfix/cleanup[2]: 6A9D51C0A3: reject: header Subject: win big from x[192.0.2.1]; from=<s@example.com> to=<r@example.net> proto=ESMTP helo=<x>: 5.7.1 Message content rejected",
    ]);
    assert_eq!(types(&events), ["policy_rejection"]);
    assert_eq!(
        field(&events[0], "reason"),
        Some("5.7.1 Message content rejected")
    );
    assert_eq!(field(&events[0], "bounce_class"), Some("50"));
    assert_eq!(field(&events[0], "remote_addr"), Some("192.0.2.1"));
    assert_eq!(field(&events[0], "recv_method"), Some("esmtp"));
    assert_eq!(stats.open_entries, 0);
}

#[test]
fn softbounce_is_a_delay() {
    let (events, _) = run(&[
        "Dec  7 10:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]",
        "Dec  7 10:00:01 mx postfix/smtp[2]: 1A2B3C4D5E: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=SOFTBOUNCE (host mx[192.0.2.9] said: 550 5.1.1 no such user (in reply to RCPT TO command))",
    ]);
    assert_eq!(types(&events), ["injection", "delay"]);
    assert_eq!(field(&events[1], "bounce_class"), Some("10"));
    assert_eq!(field(&events[1], "error_code"), Some("550"));
}

const HOP: &[&str] = &[
    "Dec  7 10:00:00 mx postfix/smtpd[1]: AAA1111111: client=remote[203.0.113.5]",
    "Dec  7 10:00:00 mx postfix/qmgr[2]: AAA1111111: from=<s@example.com>, size=1000, nrcpt=1 (queue active)",
    "Dec  7 10:00:01 mx postfix/smtpd[5]: BBB2222222: client=localhost[127.0.0.1]",
    "Dec  7 10:00:01 mx postfix/cleanup[6]: BBB2222222: message-id=<m@example.com>",
    "Dec  7 10:00:01 mx postfix/qmgr[2]: BBB2222222: from=<s@example.com>, size=1500, nrcpt=1 (queue active)",
    "Dec  7 10:00:01 mx postfix/smtp[3]: AAA1111111: to=<r@example.net>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.5, delays=0/0/0/1.5, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as BBB2222222)",
    "Dec  7 10:00:01 mx postfix/qmgr[2]: AAA1111111: removed",
    "Dec  7 10:00:03 mx postfix/smtp[7]: BBB2222222: to=<r@example.net>, relay=mx.example.net[198.51.100.7]:25, delay=2, delays=0/0/1/1, dsn=2.0.0, status=sent (250 ok)",
    "Dec  7 10:00:03 mx postfix/qmgr[2]: BBB2222222: removed",
];

#[test]
fn a_content_filter_hop_is_reported_once_against_the_original() {
    let (events, stats) = run(HOP);
    assert_eq!(types(&events), ["injection", "delivery"]);
    assert_eq!(events[0]["message_id"], events[1]["message_id"]);
    let delivery = &events[1];
    assert_eq!(field(delivery, "ip_address"), Some("198.51.100.7"));
    assert_eq!(field(delivery, "msg_size"), Some("1000"));
    assert_eq!(
        field(delivery, "injection_time"),
        Some("2026-12-07T10:00:00Z")
    );
    assert_eq!(field(delivery, "queue_time"), Some("3000"));
    assert_eq!(field(delivery, "recv_method"), Some("esmtp"));
    assert_eq!((stats.hops_linked, stats.open_entries), (1, 0));
}

#[test]
fn a_hop_whose_new_id_appears_later_is_linked_too() {
    // The hop line first, the re-queued message's lines a second later.
    let lines = [
        HOP[0], HOP[1], HOP[5], HOP[6], HOP[2], HOP[3], HOP[4], HOP[7], HOP[8],
    ];
    let (events, stats) = run(&lines);
    assert_eq!(types(&events), ["injection", "delivery"]);
    assert_eq!(events[0]["message_id"], events[1]["message_id"]);
    assert_eq!(field(&events[1], "ip_address"), Some("198.51.100.7"));
    assert_eq!((stats.hops_linked, stats.pending_hops), (1, 0));
}

#[test]
fn a_hop_whose_new_id_never_appears_is_a_delivery_after_the_timeout() {
    let lines = [
        HOP[0],
        HOP[1],
        HOP[5],
        HOP[6],
        "Dec  7 10:01:01 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
        "Dec  7 10:01:02 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
    ];
    let (events, stats) = run(&lines[..5]);
    assert_eq!(
        types(&events),
        ["injection"],
        "the timeout has not passed yet"
    );
    assert_eq!(stats.pending_hops, 1);
    let (events, stats) = run(&lines);
    assert_eq!(types(&events), ["injection", "delivery"]);
    assert_eq!(field(&events[1], "ip_address"), Some("127.0.0.1"));
    assert_eq!((stats.hops_unresolved, stats.pending_hops), (1, 0));
    // finish() reports it as well.
    let mut source = source_with(config());
    let mut out = Vec::new();
    for line in &lines[..4] {
        source.push_line(line, &mut out).unwrap();
    }
    source.finish(&mut out);
    assert_eq!(types(&out), ["injection", "delivery"]);
}

/// Postfix 3.7 relaying through a loopback SMTP server that names every message
/// `7QX91` (a relay, not a content filter: the id never appears on this host), as its
/// `maillog_file` wrote it.
const LOOPBACK_RELAY: &[&str] = &[
    "Dec 07 21:16:52 mx1 postfix/pickup[28568]: 679FEE21C9: uid=0 from=<news@example.net>",
    "Dec 07 21:16:52 mx1 postfix/cleanup[31198]: 679FEE21C9: message-id=<20261207211652.679FEE21C9@mx1.example.test>",
    "Dec 07 21:16:52 mx1 postfix/qmgr[28569]: 679FEE21C9: from=<news@example.net>, size=260, nrcpt=3 (queue active)",
    "Dec 07 21:16:52 mx1 postfix/smtp[31209]: 679FEE21C9: to=<jane@example.com>, relay=127.0.0.1[127.0.0.1]:2526, delay=0.09, delays=0.03/0.01/0.04/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7QX91)",
    "Dec 07 21:16:52 mx1 postfix/smtp[31209]: 679FEE21C9: to=<joe@example.com>, relay=127.0.0.1[127.0.0.1]:2526, delay=0.09, delays=0.03/0.01/0.04/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7QX91)",
    "Dec 07 21:16:52 mx1 postfix/smtp[31209]: 679FEE21C9: to=<nobody@example.com>, relay=127.0.0.1[127.0.0.1]:2526, delay=0.09, delays=0.03/0.01/0.04/0.01, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))",
    "Dec 07 21:16:52 mx1 postfix/smtpd[31246]: 9C56CE21D0: client=unknown[127.0.0.1]",
    "Dec 07 21:16:52 mx1 postfix/cleanup[31198]: 9C56CE21D0: message-id=<20261207211652.9C56CE21D0@mx1.example.test>",
    "Dec 07 21:16:52 mx1 postfix/qmgr[28569]: 9C56CE21D0: from=<app@example.net>, size=316, nrcpt=1 (queue active)",
    "Dec 07 21:16:52 mx1 postfix/smtp[31209]: 9C56CE21D0: to=<bob@example.org>, relay=127.0.0.1[127.0.0.1]:2526, delay=0.05, delays=0/0.01/0.04/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7QX91)",
    "Dec 07 21:16:52 mx1 postfix/qmgr[28569]: 9C56CE21D0: removed",
];

#[test]
fn every_recipient_handed_to_a_loopback_relay_is_delivered_once() {
    let mut source = source_with(config());
    let mut events = Vec::new();
    for line in LOOPBACK_RELAY {
        source.push_line(line, &mut events).unwrap();
    }
    source.finish(&mut events);
    check_all(&events);
    let mut delivered: Vec<&str> = events
        .iter()
        .filter(|e| field(e, "type") == Some("delivery"))
        .filter_map(|e| field(e, "rcpt_to"))
        .collect();
    delivered.sort_unstable();
    assert_eq!(
        delivered,
        ["bob@example.org", "jane@example.com", "joe@example.com"],
        "two recipients of one message, and another message, under one foreign id"
    );
    assert_eq!(
        types(&events).iter().filter(|t| **t == "injection").count(),
        4
    );
    assert_eq!(source.stats().events, events.len() as u64);
}

#[test]
fn queued_as_from_a_remote_relay_is_a_delivery() {
    let (events, stats) = run(&[
        HOP[0],
        HOP[1],
        "Dec  7 10:00:01 mx postfix/smtp[3]: AAA1111111: to=<r@example.net>, relay=smarthost.example[198.51.100.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4Kx7bL0y3Tz1qF)",
    ]);
    assert_eq!(types(&events), ["injection", "delivery"]);
    assert_eq!((stats.hops_linked, stats.pending_hops), (0, 0));
}

#[test]
fn orig_queue_id_links_a_reinjection() {
    let (events, stats) = run(&[
        HOP[0],
        HOP[1],
        "Dec  7 10:00:01 mx postfix/smtpd[5]: BBB2222222: client=localhost[127.0.0.1], orig_queue_id=AAA1111111, orig_client=remote[203.0.113.5]",
        "Dec  7 10:00:01 mx postfix/smtp[3]: AAA1111111: to=<r@example.net>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as BBB2222222)",
        HOP[7],
    ]);
    assert_eq!(types(&events), ["injection", "delivery"]);
    assert_eq!(events[0]["message_id"], events[1]["message_id"]);
    assert_eq!(stats.hops_linked, 1);
}

#[test]
fn a_reused_queue_id_is_a_new_message() {
    let second: Vec<String> = LIFECYCLE
        .iter()
        .map(|line| line.replace("Feb 24 16:", "Feb 24 17:"))
        .collect();
    let mut lines: Vec<&str> = LIFECYCLE.to_vec();
    lines.extend(second.iter().map(String::as_str));
    let (events, stats) = run(&lines);
    assert_eq!(
        types(&events),
        ["injection", "delivery", "injection", "delivery"]
    );
    assert_ne!(events[0]["message_id"], events[2]["message_id"]);
    assert_eq!(events[2]["message_id"], events[3]["message_id"]);
    assert_eq!(stats.reused, 0);
    // Without the `removed` line, the second reception still starts a new message.
    let without_removed: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.ends_with("removed") || l.contains("17:"))
        .collect();
    let (events, stats) = run(&without_removed);
    assert_eq!(
        types(&events),
        ["injection", "delivery", "injection", "delivery"]
    );
    assert_ne!(events[0]["message_id"], events[2]["message_id"]);
    assert_eq!(stats.reused, 1);
}

#[test]
fn instances_with_the_same_queue_id_do_not_mix() {
    let (events, _) = run(&[
        "Dec  7 10:00:00 mx postfix-in/smtpd[1]: 1234567ABC: client=a[192.0.2.1]",
        "Dec  7 10:00:00 mx postfix-out/smtpd[2]: 1234567ABC: client=b[192.0.2.2]",
        "Dec  7 10:00:00 mx postfix-in/qmgr[3]: 1234567ABC: from=<in@example.com>, size=10, nrcpt=1 (queue active)",
        "Dec  7 10:00:00 mx postfix-out/qmgr[4]: 1234567ABC: from=<out@example.com>, size=20, nrcpt=1 (queue active)",
        "Dec  7 10:00:01 mx postfix-out/smtp[5]: 1234567ABC: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
        "Dec  7 10:00:01 mx postfix-out/qmgr[4]: 1234567ABC: removed",
        "Dec  7 10:00:02 mx postfix-in/smtp[6]: 1234567ABC: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=2, delays=0/0/1/1, dsn=2.0.0, status=sent (250 ok)",
    ]);
    assert_eq!(
        types(&events),
        ["injection", "delivery", "injection", "delivery"]
    );
    assert_eq!(field(&events[1], "msg_from"), Some("out@example.com"));
    assert_eq!(field(&events[3], "msg_from"), Some("in@example.com"));
    assert_eq!(field(&events[3], "msg_size"), Some("10"));
    assert_ne!(events[1]["message_id"], events[3]["message_id"]);
    // Hosts are kept apart the same way.
    let (events, _) = run(&[
        "Dec  7 10:00:00 mx1 postfix/smtpd[1]: 1234567ABC: client=a[192.0.2.1]",
        "Dec  7 10:00:00 mx2 postfix/qmgr[3]: 1234567ABC: from=<other@example.com>, size=10, nrcpt=1 (queue active)",
        "Dec  7 10:00:01 mx1 postfix/smtp[5]: 1234567ABC: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
    ]);
    assert_eq!(types(&events), ["injection", "delivery"]);
    assert_eq!(field(&events[1], "msg_from"), None);
}

#[test]
fn lines_out_of_order_within_a_second_give_the_same_events() {
    let in_order = [
        "Dec  7 10:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]",
        "Dec  7 10:00:00 mx postfix/cleanup[2]: 1A2B3C4D5E: message-id=<a@b>",
        "Dec  7 10:00:00 mx postfix/qmgr[3]: 1A2B3C4D5E: from=<s@example.com>, size=5, nrcpt=1 (queue active)",
        "Dec  7 10:00:01 mx postfix/smtp[4]: 1A2B3C4D5E: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
        "Dec  7 10:00:01 mx postfix/qmgr[3]: 1A2B3C4D5E: removed",
    ];
    let shuffled = [
        in_order[2],
        in_order[1],
        in_order[0],
        in_order[3],
        in_order[4],
    ];
    let (expected, _) = run(&in_order);
    let (events, _) = run(&shuffled);
    assert_eq!(types(&expected), ["injection", "delivery"]);
    assert_eq!(events, expected);
}

#[test]
fn idle_entries_are_flushed_by_the_logs_clock_at_the_timeout() {
    let mut config = config();
    config.entry_timeout = TimeDelta::seconds(60);
    let opened = "Dec  7 10:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]";
    let at_the_limit = "Dec  7 10:01:00 mx postfix/smtpd[1]: connect from y[192.0.2.2]";
    let past_it = "Dec  7 10:01:01 mx postfix/smtpd[1]: connect from y[192.0.2.2]";
    let (_, stats) = run_with(config.clone(), &[opened, at_the_limit]);
    assert_eq!((stats.open_entries, stats.flushed), (1, 0));
    let (_, stats) = run_with(config.clone(), &[opened, at_the_limit, past_it]);
    assert_eq!((stats.open_entries, stats.flushed), (0, 1));
    // A later line of the flushed message is still reported, without a second injection.
    let deferred = "Dec  7 10:02:00 mx postfix/smtp[4]: 1A2B3C4D5E: to=<r@example.net>, relay=none, delay=120, delays=120/0/0/0, dsn=4.4.1, status=deferred (connect timed out)";
    let (events, _) = run_with(config.clone(), &[opened, past_it, deferred]);
    assert_eq!(types(&events), ["delay"]);
    // Activity keeps an entry open.
    let touched = "Dec  7 10:00:30 mx postfix/qmgr[3]: 1A2B3C4D5E: from=<s@example.com>, size=5, nrcpt=1 (queue active)";
    let (_, stats) = run_with(config, &[opened, touched, past_it]);
    assert_eq!((stats.open_entries, stats.flushed), (1, 0));
}

#[test]
fn the_cap_evicts_the_entry_idle_longest() {
    let mut config = config();
    config.max_open_entries = 2;
    let client = |qid: &str, second: u32| {
        format!("Dec  7 10:00:{second:02} mx postfix/smtpd[1]: {qid}: client=x[192.0.2.1]")
    };
    let sent = |qid: &str| {
        format!("Dec  7 10:00:10 mx postfix/smtp[4]: {qid}: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)")
    };
    let first = client("11111AAAAA", 0);
    let second = client("22222BBBBB", 1);
    let first_again = "Dec  7 10:00:02 mx postfix/qmgr[3]: 11111AAAAA: from=<s@example.com>, size=5, nrcpt=1 (queue active)".to_owned();
    let third = client("33333CCCCC", 3);
    let (_, stats) = run_with(config.clone(), &[&first, &second]);
    assert_eq!((stats.open_entries, stats.evicted), (2, 0));
    let (events, stats) = run_with(
        config,
        &[
            &first,
            &second,
            &first_again,
            &third,
            &sent("11111AAAAA"),
            &sent("22222BBBBB"),
        ],
    );
    assert_eq!(stats.evicted, 2, "the second, then the third");
    // The first kept its reception (injection); the second lost it (no injection).
    assert_eq!(types(&events), ["injection", "delivery", "delivery"]);
}

#[test]
fn years_are_inferred_across_new_year() {
    let now: DateTime<Utc> = "2027-01-01T00:10:00Z".parse().unwrap();
    let mut source = PostfixSource::new(config(), LocalClock::new(Zone::utc(), now));
    let mut events = Vec::new();
    for line in [
        "Dec 31 23:59:59 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]",
        "Jan  1 00:00:05 mx postfix/smtp[4]: 1A2B3C4D5E: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=6, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
    ] {
        source.push_line(line, &mut events).unwrap();
    }
    check_all(&events);
    assert_eq!(field(&events[0], "timestamp"), Some("2026-12-31T23:59:59Z"));
    assert_eq!(field(&events[1], "timestamp"), Some("2027-01-01T00:00:05Z"));
}

#[test]
fn rfc5424_and_rfc3339_lines_keep_their_zones() {
    let (events, _) = run(&[
        "<22>1 2026-12-07T10:00:00.250000-05:00 mx postfix/smtpd 1 - - 1A2B3C4D5E: client=x[192.0.2.1]",
        "<22>1 2026-12-07T10:00:00.500000-05:00 mx postfix/qmgr 3 - [meta sequenceId=\"7\"] 1A2B3C4D5E: from=<s@example.com>, size=5, nrcpt=1 (queue active)",
        "2026-12-07T16:00:02.750000+01:00 mx postfix/smtp[4]: 1A2B3C4D5E: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=2.5, delays=0/0/0.5/2, dsn=2.0.0, status=sent (250 ok)",
    ]);
    assert_eq!(types(&events), ["injection", "delivery"]);
    assert_eq!(
        field(&events[0], "timestamp"),
        Some("2026-12-07T10:00:00.250-05:00")
    );
    assert_eq!(
        field(&events[1], "timestamp"),
        Some("2026-12-07T16:00:02.750+01:00")
    );
    assert_eq!(field(&events[1], "queue_time"), Some("2500"));
}

/// Every example of the tests, in one log.
fn corpus() -> Vec<&'static str> {
    let mut lines = Vec::new();
    for part in [
        LIFECYCLE,
        DEFERRED_THEN_SENT,
        BOUNCED_WITH_NOTIFICATION,
        EXPIRED,
        HOP,
        &[NOQUEUE],
    ] {
        lines.extend_from_slice(part);
    }
    lines
}

#[test]
fn refeeding_the_same_lines_gives_identical_events_and_ids() {
    let lines = corpus();
    let (first, _) = run(&lines);
    let (second, _) = run(&lines);
    assert_eq!(first, second);
    assert!(first.len() >= 12, "{}", first.len());
    let mut ids: Vec<&str> = first
        .iter()
        .map(|e| field(e, "event_id").unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), first.len(), "event ids are distinct");
}

#[test]
fn every_event_is_accepted_by_the_model() {
    let (events, _) = run(&corpus());
    for fields in &events {
        let line = serde_json::to_vec(fields).unwrap();
        let event = Event::parse_ingest(&line).unwrap();
        assert_eq!(event.event_id(), field(fields, "event_id").unwrap());
        if event.event_type() == EventType::Bounce {
            assert!(event.bounce_class().is_some());
        }
    }
}

#[test]
fn garbage_truncated_and_long_lines_are_counted_not_fatal() {
    let mut source = source_with(config());
    let mut events = Vec::new();
    let mut lines = 0;
    for line in corpus() {
        for end in (0..line.len()).filter(|&end| line.is_char_boundary(end)) {
            let _ = source.push_line(&line[..end], &mut events);
            lines += 1;
        }
    }
    for garbage in [
        "",
        "\n",
        "<",
        "<999>",
        "<1>1",
        "Dec",
        "Dec 99 99:99:99 h p: m",
        "2026-",
        "\u{0}\u{1}",
        "ümlaut",
    ] {
        let _ = source.push_line(garbage, &mut events);
        lines += 1;
    }
    let long = format!(
        "Dec  7 10:00:00 mx postfix/smtp[1]: 1A2B3C4D5E: to=<{}@x>",
        "a".repeat(1 << 20)
    );
    assert!(matches!(
        source.push_line(&long, &mut events),
        Err(super::LineError::TooLong { .. })
    ));
    lines += 1;
    assert!(source
        .push_bytes(
            b"Dec  7 10:00:00 mx postfix/smtp[1]: \xff\xfe: x",
            &mut events
        )
        .is_ok());
    lines += 1;
    check_all(&events);
    let stats = source.stats();
    assert_eq!(stats.lines, lines);
    assert_eq!(stats.oversized, 1);
    assert!(
        stats.unparsed > 100 && stats.malformed > 10 && stats.ignored > 10,
        "{stats:?}"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(eventhose_test_support::proptest_config(512))]

        #[test]
        fn arbitrary_lines_never_panic(lines in proptest::collection::vec(".{0,200}", 1..20)) {
            let mut source = source_with(config());
            let mut events = Vec::new();
            for line in &lines {
                let _ = source.push_line(line, &mut events);
            }
            source.finish(&mut events);
            check_all(&events);
            prop_assert_eq!(source.stats().lines, lines.len() as u64);
        }

        #[test]
        fn any_sequence_of_real_lines_replays_identically(
            picks in proptest::collection::vec(0..100_usize, 1..60)
        ) {
            let corpus = corpus();
            let lines: Vec<&str> = picks.iter().map(|&i| corpus[i % corpus.len()]).collect();
            let replay = || {
                let mut source = source_with(config());
                let mut events = Vec::new();
                for line in &lines {
                    source.push_line(line, &mut events).unwrap();
                }
                source.finish(&mut events);
                check_all(&events);
                (events, source.stats())
            };
            let (first, first_stats) = replay();
            let (second, second_stats) = replay();
            prop_assert_eq!(first, second);
            prop_assert_eq!(first_stats, second_stats);
        }

        #[test]
        fn real_lines_with_arbitrary_tails_never_panic(
            picks in proptest::collection::vec((0..40_usize, 0..300_usize, "[ -~]{0,40}"), 1..30)
        ) {
            let corpus = corpus();
            let mut source = source_with(config());
            let mut events = Vec::new();
            for (index, cut, tail) in picks {
                let line = corpus[index % corpus.len()];
                let mut cut = cut.min(line.len());
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                let _ = source.push_line(&format!("{}{tail}", &line[..cut]), &mut events);
            }
            check_all(&events);
        }
    }
}

#[test]
fn a_reception_after_deliveries_is_a_new_message() {
    // The log starts mid-message; the id is then reused without a `removed` seen.
    let (events, stats) = run(&[
        "Dec  7 10:00:01 mx postfix/smtp[4]: 1A2B3C4D5E: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
        "Dec  7 11:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]",
        "Dec  7 11:00:01 mx postfix/smtp[4]: 1A2B3C4D5E: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
    ]);
    assert_eq!(types(&events), ["delivery", "injection", "delivery"]);
    assert_ne!(events[0]["message_id"], events[2]["message_id"]);
    assert_eq!(field(&events[1], "timestamp"), Some("2026-12-07T11:00:00Z"));
    assert_eq!(stats.reused, 1);
}

#[test]
fn past_the_cap_a_hop_is_reported_at_once() {
    let mut config = config();
    config.max_open_entries = 1;
    let hop = |qid: &str, new_id: &str| {
        format!("Dec  7 10:00:01 mx postfix/smtp[3]: {qid}: to=<r@example.net>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {new_id})")
    };
    let first = [
        "Dec  7 10:00:00 mx postfix/smtpd[1]: AAA1111111: client=x[192.0.2.1]".to_owned(),
        hop("AAA1111111", "CCC3333333"),
    ];
    let second = [
        "Dec  7 10:00:00 mx postfix/smtpd[1]: DDD4444444: client=x[192.0.2.1]".to_owned(),
        hop("DDD4444444", "EEE5555555"),
    ];
    let lines: Vec<&str> = first.iter().chain(&second).map(String::as_str).collect();
    let (events, stats) = run_with(config.clone(), &lines[..2]);
    assert_eq!((types(&events), stats.pending_hops), (vec!["injection"], 1));
    let (events, stats) = run_with(config, &lines);
    assert_eq!(types(&events), ["injection", "injection", "delivery"]);
    assert_eq!((stats.pending_hops, stats.hops_unresolved), (1, 1));
}

#[test]
fn recipients_past_the_limit_are_reported_with_repeatable_ids() {
    use super::correlate::MAX_RECIPIENTS_PER_ENTRY;
    let mut lines =
        vec!["Dec  7 10:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]".to_owned()];
    let line = |n: usize, second: u32| {
        format!("Dec  7 10:00:{second:02} mx postfix/smtp[4]: 1A2B3C4D5E: to=<r{n}@example.net>, relay=none, delay=1, delays=0/0/0.5/0.5, dsn=4.4.1, status=deferred (timed out)")
    };
    lines.extend((0..MAX_RECIPIENTS_PER_ENTRY).map(|n| line(n, 1)));
    lines.push(line(MAX_RECIPIENTS_PER_ENTRY, 1));
    lines.push(line(MAX_RECIPIENTS_PER_ENTRY, 2));
    lines.push(line(0, 2));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (events, _) = run(&lines);
    let tail: Vec<&Map<String, Value>> = events.iter().rev().take(5).rev().collect();
    let tail_types: Vec<&str> = tail.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        tail_types,
        ["injection", "delay", "injection", "delay", "delay"]
    );
    // Past the limit: the injection comes again, with the same id; no retry count kept.
    assert_eq!(tail[0]["event_id"], tail[2]["event_id"]);
    assert_eq!(field(tail[3], "num_retries"), Some("0"));
    // Within it: counted as usual.
    assert_eq!(field(tail[4], "num_retries"), Some("1"));
}

#[test]
fn a_line_logged_just_after_removed_still_joins_its_message() {
    let (expected, _) = run(LIFECYCLE);
    let mut swapped = LIFECYCLE.to_vec();
    swapped.swap(4, 5);
    let (events, stats) = run(&swapped);
    assert_eq!(events, expected);
    assert_eq!(stats.open_entries, 0, "a removed entry is not open");
    // Past the grace period the entry is gone: a late line is a message of its own.
    let late = LIFECYCLE[4]
        .replace("16:18:40", "16:18:46")
        .replace("delay=617", "delay=623");
    let mut lines = LIFECYCLE.to_vec();
    lines.push("Feb 24 16:18:46 letterman postfix/smtpd[1]: connect from a[192.0.2.1]");
    lines.push(&late);
    let (events, _) = run(&lines);
    assert_eq!(types(&events), ["injection", "delivery", "delivery"]);
    assert_eq!(
        events[2]["message_id"], events[1]["message_id"],
        "same arrival, same id"
    );
    let at_the_edge = LIFECYCLE[4].replace("16:18:40", "16:18:45");
    let mut lines = LIFECYCLE.to_vec();
    lines.push(&at_the_edge);
    let (events, _) = run(&lines);
    assert_eq!(types(&events), ["injection", "delivery", "delivery"]);
    assert_eq!(
        field(&events[2], "injection_time"),
        field(&events[1], "injection_time")
    );
}

#[test]
fn set_now_moves_the_year_inference_along() {
    let line = "Jan  1 00:00:05 mx postfix/smtpd[1]: connect from a[192.0.2.1]";
    let lifecycle = [
        "Jan  1 00:00:05 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]",
        "Jan  1 00:00:06 mx postfix/smtp[4]: 1A2B3C4D5E: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
    ];
    let dated = |set: bool| {
        let mut source = source_with(config());
        if set {
            source.set_now("2027-01-01T00:10:00Z".parse().unwrap());
        }
        let mut events = Vec::new();
        source.push_line(line, &mut events).unwrap();
        for line in lifecycle {
            source.push_line(line, &mut events).unwrap();
        }
        field(&events[0], "timestamp").map(str::to_owned)
    };
    assert_eq!(dated(false).as_deref(), Some("2026-01-01T00:00:05Z"));
    assert_eq!(dated(true).as_deref(), Some("2027-01-01T00:00:05Z"));
}

#[test]
fn long_queue_ids_name_their_message_wherever_the_log_is_read_from() {
    let lines = [
        "Dec  7 10:00:00 mx postfix/smtpd[1]: 4Kx7bL0y3Tz1qF: client=x[192.0.2.1]",
        "Dec  7 10:00:00 mx postfix/qmgr[3]: 4Kx7bL0y3Tz1qF: from=<s@example.com>, size=5, nrcpt=1 (queue active)",
        "Dec  7 10:00:07 mx postfix/smtp[4]: 4Kx7bL0y3Tz1qF: to=<r@example.net>, relay=mx[192.0.2.9]:25, delay=8.1, delays=0.7/0/0.5/6.9, dsn=2.0.0, status=sent (250 ok)",
    ];
    let (whole, _) = run(&lines);
    let (tail, _) = run(&lines[2..]);
    assert_eq!(types(&whole), ["injection", "delivery"]);
    assert_eq!(types(&tail), ["delivery"]);
    assert_eq!(whole[1]["message_id"], tail[0]["message_id"]);
    assert_eq!(whole[1]["event_id"], tail[0]["event_id"]);
    // A short id read from the middle gets its arrival from `delay=`, rounded down to the
    // second: here a second off, so another id.
    let short: Vec<String> = lines
        .iter()
        .map(|l| l.replace("4Kx7bL0y3Tz1qF", "1A2B3C4D5E"))
        .collect();
    let short: Vec<&str> = short.iter().map(String::as_str).collect();
    let (whole, _) = run(&short);
    let (tail, _) = run(&short[2..]);
    assert_ne!(whole[1]["message_id"], tail[0]["message_id"]);
}

/// For every place `k` a reader could stop, re-reading from the oldest line the source still
/// needs gives again every event the whole run emits from line `k` on, field for field.
fn restart_from_the_oldest_needed_line_loses_nothing(lines: &[&str]) {
    let mut source = source_with(config());
    let mut full = Vec::new();
    let mut emitted_before = Vec::new();
    let mut needed = Vec::new();
    for line in lines {
        emitted_before.push(full.len());
        needed.push(source.oldest_needed_line());
        assert_eq!(source.lines_read(), needed.len() as u64 - 1);
        let _ = source.push_line(line, &mut full);
    }
    for k in 0..lines.len() {
        let from = needed[k].map_or(k, |n| usize::try_from(n).unwrap());
        assert!(from <= k, "the oldest needed line {from} is not after {k}");
        let mut again = source_with(config());
        let mut replayed = Vec::new();
        for line in &lines[from..] {
            let _ = again.push_line(line, &mut replayed);
        }
        for event in &full[emitted_before[k]..] {
            assert!(
                replayed.contains(event),
                "stopping before line {k} and re-reading from {from} lost {event:?}"
            );
        }
    }
}

#[test]
fn the_oldest_needed_line_rebuilds_every_open_message() {
    restart_from_the_oldest_needed_line_loses_nothing(LIFECYCLE);
    restart_from_the_oldest_needed_line_loses_nothing(HOP);
    restart_from_the_oldest_needed_line_loses_nothing(DEFERRED_THEN_SENT);
    restart_from_the_oldest_needed_line_loses_nothing(BOUNCED_WITH_NOTIFICATION);
    restart_from_the_oldest_needed_line_loses_nothing(EXPIRED);
    let late_hop = [
        HOP[0], HOP[1], HOP[5], HOP[6], HOP[2], HOP[3], HOP[4], HOP[7], HOP[8],
    ];
    restart_from_the_oldest_needed_line_loses_nothing(&late_hop);
    let interleaved = [
        "Dec  7 10:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]",
        "Dec  7 10:00:00 mx postfix/qmgr[3]: 1A2B3C4D5E: from=<s@example.com>, size=5, nrcpt=2 (queue active)",
        "Dec  7 10:00:01 mx postfix/smtpd[1]: 2B3C4D5E6F: client=y[192.0.2.2]",
        "Dec  7 10:00:02 mx postfix/smtp[4]: 1A2B3C4D5E: to=<a@example.net>, relay=mx[192.0.2.9]:25, delay=2, delays=0/0/1/1, dsn=4.4.1, status=deferred (connect timed out)",
        "Dec  7 10:00:03 mx postfix/qmgr[3]: 2B3C4D5E6F: from=<t@example.com>, size=9, nrcpt=1 (queue active)",
        "Dec  7 10:00:04 mx postfix/smtp[4]: 2B3C4D5E6F: to=<b@example.net>, relay=mx[192.0.2.9]:25, delay=3, delays=0/0/1/2, dsn=2.0.0, status=sent (250 ok)",
        "Dec  7 10:00:04 mx postfix/qmgr[3]: 2B3C4D5E6F: removed",
        "Dec  7 10:00:20 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
        "Dec  7 11:00:02 mx postfix/smtp[4]: 1A2B3C4D5E: to=<a@example.net>, relay=mx[192.0.2.9]:25, delay=3602, delays=3600/0/1/1, dsn=2.0.0, status=sent (250 ok)",
        "Dec  7 11:00:02 mx postfix/qmgr[3]: 1A2B3C4D5E: removed",
        "Dec  7 11:00:30 mx postfix/smtpd[1]: connect from a[192.0.2.1]",
    ];
    restart_from_the_oldest_needed_line_loses_nothing(&interleaved);
}

#[test]
fn the_oldest_needed_line_follows_open_entries_and_is_bounded() {
    let mut source = source_with(config());
    let mut out = Vec::new();
    source.push_line(LIFECYCLE[0], &mut out).unwrap();
    assert_eq!(
        source.oldest_needed_line(),
        None,
        "a connection opens no entry"
    );
    source.push_line(LIFECYCLE[1], &mut out).unwrap();
    assert_eq!(source.oldest_needed_line(), Some(1));
    for line in &LIFECYCLE[2..] {
        source.push_line(line, &mut out).unwrap();
    }
    // Removed: let go once the grace for late lines has passed.
    let later = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
    source.advance_to(later("2026-02-24T16:50:00Z"), &mut out);
    assert_eq!(source.oldest_needed_line(), None);

    // A message open for longer than the entry timeout stops holding its first line back,
    // though its entry stays open while it has lines.
    let mut config = config();
    config.entry_timeout = TimeDelta::minutes(10);
    let mut source = source_with(config);
    let open = "Dec  7 10:00:00 mx postfix/smtpd[1]: 1A2B3C4D5E: client=x[192.0.2.1]";
    let deferred = |minute: u32| {
        format!("Dec  7 10:{minute:02}:00 mx postfix/smtp[4]: 1A2B3C4D5E: to=<a@example.net>, relay=mx[192.0.2.9]:25, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect timed out)")
    };
    source.push_line(open, &mut out).unwrap();
    source.push_line(&deferred(5), &mut out).unwrap();
    assert_eq!(source.oldest_needed_line(), Some(0));
    source.push_line(&deferred(11), &mut out).unwrap();
    assert_eq!(source.oldest_needed_line(), None);
    assert_eq!(source.stats().open_entries, 1);
    source.finish(&mut out);
    assert_eq!(source.oldest_needed_line(), None);
}
