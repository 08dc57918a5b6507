//! Broker faults: connections closed by the broker, an unreachable broker, a dropped hose. Each
//! test closes only its own connection (found by its client-provided name).

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventhose_hose::{Hose, HoseError};
use eventhose_hose_amqp::{AmqpHose, AmqpHoseConfig};
use tokio::time::Instant;

use common::{
    close_connections, connect, connection_pids, message, next, publish, texts, unique_config,
    unique_config_with, Cleanup, DEADLINE,
};

/// Waits (bounded) until `condition` holds, polling.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the publishing task has seen.
#[derive(Default)]
struct Published {
    confirmed: BTreeSet<String>,
    unavailable: usize,
    other_errors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_confirmed_publish_survives_a_closed_connection_and_publishing_resumes() {
    let config = unique_config_with(|o| {
        // A pause after the loss long enough that publishes see the hose disconnected.
        o.reconnect_min_ms = 1_000;
    });
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    hose.register("sink").await.expect("register");

    // A consumer reading the whole time, acknowledging as it goes.
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut subscription = hose.subscribe("sink").await.expect("subscribe");
    let consumer = {
        let received = Arc::clone(&received);
        tokio::spawn(async move {
            loop {
                match subscription.next().await {
                    Ok(delivery) => {
                        received.lock().unwrap().extend(texts(&delivery));
                        subscription.ack(&delivery.tag).await.expect("ack");
                    }
                    Err(HoseError::Closed) => break,
                    Err(other) => panic!("next failed: {other:?}"),
                }
            }
        })
    };

    // A publisher publishing the whole time, recording what was confirmed.
    let published: Arc<Mutex<Published>> = Arc::default();
    let stop = Arc::new(tokio::sync::Notify::new());
    let publisher = {
        let hose = Arc::clone(&hose);
        let published = Arc::clone(&published);
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            for i in 0u64.. {
                let id = format!("id-{i}");
                let outcome = tokio::select! {
                    _ = stop.notified() => break,
                    outcome = hose.publish(vec![message(&id)]) => outcome,
                };
                {
                    let mut published = published.lock().unwrap();
                    match outcome {
                        Ok(_) => {
                            published.confirmed.insert(id);
                        }
                        Err(HoseError::Unavailable(_)) => published.unavailable += 1,
                        Err(other) => published.other_errors.push(format!("{other:?}")),
                    }
                }
                if i % 16 == 15 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };

    eventually("50 publishes are confirmed", || {
        published.lock().unwrap().confirmed.len() >= 50
    })
    .await;
    let closed = close_connections(&config.options.connection_name);
    assert_eq!(closed, 1, "the hose uses one connection");
    eventually("a publish fails while disconnected", || {
        published.lock().unwrap().unavailable > 0
    })
    .await;
    let confirmed_at_loss = published.lock().unwrap().confirmed.len();
    eventually("publishing resumes by itself", || {
        published.lock().unwrap().confirmed.len() >= confirmed_at_loss + 50
    })
    .await;
    stop.notify_one();
    publisher.await.expect("publisher");

    let published = std::mem::take(&mut *published.lock().unwrap());
    assert!(
        published.other_errors.is_empty(),
        "only Unavailable may fail a publish: {:?}",
        published.other_errors
    );
    eventually("every confirmed publish is delivered", || {
        let received = received.lock().unwrap();
        let distinct: BTreeSet<&String> = received.iter().collect();
        published.confirmed.iter().all(|id| distinct.contains(id))
    })
    .await;
    assert!(hose.is_connected(), "the hose reconnected");
    hose.close().await.expect("close");
    consumer.await.expect("consumer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_resumes_after_its_connection_closes_and_stale_acks_are_harmless() {
    let config = unique_config();
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    hose.register("hooks").await.expect("register");
    publish(&*hose, &["before-loss"]).await;
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    let taken = next(&mut *sub).await;
    assert_eq!(texts(&taken), ["before-loss"]);

    assert_eq!(close_connections(&config.options.connection_name), 1);
    eventually("the hose notices the loss", || !hose.is_connected()).await;
    sub.ack(&taken.tag)
        .await
        .expect("acknowledging a delivery of the dead connection is harmless");

    // The broker had not seen the ack: it delivers the batch again on the new connection.
    let again = next(&mut *sub).await;
    assert_eq!(texts(&again), ["before-loss"]);
    sub.ack(&again.tag).await.expect("ack");
    publish(&*hose, &["after-loss"]).await;
    assert_eq!(texts(&next(&mut *sub).await), ["after-loss"]);
    hose.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_while_disconnected_declares_the_queue_before_publishing_resumes() {
    let config = unique_config_with(|o| {
        o.reconnect_min_ms = 1_000;
    });
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    hose.register("early").await.expect("register");
    assert_eq!(close_connections(&config.options.connection_name), 1);
    eventually("the hose notices the loss", || !hose.is_connected()).await;
    hose.register("late")
        .await
        .expect("registering without a connection is remembered");
    hose.wait_until_connected(DEADLINE)
        .await
        .expect("reconnects by itself");
    publish(&*hose, &["for-both"]).await;
    for name in ["early", "late"] {
        let mut sub = hose.subscribe(name).await.expect("subscribe");
        assert_eq!(texts(&next(&mut *sub).await), ["for-both"], "{name}");
    }
    hose.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_fails_publishes_fast_and_nothing_exits() {
    // Nothing listens on port 1 of the loopback address: every connection attempt is refused.
    let config = AmqpHoseConfig {
        url: "amqp://guest:guest@127.0.0.1:1/%2f".into(),
        ..unique_config()
    };
    let hose = AmqpHose::connect(config)
        .await
        .expect("an unreachable broker does not fail connect");
    assert!(!hose.is_connected());
    let refused = hose.publish(vec![message("lost")]).await;
    assert!(
        matches!(&refused, Err(HoseError::Unavailable(why)) if why.contains("127.0.0.1:1")),
        "{refused:?}"
    );
    hose.register("hooks")
        .await
        .expect("registration is remembered for later");
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    let deferred = sub.defer(message("retry"), Duration::from_secs(1), 2).await;
    assert!(
        matches!(deferred, Err(HoseError::Unavailable(_))),
        "{deferred:?}"
    );
    assert!(matches!(
        hose.wait_until_connected(Duration::from_millis(300)).await,
        Err(HoseError::Unavailable(_))
    ));
    // A waiting subscription wakes on close instead of waiting for the broker for ever.
    let waiter = tokio::spawn(async move { sub.next().await });
    hose.close().await.expect("close");
    let woken = tokio::time::timeout(DEADLINE, waiter)
        .await
        .expect("woke")
        .expect("task");
    assert!(matches!(woken, Err(HoseError::Closed)), "{woken:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_hose_without_close_closes_its_connection() {
    let config = unique_config();
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    hose.register("sub").await.expect("register");
    assert_eq!(connection_pids(&config.options.connection_name).len(), 1);
    drop(hose);
    let deadline = Instant::now() + DEADLINE;
    while !connection_pids(&config.options.connection_name).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the connection outlived the hose"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_deleted_behind_the_hose_is_declared_again() {
    let config = unique_config();
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    hose.register("sub").await.expect("register");
    publish(&*hose, &["before"]).await;

    let admin = lapin::Connection::connect(&config.url, lapin::ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = admin.create_channel().await.expect("channel");
    channel
        .exchange_delete(
            format!("{}events", config.options.prefix).into(),
            lapin::options::ExchangeDeleteOptions::default(),
        )
        .await
        .expect("delete the exchange");
    let _ = admin.close(200, "done".into()).await;

    // The broker closes the publishing channel (404); the hose fails that publish and declares
    // its topology again, binding included, on a new connection.
    let failed = hose.publish(vec![message("unrouted")]).await;
    assert!(
        matches!(failed, Err(HoseError::Unavailable(_))),
        "{failed:?}"
    );
    let deadline = Instant::now() + DEADLINE;
    let mut attempt = 0;
    let delivered_text = loop {
        attempt += 1;
        let text = format!("after-{attempt}");
        match hose.publish(vec![message(&text)]).await {
            Ok(_) => break text,
            Err(HoseError::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => panic!("publishing did not resume: {other:?}"),
        }
    };
    let mut sub = hose.subscribe("sub").await.expect("subscribe");
    for expected in ["before", delivered_text.as_str()] {
        let delivery = next(&mut *sub).await;
        assert_eq!(texts(&delivery), [expected]);
        sub.ack(&delivery.tag).await.expect("ack");
    }
    publish(&*hose, &["marker"]).await;
    assert_eq!(texts(&next(&mut *sub).await), ["marker"]);
    hose.close().await.expect("close");
}
