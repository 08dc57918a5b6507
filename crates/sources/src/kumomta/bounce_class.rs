//! `bounce_class` of a KumoMTA failure: KumoMTA's own classification when it names one of
//! its predefined classes, else eventhose's classifier on the reply.
//!
//! KumoMTA's bounce classifier (`kumo.configure_bounce_classifier`) labels a failure with a
//! class name. Eleven of its predefined classes carry the names of SparkPost's classes; the
//! others are PowerMTA's categories, mapped to the nearest SparkPost class:
//!
//! | KumoMTA | SparkPost |
//! |---|---|
//! | InvalidRecipient, InactiveMailbox | 10 Invalid Recipient |
//! | BadConnection, TooManyRecipients | 20 Soft Bounce |
//! | DNSFailure, BadDomain | 21 DNS Failure |
//! | QuotaIssues | 22 Mailbox Full (23 Too Large with the enhanced code x.3.4) |
//! | MessageExpired, NoAnswerFromHost | 24 Timeout |
//! | RoutingErrors, BadConfiguration, ProtocolErrors | 40 Generic Bounce |
//! | PolicyRelated, AuthenticationFailed, InvalidSender | 50 Mail Block |
//! | SpamBlock, SpamRelated | 51 Spam Block |
//! | SpamContent, ContentRelated | 52 Spam Content |
//! | ProhibitedAttachment, VirusRelated | 53 Prohibited Attachment |
//! | RelayDenied, RelayingIssues | 54 Relaying Denied |
//! | AutoReply | 60 Auto-Reply |
//! | TransientFailure | 70 Transient Failure |
//! | Subscribe | 80 Subscribe |
//! | Unsubscribe | 90 Unsubscribe |
//! | ChallengeResponse | 100 Challenge-Response |
//!
//! `Uncategorized` (KumoMTA's answer when no rule matched), a user-defined label, or no
//! classification at all: [`eventhose_model::classify_bounce`] reads the reply instead.
//! BadDomain is taken as soft (21) rather than hard: a domain that does not resolve is often
//! a DNS outage, and a wrong hard class suppresses a good address.
//!
//! As the model's classifier does, a transient failure (a `delay`) never gets a hard class:
//! KumoMTA may label a 4xx, or a 552 at `RCPT` that RFC 5321 makes transient, as
//! `InvalidRecipient`; such a delay is reported as 20, Soft Bounce.

use eventhose_model::{classify_bounce, SmtpReply};

use super::record::Response;

/// The SparkPost class of one of KumoMTA's predefined class names, `None` for
/// `Uncategorized` and any other label.
pub fn sparkpost_class(kumomta_class: &str, response: &Response<'_>) -> Option<u16> {
    let too_large = response
        .enhanced
        .is_some_and(|code| code.subject == 3 && code.detail == 4);
    Some(match kumomta_class {
        "InvalidRecipient" | "InactiveMailbox" => 10,
        "BadConnection" | "TooManyRecipients" => 20,
        "DNSFailure" | "BadDomain" => 21,
        "QuotaIssues" if too_large => 23,
        "QuotaIssues" => 22,
        "MessageExpired" | "NoAnswerFromHost" => 24,
        "RoutingErrors" | "BadConfiguration" | "ProtocolErrors" => 40,
        "PolicyRelated" | "AuthenticationFailed" | "InvalidSender" => 50,
        "SpamBlock" | "SpamRelated" => 51,
        "SpamContent" | "ContentRelated" => 52,
        "ProhibitedAttachment" | "VirusRelated" => 53,
        "RelayDenied" | "RelayingIssues" => 54,
        "AutoReply" => 60,
        "TransientFailure" => 70,
        "Subscribe" => 80,
        "Unsubscribe" => 90,
        "ChallengeResponse" => 100,
        _ => return None,
    })
}

/// The class of a failure: KumoMTA's when it maps, else `fallback` when given, else the
/// model's classifier on the reply; never hard when `transient`.
pub fn classify(
    kumomta_class: Option<&str>,
    response: &Response<'_>,
    fallback: Option<u16>,
    transient: bool,
) -> u16 {
    let class = kumomta_class
        .and_then(|name| sparkpost_class(name, response))
        .or(fallback)
        .unwrap_or_else(|| {
            classify_bounce(&SmtpReply::new(
                response.code,
                response.enhanced,
                response.content,
            ))
        });
    crate::fields::soft_when_transient(class, transient)
}

#[cfg(test)]
mod tests {
    use eventhose_model::EnhancedStatus;

    use super::*;

    const CLASSES: &[&str] = &[
        "InvalidRecipient",
        "DNSFailure",
        "SpamBlock",
        "SpamContent",
        "ProhibitedAttachment",
        "RelayDenied",
        "AutoReply",
        "TransientFailure",
        "Subscribe",
        "Unsubscribe",
        "ChallengeResponse",
        "BadConfiguration",
        "BadConnection",
        "BadDomain",
        "ContentRelated",
        "InactiveMailbox",
        "InvalidSender",
        "MessageExpired",
        "NoAnswerFromHost",
        "PolicyRelated",
        "ProtocolErrors",
        "QuotaIssues",
        "RelayingIssues",
        "RoutingErrors",
        "SpamRelated",
        "VirusRelated",
        "AuthenticationFailed",
        "TooManyRecipients",
    ];

    #[test]
    fn every_predefined_class_maps_to_a_sparkpost_class() {
        let response = Response::default();
        for name in CLASSES {
            let class = sparkpost_class(name, &response).unwrap_or_else(|| panic!("{name}"));
            assert!(
                eventhose_model::bounce_class(class).is_some(),
                "{name} → {class}"
            );
        }
        assert_eq!(sparkpost_class("Uncategorized", &response), None);
        assert_eq!(sparkpost_class("MyOwnLabel", &response), None);
    }

    #[test]
    fn names_shared_with_sparkpost_keep_their_class() {
        let response = Response::default();
        for (name, class) in [
            ("InvalidRecipient", 10),
            ("DNSFailure", 21),
            ("SpamBlock", 51),
            ("SpamContent", 52),
            ("ProhibitedAttachment", 53),
            ("RelayDenied", 54),
            ("AutoReply", 60),
            ("TransientFailure", 70),
            ("Subscribe", 80),
            ("Unsubscribe", 90),
            ("ChallengeResponse", 100),
        ] {
            assert_eq!(sparkpost_class(name, &response), Some(class), "{name}");
        }
    }

    #[test]
    fn too_large_is_told_from_mailbox_full() {
        let mut response = Response {
            code: Some(552),
            enhanced: EnhancedStatus::parse("5.3.4"),
            content: "message too big",
        };
        assert_eq!(sparkpost_class("QuotaIssues", &response), Some(23));
        response.enhanced = EnhancedStatus::parse("5.2.2");
        assert_eq!(sparkpost_class("QuotaIssues", &response), Some(22));
    }

    #[test]
    fn unknown_labels_fall_back_to_the_reply() {
        let response = Response {
            code: Some(550),
            enhanced: EnhancedStatus::parse("5.1.1"),
            content: "5.1.1 The email account that you tried to reach does not exist",
        };
        assert_eq!(classify(Some("Uncategorized"), &response, None, false), 10);
        assert_eq!(classify(None, &response, None, false), 10);
        assert_eq!(classify(Some("Custom"), &response, Some(24), false), 24);
        assert_eq!(classify(Some("SpamBlock"), &response, Some(24), false), 51);
    }

    #[test]
    fn a_transient_failure_is_never_hard() {
        let response = Response {
            code: Some(552),
            enhanced: None,
            content: "1 Requested mail action aborted, mailbox not found",
        };
        assert_eq!(
            classify(Some("InvalidRecipient"), &response, None, true),
            20
        );
        assert_eq!(
            classify(Some("InvalidRecipient"), &response, None, false),
            10
        );
    }
}
