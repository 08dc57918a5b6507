//! `post_batch` against real loopback servers.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{batch, lax_client, one_header, spawn, Log, LAX};
use eventhose_state::unix_now;
use eventhose_webhooks::auth::{Auth, TokenCache};
use eventhose_webhooks::post::{post_batch, Failure, Outcome};
use eventhose_webhooks::signing::generate_secret;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A target at `/hook` that records each request and answers `status` with `body`.
async fn recording_target(status: StatusCode, body: &'static str) -> (String, Log) {
    let log = Log::default();
    let seen = log.clone();
    let router = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, bytes: Bytes| async move {
            seen.push("/hook", headers, bytes);
            (status, body)
        }),
    );
    let addr = spawn(router).await;
    (format!("http://{addr}/hook"), log)
}

/// Standard Webhooks verification written from the spec, with `ring` as the HMAC: the key is the
/// base64 after `whsec_`, the content `{id}.{timestamp}.{body}`, the signature `v1,<base64>`.
fn verifies(secret: &str, signature: &str, id: &str, timestamp: &str, body: &[u8]) -> bool {
    let key_bytes = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let Some(encoded) = signature.strip_prefix("v1,") else {
        return false;
    };
    let Ok(tag) = STANDARD.decode(encoded) else {
        return false;
    };
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key_bytes);
    ring::hmac::verify(&key, &content, &tag).is_ok()
}

#[tokio::test]
async fn sends_exact_headers_unchanged_body_and_verifiable_signatures() {
    let (url, log) = recording_target(StatusCode::OK, "OK").await;
    let secrets = vec![generate_secret(), generate_secret()];
    let custom = vec![
        ("X-Customer-Key".to_owned(), "abc123".to_owned()),
        ("X-Second".to_owned(), "two".to_owned()),
        ("Content-Type".to_owned(), "text/plain".to_owned()),
    ];
    let auth = Auth::None;
    let mut post = batch(&url, &auth);
    post.custom_headers = &custom;
    post.signing_secrets = &secrets;
    let sent_body = post.body.clone();
    let batch_id = post.batch_id.to_owned();

    let before = unix_now();
    let (outcome, response) = post_batch(&lax_client(), &TokenCache::new(), LAX, post).await;
    let after = unix_now();

    assert!(
        matches!(outcome, Outcome::Delivered { status: 200, .. }),
        "{outcome:?}"
    );
    let response = response.unwrap();
    assert_eq!((response.status, response.body.as_str()), (200, "OK"));

    let seen = log.all();
    assert_eq!(seen.len(), 1);
    let headers = &seen[0].headers;
    assert_eq!(seen[0].body, sent_body);
    assert_eq!(one_header(headers, "content-type"), "application/json");
    assert_eq!(one_header(headers, "x-messagesystems-batch-id"), batch_id);
    assert_eq!(one_header(headers, "x-customer-key"), "abc123");
    assert_eq!(one_header(headers, "x-second"), "two");
    assert_eq!(one_header(headers, "webhook-id"), batch_id);
    assert!(headers.get("authorization").is_none());

    let timestamp = one_header(headers, "webhook-timestamp");
    let ts: i64 = timestamp.parse().unwrap();
    assert!(before <= ts && ts <= after, "{before} <= {ts} <= {after}");

    let signatures: Vec<&str> = one_header(headers, "webhook-signature")
        .split(' ')
        .collect();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    for (secret, signature) in secrets.iter().zip(&signatures) {
        assert!(verifies(
            secret, signature, &batch_id, timestamp, &sent_body
        ));
    }
    // Each signature belongs to its own secret only, and a changed body fails.
    assert!(!verifies(
        &secrets[0],
        signatures[1],
        &batch_id,
        timestamp,
        &sent_body
    ));
    assert!(!verifies(
        &secrets[0],
        signatures[0],
        &batch_id,
        timestamp,
        b"[]"
    ));
}

#[tokio::test]
async fn no_signature_header_without_secrets() {
    let (url, log) = recording_target(StatusCode::NO_CONTENT, "").await;
    let auth = Auth::None;
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert!(matches!(outcome, Outcome::Delivered { status: 204, .. }));
    let headers = &log.all()[0].headers;
    assert!(headers.get("webhook-signature").is_none());
    assert!(headers.get("webhook-timestamp").is_some());
}

#[tokio::test]
async fn basic_auth_header() {
    let (url, log) = recording_target(StatusCode::OK, "OK").await;
    let auth = Auth::Basic {
        username: "user".to_owned(),
        password: "pass".to_owned(),
    };
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert!(outcome.is_delivered(), "{outcome:?}");
    assert_eq!(
        one_header(&log.all()[0].headers, "authorization"),
        "Basic dXNlcjpwYXNz"
    );
}

/// SparkPost's reference on the deprecated `auth_token`: "Authentication token to present in
/// the `X-MessageSystems-Webhook-Token` header of POST requests to target."
#[tokio::test]
async fn auth_token_goes_in_its_header_and_replaces_a_custom_one() {
    let (url, log) = recording_target(StatusCode::OK, "OK").await;
    let auth = Auth::Basic {
        username: "user".to_owned(),
        password: "pass".to_owned(),
    };
    let custom = vec![(
        "X-MessageSystems-Webhook-Token".to_owned(),
        "forged".to_owned(),
    )];
    let mut post = batch(&url, &auth);
    post.custom_headers = &custom;
    post.auth_token = Some("5ebe2294ecd0e0f08eab7690d2a6ee69");
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, post).await;
    assert!(outcome.is_delivered(), "{outcome:?}");
    let headers = &log.all()[0].headers;
    assert_eq!(
        one_header(headers, "x-messagesystems-webhook-token"),
        "5ebe2294ecd0e0f08eab7690d2a6ee69"
    );
    assert_eq!(one_header(headers, "authorization"), "Basic dXNlcjpwYXNz");

    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert!(outcome.is_delivered(), "{outcome:?}");
    assert!(log.all()[1]
        .headers
        .get("x-messagesystems-webhook-token")
        .is_none());
}

/// A token endpoint at `/token` issuing `tok-1`, `tok-2`, … (all accepted by the target at
/// `/hook` until revoked), with `expires_in` as given.
struct OAuthServer {
    base: String,
    log: Log,
    issued: Arc<AtomicUsize>,
    accepted: Arc<Mutex<HashSet<String>>>,
    reject_all: Arc<AtomicBool>,
}

impl OAuthServer {
    async fn start(expires_in: u64) -> Self {
        let log = Log::default();
        let issued = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(Mutex::new(HashSet::new()));
        let (token_log, counter, valid) = (log.clone(), issued.clone(), accepted.clone());
        let reject_all = Arc::new(AtomicBool::new(false));
        let (hook_log, hook_valid, hook_reject) =
            (log.clone(), accepted.clone(), reject_all.clone());
        let router = Router::new()
            .route(
                "/token",
                post(move |headers: HeaderMap, bytes: Bytes| async move {
                    token_log.push("/token", headers, bytes);
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let token = format!("tok-{n}");
                    valid.lock().unwrap().insert(token.clone());
                    axum::Json(serde_json::json!({
                        "access_token": token, "token_type": "bearer", "expires_in": expires_in
                    }))
                }),
            )
            .route(
                "/hook",
                post(move |headers: HeaderMap, bytes: Bytes| async move {
                    let bearer = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer "))
                        .map(str::to_owned);
                    hook_log.push("/hook", headers, bytes);
                    match bearer {
                        Some(token)
                            if !hook_reject.load(Ordering::SeqCst)
                                && hook_valid.lock().unwrap().contains(&token) =>
                        {
                            StatusCode::OK
                        }
                        _ => StatusCode::UNAUTHORIZED,
                    }
                }),
            );
        let addr = spawn(router).await;
        Self {
            base: format!("http://{addr}"),
            log,
            issued,
            accepted,
            reject_all,
        }
    }

    fn auth(&self) -> Auth {
        let body = serde_json::json!({
            "client_id": "id-1", "client_secret": "s3cret&=", "grant_type": "client_credentials"
        });
        Auth::OAuth2 {
            token_url: format!("{}/token", self.base),
            body: body.as_object().unwrap().clone(),
        }
    }

    fn bearers_seen_by_target(&self) -> Vec<String> {
        self.log
            .all()
            .iter()
            .filter(|s| s.path == "/hook")
            .map(|s| one_header(&s.headers, "authorization").to_owned())
            .collect()
    }
}

#[tokio::test]
async fn oauth2_token_is_cached_and_refreshed_after_a_401() {
    let server = OAuthServer::start(3600).await;
    let (client, tokens, auth) = (lax_client(), TokenCache::new(), server.auth());
    let url = format!("{}/hook", server.base);

    for _ in 0..2 {
        let (outcome, _) = post_batch(&client, &tokens, LAX, batch(&url, &auth)).await;
        assert!(outcome.is_delivered(), "{outcome:?}");
    }
    assert_eq!(server.issued.load(Ordering::SeqCst), 1, "token reused");

    // The token endpoint received the credentials as a form.
    let token_request = &server.log.all()[0];
    assert_eq!(token_request.path, "/token");
    assert_eq!(
        one_header(&token_request.headers, "content-type"),
        "application/x-www-form-urlencoded"
    );
    let form: HashSet<&str> = std::str::from_utf8(&token_request.body)
        .unwrap()
        .split('&')
        .collect();
    let expected: HashSet<&str> = [
        "client_id=id-1",
        "client_secret=s3cret%26%3D",
        "grant_type=client_credentials",
    ]
    .into();
    assert_eq!(form, expected);

    // The target stops accepting tok-1: one 401, a new token, and the retry succeeds.
    server.accepted.lock().unwrap().remove("tok-1");
    let (outcome, response) = post_batch(&client, &tokens, LAX, batch(&url, &auth)).await;
    assert!(outcome.is_delivered(), "{outcome:?}");
    assert_eq!(response.unwrap().status, 200);
    assert_eq!(server.issued.load(Ordering::SeqCst), 2);
    assert_eq!(
        server.bearers_seen_by_target(),
        [
            "Bearer tok-1",
            "Bearer tok-1",
            "Bearer tok-1",
            "Bearer tok-2"
        ]
    );
}

#[tokio::test]
async fn oauth2_retries_only_once() {
    let server = OAuthServer::start(3600).await;
    server.reject_all.store(true, Ordering::SeqCst);
    let (client, tokens, auth) = (lax_client(), TokenCache::new(), server.auth());
    let url = format!("{}/hook", server.base);
    let (outcome, response) = post_batch(&client, &tokens, LAX, batch(&url, &auth)).await;
    match outcome {
        Outcome::Failed { failure, .. } => assert_eq!(failure, Failure::Status(401)),
        other => panic!("{other:?}"),
    }
    assert_eq!(response.unwrap().status, 401);
    assert_eq!(
        server.bearers_seen_by_target(),
        ["Bearer tok-1", "Bearer tok-2"]
    );
    assert_eq!(server.issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn oauth2_tokens_without_lifetime_left_are_refetched() {
    let server = OAuthServer::start(0).await;
    let (client, tokens, auth) = (lax_client(), TokenCache::new(), server.auth());
    let url = format!("{}/hook", server.base);
    for _ in 0..2 {
        let (outcome, _) = post_batch(&client, &tokens, LAX, batch(&url, &auth)).await;
        assert!(outcome.is_delivered(), "{outcome:?}");
    }
    assert_eq!(server.issued.load(Ordering::SeqCst), 2);
    assert_eq!(
        server.bearers_seen_by_target(),
        ["Bearer tok-1", "Bearer tok-2"]
    );
}

#[tokio::test]
async fn oauth2_token_failure_is_an_auth_failure_with_the_token_response() {
    let log = Log::default();
    let seen = log.clone();
    let router = Router::new()
        .route(
            "/token",
            post(|| async { (StatusCode::BAD_GATEWAY, "upstream down") }),
        )
        .route(
            "/hook",
            post(move |headers: HeaderMap, bytes: Bytes| async move {
                seen.push("/hook", headers, bytes);
                StatusCode::OK
            }),
        );
    let addr = spawn(router).await;
    let auth = Auth::OAuth2 {
        token_url: format!("http://{addr}/token"),
        body: serde_json::Map::new(),
    };
    let url = format!("http://{addr}/hook");
    let (outcome, response) =
        post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    match &outcome {
        Outcome::Failed {
            failure: Failure::Auth(message),
            response: Some(token_response),
            ..
        } => {
            assert!(message.contains("502"), "{message}");
            assert_eq!(token_response.status, 502);
            assert_eq!(token_response.body, "upstream down");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(outcome_code(&outcome), "auth");
    assert_eq!(response.unwrap().status, 502);
    assert_eq!(log.count(), 0, "the target must not be called");
}

fn outcome_code(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Failed { failure, .. } => failure.code(),
        Outcome::Delivered { status, .. } => status.to_string(),
    }
}

fn failure_of(outcome: Outcome) -> (Failure, Option<Duration>) {
    match outcome {
        Outcome::Failed {
            failure,
            retry_after,
            ..
        } => (failure, retry_after),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn server_error_is_a_status_failure_with_the_response() {
    let (url, log) = recording_target(StatusCode::INTERNAL_SERVER_ERROR, "boom").await;
    let auth = Auth::None;
    let (outcome, response) =
        post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert_eq!(outcome_code(&outcome), "500");
    let (failure, retry_after) = failure_of(outcome);
    assert_eq!(failure, Failure::Status(500));
    assert_eq!(retry_after, None);
    assert_eq!(response.unwrap().body, "boom");
    assert_eq!(log.count(), 1);
}

#[tokio::test]
async fn retry_after_seconds_are_parsed() {
    let router = Router::new().route(
        "/hook",
        post(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "7")],
                "slow down",
            )
        }),
    );
    let url = format!("http://{}/hook", spawn(router).await);
    let auth = Auth::None;
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert_eq!(
        failure_of(outcome),
        (Failure::Status(429), Some(Duration::from_secs(7)))
    );
}

#[tokio::test]
async fn redirects_are_failures_and_not_followed() {
    let landed = Log::default();
    let seen = landed.clone();
    let router = Router::new()
        .route(
            "/hook",
            post(|| async { (StatusCode::FOUND, [("location", "/landed")]) }),
        )
        .route(
            "/landed",
            get(move |headers: HeaderMap| async move {
                seen.push("/landed", headers, Bytes::new());
                StatusCode::OK
            })
            .post(|| async { StatusCode::OK }),
        );
    let url = format!("http://{}/hook", spawn(router).await);
    let auth = Auth::None;
    let (outcome, response) =
        post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert_eq!(failure_of(outcome).0, Failure::Status(302));
    assert_eq!(response.unwrap().header("location"), Some("/landed"));
    assert_eq!(landed.count(), 0);
}

#[tokio::test]
async fn a_target_slower_than_the_timeout_is_a_timeout() {
    let router = Router::new().route(
        "/hook",
        post(|| async { std::future::pending::<StatusCode>().await }),
    );
    let url = format!("http://{}/hook", spawn(router).await);
    let client = eventhose_webhooks::target::client(LAX, Duration::from_millis(300)).unwrap();
    let auth = Auth::None;
    let (outcome, response) =
        post_batch(&client, &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert_eq!(outcome_code(&outcome), "timeout");
    assert_eq!(failure_of(outcome).0, Failure::Timeout);
    assert!(response.is_none());
}

#[tokio::test]
async fn a_closed_port_is_a_connect_failure() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let auth = Auth::None;
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    match failure_of(outcome).0 {
        Failure::Connect(message) => assert!(!message.contains(&url), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_non_tls_server_behind_https_is_a_tls_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await;
        let _ = socket
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await;
        let _ = socket.read(&mut buf).await;
    });
    let url = format!("https://{addr}/hook");
    let auth = Auth::None;
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    let failure = failure_of(outcome).0;
    assert_eq!(failure.code(), "tls", "{failure:?}");
}

#[tokio::test]
async fn response_bodies_are_cut_at_four_kib() {
    let router = Router::new().route(
        "/hook",
        post(|| async { (StatusCode::BAD_REQUEST, "x".repeat(10_000)).into_response() }),
    );
    let url = format!("http://{}/hook", spawn(router).await);
    let auth = Auth::None;
    let (_, response) =
        post_batch(&lax_client(), &TokenCache::new(), LAX, batch(&url, &auth)).await;
    assert_eq!(response.unwrap().body.len(), 4096);
}

#[tokio::test]
async fn invalid_inputs_fail_before_any_request() {
    let (url, log) = recording_target(StatusCode::OK, "OK").await;
    let auth = Auth::None;
    let bad_header = vec![("bad header".to_owned(), "v".to_owned())];
    let mut post = batch(&url, &auth);
    post.custom_headers = &bad_header;
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, post).await;
    assert!(matches!(failure_of(outcome).0, Failure::Other(m) if m.contains("bad header")));

    let secrets = vec![generate_secret()];
    let mut post = batch(&url, &auth);
    post.batch_id = "has.dot";
    post.signing_secrets = &secrets;
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, post).await;
    assert!(matches!(failure_of(outcome).0, Failure::Other(m) if m.contains("has.dot")));

    let bad_secret = vec!["not-a-secret".to_owned()];
    let mut post = batch(&url, &auth);
    post.signing_secrets = &bad_secret;
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, post).await;
    assert!(matches!(failure_of(outcome).0, Failure::Other(m) if m.contains("whsec_")));

    let mut post = batch(&url, &auth);
    post.auth_token = Some("line\nbreak");
    let (outcome, _) = post_batch(&lax_client(), &TokenCache::new(), LAX, post).await;
    assert!(matches!(failure_of(outcome).0, Failure::Other(m) if m.contains("auth_token")));

    assert_eq!(log.count(), 0);
}
