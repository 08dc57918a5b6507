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
}
