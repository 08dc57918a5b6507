//! Publishing is refused instead of growing without bound.

use super::{message, next, publish, EmbeddedHarness};
use crate::conformance::HoseHarness;
use crate::embedded::EmbeddedConfig;
use crate::{Hose, HoseError};

#[tokio::test]
async fn a_lagging_subscriber_backlogs_publishing_until_it_catches_up() {
    let config = EmbeddedConfig {
        max_subscriber_lag_bytes: 2_500,
        compress: false,
        ..Default::default()
    };
    let mut harness = EmbeddedHarness::with_config(config);
    let hose = harness.open().await.unwrap();
    hose.register("slow").await.unwrap();
    hose.register("keeping-up").await.unwrap();
    let payload = "b".repeat(1_000);
    let mut accepted = 0;
    let refusal = loop {
        match hose.publish(vec![message(&payload)]).await {
            Ok(_) => accepted += 1,
            Err(err) => break err,
        }
        assert!(accepted < 10, "publishing was never refused");
    };
    assert_eq!(accepted, 3, "refused once the lag exceeded 2,500 bytes");
    match &refusal {
        HoseError::Backlogged {
            subscriber,
            lag_bytes,
        } => {
            assert_eq!(
                subscriber, "keeping-up",
                "the first lagging subscriber by name is reported"
            );
            assert_eq!(*lag_bytes, hose.stats().end_position);
        }
        other => panic!("expected Backlogged, got {other:?}"),
    }
    assert!(refusal.is_backpressure());

    for name in ["keeping-up", "slow"] {
        let mut sub = hose.subscribe(name).await.unwrap();
        for _ in 0..accepted {
            let delivery = next(&mut *sub).await;
            sub.ack(&delivery.tag).await.unwrap();
        }
    }
    assert_eq!(hose.stats().max_lag_bytes(), 0);
    publish(&hose, &["accepted again"]).await;
    hose.close().await.unwrap();
}

#[tokio::test]
async fn too_little_free_disk_refuses_publishing() {
    let config = EmbeddedConfig {
        min_free_disk_bytes: u64::MAX,
        ..Default::default()
    };
    let mut harness = EmbeddedHarness::with_config(config);
    let hose = harness.open().await.unwrap();
    let result = hose.publish(vec![message("x")]).await;
    assert!(
        matches!(result, Err(HoseError::DiskFull { available_bytes }) if available_bytes > 0),
        "{result:?}"
    );
    assert_eq!(hose.stats().end_position, 0, "nothing was written");
    hose.close().await.unwrap();
}

#[tokio::test]
async fn oversized_batches_are_refused() {
    let config = EmbeddedConfig {
        max_record_bytes: 1_000,
        ..Default::default()
    };
    let mut harness = EmbeddedHarness::with_config(config);
    let hose = harness.open().await.unwrap();
    let result = hose
        .publish(vec![message(&"y".repeat(600)), message(&"z".repeat(600))])
        .await;
    assert!(
        matches!(
            result,
            Err(HoseError::TooLarge {
                bytes: 1_208,
                max_bytes: 1_000
            })
        ),
        "{result:?}"
    );
    let mut sub = hose.subscribe("hooks").await.unwrap();
    let deferred = sub
        .defer(message(&"w".repeat(1_001)), std::time::Duration::ZERO, 1)
        .await;
    assert!(
        matches!(deferred, Err(HoseError::TooLarge { .. })),
        "{deferred:?}"
    );
    publish(&hose, &[&"y".repeat(900)]).await;
    hose.close().await.unwrap();
}
