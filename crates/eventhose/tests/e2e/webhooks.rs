//! The Webhooks API (`/api/v1/webhooks`): create with a test POST to a real receiver, CRUD,
//! validate, batch status, documentation and samples, the SSRF policy, grants and subaccount
//! isolation, and signing-secret rotation.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Router;
use serde_json::{json, Value};

use crate::harness::*;

/// SparkPost's fixed batch id of test POSTs.
const TEST_BATCH_ID: &str = "77c2b630-d712-11e4-9642-efc2723b99c1";

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the receiver got JSON")
    }
}

/// A webhook target on loopback that records every request and answers with a settable status.
struct Target {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    status: Arc<AtomicU16>,
}

impl Target {
    async fn start(status: u16) -> Target {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(status));
        let (log, answer) = (hits.clone(), status.clone());
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (log, answer) = (log.clone(), answer.clone());
            async move {
                log.lock().unwrap().push(Hit {
                    path: uri.path().to_string(),
                    headers,
                    body,
                });
                if uri.path() == "/token" {
                    let token =
                        r#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#;
                    return (
                        StatusCode::OK,
                        [("content-type", "application/json")],
                        token,
                    );
                }
                let code = StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap();
                let text = if code.is_success() { "OK" } else { "boom" };
                (code, [("x-receiver", "yes")], text)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Target { base, hits, status }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn last(&self) -> Hit {
        self.hits()
            .last()
            .cloned()
            .expect("the target got a request")
    }
}

/// Sends a request to the API and returns the status and the JSON body (`Null` when empty).
async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    subaccount: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client().request(method, server.url(path));
    if let Some(key) = key {
        request = request.header("Authorization", key);
    }
    if let Some(subaccount) = subaccount {
        request = request.header("X-MSYS-SUBACCOUNT", subaccount);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("API request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("API body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, json)
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    call(
        server,
        reqwest::Method::GET,
        path,
        Some(ROOT_KEY),
        None,
        None,
    )
    .await
}

async fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    call(
        server,
        reqwest::Method::POST,
        path,
        Some(ROOT_KEY),
        None,
        Some(body),
    )
    .await
}

async fn put(server: &Server, path: &str, body: Value) -> (u16, Value) {
    call(
        server,
        reqwest::Method::PUT,
        path,
        Some(ROOT_KEY),
        None,
        Some(body),
    )
    .await
}

/// The `param`s named by an error answer.
fn params(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .expect("an errors array")
        .iter()
        .filter_map(|e| e["param"].as_str().map(String::from))
        .collect()
}

fn create_body(target: &str) -> Value {
    json!({
        "name": "Orders",
        "target": target,
        "events": ["delivery", "bounce"],
        "auth_type": "basic",
        "auth_credentials": {"username": "hooker", "password": "s3cret-pass"},
        "custom_headers": {"X-Team": "mail"}
    })
}

fn basic(username: &str, password: &str) -> String {
    use base64::Engine;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

#[tokio::test]
async fn webhook_lifecycle_with_a_real_target() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &loopback_targets(&[]));
    let target = Target::start(200).await;

    // Create: the target gets SparkPost's test POST, with the auth and custom headers.
    let (status, created) =
        post(&server, "/api/v1/webhooks", create_body(&target.url("/in"))).await;
    assert_eq!(status, 200, "{created}");
    let id = created["results"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        created["results"]["links"][0]["href"],
        format!("/api/v1/webhooks/{id}")
    );
    let first_secret = created["results"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(first_secret.starts_with("whsec_"));
    let ping = target.last();
    assert_eq!(target.hits().len(), 1);
    assert_eq!(ping.path, "/in");
    assert_eq!(ping.json(), json!([{"msys": {}}]));
    assert_eq!(
        ping.header("x-messagesystems-batch-id"),
        Some(TEST_BATCH_ID)
    );
    assert_eq!(ping.header("content-type"), Some("application/json"));
    assert_eq!(ping.header("x-team"), Some("mail"));
    assert_eq!(
        ping.header("authorization"),
        Some(basic("hooker", "s3cret-pass").as_str())
    );

    // Retrieve and list: SparkPost's object, the password masked, no secret anywhere.
    let (status, got) = get(&server, &format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(status, 200);
    let hook = &got["results"];
    assert_eq!(hook["name"], "Orders");
    assert_eq!(hook["events"], json!(["delivery", "bounce"]));
    assert_eq!(hook["active"], true);
    assert_eq!(hook["auth_type"], "basic");
    assert_eq!(
        hook["auth_credentials"],
        json!({"username": "hooker", "password": "********"})
    );
    assert_eq!(hook["custom_headers"], json!({"X-Team": "********"}));
    assert_eq!(hook["subaccount_id"], -1);
    assert_eq!(hook["exception_subaccounts"], json!([]));
    assert_eq!(hook["links"].as_array().unwrap().len(), 3);
    let shown = got.to_string();
    assert!(!shown.contains("s3cret-pass") && !shown.contains("whsec_"));
    let (_, listed) = get(&server, "/api/v1/webhooks").await;
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
    assert_eq!(listed["results"][0]["id"], id.as_str());
    let (status, bad_zone) = get(&server, "/api/v1/webhooks?timezone=Nowhere/Land").await;
    assert_eq!(
        (status, params(&bad_zone)),
        (400, vec!["timezone".to_string()])
    );

    // Partial update: only the name changes, and no test POST is sent.
    let path = format!("/api/v1/webhooks/{id}");
    let (status, answer) = put(&server, &path, json!({"name": "Orders v2"})).await;
    assert_eq!(status, 200, "{answer}");
    // SparkPost's update answer: the id and the validate link.
    assert_eq!(answer["results"]["id"], id.as_str());
    assert_eq!(
        answer["results"]["links"],
        json!([{"href": format!("{path}/validate"), "rel": "urn.msys.webhooks.validate",
            "method": ["POST"]}])
    );
    let (_, renamed) = get(&server, &path).await;
    assert_eq!(renamed["results"]["name"], "Orders v2");
    assert_eq!(renamed["results"]["events"], json!(["delivery", "bounce"]));
    assert_eq!(target.hits().len(), 1);

    // Echoing the whole object back (masks included) with a new target is refused: stored
    // secrets never follow a new target, and nothing is sent.
    let mut echoed = renamed["results"].clone();
    echoed["target"] = json!(target.url("/moved"));
    let (status, refused) = put(&server, &path, echoed.clone()).await;
    assert_eq!(
        (status, params(&refused)),
        (
            400,
            vec![
                "auth_credentials.password".to_string(),
                "custom_headers".to_string()
            ]
        ),
        "{refused}"
    );
    assert_eq!(target.hits().len(), 1);
    // Given again in full, the move is tested with them.
    echoed["auth_credentials"]["password"] = json!("n3w-pass");
    echoed["custom_headers"] = json!({"X-Team": "mail"});
    let (status, moved) = put(&server, &path, echoed).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(target.hits().len(), 2);
    let retest = target.last();
    assert_eq!(retest.path, "/moved");
    assert_eq!(
        retest.header("authorization"),
        Some(basic("hooker", "n3w-pass").as_str())
    );
    assert_eq!(retest.header("x-team"), Some("mail"));

    // Validate: SparkPost's {"message": …} body is accepted, but only the server's sample
    // batch is sent (signed), and the answer is relayed.
    let batch = json!([{"msys": {"message_event": {"type": "delivery", "event_id": "1"}}}]);
    let (status, validated) = post(
        &server,
        &format!("{path}/validate"),
        json!({ "message": batch }),
    )
    .await;
    assert_eq!(status, 200, "{validated}");
    assert_eq!(
        validated["results"]["msg"],
        "Test POST to endpoint succeeded"
    );
    assert_eq!(validated["results"]["response"]["status"], 200);
    assert_eq!(validated["results"]["response"]["body"], "OK");
    assert_eq!(
        validated["results"]["response"]["headers"]["x-receiver"],
        "yes"
    );
    let sent = target.last();
    assert_eq!(sent.json(), json!([{"msys": {}}]));
    assert_eq!(
        sent.header("x-messagesystems-batch-id"),
        Some(TEST_BATCH_ID)
    );
    assert_eq!(
        sent.header("webhook-signature")
            .unwrap()
            .matches("v1,")
            .count(),
        1
    );

    // A failing target makes validate a 400 carrying its response.
    target.status.store(503, Ordering::SeqCst);
    let (status, failed) = post(&server, &format!("{path}/validate"), json!({})).await;
    assert_eq!(
        (status, params(&failed)),
        (400, vec!["message".to_string()])
    );
    let (status, failed) = post(
        &server,
        &format!("{path}/validate"),
        json!({"message": [{"msys": {}}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        failed["errors"][0]["message"],
        "Test POST to endpoint failed"
    );
    assert_eq!(failed["errors"][0]["response"]["status"], 503);
    assert_eq!(failed["errors"][0]["response"]["body"], "boom");
    target.status.store(200, Ordering::SeqCst);

    // Rotation: a new secret, and both sign until the old one expires.
    let (status, rotated) =
        post(&server, &format!("{path}/signing-secret/rotate"), json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let second_secret = rotated["results"]["signing_secret"].as_str().unwrap();
    assert!(second_secret.starts_with("whsec_"));
    assert_ne!(second_secret, first_secret);
    assert!(rotated["results"]["previous_secret_expires"].is_string());
    let (status, _) = post(
        &server,
        &format!("{path}/validate"),
        json!({"message": batch}),
    )
    .await;
    assert_eq!(status, 200);
    let signatures = target
        .last()
        .header("webhook-signature")
        .unwrap()
        .to_string();
    assert_eq!(signatures.matches("v1,").count(), 2, "{signatures}");

    // Batch status: an empty list in SparkPost's shape; limit is bounded.
    let (status, batches) = get(&server, &format!("{path}/batch-status")).await;
    assert_eq!((status, batches), (200, json!({"results": []})));
    let (status, _) = get(&server, &format!("{path}/batch-status?limit=10000")).await;
    assert_eq!(status, 200);
    for bad in ["0", "10001", "many"] {
        let (status, answer) = get(&server, &format!("{path}/batch-status?limit={bad}")).await;
        assert_eq!(
            (status, params(&answer)),
            (400, vec!["limit".to_string()]),
            "{bad}"
        );
    }

    // Delete: 204, then 404 everywhere.
    let (status, _) = call(
        &server,
        reqwest::Method::DELETE,
        &path,
        Some(ROOT_KEY),
        None,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(get(&server, &path).await.0, 404);
    assert_eq!(get(&server, &format!("{path}/batch-status")).await.0, 404);
    let (status, _) = call(
        &server,
        reqwest::Method::DELETE,
        &path,
        Some(ROOT_KEY),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, listed) = get(&server, "/api/v1/webhooks").await;
    assert_eq!(listed["results"], json!([]));

    // OAuth2: a token is fetched from the token URL, then the test POST carries it; the
    // client secret is masked, and echoing the mask back keeps it (no new test POST).
    let (status, created) = post(
        &server,
        "/api/v1/webhooks",
        json!({
            "name": "OAuth", "target": target.url("/oauth"), "events": ["click"],
            "auth_type": "oauth2",
            "auth_request_details": {
                "url": target.url("/token"),
                "body": {"client_id": "cid", "client_secret": "oauth-s3cret", "grant_type": "client_credentials"}
            }
        }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let hits = target.hits();
    let (token_request, ping) = (&hits[hits.len() - 2], &hits[hits.len() - 1]);
    assert_eq!(token_request.path, "/token");
    assert!(String::from_utf8_lossy(&token_request.body).contains("oauth-s3cret"));
    assert_eq!(
        (ping.path.as_str(), ping.header("authorization")),
        ("/oauth", Some("Bearer tok-1"))
    );
    let oauth_path = format!(
        "/api/v1/webhooks/{}",
        created["results"]["id"].as_str().unwrap()
    );
    // Once the shared token cache holds a token (validate uses it), GET shows its lifetime.
    let validate_path = format!("{oauth_path}/validate");
    let (status, _) = post(&server, &validate_path, json!({"message": [{"msys": {}}]})).await;
    assert_eq!(status, 200);
    let (_, got) = get(&server, &oauth_path).await;
    let details = &got["results"]["auth_request_details"];
    assert_eq!(details["body"]["client_secret"], "********");
    assert_eq!(details["body"]["client_id"], "cid");
    let credentials = &got["results"]["auth_credentials"];
    assert_eq!(credentials["access_token"], "********");
    assert!(
        credentials["expires_in"]
            .as_u64()
            .is_some_and(|left| left > 0 && left <= 3600),
        "{credentials}"
    );
    let before = target.hits().len();
    let (status, _) = put(&server, &oauth_path, got["results"].clone()).await;
    assert_eq!(status, 200);
    assert_eq!(
        target.hits().len(),
        before,
        "an unchanged auth needs no test POST"
    );

    // The secrets are not in the state database in clear.
    let mut stored = std::fs::read(dir.path().join("state.sqlite")).unwrap();
    stored.extend(std::fs::read(dir.path().join("state.sqlite-wal")).unwrap_or_default());
    for secret in [
        "s3cret-pass",
        "oauth-s3cret",
        first_secret.as_str(),
        second_secret,
    ] {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in clear"
        );
    }
}

#[tokio::test]
async fn refusals_validation_and_event_documentation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &loopback_targets(&[]));
    let failing = Target::start(500).await;

    // A target answering 500: 400 with its response, and nothing is stored.
    let (status, answer) = post(&server, "/api/v1/webhooks", create_body(&failing.url("/x"))).await;
    assert_eq!(status, 400, "{answer}");
    let error = &answer["errors"][0];
    assert_eq!(error["message"], "Test POST to endpoint failed");
    assert_eq!(error["code"], "500");
    assert_eq!(error["response"]["status"], 500);
    assert_eq!(error["response"]["body"], "boom");
    assert_eq!(error["response"]["headers"]["x-receiver"], "yes");
    assert_eq!(failing.hits().len(), 1);
    assert_eq!(
        get(&server, "/api/v1/webhooks").await.1["results"],
        json!([])
    );

    // Every invalid field is named, all in one answer, and nothing is sent.
    let (status, answer) = post(
        &server,
        "/api/v1/webhooks",
        json!({
            "name": "x".repeat(1025),
            "target": "ftp://example.com/",
            "events": ["delivery", "teleport"],
            "active": "yes",
            "auth_type": "oauth2",
            "custom_headers": {"Content-Type": "text/plain", "X-1": "1", "X-2": "2", "X-3": "3", "X-4": "4", "X-5": "5"},
            "exception_subaccounts": [1, 1],
        }),
    )
    .await;
    assert_eq!(status, 400);
    let named = params(&answer);
    for field in [
        "name",
        "target",
        "events",
        "active",
        "auth_request_details",
        "custom_headers",
        "exception_subaccounts",
    ] {
        assert!(
            named.iter().any(|p| p == field),
            "{field} not named in {answer}"
        );
    }
    assert!(answer.to_string().contains("teleport"));
    let (status, answer) = post(&server, "/api/v1/webhooks", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(params(&answer), ["name", "target", "events"]);
    let (status, answer) = post(
        &server,
        "/api/v1/webhooks",
        json!({"name": "n", "target": failing.url("/"), "events": [], "auth_type": "basic",
               "auth_credentials": {"password": "p"}, "subaccount_id": 2}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        params(&answer),
        ["events", "subaccount_id", "auth_credentials.username"]
    );
    let (status, answer) = post(&server, "/api/v1/webhooks", json!([1])).await;
    assert_eq!((status, params(&answer)), (400, vec!["body".to_string()]));
    assert_eq!(failing.hits().len(), 1);

    // Documentation: categories → events → fields with descriptions and samples.
    let (status, docs) = get(&server, "/api/v1/webhooks/events/documentation").await;
    assert_eq!(status, 200);
    let message_events = &docs["results"]["message_event"];
    assert_eq!(message_events["display_name"], "Message Events");
    let bounce = &message_events["events"]["bounce"];
    assert_eq!(bounce["display_name"], "Bounce");
    assert_eq!(bounce["event"]["type"]["sampleValue"], "bounce");
    assert!(bounce["event"]["bounce_class"]["description"].is_string());
    assert!(docs["results"]["track_event"]["events"]["click"].is_object());

    // Samples: the webhook envelope, one entry per requested type; unknown types are named.
    let (status, samples) = get(
        &server,
        "/api/v1/webhooks/events/samples?events=bounce,click",
    )
    .await;
    assert_eq!(status, 200);
    let results = samples["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["msys"]["message_event"]["type"], "bounce");
    assert_eq!(results[1]["msys"]["track_event"]["type"], "click");
    let (_, every) = get(&server, "/api/v1/webhooks/events/samples").await;
    assert!(every["results"].as_array().unwrap().len() > 20);
    let (status, answer) = get(
        &server,
        "/api/v1/webhooks/events/samples?events=bounce,warp",
    )
    .await;
    assert_eq!((status, params(&answer)), (400, vec!["events".to_string()]));
    assert!(answer["errors"][0]["description"]
        .as_str()
        .unwrap()
        .contains("warp"));
}

#[tokio::test]
async fn private_targets_are_refused_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let target = Target::start(200).await;
    let port = target.base.rsplit(':').next().unwrap().to_string();
    for url in [
        format!("http://127.0.0.1:{port}/in"),
        format!("http://localhost:{port}/in"),
    ] {
        let (status, answer) = post(&server, "/api/v1/webhooks", create_body(&url)).await;
        assert_eq!(status, 400, "{url}: {answer}");
        assert_eq!(params(&answer), ["target"], "{url}");
        let reason = answer["errors"][0]["description"].as_str().unwrap();
        assert!(reason.contains("forbidden"), "{reason}");
    }
    assert!(target.hits().is_empty(), "a refused target was contacted");
    assert_eq!(
        get(&server, "/api/v1/webhooks").await.1["results"],
        json!([])
    );
}

#[tokio::test]
async fn grants_and_subaccounts_confine_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &loopback_targets(&[]));
    let target = Target::start(200).await;
    let key = |args: &[&str]| keys(dir.path(), args).trim().to_string();
    let viewer = key(&["create", "--grant", "webhooks/view"]);
    let sub3 = key(&[
        "create",
        "--grant",
        "webhooks/view,webhooks/modify",
        "--subaccount",
        "3",
    ]);
    let body = || json!({"name": "n", "target": target.url("/in"), "events": ["delivery"]});
    let post_as = |key: Option<&str>, subaccount: Option<&str>| {
        let key = key.map(String::from);
        let subaccount = subaccount.map(String::from);
        let body = body();
        let server = &server;
        async move {
            call(
                server,
                reqwest::Method::POST,
                "/api/v1/webhooks",
                key.as_deref(),
                subaccount.as_deref(),
                Some(body),
            )
            .await
        }
    };
    let get_as = |path: &str, key: &str, subaccount: Option<&str>| {
        let (path, key, subaccount) = (
            path.to_string(),
            key.to_string(),
            subaccount.map(String::from),
        );
        let server = &server;
        async move {
            call(
                server,
                reqwest::Method::GET,
                &path,
                Some(&key),
                subaccount.as_deref(),
                None,
            )
            .await
        }
    };

    // Grants: no key 401, view-only key cannot create but can read.
    assert_eq!(post_as(None, None).await.0, 401);
    let (status, answer) = post_as(Some(&viewer), None).await;
    assert_eq!(status, 403);
    assert!(answer["errors"][0]["description"]
        .as_str()
        .unwrap()
        .contains("webhooks/modify"));
    assert_eq!(get_as("/api/v1/webhooks", &viewer, None).await.0, 200);
    assert!(target.hits().is_empty());

    // Webhooks of the primary (all), the primary only, subaccount 3 (two ways) and 4.
    let id_of = |answer: (u16, Value)| {
        assert_eq!(answer.0, 200, "{}", answer.1);
        answer.1["results"]["id"].as_str().unwrap().to_string()
    };
    let all = id_of(post_as(Some(ROOT_KEY), None).await);
    let primary = id_of(post_as(Some(ROOT_KEY), Some("0")).await);
    let own3 = id_of(post_as(Some(&sub3), None).await);
    let for3 = id_of(post_as(Some(ROOT_KEY), Some("3")).await);
    let for4 = id_of(post_as(Some(ROOT_KEY), Some("4")).await);
    let listed = |answer: (u16, Value)| {
        assert_eq!(answer.0, 200, "{}", answer.1);
        let mut ids: Vec<String> = answer.1["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |ids: &[&String]| {
        let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        listed(get_as("/api/v1/webhooks", ROOT_KEY, None).await),
        sorted(&[&all, &primary, &own3, &for3, &for4])
    );
    assert_eq!(
        listed(get_as("/api/v1/webhooks", ROOT_KEY, Some("0")).await),
        sorted(&[&all, &primary])
    );
    assert_eq!(
        listed(get_as("/api/v1/webhooks", ROOT_KEY, Some("3")).await),
        sorted(&[&own3, &for3])
    );
    assert_eq!(
        listed(get_as("/api/v1/webhooks", &sub3, None).await),
        sorted(&[&own3, &for3])
    );
    let (_, shown) = get_as(&format!("/api/v1/webhooks/{own3}"), &sub3, None).await;
    assert_eq!(shown["results"]["subaccount_id"], 3);
    let (_, shown) = get_as(&format!("/api/v1/webhooks/{primary}"), ROOT_KEY, None).await;
    assert_eq!(shown["results"]["subaccount_id"], 0);

    // Out of reach answers 404, for reading and for changing.
    for hidden in [&all, &primary, &for4] {
        let path = format!("/api/v1/webhooks/{hidden}");
        assert_eq!(get_as(&path, &sub3, None).await.0, 404);
        let (status, _) = call(
            &server,
            reqwest::Method::PUT,
            &path,
            Some(&sub3),
            None,
            Some(json!({"name": "mine"})),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = call(
            &server,
            reqwest::Method::DELETE,
            &path,
            Some(&sub3),
            None,
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
    assert_eq!(
        get_as(&format!("/api/v1/webhooks/{for4}"), ROOT_KEY, Some("3"))
            .await
            .0,
        404
    );

    // The header cannot widen a subaccount key, nor move a webhook out of reach; it must be a number.
    assert_eq!(get_as("/api/v1/webhooks", &sub3, Some("4")).await.0, 403);
    let (status, answer) = call(
        &server,
        reqwest::Method::PUT,
        &format!("/api/v1/webhooks/{own3}"),
        Some(&sub3),
        None,
        Some(json!({"subaccount_id": -1})),
    )
    .await;
    assert_eq!(
        (status, params(&answer)),
        (400, vec!["subaccount_id".to_string()])
    );
    let (status, answer) = get_as("/api/v1/webhooks", ROOT_KEY, Some("abc")).await;
    assert_eq!(
        (status, params(&answer)),
        (400, vec!["X-MSYS-SUBACCOUNT".to_string()])
    );

    // A primary key may move a webhook between scopes; exceptions need the "all" scope.
    let path = format!("/api/v1/webhooks/{for4}");
    let (status, moved) = put(
        &server,
        &path,
        json!({"subaccount_id": -1, "exception_subaccounts": [3, 5]}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let (_, moved) = get(&server, &path).await;
    assert_eq!(moved["results"]["subaccount_id"], -1);
    // As SparkPost's retrieve sample shows them: `"exception_subaccounts": ["123"]`.
    assert_eq!(moved["results"]["exception_subaccounts"], json!(["3", "5"]));
    let (status, moved) = put(&server, &path, json!({"subaccount_id": 0})).await;
    assert_eq!(status, 200, "{moved}");
    let (_, moved) = get(&server, &path).await;
    assert_eq!(moved["results"]["exception_subaccounts"], json!([]));
    let (status, answer) = put(&server, &path, json!({"exception_subaccounts": [1]})).await;
    assert_eq!(
        (status, params(&answer)),
        (400, vec!["exception_subaccounts".to_string()])
    );
}

/// SparkPost (webhooks.apib, "Create a Webhook"): "Webhooks only support standard ports, port
/// 80 for HTTP traffic and port 443 for HTTPS traffic. You will not be able to create a
/// webhook using a non-standard port." `webhooks.allow_any_port` lifts it.
#[tokio::test]
async fn targets_on_non_standard_ports_need_the_operator_setting() {
    let receiver = Target::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[("EVENTHOSE_ALLOW_PRIVATE_TARGETS", "true")]);
    let (status, refused) = post(
        &server,
        "/api/v1/webhooks",
        create_body(&receiver.url("/in")),
    )
    .await;
    assert_eq!(
        (status, params(&refused)),
        (400, vec!["target".to_string()]),
        "{refused}"
    );
    assert!(receiver.hits().is_empty(), "nothing was sent");

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &loopback_targets(&[]));
    let (status, created) = post(
        &server,
        "/api/v1/webhooks",
        create_body(&receiver.url("/in")),
    )
    .await;
    assert_eq!(status, 200, "{created}");
}
