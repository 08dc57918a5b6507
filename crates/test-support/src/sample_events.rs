//! Hand-written stored events for the event-search tests of the stores and of the Events API,
//! so that both search the same sample.

use serde_json::{json, Value};

/// A stored event: `fields` plus its type, timestamp (unix seconds as text) and event id.
pub fn event(kind: &str, at: i64, id: &str, fields: Value) -> Vec<u8> {
    let mut event = json!({ "type": kind, "timestamp": at.to_string(), "event_id": id });
    if let (Some(target), Value::Object(extra)) = (event.as_object_mut(), fields) {
        target.extend(extra);
    }
    event.to_string().into_bytes()
}

/// Six events in time order, `step` seconds apart from `t0`, with ids `id(1)`…`id(6)`: an
/// injection and a delivery to ann@gmail.com (campaign `blackfriday-specials`, message `m1`), a
/// bounce and a delay to bob@yahoo.co.uk (subaccount 7, message `m3`), a click and an open by
/// cy@hotmail.com.
pub fn six_events(t0: i64, step: i64, id: impl Fn(usize) -> String) -> Vec<Vec<u8>> {
    (0_i64..)
        .zip(six_event_fields().into_iter().enumerate())
        .map(|(nth, (index, (kind, fields)))| event(kind, t0 + nth * step, &id(index + 1), fields))
        .collect()
}

/// The types and fields of [`six_events`].
fn six_event_fields() -> [(&'static str, Value); 6] {
    [
        (
            "injection",
            json!({"rcpt_to": "ann@gmail.com", "raw_rcpt_to": "Ann@Gmail.com",
                   "recipient_domain": "gmail.com", "friendly_from": "News@Acme.com",
                   "sending_domain": "mail.acme.com", "subject": "Black Friday deals",
                   "campaign_id": "blackfriday-specials", "template_id": "tpl_main",
                   "sending_ip": "10.0.0.1", "ip_pool": "shared-pool", "message_id": "m1",
                   "transmission_id": "100", "ab_test_id": "subject-test",
                   "ab_test_version": "2"}),
        ),
        (
            "delivery",
            json!({"rcpt_to": "ann@gmail.com", "recipient_domain": "gmail.com",
                   "campaign_id": "blackfriday-specials", "message_id": "m1",
                   "mailbox_provider": "Gmail", "mailbox_provider_region": "Global",
                   "sending_ip": "10.0.0.1", "transmission_id": "100"}),
        ),
        (
            "bounce",
            json!({"rcpt_to": "bob@yahoo.co.uk", "recipient_domain": "yahoo.co.uk",
                   "bounce_class": "10", "reason": "550 5.1.1 User-Unknown",
                   "subaccount_id": "7", "campaign_id": "friday", "message_id": "m3",
                   "mailbox_provider": "Yahoo", "mailbox_provider_region": "Europe - UK"}),
        ),
        (
            "delay",
            json!({"rcpt_to": "bob@yahoo.co.uk", "bounce_class": "21",
                   "reason": "421 try again later", "subaccount_id": "7", "message_id": "m3"}),
        ),
        (
            "click",
            json!({"rcpt_to": "cy@hotmail.com", "subaccount_id": "0",
                   "ab_test_id": "subject-test", "ab_test_version": "1",
                   "template_id": "tpl-promo"}),
        ),
        ("open", json!({"rcpt_to": "cy@hotmail.com"})),
    ]
}
