//! The deterministic event set: a seeded simulator run over a few hours (many domains,
//! campaigns, templates, pools, IPs, subaccounts and providers, every event type with a metric)
//! plus hand-written events for the edge cases the definitions call out.

use eventhose_simulator::{SimConfig, Simulator};
use serde_json::{json, Map, Value};

use super::clock::{HOUR, MINUTE};

/// Seconds after `base` of `HH:MM:SS`.
pub fn hms(base: i64, h: i64, m: i64, s: i64) -> i64 {
    base + h * HOUR + m * MINUTE + s
}

/// The simulated part: about 2¼ hours of traffic from `base` + 2 h, with compressed message
/// lives so that whole lifecycles (retries, opens, clicks, out-of-band bounces) fit.
pub fn simulated(base: i64, events: usize) -> Vec<Value> {
    let mut config = SimConfig::new(20_261_101, base + 2 * HOUR, 0.5);
    config.time_scale = 0.01;
    config.catalog.recipient_domains = 15;
    config.catalog.recipients = 400;
    config.catalog.sending_domains = 3;
    config.catalog.campaigns = 6;
    config.catalog.templates = 4;
    config.catalog.ip_pools = 3;
    config.catalog.sending_ips = 5;
    config.catalog.subaccounts = 3;
    let o = &mut config.outcomes;
    o.generation_failure = 0.02;
    o.generation_rejection = 0.02;
    o.policy_rejection = 0.04;
    o.bounce = 0.08;
    o.delay = 0.10;
    o.delay_then_bounce = 0.3;
    o.out_of_band = 0.04;
    let e = &mut config.engagement;
    e.open = 0.6;
    e.click = 0.25;
    e.spam_complaint = 0.02;
    e.list_unsubscribe = 0.03;
    e.link_unsubscribe = 0.02;
    e.amp = 0.3;
    let mut simulator = Simulator::new(config).expect("valid simulator config");
    (0..events).map(|_| simulator.next_event().value).collect()
}

/// One hand-written event: defaults for every dimension, overridden (or removed, with `null`)
/// by `fields`.
pub fn event(kind: &str, at: i64, fields: Value) -> Value {
    let mut e = Map::new();
    e.insert("type".into(), kind.into());
    e.insert("timestamp".into(), at.to_string().into());
    for (k, v) in [
        ("message_id", "edge-message"),
        ("rcpt_to", "someone@edge-mail.test"),
        ("recipient_domain", "edge-mail.test"),
        ("campaign_id", "edge-campaign"),
        ("template_id", "edge-template"),
        ("ip_pool", "edge-pool"),
        ("sending_ip", "192.0.2.10"),
        ("sending_domain", "edge.example"),
        ("subaccount_id", "0"),
        ("mailbox_provider", "Edge Mail"),
        ("mailbox_provider_region", "Atlantis"),
    ] {
        e.insert(k.into(), v.into());
    }
    if let Value::Object(overrides) = fields {
        for (k, v) in overrides {
            if v.is_null() {
                e.remove(&k);
            } else {
                e.insert(k, v);
            }
        }
    }
    Value::Object(e)
}

/// The hand-written edge cases, spread over `base` + 1 h … + 5 h.
pub fn edge_cases(base: i64) -> Vec<Value> {
    let t = |h, m, s| hms(base, h, m, s);
    let mut out = Vec::new();
    let mut push = |kind: &str, at: i64, fields: Value| out.push(event(kind, at, fields));

    // Engagement of one message: prefetched renders first, the non-prefetched ones later, so
    // the non-prefetched unique metrics land in later minutes than the plain ones.
    let m1 = json!({"message_id": "edge-m1", "campaign_id": "edge-engage"});
    let with = |base: &Value, extra: Value| {
        let mut v = base.clone();
        if let (Value::Object(a), Value::Object(b)) = (&mut v, extra) {
            a.extend(b);
        }
        v
    };
    push("injection", t(1, 4, 0), m1.clone());
    push(
        "delivery",
        t(1, 5, 10),
        with(
            &m1,
            json!({"num_retries": "0", "queue_time": "1200", "msg_size": "5000"}),
        ),
    );
    push(
        "initial_open",
        t(1, 10, 0),
        with(&m1, json!({"prefetched": true})),
    );
    push("open", t(1, 10, 30), with(&m1, json!({"prefetched": true})));
    push("open", t(1, 12, 0), m1.clone());
    push("initial_open", t(1, 13, 0), m1.clone());
    push(
        "click",
        t(1, 14, 0),
        with(
            &m1,
            json!({"target_link_name": "Buy now", "target_link_url": "https://edge.example/buy"}),
        ),
    );
    push(
        "click",
        t(1, 15, 0),
        with(
            &m1,
            json!({"target_link_name": "Buy now", "target_link_url": "https://edge.example/buy"}),
        ),
    );
    push(
        "amp_click",
        t(1, 16, 0),
        with(
            &m1,
            json!({"target_link_url": "https://edge.example/about"}),
        ),
    );
    push("amp_open", t(1, 17, 0), m1.clone());
    push("amp_initial_open", t(1, 18, 0), m1.clone());
    push("spam_complaint", t(1, 19, 0), m1.clone());
    push("list_unsubscribe", t(1, 19, 30), m1.clone());
    push(
        "link_unsubscribe",
        t(1, 19, 40),
        with(&m1, json!({"target_link_name": "Unsubscribe"})),
    );
    // A message confirmed opened by a click alone; another clicked on the same link as m1.
    let m2 = json!({"message_id": "edge-m2", "campaign_id": "edge-engage"});
    push(
        "click",
        t(1, 20, 0),
        with(&m2, json!({"target_link_name": "Buy now"})),
    );
    push(
        "click",
        t(1, 21, 0),
        with(&m2, json!({"target_link_name": "Buy now"})),
    );

    // Retries: delays on the first and a later attempt, deliveries on attempts 2, 3 and 6.
    let retry = |m: &str| json!({"message_id": m, "campaign_id": "edge-retry"});
    push(
        "delay",
        t(1, 30, 0),
        with(
            &retry("edge-r1"),
            json!({"num_retries": "0", "reason": "421 4.7.0 try again later"}),
        ),
    );
    push(
        "delay",
        t(1, 35, 0),
        with(
            &retry("edge-r1"),
            json!({"num_retries": "1", "reason": "421 4.7.0 try again later"}),
        ),
    );
    push(
        "delivery",
        t(1, 40, 0),
        with(
            &retry("edge-r1"),
            json!({"num_retries": "2", "queue_time": "600000", "msg_size": "7000"}),
        ),
    );
    push(
        "delivery",
        t(1, 41, 0),
        with(
            &retry("edge-r2"),
            json!({"num_retries": "1", "queue_time": "300000", "msg_size": "100"}),
        ),
    );
    push(
        "delivery",
        t(1, 42, 0),
        with(
            &retry("edge-r3"),
            json!({"num_retries": "5", "queue_time": "900000", "msg_size": "250"}),
        ),
    );
    push(
        "delay",
        t(1, 43, 0),
        with(
            &retry("edge-r4"),
            json!({"raw_reason": "452 4.2.2 mailbox full (raw only)"}),
        ),
    );

    // Bounces of every category, admin ones in and out of band, a long and a raw-only reason.
    let long_reason = format!("550 5.7.1 {}", "very long reason ".repeat(20));
    for (i, (kind, class, reason)) in [
        ("bounce", "10", "550 5.1.1 unknown user"),
        ("bounce", "10", "550 5.1.1 unknown user"),
        ("bounce", "25", "554 5.7.1 admin policy"),
        ("out_of_band", "80", "subscribe request"),
        ("out_of_band", "22", "552 mailbox over quota"),
        ("bounce", "51", "554 5.7.1 listed at a spam source list"),
        ("bounce", "1", "something unrecognisable"),
        ("bounce", "10", long_reason.as_str()),
    ]
    .into_iter()
    .enumerate()
    {
        push(
            kind,
            t(1, 50, i as i64 * 5),
            json!({"message_id": format!("edge-b{i}"), "campaign_id": "edge-bounce", "bounce_class": class, "reason": reason}),
        );
    }
    push(
        "bounce",
        t(1, 51, 0),
        json!({"message_id": "edge-b9", "campaign_id": "edge-bounce", "bounce_class": "21", "reason": null, "raw_reason": "DNS lookup failed (raw only)"}),
    );

    // A campaign with out-of-band bounces and no delivery: count_accepted stays at zero.
    for i in 0..2 {
        push(
            "out_of_band",
            t(1, 55, i * 10),
            json!({"message_id": format!("edge-oob{i}"), "campaign_id": "edge-oob-only", "bounce_class": "10", "reason": "550 gone"}),
        );
    }

    // Rejections of each kind.
    let reject = json!({"campaign_id": "edge-reject"});
    push(
        "policy_rejection",
        t(2, 1, 0),
        with(
            &reject,
            json!({"message_id": "edge-p1", "reason": "550 5.7.1 policy: too many recipients", "bounce_class": "25"}),
        ),
    );
    push(
        "policy_rejection",
        t(2, 1, 30),
        with(
            &reject,
            json!({"message_id": "edge-p2", "reason": "550 5.7.1 policy: too many recipients", "bounce_class": "25"}),
        ),
    );
    push(
        "generation_rejection",
        t(2, 2, 0),
        with(
            &reject,
            json!({"message_id": null, "reason": "554 5.7.1 recipient suppressed", "bounce_class": "25"}),
        ),
    );
    push(
        "generation_failure",
        t(2, 3, 0),
        with(
            &reject,
            json!({"message_id": null, "reason": "554 5.3.0 template render failed"}),
        ),
    );

    // The recipient domain derived from an upper-case rcpt_to; an event without campaign.
    push(
        "injection",
        t(2, 4, 0),
        json!({"message_id": "edge-d1", "rcpt_to": "Big.Boss@Example-Upper.TEST", "recipient_domain": null}),
    );
    push(
        "injection",
        t(2, 4, 30),
        json!({"message_id": "edge-d2", "campaign_id": null}),
    );

    // Timestamps as a JSON number and as RFC 3339 with an offset (= 02:05:06Z).
    push(
        "injection",
        t(2, 5, 0),
        json!({"message_id": "edge-t1", "timestamp": t(2, 5, 0)}),
    );
    let (y, mo, d) = super::clock::civil_from_days(base.div_euclid(super::clock::DAY));
    push(
        "injection",
        t(2, 5, 6),
        json!({"message_id": "edge-t2", "timestamp": format!("{y:04}-{mo:02}-{d:02}T04:05:06+02:00")}),
    );

    // Subaccount 7: its own campaign, a delivery and a bounce.
    let sub7 = |m: &str| json!({"message_id": m, "subaccount_id": "7", "campaign_id": "sub7-campaign", "ip_pool": "sub7-pool"});
    for i in 0..3 {
        push("injection", t(3, 10, i * 7), sub7(&format!("edge-s{i}")));
    }
    push(
        "delivery",
        t(3, 11, 0),
        with(
            &sub7("edge-s0"),
            json!({"num_retries": "0", "queue_time": "900", "msg_size": "1234"}),
        ),
    );
    push(
        "bounce",
        t(3, 12, 0),
        with(
            &sub7("edge-s1"),
            json!({"bounce_class": "10", "reason": "550 5.1.1 sub7 unknown"}),
        ),
    );

    // The edges of the rounding windows (5min around 02:22–03:37, hour in Asia/Kolkata).
    for (i, at) in [
        t(2, 19, 50),
        t(2, 20, 10),
        t(3, 39, 59),
        t(3, 40, 0),
        t(3, 29, 59),
        t(3, 30, 0),
        t(2, 22, 0),
        t(3, 36, 59),
        t(3, 37, 0),
    ]
    .into_iter()
    .enumerate()
    {
        push(
            "injection",
            at,
            json!({"message_id": format!("edge-w{i}"), "campaign_id": "edge-window"}),
        );
    }
    out
}

/// NDJSON of events, one line each.
pub fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}
