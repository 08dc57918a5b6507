//! Cluster mode: the roles as separate processes (`serve --roles …`) on the local RabbitMQ,
//! PostgreSQL and ClickHouse — two ingest+api processes, two webhooks workers, one
//! suppressions worker, one metrics worker writing to ClickHouse and one api+events process —
//! with workers killed mid-stream.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use eventhose_state::testing::TestDatabase;
use eventhose_state::EncryptionKey;
use eventhose_test_support::clickhouse::ClickHouseDatabase;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::amqp::{
    events, metric_total, recipient, stream_bounces, suppressed, webhooks_fast, Broker, Seen,
};
use crate::harness::*;
use crate::receiver::{Behaviour, Receiver};

/// The environment every process of one cluster shares.
struct Cluster {
    env: Vec<(String, String)>,
}

impl Cluster {
    fn new(
        broker: &Broker,
        database: &TestDatabase,
        key: &str,
        analytics: &ClickHouseDatabase,
    ) -> Cluster {
        let mut extra = webhooks_fast();
        extra.push(("EVENTHOSE_STATE", database.url()));
        let analytics = analytics.url();
        extra.push(("EVENTHOSE_ANALYTICS__URL", analytics.as_str()));
        extra.push(("EVENTHOSE_WEBHOOKS__ENCRYPTION_KEY", key));
        Cluster {
            env: broker.env(&extra),
        }
    }

    fn start(&self, dir: &Path, roles: &str) -> Server {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Server::start_roles(dir, roles, &env)
    }
}

/// The sum of a counter's samples over all label sets (0 when absent).
async fn summed(server: &Server, name: &str) -> f64 {
    let Some(text) = try_metrics_text(server).await else {
        return 0.0;
    };
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// How many times `worker`'s engine has loaded the webhook list.
async fn list_loads(worker: &Server) -> f64 {
    summed(worker, "eventhose_webhook_list_loads_total").await
}

#[tokio::test]
async fn cluster_seven_processes_lose_nothing_count_exactly_and_share_webhook_edits() {
    let database = TestDatabase::create();
    let broker = Broker::new();
    let key = EncryptionKey::generate().to_base64();
    let clickhouse = ClickHouseDatabase::new();
    let cluster = Cluster::new(&broker, &database, &key, &clickhouse);
    let dirs: Vec<TempDir> = (0..8).map(|_| tempfile::tempdir().unwrap()).collect();
    let front = [
        cluster.start(dirs[0].path(), "api,ingest"),
        cluster.start(dirs[1].path(), "api,ingest"),
    ];
    let mut workers = vec![
        cluster.start(dirs[2].path(), "webhooks"),
        cluster.start(dirs[3].path(), "webhooks"),
    ];
    let _suppressions = cluster.start(dirs[4].path(), "suppressions");
    let analytics = cluster.start(dirs[5].path(), "api,events");
    let metrics = cluster.start(dirs[7].path(), "metrics");

    // A webhook created through one front process reaches both workers.
    let loads_before = [list_loads(&workers[0]).await, list_loads(&workers[1]).await];
    let receiver = Receiver::start(Behaviour::Ok).await;
    create_webhook(&front[0], &receiver.url, &["bounce"]).await;
    for (worker, before) in workers.iter().zip(loads_before) {
        eventually("the worker loads the new webhook", || async {
            list_loads(worker).await > before
                && metric(worker, "eventhose_webhooks_loaded").await == Some(1.0)
        })
        .await;
    }

    // Hard bounces through both front processes; a webhooks worker and the metrics worker are
    // killed mid-stream, and the metrics worker restarts.
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let streams: Vec<_> = front
        .iter()
        .enumerate()
        .map(|(c, server)| {
            tokio::spawn(stream_bounces(
                server.base.clone(),
                c,
                100,
                stop.clone(),
                seen.clone(),
                false,
            ))
        })
        .collect();
    eventually("a stream is flowing", || async {
        seen.acked_requests() >= 20
    })
    .await;
    workers.remove(1).kill9();
    metrics.kill9();
    let _metrics = cluster.start(dirs[7].path(), "metrics");
    let after_kill = seen.acked_requests();
    eventually("the stream goes on after the kills", || async {
        seen.acked_requests() >= after_kill + 20
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for stream in streams {
        stream.await.unwrap();
    }
    let unexpected = seen.unexpected.lock().unwrap().clone();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");

    // Every acknowledged bounce reached the receiver, the suppression list and the metrics,
    // which count each exactly once although deliveries came again after the kills.
    let acked = seen.acked();
    let n = acked.len() as u64;
    let wanted: BTreeSet<String> = acked.iter().cloned().collect();
    eventually("every acknowledged bounce reaches the receiver", || async {
        receiver.event_ids().is_superset(&wanted)
    })
    .await;
    let addresses: BTreeSet<String> = acked.iter().map(|id| recipient(id)).collect();
    eventually("every acknowledged bounce is suppressed", || async {
        suppressed(&front[1]).await == addresses
    })
    .await;
    // Every api process answers the Metrics API from ClickHouse.
    eventually("the metrics count every acknowledged bounce", || async {
        metric_total(&front[0], "count_bounce").await >= n
    })
    .await;
    for server in [&front[0], &front[1], &analytics] {
        assert_eq!(
            metric_total(server, "count_bounce").await,
            n,
            "each bounce counted once"
        );
    }
    let posted = receiver.events_posted();
    eprintln!(
        "cluster: {n} bounces acknowledged, {posted} posted to the receiver ({} again after the kill)",
        posted - receiver.event_ids().len()
    );

    // A second worker again; a webhook edited through the other front process takes effect
    // on both workers: each delivers its share of the deliveries the edit asked for.
    workers.push(cluster.start(dirs[6].path(), "webhooks"));
    let webhooks = get_json(&front[1], ROOT_KEY, "/api/v1/webhooks")
        .await
        .expect("the webhook list");
    let id = webhooks["results"][0]["id"].as_str().unwrap().to_string();
    let loads_before = [list_loads(&workers[0]).await, list_loads(&workers[1]).await];
    send_as_root(
        client()
            .put(front[1].url(&format!("/api/v1/webhooks/{id}")))
            .json(&json!({ "events": ["bounce", "delivery"] })),
    )
    .await;
    for (worker, before) in workers.iter().zip(loads_before) {
        eventually("the worker reloads the edited webhook", || async {
            list_loads(worker).await > before
        })
        .await;
    }
    let delivered_before = [
        summed(&workers[0], "eventhose_webhook_events_delivered_total").await,
        summed(&workers[1], "eventhose_webhook_events_delivered_total").await,
    ];
    let mut deliveries = BTreeSet::new();
    for k in 0..40 {
        let (body, ids) = events("delivery", &format!("after-edit-{k}"), 10);
        let response = ingest(&front[k % 2], ROOT_KEY, body).await;
        assert_eq!(response.status(), 200);
        deliveries.extend(ids);
    }
    eventually(
        "every delivery after the edit reaches the receiver",
        || async { receiver.event_ids().is_superset(&deliveries) },
    )
    .await;
    for (worker, before) in workers.iter().zip(delivered_before) {
        let after = summed(worker, "eventhose_webhook_events_delivered_total").await;
        assert!(
            after > before,
            "each worker delivered a share: {before} → {after}"
        );
    }
    let answer: Value = get_json(&analytics, ROOT_KEY, "/api/v1/webhooks")
        .await
        .expect("the webhook list from the analytics process");
    assert_eq!(
        answer["results"][0]["events"],
        json!(["bounce", "delivery"])
    );
}

#[tokio::test]
async fn cluster_roles_refuse_stores_they_cannot_share() {
    let dir = tempfile::tempdir().unwrap();
    for (env, needed) in [
        (vec![], "amqp://"),
        (
            vec![("EVENTHOSE_HOSE", "amqp://guest:guest@127.0.0.1:5672/%2f")],
            "postgres://",
        ),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_eventhose"))
            .args(["serve", "--listen", "127.0.0.1:0", "--roles", "webhooks"])
            .arg("--data-dir")
            .arg(dir.path())
            .envs(env)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains(needed), "{said}");
    }
}

#[tokio::test]
async fn cluster_webhooks_workers_share_a_webhooks_concurrency_limit() {
    let database = TestDatabase::create();
    let broker = Broker::new();
    let key = EncryptionKey::generate().to_base64();
    let mut extra = webhooks_fast();
    extra.push(("EVENTHOSE_STATE", database.url()));
    extra.push(("EVENTHOSE_WEBHOOKS__ENCRYPTION_KEY", &key));
    extra.push(("EVENTHOSE_WEBHOOKS__PER_WEBHOOK_CONCURRENCY", "2"));
    // Small batches, so that each worker has more ready than its share allows.
    extra.push(("EVENTHOSE_WEBHOOKS__BATCH_MAX_EVENTS", "5"));
    let cluster = Cluster {
        env: broker.env(&extra),
    };
    let dirs: Vec<TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let front = cluster.start(dirs[0].path(), "api,ingest");
    let workers = [
        cluster.start(dirs[1].path(), "webhooks"),
        cluster.start(dirs[2].path(), "webhooks"),
    ];
    // Each worker sees the other on the queue, and takes half of the limit.
    for worker in &workers {
        eventually("each worker takes its share of the limit", || async {
            metric(worker, "eventhose_webhook_concurrency_share").await == Some(1.0)
        })
        .await;
    }
    let pause = std::time::Duration::from_millis(300);
    let receiver = Receiver::start(Behaviour::Slow(pause)).await;
    create_webhook(&front, &receiver.url, &["bounce"]).await;
    for worker in &workers {
        eventually("the worker loads the webhook", || async {
            metric(worker, "eventhose_webhooks_loaded").await == Some(1.0)
        })
        .await;
    }
    let mut sent = BTreeSet::new();
    for k in 0..30 {
        let (body, ids) = events("bounce", &format!("limit-{k}"), 5);
        assert_eq!(ingest(&front, ROOT_KEY, body).await.status(), 200);
        sent.extend(ids);
    }
    eventually("every bounce reaches the slow receiver", || async {
        receiver.event_ids().is_superset(&sent)
    })
    .await;
    // The receiver answers each POST `pause` after it arrives, and an engine starts a
    // webhook's next request only once one ends: POSTs arriving less than `pause` apart were
    // in flight together.
    let arrivals: Vec<_> = receiver.batches().iter().map(|batch| batch.at).collect();
    let most_at_once = arrivals
        .iter()
        .map(|at| {
            arrivals
                .iter()
                .filter(|other| **other <= *at && at.duration_since(**other) < pause)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        arrivals.len() >= 20,
        "enough batches to fill the limit: {}",
        arrivals.len()
    );
    assert!(
        most_at_once <= 2,
        "{most_at_once} requests in flight to one webhook, over its limit of 2"
    );
}
