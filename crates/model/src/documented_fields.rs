//! The per-type field lists of the webhook documentation (see [`crate::EventType::documented_fields`]).
//! Each list is composed of the groups of fields several types share and the fields of its
//! type alone, then sorted by name.

use std::sync::LazyLock;

use crate::EventType;

/// Returns the documented field list of `event_type`: sorted by name, each field once.
pub(crate) fn for_type(event_type: EventType) -> &'static [&'static str] {
    &LISTS[event_type.index()]
}

/// Every type's list, composed once, in [`EventType::ALL`] order.
static LISTS: LazyLock<Vec<Vec<&'static str>>> = LazyLock::new(|| {
    EventType::ALL
        .iter()
        .map(|&event_type| compose(groups(event_type)))
        .collect()
});

/// The fields of `groups`, sorted by name (the groups of one type share no field).
fn compose(groups: &[&[&'static str]]) -> Vec<&'static str> {
    let mut fields = groups.concat();
    fields.sort_unstable();
    fields
}

/// Fields of every event type but `sms_status`.
const COMMON: &[&str] = &[
    "customer_id",
    "event_id",
    "subaccount_id",
    "timestamp",
    "type",
];
/// The recipient of a message or relayed message.
const RECIPIENT: &[&str] = &["raw_rcpt_to", "rcpt_hash", "rcpt_to"];
/// A message that was injected (not of the generation events, whose message never was).
const MESSAGE: &[&str] = &["injection_time", "message_id", "msg_from"];
/// Where a message is sent from.
const SENDING: &[&str] = &["ip_pool", "sending_ip"];
/// The transmission and template a message came from.
const TRANSMISSION: &[&str] = &[
    "campaign_id",
    "friendly_from",
    "rcpt_meta",
    "rcpt_tags",
    "recipient_domain",
    "sending_domain",
    "template_id",
    "template_version",
    "transactional",
    "transmission_id",
];
/// The A/B test a message belongs to.
const AB_TEST: &[&str] = &["ab_test_id", "ab_test_version"];
/// A message as submitted: its size, recipient type, routing, schedule and subject.
const SUBMISSION: &[&str] = &[
    "msg_size",
    "rcpt_type",
    "routing_domain",
    "scheduled_time",
    "subject",
];
/// The engagement tracking a message was sent with.
const TRACKING: &[&str] = &[
    "amp_enabled",
    "click_tracking",
    "initial_pixel",
    "open_tracking",
];
/// An SMS message's source and destination addresses.
const SMS: &[&str] = &[
    "sms_dst",
    "sms_dst_npi",
    "sms_dst_ton",
    "sms_src",
    "sms_src_npi",
    "sms_src_ton",
];
/// Why a message failed or was refused.
const FAILURE: &[&str] = &["error_code", "raw_reason", "reason"];
/// A delivery attempt.
const ATTEMPT: &[&str] = &["delv_method", "num_retries", "queue_time"];
/// Where an open or click came from.
const ENGAGEMENT: &[&str] = &["geo_ip", "user_agent"];
/// The link that was clicked.
const LINK: &[&str] = &["target_link_name", "target_link_url"];
/// A relayed message.
const RELAY: &[&str] = &["origination", "relay_id"];
/// An Ingest API batch.
const INGEST_BATCH: &[&str] = &[
    "batch_id",
    "expiration_timestamp",
    "number_duplicates",
    "number_succeeded",
];

/// The groups and the fields of its own that make up the list of `event_type`.
#[rustfmt::skip] // a table: one line per group list, one per list of the type's own fields
fn groups(event_type: EventType) -> &'static [&'static [&'static str]] {
    match event_type {
        EventType::Injection => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, SUBMISSION, TRACKING, SMS,
            &["recv_method", "sms_coding", "sms_segments", "sms_text"],
        ],
        EventType::Delivery => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, SUBMISSION, TRACKING, SMS,
            ATTEMPT,
            &["device_token", "ip_address", "outbound_tls", "recv_method", "sms_coding",
              "sms_remoteids", "sms_segments"],
        ],
        EventType::Bounce => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, SUBMISSION, TRACKING, SMS, FAILURE,
            &["bounce_class", "delv_method", "device_token", "ip_address", "mailbox_provider",
              "mailbox_provider_region", "num_retries", "recv_method", "sms_coding"],
        ],
        EventType::Delay => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, SUBMISSION, TRACKING, SMS, FAILURE,
            ATTEMPT,
            &["bounce_class", "device_token", "ip_address", "outbound_tls", "recv_method",
              "sms_coding"],
        ],
        EventType::PolicyRejection => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, FAILURE,
            &["bounce_class", "rcpt_type", "recv_method", "remote_addr"],
        ],
        EventType::OutOfBand => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, FAILURE, ATTEMPT,
            &["bounce_class", "device_token", "ip_address", "msg_size", "recv_method",
              "routing_domain", "scheduled_time", "subject"],
        ],
        EventType::SpamComplaint => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, SUBMISSION, ATTEMPT,
            &["fbtype", "ip_address", "report_by", "report_to"],
        ],
        // Documented without `event_id`, so without `COMMON`.
        EventType::SmsStatus => &[
            SENDING, SMS,
            &["customer_id", "subaccount_id", "timestamp", "type"],
            &["delv_method", "dr_latency", "ip_address", "raw_reason", "reason", "recv_method",
              "routing_domain", "sms_remoteids", "sms_text", "stat_state", "stat_type"],
        ],
        EventType::Open
        | EventType::InitialOpen
        | EventType::AmpOpen
        | EventType::AmpInitialOpen => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, SUBMISSION, TRACKING,
            ATTEMPT, ENGAGEMENT,
            &["ip_address"],
        ],
        EventType::Click | EventType::AmpClick => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, SUBMISSION, TRACKING,
            ATTEMPT, ENGAGEMENT, LINK,
            &["ip_address"],
        ],
        EventType::GenerationFailure => &[
            COMMON, RECIPIENT, SENDING, TRANSMISSION, AB_TEST, FAILURE,
            &["rcpt_subs", "recv_method", "routing_domain", "scheduled_time"],
        ],
        EventType::GenerationRejection => &[
            COMMON, RECIPIENT, SENDING, TRANSMISSION, AB_TEST, FAILURE,
            &["bounce_class", "rcpt_subs", "recv_method", "routing_domain", "scheduled_time",
              "subject"],
        ],
        EventType::ListUnsubscribe => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, SUBMISSION, TRACKING,
            &["ip_address", "mailfrom", "num_retries", "queue_time", "recv_method"],
        ],
        EventType::LinkUnsubscribe => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, TRANSMISSION, AB_TEST, SUBMISSION, TRACKING,
            ATTEMPT, LINK,
            &["ip_address", "mailfrom", "recv_method", "user_agent"],
        ],
        EventType::RelayInjection => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, RELAY,
            &["msg_size", "recv_method", "routing_domain"],
        ],
        EventType::RelayRejection => &[
            COMMON, RECIPIENT, MESSAGE, FAILURE, RELAY,
            &["bounce_class", "recv_method", "remote_addr"],
        ],
        EventType::RelayDelivery => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, ATTEMPT, RELAY,
            &["recv_method", "routing_domain"],
        ],
        EventType::RelayTempfail => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, FAILURE, ATTEMPT, RELAY,
            &["recv_method", "routing_domain"],
        ],
        EventType::RelayPermfail => &[
            COMMON, RECIPIENT, MESSAGE, SENDING, FAILURE, ATTEMPT, RELAY,
            &["outbound_tls", "recv_method", "routing_domain"],
        ],
        EventType::AbTestCompleted | EventType::AbTestCancelled => &[COMMON, &["ab_test"]],
        EventType::IngestSuccess => &[COMMON, INGEST_BATCH],
        EventType::IngestError => &[
            COMMON, INGEST_BATCH,
            &["error_type", "href", "number_failed", "retryable"],
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_kind;

    #[test]
    fn lists_are_sorted_unique_and_known_to_the_dictionary() {
        for event_type in EventType::ALL {
            let fields = for_type(event_type);
            assert!(
                fields.windows(2).all(|pair| pair[0] < pair[1]),
                "{event_type}: list not sorted or has duplicates"
            );
            for field in fields {
                assert!(
                    field_kind(field).is_some(),
                    "{event_type}: `{field}` missing from the field dictionary"
                );
            }
            assert!(fields.contains(&"type") && fields.contains(&"timestamp"));
        }
    }

    #[test]
    fn lists_carry_type_specific_fields() {
        assert!(for_type(EventType::Click).contains(&"target_link_url"));
        assert!(!for_type(EventType::Open).contains(&"target_link_url"));
        assert!(for_type(EventType::Bounce).contains(&"bounce_class"));
        assert!(for_type(EventType::Bounce).contains(&"mailbox_provider"));
        assert!(for_type(EventType::Delivery).contains(&"sending_domain"));
        assert!(!for_type(EventType::RelayDelivery).contains(&"sending_domain"));
        assert!(for_type(EventType::AbTestCompleted).contains(&"ab_test"));
        assert!(for_type(EventType::IngestError).contains(&"retryable"));
        assert_eq!(for_type(EventType::AbTestCancelled).len(), 6);
    }
}
