//! The Events API's parameters: the shared query-string reader, and the collection of every bad
//! parameter into one 400.

use axum::http::StatusCode;

use crate::error::{ApiError, ErrorEntry};
pub(super) use crate::query::Params;

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
