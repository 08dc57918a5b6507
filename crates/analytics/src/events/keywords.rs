//! Keyword matching, as SparkPost's Events API documents it for its keyword parameters
//! (`campaigns`, `subjects`, `reasons`, …): a text is cut into keywords, and a query value
//! matches a text when every keyword of the value is a whole keyword of the text. So
//! `campaigns=blackfriday` matches `blackfriday-specials`, and `campaigns=friday` does not.
//!
//! Both sides are case-folded ([`fold_case`]). Stores derive the keywords of stored values with
//! these functions (at insert time or at query time), so every store cuts texts the same way.

/// Case folding for every case-insensitive comparison of the Events API: Unicode lower-casing
/// (`str::to_lowercase`).
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// How a text is cut into keywords.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tokenizer {
    /// Words: cut at whitespace (`char::is_whitespace`), `-` and `_`.
    Words,
    /// Domain segments: cut like [`Words`](Tokenizer::Words), and also at `.`.
    Domain,
}

impl Tokenizer {
    fn separates(self, c: char) -> bool {
        c.is_whitespace() || c == '-' || c == '_' || (self == Tokenizer::Domain && c == '.')
    }

    /// The distinct keywords of `text`, case-folded, in order of first appearance. Empty pieces
    /// (between adjacent separators, or at either end) are not keywords.
    pub fn tokens(self, text: &str) -> Vec<String> {
        let folded = fold_case(text);
        let mut tokens: Vec<String> = Vec::new();
        for piece in folded.split(|c| self.separates(c)) {
            if !piece.is_empty() && !tokens.iter().any(|t| t == piece) {
                tokens.push(piece.to_owned());
            }
        }
        tokens
    }

    /// `text`'s keywords in one string a store can match with a substring search: the folded
    /// text with every separator replaced by a space, and a space at each end. A keyword `k`
    /// is a keyword of `text` exactly when the result contains `" k "` (keywords never hold a
    /// separator). Repeated keywords stay, which no substring search minds.
    pub fn keyword_text(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 2);
        out.push(' ');
        for c in fold_case(text).chars() {
            out.push(if self.separates(c) { ' ' } else { c });
        }
        out.push(' ');
        out
    }

    /// Whether the query value `wanted` matches `text`: `wanted` has at least one keyword, and
    /// each of its keywords is a keyword of `text` (order and adjacency do not matter). A value
    /// made only of separators matches nothing.
    pub fn matches(self, text: &str, wanted: &str) -> bool {
        let wanted = self.tokens(wanted);
        if wanted.is_empty() {
            return false;
        }
        let have = self.tokens(text);
        wanted.iter().all(|w| have.contains(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkposts_example_matches_whole_keywords_only() {
        let campaign = "blackfriday-specials";
        assert!(Tokenizer::Words.matches(campaign, "blackfriday"));
        assert!(Tokenizer::Words.matches(campaign, "specials"));
        assert!(!Tokenizer::Words.matches(campaign, "friday"));
        assert!(!Tokenizer::Words.matches(campaign, "black"));
        assert!(Tokenizer::Words.matches(campaign, "blackfriday-specials"));
    }

    #[test]
    fn words_split_on_spaces_dashes_and_underscores() {
        assert_eq!(
            Tokenizer::Words.tokens("Summer  deals_are-here!\tNow"),
            ["summer", "deals", "are", "here!", "now"]
        );
        assert_eq!(
            Tokenizer::Words.tokens("mail.example.com"),
            ["mail.example.com"]
        );
        assert_eq!(Tokenizer::Words.tokens("--_ "), Vec::<String>::new());
        assert_eq!(Tokenizer::Words.tokens("a-a_A"), ["a"], "distinct keywords");
    }

    #[test]
    fn domains_also_split_on_periods() {
        assert_eq!(
            Tokenizer::Domain.tokens("Mail.Example-Corp.com"),
            ["mail", "example", "corp", "com"]
        );
        assert!(Tokenizer::Domain.matches("mail.gmail.com", "gmail"));
        assert!(Tokenizer::Domain.matches("mail.gmail.com", "gmail.com"));
        assert!(!Tokenizer::Domain.matches("mail.gmail.com", "mail.yahoo.com"));
        assert!(!Tokenizer::Domain.matches("gmail.com", "gmai"));
        assert!(
            !Tokenizer::Words.matches("mail.gmail.com", "gmail"),
            "words keep periods"
        );
    }

    #[test]
    fn keyword_text_holds_exactly_the_keywords() {
        let texts = [
            "Summer  deals_are-here!\tNow",
            "Mail.Example-Corp.com",
            "ÉTÉ soldes",
            "--_ ",
            "",
            "a-a_A",
            "x\u{2003}y",
        ];
        let probes = [
            "summer",
            "deals are",
            "here!",
            "now",
            "mail",
            "example.com",
            "corp",
            "été",
            "a",
            "x",
            "y",
            "deal",
            "-",
            "mail.example",
        ];
        for tokenizer in [Tokenizer::Words, Tokenizer::Domain] {
            for text in texts {
                let joined = tokenizer.keyword_text(text);
                for wanted in probes {
                    let tokens = tokenizer.tokens(wanted);
                    let by_substring = !tokens.is_empty()
                        && tokens.iter().all(|t| joined.contains(&format!(" {t} ")));
                    assert_eq!(
                        by_substring,
                        tokenizer.matches(text, wanted),
                        "{tokenizer:?} {text:?} {wanted:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn matching_ignores_case_order_and_needs_a_keyword() {
        assert!(Tokenizer::Words.matches("Black Friday Sale", "sale BLACK"));
        assert!(Tokenizer::Words.matches("ÉTÉ soldes", "été"));
        assert!(!Tokenizer::Words.matches("Black Friday Sale", "black monday"));
        assert!(!Tokenizer::Words.matches("anything", "-"));
        assert!(!Tokenizer::Words.matches("anything", ""));
        assert!(!Tokenizer::Words.matches("", "x"));
    }
}
