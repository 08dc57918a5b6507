//! Small readers shared by the record parsers: peers (`name[addr]:port`), SMTP replies,
//! `queued as` ids, addresses in angle brackets and decimal delays.
//!
//! Each looks at its input once, front to back (memchr/memmem), so it is linear in the text
//! it is given and allocates nothing.

use memchr::memmem;

/// A host as Postfix logs it: `name[addr]`, optionally `:port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer<'a> {
    /// The host name (`unknown` when it has none).
    pub name: &'a str,
    /// The address between the brackets.
    pub addr: &'a str,
    /// The port after the brackets, when logged.
    pub port: Option<&'a str>,
}

/// Reads `name[addr]` or `name[addr]:port`; `None` when there are no brackets.
pub fn peer(text: &str) -> Option<Peer<'_>> {
    let open = memchr::memchr(b'[', text.as_bytes())?;
    let close = memchr::memrchr(b']', text.as_bytes())?;
    if close < open {
        return None;
    }
    let after = &text[close + 1..];
    let port = match after.strip_prefix(':') {
        Some(port) if !port.is_empty() => Some(port),
        _ if after.is_empty() => None,
        _ => return None,
    };
    Some(Peer {
        name: &text[..open],
        addr: &text[open + 1..close],
        port,
    })
}

/// An SMTP reply split into its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The three-digit reply code, when the text has one.
    pub code: Option<u16>,
    /// The enhanced status code (`5.1.1`), when the text has one.
    pub enhanced: Option<&'a str>,
    /// The whole text.
    pub text: &'a str,
}

/// Reads the reply codes in a delivery or reject text: after `said: ` when the text quotes a
/// remote server (`host mx[1.2.3.4] said: 550 5.1.1 …`), else at its start (`250 2.0.0 Ok`,
/// `553 5.7.1 <x>: …`, `5.7.1 message content rejected`).
pub fn reply(text: &str) -> Reply<'_> {
    let start = memmem::find(text.as_bytes(), b" said: ").map_or(text, |at| &text[at + 7..]);
    let (code, rest) = match start.as_bytes() {
        [a, b, c, tail @ ..]
            if [a, b, c].iter().all(|d| d.is_ascii_digit())
                && matches!(tail.first(), None | Some(b' ' | b'-')) =>
        {
            let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
            (Some(code), start.get(4..).unwrap_or(""))
        }
        _ => (None, start),
    };
    let token = rest.split(' ').next().unwrap_or("");
    let enhanced = is_enhanced_status(token).then_some(token);
    Reply {
        code,
        enhanced,
        text,
    }
}

/// `class.subject.detail`: a digit 2, 4 or 5, then two numbers of 1 to 3 digits.
pub fn is_enhanced_status(token: &str) -> bool {
    let mut parts = token.split('.');
    let class = parts.next().unwrap_or("");
    let number = |part: Option<&str>| {
        part.is_some_and(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    matches!(class, "2" | "4" | "5")
        && number(parts.next())
        && number(parts.next())
        && parts.next().is_none()
}

/// The queue id in a `… queued as NEWID` reply (the text a content filter or another Postfix
/// answers with), when there is one.
pub fn queued_as(reply: &str) -> Option<&str> {
    let at = memmem::find(reply.as_bytes(), b"queued as ")?;
    let rest = &reply[at + 10..];
    let len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
    (len > 0).then(|| &rest[..len])
}

/// Splits `<address>` + `after` at the first `>` followed by one of `ends` (or by the end of
/// the text when `ends` holds `""`): the address and the text after the `>`.
pub fn angle_address<'a>(text: &'a str, ends: &[&str]) -> Option<(&'a str, &'a str)> {
    let inner = text.strip_prefix('<')?;
    for at in memchr::memchr_iter(b'>', inner.as_bytes()) {
        let after = &inner[at + 1..];
        if ends.iter().any(|end| {
            if end.is_empty() {
                after.is_empty()
            } else {
                after.starts_with(end)
            }
        }) {
            return Some((&inner[..at], after));
        }
    }
    None
}

/// A non-negative decimal number of seconds (`2017`, `6.2`, `0.08`) in whole milliseconds,
/// digits past the third decimal dropped; `None` when it is not such a number or too large.
pub fn seconds_to_millis(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut millis: u64 = whole.parse().ok()?;
    for index in 0..3 {
        let digit = fraction
            .as_bytes()
            .get(index)
            .map_or(0, |b| u64::from(b - b'0'));
        millis = millis * 10 + digit;
    }
    Some(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers() {
        assert_eq!(
            peer("mail.telia.com[81.236.60.210]:25"),
            Some(Peer {
                name: "mail.telia.com",
                addr: "81.236.60.210",
                port: Some("25")
            })
        );
        assert_eq!(
            peer("xxx[2.3.4.5]").map(|p| (p.addr, p.port)),
            Some(("2.3.4.5", None))
        );
        assert_eq!(
            peer("mx[2001:db8::1]:25").map(|p| p.addr),
            Some("2001:db8::1")
        );
        assert_eq!(peer("virtual"), None);
        assert_eq!(peer("a]b[c"), None);
        assert_eq!(peer("a[b]junk"), None);
    }

    #[test]
    fn replies() {
        let r = reply("host mail.domain.com[1.1.1.1] said: 451 DT:SPM 163 mx40 (in reply to end of DATA command)");
        assert_eq!((r.code, r.enhanced), (Some(451), None));
        let r = reply("host mx[1.2.3.4] said: 550 5.1.1 <a@b>: Recipient address rejected");
        assert_eq!((r.code, r.enhanced), (Some(550), Some("5.1.1")));
        let r = reply("250 2.0.0 Ok: queued as 4AB");
        assert_eq!((r.code, r.enhanced), (Some(250), Some("2.0.0")));
        let r = reply("5.7.1 message content rejected");
        assert_eq!((r.code, r.enhanced), (None, Some("5.7.1")));
        let r = reply("unknown user: \"bob/@domain.com\"");
        assert_eq!((r.code, r.enhanced), (None, None));
        assert_eq!(reply("4511 x").code, None);
        assert!(!is_enhanced_status("5.1"));
        assert!(!is_enhanced_status("3.1.1"));
        assert!(!is_enhanced_status("5.1.1234"));
    }

    #[test]
    fn queued_as_ids() {
        assert_eq!(
            queued_as("250 2.0.0 Ok: queued as 5DE184083C"),
            Some("5DE184083C")
        );
        assert_eq!(queued_as("250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4Kx7bL0y3Tz1qF)"), Some("4Kx7bL0y3Tz1qF"));
        assert_eq!(queued_as("250 ok"), None);
        assert_eq!(queued_as("queued as "), None);
    }

    #[test]
    fn angle_addresses() {
        assert_eq!(
            angle_address("<a@b>, relay=x", &[", relay="]),
            Some(("a@b", ", relay=x"))
        );
        assert_eq!(
            angle_address("<a>b@c>, relay=x", &[", relay="]),
            Some(("a>b@c", ", relay=x"))
        );
        assert_eq!(angle_address("<>", &[""]), Some(("", "")));
        assert_eq!(angle_address("<a@b", &[""]), None);
        assert_eq!(angle_address("a@b>", &[""]), None);
    }

    #[test]
    fn delays_in_milliseconds() {
        assert_eq!(seconds_to_millis("2017"), Some(2_017_000));
        assert_eq!(seconds_to_millis("6.2"), Some(6_200));
        assert_eq!(seconds_to_millis("0.08"), Some(80));
        assert_eq!(seconds_to_millis("0.0849"), Some(84));
        assert_eq!(seconds_to_millis(".5"), None);
        assert_eq!(seconds_to_millis("1e3"), None);
        assert_eq!(seconds_to_millis("9999999999999"), None);
    }
}
