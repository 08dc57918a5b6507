//! The classifier against replies in the wording receivers use (from their postmaster pages,
//! RFC 5321 and RFC 3463, the MTAs' own messages and published bounce examples; addresses,
//! hosts and ids replaced), one test per bounce class, then the rules' precedence and the
//! properties every answer has.

use proptest::prelude::*;

use eventhose_test_support::proptest_config;

use super::rules::{Phrases, CODE_RULES, TEXT_RULES};
use super::*;
use crate::{BounceCategory, BOUNCE_CLASSES};

/// Asserts that every reply classifies as `class`, naming the one that does not.
#[track_caller]
fn assert_class(class: u16, replies: &[&str]) {
    for reply in replies {
        assert_eq!(classify_reply_text(reply), class, "{reply}");
    }
}

#[test]
fn class_1_undetermined_replies() {
    assert_class(
        1,
        &[
            "550 Message rejected",
            "554 Transaction failed",
            "550 MI:NHD",
            "550 User suspended",
            "",
            "hello",
            "250 2.0.0 OK",
        ],
    );
}

#[test]
fn class_10_invalid_recipient() {
    assert_class(10, &[
        // Gmail, a multi-line reply as Postfix logs it.
        "host gmail-smtp-in.l.google.com[192.0.2.1] said: 550-5.1.1 The email account that you \
         tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's \
         email address for typos or 550-5.1.1 unnecessary spaces. (in reply to RCPT TO command)",
        "550-5.2.1 The email account that you tried to reach is disabled. - gsmtp",
        "550-5.2.1 The email account that you tried to reach is inactive. - gsmtp",
        // Outlook.com, Microsoft 365.
        "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302).",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient a@example.com not found by SMTP \
         address lookup",
        "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
        // Yahoo and AOL.
        "554 delivery error: dd This user doesn't have a yahoo.com account (a@yahoo.com) [0]",
        "554 delivery error: dd Sorry your message to a@yahoo.com cannot be delivered. This \
         mailbox is disabled (554.30).",
        // iCloud, Comcast, GMX and Web.de.
        "550 5.1.1 <a@icloud.com>: user does not exist",
        "550 5.1.1 <a@comcast.net> Not our Customer",
        "550 Requested action not taken: mailbox unavailable",
        // Mail.ru, Yandex (text beats the 5.7.1), NetEase, QQ.
        "550 Message was not accepted -- invalid mailbox. Local mailbox a@mail.ru is \
         unavailable: account is disabled",
        "550 5.7.1 No such user!",
        "550 User not found: a@163.com",
        "550 Mailbox not found or access denied",
        // Postfix, Exim, sendmail, qmail, Domino.
        "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in virtual \
         mailbox table",
        "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in relay \
         recipient table",
        "dsn=5.1.1, status=bounced (unknown user: \"bob@example.com\")",
        "550 Unknown or illegal alias: a@example.com",
        "Sorry, no mailbox here by that name. (#5.1.1)",
        "550 5.1.1 User not listed in public Name & Address Book",
        // AT&T's unknown user under a mailbox-status code; Barracuda's, with its own tag
        // between the codes.
        "550 5.2.1 <a@prodigy.net>... Addressee unknown, relay=[192.0.2.1]",
        "550 cuda_nsu 5.1.1 <a@example.com> Recipient address rejected: User unknown",
        // Codes alone.
        "550 5.1.1 Rejected",
        "551 5.1.6 Mailbox moved",
    ]);
}

#[test]
fn class_20_soft_bounce() {
    assert_class(
        20,
        &[
            // Hard on its words, transient on its codes.
            "450 4.1.1 <a@example.com>: Recipient address rejected: User unknown in local \
         recipient table",
            "450 4.2.1 Mailbox disabled, not accepting messages",
            "452 4.5.3 Your message has too many recipients.",
            "421 4.4.2 Connection refused",
            "550 5.2.1 Mailbox is not accepting messages",
            "550 5.3.2 System not accepting network messages",
        ],
    );
}

#[test]
fn class_21_dns_failure() {
    assert_class(
        21,
        &[
            "554 5.4.4 [internal] Domain Lookup Failed",
            "550 5.1.2 [internal] no MX or A for domain example.com",
            "454 4.4.4 [internal] no MX or A for domain",
            "450 4.1.2 <a@example.invalid>: Recipient address rejected: Domain not found",
            "Host or domain name not found. Name service error for name=example.invalid type=MX: \
         Host not found, try again",
            "556 5.1.10 Recipient address has null MX",
            "550 5.1.2 Bad destination system address",
        ],
    );
}

#[test]
fn class_22_mailbox_full() {
    assert_class(22, &[
        "552-5.2.2 The recipient's inbox is out of storage space. Please direct the recipient \
         to https://support.google.com/mail/?p=OverQuotaPerm - gsmtp",
        "452-4.2.2 The email account that you tried to reach is over quota. - gsmtp",
        "450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents \
         additional messages from being delivered. - gsmtp",
        "552 1 Requested mail action aborted, mailbox over quota",
        "552 5.2.2 <a@example.com>: Mailbox full",
        "452 4.2.2 <a@example.com>: Mailbox full, try again later",
        "552 5.2.2 Mailbox size limit exceeded",
        "552 Requested mail action aborted: exceeded storage allocation",
        "552 5.2.2 Over the limit",
        "552 Account is full",
        "452 4.2.2 Error writing message: Disk quota exceeded",
    ]);
}

#[test]
fn class_23_too_large() {
    assert_class(
        23,
        &[
            "552 5.3.4 Message size exceeds fixed maximum message size",
            "552-5.2.3 Your message exceeded Google's message size limits. - gsmtp",
            "554 30 Sorry, your message size exceeds 41943040 bytes.",
            "552 Requested mail action aborted: exceeded mailsize limit",
            "552 5.3.4 Error: message file too big",
            "552 5.2.3 Rejected",
        ],
    );
}

#[test]
fn class_24_timeout() {
    assert_class(24, &[
        "554 5.4.7 [internal] message timeout (last transfail: 454 4.4.4 [internal] no MX or A \
         for domain)",
        "554 5.4.7 [internal] message timeout (last transfail: 452 4.2.2 Mailbox full)",
        "421 4.4.2 [internal] connection timed out",
        "451-4.4.2 Timeout - closing connection. - gsmtp",
        "550 4.4.7 Message expired: unable to deliver in 840 minutes",
        "retry timeout exceeded",
        "554 5.4.7 Delivery expired",
    ]);
}

#[test]
fn class_25_admin_failure() {
    assert_class(
        25,
        &[
            "554 5.7.1 recipient address was suppressed due to customer policy",
            "554 5.7.1 recipient address was suppressed due to system policy",
            "554 5.7.1 recipient address is on the global suppression list",
            "550 5.7.1 Unconfigured Sending Domain <example.com>",
            "554 5.7.1 [internal] sending limit exceeded for this account",
        ],
    );
}

#[test]
fn class_30_generic_bounce_no_rcpt() {
    assert_class(
        30,
        &[
            "553 5.1.3 The recipient address <a b@example.com> is not a valid RFC-5321 address.",
            "501 5.1.3 Bad recipient address syntax",
            "554 5.5.1 Error: no valid recipients",
            "553 5.1.3 Rejected",
        ],
    );
}

#[test]
fn class_40_generic_bounce() {
    assert_class(
        40,
        &[
            "554 5.0.0 Service unavailable; message rejected",
            "550 5.5.1 Protocol error",
            "554 5.6.0 Message could not be converted",
            "dsn=5.0.0, status=bounced (host mx.example.com[192.0.2.1] said: 554 Rejected)",
        ],
    );
}

#[test]
fn class_50_mail_block() {
    assert_class(50, &[
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail \
         requires all senders to authenticate with either SPF or DKIM. - gsmtp",
        "550-5.7.25 The IP address sending this message does not have a PTR record setup - gsmtp",
        "421-4.7.0 TLS required for RCPT domain, closing connection. - gsmtp",
        "554 5.7.9 Message not accepted for policy reasons. See \
         https://senders.yahooinc.com/error-codes",
        "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying \
         will NOT succeed.",
        "554 5.7.1 [CS01] Message rejected due to local policy. Please visit \
         https://support.apple.com/en-us/HT204137",
        "550 5.7.1 Message rejected due to local policy",
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
        "553 5.7.1 <a@example.com>: Sender address rejected: not logged in",
        "450 4.1.8 <b@example.invalid>: Sender address rejected: Domain not found",
        "450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]",
        "550 Administrative prohibition",
        // Gmail's authentication failures, despite their closing words about spam.
        "550-5.7.1 This message does not have authentication information or fails to pass \
         authentication checks (SPF or DKIM). To best protect our users from spam, the \
         message has been blocked. - gsmtp",
        "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's \
         DMARC policy. - gsmtp",
        "550-5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to send \
         email directly to our servers. Please use the SMTP relay at your service provider \
         instead. - gsmtp",
        "550 Ip frequency limited",
        "550 5.7.1 Rejected",
    ]);
}

#[test]
fn class_51_spam_block() {
    assert_class(51, &[
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
        "550 5.7.1 Service unavailable, Client host [192.0.2.1] blocked using Spamhaus",
        "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in \
         Spamhaus's list; see https://senders.yahooinc.com/error-codes",
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your \
         Internet service provider since part of their network is on our block list (S3150).",
        "550 5.7.606 Access denied, banned sending IP [192.0.2.1].",
        "554 resimta-po-01v.sys.comcast.net comcast 192.0.2.1 found on one or more DNSBLs, see \
         http://postmaster.comcast.net/smtp-error-codes.php#BL000001",
        "550 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1",
        "550-5.7.1 Our system has detected that this message is suspicious due to the very low \
         reputation of the sending domain. - gsmtp",
        "554 Your IP 192.0.2.1 is listed at bl.example.net",
        "550 Sender blacklisted",
        "550 5.7.1 Your IP is blocklisted",
        "550 5.7.511 Access denied, banned sender[192.0.2.1]. To request removal from this \
         list please forward this message to delist@messaging.microsoft.com",
        "554 5.7.1 Your access to this mail system has been rejected due to the sending MTA's \
         poor reputation.",
        "550 5.7.1 Mail from 192.0.2.1 refused by blackhole site zen.spamhaus.org",
        "451 4.7.1 Client host [192.0.2.1] blocked using bl.spamcop.net",
    ]);
}

#[test]
fn class_52_spam_content() {
    assert_class(52, &[
        "550-5.7.1 [192.0.2.1] Our system has detected that this message is likely unsolicited \
         mail. To reduce the amount of spam sent to Gmail, this message has been blocked. - gsmtp",
        "550-5.7.1 Our system has detected that this message is suspicious due to the nature of \
         the content and/or the links within. - gsmtp",
        "554 5.7.1 Message rejected as spam by Content Filtering",
        "550 5.7.350 Remote server returned message detected as spam",
        "554 5.7.1 [2] Message rejected under suspicion of SPAM",
        "550 spam message rejected. Please visit http://help.mail.ru/notspam-support/id?c=x",
        "554 DT:SPM 163 mx9,O8CowEDJVFKCokVaRhz+AA--.26016S3 1514513028,please see \
         http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1",
        "550 Mail content denied.",
        "554 5.7.1 Message content rejected",
        "550 5.7.1 Sorry, message looks like SPAM to me",
    ]);
}

#[test]
fn class_53_prohibited_attachment() {
    assert_class(
        53,
        &[
            "552-5.7.0 This message was blocked because its content presents a potential security \
         issue. - gsmtp",
            "552-5.7.0 Our system detected an illegal attachment on your message. - gsmtp",
            "554 5.7.1 Message rejected: file type not allowed",
            "550 5.7.1 Virus found in message",
        ],
    );
}

#[test]
fn class_54_relaying_denied() {
    assert_class(
        54,
        &[
            "554 5.7.1 <a@example.com>: Relay access denied",
            "550 5.7.1 Unable to relay",
            "550 5.7.64 TenantAttribution; Relay Access Denied",
            "550 relay not permitted",
            "550 relaying denied",
        ],
    );
}

#[test]
fn class_60_auto_reply() {
    assert_class(
        60,
        &[
            "Automatic reply: Out of Office until Monday",
            "I am out of the office with limited access to email.",
            "Auto-Reply: on vacation",
        ],
    );
}

#[test]
fn class_70_transient_failure() {
    assert_class(
        70,
        &[
            "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from \
         your DKIM domain. To protect our users from spam, mail sent from your domain has been \
         temporarily rate limited. - gsmtp",
            "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected \
         volume or user complaints - 4.16.55.1; see https://senders.yahooinc.com/error-codes",
            "451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77714)",
            "421 4.7.0 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail, \
         please try again later (S3114)",
            "451 4.7.1 Greylisting in action, please come back later",
            "451 4.3.0 [internal] Sending IP temporarily suspended",
            "450 4.7.1 <a@example.com>: Recipient address rejected: too many connections from \
         192.0.2.1",
            "dsn=4.0.0, status=deferred (host mail.example.com[192.0.2.1] said: 451 DT:SPM 163 \
         mx13,P8CowECpNVM_oEVaenoEAQ--.23796S3 1514512449, please try again 15min later (in \
         reply to end of DATA command))",
            "421 Service not available, closing transmission channel",
            "421 4.7.0 Closing connection",
            "451 4.4.5 Mail system congestion",
        ],
    );
}

#[test]
fn class_80_subscribe() {
    assert_class(
        80,
        &[
            "Subscribe request from a@example.com",
            "Subscription request",
        ],
    );
}

#[test]
fn class_90_unsubscribe() {
    assert_class(
        90,
        &[
            "Unsubscribe request",
            "Please unsubscribe me from this list",
        ],
    );
}

#[test]
fn class_100_challenge_response() {
    assert_class(
        100,
        &[
            "This is a challenge-response message: please confirm you sent this email",
            "Your message is awaiting approval: sender verification request from Boxbe",
        ],
    );
}

#[test]
fn every_class_has_a_test() {
    // The tests above, one per class, by code: a new class in the table needs a test here.
    let tested = [
        1, 10, 20, 21, 22, 23, 24, 25, 30, 40, 50, 51, 52, 53, 54, 60, 70, 80, 90, 100,
    ];
    let listed: Vec<u16> = BOUNCE_CLASSES.iter().map(|class| class.code).collect();
    assert_eq!(listed, tested);
}

#[test]
fn text_beats_the_codes() {
    // Yandex's unknown user under a policy code; Outlook's under a protocol code.
    assert_eq!(classify_reply_text("550 5.7.1 No such user!"), 10);
    assert_eq!(
        classify_reply_text("550 5.5.0 Requested action not taken: mailbox unavailable"),
        10
    );
    // A full mailbox under a policy code, spam under an unknown-user code.
    assert_eq!(classify_reply_text("550 5.7.1 Mailbox full"), 22);
    assert_eq!(
        classify_reply_text("550 5.1.1 blocked using zen.spamhaus.org"),
        51
    );
    // Separate parts: the text wins over the enhanced code given beside it.
    let reply = SmtpReply::new(
        Some(550),
        EnhancedStatus::parse("5.1.1"),
        "Relay access denied",
    );
    assert_eq!(classify_bounce(&reply), 54);
}

#[test]
fn rule_order_settles_replies_with_words_of_two_classes() {
    // The outer timeout over the failure it quotes.
    assert_eq!(
        classify_reply_text(
            "554 5.4.7 [internal] message timeout (last transfail: 550 5.1.1 user unknown)"
        ),
        24
    );
    // A block list over spam words, a virus over spam words, the sender over DNS words.
    assert_eq!(
        classify_reply_text("554 Rejected: spam source listed at spamhaus"),
        51
    );
    assert_eq!(classify_reply_text("554 5.7.1 Spam or virus detected"), 53);
    assert_eq!(
        classify_reply_text("550 5.1.8 Sender address rejected: Domain not found"),
        50
    );
    // Unsubscribe over subscribe, whose words it contains.
    assert_eq!(classify_reply_text("unsubscribe request"), 90);
    // Specific recipient words over generic policy words.
    assert_eq!(
        classify_reply_text("550 Mailbox not found or access denied"),
        10
    );
}

#[test]
fn replies_blaming_the_sender_are_never_hard() {
    // The words would be the recipient's; the sender codes say they are the sender's.
    assert_eq!(classify_reply_text("501 5.1.7 Invalid address"), 50);
    assert_eq!(
        classify_reply_text("550 5.1.8 <b@example.com>: user unknown"),
        50
    );
    assert_eq!(
        classify_reply_text("553 5.1.8 Domain of sender address does not exist"),
        50
    );
    assert_eq!(
        classify_reply_text("550 5.1.0 Sender address does not exist"),
        50
    );
}

#[test]
fn mailbox_unavailable_under_a_policy_code_is_a_block() {
    let reply = "550 5.7.1 Requested action not taken: mailbox unavailable (command rejected for \
                 policy reasons)";
    assert_eq!(classify_reply_text(reply), 50);
    assert_eq!(classify_reply_text("550 5.7.1 Mailbox unavailable"), 50);
    // Explicit words still win over a policy code.
    assert_eq!(classify_reply_text("550 5.7.1 No such user!"), 10);
}

#[test]
fn transient_replies_are_never_hard() {
    let hard_worded = [
        "450 4.1.1 user unknown",
        "451 no such user",
        "450 4.1.3 Bad recipient address syntax",
        "421 4.7.0 unsubscribe request",
        "452 The email account that you tried to reach does not exist",
        "550 4.1.1 user unknown",
    ];
    for reply in hard_worded {
        assert_eq!(classify_reply_text(reply), 20, "{reply}");
    }
    for reply in ["450 4.1.1 Rejected", "451 4.1.6 Moved", "4.1.1"] {
        assert_eq!(classify_reply_text(reply), 70, "{reply}");
    }
}

#[test]
fn transient_replies_get_soft_classes_from_their_codes() {
    // A policy code on a transient reply without telling words: delayed, not blocked.
    assert_eq!(classify_reply_text("421 4.7.0 closing connection"), 70);
    // Codes that already give a soft class keep it.
    assert_eq!(classify_reply_text("452 4.2.2 Rejected"), 22);
    assert_eq!(classify_reply_text("451 4.4.3 Rejected"), 21);
}

#[test]
fn postfix_fragments_and_separate_parts_agree() {
    let line = "to=<a@example.com>, relay=mx.example.com[192.0.2.1]:25, delay=1, \
                delays=0.1/0/0.5/0.4, dsn=5.2.2, status=bounced (host mx.example.com[192.0.2.1] \
                said: 552 Requested mail action aborted (in reply to end of DATA command))";
    assert_eq!(classify_reply_text(line), 22);
    let parts = SmtpReply::new(
        Some(552),
        EnhancedStatus::parse("5.2.2"),
        "Requested mail action aborted",
    );
    assert_eq!(classify_bounce(&parts), 22);
}

#[test]
fn tables_give_listed_classes_and_hold_only_lower_case_ascii_phrases() {
    let listed = |class: u16| BOUNCE_CLASSES.iter().any(|listed| listed.code == class);
    for rule in TEXT_RULES {
        assert!(listed(rule.class), "class {}", rule.class);
        let (Phrases::Any(phrases) | Phrases::All(phrases)) = rule.phrases;
        assert!(!phrases.is_empty());
        for phrase in phrases {
            let canonical = phrase.is_ascii()
                && !phrase.is_empty()
                && *phrase == phrase.to_ascii_lowercase()
                && *phrase == phrase.trim();
            assert!(canonical, "{phrase:?}");
        }
    }
    for rule in CODE_RULES {
        assert!(listed(rule.class), "class {}", rule.class);
    }
}

#[test]
fn hard_classes_come_only_from_explicit_evidence() {
    // No enhanced-code fallback gives a hard class except the addressing ones named in the
    // module docs.
    let hard: Vec<(u16, Option<u16>)> = CODE_RULES
        .iter()
        .filter(|rule| is_hard(rule.class))
        .map(|rule| (rule.subject, rule.detail))
        .collect();
    assert_eq!(hard, [(1, Some(1)), (1, Some(6)), (1, Some(3))]);
    assert_eq!(category(UNDETERMINED), Some(BounceCategory::Undetermined));
}

/// Text made of reply-like pieces: codes, phrases of every rule, punctuation and noise.
fn reply_text() -> impl Strategy<Value = String> {
    let phrases: Vec<&'static str> = TEXT_RULES
        .iter()
        .flat_map(|rule| match rule.phrases {
            Phrases::Any(phrases) | Phrases::All(phrases) => phrases.iter().copied(),
        })
        .collect();
    let piece = prop_oneof![
        proptest::sample::select(phrases).prop_map(str::to_owned),
        proptest::sample::select(vec![
            "550",
            "550-",
            "550-5.1.1",
            "4.2.2",
            "5.7.1",
            "dsn=",
            "dsn=4.0.0,",
            "said: ",
            "status=",
            "(",
            ")",
            "#",
            "-",
            ".",
            " ",
            "\t",
            "\r\n",
            "é",
            "İ",
            "\u{2019}",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(proptest_config(512))]

    #[test]
    fn any_text_gets_a_listed_class(raw in reply_text()) {
        let class = classify_reply_text(&raw);
        prop_assert!(bounce_class(class).is_some(), "{class} for {raw:?}");
        let reply = SmtpReply::parse(&raw);
        if reply.is_transient() {
            prop_assert!(!is_hard(class), "{class} for {raw:?}");
        }
    }

    #[test]
    fn any_parts_get_a_listed_class(
        code in proptest::option::of(any::<u16>()),
        enhanced in proptest::option::of((prop_oneof![Just(2u8), Just(4), Just(5)], 0u16..1000,
            0u16..1000)),
        text in reply_text(),
    ) {
        let enhanced = enhanced
            .map(|(class, subject, detail)| EnhancedStatus { class, subject, detail });
        let reply = SmtpReply::new(code, enhanced, &text);
        let class = classify_bounce(&reply);
        prop_assert!(bounce_class(class).is_some());
        if reply.is_transient() {
            prop_assert!(!is_hard(class));
        }
    }
}
