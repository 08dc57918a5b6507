//! Bounce classification: which of SparkPost's bounce classes ([`crate::BOUNCE_CLASSES`]) an
//! SMTP reply belongs to, for MTAs that report only the reply (Postfix, KumoMTA without its
//! own classifier, returned mail parsed out of band).
//!
//! # How
//!
//! A reply is read in three steps, each consulted only when the one before has no answer:
//!
//! 1. **The text**, against an ordered table of phrase rules (`TEXT_RULES` in `rules.rs`); the
//!    first rule that matches gives the class. The text comes first because it says more
//!    than the codes: Yandex answers an unknown user with `550 5.7.1 No such user!`, and
//!    Outlook.com with `550 5.5.0 Requested action not taken: mailbox unavailable`.
//! 2. **The enhanced status code** (RFC 3463), by subject and detail (`CODE_RULES`):
//!    `x.1.1` Invalid Recipient, `x.2.2` Mailbox Full, `x.7.*` Mail Block, and so on. On a
//!    transient reply only the codes that give a soft class count.
//! 3. **The reply code**: a transient reply is a Transient Failure (70); a permanent one with
//!    an enhanced code nothing above recognised is a Generic Bounce (40); anything else is
//!    Undetermined (1), as SparkPost reports a reply it cannot identify.
//!
//! # Why it leans soft
//!
//! The hard classes (Invalid Recipient 10, Generic Bounce: No RCPT 30, Unsubscribe 90) get
//! the recipient suppressed: a wrong hard class stops mail to a valid address until someone
//! notices, while a wrong soft class costs a few more attempts. So when the evidence is
//! unclear the classifier picks a soft, block or undetermined class:
//!
//! - a hard class needs a phrase stating that the mailbox is unknown or closed (or, for
//!   Unsubscribe, an explicit request), or a permanent `x.1.1`, `x.1.3` or `x.1.6`;
//! - words never give a hard class when the enhanced code blames the sender (`x.1.7`,
//!   `x.1.8`), and RFC 5321's vague "mailbox unavailable" counts only outside policy codes;
//! - a transient reply is never hard: where it would have been, it is a Soft Bounce (20).
//!
//! Matching is hand-written over lower-cased text (phrases at word starts, see `text.rs`):
//! the rules are fixed phrases, so a regular expression engine would add a dependency and
//! nothing the rules need.

mod reply;
mod rules;
mod text;

#[cfg(test)]
mod tests;

pub use reply::{EnhancedStatus, SmtpReply};

use crate::bounce::{bounce_class, BounceCategory};
use rules::{Applies, Phrases, Rule};

/// Bounce class for a transient reply that would otherwise be hard: Soft Bounce.
const SOFT_BOUNCE: u16 = 20;
/// Bounce class for a transient reply nothing else identifies: Transient Failure.
const TRANSIENT_FAILURE: u16 = 70;
/// Bounce class for a permanent reply with an enhanced code but nothing else identified:
/// Generic Bounce.
const GENERIC_BOUNCE: u16 = 40;
/// Bounce class for a reply that could not be identified: Undetermined.
const UNDETERMINED: u16 = 1;

/// The SparkPost bounce class (a code in [`crate::BOUNCE_CLASSES`]) of an SMTP reply. How it
/// decides is in the module docs; it never panics and always returns a listed code.
///
/// ```
/// use eventhose_model::{classify_bounce, SmtpReply};
///
/// let reply = SmtpReply::parse(
///     "host gmail-smtp-in.l.google.com[192.0.2.1] said: 550-5.1.1 The email account that \
///      you tried to reach does not exist. (in reply to RCPT TO command)",
/// );
/// assert_eq!(classify_bounce(&reply), 10);
/// assert_eq!(classify_bounce(&SmtpReply::parse("452 4.2.2 Mailbox full")), 22);
/// assert_eq!(classify_bounce(&SmtpReply::parse("554 Transaction failed")), 1);
/// ```
pub fn classify_bounce(reply: &SmtpReply<'_>) -> u16 {
    let transient = reply.is_transient();
    let class = class_from_text(reply, transient)
        .or_else(|| class_from_enhanced_code(reply, transient))
        .unwrap_or_else(|| class_from_reply_code(reply, transient));
    if transient && is_hard(class) {
        SOFT_BOUNCE
    } else {
        class
    }
}

/// [`classify_bounce`] of raw reply text or a Postfix log fragment, read by
/// [`SmtpReply::parse`].
pub fn classify_reply_text(raw: &str) -> u16 {
    classify_bounce(&SmtpReply::parse(raw))
}

/// The class of the first text rule that applies to the reply and matches its text.
fn class_from_text(reply: &SmtpReply<'_>, transient: bool) -> Option<u16> {
    let text = text::normalize(reply.text);
    let hard_allowed = reply.enhanced.is_none_or(|status| !blames_sender(status));
    rules::TEXT_RULES
        .iter()
        .filter(|rule| hard_allowed || !is_hard(rule.class))
        .find(|rule| rule_applies(rule, reply, transient) && rule_matches(rule, &text))
        .map(|rule| rule.class)
}

/// Whether an enhanced code says the sender's address is at fault (x.1.7 bad sender's
/// mailbox address syntax, x.1.8 bad sender's system address): then words such as "invalid
/// address" or "does not exist" are about the sender, and the recipient must not be
/// suppressed for them.
fn blames_sender(status: EnhancedStatus) -> bool {
    status.subject == 1 && matches!(status.detail, 7 | 8)
}

fn rule_applies(rule: &Rule, reply: &SmtpReply<'_>, transient: bool) -> bool {
    match rule.applies {
        Applies::Always => true,
        Applies::WhenTransient => transient,
        Applies::UnlessPolicyCode => reply.enhanced.is_none_or(|status| status.subject != 7),
    }
}

fn rule_matches(rule: &Rule, text: &str) -> bool {
    match rule.phrases {
        Phrases::Any(phrases) => phrases.iter().any(|p| text::contains_phrase(text, p)),
        Phrases::All(phrases) => phrases.iter().all(|p| text::contains_phrase(text, p)),
    }
}

/// The class the enhanced code gives; on a transient reply, only a soft one.
fn class_from_enhanced_code(reply: &SmtpReply<'_>, transient: bool) -> Option<u16> {
    let class = rules::class_for_code(reply.enhanced?)?;
    (!transient || category(class) == Some(BounceCategory::Soft)).then_some(class)
}

/// The last resort, from what kind of reply it is.
fn class_from_reply_code(reply: &SmtpReply<'_>, transient: bool) -> u16 {
    if transient {
        TRANSIENT_FAILURE
    } else if reply.enhanced.is_some_and(|status| status.class == 5) {
        GENERIC_BOUNCE
    } else {
        UNDETERMINED
    }
}

fn category(class: u16) -> Option<BounceCategory> {
    bounce_class(class).map(|class| class.category)
}

fn is_hard(class: u16) -> bool {
    category(class) == Some(BounceCategory::Hard)
}
