//! The Deliverability Add-On's endpoints (subject campaigns, benchmarks): they report panel and
//! seed data eventhose does not have, so they answer with an explanation.

use axum::http::StatusCode;

use super::refusal::MetricsError;
use super::GRANT;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorEntry};

/// The Add-On's paths, relative to `/api/v1`.
pub(super) const PATHS: [&str; 3] = [
    "/metrics/deliverability/subject-campaign",
    "/metrics/subject-campaigns",
    "/metrics/benchmarks/inbox-rate",
];

/// 403 naming the Add-On (after the usual key and grant checks).
pub(super) async fn refuse(caller: Caller) -> MetricsError {
    if let Err(error) = caller.require(GRANT) {
        return error.into();
    }
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorEntry::new("Deliverability Add-On required")
            .description(
                "this report needs the Deliverability Add-On (panel, seed and benchmark data), \
                 which eventhose does not have",
            )
            .code("1100"),
    )
    .into()
}
