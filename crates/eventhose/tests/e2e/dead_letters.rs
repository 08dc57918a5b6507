//! Dead letters end to end: a message no subscriber can read reaches the hose behind the
//! server's back (as a damaged or foreign record would); each subscriber that reads it sets it
//! aside and goes on with the next events, and the Dead Letters API and `eventhose
//! dead-letters` list, show, retry and drop it, on the embedded hose and on RabbitMQ.

use std::process::Command;
use std::time::Duration;

use eventhose_hose::embedded::{EmbeddedConfig, EmbeddedHose};
use eventhose_hose::{Hose, Message};
use lapin::options::BasicPublishOptions;
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;

use crate::amqp::{self, Broker};
use crate::harness::*;
use crate::receiver::{Behaviour, Receiver};

/// Not an event: no subscriber can read it.
const POISON: &str = "not an event";

/// Not a webhook batch: the webhooks engine cannot read it as one of its retries.
const NOT_A_BATCH: &str = "not a batch";

/// The subscribers that read every message, but the webhooks engine.
const READERS: [&str; 4] = ["counter", "metrics", "message_events", "suppressions"];

#[tokio::test]
async fn an_unreadable_record_of_the_embedded_hose_is_set_aside_and_settled_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(Behaviour::Ok).await;
    let env = loopback_targets(&[]);
    let server = Server::start(dir.path(), &env);
    create_webhook(&server, &receiver.url, &["delivery"]).await;
    assert!(server.terminate().success());

    let hose = EmbeddedHose::open(dir.path().join("hose"), EmbeddedConfig::default())
        .await
        .unwrap();
    hose.publish(vec![Message::from_static(POISON.as_bytes())])
        .await
        .unwrap();
    // And a retry of the webhooks engine that is not a batch of its own.
    let mut webhooks = hose.subscribe("webhooks").await.unwrap();
    webhooks
        .defer(
            Message::from_static(NOT_A_BATCH.as_bytes()),
            Duration::ZERO,
            3,
        )
        .await
        .unwrap();
    drop(webhooks);
    hose.close().await.unwrap();

    let server = Server::start(dir.path(), &env);
    the_subscribers_set_it_aside_and_go_on(&server, &receiver, dir.path(), 2).await;
    let page = get_json(&server, ROOT_KEY, "/api/v1/dead-letters/webhooks")
        .await
        .expect("list");
    let retry = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|letter| letter["attempt"] == 3)
        .unwrap_or_else(|| panic!("the unreadable retry is set aside with its attempt: {page}"));
    let shown = get_json(
        &server,
        ROOT_KEY,
        &format!(
            "/api/v1/dead-letters/webhooks/{}",
            retry["id"].as_str().unwrap()
        ),
    )
    .await
    .expect("show");
    assert_eq!(shown["results"]["messages"][0]["text"], NOT_A_BATCH);
}

#[tokio::test]
async fn an_unreadable_message_on_rabbitmq_is_set_aside_and_settled_by_hand() {
    let broker = Broker::new();
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(Behaviour::Ok).await;
    let env = broker.env(&loopback_targets(&[]));
    let server = amqp::start(dir.path(), &env);
    create_webhook(&server, &receiver.url, &["delivery"]).await;

    let connection = Connection::connect(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        ConnectionProperties::default(),
    )
    .await
    .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let body = eventhose_hose_amqp::wire::encode_batch(&[Message::from_static(POISON.as_bytes())])
        .unwrap();
    let exchange = broker.queue("events");
    channel
        .basic_publish(
            exchange.as_str().into(),
            "".into(),
            BasicPublishOptions::default(),
            &body,
            eventhose_hose_amqp::wire::properties(None),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let _ = connection.close(200, "published".into()).await;

    the_subscribers_set_it_aside_and_go_on(&server, &receiver, dir.path(), 1).await;
}

/// The poison is set aside by every subscriber that reads it, the events after it go through,
/// and it can be listed, shown, retried (it comes back, as it is still unreadable) and dropped.
async fn the_subscribers_set_it_aside_and_go_on(
    server: &Server,
    receiver: &Receiver,
    data_dir: &std::path::Path,
    webhooks_letters: u64,
) {
    assert_eq!(
        ingest(server, ROOT_KEY, ndjson("delivery", "after", 1))
            .await
            .status(),
        200
    );
    eventually(
        "the event after the poison is counted and delivered",
        || async {
            counted(server, "delivery").await == 1
                && receiver.event_ids().contains("after-0")
                && amqp::metric_total(server, "count_delivered").await == 1
        },
    )
    .await;
    eventually("each reader set the poison aside", || async {
        let Some(summary) = get_json(server, ROOT_KEY, "/api/v1/dead-letters").await else {
            return false;
        };
        READERS
            .iter()
            .all(|reader| total_of(&summary, reader) == Some(1))
            && total_of(&summary, "webhooks") == Some(webhooks_letters)
    })
    .await;

    let listed = answer(server, "/api/v1/dead-letters/metrics").await;
    assert_eq!(listed["total_count"], 1, "{listed}");
    let letter = &listed["results"][0];
    let id = letter["id"].as_str().expect("an id").to_owned();
    assert!(
        letter["reason"].as_str().unwrap_or_default().len() > 5,
        "{letter}"
    );
    assert_eq!(letter["attempt"], 0);
    let shown = get_json(
        server,
        ROOT_KEY,
        &format!("/api/v1/dead-letters/metrics/{id}"),
    )
    .await
    .expect("show");
    assert_eq!(shown["results"]["messages"][0]["text"], POISON, "{shown}");

    // Only a primary-account key with the grant, acting for no subaccount.
    let viewer = keys(data_dir, &["create", "--grant", "metrics/view"]);
    let viewer = viewer.trim();
    let forbidden = client()
        .get(server.url("/api/v1/dead-letters"))
        .header("Authorization", viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let acting = client()
        .get(server.url("/api/v1/dead-letters"))
        .header("Authorization", ROOT_KEY)
        .header("X-MSYS-SUBACCOUNT", "7")
        .send()
        .await
        .unwrap();
    assert_eq!(acting.status(), 403);

    // The command line: list, retry (still unreadable, so it is set aside again), drop.
    let listed = dead_letters(server, &["list", "metrics"]);
    assert!(listed.contains(&id), "{listed}");
    dead_letters(server, &["retry", "metrics", &id]);
    eventually(
        "the retried dead letter was read again and set aside again",
        || async {
            metric(
                server,
                "eventhose_dead_letters_total{subscriber=\"metrics\"}",
            )
            .await
                == Some(2.0)
                && get_json(server, ROOT_KEY, "/api/v1/dead-letters/metrics")
                    .await
                    .is_some_and(|page| page["total_count"] == 1)
        },
    )
    .await;
    dead_letters(server, &["drop", "metrics", &id]);
    let page = get_json(server, ROOT_KEY, "/api/v1/dead-letters/metrics")
        .await
        .expect("list");
    assert_eq!(page["total_count"], 0, "{page}");
    let gone = client()
        .get(server.url(&format!("/api/v1/dead-letters/metrics/{id}")))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(
        counted(server, "delivery").await,
        1,
        "nothing counted twice"
    );
}

/// `GET path` with the root key, which must answer 200; its JSON.
async fn answer(server: &Server, path: &str) -> Value {
    let response = client()
        .get(server.url(path))
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

fn total_of(summary: &Value, subscriber: &str) -> Option<u64> {
    summary["results"]
        .as_array()?
        .iter()
        .find(|entry| entry["subscriber"] == subscriber)?["total_count"]
        .as_u64()
}

/// Runs `eventhose dead-letters <args>` against `server` with the root key; returns stdout.
fn dead_letters(server: &Server, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_eventhose"))
        .arg("dead-letters")
        .args(args)
        .args(["--url", &server.base])
        .env("EVENTHOSE_KEY", ROOT_KEY)
        .output()
        .expect("run eventhose dead-letters");
    assert!(
        output.status.success(),
        "eventhose dead-letters {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}
