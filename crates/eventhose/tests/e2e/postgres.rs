//! The state store on PostgreSQL (`state = "postgres://…"`): two servers, each with its own
//! data directory and hose, share API keys, webhooks and suppressions through one database.

use eventhose_state::testing::TestDatabase;
use eventhose_state::EncryptionKey;
use serde_json::{json, Value};

use crate::harness::*;
use crate::receiver::{Behaviour, Receiver};

/// The environment of a server on `database`, with the encryption key every process sharing
/// it needs.
fn shared_state<'a>(database: &'a TestDatabase, key: &'a str) -> Vec<(&'a str, &'a str)> {
    loopback_targets(&[
        ("EVENTHOSE_STATE", database.url()),
        ("EVENTHOSE_WEBHOOKS__ENCRYPTION_KEY", key),
        ("EVENTHOSE_WEBHOOKS__FLUSH_INTERVAL_MS", "100"),
    ])
}

#[tokio::test]
async fn two_servers_share_keys_webhooks_and_suppressions_through_postgres() {
    let database = TestDatabase::create();
    let key = EncryptionKey::generate().to_base64();
    let env = shared_state(&database, &key);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Started together on an empty database: both migrate it and race for the bootstrap key.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| Server::start(dir_a.path(), &env));
        let b = scope.spawn(|| Server::start(dir_b.path(), &env));
        (a.join().unwrap(), b.join().unwrap())
    });
    let receiver = Receiver::start(Behaviour::Ok).await;

    // A webhook created through A is delivered to by B, which was running before it existed:
    // only the change notification tells B's engine about it.
    let (id, _) = create_webhook(&a, &receiver.url, &["delivery"]).await;
    assert_eq!(
        ingest(&b, ROOT_KEY, ndjson("delivery", "via-b", 5))
            .await
            .status(),
        200
    );
    eventually("B delivers to the webhook created through A", || async {
        receiver.event_ids().len() == 5
    })
    .await;

    // Edited through B, the webhook changes on A.
    send_as_root(
        client()
            .put(b.url(&format!("/api/v1/webhooks/{id}")))
            .json(&json!({ "events": ["delivery", "bounce"] })),
    )
    .await;
    assert_eq!(
        ingest(&a, ROOT_KEY, ndjson("bounce", "via-a", 3))
            .await
            .status(),
        200
    );
    eventually("A delivers the bounces B's edit asked for", || async {
        receiver.event_ids().len() == 8
    })
    .await;

    // The hard bounces ingested into A are on the suppression list B reads (each on the
    // transactional and the non-transactional list).
    eventually("B lists A's hard bounces as suppressions", || async {
        get_json(&b, ROOT_KEY, "/api/v1/suppression-list?per_page=100")
            .await
            .is_some_and(|list| list["total_count"] == 6)
    })
    .await;

    // A key created on one process works on the other; revoked, it stops working there too.
    let state_env = [
        ("EVENTHOSE_STATE", database.url()),
        ("EVENTHOSE_WEBHOOKS__ENCRYPTION_KEY", key.as_str()),
    ];
    let writer = keys_with(
        dir_a.path(),
        &state_env,
        &["create", "--grant", "events/ingest"],
    );
    let writer = writer.trim();
    let body = || ndjson("delivery", "writer", 1);
    assert_eq!(ingest(&b, writer, body()).await.status(), 200);
    let listing = keys_with(dir_a.path(), &state_env, &["list", "--json"]);
    let listed: Value = serde_json::from_str(&listing).unwrap();
    let writer_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["prefix"] == writer[..4] && k["grants"][0] == "events/ingest")
        .and_then(|k| k["id"].as_str())
        .unwrap()
        .to_string();
    keys_with(dir_a.path(), &state_env, &["revoke", &writer_id]);
    eventually("the key revoked through A is refused by B", || async {
        ingest(&b, writer, body()).await.status() == 401
    })
    .await;

    // A recipient erased through A is dropped by B's webhook engine too.
    let erased = client()
        .delete(a.url("/api/v1/events/message?recipients=usererased-0@example.com"))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .unwrap();
    assert!(erased.status().is_success(), "{}", erased.status());
    eventually("B's tombstones hold the erasure made through A", || async {
        metric(&b, "eventhose_erasure_tombstones").await == Some(1.0)
    })
    .await;
    let body = event("delivery", "erased-0") + "\n" + &event("delivery", "kept-0") + "\n";
    assert_eq!(ingest(&b, ROOT_KEY, body).await.status(), 200);
    eventually("B delivers the event of the recipient kept", || async {
        receiver.event_ids().contains("kept-0")
    })
    .await;
    assert!(
        !receiver.event_ids().contains("erased-0"),
        "B sent an event of the recipient erased through A"
    );

    // Nothing of the state is in the data directories.
    for dir in [&dir_a, &dir_b] {
        assert!(!dir.path().join("state.sqlite").exists());
    }
    // And it outlives the processes.
    drop((a, b));
    let dir_c = tempfile::tempdir().unwrap();
    let again = Server::start(dir_c.path(), &env);
    let listed = get_json(&again, ROOT_KEY, "/api/v1/webhooks")
        .await
        .unwrap();
    assert_eq!(listed["results"][0]["id"], id.as_str());
    assert_eq!(
        listed["results"][0]["events"],
        json!(["delivery", "bounce"])
    );
}

#[tokio::test]
async fn serve_refuses_postgres_state_without_a_shared_encryption_key() {
    let database = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_eventhose"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("EVENTHOSE_STATE", database.url())
        .env_remove("EVENTHOSE_WEBHOOKS__ENCRYPTION_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("webhooks.encryption_key"), "{said}");
}
