//! The official sample payloads of the reference parse with their category.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use eventhose_model::{BounceCategory, Category, Event, EventType};

const BOUNCE: &str = r#"{ "msys": { "message_event": {
  "routing_domain": "example.com", "type": "bounce", "bounce_class": "10",
  "friendly_from": "test@test.example.com", "error_code": "550", "timestamp": "1496154451",
  "rcpt_to": "as78df9as9d0f8as90df8a9s0df890asdf890asdf@example.com", "template_version": "0",
  "transmission_id": "48575267445821468", "rcpt_meta": { "myKey": "myVal" }, "num_retries": "0",
  "msg_from": "msprvs1=17323JExI9Mwb=bounces-1521@spmailt.com", "message_id": "000253812d59ed483127",
  "ip_address": "74.125.28.26", "msg_size": "3328", "rcpt_tags": [], "queue_time": "379",
  "event_id": "48575267555968293", "subject": "My Sample Subject", "sending_ip": "35.160.182.156",
  "ip_pool": "shared", "template_id": "template_48575267445821468",
  "raw_reason": "550-5.1.1 The email account that you tried to reach does not exist. ...",
  "reason": "550-5.1.1 The email account that you tried to reach does not exist. ...",
  "campaign_id": "test", "customer_id": "1521",
  "raw_rcpt_to": "as78df9as9d0f8as90df8a9s0df890asdf890asdf@example.com" } } }"#;

const CLICK: &str = r#"{ "msys": { "track_event": {
  "delv_method": "esmtp", "transmission_id": "102618457580291306", "rcpt_to": "test@example.com",
  "ip_address": "73.208.71.254", "accept_language": "en-US,en;q=0.8",
  "template_id": "template_102618457580291306", "template_version": "0", "event_id": "120632847947644777",
  "sending_ip": "52.39.182.248", "target_link_url": "http://example.com/yourUri", "customer_id": "1521",
  "ip_pool": "shared", "user_agent": "Mozilla/5.0 (...) Chrome/58.0.3029.110 Safari/537.36",
  "rcpt_tags": [], "message_id": "000541812d59f83f9db8", "rcpt_meta": { "myKey": "myVal" },
  "campaign_id": "test", "type": "click", "timestamp": "1496154493", "msg_size": "3100",
  "subject": "My Sample Subject", "msg_from": "msprvs1=17323JExI9Mwb=bounces-1521@spmailt.com",
  "friendly_from": "test@test.example.com", "routing_domain": "google.com",
  "geo_ip": { "country": "US", "region": "IL", "city": "Lake In The Hills", "latitude": 42.187, "longitude": -88.3465 },
  "raw_rcpt_to": "test@example.com" } } }"#;

#[test]
fn official_bounce_sample_parses() {
    let event = Event::parse_ingest(BOUNCE.as_bytes()).unwrap();
    assert_eq!(event.event_type(), EventType::Bounce);
    assert_eq!(event.category(), Category::MessageEvent);
    assert_eq!(event.event_id(), "48575267555968293");
    assert_eq!(event.timestamp(), 1_496_154_451);
    assert_eq!(event.message_id(), Some("000253812d59ed483127"));
    assert_eq!(event.recipient_domain(), Some("example.com"));
    let class = event.bounce_class().unwrap();
    assert_eq!((class.code, class.category), (10, BounceCategory::Hard));
    assert_eq!(event.get_u64("customer_id"), Some(1521));
    // The 27 given fields plus the derived recipient_domain; nothing else added.
    assert_eq!(event.fields().len(), 28);
    assert_eq!(
        event.fields().keys().next_back().map(String::as_str),
        Some("recipient_domain")
    );
    assert_eq!(Event::from_stored(&event.to_json_bytes()).unwrap(), event);
}

#[test]
fn official_click_sample_parses() {
    let event = Event::parse_ingest(CLICK.as_bytes()).unwrap();
    assert_eq!(event.event_type(), EventType::Click);
    assert_eq!(event.category(), Category::TrackEvent);
    assert_eq!(event.event_id(), "120632847947644777");
    assert_eq!(event.timestamp(), 1_496_154_493);
    assert_eq!(event.rcpt_to(), Some("test@example.com"));
    assert_eq!(
        event.get_str("target_link_url"),
        Some("http://example.com/yourUri")
    );
    assert_eq!(event.get("geo_ip").unwrap()["latitude"], 42.187);
    assert_eq!(event.to_envelope()["msys"]["track_event"]["type"], "click");
}
