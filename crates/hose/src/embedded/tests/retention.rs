//! Segments roll, and are deleted only once every subscriber has moved past them.

use super::{next, publish, segment_files, texts, EmbeddedHarness};
use crate::conformance::HoseHarness;
use crate::embedded::EmbeddedConfig;
use crate::Hose;

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
