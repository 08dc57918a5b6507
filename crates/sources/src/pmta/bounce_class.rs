//! `bounce_class` of a PowerMTA failure: PowerMTA's own category (`bounceCat`) when it is
//! one of its documented categories, else eventhose's classifier on the reply.
//!
//! PowerMTA files each failure under one of its bounce categories. Each becomes the nearest
//! SparkPost class (the same choices as for KumoMTA's classes of the same meaning,
//! [`crate::kumomta::bounce_class`]):
//!
//! | PowerMTA `bounceCat` | SparkPost |
//! |---|---|
//! | bad-mailbox, inactive-mailbox | 10 Invalid Recipient |
//! | bad-connection | 20 Soft Bounce |
//! | bad-domain | 21 DNS Failure |
//! | quota-issues | 22 Mailbox Full (23 Too Large with the enhanced code x.3.4) |
//! | message-expired, no-answer-from-host | 24 Timeout |
//! | routing-errors, bad-configuration, protocol-errors | 40 Generic Bounce |
//! | policy-related, invalid-sender | 50 Mail Block |
//! | spam-related | 51 Spam Block |
//! | content-related | 52 Spam Content |
//! | virus-related | 53 Prohibited Attachment |
//! | relaying-issues | 54 Relaying Denied |
//!
//! `other`, an empty category, or a name not listed: [`eventhose_model::classify_bounce`]
//! reads the reply (`dsnDiag`, with the enhanced code of `dsnStatus`). bad-domain is taken
//! as soft (21) rather than hard, as for KumoMTA: a domain that does not resolve is often
//! a DNS outage, and a wrong hard class suppresses a good address. A transient failure (a
//! `delay`) never gets a hard class: it is reported as 20, Soft Bounce.

use eventhose_model::{classify_bounce, EnhancedStatus, SmtpReply};

/// The SparkPost class of one of PowerMTA's bounce categories (ASCII case ignored), `None`
/// for `other` and any name not listed.
pub fn sparkpost_class(category: &str, enhanced: Option<EnhancedStatus>) -> Option<u16> {
    let too_large = enhanced.is_some_and(|code| code.subject == 3 && code.detail == 4);
    let category = category.trim().to_ascii_lowercase();
    Some(match category.as_str() {
        "bad-mailbox" | "inactive-mailbox" => 10,
        "bad-connection" => 20,
        "bad-domain" => 21,
        "quota-issues" if too_large => 23,
        "quota-issues" => 22,
        "message-expired" | "no-answer-from-host" => 24,
        "routing-errors" | "bad-configuration" | "protocol-errors" => 40,
        "policy-related" | "invalid-sender" => 50,
        "spam-related" => 51,
        "content-related" => 52,
        "virus-related" => 53,
        "relaying-issues" => 54,
        _ => return None,
    })
}

/// The class of a failure: PowerMTA's category when it maps, else the model's classifier on
/// `reply`; never hard when `transient`.
pub fn classify(category: Option<&str>, reply: &SmtpReply<'_>, transient: bool) -> u16 {
    let class = category
        .and_then(|name| sparkpost_class(name, reply.enhanced))
        .unwrap_or_else(|| classify_bounce(reply));
    crate::fields::soft_when_transient(class, transient)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATEGORIES: &[(&str, u16)] = &[
        ("bad-configuration", 40),
        ("bad-connection", 20),
        ("bad-domain", 21),
        ("bad-mailbox", 10),
        ("content-related", 52),
        ("inactive-mailbox", 10),
        ("invalid-sender", 50),
        ("message-expired", 24),
        ("no-answer-from-host", 24),
        ("policy-related", 50),
        ("protocol-errors", 40),
        ("quota-issues", 22),
        ("relaying-issues", 54),
        ("routing-errors", 40),
        ("spam-related", 51),
        ("virus-related", 53),
    ];

    #[test]
    fn every_documented_category_maps_to_a_sparkpost_class() {
        for &(name, class) in CATEGORIES {
            assert_eq!(sparkpost_class(name, None), Some(class), "{name}");
            assert!(eventhose_model::bounce_class(class).is_some(), "{name}");
        }
        assert_eq!(sparkpost_class("Bad-Mailbox", None), Some(10));
        assert_eq!(sparkpost_class("other", None), None);
        assert_eq!(sparkpost_class("", None), None);
    }

    #[test]
    fn too_large_is_told_from_mailbox_full() {
        assert_eq!(
            sparkpost_class("quota-issues", EnhancedStatus::parse("5.3.4")),
            Some(23)
        );
        assert_eq!(
            sparkpost_class("quota-issues", EnhancedStatus::parse("5.2.2")),
            Some(22)
        );
    }

    #[test]
    fn other_falls_back_to_the_reply() {
        let reply = SmtpReply::parse("550 5.1.1 <x@example.com>: user unknown");
        assert_eq!(classify(Some("other"), &reply, false), 10);
        assert_eq!(classify(None, &reply, false), 10);
        assert_eq!(classify(Some("spam-related"), &reply, false), 51);
    }

    #[test]
    fn a_transient_failure_is_never_hard() {
        let reply = SmtpReply::parse("452 4.2.2 mailbox full");
        assert_eq!(classify(Some("bad-mailbox"), &reply, true), 20);
        assert_eq!(classify(Some("bad-mailbox"), &reply, false), 10);
    }
}
