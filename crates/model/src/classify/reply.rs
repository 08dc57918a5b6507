//! The parts of an SMTP reply the classifier reads: the reply code, the RFC 3463 enhanced
//! status code and the text, and how they are found in the raw text an MTA logs.
//!
//! MTAs log replies in a few shapes, all handled by [`SmtpReply::parse`]:
//! - the reply itself: `550 5.1.1 <a@example.com>: Recipient address rejected: User unknown`,
//!   including multi-line replies joined into one (`550-5.1.1 The email account ... 550-5.1.1
//!   double-checking ...`);
//! - Postfix's delivery status: `host mx.example.com[192.0.2.1] said: 550 ... (in reply to RCPT
//!   TO command)`, possibly within a whole log line carrying `dsn=5.1.1`;
//! - a locally made-up reason with only Postfix's `dsn=` value: `dsn=5.1.1, status=bounced
//!   (unknown user: "bob")`;
//! - qmail's `Sorry, no mailbox here by that name. (#5.1.1)`.

use std::fmt;

/// An RFC 3463 enhanced status code, `class.subject.detail` (e.g. `5.1.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    /// `2` success, `4` persistent transient failure, `5` permanent failure.
    pub class: u8,
    /// What the status is about: `1` addressing, `2` mailbox, `3` mail system, `4` network and
    /// routing, `5` protocol, `6` content, `7` security or policy.
    pub subject: u16,
    /// The detail within the subject (e.g. `1` in `5.1.1`, bad destination mailbox).
    pub detail: u16,
}

impl EnhancedStatus {
    /// Reads `class.subject.detail` exactly: class `2`, `4` or `5`, subject and detail of one
    /// to three digits. Anything else, surrounding text included, is `None`.
    pub fn parse(text: &str) -> Option<EnhancedStatus> {
        let mut parts = text.split('.');
        let class = match parts.next()? {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return None,
        };
        let subject = short_number(parts.next()?)?;
        let detail = short_number(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(EnhancedStatus {
            class,
            subject,
            detail,
        })
    }

    /// Whether the status reports a transient failure (class 4).
    pub fn is_transient(self) -> bool {
        self.class == 4
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// One to three ASCII digits as a number.
fn short_number(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An SMTP reply as the bounce classifier reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmtpReply<'a> {
    /// The three-digit reply code (e.g. `550`), if known.
    pub code: Option<u16>,
    /// The enhanced status code (e.g. `5.1.1`), if known.
    pub enhanced: Option<EnhancedStatus>,
    /// The reply's text, in any case; the code and enhanced code may be part of it.
    pub text: &'a str,
}

impl<'a> SmtpReply<'a> {
    /// A reply from parts already taken apart, e.g. the `error_code` and `raw_reason` of an
    /// event.
    pub fn new(code: Option<u16>, enhanced: Option<EnhancedStatus>, text: &'a str) -> Self {
        SmtpReply {
            code,
            enhanced,
            text,
        }
    }

    /// Finds the reply code and enhanced status code in raw reply text or a log fragment (the
    /// shapes are listed in the module docs). The reply code is the first three-digit code
    /// after Postfix's `said:` (or in the whole text without one); the enhanced code is the
    /// one right after the reply code, else Postfix's `dsn=` value, else the first one
    /// anywhere in the reply. [`SmtpReply::text`] is the reply part of a log fragment, or
    /// the whole input.
    pub fn parse(raw: &'a str) -> Self {
        let text = reply_part(raw);
        let (code, after_code) = match find_reply_code(text) {
            Some((code, rest)) => (Some(code), rest),
            None => (None, text),
        };
        let enhanced = leading_enhanced(after_code)
            .or_else(|| dsn_value(raw))
            .or_else(|| first_enhanced(text));
        SmtpReply {
            code,
            enhanced,
            text,
        }
    }

    /// Whether the reply reports a transient failure: a 4xx reply code or a class-4 enhanced
    /// code. Either is enough: a reply that contradicts itself (`550 4.4.7 ...`) is read as
    /// transient, the safer of the two for the recipient.
    pub fn is_transient(&self) -> bool {
        self.code.is_some_and(|code| (400..500).contains(&code))
            || self.enhanced.is_some_and(EnhancedStatus::is_transient)
    }
}

/// The reply within a Postfix log fragment: what follows `said: `, else the reason in
/// parentheses after `status=...`, else the whole text.
fn reply_part(raw: &str) -> &str {
    if let Some(index) = raw.find("said: ") {
        return &raw[index + "said: ".len()..];
    }
    if let Some(index) = raw.find("status=") {
        let after_status = &raw[index..];
        if let Some(open) = after_status.find('(') {
            return &after_status[open + 1..];
        }
    }
    raw
}

/// The first whitespace-separated token that is a reply code (`550`, or `550-` starting a
/// continuation line, possibly `550-5.1.1`), with the text after the code.
fn find_reply_code(text: &str) -> Option<(u16, &str)> {
    let mut offset = 0;
    for token in text.split_ascii_whitespace() {
        // Tokens come in order: search from the end of the previous one.
        let start = offset + text[offset..].find(token)?;
        offset = start + token.len();
        let bare = token.trim_start_matches(['#', '(']);
        if let Some(code) = reply_code_prefix(bare) {
            let code_end = offset - bare.len() + 3;
            return Some((code, &text[code_end..]));
        }
    }
    None
}

/// `2xx`, `4xx` or `5xx` at the start of `token` when followed by nothing or by `-`.
fn reply_code_prefix(token: &str) -> Option<u16> {
    let bytes = token.as_bytes();
    let code_digits = bytes.get(..3)?;
    let valid_first = matches!(code_digits[0], b'2' | b'4' | b'5');
    if !valid_first || !code_digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match bytes.get(3) {
        None | Some(b'-') => token[..3].parse().ok(),
        Some(_) => None,
    }
}

/// An enhanced code right at the start of `rest` (after `-` or whitespace).
fn leading_enhanced(rest: &str) -> Option<EnhancedStatus> {
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let token = rest.split_ascii_whitespace().next()?;
    EnhancedStatus::parse(trim_punctuation(token))
}

/// Postfix's `dsn=5.1.1` value.
fn dsn_value(raw: &str) -> Option<EnhancedStatus> {
    let index = raw.find("dsn=")?;
    let value = &raw[index + "dsn=".len()..];
    let end = value
        .find(|c: char| c == ',' || c.is_ascii_whitespace())
        .unwrap_or(value.len());
    EnhancedStatus::parse(&value[..end])
}

/// The first enhanced code anywhere in `text`, e.g. qmail's `(#5.1.1)`.
fn first_enhanced(text: &str) -> Option<EnhancedStatus> {
    text.split_ascii_whitespace()
        .find_map(|token| EnhancedStatus::parse(trim_punctuation(token)))
}

/// `token` without the punctuation replies put around codes: `(#5.1.1)`, `5.1.1:`, `[5.1.1]`.
fn trim_punctuation(token: &str) -> &str {
    token
        .trim_start_matches(['(', '[', '#', '<'])
        .trim_end_matches([')', ']', '.', ',', ';', ':', '>'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(class: u8, subject: u16, detail: u16) -> Option<EnhancedStatus> {
        Some(EnhancedStatus {
            class,
            subject,
            detail,
        })
    }

    #[test]
    fn enhanced_codes_parse_strictly() {
        assert_eq!(EnhancedStatus::parse("5.1.1"), status(5, 1, 1));
        assert_eq!(EnhancedStatus::parse("4.7.500"), status(4, 7, 500));
        assert_eq!(EnhancedStatus::parse("2.0.0"), status(2, 0, 0));
        for bad in [
            "",
            "5",
            "5.1",
            "5.1.",
            "3.1.1",
            "5.1.1.1",
            "5.1000.1",
            "5.a.1",
            "4.16.55.1",
            " 5.1.1",
            "5.+1.1",
        ] {
            assert_eq!(EnhancedStatus::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            status(5, 7, 26).map(|s| s.to_string()).as_deref(),
            Some("5.7.26")
        );
    }

    #[test]
    fn a_plain_reply_gives_its_code_and_enhanced_code() {
        let reply = SmtpReply::parse("552 5.2.2 <a@example.com>: Mailbox full");
        assert_eq!(reply.code, Some(552));
        assert_eq!(reply.enhanced, status(5, 2, 2));
        assert!(!reply.is_transient());
    }

    #[test]
    fn a_multi_line_reply_gives_the_code_of_its_first_line() {
        let reply = SmtpReply::parse(
            "550-5.1.1 The email account that you tried to reach does not exist. Please try \
             550-5.1.1 double-checking the recipient's email address for typos or",
        );
        assert_eq!(reply.code, Some(550));
        assert_eq!(reply.enhanced, status(5, 1, 1));
    }

    #[test]
    fn postfix_said_fragments_are_read_after_said() {
        let raw = "host mx.example.com[192.0.2.1] said: 550-5.1.1 The email account that you \
                   tried to reach does not exist. (in reply to RCPT TO command)";
        let reply = SmtpReply::parse(raw);
        assert_eq!(reply.code, Some(550));
        assert_eq!(reply.enhanced, status(5, 1, 1));
        assert!(reply.text.starts_with("550-5.1.1 The email"));
    }

    #[test]
    fn postfix_dsn_fills_in_a_missing_enhanced_code() {
        let line = "Dec 29 03:03:48 mail postfix/smtp[8492]: 732BB407C3: to=<r@example.com>, \
                    relay=mail.example.com[192.0.2.1]:25, delay=582, delays=563/16/1.7/0.81, \
                    dsn=5.0.0, status=bounced (host mail.example.com[192.0.2.1] said: 554 DT:SPM \
                    163 mx9 1514513028 (in reply to end of DATA command))";
        let reply = SmtpReply::parse(line);
        assert_eq!(reply.code, Some(554));
        assert_eq!(reply.enhanced, status(5, 0, 0));

        let local = "to=<bob@example.com>, relay=virtual, delay=29, dsn=5.1.1, status=bounced \
                     (unknown user: \"bob@example.com\")";
        let reply = SmtpReply::parse(local);
        assert_eq!(reply.code, None);
        assert_eq!(reply.enhanced, status(5, 1, 1));
        assert!(reply.text.starts_with("unknown user"));
    }

    #[test]
    fn an_enhanced_code_in_the_text_beats_postfix_dsn() {
        let raw = "dsn=5.0.0, status=bounced (host mx.example.com[192.0.2.1] said: 550 5.7.1 \
                   Message rejected)";
        assert_eq!(SmtpReply::parse(raw).enhanced, status(5, 7, 1));
    }

    #[test]
    fn qmail_codes_in_parentheses_are_found() {
        let reply = SmtpReply::parse("Sorry, no mailbox here by that name. (#5.1.1)");
        assert_eq!(reply.code, None);
        assert_eq!(reply.enhanced, status(5, 1, 1));
    }

    #[test]
    fn sparkposts_timeout_reason_gives_the_outer_codes() {
        let reply = SmtpReply::parse(
            "554 5.4.7 [internal] message timeout (last transfail: 454 4.4.4 [internal] no MX \
             or A for domain)",
        );
        assert_eq!(reply.code, Some(554));
        assert_eq!(reply.enhanced, status(5, 4, 7));
        assert!(!reply.is_transient());
    }

    #[test]
    fn numbers_that_are_not_reply_codes_are_skipped() {
        let reply = SmtpReply::parse("delivery error 2017 at 13:19:26 from 192.0.2.1 (S3150)");
        assert_eq!(reply.code, None);
        assert_eq!(reply.enhanced, None);
        assert_eq!(SmtpReply::parse("Error 550").code, Some(550));
        assert_eq!(SmtpReply::parse("1550 x").code, None);
        assert_eq!(SmtpReply::parse("").code, None);
    }

    #[test]
    fn either_code_makes_a_reply_transient() {
        assert!(SmtpReply::parse("451 Please try again later").is_transient());
        assert!(SmtpReply::parse("550 4.4.7 Message expired").is_transient());
        assert!(SmtpReply::new(None, status(4, 2, 2), "quota").is_transient());
        assert!(!SmtpReply::parse("554 Transaction failed").is_transient());
        assert!(!SmtpReply::parse("no codes").is_transient());
    }
}
