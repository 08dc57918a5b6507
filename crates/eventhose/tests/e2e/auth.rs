//! API keys: 401 without a valid key, 403 without the grant, revocation, hashed storage.

use crate::harness::*;

#[tokio::test]
async fn keys_gate_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let body = || ndjson("delivery", "a", 1);

    // No key, an unknown key.
    let response = client()
        .post(server.url("/api/v1/ingest/events"))
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["errors"][0]["message"], "Unauthorized.");
    assert_eq!(
        ingest(&server, "not-a-key-at-all-000000", body())
            .await
            .status(),
        401
    );

    // A key without the grant.
    let viewer = keys(
        dir.path(),
        &["create", "--grant", "metrics/view", "--label", "viewer"],
    );
    let viewer = viewer.trim();
    let response = ingest(&server, viewer, body()).await;
    assert_eq!(response.status(), 403);
    let json: serde_json::Value = response.json().await.unwrap();
    assert!(json["errors"][0]["description"]
        .as_str()
        .unwrap()
        .contains("events/ingest"));

    // A key with the grant, in both of SparkPost's header forms.
    let writer = keys(dir.path(), &["create", "--grant", "events/ingest"]);
    let writer = writer.trim().to_string();
    assert_eq!(ingest(&server, &writer, body()).await.status(), 200);
    let response = client()
        .post(server.url("/api/v1/ingest/events"))
        .basic_auth(&writer, Some(""))
        .body(body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Revoked: refused within the cache's lifetime.
    let listing = keys(dir.path(), &["list", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listing).unwrap();
    let id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["prefix"] == writer[..4] && k["grants"][0] == "events/ingest")
        .map(|k| k["id"].as_str().unwrap().to_string())
        .unwrap();
    keys(dir.path(), &["revoke", &id]);
    eventually("the revoked key is refused", || async {
        ingest(&server, &writer, body()).await.status() == 401
    })
    .await;

    // The stored form is not the key.
    let mut stored = std::fs::read(dir.path().join("state.sqlite")).unwrap();
    stored.extend(std::fs::read(dir.path().join("state.sqlite-wal")).unwrap_or_default());
    for secret in [viewer, writer.as_str(), ROOT_KEY] {
        let needle = secret.as_bytes();
        assert!(
            !stored.windows(needle.len()).any(|w| w == needle),
            "a key is stored in clear"
        );
    }
    assert!(!listing.contains(&writer));
}
