//! Directory locking, stats, cursor persistence and the writer's bookkeeping.

use std::time::Duration;

use super::{message, next, publish, texts, EmbeddedHarness};
use crate::conformance::{poll_first, FirstPoll, HoseHarness};
use crate::embedded::EmbeddedConfig;
use crate::sync_util::lock;
use crate::{Hose, HoseError};

#[tokio::test]
async fn the_lock_prevents_a_second_open() {
    let mut harness = EmbeddedHarness::new();
    let hose = harness.open().await.unwrap();
    match harness.open().await {
        Err(HoseError::Locked { path }) => assert_eq!(path, harness.path().join("LOCK")),
        Err(other) => panic!("expected Locked, got {other:?}"),
        Ok(_) => panic!("a second instance opened the same directory"),
    }
    hose.close().await.unwrap();
    let reopened = harness.open().await.unwrap();
    reopened.close().await.unwrap();
}

#[tokio::test]
async fn stats_follow_publishes_and_acks() {
    let mut harness = EmbeddedHarness::new();
    let hose = harness.open().await.unwrap();
    hose.register("metrics").await.unwrap();
    let first = publish(&hose, &["a", "b"]).await;
    let second = publish(&hose, &["c"]).await;
    assert_eq!(first.position, Some(0));
    assert_eq!(first.messages, 2);
    let end = hose.stats().end_position;
    assert!(second.position.unwrap() > 0 && second.position.unwrap() < end);

    let stats = hose.stats();
    let metrics = stats.subscriber("metrics").unwrap();
    assert_eq!(
        (metrics.lag_bytes, metrics.acked_position, metrics.deferred),
        (end, 0, 0)
    );
    assert_eq!(stats.segments, 1);
    assert_eq!(stats.disk_bytes, end);

    let mut sub = hose.subscribe("metrics").await.unwrap();
    let delivery = next(&mut *sub).await;
    assert_eq!(delivery.position, first.position);
    assert_eq!(texts(&delivery), ["a", "b"]);
    sub.ack(&delivery.tag).await.unwrap();
    sub.ack(&delivery.tag)
        .await
        .expect("a repeated ack is harmless");
    let metrics = hose.stats().subscriber("metrics").cloned().unwrap();
    assert_eq!(metrics.acked_position, second.position.unwrap());
    assert_eq!(metrics.lag_bytes, end - second.position.unwrap());

    sub.defer(message("later"), Duration::from_secs(3600), 1)
        .await
        .unwrap();
    let stats = hose.stats();
    assert_eq!(stats.subscriber("metrics").unwrap().deferred, 1);
    assert!(
        stats.disk_bytes > end,
        "the delayed queue counts toward disk use"
    );
    hose.close().await.unwrap();
}

#[tokio::test]
async fn cursors_are_flushed_periodically_without_close() {
    let config = EmbeddedConfig {
        cursor_flush_interval: Duration::from_millis(20),
        ..Default::default()
    };
    let mut harness = EmbeddedHarness::with_config(config);
    let hose = harness.open().await.unwrap();
    let mut sub = hose.subscribe("sub").await.unwrap();
    publish(&hose, &["one"]).await;
    let delivery = next(&mut *sub).await;
    sub.ack(&delivery.tag).await.unwrap();
    let acked = hose.stats().end_position;

    let cursor_path = harness.path().join("subscribers").join("sub.cursor");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if crate::embedded::cursor::read_cursor(&cursor_path).unwrap() == acked {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cursor was never flushed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hose.close().await.unwrap();
}

#[tokio::test]
async fn unknown_tags_are_rejected() {
    let mut harness = EmbeddedHarness::new();
    let hose = harness.open().await.unwrap();
    let mut sub = hose.subscribe("sub").await.unwrap();
    let tag = crate::DeliveryTag::stream(100, 200);
    assert!(matches!(
        sub.ack(&tag).await,
        Err(HoseError::UnknownDelivery(_))
    ));
    assert!(matches!(
        sub.ack(&crate::DeliveryTag::deferred(9)).await,
        Err(HoseError::UnknownDelivery(_))
    ));
    assert!(matches!(
        sub.ack(&crate::DeliveryTag::external(1)).await,
        Err(HoseError::UnknownDelivery(_))
    ));
    hose.close().await.unwrap();
}

#[tokio::test]
async fn empty_batches_store_nothing_and_writer_totals_count_records() {
    let mut harness = EmbeddedHarness::new();
    let hose = harness.open().await.unwrap();
    let receipt = hose.publish(Vec::new()).await.unwrap();
    assert_eq!((receipt.position, receipt.messages), (None, 0));
    assert_eq!(hose.stats().end_position, 0);
    publish(&hose, &["a", "b", "c"]).await;
    publish(&hose, &["d"]).await;
    let totals = hose.writer_totals();
    assert_eq!((totals.records, totals.messages), (2, 4));
    assert_eq!(totals.bytes_written, hose.stats().end_position);
    assert!(totals.fsyncs >= 1 && totals.fsyncs <= 2);
    hose.close().await.unwrap();
}

/// A `next` dropped while its poll of the delayed queue runs (the webhook engine drops it
/// whenever an attempt finishes first) must not hide a message deferred afterwards.
#[tokio::test]
async fn a_defer_after_a_dropped_next_is_still_served() {
    let mut harness = EmbeddedHarness::new();
    let hose = harness.open().await.unwrap();
    hose.register("webhooks").await.unwrap();
    let mut sub = hose.subscribe("webhooks").await.unwrap();
    sub.defer(message("first"), Duration::ZERO, 1)
        .await
        .unwrap();
    let first = next(&mut *sub).await;

    // Begin a poll that can find nothing due (the only message is in flight), and drop it once
    // that poll has finished: before the defer it must not hide. Holding the delayed queue
    // during the first poll keeps the poll from finishing inside it, where no wake would
    // tell.
    let state = hose
        .shared
        .subscriber_states()
        .into_iter()
        .find(|state| state.name == "webhooks")
        .unwrap();
    let queue = lock(&state.deferred);
    let FirstPoll::Started(poll) = poll_first(sub.next()) else {
        panic!("nothing is due yet");
    };
    drop(queue);
    assert!(
        poll.drop_once_woken(Duration::from_secs(30)).await,
        "the abandoned poll of the delayed queue never finished"
    );
    sub.defer(message("second"), Duration::ZERO, 2)
        .await
        .unwrap();
    sub.ack(&first.tag).await.unwrap();

    let second = next(&mut *sub).await;
    assert_eq!(texts(&second), ["second"]);
    assert_eq!(second.attempt, 2);
    hose.close().await.unwrap();
}
