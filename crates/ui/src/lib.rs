//! The Reports UI: a browser application written as plain ES modules, embedded in the binary
//! and served by `eventhose serve` at `/` (the page) and `/ui/<file>` (its assets).
//!
//! The application talks only to the public APIs under `/api/v1` (with the API key the user
//! signs in with) and to `/metrics`; it needs no server-side state, no build step and no
//! network beyond the eventhose server itself.
//!
//! # How the UI is built
//!
//! `crates/ui/assets` is the whole front end: plain ES modules for modern browsers, no framework,
//! no third-party code, no toolchain and no build output — the files in the repository are the
//! files served. The chart is our own SVG code (`chart.js`). Nothing is inline (the CSP allows
//! scripts, styles and connections from the same origin only), and data goes into the DOM only
//! as text (`dom.js`).
//!
//! - **Routing and state** (`state.js`): hash routes, `#/summary?range=7d&tz=…&f=domains:gmail.com&by=campaign`;
//!   the hash holds the whole view, so the server needs only `/` and `/ui/…`, and Back, bookmarks
//!   and shared links work. Views re-render from the hash on every change.
//! - **Sign-in and grants** (`api.js`, `grants.js`): the key lives in `sessionStorage` and goes in
//!   the `Authorization` header of every call. After sign-in one cheap read per API (a one-row
//!   metrics summary, a one-event search, the webhook list, the suppression summary) finds what
//!   the key may see; a 403 hides that section. Writes a key may not make (`webhooks/modify`) are
//!   learned from the first 403 and their buttons are disabled (a write probe would answer 400
//!   to a key that may write, an error on every visit).
//! - **What each view calls**: Summary (`views/summary.js`) — `metrics/deliverability` (headline
//!   counts; rates computed as SparkPost's reports do), `…/time-series` (chart), `…/{facet}`
//!   (breakdown), `metrics/{list}` (filter suggestions). Bounces & delays (`views/reasons.js`) —
//!   `…/bounce-classification`, `…/bounce-reason/domain`, `…/rejection-reason/domain`,
//!   `…/delay-reason/domain`. Message events (`views/events.js`) — `events/message` (search with
//!   cursor paging; `event_ids` and `messages` for the detail and history). Webhooks
//!   (`views/webhooks.js`) — `webhooks` CRUD, `…/events/documentation`, `…/validate`,
//!   `…/batch-status`, `…/batches/{id}/replay`. Suppressions (`views/suppressions.js`) —
//!   `suppression-list` search, `…/summary`, `…/{recipient}` (get, delete), bulk `PUT`. Health
//!   (`views/health.js`) — `/metrics` (no key): `eventhose_ingest_events_total` sampled twice for
//!   the rate, `eventhose_hose_subscriber_lag_bytes` (embedded hose) or
//!   `eventhose_hose_queue_messages` (RabbitMQ), and `/readyz`.
//! - **Window and precision** (`controls.js`): presets and custom ranges are wall-clock times in the
//!   chosen time zone, as the Metrics API reads them; the chart's precision is automatic (or chosen
//!   among those the window allows), the headline and table use the finest precision whose window
//!   limit fits, so they round the window as little as possible.
//! - **Browser tests**: `crates/eventhose/tests/e2e/ui.rs` starts a server, feeds it simulator
//!   traffic, waits until the APIs show it, and runs a scenario of `crates/eventhose/tests/browser/`
//!   (`node <scenario>.mjs BASE KEY RECEIVER SCREENSHOT`: playwright-core, pinned by
//!   `package-lock.json`, driving `/usr/bin/chromium` headless). Scenarios compare what the page
//!   shows with the APIs, fail on any console error, page error or HTTP error response (only the
//!   grants scenario expects its 403s), and save `docs/screenshots/<scenario>.png`. Tests `ui_…`:
//!   summary against the Metrics API, drill-down, event search and history, webhook create/test/
//!   batch status/replay, suppressions, reason reports and health, grants, six months under 1 s.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file: its path under `/ui/`, its media type and its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Embeds `assets/<path>` with its media type.
macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!("../assets/", $path)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file of the application. A fixed handful of files, so a static table of
/// `include_bytes!` is all it takes: no embedding crate, no build script, and a file missing
/// from `assets/` is a compile error rather than a 404 at run time.
static ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("app.css", CSS),
    asset!("icon.svg", SVG),
    asset!("js/main.js", JS),
    asset!("js/api.js", JS),
    asset!("js/state.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/format.js", JS),
    asset!("js/chart.js", JS),
    asset!("js/controls.js", JS),
    asset!("js/grants.js", JS),
    asset!("js/views/signin.js", JS),
    asset!("js/views/summary.js", JS),
    asset!("js/views/reasons.js", JS),
    asset!("js/views/events.js", JS),
    asset!("js/views/webhooks.js", JS),
    asset!("js/views/suppressions.js", JS),
    asset!("js/views/health.js", JS),
];

/// Only this origin may provide scripts, styles, images and connections; no inline code, no
/// framing, no plugins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The page and its assets: `GET /` and `GET /ui/<file>`. Mergeable into an application
/// router of any state type.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/ui/{*path}", get(file))
}

/// `GET /`: the application's page.
async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /ui/<path>`: one asset, or 404.
async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// Answers with the asset at `path` (304 when the client's copy is current), or 404.
fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some((index, asset)) = ASSETS.iter().enumerate().find(|(_, a)| a.path == path) else {
        return (
            StatusCode::NOT_FOUND,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            "not found",
        )
            .into_response();
    };
    let etag = etags().get(index).map(String::as_str).unwrap_or("\"0\"");
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.bytes).into_response()
    };
    let headers = response.headers_mut();
    // File names carry no version, so every use revalidates; the ETag makes that a 304.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The entity tag of each asset (same order as [`ASSETS`]): a 64-bit FNV-1a hash of its bytes,
/// computed once.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                let hash = asset.bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
                format!("\"{hash:016x}\"")
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        routes::<()>()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    fn header(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn every_asset_is_served_with_its_type_and_policy() {
        for asset in ASSETS {
            let response = get(&format!("/ui/{}", asset.path), &[]).await;
            assert_eq!(response.status(), StatusCode::OK, "{}", asset.path);
            assert_eq!(
                header(&response, header::CONTENT_TYPE),
                asset.content_type,
                "{}",
                asset.path
            );
            let expected = match asset.path.rsplit_once('.').map(|(_, ext)| ext) {
                Some("html") => HTML,
                Some("css") => CSS,
                Some("js") => JS,
                Some("svg") => SVG,
                other => panic!("unexpected extension {other:?}"),
            };
            assert_eq!(asset.content_type, expected, "{}", asset.path);
            assert_eq!(header(&response, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            assert_eq!(header(&response, header::CACHE_CONTROL), "no-cache");
            let csp = header(&response, header::CONTENT_SECURITY_POLICY);
            assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"));
            let body = to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            assert_eq!(&body[..], asset.bytes, "{}", asset.path);
            assert!(!body.is_empty(), "{} is empty", asset.path);
        }
    }

    #[tokio::test]
    async fn index_at_root() {
        let response = get("/", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, header::CONTENT_TYPE), HTML);
        assert!(!header(&response, header::CONTENT_SECURITY_POLICY).is_empty());
        let body = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(text.contains("<script type=\"module\" src=\"/ui/js/main.js\"></script>"));
        assert!(!text.contains("http://") && !text.contains("https://"));
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        for path in [
            "/ui/nope.js",
            "/ui/js/../index.html",
            "/ui/",
            "/ui/JS/MAIN.JS",
            "/index.html",
        ] {
            let response = get(path, &[]).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn revalidation_answers_304() {
        let first = get("/ui/app.css", &[]).await;
        let etag = header(&first, header::ETAG).to_string();
        assert!(etag.starts_with('"') && etag.len() == 18, "{etag}");
        let again = get("/ui/app.css", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let other = get("/ui/app.css", &[("if-none-match", "\"x\"")]).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    #[test]
    fn assets_load_nothing_from_elsewhere_and_build_no_markup() {
        // Ways an asset could pull code or styles from another origin, or turn data into markup.
        const FORBIDDEN: [&str; 12] = [
            "src=\"http",
            "href=\"http",
            "href=\"//",
            "from \"http",
            "import(\"http",
            "fetch(\"http",
            "url(http",
            "url(\"http",
            "@import",
            "innerHTML",
            "insertAdjacentHTML",
            "eval(",
        ];
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.bytes).expect("utf-8 asset");
            for forbidden in FORBIDDEN {
                assert!(
                    !text.contains(forbidden),
                    "{} contains {forbidden}",
                    asset.path
                );
            }
        }
    }
}
