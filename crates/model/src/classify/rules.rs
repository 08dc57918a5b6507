//! The classifier's tables: the ordered text rules, then the fallbacks by enhanced status
//! code. The first matching rule wins, so each group sits above the groups whose words it
//! must beat; the comment on a group says why it is where it is.
//!
//! The phrases are lower case and match at a word start (see [`super::text`]). They come from
//! the wording receivers document or are known to send (provider postmaster pages, RFC 5321's
//! reply texts, the MTAs' own messages); each phrase is generic enough to recur across
//! receivers and specific enough not to appear in replies of another class.

use super::reply::EnhancedStatus;

/// Which replies a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Applies {
    /// Any reply.
    Always,
    /// Only transient ones (see [`super::SmtpReply::is_transient`]).
    WhenTransient,
    /// Only those without a security or policy enhanced code (x.7.*).
    UnlessPolicyCode,
}

/// What a rule looks for in the normalized text.
#[derive(Clone, Copy, Debug)]
pub(super) enum Phrases {
    /// Any one of the phrases.
    Any(&'static [&'static str]),
    /// All of the phrases.
    All(&'static [&'static str]),
}

/// One text rule: replies it applies to whose text has its phrases get its class.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rule {
    /// The bounce class given.
    pub(super) class: u16,
    /// Which replies the rule applies to.
    pub(super) applies: Applies,
    /// What the text must contain.
    pub(super) phrases: Phrases,
}

const fn any(class: u16, phrases: &'static [&'static str]) -> Rule {
    Rule {
        class,
        applies: Applies::Always,
        phrases: Phrases::Any(phrases),
    }
}

const fn all(class: u16, phrases: &'static [&'static str]) -> Rule {
    Rule {
        class,
        applies: Applies::Always,
        phrases: Phrases::All(phrases),
    }
}

const fn unless_policy_code_any(class: u16, phrases: &'static [&'static str]) -> Rule {
    Rule {
        class,
        applies: Applies::UnlessPolicyCode,
        phrases: Phrases::Any(phrases),
    }
}

const fn transient_any(class: u16, phrases: &'static [&'static str]) -> Rule {
    Rule {
        class,
        applies: Applies::WhenTransient,
        phrases: Phrases::Any(phrases),
    }
}

/// The text rules, in order: the first that matches gives the class.
#[rustfmt::skip]
pub(super) static TEXT_RULES: &[Rule] = &[
    // 25 Admin Failure: the sending platform's own refusals (SparkPost's suppression and
    // account-policy reasons). First, since they quote the recipient and policy words.
    any(25, &["address was suppressed", "global suppression list", "unconfigured sending domain"]),
    all(25, &["[internal]", "sending limit"]),
    // What kind of message came back, for replies parsed out of returned mail (out-of-band).
    any(60, &[
        "out of office", "out of the office", "auto-reply", "auto reply", "autoreply",
        "automatic reply", "automated reply", "autoresponder", "auto-response",
        "vacation reply", "on vacation", "away from the office",
    ]),
    any(100, &[
        "challenge-response", "challenge response", "boxbe", "spamarrest",
        "sender verification request", "approved senders list", "verify that you are a human",
    ]),
    // Unsubscribe (Hard) only on explicit requests; above Subscribe, whose phrases are inside.
    any(90, &[
        "unsubscribe request", "request to unsubscribe", "please unsubscribe", "unsubscribe me",
        "remove me from your list", "remove me from your mailing list",
    ]),
    any(80, &["subscribe request", "subscription request", "request to subscribe"]),
    // 24 Timeout: the outer fact of SparkPost's `message timeout (last transfail: ...)`,
    // whatever the last failure was; above everything the quoted failure could match.
    any(24, &[
        "message timeout", "message expired", "timed out", "timeout", "retry timeout exceeded",
        "too long in queue", "delivery time expired", "no answer from host",
    ]),
    // 22 Mailbox Full: above Transient Failure, since full mailboxes often add "try again
    // later", and above Too Large ("mailbox size limit exceeded").
    any(22, &[
        "mailbox full", "mailbox is full", "mailbox size limit", "full mailbox", "inbox is full",
        "account is full",
        "over quota", "overquota", "quota exceeded", "exceeded quota", "exceeds quota",
        "quota exceed", "mailbox quota", "out of storage space", "exceeded storage allocation",
        "insufficient storage for this user", "receiving mail at a rate",
        "receiving mail too quickly",
    ]),
    // 23 Too Large.
    any(23, &[
        "message size exceeds", "message too large", "message is too large", "message too big",
        "message is too big", "size limit", "size exceeds", "exceeds the maximum size",
        "maximum message size", "message length exceeds", "message size limits",
        "exceeded the maximum message size", "mailsize limit",
    ]),
    // 70 Transient Failure: a transient reply saying so in words. Above the block rules: a
    // receiver that defers "temporarily" because of volume or complaints has not refused the
    // sender yet.
    transient_any(70, &[
        "try again", "try later", "retry later", "come back later", "greylist", "graylist",
        "temporarily", "temporary", "rate limit", "too many connections", "too many messages",
        "server busy", "service is busy", "deferred", "throttl", "resources unavailable",
    ]),
    // 54 Relaying Denied. Above the policy words ("denied", "not allowed").
    any(54, &[
        "relay access denied", "relaying denied", "relay denied", "relay not permitted",
        "relaying not permitted", "not permitted to relay", "unable to relay", "cannot relay",
        "relay not allowed", "relaying not allowed", "not allowed to relay", "we do not relay",
        "relaying disallowed", "relay prohibited", "relaying prohibited", "no relaying",
        "relaying is not allowed", "relay access is denied",
    ]),
    // 51 Spam Block: the sender's IP or domain is on a block list or has a bad reputation.
    // Above Spam Content ("spamhaus" contains "spam") and the sender rules (a rejected sender
    // that is listed somewhere is a spam source).
    any(51, &[
        "spamhaus", "spamcop", "barracuda", "sorbs", "uceprotect", "spamrats", "surbl", "uribl",
        "mailspike", "invaluement", "psbl", "dnsbl", "rbl", "ipcheck", "blocked using",
        "is listed", "are listed", "been listed", "listed at", "listed on", "listed by",
        "found on one or more", "banned sender", "banned sending", "blacklist", "black list",
        "black-list", "blocklist", "block list", "block-list", "denylist", "deny list",
        "reputation", "known spammer", "spam source", "originating from your ip", "(bl)",
    ]),
    // 53 Prohibited Attachment, including attachments rejected as malware. Above Spam
    // Content: a virus is not a spam judgement.
    any(53, &[
        "attachment", "file type", "filetype", "file extension", "executable", "virus",
        "malware", "infected", "security issue", "banned file", "forbidden file",
    ]),
    // 50 Mail Block for the sender, its host or its authentication. Above Spam Content, as
    // Gmail's authentication failures end "To best protect our users from spam, the message
    // has been blocked"; above DNS Failure and Invalid Recipient, as "Sender address
    // rejected: Domain not found" is about the sender.
    any(50, &[
        "sender address rejected", "sender rejected", "sender denied", "sender verify failed",
        "invalid sender", "sender address invalid", "sender address does not exist",
        "sender does not exist", "sender unknown", "unknown sender", "sender not found",
        "unauthenticated", "not authenticated", "authenticate",
        "authentication", "spf", "dkim", "dmarc", "client host rejected", "reverse dns",
        "reverse hostname", "reverse lookup", "ptr record", "rdns", "helo command rejected",
        "whitelist", "allowlist", "tls required", "requires tls",
    ]),
    // 52 Spam Content: the message itself was judged spam.
    any(52, &[
        "spam", "unsolicited", "junk mail", "bulk mail", "dt:spm", "content rejected",
        "content denied", "content filter", "rejected content", "message content",
        "suspicious", "phish",
    ]),
    // 21 DNS Failure: the recipient's domain does not resolve or has no mail exchanger.
    any(21, &[
        "domain lookup failed", "no mx or a", "no mx record", "mx lookup", "host not found",
        "host or domain name not found", "domain not found", "no such domain",
        "domain does not exist", "domain name not found", "unknown domain", "domain unknown",
        "nxdomain", "dns error", "dns failure", "dns lookup", "name service error",
        "unable to resolve", "could not resolve", "unresolvable", "null mx",
    ]),
    // 30 Generic Bounce: No RCPT: no usable recipient address (missing or malformed). Above
    // Invalid Recipient, whose words a syntax complaint may also use ("user unknown: bad
    // recipient address syntax").
    any(30, &[
        "no valid recipients", "no recipients", "no recipient", "recipient address required",
        "missing recipient", "not a valid rfc-5321 address", "not a valid rfc 5321 address",
        "bad recipient address syntax", "recipient address syntax", "syntax error in recipient",
    ]),
    // 10 Invalid Recipient: the mailbox does not exist or is closed. Hard: the recipient will
    // be suppressed, so each phrase states it outright (never "rejected" or "unavailable"
    // alone); on a transient reply, or one whose code blames the sender, the class softens
    // (see `super`). "mailbox unavailable" is RFC 5321's 550 text, which Outlook.com, GMX and
    // Web.de send for unknown users, but RFC 5321 also allows it for "command rejected for
    // policy reasons": under a policy code (x.7.*) it is left to the code.
    unless_policy_code_any(10, &["mailbox unavailable", "mailbox is unavailable"]),
    any(10, &[
        "user unknown", "unknown user", "unknown recipient", "recipient unknown",
        "addressee unknown", "user not known", "unavailable mail user",
        "does not have an account", "account inactive",
        "mailbox unknown", "unknown mailbox", "no such user", "no such recipient",
        "no such mailbox", "no such account", "no such address", "user not found",
        "recipient not found", "address not found", "mailbox not found", "account not found",
        "recipientnotfound", "recipnotfound", "does not exist", "doesn't exist", "not exist",
        "no longer exists", "invalid recipient", "invalid mailbox", "invalid user",
        "not a valid mailbox", "not a valid recipient", "this user doesn't have a",
        "no mailbox here by that name", "mailbox name not allowed", "bad destination mailbox",
        "unknown or illegal alias", "account disabled", "account is disabled",
        "account has been disabled", "mailbox disabled", "mailbox is disabled",
        "mailbox has been disabled", "tried to reach is disabled", "tried to reach is inactive",
        "account is inactive", "mailbox is inactive", "inactive mailbox", "inactive account",
        "deactivated", "no longer active", "not our customer", "user not listed",
    ]),
    // 20 Soft Bounce: the connection failed, or too many recipients at once.
    any(20, &[
        "connection refused", "connection reset", "connection closed", "lost connection",
        "network is unreachable", "no route to host", "too many recipients",
    ]),
    // 50 Mail Block, generic policy words: last, as the weakest evidence.
    any(50, &[
        "block", "policy", "policies", "denied", "refused", "not allowed", "prohibit",
        "not authorized", "not permitted", "banned", "forbidden", "frequency limited",
    ]),
];

/// A fallback by enhanced status code: codes with `subject` (and `detail`, if given) get
/// `class`. Read when no text rule matched.
#[derive(Clone, Copy, Debug)]
pub(super) struct CodeRule {
    /// The enhanced code's subject.
    pub(super) subject: u16,
    /// The enhanced code's detail; `None` for any.
    pub(super) detail: Option<u16>,
    /// The bounce class given.
    pub(super) class: u16,
}

const fn code(subject: u16, detail: u16, class: u16) -> CodeRule {
    CodeRule {
        subject,
        detail: Some(detail),
        class,
    }
}

const fn subject(subject: u16, class: u16) -> CodeRule {
    CodeRule {
        subject,
        detail: None,
        class,
    }
}

/// The fallbacks by enhanced status code (RFC 3463 and the IANA registry's additions), in
/// order: the first that matches gives the class.
pub(super) static CODE_RULES: &[CodeRule] = &[
    // x.1.1 bad destination mailbox, x.1.6 mailbox moved with no forwarding address.
    code(1, 1, 10),
    code(1, 6, 10),
    // x.1.2 bad destination system: the domain does not exist or takes no mail. DNS Failure
    // (soft) rather than Invalid Recipient (hard): a domain that fails to resolve may be
    // having a DNS outage, and SparkPost reports its own "no MX or A for domain" here.
    code(1, 2, 21),
    // x.1.3 bad destination mailbox address syntax: no usable recipient.
    code(1, 3, 30),
    // x.1.7 and x.1.8: the sender's address or domain is bad, so the receiver blocks it.
    code(1, 7, 50),
    code(1, 8, 50),
    // x.1.10 the recipient's domain has a null MX (RFC 7505). Microsoft also sends 5.1.10
    // for unknown recipients, with words the text rules catch.
    code(1, 10, 21),
    // x.2.1 mailbox disabled: "may be a permanent error ... or a transient error" (RFC 3463),
    // so soft unless the text says more.
    code(2, 1, 20),
    code(2, 2, 22),
    // x.2.3 message length exceeds administrative limit.
    code(2, 3, 23),
    // x.3.1 mail system full, x.3.2 system not accepting messages.
    code(3, 1, 20),
    code(3, 2, 20),
    code(3, 4, 23),
    // x.4.1 no answer from host, x.4.7 delivery time expired.
    code(4, 1, 24),
    code(4, 7, 24),
    // x.4.2 bad connection.
    code(4, 2, 20),
    // x.4.3 directory server failure, x.4.4 unable to route.
    code(4, 3, 21),
    code(4, 4, 21),
    // x.4.5 mail system congestion.
    code(4, 5, 70),
    // x.5.3 too many recipients.
    code(5, 3, 20),
    // x.7.* security and policy: the receiver refused the message.
    subject(7, 50),
];

/// The class the enhanced-code fallbacks give `status`, if any matches.
pub(super) fn class_for_code(status: EnhancedStatus) -> Option<u16> {
    CODE_RULES
        .iter()
        .find(|rule| {
            rule.subject == status.subject && rule.detail.is_none_or(|d| d == status.detail)
        })
        .map(|rule| rule.class)
}
