//! The webhook routes driven through the real router over a real state store, against
//! receivers on loopback: what a key that may change (or only view) a webhook can and cannot
//! make the server send or show.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use axum::Router;
use eventhose_state::{NewWebhook, Webhook, WebhookAuth, WebhookScope, WebhookStore};
use serde_json::{json, Value};

use super::{MODIFY_GRANT, VIEW_GRANT};
use crate::test_app::{Answer, TestApp};

/// One request a receiver got.
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
}

/// A loopback HTTP server that records every request and answers 200 (a token for `/token`,
/// 204 for `/no-content`).
struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let log = hits.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(Hit {
                    path: uri.path().to_string(),
                    headers,
                    body,
                });
                if uri.path() == "/token" {
                    return (
                        StatusCode::OK,
                        r#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#,
                    );
                }
                if uri.path() == "/no-content" {
                    return (StatusCode::NO_CONTENT, "");
                }
                (StatusCode::OK, "OK")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { base, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Whether any request it got carries `needle` in a header or the body.
    fn saw(&self, needle: &str) -> bool {
        self.hits().iter().any(|hit| {
            String::from_utf8_lossy(&hit.body).contains(needle)
                || hit
                    .headers
                    .values()
                    .any(|v| String::from_utf8_lossy(v.as_bytes()).contains(needle))
        })
    }
}

/// The router, a key with both webhook grants and one that may only view.
struct Harness {
    app: TestApp,
    modify: String,
    view: String,
}

async fn harness() -> Harness {
    harness_with_cap(crate::webhooks::DEFAULT_MAX_WEBHOOKS_PER_ACCOUNT).await
}

async fn harness_with_cap(max_per_account: usize) -> Harness {
    let app = TestApp::for_webhooks(max_per_account).await;
    Harness {
        modify: app.key(&[MODIFY_GRANT, VIEW_GRANT], None),
        view: app.key(&[VIEW_GRANT], None),
        app,
    }
}

impl Harness {
    /// A webhook put straight into the store (no test POST).
    fn stored(&self, target: &str, auth: WebhookAuth, custom_headers: &[(&str, &str)]) -> Webhook {
        self.stored_in(WebhookScope::All, target, auth, custom_headers)
    }

    fn stored_in(
        &self,
        scope: WebhookScope,
        target: &str,
        auth: WebhookAuth,
        custom_headers: &[(&str, &str)],
    ) -> Webhook {
        self.app
            .state
            .create_webhook(NewWebhook {
                name: "victim".into(),
                target: target.into(),
                events: vec!["delivery".into()],
                active: true,
                auth,
                custom_headers: custom_headers
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect(),
                auth_token: None,
                scope,
                exception_subaccounts: vec![],
            })
            .unwrap()
    }

    fn reread(&self, id: &str) -> Webhook {
        self.app.state.get_webhook(id).unwrap().unwrap()
    }

    async fn call(&self, method: Method, uri: &str, key: &str, body: Option<Value>) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("Authorization", key)
            .header("Content-Type", "application/json");
        let body = body.map_or_else(Body::empty, |body| Body::from(body.to_string()));
        self.app.send(request.body(body).unwrap()).await
    }

    async fn put(&self, id: &str, body: Value) -> Answer {
        let uri = format!("/api/v1/webhooks/{id}");
        self.call(Method::PUT, &uri, &self.modify, Some(body)).await
    }

    async fn get(&self, id: &str, key: &str) -> Answer {
        let uri = format!("/api/v1/webhooks/{id}");
        self.call(Method::GET, &uri, key, None).await
    }
}

fn basic(username: &str, password: &str) -> WebhookAuth {
    WebhookAuth::Basic {
        username: username.into(),
        password: password.into(),
    }
}

fn oauth(token_url: &str, client_secret: &str) -> WebhookAuth {
    WebhookAuth::OAuth2 {
        url: token_url.into(),
        body: json!({"client_id": "cid", "client_secret": client_secret, "grant_type": "client_credentials"})
            .as_object()
            .unwrap()
            .clone(),
    }
}

#[tokio::test]
async fn validate_cannot_sign_a_caller_chosen_payload() {
    let h = harness().await;
    let receiver = Receiver::start().await;
    let hook = h.stored(&receiver.url("/in"), WebhookAuth::None, &[]);
    let forged = json!([{"msys": {"message_event": {"type": "delivery", "event_id": "forged-1"}}}]);
    let uri = format!("/api/v1/webhooks/{}/validate", hook.id);
    for body in [json!({ "message": forged }), forged.clone()] {
        let answer = h.call(Method::POST, &uri, &h.modify, Some(body)).await;
        assert_eq!(answer.results()["msg"], "Test POST to endpoint succeeded");
    }
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2);
    for hit in &hits {
        assert_eq!(hit.path, "/in");
        let sent: Value = serde_json::from_slice(&hit.body).unwrap();
        assert_eq!(
            sent,
            json!([{"msys": {}}]),
            "only the server's sample is sent"
        );
        // The signature covers exactly what was sent: the sample, never the caller's JSON.
        let (id, at) = (
            hit.header("webhook-id").unwrap(),
            hit.header("webhook-timestamp").unwrap().parse().unwrap(),
        );
        let expected =
            eventhose_webhooks::signing::sign(&hook.signing.current, id, at, &hit.body).unwrap();
        assert_eq!(hit.header("webhook-signature"), Some(expected.as_str()));
        let forged_bytes = serde_json::to_vec(&forged).unwrap();
        let forged_signature =
            eventhose_webhooks::signing::sign(&hook.signing.current, id, at, &forged_bytes)
                .unwrap();
        assert_ne!(expected, forged_signature);
    }
    assert!(!receiver.saw("forged-1"));
}

#[tokio::test]
async fn modify_key_cannot_recover_masked_password_by_moving_target() {
    let h = harness().await;
    let (victim, attacker) = (Receiver::start().await, Receiver::start().await);
    let hook = h.stored(&victim.url("/in"), basic("alice", "basic-s3cret"), &[]);

    // The whole object echoed back (password masked) with the attacker's target.
    let mut echoed = h.get(&hook.id, &h.modify).await.results().clone();
    assert_eq!(echoed["auth_credentials"]["password"], "********");
    echoed["target"] = json!(attacker.url("/steal"));
    let answer = h.put(&hook.id, echoed).await;

    assert_eq!(answer.bad_params(), ["auth_credentials.password"]);
    assert!(
        attacker.hits().is_empty(),
        "the attacker was sent a request"
    );
    assert_eq!(h.reread(&hook.id), hook, "nothing changed");

    // Given in full, the move is fine.
    let answer = h
        .put(
            &hook.id,
            json!({"target": attacker.url("/new"), "auth_credentials": {"username": "bob", "password": "fresh"}}),
        )
        .await;
    answer.results();
    assert!(!attacker.saw("basic-s3cret") && !attacker.saw(&base64_of("alice:basic-s3cret")));
}

#[tokio::test]
async fn modify_key_cannot_carry_stored_credentials_to_a_new_target_by_leaving_them_out() {
    let h = harness().await;
    let (victim, attacker) = (Receiver::start().await, Receiver::start().await);
    let token_url = victim.url("/token");
    for (auth, param) in [
        (basic("alice", "basic-s3cret"), "auth_credentials"),
        (oauth(&token_url, "oauth-s3cret"), "auth_request_details"),
    ] {
        let hook = h.stored(&victim.url("/in"), auth, &[]);
        let answer = h
            .put(&hook.id, json!({"target": attacker.url("/steal")}))
            .await;
        assert_eq!(answer.bad_params(), [param]);
        assert_eq!(h.reread(&hook.id), hook);
    }
    assert!(
        attacker.hits().is_empty(),
        "the attacker was sent a request"
    );
    assert!(victim.hits().is_empty(), "no token was fetched");
}

#[tokio::test]
async fn modify_key_cannot_recover_masked_client_secret_by_moving_token_url() {
    let h = harness().await;
    let (victim, attacker) = (Receiver::start().await, Receiver::start().await);
    let hook = h.stored(
        &victim.url("/in"),
        oauth(&victim.url("/token"), "oauth-s3cret"),
        &[],
    );
    let shown = h.get(&hook.id, &h.modify).await.results().clone();
    assert_eq!(
        shown["auth_request_details"]["body"]["client_secret"],
        "********"
    );

    // The token request (with the client secret) would go to the attacker.
    let mut details = shown["auth_request_details"].clone();
    details["url"] = json!(attacker.url("/token"));
    let answer = h
        .put(&hook.id, json!({ "auth_request_details": details }))
        .await;
    assert_eq!(
        answer.bad_params(),
        ["auth_request_details.body.client_secret"]
    );

    // The bearer token it buys would go to the attacker.
    let answer = h
        .put(
            &hook.id,
            json!({"target": attacker.url("/in"), "auth_request_details": shown["auth_request_details"]}),
        )
        .await;
    assert_eq!(
        answer.bad_params(),
        ["auth_request_details.body.client_secret"]
    );

    assert!(
        attacker.hits().is_empty(),
        "the attacker was sent a request"
    );
    assert!(victim.hits().is_empty(), "no token was fetched");
    assert_eq!(h.reread(&hook.id), hook);

    // Echoing the mask with nothing moved still keeps the secret.
    let answer = h
        .put(
            &hook.id,
            json!({"name": "renamed", "auth_request_details": shown["auth_request_details"]}),
        )
        .await;
    answer.results();
    assert_eq!(h.reread(&hook.id).auth, hook.auth);
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn view_key_cannot_read_custom_header_values() {
    let h = harness().await;
    let receiver = Receiver::start().await;
    let hook = h.stored(
        &receiver.url("/in"),
        WebhookAuth::None,
        &[("X-Api-Key", "hdr-t0ken-123"), ("X-Team", "mail")],
    );
    let one = h.get(&hook.id, &h.view).await;
    assert_eq!(
        one.results()["custom_headers"],
        json!({"X-Api-Key": "********", "X-Team": "********"})
    );
    let all = h.call(Method::GET, "/api/v1/webhooks", &h.view, None).await;
    assert_eq!(
        all.results()[0]["custom_headers"],
        one.results()["custom_headers"]
    );
    for answer in [&one, &all] {
        assert!(!answer.body.to_string().contains("hdr-t0ken-123"));
    }
}

#[tokio::test]
async fn modify_key_cannot_recover_masked_custom_header_by_moving_target() {
    let h = harness().await;
    let (victim, attacker) = (Receiver::start().await, Receiver::start().await);
    let hook = h.stored(
        &victim.url("/in"),
        WebhookAuth::None,
        &[("X-Api-Key", "hdr-t0ken-123")],
    );
    let mut echoed = h.get(&hook.id, &h.modify).await.results().clone();
    echoed["target"] = json!(attacker.url("/steal"));
    assert_eq!(
        h.put(&hook.id, echoed).await.bad_params(),
        ["custom_headers"]
    );
    // Leaving the headers out does not carry them along either.
    let answer = h
        .put(&hook.id, json!({"target": attacker.url("/steal")}))
        .await;
    assert_eq!(answer.bad_params(), ["custom_headers"]);
    assert!(
        attacker.hits().is_empty(),
        "the attacker was sent a request"
    );
    assert_eq!(h.reread(&hook.id), hook);

    // With the target unchanged, echoing the mask keeps the stored value.
    let echoed = h.get(&hook.id, &h.modify).await.results().clone();
    h.put(&hook.id, echoed).await.results();
    assert_eq!(h.reread(&hook.id).custom_headers, hook.custom_headers);
}

#[tokio::test]
async fn account_cannot_create_webhooks_beyond_its_cap() {
    let h = harness_with_cap(3).await;
    let receiver = Receiver::start().await;
    for scope in [WebhookScope::All, WebhookScope::Primary] {
        h.stored_in(scope, &receiver.url("/old"), WebhookAuth::None, &[]);
    }
    let create = |name: &str| json!({"name": name, "target": receiver.url(&format!("/{name}")), "events": ["delivery"]});
    // The cap-th webhook is accepted…
    let third = h
        .call(
            Method::POST,
            "/api/v1/webhooks",
            &h.modify,
            Some(create("third")),
        )
        .await;
    third.results();
    assert_eq!(receiver.hits().len(), 1, "the third got its test POST");
    // … the next is refused, without a test POST.
    let fourth = h
        .call(
            Method::POST,
            "/api/v1/webhooks",
            &h.modify,
            Some(create("fourth")),
        )
        .await;
    assert_eq!(fourth.status, StatusCode::CONFLICT, "{}", fourth.body);
    assert_eq!(fourth.body["errors"][0]["message"], "webhook limit reached");
    assert_eq!(fourth.body["errors"][0]["code"], "409");
    assert!(
        fourth.descriptions().contains('3'),
        "{}",
        fourth.descriptions()
    );
    assert_eq!(receiver.hits().len(), 1, "the refused one sent nothing");
    assert_eq!(h.app.state.list_webhooks(None).unwrap().len(), 3);

    // A subaccount counts its own webhooks.
    let sub = h.app.key(&[MODIFY_GRANT], Some(9));
    let answer = h
        .call(Method::POST, "/api/v1/webhooks", &sub, Some(create("sub")))
        .await;
    answer.results();
}

/// SparkPost's webhook object (webhooks.apib): "auth_token (string) Deprecated in favor of the
/// `auth_type` field. Authentication token to present in the `X-MessageSystems-Webhook-Token`
/// header of POST requests to target." Here it is a secret: sent, never shown.
#[tokio::test]
async fn auth_token_is_sent_in_its_header_and_never_shown() {
    let h = harness().await;
    let (receiver, attacker) = (Receiver::start().await, Receiver::start().await);
    let token = "5ebe2294ecd0e0f08eab7690d2a6ee69";
    let created = h
        .call(
            Method::POST,
            "/api/v1/webhooks",
            &h.modify,
            Some(json!({"name": "legacy", "target": receiver.url("/in"),
                "events": ["delivery"], "auth_token": token})),
        )
        .await;
    let id = created.results()["id"].as_str().unwrap().to_string();
    assert!(!created.body.to_string().contains(token));
    assert_eq!(
        receiver.hits()[0].header("x-messagesystems-webhook-token"),
        Some(token),
        "the test POST carries the token"
    );
    assert_eq!(h.reread(&id).auth_token.as_deref(), Some(token));

    for key in [&h.view, &h.modify] {
        let shown = h.get(&id, key).await;
        assert_eq!(shown.results()["auth_token"], "********");
        assert!(!shown.body.to_string().contains(token));
    }
    let listed = h.call(Method::GET, "/api/v1/webhooks", &h.view, None).await;
    assert_eq!(listed.results()[0]["auth_token"], "********");
    assert!(!listed.body.to_string().contains(token));

    // Validate sends it too.
    let uri = format!("/api/v1/webhooks/{id}/validate");
    h.call(Method::POST, &uri, &h.modify, None).await.results();
    assert_eq!(
        receiver.hits()[1].header("x-messagesystems-webhook-token"),
        Some(token)
    );

    // The object echoed back with the attacker's target: the mask does not follow it.
    let mut echoed = h.get(&id, &h.modify).await.results().clone();
    echoed["target"] = json!(attacker.url("/steal"));
    assert_eq!(h.put(&id, echoed).await.bad_params(), ["auth_token"]);
    assert!(attacker.hits().is_empty());
    assert_eq!(h.reread(&id).auth_token.as_deref(), Some(token));

    // Echoed where it was, it stays; `""` removes it.
    let echoed = h.get(&id, &h.modify).await.results().clone();
    h.put(&id, echoed).await.results();
    assert_eq!(h.reread(&id).auth_token.as_deref(), Some(token));
    h.put(&id, json!({"auth_token": ""})).await.results();
    assert_eq!(h.reread(&id).auth_token, None);
    assert_eq!(h.get(&id, &h.view).await.results()["auth_token"], "");
}

/// SparkPost's "Update a Webhook" answer (webhooks.apib, Response 200):
/// `{"results": {"id": …, "links": [{"href": "/api/v1/webhooks/{id}/validate",
/// "rel": "urn.msys.webhooks.validate", "method": ["POST"]}]}}`.
#[tokio::test]
async fn update_answers_with_the_id_and_the_validate_link() {
    let h = harness().await;
    let receiver = Receiver::start().await;
    let hook = h.stored(&receiver.url("/in"), WebhookAuth::None, &[]);
    let answer = h.put(&hook.id, json!({"name": "Renamed webhook"})).await;
    assert_eq!(
        answer.results(),
        &json!({
            "id": hook.id,
            "links": [{
                "href": format!("/api/v1/webhooks/{}/validate", hook.id),
                "rel": "urn.msys.webhooks.validate",
                "method": ["POST"],
            }]
        })
    );
    assert_eq!(h.reread(&hook.id).name, "Renamed webhook");
}

/// SparkPost (webhooks.apib, "Create a Webhook"): "If this request does not receive an HTTP
/// 200 response, your request to the Webhook API will fail with HTTP 400".
#[tokio::test]
async fn a_test_post_answered_with_204_is_refused() {
    let h = harness().await;
    let receiver = Receiver::start().await;
    let create =
        |path: &str| json!({"name": "n", "target": receiver.url(path), "events": ["delivery"]});
    let refused = h
        .call(
            Method::POST,
            "/api/v1/webhooks",
            &h.modify,
            Some(create("/no-content")),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["message"],
        "Test POST to endpoint failed"
    );
    assert_eq!(refused.body["errors"][0]["response"]["status"], 204);
    assert!(h.app.state.list_webhooks(None).unwrap().is_empty());

    let hook = h.stored(&receiver.url("/in"), WebhookAuth::None, &[]);
    let answer = h
        .put(&hook.id, json!({"target": receiver.url("/no-content")}))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(h.reread(&hook.id).target, receiver.url("/in"));
}
