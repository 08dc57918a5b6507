//! Structural properties of the stream: order, identifiers, fields, sizes and lifecycles.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};

use common::{by_message, compressed, is_disposition, n, parsed, s};
use eventhose_model::Category;
use eventhose_simulator::{EventType, SimConfig, Simulator};

const EVENTS: usize = 120_000;

#[test]
fn timestamps_never_decrease_and_follow_the_rate() {
    let config = SimConfig::new(3, 1_717_200_000, 250.0);
    let events = parsed(config, 50_000);
    let mut last = i64::MIN;
    for (event, _) in &events {
        let t = n(event, "timestamp");
        assert!(t >= last, "timestamp went back from {last} to {t}");
        last = t;
    }
    let first = n(&events[0].0, "timestamp");
    assert_eq!(first, 1_717_200_000);
    // 50,000 events at 250 per second span 200 simulated seconds.
    assert_eq!(last - first, 199);
}

#[test]
fn event_ids_are_unique_numeric_strings() {
    let events = parsed(compressed(8), EVENTS);
    let mut seen = HashSet::new();
    for (event, _) in &events {
        let id = s(event, "event_id");
        assert!(
            id.len() >= 17 && id.bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        assert!(seen.insert(id.to_owned()), "duplicate event_id {id}");
    }
}

#[test]
fn every_event_has_the_fields_its_type_requires() {
    let events = parsed(compressed(21), EVENTS);
    let mut seen_types = HashSet::new();
    for (event, _) in &events {
        let kind: EventType = s(event, "type").parse().expect("known type");
        seen_types.insert(kind);
        for key in [
            "event_id",
            "timestamp",
            "message_id",
            "transmission_id",
            "customer_id",
            "subaccount_id",
            "rcpt_to",
            "raw_rcpt_to",
            "recipient_domain",
            "mailbox_provider",
            "mailbox_provider_region",
            "msg_from",
            "friendly_from",
            "sending_domain",
            "campaign_id",
            "template_id",
            "template_version",
            "ip_pool",
            "sending_ip",
            "recv_method",
            "transactional",
        ] {
            s(event, key);
        }
        assert!(event["rcpt_tags"].is_array());
        assert!(event["rcpt_meta"].is_object());
        let message_id = s(event, "message_id");
        assert!(message_id.len() == 20 && message_id.bytes().all(|b| b.is_ascii_hexdigit()));
        let rcpt = s(event, "rcpt_to");
        assert_eq!(rcpt, rcpt.to_lowercase());
        assert_eq!(rcpt.split('@').nth(1), Some(s(event, "recipient_domain")));
        let required: &[&str] = match kind {
            EventType::Delivery => &[
                "ip_address",
                "queue_time",
                "num_retries",
                "outbound_tls",
                "delv_method",
                "injection_time",
                "msg_size",
            ],
            EventType::Delay => &[
                "ip_address",
                "queue_time",
                "num_retries",
                "bounce_class",
                "error_code",
                "reason",
                "raw_reason",
            ],
            EventType::Bounce | EventType::OutOfBand => &[
                "bounce_class",
                "error_code",
                "reason",
                "raw_reason",
                "num_retries",
                "ip_address",
            ],
            EventType::PolicyRejection => &[
                "bounce_class",
                "error_code",
                "reason",
                "raw_reason",
                "remote_addr",
            ],
            EventType::GenerationFailure => &["error_code", "reason", "raw_reason"],
            EventType::GenerationRejection => &[
                "bounce_class",
                "error_code",
                "reason",
                "raw_reason",
                "subject",
            ],
            EventType::SpamComplaint => &["fbtype", "report_by", "report_to"],
            EventType::Click | EventType::AmpClick => &[
                "ip_address",
                "user_agent",
                "target_link_name",
                "target_link_url",
            ],
            EventType::Open
            | EventType::InitialOpen
            | EventType::AmpOpen
            | EventType::AmpInitialOpen => &["ip_address", "user_agent"],
            EventType::LinkUnsubscribe => &["mailfrom", "target_link_url", "user_agent"],
            EventType::ListUnsubscribe => &["mailfrom"],
            EventType::Injection => &["subject", "msg_size", "injection_time"],
            other => panic!("the simulator does not produce {other} events"),
        };
        for key in required {
            s(event, key);
        }
        if kind.category() == Category::TrackEvent {
            let geo = &event["geo_ip"];
            assert!(
                geo["country"].is_string() && geo["latitude"].is_f64(),
                "{event}"
            );
        }
        if matches!(
            kind,
            EventType::Bounce | EventType::OutOfBand | EventType::Delay
        ) {
            let code = n(event, "error_code");
            let raw = s(event, "raw_reason");
            assert!(raw.starts_with(&code.to_string()), "{raw} vs {code}");
            let expected = if kind == EventType::Delay {
                400..500
            } else {
                500..600
            };
            assert!(expected.contains(&code), "{kind}: {code}");
            assert!(!s(event, "reason").contains(rcpt));
        }
    }
    for must in [
        EventType::Injection,
        EventType::Delivery,
        EventType::Delay,
        EventType::Bounce,
        EventType::PolicyRejection,
        EventType::InitialOpen,
        EventType::Open,
        EventType::Click,
    ] {
        assert!(seen_types.contains(&must), "no {must} in {EVENTS} events");
    }
}

#[test]
fn typical_event_is_between_600_and_1000_bytes() {
    let events = parsed(SimConfig::new(4, 1_717_200_000, 20.0), 60_000);
    let mut sizes: Vec<usize> = events.iter().map(|(_, len)| *len).collect();
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
    assert!((600..=1000).contains(&median), "median {median}");
    assert!((600.0..=1100.0).contains(&mean), "mean {mean}");
    assert!(
        sizes[0] >= 500 && sizes[sizes.len() - 1] <= 2_000,
        "{} .. {}",
        sizes[0],
        sizes[sizes.len() - 1]
    );
}

#[test]
fn domains_map_to_one_provider_and_region() {
    let events = parsed(compressed(6), 40_000);
    let mut seen: HashMap<String, (String, String)> = HashMap::new();
    for (event, _) in &events {
        let domain = s(event, "recipient_domain").to_owned();
        let pair = (
            s(event, "mailbox_provider").to_owned(),
            s(event, "mailbox_provider_region").to_owned(),
        );
        let known = seen.entry(domain.clone()).or_insert_with(|| pair.clone());
        assert_eq!(*known, pair, "{domain}");
    }
    assert_eq!(seen["gmail.com"].0, "Gmail");
    assert!(seen.len() > 200, "only {} domains", seen.len());
}

#[test]
fn every_message_starts_with_injection_and_shares_its_identity() {
    let events = parsed(compressed(12), EVENTS);
    for group in by_message(&events) {
        let first = &events[group[0]].0;
        let kind = s(first, "type");
        if kind.starts_with("generation_") {
            assert_eq!(group.len(), 1, "generation events stand alone");
            continue;
        }
        assert_eq!(kind, "injection", "message starts with {kind}");
        for &i in &group[1..] {
            let event = &events[i].0;
            assert_ne!(s(event, "type"), "injection");
            for key in [
                "rcpt_to",
                "transmission_id",
                "campaign_id",
                "subaccount_id",
                "sending_ip",
                "injection_time",
            ] {
                assert_eq!(event[key], first[key], "{key} changed within a message");
            }
        }
    }
}

#[test]
fn lifecycles_are_consistent() {
    let config = compressed(31);
    // Whole seconds of a compressed message life: far inside i64.
    #[allow(clippy::cast_possible_truncation)]
    let settle = config.max_settle_seconds().ceil() as i64 + 2;
    let events = parsed(config, EVENTS);
    let end = n(&events[events.len() - 1].0, "timestamp");
    let mut injected = 0;
    let mut settled = 0;
    for group in by_message(&events) {
        let first = &events[group[0]].0;
        if s(first, "type") != "injection" {
            continue;
        }
        let injected_at = n(first, "timestamp");
        let mut delays = 0;
        let mut disposition: Option<&str> = None;
        let mut out_of_band = false;
        for &i in &group[1..] {
            let event = &events[i].0;
            let kind = s(event, "type");
            match kind {
                "delay" => {
                    assert!(disposition.is_none(), "delay after disposition");
                    assert_eq!(n(event, "num_retries"), delays, "delay numbering");
                    delays += 1;
                }
                k if is_disposition(k) => {
                    assert!(disposition.is_none(), "second disposition {k}");
                    disposition = Some(k);
                    if k != "policy_rejection" {
                        assert_eq!(n(event, "num_retries"), delays);
                        let waited_ms = (n(event, "timestamp") - injected_at) * 1_000;
                        let queue_time = n(event, "queue_time");
                        assert!(
                            (queue_time - waited_ms).abs() <= 1_000,
                            "queue_time {queue_time} vs {waited_ms}"
                        );
                    } else {
                        assert_eq!(delays, 0, "policy rejections happen before any attempt");
                    }
                    if k == "bounce" && delays > 0 && s(event, "bounce_class") == "24" {
                        assert_eq!(delays, i64::from(eventhose_simulator::MAX_DELAYS));
                        assert!(s(event, "raw_reason").contains("last transfail: 4"));
                    }
                }
                _ => {
                    assert_eq!(
                        disposition,
                        Some("delivery"),
                        "{kind} for an undelivered message"
                    );
                    assert!(!out_of_band, "{kind} after an out-of-band bounce");
                    out_of_band |= kind == "out_of_band";
                    assert_eq!(n(event, "num_retries"), delays);
                }
            }
        }
        injected += 1;
        if end - injected_at > settle {
            settled += 1;
            assert!(
                disposition.is_some(),
                "message injected at {injected_at} never settled (end {end})"
            );
        }
    }
    assert!(
        settled > injected / 2,
        "{settled} of {injected} messages settled"
    );
}

#[test]
fn injections_balance_dispositions() {
    let config = compressed(77);
    // Whole seconds of a compressed message life: far inside i64.
    #[allow(clippy::cast_possible_truncation)]
    let settle = config.max_settle_seconds().ceil() as i64 + 2;
    let events = parsed(config, EVENTS);
    let end = n(&events[events.len() - 1].0, "timestamp");
    let cutoff = end - settle;
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for (event, _) in &events {
        let kind = s(event, "type");
        if kind == "injection" || is_disposition(kind) {
            // Count dispositions of messages injected before the cutoff only.
            let injected = s(event, "injection_time");
            let injected = chrono::DateTime::parse_from_rfc3339(injected)
                .unwrap()
                .timestamp();
            if injected < cutoff {
                *counts.entry(kind).or_default() += 1;
            }
        }
    }
    let settled = counts["delivery"] + counts["bounce"] + counts["policy_rejection"];
    assert_eq!(settled, counts["injection"]);
}

#[test]
fn simulator_reports_its_progress() {
    let mut sim = Simulator::new(compressed(2)).unwrap();
    let mut sink = Vec::new();
    let summary = sim.write_ndjson(&mut sink, 10_000);
    assert_eq!(summary.total(), 10_000);
    assert_eq!(summary.bytes(), sink.len() as u64);
    assert_eq!(sim.emitted(), 10_000);
    assert!(sim.messages_started() < 10_000 && sim.messages_started() > 2_000);
    assert!(sim.in_flight() > 0);
    assert_eq!(sim.now_micros(), 1_717_200_000_000_000 + 10_000 * 5_000);
    let (first, last) = summary.time_range().unwrap();
    assert_eq!((first, last), (1_717_200_000, 1_717_200_049));
}

#[test]
fn the_in_flight_cap_bounds_memory_and_keeps_lives_whole() {
    // Real-time lives at a high rate would keep thousands of messages pending.
    let mut config = SimConfig::new(13, 1_717_200_000, 5_000.0);
    config.max_in_flight = 300;
    let mut sim = Simulator::new(config.clone()).unwrap();
    let mut sink = Vec::new();
    for _ in 0..100 {
        sim.write_ndjson(&mut sink, 200);
        assert!(sim.in_flight() <= 300, "{} in flight", sim.in_flight());
    }
    let events = parsed(config, 20_000);
    let mut last = 0;
    for (event, _) in &events {
        let t = n(event, "timestamp");
        assert!(t >= last);
        last = t;
    }
    let mut engaged = 0;
    for group in by_message(&events) {
        let kinds: Vec<&str> = group.iter().map(|&i| s(&events[i].0, "type")).collect();
        assert!(
            kinds[0] == "injection" || kinds[0].starts_with("generation_"),
            "{kinds:?}"
        );
        assert!(kinds[1..].iter().all(|k| *k != "injection"));
        engaged += kinds
            .iter()
            .filter(|k| k.contains("open") || k.ends_with("click"))
            .count();
    }
    // Engagement, normally hours away, is brought forward instead of being lost.
    assert!(engaged > 1_000, "only {engaged} engagement events");
}
