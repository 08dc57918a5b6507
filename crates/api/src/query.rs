//! A request's query string as the SparkPost APIs read it: parameters by name (the first of
//! repeated ones wins), blank values absent, list parameters split by `delimiter`.

/// Query parameters, in the order given (the first of repeated ones wins; unknown ones are
/// ignored by the readers, and kept for links).
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes a raw query string.
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Self { pairs }
    }

    /// Every parameter as given.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `name` without surrounding blanks; a blank value counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.raw(name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }

    /// What separates the items of list parameters: `delimiter`, by default `,`.
    pub(crate) fn delimiter(&self) -> &str {
        self.raw("delimiter")
            .filter(|d| !d.is_empty())
            .unwrap_or(",")
    }

    /// The items of the list parameter `name`, each trimmed, blanks dropped; `None` when there
    /// are none.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<String>> {
        let items: Vec<String> = self
            .get(name)?
            .split(self.delimiter())
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(String::from)
            .collect();
        (!items.is_empty()).then_some(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_by_the_delimiter_and_the_first_value_wins() {
        let params = Params::parse(Some(
            "campaigns=a%7Cb,c&delimiter=%7C&campaigns=z&recipients=%20&events=,",
        ));
        assert_eq!(
            params.list("campaigns"),
            Some(vec!["a".into(), "b,c".into()])
        );
        assert_eq!(params.list("recipients"), None);
        assert_eq!(
            params.list("events"),
            Some(vec![",".into()]),
            "the delimiter is |"
        );
        assert_eq!(params.get("delimiter"), Some("|"));
        assert_eq!(params.pairs().len(), 5);
        let default = Params::parse(Some("campaigns=a,b&events=,"));
        assert_eq!(default.list("campaigns").unwrap().len(), 2);
        assert_eq!(default.list("events"), None);
    }

    #[test]
    fn lists_split_by_the_delimiter_and_drop_blanks() {
        let params = Params::parse(Some(
            "domains=a.com,%20b.com,,&campaigns=x%7Cy&delimiter=%7C",
        ));
        assert_eq!(params.list("campaigns"), Some(vec!["x".into(), "y".into()]));
        assert_eq!(
            params.list("domains"),
            Some(vec!["a.com, b.com,,".into()]),
            "the delimiter is |, so commas are part of the value"
        );
        let params = Params::parse(Some("domains=a.com,%20b.com,,&templates=,"));
        assert_eq!(
            params.list("domains"),
            Some(vec!["a.com".into(), "b.com".into()])
        );
        assert_eq!(params.list("templates"), None);
        assert_eq!(params.list("campaigns"), None);
    }

    mod properties {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::select;
        use url::form_urlencoded;

        use super::Params;

        /// Names the readers ask for, `delimiter` among them.
        const NAMES: &[&str] = &["campaigns", "delimiter", "events", "x", "é", ""];

        /// Values built from pieces that matter: delimiters, blanks, escapes, unicode.
        fn value() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                3 => select(&["a", "b.com", ",", "|", ";;", " ", "\t", "\u{a0}", "\u{3000}"][..])
                    .prop_map(str::to_owned),
                2 => select(&["%", "%2", "%zz", "+", "&", "=", "#", "é", "😀", "\u{0}"][..])
                    .prop_map(str::to_owned),
                1 => any::<char>().prop_map(String::from),
            ];
            vec(piece, 0..6).prop_map(|pieces| pieces.concat())
        }

        /// What `get` should answer: the first value given, trimmed, absent when blank.
        fn expected_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
            let (_, value) = pairs.iter().find(|(key, _)| key == name)?;
            Some(value.trim()).filter(|value| !value.is_empty())
        }

        proptest! {
            #![proptest_config(eventhose_test_support::proptest_config(1_000))]

            /// Pairs written by a form encoder read back in order, and every reader follows
            /// the documented rules.
            #[test]
            fn encoded_pairs_read_back_by_the_rules(
                pairs in vec((select(NAMES).prop_map(str::to_owned), value()), 0..8)
            ) {
                let query = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&pairs)
                    .finish();
                let params = Params::parse(Some(&query));
                prop_assert_eq!(params.pairs(), &pairs[..]);
                let delimiter = pairs
                    .iter()
                    .find(|(key, _)| key == "delimiter")
                    .map(|(_, value)| value.as_str())
                    .filter(|value| !value.is_empty())
                    .unwrap_or(",");
                prop_assert_eq!(params.delimiter(), delimiter);
                for name in NAMES {
                    prop_assert_eq!(params.get(name), expected_get(&pairs, name));
                    let expected: Option<Vec<String>> = expected_get(&pairs, name).and_then(|v| {
                        let items: Vec<String> = v
                            .split(delimiter)
                            .map(str::trim)
                            .filter(|item| !item.is_empty())
                            .map(str::to_owned)
                            .collect();
                        (!items.is_empty()).then_some(items)
                    });
                    let list = params.list(name);
                    for item in list.iter().flatten() {
                        prop_assert!(!item.is_empty() && item.trim() == item);
                        prop_assert!(!item.contains(delimiter), "{:?} holds {:?}", item, delimiter);
                    }
                    prop_assert_eq!(list, expected);
                }
            }

            /// Any query string is read without a panic, as the form decoder splits it.
            #[test]
            fn raw_query_strings_read_as_the_form_decoder_reads_them(
                query in vec(
                    prop_oneof![
                        select(&["&", "=", "%", "%2", "%41", "%e9", "%C3%A9", "%ff", "+", ";"][..])
                            .prop_map(str::to_owned),
                        select(&["delimiter", "campaigns", "events", "a", ",", "|", " "][..])
                            .prop_map(str::to_owned),
                        any::<char>().prop_map(String::from),
                    ],
                    0..12,
                ).prop_map(|pieces| pieces.concat())
            ) {
                let params = Params::parse(Some(&query));
                let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                    .map(|(key, value)| (key.into_owned(), value.into_owned()))
                    .collect();
                prop_assert_eq!(params.pairs(), &decoded[..]);
                for name in NAMES {
                    prop_assert_eq!(params.get(name), expected_get(&decoded, name));
                    let _ = params.list(name);
                }
            }
        }
    }
}
