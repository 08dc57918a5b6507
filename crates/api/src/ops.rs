//! Operational endpoints, outside `/api/v1` and without a key: liveness, readiness, Prometheus.

use std::sync::atomic::Ordering;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: ready to do its roles' work (started, not shutting down, the hose available
/// — a broker-backed hose is connected — and every component running); the body's second line
/// names the roles, and a line per component that is down says why.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let failing = state.components.failing();
    let (status, verdict) = if !state.ready.load(Ordering::Acquire) {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    } else if !state.hose.is_available() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the event hose is unavailable",
        )
    } else if !failing.is_empty() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: a component is down",
        )
    } else {
        (StatusCode::OK, "ready")
    };
    let mut body = format!("{verdict}\nroles: {}\n", state.roles);
    for (component, reason) in failing {
        body.push_str(&format!("down: {component}: {reason}\n"));
    }
    (status, body).into_response()
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn prometheus(State(state): State<AppState>) -> Response {
    let body = (state.render_metrics)();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The `method` label: the standard methods by name, anything else as `other`, so a client
/// cannot add a time series per request by inventing methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts every request by route, method and status, and times it.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let start = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("eventhose_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("eventhose_http_request_seconds", "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}
