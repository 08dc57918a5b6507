//! Segments roll, and are deleted only once every subscriber has moved past them.

use super::{next, publish, segment_files, texts, EmbeddedHarness};
use crate::conformance::HoseHarness;
use crate::embedded::EmbeddedConfig;
use crate::Hose;
use eventhose_test_support::files::any_file_holds;

fn small_segments() -> EmbeddedConfig {
    EmbeddedConfig {
        segment_bytes: 1024,
        compress: false,
        ..Default::default()
    }
}

#[tokio::test]
async fn fully_acked_segments_are_deleted_and_lagging_ones_kept() {
    let mut harness = EmbeddedHarness::with_config(small_segments());
    let hose = harness.open().await.unwrap();
    hose.register("fast").await.unwrap();
    hose.register("slow").await.unwrap();
    let payload = "e".repeat(600);
    let mut positions = Vec::new();
    for _ in 0..10 {
        positions.push(publish(&hose, &[&payload]).await.position.unwrap());
    }
    let created = segment_files(harness.path());
    assert!(created.len() >= 5, "segments should roll: {created:?}");
    assert_eq!(hose.stats().segments, created.len());

    let mut fast = hose.subscribe("fast").await.unwrap();
    for _ in 0..10 {
        let delivery = next(&mut *fast).await;
        fast.ack(&delivery.tag).await.unwrap();
    }
    hose.flush().await.unwrap();
    assert_eq!(
        segment_files(harness.path()),
        created,
        "slow still needs every segment"
    );

    let mut slow = hose.subscribe("slow").await.unwrap();
    for _ in 0..4 {
        let delivery = next(&mut *slow).await;
        slow.ack(&delivery.tag).await.unwrap();
    }
    hose.flush().await.unwrap();
    let slow_cursor = positions[4];
    let remaining = segment_files(harness.path());
    let expected: Vec<u64> = created
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            created
                .get(i + 1)
                .is_none_or(|next_start| *next_start > slow_cursor)
        })
        .map(|(_, start)| *start)
        .collect();
    assert_eq!(
        remaining, expected,
        "exactly the segments below slow's cursor are gone"
    );
    assert!(remaining.len() < created.len());
    assert!(remaining.first().is_some_and(|first| *first <= slow_cursor));

    drop((fast, slow));
    hose.close().await.unwrap();
    let hose = harness.open().await.unwrap();
    let mut slow = hose.subscribe("slow").await.unwrap();
    for expected_position in &positions[4..] {
        let delivery = next(&mut *slow).await;
        assert_eq!(delivery.position, Some(*expected_position));
        assert_eq!(texts(&delivery), std::slice::from_ref(&payload));
        slow.ack(&delivery.tag).await.unwrap();
    }
    hose.flush().await.unwrap();
    assert_eq!(
        segment_files(harness.path()).len(),
        1,
        "only the active segment remains"
    );
    hose.close().await.unwrap();
}

#[tokio::test]
async fn without_subscribers_only_the_active_segment_is_kept() {
    let mut harness = EmbeddedHarness::with_config(small_segments());
    let hose = harness.open().await.unwrap();
    let payload = "n".repeat(700);
    for _ in 0..6 {
        publish(&hose, &[&payload]).await;
    }
    let end = hose.stats().end_position;
    hose.flush().await.unwrap();
    let remaining = segment_files(harness.path());
    assert_eq!(remaining.len(), 1);
    assert!(
        remaining[0] < end,
        "the active segment holds the newest record"
    );
    assert_eq!(hose.stats().segments, 1);
    hose.close().await.unwrap();
}

/// The active segment is never deleted by retention, so without a seal a message stays on disk
/// after every subscriber has taken it, for as long as the segment takes to fill.
#[tokio::test]
async fn a_seal_lets_retention_delete_what_every_subscriber_has_taken() {
    let mut harness = EmbeddedHarness::with_config(EmbeddedConfig {
        compress: false,
        ..Default::default()
    });
    let hose = harness.open().await.unwrap();
    hose.register("reader").await.unwrap();
    publish(&hose, &[r#"{"rcpt_to":"ann@example.com"}"#]).await;
    let mut reader = hose.subscribe("reader").await.unwrap();
    let delivery = next(&mut *reader).await;
    reader.ack(&delivery.tag).await.unwrap();
    hose.flush().await.unwrap();
    assert!(
        any_file_holds(harness.path(), b"ann@example.com"),
        "the active segment keeps a taken message"
    );

    let sealed = hose.seal().await.unwrap().unwrap();
    publish(&hose, &[r#"{"rcpt_to":"bob@example.com"}"#]).await;
    hose.flush().await.unwrap();
    assert!(hose.stats().retained_from.unwrap() >= sealed);
    assert!(!any_file_holds(harness.path(), b"ann@example.com"));
    assert!(any_file_holds(harness.path(), b"bob@example.com"));

    // Sealing an empty active segment changes nothing.
    let delivery = next(&mut *reader).await;
    reader.ack(&delivery.tag).await.unwrap();
    let end = hose.seal().await.unwrap().unwrap();
    assert_eq!(hose.seal().await.unwrap(), Some(end));
    hose.flush().await.unwrap();
    assert_eq!(
        segment_files(harness.path()),
        [end],
        "only the new, empty segment is left"
    );
    assert!(!any_file_holds(harness.path(), b"bob@example.com"));
}

/// Until a subscriber has taken them, sealed messages stay (nothing unread is deleted).
#[tokio::test]
async fn a_seal_keeps_what_a_subscriber_has_not_taken() {
    let mut harness = EmbeddedHarness::with_config(EmbeddedConfig {
        compress: false,
        ..Default::default()
    });
    let hose = harness.open().await.unwrap();
    hose.register("reader").await.unwrap();
    publish(&hose, &["unread"]).await;
    let sealed = hose.seal().await.unwrap().unwrap();
    hose.flush().await.unwrap();
    assert!(hose.stats().retained_from.unwrap() < sealed);
    let mut reader = hose.subscribe("reader").await.unwrap();
    assert_eq!(texts(&next(&mut *reader).await), ["unread"]);
}
