//! Event types: the values of an event's `type` field.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::documented_fields;
use crate::Category;

/// The kind of happening an event records; serialised as its SparkPost `type` string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// `injection`: a message was received by or injected into the MTA.
    Injection,
    /// `delivery`: the remote MTA acknowledged receipt.
    Delivery,
    /// `bounce`: the remote MTA permanently rejected the message.
    Bounce,
    /// `delay`: the remote MTA temporarily rejected the message.
    Delay,
    /// `policy_rejection`: the message was rejected for a policy reason.
    PolicyRejection,
    /// `out_of_band`: a delivered message bounced asynchronously.
    OutOfBand,
    /// `spam_complaint`: the recipient reported the message as spam.
    SpamComplaint,
    /// `sms_status`: an SMS status report.
    SmsStatus,
    /// `open`: the bottom tracking pixel was rendered.
    Open,
    /// `initial_open`: the top tracking pixel was rendered.
    InitialOpen,
    /// `click`: a tracked link was followed.
    Click,
    /// `amp_open`: the bottom tracking pixel of an AMP message was rendered.
    AmpOpen,
    /// `amp_initial_open`: the top tracking pixel of an AMP message was rendered.
    AmpInitialOpen,
    /// `amp_click`: a tracked link in an AMP message was followed.
    AmpClick,
    /// `generation_failure`: generating the message failed for a technical reason.
    GenerationFailure,
    /// `generation_rejection`: generating the message was refused for a policy reason.
    GenerationRejection,
    /// `list_unsubscribe`: the recipient used the mailbox provider's unsubscribe feature.
    ListUnsubscribe,
    /// `link_unsubscribe`: the recipient followed a tagged unsubscribe link.
    LinkUnsubscribe,
    /// `relay_injection`: an inbound message was received.
    RelayInjection,
    /// `relay_rejection`: an inbound message was rejected.
    RelayRejection,
    /// `relay_delivery`: an inbound message was delivered to its endpoint.
    RelayDelivery,
    /// `relay_tempfail`: the endpoint temporarily failed to accept an inbound message.
    RelayTempfail,
    /// `relay_permfail`: an inbound message ran out of delivery attempts.
    RelayPermfail,
    /// `ab_test_completed`: an A/B test finished.
    AbTestCompleted,
    /// `ab_test_cancelled`: an A/B test was cancelled.
    AbTestCancelled,
    /// `success`: an Ingest API batch was processed.
    #[serde(rename = "success")]
    IngestSuccess,
    /// `error`: an Ingest API batch failed processing.
    #[serde(rename = "error")]
    IngestError,
}

/// The error returned when a string is not a known event type; it carries the offending string.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {name:?}")]
pub struct UnknownEventType {
    /// The string that was not recognised.
    pub name: String,
}

impl EventType {
    /// Number of event types (the length of [`EventType::ALL`]).
    pub const COUNT: usize = 27;

    /// Every event type, grouped by category in documentation order; this is also declaration
    /// order, so `ALL[t.index()] == t`.
    pub const ALL: [EventType; Self::COUNT] = [
        EventType::Injection,
        EventType::Delivery,
        EventType::Bounce,
        EventType::Delay,
        EventType::PolicyRejection,
        EventType::OutOfBand,
        EventType::SpamComplaint,
        EventType::SmsStatus,
        EventType::Open,
        EventType::InitialOpen,
        EventType::Click,
        EventType::AmpOpen,
        EventType::AmpInitialOpen,
        EventType::AmpClick,
        EventType::GenerationFailure,
        EventType::GenerationRejection,
        EventType::ListUnsubscribe,
        EventType::LinkUnsubscribe,
        EventType::RelayInjection,
        EventType::RelayRejection,
        EventType::RelayDelivery,
        EventType::RelayTempfail,
        EventType::RelayPermfail,
        EventType::AbTestCompleted,
        EventType::AbTestCancelled,
        EventType::IngestSuccess,
        EventType::IngestError,
    ];

    /// Position of this type in [`EventType::ALL`], a dense index for array-backed tables.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The SparkPost `type` string, e.g. `"policy_rejection"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Injection => "injection",
            EventType::Delivery => "delivery",
            EventType::Bounce => "bounce",
            EventType::Delay => "delay",
            EventType::PolicyRejection => "policy_rejection",
            EventType::OutOfBand => "out_of_band",
            EventType::SpamComplaint => "spam_complaint",
            EventType::SmsStatus => "sms_status",
            EventType::Open => "open",
            EventType::InitialOpen => "initial_open",
            EventType::Click => "click",
            EventType::AmpOpen => "amp_open",
            EventType::AmpInitialOpen => "amp_initial_open",
            EventType::AmpClick => "amp_click",
            EventType::GenerationFailure => "generation_failure",
            EventType::GenerationRejection => "generation_rejection",
            EventType::ListUnsubscribe => "list_unsubscribe",
            EventType::LinkUnsubscribe => "link_unsubscribe",
            EventType::RelayInjection => "relay_injection",
            EventType::RelayRejection => "relay_rejection",
            EventType::RelayDelivery => "relay_delivery",
            EventType::RelayTempfail => "relay_tempfail",
            EventType::RelayPermfail => "relay_permfail",
            EventType::AbTestCompleted => "ab_test_completed",
            EventType::AbTestCancelled => "ab_test_cancelled",
            EventType::IngestSuccess => "success",
            EventType::IngestError => "error",
        }
    }

    /// The category whose envelope key wraps this type.
    pub fn category(self) -> Category {
        match self {
            EventType::Injection
            | EventType::Delivery
            | EventType::Bounce
            | EventType::Delay
            | EventType::PolicyRejection
            | EventType::OutOfBand
            | EventType::SpamComplaint
            | EventType::SmsStatus => Category::MessageEvent,
            EventType::Open
            | EventType::InitialOpen
            | EventType::Click
            | EventType::AmpOpen
            | EventType::AmpInitialOpen
            | EventType::AmpClick => Category::TrackEvent,
            EventType::GenerationFailure | EventType::GenerationRejection => Category::GenEvent,
            EventType::ListUnsubscribe | EventType::LinkUnsubscribe => Category::UnsubscribeEvent,
            EventType::RelayInjection
            | EventType::RelayRejection
            | EventType::RelayDelivery
            | EventType::RelayTempfail
            | EventType::RelayPermfail => Category::RelayEvent,
            EventType::AbTestCompleted | EventType::AbTestCancelled => Category::AbTestEvent,
            EventType::IngestSuccess | EventType::IngestError => Category::IngestEvent,
        }
    }

    /// Human-readable name, e.g. `"Policy Rejection"`.
    pub fn display_name(self) -> &'static str {
        match self {
            EventType::Injection => "Injection",
            EventType::Delivery => "Delivery",
            EventType::Bounce => "Bounce",
            EventType::Delay => "Delay",
            EventType::PolicyRejection => "Policy Rejection",
            EventType::OutOfBand => "Out of Band",
            EventType::SpamComplaint => "Spam Complaint",
            EventType::SmsStatus => "SMS Status",
            EventType::Open => "Open",
            EventType::InitialOpen => "Initial Open",
            EventType::Click => "Click",
            EventType::AmpOpen => "AMP Open",
            EventType::AmpInitialOpen => "AMP Initial Open",
            EventType::AmpClick => "AMP Click",
            EventType::GenerationFailure => "Generation Failure",
            EventType::GenerationRejection => "Generation Rejection",
            EventType::ListUnsubscribe => "List Unsubscribe",
            EventType::LinkUnsubscribe => "Link Unsubscribe",
            EventType::RelayInjection => "Relay Injection",
            EventType::RelayRejection => "Relay Rejection",
            EventType::RelayDelivery => "Relay Delivery",
            EventType::RelayTempfail => "Relay Temporary Failure",
            EventType::RelayPermfail => "Relay Permanent Failure",
            EventType::AbTestCompleted => "A/B Test Completed",
            EventType::AbTestCancelled => "A/B Test Cancelled",
            EventType::IngestSuccess => "Ingest Success",
            EventType::IngestError => "Ingest Error",
        }
    }

    /// The one-line description published by the webhook documentation endpoint.
    pub fn description(self) -> &'static str {
        match self {
            EventType::Injection => "Message is received by or injected into SparkPost.",
            EventType::Delivery => "Remote MTA acknowledged receipt of a message.",
            EventType::Bounce => "Remote MTA has permanently rejected a message.",
            EventType::Delay => "Remote MTA has temporarily rejected a message.",
            EventType::PolicyRejection => "Due to policy, SparkPost rejected a message or failed to generate a message.",
            EventType::OutOfBand => "Remote MTA initially reported acceptance of a message, but it has since asynchronously reported that the message was not delivered.",
            EventType::SpamComplaint => "Message was classified as spam by the recipient.",
            EventType::SmsStatus => "SMPP/SMS message produced a status log output",
            EventType::Open => "Recipient opened a message in a mail client, thus rendering a tracking pixel at the bottom of the message.",
            EventType::InitialOpen => "Recipient opened a message in a mail client, thus rendering a tracking pixel at the top of the message.",
            EventType::Click => "Recipient clicked a tracked link in a message, thus prompting a redirect through the SparkPost click-tracking server to the link's destination.",
            EventType::AmpOpen => "Recipient opened an AMP message in a mail client, thus rendering a tracking pixel at the bottom of the message.",
            EventType::AmpInitialOpen => "Recipient opened an AMP message in a mail client, thus rendering a tracking pixel at the top of the message.",
            EventType::AmpClick => "Recipient clicked a tracked link in an AMP message, thus prompting a redirect through the SparkPost click-tracking server to the link's destination.",
            EventType::GenerationFailure => "Message generation failed for an intended recipient.",
            EventType::GenerationRejection => "SparkPost rejected message generation due to policy.",
            EventType::ListUnsubscribe => "User clicked the 'unsubscribe' button on an email client.",
            EventType::LinkUnsubscribe => "User clicked a hyperlink in a received email.",
            EventType::RelayInjection => "Relayed message is received by or injected into SparkPost.",
            EventType::RelayRejection => "SparkPost rejected a relayed message or failed to generate a relayed message.",
            EventType::RelayDelivery => "Remote HTTP Endpoint acknowledged receipt of a relayed message.",
            EventType::RelayTempfail => "Remote HTTP Endpoint has failed to accept a relayed message.",
            EventType::RelayPermfail => "Relayed message has reached the maximum retry threshold and will be removed from the system.",
            EventType::AbTestCompleted => "Results of an A/B test",
            EventType::AbTestCancelled => "Details of a canceled A/B test",
            EventType::IngestSuccess => "Details of an Ingest API processing success",
            EventType::IngestError => "Details of an Ingest API processing error",
        }
    }

    /// The fields documented for this type, sorted by name: the webhook field list, plus
    /// `sending_domain` (and `mailbox_provider*` for bounces) where the Events API adds them.
    pub fn documented_fields(self) -> &'static [&'static str] {
        documented_fields::for_type(self)
    }
}

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|event_type| event_type.as_str() == name)
            .ok_or_else(|| UnknownEventType {
                name: name.to_owned(),
            })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_display_and_serde() {
        for event_type in EventType::ALL {
            let name = event_type.as_str();
            assert_eq!(name.parse::<EventType>(), Ok(event_type));
            assert_eq!(event_type.to_string(), name);
            let json = serde_json::to_value(event_type).unwrap();
            assert_eq!(json, serde_json::Value::from(name));
            assert_eq!(
                serde_json::from_value::<EventType>(json).unwrap(),
                event_type
            );
        }
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventType::COUNT);
    }

    #[test]
    fn index_is_the_position_in_all() {
        for (position, event_type) in EventType::ALL.into_iter().enumerate() {
            assert_eq!(event_type.index(), position);
            assert_eq!(EventType::ALL[event_type.index()], event_type);
        }
        assert_eq!(EventType::IngestError.index(), EventType::COUNT - 1);
    }

    #[test]
    fn ingest_types_use_bare_names() {
        assert_eq!(EventType::IngestSuccess.as_str(), "success");
        assert_eq!(EventType::IngestError.as_str(), "error");
        assert_eq!("success".parse(), Ok(EventType::IngestSuccess));
        assert_eq!(EventType::IngestError.category(), Category::IngestEvent);
    }

    #[test]
    fn unknown_name_is_reported() {
        let error = "Delivery".parse::<EventType>().unwrap_err();
        assert_eq!(error.name, "Delivery");
        assert_eq!(error.to_string(), "unknown event type \"Delivery\"");
        assert!("".parse::<EventType>().is_err());
    }

    #[test]
    fn categories_follow_the_reference() {
        assert_eq!(EventType::SmsStatus.category(), Category::MessageEvent);
        assert_eq!(EventType::AmpInitialOpen.category(), Category::TrackEvent);
        assert_eq!(
            EventType::GenerationRejection.category(),
            Category::GenEvent
        );
        assert_eq!(
            EventType::LinkUnsubscribe.category(),
            Category::UnsubscribeEvent
        );
        assert_eq!(EventType::RelayPermfail.category(), Category::RelayEvent);
        assert_eq!(EventType::AbTestCancelled.category(), Category::AbTestEvent);
    }

    #[test]
    fn descriptions_and_display_names_are_present() {
        for event_type in EventType::ALL {
            assert!(!event_type.display_name().is_empty());
            assert!(event_type.description().len() > 10);
        }
        assert_eq!(
            EventType::Bounce.description(),
            "Remote MTA has permanently rejected a message."
        );
    }
}
