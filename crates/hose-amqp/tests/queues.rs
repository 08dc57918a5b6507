//! Behaviour specific to the RabbitMQ hose: competing consumers, the dead-letter queue,
//! unroutable publishes, queue statistics and gauges.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventhose_hose::{Hose, HoseError};
use eventhose_hose_amqp::{wire, AmqpHose, QueueStats};
use lapin::options::BasicGetOptions;
use lapin::{Connection, ConnectionProperties};
use tokio::time::Instant;

use common::{
    connect, message, next, publish, texts, unique_config, unique_config_with, Cleanup, DEADLINE,
};

/// Asks the broker until `accept` likes the subscriber's statistics (bounded).
async fn inspect_until(
    hose: &AmqpHose,
    subscriber: &str,
    what: &str,
    accept: impl Fn(&QueueStats) -> bool,
) -> QueueStats {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let stats = hose.inspect(subscriber).await.expect("inspect");
        if accept(&stats) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competing_consumers_in_two_processes_split_the_work_and_together_see_all() {
    const MESSAGES: usize = 200;
    let config = unique_config_with(|o| {
        o.prefetch = 1;
    });
    let _cleanup = Cleanup::new(&config);
    // Two hoses are two connections, as two processes would have.
    let hoses = [connect(&config).await, connect(&config).await];
    hoses[0].register("workers").await.expect("register");

    let received: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let mut workers = Vec::new();
    for (index, hose) in hoses.iter().enumerate() {
        let mut sub = hose.subscribe("workers").await.expect("subscribe");
        let received = Arc::clone(&received);
        workers.push(tokio::spawn(async move {
            while let Ok(delivery) = sub.next().await {
                received
                    .lock()
                    .unwrap()
                    .extend(texts(&delivery).into_iter().map(|t| (index, t)));
                sub.ack(&delivery.tag).await.expect("ack");
            }
        }));
    }
    inspect_until(&hoses[0], "workers", "two consumers", |s| s.consumers == 2).await;
    let expected: BTreeSet<String> = (0..MESSAGES).map(|i| format!("job-{i}")).collect();
    for job in &expected {
        publish(&*hoses[0], &[job]).await;
    }
    let deadline = Instant::now() + DEADLINE;
    while received.lock().unwrap().len() < MESSAGES {
        assert!(Instant::now() < deadline, "not every job was delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for hose in &hoses {
        hose.close().await.expect("close");
    }
    for worker in workers {
        worker.await.expect("worker");
    }
    let received = received.lock().unwrap();
    let seen: BTreeSet<String> = received.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(received.len(), MESSAGES, "each job once");
    assert_eq!(seen, expected, "together the consumers see every job");
    for index in 0..2 {
        let share = received.iter().filter(|(i, _)| *i == index).count();
        assert!(
            share > 0,
            "consumer {index} got none of the {MESSAGES} jobs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_delivered_past_the_limit_moves_to_the_dead_letter_queue() {
    let config = unique_config_with(|o| {
        o.max_redeliveries = 2;
    });
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    hose.register("poison").await.expect("register");
    publish(&*hose, &["pill", "in-one-batch"]).await;

    // Each subscription takes the batch and goes away without acknowledging it: the broker
    // counts a delivery each time and dead-letters the batch once the limit is exceeded.
    let mut deliveries = 0;
    loop {
        let mut sub = hose.subscribe("poison").await.expect("subscribe");
        let delivery = next(&mut *sub).await;
        assert_eq!(texts(&delivery), ["pill", "in-one-batch"]);
        deliveries += 1;
        drop(sub);
        let stats = inspect_until(&hose, "poison", "the batch back or dead", |s| {
            s.messages == 1 || s.dead_messages == 1
        })
        .await;
        if stats.dead_messages == 1 {
            assert_eq!(stats.messages, 0, "dead-lettered, not copied");
            break;
        }
        assert!(
            deliveries < 3,
            "still redelivered after {deliveries} deliveries"
        );
    }
    assert_eq!(
        deliveries, 3,
        "max_redeliveries = 2: the first delivery and two redeliveries, then dead"
    );

    // The dead-letter queue holds the batch as published.
    let connection = Connection::connect(&config.url, ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let dead = channel
        .basic_get(
            hose.dead_queue("poison").as_str().into(),
            BasicGetOptions { no_ack: true },
        )
        .await
        .expect("basic.get")
        .expect("a dead-lettered message");
    let messages = wire::decode_batch(dead.delivery.data.clone()).expect("a framed batch");
    assert_eq!(messages, [message("pill"), message("in-one-batch")]);
    let _ = connection.close(200, "done".into()).await;
    hose.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_no_queue_takes_fails_and_is_not_reported_accepted() {
    let config = unique_config();
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    let refused = hose.publish(vec![message("nobody-listens")]).await;
    match &refused {
        Err(HoseError::Unavailable(why)) => {
            assert!(why.contains("no queue"), "{why}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(hose.stats().end_position, 0, "nothing counted as published");
    hose.register("now").await.expect("register");
    publish(&*hose, &["routed"]).await;
    assert_eq!(hose.stats().end_position, 1);
    let mut sub = hose.subscribe("now").await.expect("subscribe");
    assert_eq!(texts(&next(&mut *sub).await), ["routed"]);
    hose.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_batches_and_deferrals_are_refused_before_the_broker() {
    let config = unique_config_with(|o| {
        o.max_batch_bytes = 1_000;
    });
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    hose.register("big").await.expect("register");
    let big = message(&"x".repeat(1_000));
    let refused = hose.publish(vec![big.clone()]).await;
    assert!(
        matches!(
            refused,
            Err(HoseError::TooLarge {
                max_bytes: 1_000,
                ..
            })
        ),
        "{refused:?}"
    );
    let mut sub = hose.subscribe("big").await.expect("subscribe");
    let deferred = sub.defer(big, Duration::from_secs(1), 1).await;
    assert!(
        matches!(deferred, Err(HoseError::TooLarge { .. })),
        "{deferred:?}"
    );
    let too_late = sub
        .defer(message("far"), Duration::from_secs(60 * 60 * 24 * 60), 1)
        .await;
    assert!(
        matches!(&too_late, Err(HoseError::InvalidConfig(why)) if why.contains("delay")),
        "{too_late:?}"
    );
    hose.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_report_queue_depth_and_consumers_and_export_gauges() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    metrics::set_global_recorder(recorder).expect("the only recorder in this test binary");

    let config = unique_config();
    let _cleanup = Cleanup::new(&config);
    let hose = connect(&config).await;
    hose.register("depth").await.expect("register");
    for i in 0..5 {
        publish(&*hose, &[&format!("event-{i}"), "second-of-batch"]).await;
    }
    hose.refresh_stats().await.expect("refresh");
    let stats = hose.queue_stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].queue, hose.work_queue("depth"));
    assert_eq!((stats[0].messages, stats[0].consumers), (5, 0));
    let hose_stats = hose.stats();
    assert_eq!(hose_stats.end_position, 5, "batches published");
    let lag = hose_stats.subscriber("depth").expect("listed").lag_bytes;
    assert!(lag > 0, "five waiting batches are a lag");

    let mut sub = hose.subscribe("depth").await.expect("subscribe");
    let delivery = next(&mut *sub).await;
    // The consumer's prefetch (16) takes all five batches: none is left ready in the queue.
    inspect_until(&hose, "depth", "one consumer holding every batch", |s| {
        s.consumers == 1 && s.messages == 0
    })
    .await;
    sub.ack(&delivery.tag).await.expect("ack");

    // The background refresh exports the gauges.
    let work_queue = hose.work_queue("depth");
    let consumers_line = format!("eventhose_hose_queue_consumers{{queue=\"{work_queue}\"}} 1");
    let deadline = Instant::now() + DEADLINE;
    while !metrics.render().contains(&consumers_line) {
        assert!(Instant::now() < deadline, "no gauge: {}", metrics.render());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rendered = metrics.render();
    let dead_line = format!(
        "eventhose_hose_queue_messages{{queue=\"{}\"}} 0",
        hose.dead_queue("depth")
    );
    assert!(rendered.contains(&dead_line), "{rendered}");
    assert!(
        rendered.contains(&format!(
            "eventhose_hose_queue_messages{{queue=\"{work_queue}\"}}"
        )),
        "{rendered}"
    );
    drop(sub);
    hose.unregister("depth").await.expect("unregister");
    assert!(hose.queue_stats().is_empty());
    hose.close().await.expect("close");
}
