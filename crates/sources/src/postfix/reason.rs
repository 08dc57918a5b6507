//! `reason`: the reply text with the details that differ from message to message hidden,
//! as SparkPost canonicalises it (`raw_reason` keeps the text as it was), so that equal
//! failures group together: IPv4 addresses become `a.b.c.d` and addresses in angle brackets
//! `<...>`.
//!
//! One pass over the text: each `<` looks ahead only to the next `<` or `>`, an address at
//! most 15 bytes, so the cost is linear in the text's length.

/// The canonical form of a reply text.
pub fn canonical_reason(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == b'<' {
            match memchr::memchr2(b'<', b'>', &bytes[at + 1..]) {
                Some(len) if bytes[at + 1 + len] == b'>' => {
                    let inner = &raw[at + 1..at + 1 + len];
                    if inner.contains('@') {
                        out.push_str(&raw[copied..at]);
                        out.push_str("<...>");
                        copied = at + len + 2;
                    }
                    at += len + 2;
                }
                Some(len) => at += len + 1,
                None => break,
            }
        } else if byte.is_ascii_digit() && (at == 0 || !is_word_or_dot(bytes[at - 1])) {
            match ipv4_len(&bytes[at..]) {
                Some(len) => {
                    out.push_str(&raw[copied..at]);
                    out.push_str("a.b.c.d");
                    copied = at + len;
                    at += len;
                }
                None => at += 1,
            }
        } else {
            at += 1;
        }
    }
    out.push_str(&raw[copied..]);
    out
}

fn is_word_or_dot(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'.'
}

/// The length of a dotted-quad IPv4 address at the start of `bytes` that is not part of a
/// longer run of digits and dots.
fn ipv4_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    for group in 0..4 {
        if group > 0 {
            if bytes.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let digits = bytes[at.min(bytes.len())..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if !(1..=3).contains(&digits) {
            return None;
        }
        let value: u32 = bytes[at..at + digits]
            .iter()
            .fold(0, |n, b| n * 10 + u32::from(b - b'0'));
        if value > 255 {
            return None;
        }
        at += digits;
    }
    let continues = match bytes.get(at) {
        Some(b'.') => bytes.get(at + 1).is_some_and(u8::is_ascii_digit),
        Some(byte) => byte.is_ascii_alphanumeric(),
        None => false,
    };
    (!continues).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_addresses_and_keeps_the_rest() {
        assert_eq!(
            canonical_reason("host mx.example.net[192.0.2.7] said: 550 5.1.1 <Bob@Example.net>: Recipient address rejected (in reply to RCPT TO command)"),
            "host mx.example.net[a.b.c.d] said: 550 5.1.1 <...>: Recipient address rejected (in reply to RCPT TO command)"
        );
        assert_eq!(
            canonical_reason("MAIL REFUSED - IP (17.99.99.99) is in black list"),
            "MAIL REFUSED - IP (a.b.c.d) is in black list"
        );
        assert_eq!(
            canonical_reason("connect to x[2001:db8::1]:25: timed out"),
            "connect to x[2001:db8::1]:25: timed out"
        );
    }

    #[test]
    fn leaves_things_that_only_look_alike() {
        for text in [
            "version 1.2.3.4.5 here",
            "id 1234.5.6.7",
            "no 256.1.1.1",
            "<not an address>",
            "a <b <c@d",
            "x1.2.3.4",
            "5.7.1 blocked",
            "",
        ] {
            assert_eq!(canonical_reason(text), text, "{text}");
        }
        assert_eq!(canonical_reason("<<a@b>"), "<<...>");
        assert_eq!(canonical_reason("1.2.3.4."), "a.b.c.d.");
        assert_eq!(canonical_reason("(1.2.3.4)"), "(a.b.c.d)");
    }

    #[test]
    fn pathological_text_is_read_in_one_pass() {
        let text = "<".repeat(100_000) + &"1.".repeat(100_000);
        assert_eq!(canonical_reason(&text), text);
    }
}
