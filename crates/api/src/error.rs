//! Errors in SparkPost's shape: `{"errors":[{"message":…,"description":…,"code":…}]}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One entry of SparkPost's `errors` array.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ErrorEntry {
    /// Short, stable summary.
    pub message: String,
    /// What exactly was wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// SparkPost-style numeric code, as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The request parameter or event field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// For NDJSON bodies: the 1-based line at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For bodies of records (KumoMTA's): the 1-based record at fault (32 bits, keeping the
    /// entry small; requests hold far fewer records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u32>,
}

impl ErrorEntry {
    /// An entry with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            description: None,
            code: None,
            param: None,
            line: None,
            record: None,
        }
    }

    /// Adds a description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a code.
    pub fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_string());
        self
    }

    /// Names the parameter or field at fault.
    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Names the line at fault.
    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Names the record at fault.
    pub fn record(mut self, record: usize) -> Self {
        self.record = Some(u32::try_from(record).unwrap_or(u32::MAX));
        self
    }
}

/// An error answer: a status, SparkPost's error body, and optionally a `Retry-After`.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `errors` array.
    pub errors: Vec<ErrorEntry>,
    /// Seconds for `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with one entry.
    pub fn new(status: StatusCode, entry: ErrorEntry) -> Self {
        Self {
            status,
            errors: vec![entry],
            retry_after: None,
        }
    }

    /// 404: the API exists, but this process does not run `role`, which serves it.
    pub fn served_elsewhere(role: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorEntry::new("resource not found")
                .description(format!(
                    "this eventhose process does not run the `{role}` role, which serves this API"
                ))
                .code("1600"),
        )
    }

    /// 503: the API is served by this process's role, but the store it reads lives in another
    /// process (`what` names it).
    pub fn store_elsewhere(what: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorEntry::new("service unavailable").description(format!(
                "{what} are served by the eventhose process that runs the metrics and events roles"
            )),
        )
    }

    /// 401: no key, an unknown key, or a revoked key.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorEntry::new("Unauthorized.")
                .description("a valid API key is required in the Authorization header")
                .code("1000"),
        )
    }

    /// 403: the key lacks `grant`.
    pub fn forbidden(grant: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorEntry::new("Forbidden.")
                .description(format!("this API key lacks the `{grant}` grant"))
                .code("1100"),
        )
    }

    /// 400 with one entry naming a parameter.
    pub fn bad_param(param: &str, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorEntry::new("invalid params")
                .description(description)
                .code("1200")
                .param(param),
        )
    }

    /// 404 for an unknown path.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorEntry::new("resource not found").code("1600"),
        )
    }

    /// 500, with the cause logged rather than shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorEntry::new("internal error").code("1500"),
        )
    }

    /// Sets `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl ApiError {
    /// The answer's body: SparkPost's `{"errors": [...]}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "errors": self.errors })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
