//! The PowerMTA source end to end: accounting lines in, events out, every event checked
//! against eventhose-model's ingest validation.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{LineError, PmtaConfig, PmtaSource, Problem, RecordError, Stats, UnknownSubaccount};

/// Every column this source reads, and one it does not (`dlvType`).
const HEADER: &str = "type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,\
dsnMta,bounceCat,srcType,srcMta,dlvType,dlvSourceIp,dlvDestinationIp,dlvSize,vmta,jobId,envId";

const RECEIVED: &str = "r,2026-12-07 10:00:00+0100,2026-12-07 10:00:00+0100,\
bounces@mail.shop.example,Jane.Doe@gmail.com,rfc822;Jane.Doe@gmail.com,,,,,,smtp,\
app1.shop.example (192.0.2.10),,,,,pool-a,spring-sale,";

const DELIVERED: &str = "d,2026-12-07 10:00:03+0100,2026-12-07 10:00:00+0100,\
bounces@mail.shop.example,Jane.Doe@gmail.com,rfc822;Jane.Doe@gmail.com,relayed,2.0.0 (success),\
smtp;250 2.0.0 OK 1765098003 x1si123.1 - gsmtp,gmail-smtp-in.l.google.com (142.251.2.27),,smtp,\
app1.shop.example (192.0.2.10),smtp,203.0.113.5,142.251.2.27,4821,pool-a,spring-sale,";

const TRANSIENT: &str = "t,2026-12-07 10:05:00+0100,2026-12-07 10:00:00+0100,\
bounces@mail.shop.example,bob@example.net,,delayed,4.2.2 (mailbox full),\
\"smtp;452 4.2.2 Mailbox full, try later\",mx.example.net (198.51.100.7),quota-issues,smtp,,smtp,\
203.0.113.5,198.51.100.7,,pool-a,spring-sale,";

const TRANSIENT_QUEUE: &str = "tq,2026-12-07 10:05:00+0100,,,,,,4.4.1 (no answer),\
smtp;421 4.4.1 connection timed out,mx.example.net (198.51.100.7),no-answer-from-host,,,smtp,\
203.0.113.5,,,pool-a,,";

const BOUNCED: &str = "b,2026-12-07 10:00:04+0100,2026-12-07 10:00:00+0100,\
bounces@mail.shop.example,gone@example.net,,failed,5.1.1 (bad destination mailbox address),\
smtp;550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown,\
mx.example.net (198.51.100.7),bad-mailbox,smtp,,smtp,203.0.113.5,198.51.100.7,,pool-a,spring-sale,";

const FEEDBACK_HEADER: &str = "type,timeLogged,orig,rcpt,vmta,jobId,feedbackType,format";
const FEEDBACK: &str =
    "f,2026-12-08 09:00:00+0000,bounces@mail.shop.example,Jane.Doe@yahoo.com,pool-a,spring-sale,Abuse,arf";

const REMOTE_BOUNCE: &str = "rb,2026-12-07 12:00:00+0100,,bounces@mail.shop.example,\
gone@example.org,,failed,5.1.1,smtp;550 5.1.1 mailbox unavailable,mx.example.org,bad-mailbox,,,,,,,,,";

fn source() -> PmtaSource {
    PmtaSource::new(PmtaConfig::default())
}

/// Feeds `lines` to `source`, checks every event, and returns the events and the errors.
fn feed_into(source: &mut PmtaSource, lines: &[&str]) -> (Vec<Map<String, Value>>, Vec<LineError>) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for line in lines {
        let before = events.len();
        if let Err(error) = source.push_line(line, &mut events) {
            assert_eq!(events.len(), before, "an error appended events: {line}");
            errors.push(error);
        }
    }
    check_all(&events);
    (events, errors)
}

fn feed(lines: &[&str]) -> (Vec<Map<String, Value>>, Vec<LineError>, Stats) {
    let mut source = source();
    let (events, errors) = feed_into(&mut source, lines);
    (events, errors, source.stats())
}

/// The one event of one record under `header`.
fn one(header: &str, line: &str) -> Map<String, Value> {
    let (mut events, errors, _) = feed(&[header, line]);
    assert_eq!(errors, [], "{line}");
    assert_eq!(events.len(), 1, "{line}");
    events.remove(0)
}

/// See [`crate::test_checks::check_events`]: documented fields, and the mailbox provider.
fn check_all(events: &[Map<String, Value>]) {
    crate::test_checks::check_events(events, crate::fields::EVERY_TYPE);
}

fn text<'a>(event: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    event.get(name).map(|value| value.as_str().unwrap())
}

#[test]
fn the_public_example_line_is_a_bounce() {
    // From the port25-bouncehandler README (section 3.3 of the reference notes).
    let event = one(
        "type,timeQueued,bounceCat,vmta,orig,rcpt,srcMta,dlvSourceIp,jobId,dsnStatus,dsnMta",
        "b,2016-05-29 01:10:51+0200,bad-domain,vmta-mymta04,mailwizz@example.com,XXX@domain.com,\
sourcemta.domain.com (0.0.0.0),1.1.1.1,,5.1.2 (bad destination system: no such domain),",
    );
    assert_eq!(text(&event, "type"), Some("bounce"));
    assert_eq!(text(&event, "timestamp"), Some("2016-05-29T01:10:51+02:00"));
    assert_eq!(text(&event, "bounce_class"), Some("21"));
    assert_eq!(text(&event, "rcpt_to"), Some("xxx@domain.com"));
    assert_eq!(text(&event, "raw_rcpt_to"), Some("XXX@domain.com"));
    assert_eq!(text(&event, "recipient_domain"), Some("domain.com"));
    assert_eq!(text(&event, "msg_from"), Some("mailwizz@example.com"));
    assert_eq!(text(&event, "sending_domain"), Some("example.com"));
    assert_eq!(text(&event, "sending_ip"), Some("1.1.1.1"));
    assert_eq!(text(&event, "ip_pool"), Some("vmta-mymta04"));
    assert_eq!(
        text(&event, "raw_reason"),
        Some("5.1.2 (bad destination system: no such domain)")
    );
    assert_eq!(text(&event, "campaign_id"), None);
    assert_eq!(text(&event, "error_code"), None);
    assert_eq!(text(&event, "message_id").map(str::len), Some(20));
}

#[test]
fn a_received_record_is_an_injection() {
    let event = one(HEADER, RECEIVED);
    assert_eq!(text(&event, "type"), Some("injection"));
    assert_eq!(text(&event, "timestamp"), Some("2026-12-07T10:00:00+01:00"));
    assert_eq!(
        text(&event, "injection_time"),
        Some("2026-12-07T10:00:00+01:00")
    );
    assert_eq!(text(&event, "rcpt_to"), Some("jane.doe@gmail.com"));
    assert_eq!(text(&event, "raw_rcpt_to"), Some("Jane.Doe@gmail.com"));
    assert_eq!(text(&event, "recv_method"), Some("esmtp"));
    assert_eq!(text(&event, "campaign_id"), Some("spring-sale"));
    assert_eq!(text(&event, "ip_pool"), Some("pool-a"));
    assert_eq!(text(&event, "mailbox_provider"), Some("Gmail"));
    assert_eq!(text(&event, "queue_time"), None);
}

#[test]
fn a_delivered_record_is_a_delivery() {
    let event = one(HEADER, DELIVERED);
    assert_eq!(text(&event, "type"), Some("delivery"));
    assert_eq!(text(&event, "queue_time"), Some("3000"));
    assert_eq!(text(&event, "sending_ip"), Some("203.0.113.5"));
    assert_eq!(text(&event, "ip_address"), Some("142.251.2.27"));
    assert_eq!(text(&event, "msg_size"), Some("4821"));
    assert_eq!(text(&event, "routing_domain"), Some("gmail.com"));
    assert_eq!(text(&event, "mailbox_provider"), Some("Gmail"));
    assert_eq!(text(&event, "bounce_class"), None);
    assert_eq!(text(&event, "raw_reason"), None);
}

#[test]
fn a_transient_record_is_a_delay() {
    let event = one(HEADER, TRANSIENT);
    assert_eq!(text(&event, "type"), Some("delay"));
    assert_eq!(text(&event, "bounce_class"), Some("22"));
    assert_eq!(text(&event, "error_code"), Some("452"));
    assert_eq!(
        text(&event, "raw_reason"),
        Some("452 4.2.2 Mailbox full, try later")
    );
    assert_eq!(text(&event, "queue_time"), Some("300000"));
    assert_eq!(text(&event, "ip_address"), Some("198.51.100.7"));

    // A hard category on a transient failure is reported as a soft bounce.
    let hard = TRANSIENT.replace("quota-issues", "bad-mailbox");
    assert_eq!(text(&one(HEADER, &hard), "bounce_class"), Some("20"));
}

#[test]
fn a_bounced_record_is_a_bounce() {
    let event = one(HEADER, BOUNCED);
    assert_eq!(text(&event, "type"), Some("bounce"));
    assert_eq!(text(&event, "bounce_class"), Some("10"));
    assert_eq!(text(&event, "error_code"), Some("550"));
    assert_eq!(
        text(&event, "reason"),
        Some("550 5.1.1 <...>: Recipient address rejected: User unknown")
    );
    assert_eq!(
        text(&event, "queue_time"),
        None,
        "not documented for bounces"
    );
}

#[test]
fn categories_decide_and_the_reply_is_the_fallback() {
    let spam = BOUNCED.replace("bad-mailbox", "spam-related");
    assert_eq!(text(&one(HEADER, &spam), "bounce_class"), Some("51"));
    for category in ["other", "", "some-new-category"] {
        let line = BOUNCED.replace("bad-mailbox", category);
        assert_eq!(
            text(&one(HEADER, &line), "bounce_class"),
            Some("10"),
            "{category}"
        );
    }
    let expired = "b,2026-12-09 10:00:00+0100,2026-12-07 10:00:00+0100,s@shop.example,\
x@example.net,,failed,4.4.7 (delivery time expired),,,message-expired,,,,,,,,,";
    assert_eq!(text(&one(HEADER, expired), "bounce_class"), Some("24"));
}

#[test]
fn queue_transients_and_remote_statuses_give_nothing() {
    let (events, errors, stats) = feed(&[
        HEADER,
        TRANSIENT_QUEUE,
        "rs,2026-12-07 12:00:00+0100,,a@b.example,c@d.example,,delivered,2.0.0,,,,,,,,,,,,",
        "zz,2026-12-07 12:00:00+0100,,a@b.example,c@d.example,,,,,,,,,,,,,,,",
    ]);
    assert!(events.is_empty());
    assert_eq!(errors, []);
    assert_eq!(stats.not_events, 2);
    assert_eq!(stats.unknown_types, 1);
    assert_eq!(stats.headers, 1);
}

#[test]
fn a_feedback_record_is_a_spam_complaint() {
    let event = one(FEEDBACK_HEADER, FEEDBACK);
    assert_eq!(text(&event, "type"), Some("spam_complaint"));
    assert_eq!(text(&event, "fbtype"), Some("abuse"));
    assert_eq!(text(&event, "rcpt_to"), Some("jane.doe@yahoo.com"));
    assert_eq!(text(&event, "campaign_id"), Some("spring-sale"));
    assert_eq!(text(&event, "mailbox_provider"), Some("Yahoo"));
    assert_eq!(text(&event, "injection_time"), None);

    let anonymous = "f,2026-12-08 09:00:00+0000,bounces@mail.shop.example,,pool-a,,abuse,arf";
    let (events, errors, stats) = feed(&[FEEDBACK_HEADER, anonymous]);
    assert!(events.is_empty());
    assert_eq!(errors, []);
    assert_eq!(stats.no_recipient, 1);
}

#[test]
fn a_remote_bounce_is_out_of_band() {
    let event = one(HEADER, REMOTE_BOUNCE);
    assert_eq!(text(&event, "type"), Some("out_of_band"));
    assert_eq!(text(&event, "bounce_class"), Some("10"));
    assert_eq!(text(&event, "rcpt_to"), Some("gone@example.org"));
    assert_eq!(text(&event, "error_code"), Some("550"));
    assert_eq!(text(&event, "injection_time"), None);

    // The size and times of a report are not the message's.
    let report = "rb,2026-12-07 12:00:00+0100,2026-12-07 11:59:00+0100,,gone@example.org,,,5.1.1,\
,,,,,,,,2300,,,";
    let event = one(HEADER, report);
    assert_eq!(text(&event, "msg_size"), None);
    assert_eq!(text(&event, "queue_time"), None);
    assert_eq!(text(&event, "injection_time"), None);

    // Out-of-band events need no recipient.
    let without = REMOTE_BOUNCE.replace("gone@example.org", "");
    let event = one(HEADER, &without);
    assert_eq!(text(&event, "rcpt_to"), None);
}

#[test]
fn one_message_keeps_its_id_across_records() {
    let (events, errors, _) = feed(&[HEADER, RECEIVED, DELIVERED, TRANSIENT, BOUNCED]);
    assert_eq!(errors, []);
    assert_eq!(events[0]["message_id"], events[1]["message_id"]);
    assert_ne!(events[1]["message_id"], events[2]["message_id"]);
    assert_ne!(events[2]["message_id"], events[3]["message_id"]);
    let ids: std::collections::BTreeSet<_> = events.iter().map(|e| text(e, "event_id")).collect();
    assert_eq!(ids.len(), events.len());

    // With the header Message-Id or envId, that names the message.
    let header = "type,timeLogged,rcpt,envId,header_Message-Id";
    let a = one(header, "d,1765098003,a@example.com,E1,<m1@shop.example>");
    let b = one(header, "rb,1765099999,A@example.com,,<m1@shop.example>");
    let c = one(header, "d,1765098003,a@example.com,E1,");
    let d = one(header, "rb,1765099999,a@example.com,E1,");
    assert_eq!(a["message_id"], b["message_id"]);
    assert_eq!(c["message_id"], d["message_id"]);
    assert_ne!(a["message_id"], c["message_id"]);
}

#[test]
fn reading_again_gives_the_same_events() {
    let lines = [
        HEADER,
        RECEIVED,
        DELIVERED,
        TRANSIENT,
        TRANSIENT_QUEUE,
        BOUNCED,
        REMOTE_BOUNCE,
        FEEDBACK_HEADER,
        FEEDBACK,
    ];
    let (first, _, _) = feed(&lines);
    let (second, _, _) = feed(&lines);
    assert_eq!(first.len(), 6);
    assert_eq!(first, second);
}

#[test]
fn a_later_header_replaces_the_columns() {
    let reordered =
        "vmta,jobId,rcpt,orig,type,timeLogged,timeQueued,extraColumn,dsnStatus,dsnDiag,\
bounceCat,dsnMta,dlvSourceIp,dlvDestinationIp,srcType,orcpt,dlvSize,dsnAction";
    // The header's first column must be the type, as PowerMTA writes it: a line starting
    // with `vmta` is a record of an unknown type, not a header.
    let (events, errors, stats) = feed(&[HEADER, RECEIVED, reordered]);
    assert_eq!(events.len(), 1);
    assert_eq!(errors, []);
    assert_eq!(stats.unknown_types, 1);

    let second = "type,vmta,jobId,rcpt,orig,timeLogged,timeQueued,extraColumn,dsnStatus,dsnDiag,\
bounceCat,dsnMta,dlvSourceIp,dlvDestinationIp,srcType,orcpt,dlvSize,dsnAction";
    let moved = "d,pool-a,spring-sale,Jane.Doe@gmail.com,bounces@mail.shop.example,\
2026-12-07 10:00:03+0100,2026-12-07 10:00:00+0100,ignored,2.0.0 (success),\
smtp;250 2.0.0 OK 1765098003 x1si123.1 - gsmtp,,gmail-smtp-in.l.google.com (142.251.2.27),\
203.0.113.5,142.251.2.27,smtp,rfc822;Jane.Doe@gmail.com,4821,relayed";
    let (events, errors, stats) = feed(&[HEADER, DELIVERED, second, moved]);
    assert_eq!(errors, []);
    assert_eq!(stats.headers, 2);
    assert_eq!(events.len(), 2);
    // The same record under another column order is the same event.
    assert_eq!(events[0], events[1]);
}

#[test]
fn a_resumed_header_serves_without_a_line() {
    let mut first = source();
    let (_, errors) = feed_into(&mut first, &[HEADER, RECEIVED]);
    assert_eq!(errors, []);
    let kept = first.read_header().cloned().unwrap();

    // A reader that resumes past the header line puts the kept header back.
    let mut resumed = source();
    assert_eq!(resumed.read_header(), None);
    resumed.set_header(kept);
    assert_eq!(resumed.lines_read(), 0, "no line counted");
    let (events, errors) = feed_into(&mut resumed, &[DELIVERED]);
    assert_eq!(errors, []);
    assert_eq!(events, [one(HEADER, DELIVERED)]);
    assert_eq!(resumed.lines_read(), 1);
    assert_eq!(resumed.stats().headers, 0);

    // The configured default is no header read from the stream.
    let piped = PmtaSource::new(PmtaConfig {
        default_header: Some(HEADER.to_owned()),
        ..PmtaConfig::default()
    });
    assert!(piped.header().is_some());
    assert_eq!(piped.read_header(), None);
}

#[test]
fn quoted_fields_keep_their_commas_and_quotes() {
    let line = "b,2026-12-07 10:00:04+0100,2026-12-07 10:00:00+0100,s@shop.example,x@example.net,,\
failed,5.7.1,\"smtp;550 5.7.1 Message rejected, see \"\"policy\"\" at https://example.net/a,b\",\
mx.example.net,policy-related,,,,,,,,,";
    let event = one(HEADER, line);
    assert_eq!(
        text(&event, "raw_reason"),
        Some("550 5.7.1 Message rejected, see \"policy\" at https://example.net/a,b")
    );
    assert_eq!(text(&event, "bounce_class"), Some("50"));
}

#[test]
fn missing_columns_are_named() {
    let (events, errors, stats) = feed(&[
        "type,timeLogged,orig",
        "d,2026-12-07 10:00:03+0100,a@b.example",
        "type,orig,rcpt",
        "d,a@b.example,c@d.example",
    ]);
    assert!(events.is_empty());
    assert_eq!(
        errors,
        [
            LineError::Record(RecordError {
                column: "rcpt".to_owned(),
                problem: Problem::Missing
            }),
            LineError::Record(RecordError {
                column: "timeLogged".to_owned(),
                problem: Problem::Missing
            }),
        ]
    );
    assert_eq!(stats.invalid, 2);

    // Optional columns may be absent, and a line may be shorter than its header.
    let event = one(HEADER, "d,2026-12-07 10:00:03+0100,,,c@d.example");
    assert_eq!(text(&event, "rcpt_to"), Some("c@d.example"));
    assert_eq!(text(&event, "msg_from"), None);
    assert_eq!(text(&event, "queue_time"), None);
}

#[test]
fn bad_timestamps_name_their_column() {
    let (events, errors, stats) = feed(&[
        HEADER,
        &DELIVERED.replace("2026-12-07 10:00:03+0100", "yesterday"),
        &DELIVERED.replace("2026-12-07 10:00:00+0100", "2026-12-07 10:00:00"),
    ]);
    assert!(events.is_empty());
    assert_eq!(
        errors,
        [
            LineError::Record(RecordError {
                column: "timeLogged".to_owned(),
                problem: Problem::BadTimestamp
            }),
            LineError::Record(RecordError {
                column: "timeQueued".to_owned(),
                problem: Problem::BadTimestamp
            }),
        ]
    );
    assert_eq!(
        errors[0].to_string(),
        "invalid record: column `timeLogged` is not a timestamp"
    );
    assert_eq!(stats.invalid, 2);
}

#[test]
fn unix_times_are_read() {
    let event = one(
        "type,timeLogged,timeQueued,orig,rcpt,dlvSourceIp",
        "d,1178807903,1178807900,orig@port25.example,user1@domain.example,10.0.0.1",
    );
    assert_eq!(text(&event, "timestamp"), Some("2007-05-10T14:38:23Z"));
    assert_eq!(text(&event, "queue_time"), Some("3000"));
}

#[test]
fn the_pipe_form_takes_a_default_header() {
    let (events, errors, stats) = feed(&[DELIVERED]);
    assert!(events.is_empty());
    assert_eq!(errors, [LineError::NoHeader]);
    assert_eq!(stats.no_header, 1);

    let mut source = PmtaSource::new(PmtaConfig {
        default_header: Some(HEADER.to_owned()),
        ..PmtaConfig::default()
    });
    let (events, errors) = feed_into(&mut source, &[DELIVERED]);
    assert_eq!(errors, []);
    assert_eq!(events, [one(HEADER, DELIVERED)]);

    // A header line in the stream takes over from the default.
    let (events, errors) = feed_into(
        &mut source,
        &["type,timeLogged,rcpt", "d,1178807903,x@example.com"],
    );
    assert_eq!(errors, []);
    assert_eq!(text(&events[0], "rcpt_to"), Some("x@example.com"));
    assert_eq!(source.header().map(|h| h.columns().len()), Some(3));
}

#[test]
fn bad_lines_are_counted_and_refused() {
    let mut source = PmtaSource::new(PmtaConfig {
        max_line_len: 600,
        ..PmtaConfig::default()
    });
    let long = format!("d,{}", "x".repeat(700));
    let (events, errors) = feed_into(
        &mut source,
        &[
            HEADER,
            &long,
            "d,\"unterminated,1178807903,a@b.example",
            "d,1178807903\rd,1178807904",
            "",
            "\r\n",
            DELIVERED,
        ],
    );
    assert_eq!(events.len(), 1);
    assert!(matches!(
        errors[..],
        [
            LineError::TooLong {
                len: 702,
                limit: 600
            },
            LineError::Malformed(_),
            LineError::Malformed(_),
        ]
    ));
    let stats = source.stats();
    assert_eq!(stats.lines, 7);
    assert_eq!(stats.oversized, 1);
    assert_eq!(stats.malformed, 2);
    assert_eq!(stats.blank, 2);
    assert_eq!(stats.events, 1);
}

#[test]
fn bytes_in_another_charset_are_read() {
    let mut source = source();
    let mut events = Vec::new();
    source.push_bytes(HEADER.as_bytes(), &mut events).unwrap();
    let line = BOUNCED.replace("User unknown", "Usuario desconocido \u{fffd}");
    let bytes = line.replace('\u{fffd}', "\u{1}").into_bytes();
    let bytes: Vec<u8> = bytes
        .into_iter()
        .map(|b| if b == 1 { 0xE9 } else { b })
        .collect();
    source.push_bytes(&bytes, &mut events).unwrap();
    check_all(&events);
    assert!(text(&events[0], "raw_reason")
        .unwrap()
        .ends_with("desconocido \u{fffd}"));
}

#[test]
fn subaccounts_come_from_the_configured_column() {
    let config = PmtaConfig {
        subaccount_column: Some("vmta".to_owned()),
        subaccounts: BTreeMap::from([("pool-a".to_owned(), 7)]),
        campaign_column: None,
        ip_pool_column: Some("vmta".to_owned()),
        ..PmtaConfig::default()
    };
    let mut source = PmtaSource::new(config.clone());
    let (events, errors) = feed_into(&mut source, &[HEADER, DELIVERED]);
    assert_eq!(errors, []);
    assert_eq!(text(&events[0], "subaccount_id"), Some("7"));
    assert_eq!(text(&events[0], "campaign_id"), None);

    let other = DELIVERED.replace("pool-a", "pool-b");
    let (events, errors) = feed_into(&mut source, &[&other]);
    assert_eq!(errors, []);
    assert_eq!(text(&events[0], "subaccount_id"), None);

    let mut refusing = PmtaSource::new(PmtaConfig {
        unknown_subaccount: UnknownSubaccount::Refuse,
        ..config
    });
    let (events, errors) = feed_into(&mut refusing, &[HEADER, &other]);
    assert!(events.is_empty());
    assert_eq!(
        errors,
        [LineError::Record(RecordError {
            column: "vmta".to_owned(),
            problem: Problem::UnmappedSubaccount
        })]
    );
}

proptest! {
    #![proptest_config(eventhose_test_support::proptest_config(256))]

    #[test]
    fn arbitrary_lines_never_panic(lines in proptest::collection::vec(".{0,200}", 1..20)) {
        let mut source = source();
        let mut events = Vec::new();
        source.push_line(HEADER, &mut events).unwrap();
        for line in &lines {
            let _ = source.push_line(line, &mut events);
        }
        check_all(&events);
        prop_assert_eq!(source.stats().lines, 1 + lines.len() as u64);
    }

    #[test]
    fn arbitrary_records_never_panic(
        fields in proptest::collection::vec(
            prop_oneof![
                Just(String::new()),
                "(r|d|t|tq|b|f|rb|rs)",
                "[ -~]{0,30}",
                "20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9][+-][01][0-9][0-5][0-9]",
                "[a-zA-Z.]{1,8}@[a-zA-Z.]{0,10}",
                "\"[ -~]{0,20}\"",
            ],
            1..24,
        ),
    ) {
        let line = fields.join(",");
        let mut source = source();
        let mut events = Vec::new();
        source.push_line(HEADER, &mut events).unwrap();
        let result = source.push_line(&line, &mut events);
        check_all(&events);
        prop_assert!(result.is_ok() || events.is_empty());
    }
}
