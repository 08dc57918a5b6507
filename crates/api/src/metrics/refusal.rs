//! The error answer of a metrics request: SparkPost's error shape, with every bad parameter
//! named, and `query_filters` schema violations attached as `validationErrors`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ErrorEntry};

/// One way `query_filters` breaks its schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Violation {
    /// Where, e.g. `groupings[0].AND.domains.like[1]`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

/// What a metrics handler answers when it cannot answer.
#[derive(Debug)]
pub(crate) struct MetricsError {
    status: StatusCode,
    errors: Vec<ErrorEntry>,
    violations: Vec<Violation>,
}

/// The entry of one bad parameter.
pub(super) fn invalid(param: &str, description: impl Into<String>) -> ErrorEntry {
    ErrorEntry::new("invalid params")
        .description(description)
        .code("1200")
        .param(param)
}

impl MetricsError {
    /// 400 for one bad parameter.
    pub(super) fn bad_param(param: &str, description: impl Into<String>) -> Self {
        Self::bad(vec![invalid(param, description)])
    }

    /// 400 for several bad parameters.
    pub(super) fn bad(errors: Vec<ErrorEntry>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            errors,
            violations: Vec::new(),
        }
    }

    /// 400 for a `query_filters` that breaks its schema.
    pub(super) fn query_filters(violations: Vec<Violation>) -> Self {
        let summary = violations
            .iter()
            .map(|v| format!("{}: {}", display_path(&v.path), v.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            status: StatusCode::BAD_REQUEST,
            errors: vec![invalid(
                "query_filters",
                format!("query_filters does not match its schema: {summary}"),
            )],
            violations,
        }
    }

    /// Adds `other`'s problems to these (both are client errors).
    fn absorb(&mut self, other: MetricsError) {
        self.errors.extend(other.errors);
        self.violations.extend(other.violations);
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "(the document)"
    } else {
        path
    }
}

impl From<ApiError> for MetricsError {
    fn from(error: ApiError) -> Self {
        Self {
            status: error.status,
            errors: error.errors,
            violations: Vec::new(),
        }
    }
}

impl IntoResponse for MetricsError {
    fn into_response(self) -> Response {
        let mut errors: Vec<Value> = self
            .errors
            .iter()
            .map(|entry| serde_json::to_value(entry).unwrap_or_else(|_| json!({})))
            .collect();
        if !self.violations.is_empty() {
            let target = errors
                .iter_mut()
                .find(|entry| entry["param"] == "query_filters");
            if let Some(Value::Object(entry)) = target {
                entry.insert("validationErrors".into(), json!(self.violations));
            }
        }
        (self.status, axum::Json(json!({ "errors": errors }))).into_response()
    }
}

/// Collects the problems of several independent checks so that one answer names them all.
#[derive(Default)]
pub(super) struct Problems {
    found: Option<MetricsError>,
}

impl Problems {
    /// The value of a check that passed; records the problems of one that failed.
    pub(super) fn check<T>(&mut self, result: Result<T, MetricsError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                match &mut self.found {
                    Some(found) => found.absorb(error),
                    None => self.found = Some(error),
                }
                None
            }
        }
    }

    /// Fails with everything recorded, if anything was.
    pub(super) fn finish(self) -> Result<(), MetricsError> {
        match self.found {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}
