//! The query string of an Events API request: parameters by name, list parameters split by
//! `delimiter`, and the collection of every bad parameter into one 400.

use axum::http::StatusCode;

use crate::error::{ApiError, ErrorEntry};

/// Query parameters, in the order given (the first of repeated ones wins; unknown ones are
/// ignored by the readers, and kept for links).
pub(super) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes a raw query string.
    pub(super) fn parse(query: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Self { pairs }
    }

    /// Every parameter as given.
    pub(super) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The value of `name` without surrounding blanks; a blank value counts as absent.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.raw(name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }

    /// What separates the items of list parameters: `delimiter`, by default `,`.
    pub(super) fn delimiter(&self) -> &str {
        self.raw("delimiter")
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
}

/// The entry of one bad parameter.
pub(super) fn invalid(param: &str, description: impl Into<String>) -> ErrorEntry {
    ErrorEntry::new("invalid params")
        .description(description)
        .code("1200")
        .param(param)
}

/// Every bad parameter of a request, answered together.
#[derive(Default)]
pub(super) struct Problems {
    errors: Vec<ErrorEntry>,
}

impl Problems {
    /// Records a bad parameter.
    pub(super) fn bad(&mut self, param: &str, description: impl Into<String>) {
        self.errors.push(invalid(param, description));
    }

    /// A 400 naming every bad parameter, if there was one.
    pub(super) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError {
                status: StatusCode::BAD_REQUEST,
                errors: self.errors,
                retry_after: None,
            })
        }
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
    fn problems_name_every_bad_parameter() {
        assert!(Problems::default().finish().is_ok());
        let mut problems = Problems::default();
        problems.bad("from", "bad");
        problems.bad("per_page", "bad");
        let error = problems.finish().unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        let named: Vec<_> = error
            .errors
            .iter()
            .filter_map(|e| e.param.clone())
            .collect();
        assert_eq!(named, ["from", "per_page"]);
    }
}
