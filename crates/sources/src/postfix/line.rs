//! One Postfix log message read into a [`PostfixLine`]: which instance and service wrote it,
//! which queue entry it is about, and the record it holds.
//!
//! The program name is Postfix's `syslog_name` plus the service: `postfix/smtp`,
//! `postfix/submission/smtpd` (a master.cf override), `postfix-out/qmgr` (a second instance
//! of a multi-instance setup). The instance is the first segment, the service the last; a
//! program is Postfix's when its first segment starts with `postfix` or is one of the names
//! the caller lists.
//!
//! The message starts with a queue id and `: `. Short ids are upper-case hexadecimal;
//! long ids (`enable_long_queue_ids`) use digits and consonants, with a `z` after at least
//! ten of them ([`is_queue_id`]), which is what tells them from words such as `warning:`. `NOQUEUE` stands for none (an SMTP reject before
//! a queue file exists). The record is recognised by its first bytes (`client=`, `to=<`,
//! `removed`, …), so a line of no interest costs a few comparisons and no allocation. Each
//! record reader scans its text front to back once.

use memchr::memmem;

use super::scan::{angle_address, peer, reply, Peer, Reply};

/// A Postfix log message read into its parts, borrowing from the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostfixLine<'a> {
    /// The instance: the first segment of the program name (`postfix`, `postfix-out`).
    pub instance: &'a str,
    /// The service: the last segment (`smtpd`, `cleanup`, `qmgr`, `smtp`, …).
    pub service: &'a str,
    /// The queue id; `None` for `NOQUEUE`.
    pub queue_id: Option<&'a str>,
    /// What the line says.
    pub record: Record<'a>,
}

/// The records of a message's life in the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// smtpd accepted a client's message into a new queue file: `client=name[addr]`.
    Client {
        /// The SMTP client.
        client: Peer<'a>,
        /// `orig_queue_id=` (a content filter's re-injection naming the original id).
        orig_queue_id: Option<&'a str>,
    },
    /// pickup took a locally submitted message: `uid=… from=<…>`.
    Pickup {
        /// The envelope sender.
        sender: &'a str,
    },
    /// cleanup read the `Message-ID` header (`<>` when there was none).
    MessageId {
        /// The header's value.
        message_id: &'a str,
    },
    /// qmgr queued the message: `from=<…>, size=…, nrcpt=… (queue active)`.
    Queued {
        /// The envelope sender (empty for the null sender).
        sender: &'a str,
        /// The size in bytes.
        size: Option<u64>,
        /// The number of recipients.
        nrcpt: Option<u32>,
    },
    /// qmgr gave up on a message: `from=<…>, status=expired, returned to sender`.
    Expired {
        /// The envelope sender.
        sender: &'a str,
        /// `force-expired` (by `postsuper -e`) rather than `expired`.
        forced: bool,
    },
    /// A delivery attempt for one recipient.
    Delivery(Delivery<'a>),
    /// bounce created a notification message: `sender non-delivery notification: NEWID`
    /// (also delay and success notifications, and the postmaster's copies).
    Notification {
        /// The queue id of the notification message.
        notice_id: &'a str,
    },
    /// The queue file is gone: the entry is complete.
    Removed,
    /// smtpd or cleanup refused (or held, discarded, warned about) a message or recipient.
    Reject(Reject<'a>),
}

/// One `to=<…>` line of a delivery agent (or of qmgr, for recipients it defers itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// The recipient, after address rewriting.
    pub to: &'a str,
    /// The recipient as the message was received with it, when it differs from `to`.
    pub orig_to: Option<&'a str>,
    /// The `relay=` value: `host[addr]:port`, `local`, `virtual`, `none`, …
    pub relay: &'a str,
    /// `delay=`: seconds since the message arrived, as logged.
    pub delay: Option<&'a str>,
    /// `dsn=`: the enhanced status code.
    pub dsn: Option<&'a str>,
    /// `status=`.
    pub status: Status<'a>,
    /// The text in parentheses after the status (the remote reply, or Postfix's reason).
    pub reply: Reply<'a>,
}

impl Delivery<'_> {
    /// The relay as a peer, when it is one (not `local`, `virtual`, `none`, …).
    pub fn relay_peer(&self) -> Option<Peer<'_>> {
        peer(self.relay)
    }
}

/// The outcome a `status=` value names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<'a> {
    /// `sent`: delivered (or handed to the next hop).
    Sent,
    /// `deferred`: will be retried.
    Deferred,
    /// `bounced`: failed for good.
    Bounced,
    /// `SOFTBOUNCE`: would have bounced, kept because of `soft_bounce = yes`.
    SoftBounce,
    /// Anything else (`expired`, address verification's `deliverable`, …).
    Other(&'a str),
}

/// What smtpd or cleanup did with a message it refused or flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectAction {
    /// `reject` (or `milter-reject`): refused.
    Reject,
    /// `reject_warning`: would have been refused; accepted.
    RejectWarning,
    /// `hold` (or `milter-hold`): accepted onto the hold queue.
    Hold,
    /// `discard` (or `milter-discard`): accepted and dropped.
    Discard,
}

/// A reject line: `reject: RCPT from host[addr]: 550 5.1.1 <x>: …; from=<…> to=<…> proto=…
/// helo=<…>` (smtpd) or `reject: header …; from=<…> to=<…> …: 5.7.1 …` (cleanup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject<'a> {
    /// What was done.
    pub action: RejectAction,
    /// The SMTP stage or the part checked: `RCPT`, `MAIL`, `END-OF-MESSAGE`, `header`, `body`.
    pub stage: &'a str,
    /// The SMTP client, when named.
    pub client: Option<Peer<'a>>,
    /// The reply sent (or, for cleanup, the text after the envelope).
    pub reply: Reply<'a>,
    /// `from=<…>`.
    pub from: Option<&'a str>,
    /// `to=<…>` (the recipient; with several, the first).
    pub to: Option<&'a str>,
    /// `proto=`: `SMTP` or `ESMTP`.
    pub proto: Option<&'a str>,
    /// `helo=<…>`.
    pub helo: Option<&'a str>,
}

/// What [`parse_message`] made of a line.
// Returned by value and matched at once; boxing the record would allocate for every line.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A record of interest.
    Line(PostfixLine<'a>),
    /// The program is not a Postfix one.
    NotPostfix,
    /// A Postfix line of no interest (connects, warnings, statistics, …).
    Ignored,
    /// A record recognised by its start that could not be read.
    Malformed {
        /// Which record it looked like.
        record: &'static str,
    },
}

/// Reads the message `message` logged by program `app`. `extra_instances` lists `syslog_name`s
/// that do not start with `postfix` but are Postfix instances.
pub fn parse_message<'a>(app: &'a str, message: &'a str, extra_instances: &[String]) -> Parsed<'a> {
    let Some((instance, service)) = program(app, extra_instances) else {
        return Parsed::NotPostfix;
    };
    let Some((id, rest)) = message.split_once(": ") else {
        return Parsed::Ignored;
    };
    let queue_id = if id == "NOQUEUE" {
        None
    } else if is_queue_id(id) {
        Some(id)
    } else {
        return Parsed::Ignored;
    };
    let record = match record(rest, queue_id.is_some()) {
        Ok(Some(record)) => record,
        Ok(None) => return Parsed::Ignored,
        Err(record) => return Parsed::Malformed { record },
    };
    Parsed::Line(PostfixLine {
        instance,
        service,
        queue_id,
        record,
    })
}

/// The instance and service of a Postfix program name.
fn program<'a>(app: &'a str, extra_instances: &[String]) -> Option<(&'a str, &'a str)> {
    let (instance, _) = app.split_once('/')?;
    let (_, service) = app.rsplit_once('/')?;
    let known = instance.starts_with("postfix") || extra_instances.iter().any(|x| x == instance);
    (known && !service.is_empty()).then_some((instance, service))
}

/// A short or a long queue id. Short: the arrival's microseconds (5 hex digits) and the
/// inode number, in upper-case hex. Long: see [`is_long_queue_id`].
pub fn is_queue_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    if !(6..=32).contains(&bytes.len()) {
        return false;
    }
    let short = bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b));
    short || is_long_queue_id(id)
}

/// A long queue id (`enable_long_queue_ids`): the arrival time in a 52-letter alphabet
/// (digits and consonants, at least 10 characters), `z`, the inode number. Such ids do not
/// repeat.
pub fn is_long_queue_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (11..=32).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() && !b"AEIOUaeiou".contains(b))
        && memchr::memrchr(b'z', bytes).is_some_and(|at| at >= 10)
}

/// Recognises and reads a record; `Ok(None)` for a line of no interest, `Err(name)` for a
/// recognised record that could not be read.
fn record(text: &str, has_queue_id: bool) -> Result<Option<Record<'_>>, &'static str> {
    if !has_queue_id {
        return Ok(reject_action(text)
            .map(|(action, rest)| reject(action, rest))
            .transpose()?
            .map(Record::Reject));
    }
    if let Some(rest) = text.strip_prefix("to=") {
        return delivery(rest)
            .map(|d| Some(Record::Delivery(d)))
            .ok_or("delivery");
    }
    if let Some(rest) = text.strip_prefix("from=") {
        return queued_or_expired(rest).map(Some).ok_or("qmgr");
    }
    if let Some(rest) = text.strip_prefix("client=") {
        return client(rest).map(Some).ok_or("client");
    }
    if let Some(rest) = text.strip_prefix("message-id=") {
        return Ok(Some(Record::MessageId { message_id: rest }));
    }
    if text == "removed" {
        return Ok(Some(Record::Removed));
    }
    if text.starts_with("uid=") || text.starts_with("sender=") {
        return pickup(text).map(Some).ok_or("pickup");
    }
    if let Some((action, rest)) = reject_action(text) {
        return reject(action, rest).map(|r| Some(Record::Reject(r)));
    }
    if let Some(at) = memmem::find(text.as_bytes(), b" notification: ") {
        let notice_id = &text[at + 15..];
        return if is_queue_id(notice_id) {
            Ok(Some(Record::Notification { notice_id }))
        } else {
            Err("notification")
        };
    }
    Ok(None)
}

/// `<to>[, orig_to=<…>], relay=…, …, status=… (text)`.
fn delivery(text: &str) -> Option<Delivery<'_>> {
    let (to, rest) = angle_address(text, &[", orig_to=<", ", relay="])?;
    if to.is_empty() {
        return None;
    }
    let (orig_to, rest) = match rest.strip_prefix(", orig_to=") {
        Some(orig) => {
            let (orig_to, rest) = angle_address(orig, &[", relay="])?;
            (Some(orig_to), rest)
        }
        None => (None, rest),
    };
    let fields = rest.strip_prefix(", ")?;
    let (fields, status_text) = if let Some(status) = fields.strip_prefix("status=") {
        ("", status)
    } else {
        let at = memmem::find(fields.as_bytes(), b", status=")?;
        (&fields[..at], &fields[at + 9..])
    };
    let mut delivery = Delivery {
        to,
        orig_to,
        relay: "",
        delay: None,
        dsn: None,
        status: Status::Other(""),
        reply: reply(""),
    };
    for field in fields.split(", ") {
        match field.split_once('=') {
            Some(("relay", value)) => delivery.relay = value,
            Some(("delay", value)) => delivery.delay = Some(value),
            Some(("dsn", value)) => delivery.dsn = Some(value),
            _ => {}
        }
    }
    let (status, text) = status_text.split_once(' ').unwrap_or((status_text, ""));
    delivery.status = match status {
        "sent" => Status::Sent,
        "deferred" => Status::Deferred,
        "bounced" => Status::Bounced,
        "SOFTBOUNCE" => Status::SoftBounce,
        "" => return None,
        other => Status::Other(other),
    };
    let text = text
        .strip_prefix('(')
        .map_or(text, |t| t.strip_suffix(')').unwrap_or(t));
    delivery.reply = reply(text);
    Some(delivery)
}

/// qmgr's `<sender>, size=…, nrcpt=… (queue active)` or `<sender>, status=expired, returned to
/// sender`.
fn queued_or_expired(text: &str) -> Option<Record<'_>> {
    let (sender, rest) = angle_address(text, &[", size=", ", status="])?;
    if let Some(status) = rest.strip_prefix(", status=") {
        let forced = match status.split_once(',').map_or(status, |(s, _)| s) {
            "expired" => false,
            "force-expired" => true,
            _ => return None,
        };
        return Some(Record::Expired { sender, forced });
    }
    let mut size = None;
    let mut nrcpt = None;
    for field in rest.trim_start_matches(", ").split(", ") {
        match field.split_once('=') {
            Some(("size", value)) => size = value.parse().ok(),
            Some(("nrcpt", value)) => nrcpt = value.split(' ').next().and_then(|n| n.parse().ok()),
            _ => {}
        }
    }
    size.map(|size| Record::Queued {
        sender,
        size: Some(size),
        nrcpt,
    })
}

/// smtpd's `name[addr][, sasl_…][, orig_queue_id=…, orig_client=…]`.
fn client(text: &str) -> Option<Record<'_>> {
    let mut fields = text.split(", ");
    let client = peer(fields.next()?)?;
    let orig_queue_id = fields
        .find_map(|field| field.strip_prefix("orig_queue_id="))
        .filter(|id| is_queue_id(id));
    Some(Record::Client {
        client,
        orig_queue_id,
    })
}

/// pickup's `uid=… from=<…>` (older versions: `sender=<…>`).
fn pickup(text: &str) -> Option<Record<'_>> {
    let at = memmem::find(text.as_bytes(), b"from=<")
        .map(|at| at + 5)
        .or_else(|| memmem::find(text.as_bytes(), b"sender=<").map(|at| at + 7))?;
    let (sender, _) = angle_address(&text[at..], &["", " "])?;
    Some(Record::Pickup { sender })
}

/// Recognises `reject: `, `reject_warning: `, `hold: `, `discard: ` and their `milter-`
/// forms at the start of a message.
fn reject_action(text: &str) -> Option<(RejectAction, &str)> {
    let text = text.strip_prefix("milter-").unwrap_or(text);
    let (word, rest) = text.split_once(": ")?;
    let action = match word {
        "reject" => RejectAction::Reject,
        "reject_warning" => RejectAction::RejectWarning,
        "hold" => RejectAction::Hold,
        "discard" => RejectAction::Discard,
        _ => return None,
    };
    Some((action, rest))
}

/// Reads the rest of a reject line after `reject: `.
fn reject(action: RejectAction, text: &str) -> Result<Reject<'_>, &'static str> {
    const NAME: &str = "reject";
    // The envelope starts at the last `; from=<` (`; proto=` for CONNECT rejects, which
    // have no sender).
    let at = memmem::rfind(text.as_bytes(), b"; from=<")
        .or_else(|| memmem::rfind(text.as_bytes(), b"; proto="))
        .ok_or(NAME)?;
    let (head, tail) = (&text[..at], &text[at + 2..]);
    let stage = head.split(' ').next().unwrap_or("");
    let content_check = matches!(stage, "header" | "body" | "content");
    let mut result = Reject {
        action,
        stage,
        client: None,
        reply: reply(""),
        from: None,
        to: None,
        proto: None,
        helo: None,
    };
    if content_check {
        result.client =
            memmem::rfind(head.as_bytes(), b" from ").and_then(|i| peer(&head[i + 6..]));
    } else {
        let after = memmem::find(head.as_bytes(), b" from ")
            .map(|i| &head[i + 6..])
            .ok_or(NAME)?;
        let (client, reply_text) = after.split_once("]: ").ok_or(NAME)?;
        let close = client.len() + 1;
        result.client = peer(&after[..close]);
        result.reply = reply(reply_text);
    }
    // The envelope: from=<…> to=<…> proto=… helo=<…>, each optional after from, then (cleanup)
    // `: reply`.
    let mut rest = tail;
    while !rest.is_empty() {
        let (key, value) = rest.split_once('=').ok_or(NAME)?;
        let (value, after) = if value.starts_with('<') {
            angle_address(value, &[" ", ": ", ""]).ok_or(NAME)?
        } else {
            let end = value.find([' ', ':']).unwrap_or(value.len());
            (&value[..end], &value[end..])
        };
        match key {
            "from" => result.from = Some(value),
            "to" => result.to = Some(value).filter(|to| !to.is_empty()),
            "proto" => result.proto = Some(value),
            "helo" => result.helo = Some(value),
            _ => {}
        }
        if let Some(text) = after.strip_prefix(": ") {
            if content_check {
                result.reply = reply(text);
            }
            break;
        }
        rest = after.strip_prefix(' ').unwrap_or(after);
        if rest.len() == after.len() && !rest.is_empty() {
            return Err(NAME);
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(app: &'a str, message: &'a str) -> PostfixLine<'a> {
        match parse_message(app, message, &[]) {
            Parsed::Line(line) => line,
            other => panic!("{message}: {other:?}"),
        }
    }

    #[test]
    fn smtpd_client_lines() {
        let parsed = line("postfix/smtpd", "1CF582025C: client=xxx[2.3.4.5]");
        assert_eq!(
            (parsed.instance, parsed.service, parsed.queue_id),
            ("postfix", "smtpd", Some("1CF582025C"))
        );
        let Record::Client {
            client,
            orig_queue_id,
        } = parsed.record
        else {
            panic!()
        };
        assert_eq!(
            (client.name, client.addr, orig_queue_id),
            ("xxx", "2.3.4.5", None)
        );

        let parsed = line(
            "postfix/smtpd",
            "EB4B2C19E2: client=xxx[1.2.3.4], sasl_method=PLAIN, sasl_username=user@domain",
        );
        assert!(matches!(parsed.record, Record::Client { client, .. } if client.addr == "1.2.3.4"));

        let parsed = line("postfix/smtpd", "4Kx7bL0y3Tz1qF: client=localhost[127.0.0.1]:40312, orig_queue_id=3372E982BC, orig_client=mx[5.6.7.8]");
        assert_eq!(parsed.queue_id, Some("4Kx7bL0y3Tz1qF"));
        assert!(
            matches!(parsed.record, Record::Client { orig_queue_id: Some("3372E982BC"), client } if client.port == Some("40312"))
        );
    }

    #[test]
    fn pickup_cleanup_and_qmgr_lines() {
        let parsed = line("postfix/pickup", "ABCDEF1234: uid=1000 from=<root>");
        assert_eq!(parsed.record, Record::Pickup { sender: "root" });
        let parsed = line(
            "postfix/cleanup",
            "3372E982BC: message-id=<20110511080655.3372E982BC@vmail.domain.com>",
        );
        assert_eq!(
            parsed.record,
            Record::MessageId {
                message_id: "<20110511080655.3372E982BC@vmail.domain.com>"
            }
        );
        let parsed = line(
            "postfix/qmgr",
            "3372E982BC: from=<user@domain.com>, size=365, nrcpt=1 (queue active)",
        );
        assert_eq!(
            parsed.record,
            Record::Queued {
                sender: "user@domain.com",
                size: Some(365),
                nrcpt: Some(1)
            }
        );
        let parsed = line(
            "postfix/qmgr",
            "09ABB982BE: from=<>, size=2237, nrcpt=1 (queue active)",
        );
        assert!(matches!(parsed.record, Record::Queued { sender: "", .. }));
        let parsed = line(
            "postfix/qmgr",
            "BACE842E72: from=<noreply@domain.com>, status=expired, returned to sender",
        );
        assert_eq!(
            parsed.record,
            Record::Expired {
                sender: "noreply@domain.com",
                forced: false
            }
        );
        let parsed = line(
            "postfix/qmgr",
            "BACE842E72: from=<a@b>, status=force-expired, returned to sender",
        );
        assert_eq!(
            parsed.record,
            Record::Expired {
                sender: "a@b",
                forced: true
            }
        );
        let parsed = line("postfix/qmgr", "AAB4D259B1: removed");
        assert_eq!(parsed.record, Record::Removed);
        let parsed = line(
            "postfix/bounce",
            "732BB407C3: sender non-delivery notification: 5DE184083C",
        );
        assert_eq!(
            parsed.record,
            Record::Notification {
                notice_id: "5DE184083C"
            }
        );
    }

    #[test]
    fn delivery_lines() {
        let parsed = line("postfix/smtp", "5270320179: to=<hebj@telia.com>, relay=mail.telia.com[81.236.60.210]:25, delay=2017, delays=0.1/2017/0.03/0.05, dsn=2.0.0, status=sent (250 2.0.0 6FVIjIMwUJwU66FVIjAEB0 mail accepted for delivery)");
        let Record::Delivery(d) = parsed.record else {
            panic!()
        };
        assert_eq!(
            (d.to, d.orig_to, d.delay, d.dsn, d.status),
            (
                "hebj@telia.com",
                None,
                Some("2017"),
                Some("2.0.0"),
                Status::Sent
            )
        );
        assert_eq!(d.relay_peer().map(|p| p.addr), Some("81.236.60.210"));
        assert_eq!(d.reply.code, Some(250));
        assert_eq!(
            d.reply.text,
            "250 2.0.0 6FVIjIMwUJwU66FVIjAEB0 mail accepted for delivery"
        );

        let parsed = line("postfix/virtual", "3372E982BC: to=<bob/@domain.com>, orig_to=<bob@domain.com>, relay=virtual, delay=29, delays=29/0.01/0/0.06, dsn=5.1.1, status=bounced (unknown user: \"bob/@domain.com\")");
        let Record::Delivery(d) = parsed.record else {
            panic!()
        };
        assert_eq!(
            (d.to, d.orig_to, d.relay, d.status),
            (
                "bob/@domain.com",
                Some("bob@domain.com"),
                "virtual",
                Status::Bounced
            )
        );
        assert_eq!(d.relay_peer(), None);
        assert_eq!(d.reply.text, "unknown user: \"bob/@domain.com\"");

        let parsed = line("postfix/smtp", "732BB407C3: to=<redacted@domain.com>, relay=mail.domain.com[1.1.1.1]:25, conn_use=2, delay=6.2, delays=0.1/0/5.2/0.87, dsn=4.0.0, status=deferred (host mail.domain.com[1.1.1.1] said: 451 DT:SPM 163 mx40, please try again 15min later (in reply to end of DATA command))");
        let Record::Delivery(d) = parsed.record else {
            panic!()
        };
        assert_eq!(
            (d.status, d.reply.code, d.delay),
            (Status::Deferred, Some(451), Some("6.2"))
        );
        assert!(d.reply.text.ends_with("(in reply to end of DATA command)"));

        let parsed = line("postfix/smtp", "ABCDE12345: to=<a@b>, relay=none, delay=1, delays=1/0/0/0, dsn=5.0.0, status=SOFTBOUNCE (x)");
        assert!(matches!(
            parsed.record,
            Record::Delivery(Delivery {
                status: Status::SoftBounce,
                ..
            })
        ));
        let parsed = line(
            "postfix/smtp",
            "ABCDE12345: to=<a@b>, relay=none, status=deliverable (ok)",
        );
        assert!(matches!(
            parsed.record,
            Record::Delivery(Delivery {
                status: Status::Other("deliverable"),
                ..
            })
        ));
    }

    #[test]
    fn reject_lines() {
        let parsed = line("postfix/smtpd", "NOQUEUE: reject: RCPT from internal.example.net[99.88.77.66]: 553 5.7.1 <segreteria@babel.it>: Sender address rejected: not logged in; from=<segreteria@babel.it> to=<segreteria@babel.it> proto=ESMTP helo=<snix>");
        assert_eq!(parsed.queue_id, None);
        let Record::Reject(r) = parsed.record else {
            panic!()
        };
        assert_eq!((r.action, r.stage), (RejectAction::Reject, "RCPT"));
        assert_eq!(r.client.map(|c| c.addr), Some("99.88.77.66"));
        assert_eq!((r.reply.code, r.reply.enhanced), (Some(553), Some("5.7.1")));
        assert_eq!(
            r.reply.text,
            "553 5.7.1 <segreteria@babel.it>: Sender address rejected: not logged in"
        );
        assert_eq!(
            (r.from, r.to, r.proto, r.helo),
            (
                Some("segreteria@babel.it"),
                Some("segreteria@babel.it"),
                Some("ESMTP"),
                Some("snix")
            )
        );

        let parsed = line("postfix/cleanup", "6A9D51C0A3: reject: header Subject: mail from bob from localhost[127.0.0.1]; from=<a@b.example> to=<c@d.example> proto=ESMTP helo=<x>: 5.7.1 Message content rejected");
        let Record::Reject(r) = parsed.record else {
            panic!()
        };
        assert_eq!(
            (r.stage, r.client.map(|c| c.addr)),
            ("header", Some("127.0.0.1"))
        );
        assert_eq!(
            (r.reply.code, r.reply.enhanced, r.reply.text),
            (None, Some("5.7.1"), "5.7.1 Message content rejected")
        );
        assert_eq!((r.from, r.to), (Some("a@b.example"), Some("c@d.example")));

        let parsed = line("postfix/smtpd", "NOQUEUE: reject_warning: MAIL from x[1.2.3.4]: 450 4.7.1 bad; from=<a@b> proto=SMTP helo=<h>");
        let Record::Reject(r) = parsed.record else {
            panic!()
        };
        assert_eq!(
            (r.action, r.to, r.proto),
            (RejectAction::RejectWarning, None, Some("SMTP"))
        );
        let parsed = line("postfix/smtpd", "NOQUEUE: reject: CONNECT from x[1.2.3.4]: 554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked; proto=SMTP");
        let Record::Reject(r) = parsed.record else {
            panic!()
        };
        assert_eq!(
            (r.stage, r.from, r.to, r.proto),
            ("CONNECT", None, None, Some("SMTP"))
        );
        let parsed = line("postfix/cleanup", "6A9D51C0A3: milter-reject: END-OF-MESSAGE from x[1.2.3.4]: 5.7.1 Spam; from=<a@b> to=<c@d> proto=ESMTP helo=<h>");
        assert!(matches!(
            parsed.record,
            Record::Reject(Reject {
                action: RejectAction::Reject,
                stage: "END-OF-MESSAGE",
                ..
            })
        ));
    }

    #[test]
    fn programs_and_instances() {
        let parsed = line("postfix-out/qmgr", "AAB4D259B1: removed");
        assert_eq!((parsed.instance, parsed.service), ("postfix-out", "qmgr"));
        let parsed = line("postfix/submission/smtpd", "AAB4D259B1: client=a[1.2.3.4]");
        assert_eq!((parsed.instance, parsed.service), ("postfix", "smtpd"));
        assert_eq!(
            parse_message("sshd", "AAB4D259B1: removed", &[]),
            Parsed::NotPostfix
        );
        assert_eq!(
            parse_message("mta2/qmgr", "AAB4D259B1: removed", &[]),
            Parsed::NotPostfix
        );
        assert!(matches!(
            parse_message("mta2/qmgr", "AAB4D259B1: removed", &["mta2".to_owned()]),
            Parsed::Line(_)
        ));
        assert_eq!(
            parse_message("postfix", "AAB4D259B1: removed", &[]),
            Parsed::NotPostfix
        );
    }

    #[test]
    fn lines_of_no_interest_are_ignored_and_broken_records_named() {
        for message in [
            "connect from localhost[127.0.0.1]",
            "warning: hostname x does not resolve",
            "732BB407C3: host mail.domain.com[1.1.1.1] said: 451 try later (in reply to end of DATA command)",
            "statistics: max connection rate 1/60s",
            "732BB407C3: lost connection with x[1.2.3.4] while sending RCPT TO",
            "NOQUEUE: lost connection",
        ] {
            assert_eq!(parse_message("postfix/smtp", message, &[]), Parsed::Ignored, "{message}");
        }
        for (message, record) in [
            ("732BB407C3: to=<a@b>", "delivery"),
            (
                "732BB407C3: to=<>, relay=x, delay=1, dsn=2.0.0, status=sent (ok)",
                "delivery",
            ),
            ("732BB407C3: to=<a@b>, relay=x, delay=1", "delivery"),
            ("732BB407C3: from=<a@b>", "qmgr"),
            ("732BB407C3: from=<a@b>, status=weird", "qmgr"),
            ("732BB407C3: client=nobrackets", "client"),
            (
                "NOQUEUE: reject: RCPT from x[1.2.3.4]: 550 no envelope",
                "reject",
            ),
            (
                "732BB407C3: sender non-delivery notification: ",
                "notification",
            ),
        ] {
            assert_eq!(
                parse_message("postfix/smtp", message, &[]),
                Parsed::Malformed { record },
                "{message}"
            );
        }
    }

    #[test]
    fn queue_ids() {
        for id in ["1CF582025C", "ABCDE1", "4Kx7bL0y3Tz1qF", "3cKV8X0bWxz5V7W"] {
            assert!(is_queue_id(id), "{id}");
        }
        for id in [
            "warning",
            "NOQUEUE",
            "ABCDE",
            "statistics",
            "1CF5-8202",
            "fatal",
            "panic",
            "sync",
            "4Kx7bL0y3T1qF",
            "4Kx7bLz0y3T1qF",
        ] {
            assert!(!is_queue_id(id), "{id}");
        }
        assert!(is_long_queue_id("4Kx7bL0y3Tz1qF"));
        assert!(!is_long_queue_id("1CF582025C"));
        assert!(!is_long_queue_id("ABCDEF1234z"));
    }
}
