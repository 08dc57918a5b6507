//! Bounce classification codes (the values of `bounce_class`).

use std::fmt;

use serde::Serialize;

/// The broad category of a bounce class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum BounceCategory {
    /// Permanent failure: the address should not be mailed again.
    Hard,
    /// Usually temporary failure.
    Soft,
    /// The receiver blocked the message.
    Block,
    /// Failed by policy, or an administrative message.
    Admin,
    /// The response could not be classified.
    Undetermined,
}

impl BounceCategory {
    /// The category's name as documented: `"Hard"`, `"Soft"`, `"Block"`, `"Admin"` or `"Undetermined"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BounceCategory::Hard => "Hard",
            BounceCategory::Soft => "Soft",
            BounceCategory::Block => "Block",
            BounceCategory::Admin => "Admin",
            BounceCategory::Undetermined => "Undetermined",
        }
    }
}

impl fmt::Display for BounceCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One bounce classification code with its documented name, description and category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BounceClass {
    /// The numeric code carried in `bounce_class`.
    pub code: u16,
    /// Short name, e.g. `"Invalid Recipient"`.
    pub name: &'static str,
    /// One-sentence description.
    pub description: &'static str,
    /// The broad category.
    pub category: BounceCategory,
}

const fn class(
    code: u16,
    name: &'static str,
    description: &'static str,
    category: BounceCategory,
) -> BounceClass {
    BounceClass {
        code,
        name,
        description,
        category,
    }
}

/// The 20 documented bounce classes, ordered by code.
#[rustfmt::skip]
pub const BOUNCE_CLASSES: &[BounceClass] = &[
    class(1, "Undetermined", "The response text could not be identified.", BounceCategory::Undetermined),
    class(10, "Invalid Recipient", "The recipient is invalid.", BounceCategory::Hard),
    class(20, "Soft Bounce", "The message soft bounced.", BounceCategory::Soft),
    class(21, "DNS Failure", "The message bounced due to a DNS failure.", BounceCategory::Soft),
    class(22, "Mailbox Full", "The message bounced due to the remote mailbox being over quota.", BounceCategory::Soft),
    class(23, "Too Large", "The message bounced because it was too large for the recipient.", BounceCategory::Soft),
    class(24, "Timeout", "The message timed out.", BounceCategory::Soft),
    class(25, "Admin Failure", "The message was failed by SparkPost's configured policies.", BounceCategory::Admin),
    class(30, "Generic Bounce: No RCPT", "No recipient could be determined for the message.", BounceCategory::Hard),
    class(40, "Generic Bounce", "The message failed for unspecified reasons.", BounceCategory::Soft),
    class(50, "Mail Block", "The message was blocked by the receiver.", BounceCategory::Block),
    class(51, "Spam Block", "The message was blocked by the receiver as coming from a known spam source.", BounceCategory::Block),
    class(52, "Spam Content", "The message was blocked by the receiver as spam.", BounceCategory::Block),
    class(53, "Prohibited Attachment", "The message was blocked by the receiver because it contained an attachment.", BounceCategory::Block),
    class(54, "Relaying Denied", "The message was blocked by the receiver because relaying is not allowed.", BounceCategory::Block),
    class(60, "Auto-Reply", "The message is an auto-reply/vacation mail.", BounceCategory::Soft),
    class(70, "Transient Failure", "Message transmission has been temporarily delayed.", BounceCategory::Soft),
    class(80, "Subscribe", "The message is a subscribe request.", BounceCategory::Admin),
    class(90, "Unsubscribe", "The message is an unsubscribe request.", BounceCategory::Hard),
    class(100, "Challenge-Response", "The message is a challenge-response probe.", BounceCategory::Soft),
];

/// Looks up a bounce class by its code.
pub fn bounce_class(code: u16) -> Option<&'static BounceClass> {
    BOUNCE_CLASSES
        .binary_search_by_key(&code, |class| class.code)
        .ok()
        .map(|index| &BOUNCE_CLASSES[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_twenty_sorted_codes() {
        assert_eq!(BOUNCE_CLASSES.len(), 20);
        assert!(BOUNCE_CLASSES
            .windows(2)
            .all(|pair| pair[0].code < pair[1].code));
    }

    #[test]
    fn categories_match_the_reference() {
        let codes_in = |category: BounceCategory| -> Vec<u16> {
            BOUNCE_CLASSES
                .iter()
                .filter(|class| class.category == category)
                .map(|class| class.code)
                .collect()
        };
        assert_eq!(codes_in(BounceCategory::Hard), [10, 30, 90]);
        assert_eq!(
            codes_in(BounceCategory::Soft),
            [20, 21, 22, 23, 24, 40, 60, 70, 100]
        );
        assert_eq!(codes_in(BounceCategory::Block), [50, 51, 52, 53, 54]);
        assert_eq!(codes_in(BounceCategory::Admin), [25, 80]);
        assert_eq!(codes_in(BounceCategory::Undetermined), [1]);
    }

    #[test]
    fn lookup_finds_every_code_and_nothing_else() {
        for class in BOUNCE_CLASSES {
            assert_eq!(bounce_class(class.code), Some(class));
        }
        for code in [0, 2, 11, 26, 55, 99, 101, u16::MAX] {
            assert_eq!(bounce_class(code), None, "code {code}");
        }
        let invalid = bounce_class(10).unwrap();
        assert_eq!(invalid.name, "Invalid Recipient");
        assert_eq!(invalid.category.to_string(), "Hard");
    }
}
