//! The query string of a metrics request, and the parameters every endpoint reads the same way:
//! list parameters split by `delimiter`, and `limit`.

use std::collections::HashMap;

use super::refusal::MetricsError;

/// `limit` when none is given.
pub(super) const DEFAULT_LIMIT: usize = 1_000;
/// The largest `limit`.
pub(super) const MAX_LIMIT: usize = 10_000;

/// Query parameters by name (the first of repeated ones wins; unknown ones are ignored).
pub(super) struct Params {
    values: HashMap<String, String>,
}

impl Params {
    /// Decodes a raw query string.
    pub(super) fn parse(query: Option<&str>) -> Self {
        let mut values = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            values
                .entry(name.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self { values }
    }

    /// The value of `name` without surrounding blanks; a blank value counts as absent.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// What separates the items of list parameters: `delimiter`, by default `,`.
    pub(super) fn delimiter(&self) -> &str {
        self.values
            .get("delimiter")
            .map(String::as_str)
            .filter(|d| !d.is_empty())
            .unwrap_or(",")
    }

    /// The items of the list parameter `name`, each trimmed, blanks dropped; `None` when there
    /// are none.
    pub(super) fn list(&self, name: &str) -> Option<Vec<String>> {
        let items: Vec<String> = self
            .get(name)?
            .split(self.delimiter())
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(String::from)
            .collect();
        (!items.is_empty()).then_some(items)
    }

    /// `limit`: 1 to [`MAX_LIMIT`], by default [`DEFAULT_LIMIT`].
    pub(super) fn limit(&self) -> Result<usize, MetricsError> {
        let Some(text) = self.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(MetricsError::bad_param(
                "limit",
                format!("limit must be a whole number from 1 to {MAX_LIMIT}, got `{text}`"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn limit_is_bounded() {
        assert_eq!(Params::parse(None).limit().unwrap(), DEFAULT_LIMIT);
        assert_eq!(Params::parse(Some("limit=10000")).limit().unwrap(), 10_000);
        for bad in ["0", "10001", "-1", "ten", "1.5"] {
            assert!(
                Params::parse(Some(&format!("limit={bad}")))
                    .limit()
                    .is_err(),
                "{bad}"
            );
        }
    }
}
