//! SMTP responses by bounce class, in the wording typical of each provider family.
//!
//! Placeholders filled at render time: `{ip}` sending IP, `{rcpt}` recipient address,
//! `{domain}` recipient domain, `{from_domain}` sending domain, `{id}` a receiver-side
//! queue id, `{last}` the last temporary failure (timeouts only).

use super::providers::Family;

/// One SMTP answer.
#[derive(Debug)]
pub(crate) struct Response {
    /// SparkPost bounce class reported with it.
    pub(crate) class: u16,
    /// The SMTP reply code (`error_code`).
    pub(crate) code: u16,
    /// Wording, with placeholders.
    pub(crate) text: &'static str,
    /// Provider family that answers like this; `None` for generic wording.
    pub(crate) family: Option<Family>,
}

const fn r(class: u16, code: u16, family: Option<Family>, text: &'static str) -> Response {
    Response {
        class,
        code,
        text,
        family,
    }
}

const G: Option<Family> = Some(Family::Google);
const Y: Option<Family> = Some(Family::Yahoo);
const M: Option<Family> = Some(Family::Microsoft);
const A: Option<Family> = Some(Family::Apple);
const ANY: Option<Family> = None;

/// Permanent failures (bounce and out_of_band events).
pub(crate) static BOUNCES: [Response; 34] = [
    r(10, 550, G, "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser {id} - gsmtp"),
    r(10, 554, Y, "554 delivery error: dd This user doesn't have a {domain} account ({rcpt}) [0] - mta{id}.mail.gq1.yahoo.com"),
    r(10, 550, M, "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [{id}.eop-nam12.prod.protection.outlook.com]"),
    r(10, 550, M, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {rcpt} not found by SMTP address lookup"),
    r(10, 550, A, "550 5.1.1 <{rcpt}>: user does not exist"),
    r(10, 550, ANY, "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"),
    r(10, 550, ANY, "550 5.1.1 {rcpt}: Mailbox does not exist"),
    r(10, 551, ANY, "551 5.1.1 <{rcpt}>: user unknown"),
    r(21, 554, ANY, "554 5.4.4 [internal] Domain Lookup Failed"),
    r(21, 550, ANY, "550 5.1.2 [internal] no MX or A for domain {domain}"),
    r(22, 552, G, "552-5.2.2 The recipient's inbox is out of storage space. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm {id} - gsmtp"),
    r(22, 552, ANY, "552 5.2.2 <{rcpt}>: Mailbox full"),
    r(22, 552, Y, "552 1 Requested mail action aborted, mailbox over quota"),
    r(23, 552, ANY, "552 5.3.4 Message size exceeds fixed maximum message size"),
    r(25, 554, ANY, "554 5.7.1 recipient address was suppressed due to customer policy"),
    r(30, 553, ANY, "553 5.1.3 The recipient address <{rcpt}> is not a valid RFC-5321 address"),
    r(40, 554, ANY, "554 5.0.0 Service unavailable; message rejected"),
    r(20, 550, ANY, "550 4.4.7 Message expired: unable to deliver in 840 minutes"),
    r(50, 550, G, "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. {id} - gsmtp"),
    r(50, 554, Y, "554 5.7.9 Message not accepted for policy reasons. See https://senders.yahooinc.com/error-codes"),
    r(50, 550, M, "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150)."),
    r(50, 550, ANY, "550 5.7.1 Message rejected due to local policy"),
    r(50, 554, A, "554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137"),
    r(51, 550, G, "550-5.7.1 [{ip}] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked. {id} - gsmtp"),
    r(51, 554, ANY, "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org"),
    r(51, 553, ANY, "553 5.7.1 [BL21] Connections will not be accepted from {ip}, because the ip is in Spamhaus's list"),
    r(51, 550, M, "550 5.7.1 Service unavailable, Client host [{ip}] blocked using Spamhaus (AS3130)"),
    r(52, 550, G, "550-5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending domain. {id} - gsmtp"),
    r(52, 554, ANY, "554 5.7.1 Message rejected as spam by Content Filtering"),
    r(52, 550, M, "550 5.7.350 Remote server returned message detected as spam"),
    r(53, 552, G, "552-5.7.0 This message was blocked because its content presents a potential security issue. {id} - gsmtp"),
    r(54, 554, ANY, "554 5.7.1 <{rcpt}>: Relay access denied"),
    r(1, 550, ANY, "550 Message rejected"),
    r(1, 554, ANY, "554 Transaction failed"),
];

/// The raw text of a timeout bounce (class 24) after retries ran out.
pub(crate) const TIMEOUT_TEXT: &str =
    "554 5.4.7 [internal] message timeout (last transfail: {last})";
/// SMTP code of a timeout bounce.
pub(crate) const TIMEOUT_CODE: u16 = 554;
/// Bounce class of a timeout bounce.
pub(crate) const TIMEOUT_CLASS: u16 = 24;

/// Temporary failures (delay events).
pub(crate) static DELAYS: [Response; 14] = [
    r(70, 421, G, "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your DKIM domain. To protect our users from spam, mail sent from your domain has been temporarily rate limited. {id} - gsmtp"),
    r(22, 450, G, "450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered. {id} - gsmtp"),
    r(70, 421, Y, "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://senders.yahooinc.com/error-codes"),
    r(70, 451, M, "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77714) [{id}.eop-nam12.prod.protection.outlook.com]"),
    r(70, 421, M, "421 4.7.0 [{ip}] Our system has detected an unusual rate of unsolicited mail, please try again later (S3114)"),
    r(70, 451, A, "451 4.7.1 Service unavailable, try again later"),
    r(70, 451, ANY, "451 4.3.0 [internal] Sending IP temporarily suspended"),
    r(21, 454, ANY, "454 4.4.4 [internal] no MX or A for domain"),
    r(24, 421, ANY, "421 4.4.2 [internal] connection timed out"),
    r(70, 451, ANY, "451 4.7.1 Greylisting in action, please come back later"),
    r(22, 452, ANY, "452 4.2.2 <{rcpt}>: Mailbox full, try again later"),
    r(70, 421, ANY, "421 4.7.0 Service temporarily unavailable, please try again later"),
    r(70, 450, ANY, "450 4.7.1 <{rcpt}>: Recipient address rejected: too many connections from {ip}"),
    r(70, 451, ANY, "451 4.3.2 Please try again later"),
];

/// Policy rejections by the sending platform (all class 25).
pub(crate) static POLICY_REJECTIONS: [Response; 4] = [
    r(
        25,
        550,
        ANY,
        "550 5.7.1 Unconfigured Sending Domain <{from_domain}>",
    ),
    r(
        25,
        554,
        ANY,
        "554 5.7.1 recipient address was suppressed due to customer policy",
    ),
    r(
        25,
        554,
        ANY,
        "554 5.7.1 recipient address was suppressed due to system policy",
    ),
    r(
        25,
        554,
        ANY,
        "554 5.7.1 [internal] sending limit exceeded for this account",
    ),
];

/// Generation failures (technical; no bounce class is reported).
pub(crate) static GENERATION_FAILURES: [Response; 3] = [
    r(0, 554, ANY, "554 5.3.3 [internal] Error while rendering part html: substitution value 'first_name' did not match any key"),
    r(0, 554, ANY, "554 5.3.3 [internal] Error while rendering part text: line 12: syntax error near 'if'"),
    r(0, 554, ANY, "554 5.3.0 [internal] stored template was not found"),
];

/// Generation rejections by policy (all class 25).
pub(crate) static GENERATION_REJECTIONS: [Response; 2] = [
    r(
        25,
        550,
        ANY,
        "550 5.7.1 recipient address was suppressed due to customer policy",
    ),
    r(
        25,
        554,
        ANY,
        "554 5.7.1 recipient address is on the global suppression list",
    ),
];

/// Weights of in-band bounce classes: (class, weight).
pub(crate) static INBAND_CLASS_WEIGHTS: [(u16, f64); 14] = [
    (10, 50.0),
    (22, 8.0),
    (50, 8.0),
    (51, 7.0),
    (52, 6.0),
    (21, 5.0),
    (25, 4.0),
    (1, 4.0),
    (54, 2.0),
    (40, 2.0),
    (30, 1.0),
    (23, 1.0),
    (53, 1.0),
    (20, 1.0),
];

/// Weights of the final bounce class of a delayed message that did not time out.
pub(crate) static AFTER_DELAY_CLASS_WEIGHTS: [(u16, f64); 3] = [(10, 4.0), (22, 3.0), (50, 3.0)];

/// Weights of out-of-band bounce classes.
pub(crate) static OUT_OF_BAND_CLASS_WEIGHTS: [(u16, f64); 5] =
    [(10, 55.0), (22, 12.0), (52, 10.0), (50, 10.0), (1, 8.0)];

/// Whether `r` is an answer of `class` (any class for `None`) that a provider of `family`
/// gives: its own wording or, with `generic`, the generic one.
fn fits(r: &Response, class: Option<u16>, family: Family, generic: bool) -> bool {
    class.is_none_or(|c| r.class == c)
        && (r.family == Some(family) || (generic && r.family.is_none()))
}

/// A response's index in its table, as steps store it.
// The response tables hold a few dozen entries: the cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn response_index(index: usize) -> u16 {
    index as u16
}

/// The `n`-th (modulo their number) response of `class` a provider of `family` would give:
/// the family's own wording plus the generic ones, or any family's if neither exists.
/// Returns `None` only if the table has no response of `class` at all.
pub(crate) fn nth_candidate(
    table: &[Response],
    class: Option<u16>,
    family: Family,
    n: usize,
) -> Option<usize> {
    let own = table
        .iter()
        .filter(|r| fits(r, class, family, true))
        .count();
    if own > 0 {
        return table
            .iter()
            .enumerate()
            .filter(|(_, r)| fits(r, class, family, true))
            .nth(n % own)
            .map(|(i, _)| i);
    }
    let any = table
        .iter()
        .filter(|r| class.is_none_or(|c| r.class == c))
        .count();
    table
        .iter()
        .enumerate()
        .filter(|(_, r)| class.is_none_or(|c| r.class == c))
        .nth(n % any.max(1))
        .map(|(i, _)| i)
}

/// Indices into `table` of the responses [`nth_candidate`] chooses from.
#[cfg(test)]
pub(crate) fn candidates(table: &[Response], class: Option<u16>, family: Family) -> Vec<usize> {
    let mut out: Vec<usize> = (0..table.len())
        .filter_map(|n| nth_candidate(table, class, family, n))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_weighted_class_has_a_response() {
        let classes = INBAND_CLASS_WEIGHTS
            .iter()
            .chain(&AFTER_DELAY_CLASS_WEIGHTS)
            .chain(&OUT_OF_BAND_CLASS_WEIGHTS);
        for (class, _) in classes {
            for family in [Family::Google, Family::Yahoo, Family::Other] {
                assert!(
                    !candidates(&BOUNCES, Some(*class), family).is_empty(),
                    "no response for class {class}"
                );
            }
        }
    }

    #[test]
    fn family_wording_is_preferred_but_generic_is_kept() {
        let google = candidates(&BOUNCES, Some(10), Family::Google);
        assert!(google
            .iter()
            .any(|&i| BOUNCES[i].family == Some(Family::Google)));
        assert!(google
            .iter()
            .all(|&i| BOUNCES[i].family != Some(Family::Yahoo)));
        let other = candidates(&BOUNCES, Some(10), Family::Other);
        assert!(other.iter().all(|&i| BOUNCES[i].family.is_none()));
    }

    #[test]
    fn reply_codes_match_the_text() {
        let all = BOUNCES
            .iter()
            .chain(&DELAYS)
            .chain(&POLICY_REJECTIONS)
            .chain(&GENERATION_FAILURES)
            .chain(&GENERATION_REJECTIONS);
        for r in all {
            assert!(r.text.starts_with(&r.code.to_string()), "{}", r.text);
        }
        for d in &DELAYS {
            assert!((400..500).contains(&d.code), "{}", d.text);
        }
    }
}
