//! The SSRF guard end to end: nothing reaches a loopback server unless private targets are allowed.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{batch, spawn, Log, LAX};
use eventhose_webhooks::auth::{Auth, TokenCache};
use eventhose_webhooks::post::{post_batch, Failure, Outcome};
use eventhose_webhooks::target::{client, TargetError, TargetPolicy};
use std::time::Duration;

const STRICT: TargetPolicy = TargetPolicy {
    allow_private: false,
};

/// A loopback server answering 200 at `/hook` and `/token`, logging every request.
async fn loopback_server() -> (u16, Log) {
    let log = Log::default();
    let (hook_log, token_log) = (log.clone(), log.clone());
    let router = Router::new()
        .route(
            "/hook",
            post(move |headers: HeaderMap, bytes: Bytes| async move {
                hook_log.push("/hook", headers, bytes);
                StatusCode::OK
            }),
        )
        .route(
            "/token",
            post(move |headers: HeaderMap, bytes: Bytes| async move {
                token_log.push("/token", headers, bytes);
                axum::Json(serde_json::json!({"access_token": "t", "expires_in": 60}))
            }),
        );
    (spawn(router).await.port(), log)
}

fn target_failure(outcome: Outcome) -> TargetError {
    match outcome {
        Outcome::Failed {
            failure: Failure::Target(error),
            response: None,
            ..
        } => error,
        other => panic!("expected a Target failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_by_default() {
    let (port, log) = loopback_server().await;
    let url = format!("http://localhost:{port}/hook");
    let guarded = client(STRICT, Duration::from_secs(10)).unwrap();
    let auth = Auth::None;

    let (outcome, response) =
        post_batch(&guarded, &TokenCache::new(), STRICT, batch(&url, &auth)).await;
    assert!(response.is_none());
    match target_failure(outcome) {
        TargetError::Forbidden { host, ip } => {
            assert_eq!(host, "localhost");
            assert!(ip.is_loopback(), "{ip}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(log.count(), 0, "the server must see no request");

    // The resolver lives in the client: even a caller skipping post_batch cannot reach it.
    let direct = guarded.post(&url).body("x").send().await;
    assert!(direct.is_err());
    assert_eq!(log.count(), 0);
}

#[tokio::test]
async fn the_same_name_connects_when_private_targets_are_allowed() {
    let (port, log) = loopback_server().await;
    let url = format!("http://localhost:{port}/hook");
    let lax = client(LAX, Duration::from_secs(10)).unwrap();
    let auth = Auth::None;
    let (outcome, _) = post_batch(&lax, &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert!(
        matches!(outcome, Outcome::Delivered { status: 200, .. }),
        "{outcome:?}"
    );
    assert_eq!(log.count_path("/hook"), 1);
}

#[tokio::test]
async fn ip_literals_are_checked_before_sending() {
    let (port, log) = loopback_server().await;
    let guarded = client(STRICT, Duration::from_secs(10)).unwrap();
    let auth = Auth::None;
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
    ] {
        let (outcome, _) =
            post_batch(&guarded, &TokenCache::new(), STRICT, batch(&url, &auth)).await;
        assert!(
            matches!(target_failure(outcome), TargetError::Forbidden { .. }),
            "{url}"
        );
    }
    assert_eq!(log.count(), 0);
}

#[tokio::test]
async fn oauth2_token_urls_are_guarded_too() {
    let (port, log) = loopback_server().await;
    let guarded = client(STRICT, Duration::from_secs(10)).unwrap();
    let url = format!("http://localhost:{port}/hook");
    for token_url in [
        format!("http://127.0.0.1:{port}/token"),
        format!("http://localhost:{port}/token"),
        "ftp://auth.example.com/token".to_owned(),
    ] {
        let auth = Auth::OAuth2 {
            token_url,
            body: serde_json::Map::new(),
        };
        let (outcome, _) =
            post_batch(&guarded, &TokenCache::new(), STRICT, batch(&url, &auth)).await;
        target_failure(outcome);
    }
    assert_eq!(
        log.count(),
        0,
        "neither the token URL nor the target is reached"
    );
}

#[tokio::test]
async fn bad_urls_are_target_failures() {
    let guarded = client(STRICT, Duration::from_secs(10)).unwrap();
    let auth = Auth::None;
    for (url, expected_scheme) in [
        ("file:///etc/passwd", Some("file")),
        ("https://user:pw@example.com/", None),
        ("not a url", None),
    ] {
        let (outcome, _) =
            post_batch(&guarded, &TokenCache::new(), STRICT, batch(url, &auth)).await;
        let error = target_failure(outcome);
        match expected_scheme {
            Some(scheme) => assert_eq!(error, TargetError::Scheme(scheme.to_owned())),
            None => assert!(
                matches!(error, TargetError::InvalidUrl(_)),
                "{url}: {error:?}"
            ),
        }
    }
}
