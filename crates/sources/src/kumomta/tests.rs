//! The KumoMTA mapping end to end: records built from KumoMTA's documented field list in,
//! events out, every event checked against eventhose-model's ingest validation.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{map_record, KumoConfig, Outcome, Problem, RecordError, Skip, UnknownTenant};

const SPOOL_ID: &str = "d7ef132b5d7711eea8c8000c29c33806";
const NODE: &str = "d8e014c7-eaeb-4683-a56e-61324e91b1fc";

/// A record of `kind` with every field KumoMTA writes, as a log hook posts it.
fn record(kind: &str) -> Value {
    json!({
        "type": kind,
        "id": SPOOL_ID,
        "sender": "bounces+x1@mail.shop.example",
        "recipient": "Jane.Doe@gmail.com",
        "queue": "spring-sale:acme@gmail.com",
        "site": "source2->(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com.",
        "size": 1047,
        "response": {
            "code": 250,
            "enhanced_code": {"class": 2, "subject": 0, "detail": 0},
            "content": "OK ids=8a5475ccbbc611eda12250ebf67f93bd",
            "command": ".\r\n"
        },
        "peer_address": {"name": "gmail-smtp-in.l.google.com.", "addr": "142.251.2.27"},
        "timestamp": 1_765_000_100,
        "event_time": "2025-12-06T05:48:20.123456Z",
        "created": 1_765_000_000,
        "created_time": "2025-12-06T05:46:40Z",
        "num_attempts": 0,
        "bounce_classification": "Uncategorized",
        "egress_pool": "pool0",
        "egress_source": "source2",
        "source_address": {"address": "10.0.0.1:53210", "protocol": "socks5", "server": "192.168.1.1:5000"},
        "feedback_report": null,
        "meta": {},
        "headers": {},
        "delivery_protocol": "ESMTP",
        "reception_protocol": "ESMTP",
        "nodeid": NODE,
        "tls_cipher": "TLS_AES_256_GCM_SHA384",
        "tls_protocol_version": "TLSv1.3",
        "session_id": "9bcd689e-23d9-41b7-a015-63a1382f8b57"
    })
}

fn with(mut value: Value, changes: Value) -> Value {
    for (name, change) in changes.as_object().unwrap() {
        value[name] = change.clone();
    }
    value
}

fn failure(kind: &str, code: u16, enhanced: [u8; 3], content: &str, class: &str) -> Value {
    with(
        record(kind),
        json!({
            "response": {
                "code": code,
                "enhanced_code": {"class": enhanced[0], "subject": enhanced[1], "detail": enhanced[2]},
                "content": content,
                "command": "RCPT TO:<Jane.Doe@gmail.com>\r\n"
            },
            "bounce_classification": class,
            "num_attempts": 2,
        }),
    )
}

fn map_with(config: &KumoConfig, value: &Value) -> (Outcome, Vec<Map<String, Value>>) {
    let mut events = Vec::new();
    let outcome = map_record(value, config, &mut events).unwrap_or_else(|e| panic!("{e}"));
    check_all(&events);
    (outcome, events)
}

/// Maps a record that gives exactly one event.
fn one(value: &Value) -> Map<String, Value> {
    let (outcome, mut events) = map_with(&KumoConfig::default(), value);
    assert_eq!(outcome, Outcome::Events(1));
    events.remove(0)
}

fn skipped(value: &Value) -> Skip {
    match map_with(&KumoConfig::default(), value) {
        (Outcome::Skipped(skip), events) if events.is_empty() => skip,
        other => panic!("not skipped: {other:?}"),
    }
}

fn error(config: &KumoConfig, value: &Value) -> RecordError {
    let mut events = Vec::new();
    let error = map_record(value, config, &mut events).unwrap_err();
    assert!(events.is_empty());
    error
}

/// See [`crate::test_checks::check_events`]: documented fields, and the mailbox provider.
fn check_all(events: &[Map<String, Value>]) {
    crate::test_checks::check_events(events, crate::fields::EVERY_TYPE);
}

fn field<'a>(event: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    event.get(name).and_then(Value::as_str)
}

#[test]
fn reception_is_an_injection() {
    let event = one(&with(
        record("Reception"),
        json!({"site": "", "delivery_protocol": null, "peer_address": {"name": "moto", "addr": "203.0.113.9"}}),
    ));
    assert_eq!(field(&event, "type"), Some("injection"));
    assert_eq!(field(&event, "message_id"), Some(SPOOL_ID));
    assert_eq!(field(&event, "rcpt_to"), Some("jane.doe@gmail.com"));
    assert_eq!(field(&event, "raw_rcpt_to"), Some("Jane.Doe@gmail.com"));
    assert_eq!(field(&event, "recipient_domain"), Some("gmail.com"));
    assert_eq!(field(&event, "routing_domain"), Some("gmail.com"));
    assert_eq!(
        field(&event, "msg_from"),
        Some("bounces+x1@mail.shop.example")
    );
    assert_eq!(field(&event, "sending_domain"), Some("mail.shop.example"));
    assert_eq!(field(&event, "msg_size"), Some("1047"));
    assert_eq!(field(&event, "campaign_id"), Some("spring-sale"));
    assert_eq!(field(&event, "ip_pool"), Some("pool0"));
    assert_eq!(field(&event, "sending_ip"), Some("10.0.0.1"));
    assert_eq!(field(&event, "recv_method"), Some("esmtp"));
    assert_eq!(field(&event, "mailbox_provider"), Some("Gmail"));
    assert_eq!(field(&event, "mailbox_provider_region"), Some("Global"));
    assert_eq!(
        field(&event, "timestamp"),
        Some("2025-12-06T05:48:20.123456Z")
    );
    assert_eq!(
        field(&event, "injection_time"),
        Some("2025-12-06T05:46:40Z")
    );
    assert_eq!(event.get("subaccount_id"), None);
    assert_eq!(event.get("bounce_class"), None);
    // The injection documents no attempt fields.
    assert_eq!(event.get("ip_address"), None);
    assert_eq!(event.get("num_retries"), None);
}

#[test]
fn reception_of_the_http_api_is_rest() {
    let event = one(&with(
        record("Reception"),
        json!({"reception_protocol": "HTTP"}),
    ));
    assert_eq!(field(&event, "recv_method"), Some("rest"));
}

#[test]
fn delivery() {
    let event = one(&with(record("Delivery"), json!({"num_attempts": 3})));
    assert_eq!(field(&event, "type"), Some("delivery"));
    assert_eq!(field(&event, "ip_address"), Some("142.251.2.27"));
    assert_eq!(field(&event, "delv_method"), Some("esmtp"));
    assert_eq!(field(&event, "num_retries"), Some("3"));
    assert_eq!(field(&event, "queue_time"), Some("100123"));
    assert_eq!(field(&event, "sending_ip"), Some("10.0.0.1"));
    assert_eq!(
        event.get("raw_reason"),
        None,
        "not documented for deliveries"
    );
}

#[test]
fn transient_failure_is_a_delay_and_never_hard() {
    let event = one(&failure(
        "TransientFailure",
        451,
        [4, 7, 1],
        "Please try again later",
        "Uncategorized",
    ));
    assert_eq!(field(&event, "type"), Some("delay"));
    assert_eq!(field(&event, "error_code"), Some("451"));
    assert_eq!(
        field(&event, "raw_reason"),
        Some("451 4.7.1 Please try again later")
    );
    assert_eq!(field(&event, "bounce_class"), Some("70"));
    assert_eq!(field(&event, "num_retries"), Some("2"));
    assert!(event.contains_key("queue_time"));

    // KumoMTA classifies Yahoo's 552 at RCPT (transient by RFC 5321) as InvalidRecipient.
    let record = with(
        record("TransientFailure"),
        json!({
            "response": {"code": 552, "enhanced_code": null,
                         "content": "1 Requested mail action aborted, mailbox not found",
                         "command": ".\r\n"},
            "bounce_classification": "InvalidRecipient",
        }),
    );
    assert_eq!(field(&one(&record), "bounce_class"), Some("20"));
}

#[test]
fn bounce_uses_kumomtas_class_when_it_has_one() {
    let event = one(&failure(
        "Bounce",
        550,
        [5, 7, 1],
        "Message rejected due to spam content <Jane.Doe@gmail.com> from 192.0.2.1",
        "SpamContent",
    ));
    assert_eq!(field(&event, "type"), Some("bounce"));
    assert_eq!(field(&event, "bounce_class"), Some("52"));
    assert_eq!(field(&event, "error_code"), Some("550"));
    assert_eq!(
        field(&event, "reason"),
        Some("550 5.7.1 Message rejected due to spam content <...> from a.b.c.d")
    );
    assert_eq!(field(&event, "mailbox_provider"), Some("Gmail"));
    assert_eq!(event.get("queue_time"), None, "not documented for bounces");
}

#[test]
fn bounce_without_kumomtas_class_is_classified_from_the_reply() {
    let event = one(&failure(
        "Bounce",
        550,
        [5, 1, 1],
        "The email account that you tried to reach does not exist.",
        "Uncategorized",
    ));
    assert_eq!(field(&event, "bounce_class"), Some("10"));
    let mut unlabelled = failure("Bounce", 552, [5, 2, 2], "Mailbox full", "");
    unlabelled
        .as_object_mut()
        .unwrap()
        .remove("bounce_classification");
    assert_eq!(field(&one(&unlabelled), "bounce_class"), Some("22"));
    let custom = failure(
        "Bounce",
        554,
        [5, 0, 0],
        "Transaction failed",
        "MyBlocklist",
    );
    assert_eq!(field(&one(&custom), "bounce_class"), Some("40"));
}

#[test]
fn expiration_is_a_timeout_bounce_unless_kumomta_says_otherwise() {
    let expired = failure(
        "Expiration",
        551,
        [5, 4, 7],
        "Next delivery time would be at 2025-12-07 exceeds expiry time",
        "Uncategorized",
    );
    let event = one(&expired);
    assert_eq!(field(&event, "type"), Some("bounce"));
    assert_eq!(field(&event, "bounce_class"), Some("24"));
    let blocked = with(expired, json!({"bounce_classification": "SpamBlock"}));
    assert_eq!(field(&one(&blocked), "bounce_class"), Some("51"));
}

#[test]
fn admin_bounce_is_an_admin_failure() {
    let event = one(&failure(
        "AdminBounce",
        551,
        [5, 6, 0],
        "Administrator bounced: spam campaign",
        "Uncategorized",
    ));
    assert_eq!(field(&event, "type"), Some("bounce"));
    assert_eq!(field(&event, "bounce_class"), Some("25"));
}

#[test]
fn oob_is_out_of_band() {
    let oob = with(
        failure("OOB", 550, [5, 1, 1], "user unknown", "InvalidRecipient"),
        json!({
            "id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "sender": "bounces+x1@mail.shop.example",
            "recipient": "jane@yahoo.com",
            "size": 0,
            "peer_address": {"name": "mta7.am0.yahoodns.net", "addr": "98.136.96.76"},
            "delivery_protocol": null,
        }),
    );
    let event = one(&oob);
    assert_eq!(field(&event, "type"), Some("out_of_band"));
    assert_eq!(
        field(&event, "message_id"),
        Some("0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    );
    assert_eq!(field(&event, "bounce_class"), Some("10"));
    assert_eq!(field(&event, "rcpt_to"), Some("jane@yahoo.com"));
    assert_eq!(field(&event, "mailbox_provider"), Some("Yahoo"));
    assert_eq!(event.get("msg_size"), None);
    assert_eq!(event.get("injection_time"), None);
}

fn feedback(report: Value) -> Value {
    with(
        record("Feedback"),
        json!({
            "id": "5f6e7d8c9b0a11ef8c4d0242ac120002",
            "sender": "staff@hotmail.com",
            "recipient": "fbl@shop.example",
            "queue": "shop.example",
            "size": 0,
            "response": {"code": 250, "enhanced_code": null, "content": "", "command": null},
            "delivery_protocol": null,
            "feedback_report": report,
        }),
    )
}

#[test]
fn feedback_is_a_spam_complaint() {
    let event = one(&feedback(json!({
        "feedback_type": "abuse",
        "user_agent": "SomeGenerator/1.0",
        "version": "1",
        "arrival_date": "2025-12-06T05:40:00Z",
        "original_mail_from": "bounces+x1@mail.shop.example",
        "reporting_mta": {"mta_type": "dns", "name": "mail.hotmail.com"},
        "source_ip": "192.0.2.10",
        "original_rcpto_to": ["Jane@hotmail.com"],
        "authentication_results": [],
        "reported_domain": ["shop.example"],
        "reported_uri": [],
        "extensions": {},
        "supplemental_trace": {"recipient": "Jane@hotmail.com", "tenant": "acme", "campaign": "spring-sale"}
    })));
    assert_eq!(field(&event, "type"), Some("spam_complaint"));
    assert_eq!(field(&event, "fbtype"), Some("abuse"));
    assert_eq!(field(&event, "rcpt_to"), Some("jane@hotmail.com"));
    assert_eq!(
        field(&event, "msg_from"),
        Some("bounces+x1@mail.shop.example")
    );
    assert_eq!(field(&event, "sending_domain"), Some("mail.shop.example"));
    assert_eq!(field(&event, "report_by"), Some("mail.hotmail.com"));
    assert_eq!(field(&event, "report_to"), Some("fbl@shop.example"));
    assert_eq!(field(&event, "campaign_id"), Some("spring-sale"));
    assert_eq!(field(&event, "mailbox_provider"), Some("Outlook"));
}

#[test]
fn feedback_without_a_complainer_is_skipped() {
    let redacted = feedback(json!({
        "feedback_type": "abuse", "user_agent": "x", "version": "1",
        "original_rcpto_to": [], "extensions": {}, "supplemental_trace": null
    }));
    assert_eq!(skipped(&redacted), Skip::NoRecipient);
}

#[test]
fn rejection_is_a_policy_rejection() {
    let rejection = with(
        failure(
            "Rejection",
            550,
            [5, 7, 1],
            "relaying not permitted",
            "RelayDenied",
        ),
        json!({
            "id": "",
            "queue": "",
            "site": "",
            "size": 0,
            "recipient": "someone@elsewhere.example",
            "peer_address": {"name": "client.example", "addr": "198.51.100.4:41234"},
            "delivery_protocol": null,
            "reception_protocol": null,
            "egress_pool": null,
            "source_address": null,
        }),
    );
    let event = one(&rejection);
    assert_eq!(field(&event, "type"), Some("policy_rejection"));
    assert_eq!(field(&event, "bounce_class"), Some("54"));
    assert_eq!(field(&event, "remote_addr"), Some("198.51.100.4"));
    assert_eq!(field(&event, "recv_method"), Some("esmtp"));
    let message_id = field(&event, "message_id").unwrap();
    assert_eq!(message_id.len(), 20, "{message_id}");
    assert_eq!(one(&rejection)["message_id"], event["message_id"], "stable");

    let before_rcpt = with(rejection, json!({"recipient": ""}));
    assert_eq!(skipped(&before_rcpt), Skip::NoRecipient);
}

#[test]
fn records_that_are_no_event_are_skipped() {
    for kind in [
        "Delayed",
        "AdminRebind",
        "DeferredInjectionRebind",
        "XferOut",
        "XferIn",
    ] {
        assert_eq!(skipped(&record(kind)), Skip::NotAnEvent, "{kind}");
    }
    assert_eq!(skipped(&record("SomethingNew")), Skip::UnknownType);
    // A skipped type needs nothing but its type.
    assert_eq!(skipped(&json!({"type": "Delayed"})), Skip::NotAnEvent);
}

#[test]
fn hook_traffic_is_skipped() {
    let hook_delivery = with(
        record("Delivery"),
        json!({
            "queue": "eventhose.log_hook",
            "delivery_protocol": "Lua",
            "reception_protocol": "LogRecord",
            "response": {"code": 200, "enhanced_code": null, "content": "200 OK: ", "command": null}
        }),
    );
    assert_eq!(skipped(&hook_delivery), Skip::HookTraffic);
    for changes in [
        json!({"queue": "webhook.log_hook"}),
        json!({"delivery_protocol": "Lua"}),
        json!({"reception_protocol": "LogRecord"}),
    ] {
        assert_eq!(
            skipped(&with(record("TransientFailure"), changes.clone())),
            Skip::HookTraffic,
            "{changes}"
        );
    }
}

#[test]
fn recipient_as_string_or_array() {
    let batch = with(
        record("Reception"),
        json!({"recipient": ["a@gmail.com", "B@yahoo.com", "c@example.org"]}),
    );
    let (outcome, events) = map_with(&KumoConfig::default(), &batch);
    assert_eq!(outcome, Outcome::Events(3));
    let rcpts: Vec<_> = events
        .iter()
        .map(|e| field(e, "rcpt_to").unwrap())
        .collect();
    assert_eq!(rcpts, ["a@gmail.com", "b@yahoo.com", "c@example.org"]);
    assert!(events
        .iter()
        .all(|e| field(e, "message_id") == Some(SPOOL_ID)));
    let ids: std::collections::HashSet<_> = events.iter().map(|e| &e["event_id"]).collect();
    assert_eq!(ids.len(), 3, "each recipient its own event id");
    assert_eq!(field(&events[1], "mailbox_provider"), Some("Yahoo"));
    assert_eq!(events[2].get("mailbox_provider"), None);

    let single = one(&with(
        record("Reception"),
        json!({"recipient": ["a@gmail.com"]}),
    ));
    let plain = one(&with(
        record("Reception"),
        json!({"recipient": "a@gmail.com"}),
    ));
    assert_eq!(single, plain, "an array of one is the string");
}

#[test]
fn tenants_map_to_subaccounts() {
    let config = KumoConfig {
        tenants: BTreeMap::from([("acme".to_owned(), 42), ("globex".to_owned(), 7)]),
        unknown_tenant: UnknownTenant::Primary,
    };
    let (_, events) = map_with(&config, &record("Delivery"));
    assert_eq!(field(&events[0], "subaccount_id"), Some("42"));

    // `meta.tenant` (KumoMTA's meta, when the hook logs it) comes before the queue's.
    let meta = with(
        record("Delivery"),
        json!({"meta": {"tenant": "globex", "campaign": "c9"}}),
    );
    let (_, events) = map_with(&config, &meta);
    assert_eq!(field(&events[0], "subaccount_id"), Some("7"));
    assert_eq!(field(&events[0], "campaign_id"), Some("c9"));

    // No tenant, or an unknown one: the primary account.
    for queue in ["gmail.com", "spring:@gmail.com", "initech@gmail.com"] {
        let (_, events) = map_with(&config, &with(record("Delivery"), json!({"queue": queue})));
        assert_eq!(events[0].get("subaccount_id"), None, "{queue}");
    }

    // Or refused, when so configured, naming where the tenant was read.
    let strict = KumoConfig {
        unknown_tenant: UnknownTenant::Refuse,
        ..config
    };
    let unknown = with(record("Delivery"), json!({"queue": "initech@gmail.com"}));
    assert_eq!(error(&strict, &unknown).field, "queue");
    let unknown_meta = with(record("Delivery"), json!({"meta": {"tenant": "initech"}}));
    assert_eq!(error(&strict, &unknown_meta).field, "meta.tenant");
    let no_tenant = with(record("Delivery"), json!({"queue": "gmail.com"}));
    assert_eq!(map_with(&strict, &no_tenant).0, Outcome::Events(1));
}

#[test]
fn the_same_record_gives_the_same_ids() {
    let config = KumoConfig::default();
    for kind in [
        "Reception",
        "Delivery",
        "TransientFailure",
        "Bounce",
        "Expiration",
        "AdminBounce",
        "OOB",
    ] {
        let value = record(kind);
        let reposted: Value = serde_json::from_str(&value.to_string()).unwrap();
        assert_eq!(
            map_with(&config, &value).1,
            map_with(&config, &reposted).1,
            "{kind}"
        );
    }
    // A retry of the message is another record: another id.
    let first = one(&failure("TransientFailure", 451, [4, 7, 1], "later", ""));
    let retry = one(&with(
        failure("TransientFailure", 451, [4, 7, 1], "later", ""),
        json!({"num_attempts": 3, "event_time": "2025-12-06T06:48:20Z", "timestamp": 1_765_003_700}),
    ));
    assert_ne!(first["event_id"], retry["event_id"]);
    assert_eq!(first["message_id"], retry["message_id"]);
    // Without `event_time` (KumoMTA before 2025.10.06) the seconds are the time.
    let mut old = record("Delivery");
    old.as_object_mut().unwrap().remove("event_time");
    assert_eq!(field(&one(&old), "timestamp"), Some("2025-12-06T05:48:20Z"));
}

#[test]
fn bad_records_name_their_field() {
    let config = KumoConfig::default();
    let cases = [
        (json!([1, 2]), "record"),
        (json!({"id": SPOOL_ID}), "type"),
        (json!({"type": 7}), "type"),
        (with(record("Delivery"), json!({"id": null})), "id"),
        (
            with(record("Delivery"), json!({"recipient": null})),
            "recipient",
        ),
        (
            with(record("Delivery"), json!({"recipient": 5})),
            "recipient",
        ),
        (
            with(record("Delivery"), json!({"recipient": ["a@b.example", 5]})),
            "recipient",
        ),
        (
            with(record("Delivery"), json!({"recipient": []})),
            "recipient",
        ),
        (
            with(
                record("Delivery"),
                json!({"event_time": null, "timestamp": null}),
            ),
            "timestamp",
        ),
        (
            with(record("Delivery"), json!({"event_time": "yesterday"})),
            "event_time",
        ),
        (
            with(record("Delivery"), json!({"response": "250 OK"})),
            "response",
        ),
        (
            with(record("Delivery"), json!({"response": {"code": "250"}})),
            "response.code",
        ),
        (
            with(record("Delivery"), json!({"response": {"code": 70000}})),
            "response.code",
        ),
        (
            with(
                record("Bounce"),
                json!({"response": {"code": 550, "enhanced_code": {"class": 5}}}),
            ),
            "response.enhanced_code",
        ),
        (with(record("Delivery"), json!({"size": -1})), "size"),
        (
            with(record("Delivery"), json!({"peer_address": "x"})),
            "peer_address",
        ),
        (
            with(record("Delivery"), json!({"peer_address": {"addr": 1}})),
            "peer_address.addr",
        ),
        (
            with(record("Delivery"), json!({"num_attempts": 1.5})),
            "num_attempts",
        ),
    ];
    for (value, field) in cases {
        let error = error(&config, &value);
        assert_eq!(error.field, field, "{value}: {error}");
    }
    assert_eq!(
        error(&config, &json!({"type": 7})),
        RecordError {
            field: "type",
            problem: Problem::WrongType {
                expected: "a string"
            }
        }
    );
    assert_eq!(
        error(&config, &json!({"type": 7})).to_string(),
        "`type` must be a string"
    );
}

#[test]
fn tables_reencoded_by_lua_read_the_same() {
    let event = one(&with(
        record("Delivery"),
        json!({"meta": [], "headers": [], "num_attempts": 2.0, "size": 1047.0}),
    ));
    assert_eq!(field(&event, "num_retries"), Some("2"));
    assert_eq!(field(&event, "msg_size"), Some("1047"));
    let fraction = with(record("Delivery"), json!({"size": 1.5}));
    assert_eq!(error(&KumoConfig::default(), &fraction).field, "size");
    let redacted = feedback(json!({
        "feedback_type": "abuse", "user_agent": "x", "version": "1",
        "original_rcpto_to": {}, "extensions": [], "supplemental_trace": []
    }));
    assert_eq!(skipped(&redacted), Skip::NoRecipient);
}

#[test]
fn ipv6_and_socket_paths() {
    let v6 = with(
        record("Delivery"),
        json!({
            "peer_address": {"name": "mx.example.net.", "addr": "[2001:db8::25]:25"},
            "source_address": {"address": "[2001:db8::1]:40000"}
        }),
    );
    let event = one(&v6);
    assert_eq!(field(&event, "ip_address"), Some("2001:db8::25"));
    assert_eq!(field(&event, "sending_ip"), Some("2001:db8::1"));
    let local = one(&with(
        record("Delivery"),
        json!({"peer_address": {"name": "/var/run/sock", "addr": "/var/run/sock"}}),
    ));
    assert_eq!(local.get("ip_address"), None);
}

#[test]
fn a_companys_own_domain_is_named_by_the_mx_that_answered() {
    let hosted = with(
        record("Delivery"),
        json!({
            "recipient": "bob@corp.example",
            "peer_address": {"name": "corp-example.mail.protection.outlook.com.", "addr": "52.101.0.1"}
        }),
    );
    assert_eq!(field(&one(&hosted), "mailbox_provider"), Some("Office 365"));
}

/// Arbitrary JSON, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A real record with some of its fields replaced by arbitrary values.
fn mangled_record() -> impl Strategy<Value = Value> {
    let kinds = prop::sample::select(vec![
        "Reception",
        "Delivery",
        "TransientFailure",
        "Bounce",
        "Expiration",
        "AdminBounce",
        "OOB",
        "Feedback",
        "Rejection",
        "Delayed",
    ]);
    let names = prop::sample::select(vec![
        "id",
        "sender",
        "recipient",
        "queue",
        "size",
        "response",
        "peer_address",
        "timestamp",
        "event_time",
        "created",
        "num_attempts",
        "bounce_classification",
        "egress_pool",
        "source_address",
        "feedback_report",
        "meta",
        "delivery_protocol",
        "reception_protocol",
        "nodeid",
        "session_id",
    ]);
    (kinds, prop::collection::vec((names, any_json()), 0..5)).prop_map(|(kind, changes)| {
        let mut value = record(kind);
        for (name, change) in changes {
            value[name] = change;
        }
        value
    })
}

proptest! {
    #![proptest_config(eventhose_test_support::proptest_config(256))]

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        let mut events = Vec::new();
        let _ = map_record(&value, &KumoConfig::default(), &mut events);
        check_all(&events);
    }

    #[test]
    fn mangled_records_map_to_valid_events_or_name_a_field(value in mangled_record()) {
        let mut events = Vec::new();
        match map_record(&value, &KumoConfig::default(), &mut events) {
            Ok(_) => check_all(&events),
            Err(error) => {
                prop_assert!(events.is_empty());
                prop_assert!(!error.field.is_empty());
            }
        }
    }
}
