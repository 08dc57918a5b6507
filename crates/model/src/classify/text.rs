//! Reply text made comparable, and the phrase matching the rules use.
//!
//! Text is lower-cased, curly apostrophes are made straight, whitespace runs become one space
//! and the continuation markers of multi-line replies (`550-5.1.1`, `550-`) are dropped, so
//! that a phrase split over two reply lines still matches. Phrases match at the start of a
//! word and may end mid-word: `greylist` matches `greylisted`, `rbl` does not match `garble`.

/// How much of a reply is read, in bytes. Replies are a few hundred bytes; the cap bounds
/// the work an unusual input can cause, and what matters comes first.
const MAX_TEXT_BYTES: usize = 4096;

/// Reply text prepared for [`contains_phrase`].
pub(super) fn normalize(text: &str) -> String {
    let text = truncate_at_char_boundary(text, MAX_TEXT_BYTES);
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if is_continuation_marker(word) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            match c {
                '\u{2018}' | '\u{2019}' => out.push('\''),
                _ => out.extend(c.to_lowercase()),
            }
        }
    }
    out
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate_at_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `550-` or `550-5.1.1`: the reply code and hyphen that start each line but the last of a
/// multi-line reply.
fn is_continuation_marker(word: &str) -> bool {
    let bytes = word.as_bytes();
    bytes.len() >= 4
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b'-'
        && bytes[4..].iter().all(|&b| b.is_ascii_digit() || b == b'.')
}

/// Whether `phrase` (lower case) occurs in normalized `text` at the start of a word. A
/// phrase starting with punctuation (`[internal]`) matches anywhere.
pub(super) fn contains_phrase(text: &str, phrase: &str) -> bool {
    let needs_word_start = phrase.starts_with(|c: char| c.is_alphanumeric());
    let mut from = 0;
    while let Some(found) = text[from..].find(phrase) {
        let start = from + found;
        if !needs_word_start || starts_word(text, start) {
            return true;
        }
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Whether the character before byte `index` of `text` is not a letter or digit.
fn starts_word(text: &str, index: usize) -> bool {
    text[..index]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_lower_cased_and_joined_over_continuation_lines() {
        let text = normalize(
            "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n\
             550-5.1.1 double-checking the recipient\u{2019}s email address",
        );
        assert_eq!(
            text,
            "the email account that you tried to reach does not exist. please try \
             double-checking the recipient's email address"
        );
        assert_eq!(normalize("550- Mailbox  FULL"), "mailbox full");
        assert_eq!(normalize("550 5.1.1 x"), "550 5.1.1 x");
    }

    #[test]
    fn phrases_match_at_word_starts_only() {
        let text = normalize("Client host [192.0.2.1] blocked using zen.spamhaus.org; greylisted");
        assert!(contains_phrase(&text, "blocked using"));
        assert!(contains_phrase(&text, "spamhaus"));
        assert!(contains_phrase(&text, "greylist"));
        assert!(!contains_phrase(&text, "haus"));
        assert!(!contains_phrase(&normalize("garbled"), "rbl"));
        assert!(contains_phrase(
            &normalize("dnsbl.example [internal]"),
            "[internal]"
        ));
        assert!(contains_phrase(
            &normalize("xx unsubscribe request, subscribe request"),
            "subscribe request"
        ));
        assert!(!contains_phrase(
            &normalize("unsubscribe request"),
            "subscribe request"
        ));
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let text = "é".repeat(MAX_TEXT_BYTES);
        assert_eq!(normalize(&text).len(), MAX_TEXT_BYTES);
        let odd = format!("x{}", "é".repeat(MAX_TEXT_BYTES));
        assert_eq!(normalize(&odd).len(), MAX_TEXT_BYTES - 1);
    }
}
