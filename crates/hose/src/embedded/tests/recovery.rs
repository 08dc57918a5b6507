//! Torn tails are cut on open; damage inside the log is reported as corruption.

use std::error::Error as _;
use std::fs::OpenOptions;
use std::io::Write;

use super::{next, publish, reopen_after_crash, segment_files, texts, EmbeddedHarness};
use crate::conformance::HoseHarness;
use crate::embedded::{segment_path, EmbeddedConfig, FrameError};
use crate::{Hose, HoseError};

/// Publishes three single-message batches for subscriber `sub`, closes, and returns their positions and
/// the end of the log.
async fn three_records(harness: &mut EmbeddedHarness) -> (Vec<u64>, u64) {
    let hose = harness.open().await.unwrap();
    hose.register("sub").await.unwrap();
    let mut positions = Vec::new();
    for text in ["first", "second", "third"] {
        positions.push(publish(&hose, &[text]).await.position.unwrap());
    }
    let end = hose.stats().end_position;
    hose.close().await.unwrap();
    (positions, end)
}

async fn assert_reads(harness: &mut EmbeddedHarness, expected: &[&str], expected_end: u64) {
    let hose = harness.open().await.unwrap();
    assert_eq!(hose.stats().end_position, expected_end);
    let mut sub = hose.subscribe("sub").await.unwrap();
    for text in expected {
        assert_eq!(texts(&next(&mut *sub).await), [*text]);
    }
    let receipt = publish(&hose, &["after-repair"]).await;
    assert_eq!(
        receipt.position,
        Some(expected_end),
        "new records start where the good ones end"
    );
    assert_eq!(texts(&next(&mut *sub).await), ["after-repair"]);
    hose.close().await.unwrap();
}

#[tokio::test]
async fn garbage_appended_to_the_tail_is_cut() {
    let mut harness = EmbeddedHarness::new();
    let (_, end) = three_records(&mut harness).await;
    let segment = segment_path(harness.path(), 0);
    let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
    file.write_all(&[0xE1, 1, 0, 0, 0xff, 0xff, 0, 0, 9, 9, 9, 9, 1, 2, 3])
        .unwrap();
    file.write_all(&[0u8; 100]).unwrap();
    drop(file);

    assert_reads(&mut harness, &["first", "second", "third"], end).await;
    let on_disk = std::fs::metadata(&segment).unwrap().len();
    assert!(on_disk > end, "the new record was appended after the cut");
}

#[tokio::test]
async fn a_record_cut_mid_write_is_dropped() {
    let mut harness = EmbeddedHarness::new();
    let (positions, end) = three_records(&mut harness).await;
    let segment = segment_path(harness.path(), 0);
    OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(end - 3)
        .unwrap();

    assert_reads(&mut harness, &["first", "second"], positions[2]).await;
}

#[tokio::test]
async fn damage_before_valid_records_is_corruption() {
    let mut harness = EmbeddedHarness::new();
    let (positions, _) = three_records(&mut harness).await;
    let segment = segment_path(harness.path(), 0);
    let mut bytes = std::fs::read(&segment).unwrap();
    let inside_second = usize::try_from(positions[1] + 22).unwrap();
    bytes[inside_second] ^= 0x5a;
    std::fs::write(&segment, &bytes).unwrap();

    match harness.open().await {
        Err(HoseError::Corrupt { path, offset, .. }) => {
            assert_eq!(path, segment);
            assert_eq!(offset, positions[1]);
        }
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(_) => panic!("expected Corrupt, the hose opened"),
    }
}

#[tokio::test]
async fn a_bad_header_before_valid_records_is_corruption_found_by_the_frame_check() {
    let mut harness = EmbeddedHarness::new();
    let (positions, _) = three_records(&mut harness).await;
    let segment = segment_path(harness.path(), 0);
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[usize::try_from(positions[1]).unwrap()] = 0x00;
    std::fs::write(&segment, &bytes).unwrap();

    let error = match harness.open().await {
        Err(error) => error,
        Ok(_) => panic!("expected Corrupt, the hose opened"),
    };
    assert!(
        matches!(&error, HoseError::Corrupt { offset, .. } if *offset == positions[1]),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "bad record magic 0x00, yet a valid record follows at offset {}",
            positions[2]
        )),
        "{message}"
    );
    let frame = error.source().and_then(|s| s.downcast_ref::<FrameError>());
    assert!(
        matches!(frame, Some(FrameError::BadMagic(0x00))),
        "{error:?}"
    );
}

#[tokio::test]
async fn damage_in_a_sealed_segment_fails_the_read() {
    let config = EmbeddedConfig {
        segment_bytes: 1,
        compress: false,
        ..Default::default()
    };
    let mut harness = EmbeddedHarness::with_config(config);
    let (positions, _) = three_records(&mut harness).await;
    assert_eq!(
        segment_files(harness.path()),
        positions,
        "one record per segment"
    );
    let first = segment_path(harness.path(), 0);
    let mut bytes = std::fs::read(&first).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&first, &bytes).unwrap();

    let hose = harness.open().await.unwrap();
    let mut sub = hose.subscribe("sub").await.unwrap();
    match sub.next().await {
        Err(error @ HoseError::Corrupt { offset: 0, .. }) => {
            let frame = error.source().and_then(|s| s.downcast_ref::<FrameError>());
            assert!(
                matches!(frame, Some(FrameError::ChecksumMismatch)),
                "{error:?}"
            );
            assert!(error.to_string().contains("record checksum mismatch"));
        }
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(_) => panic!("expected Corrupt, read the damaged record"),
    }
    hose.close().await.unwrap();
}

#[tokio::test]
async fn a_shortened_sealed_segment_is_corruption() {
    let config = EmbeddedConfig {
        segment_bytes: 1,
        ..Default::default()
    };
    let mut harness = EmbeddedHarness::with_config(config);
    three_records(&mut harness).await;
    let first = segment_path(harness.path(), 0);
    let len = std::fs::metadata(&first).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    assert!(matches!(harness.open().await, Err(HoseError::Corrupt { path, .. }) if path == first));
}

#[tokio::test]
async fn unacknowledged_records_survive_a_crash_without_close() {
    let mut harness = EmbeddedHarness::new();
    let hose = harness.open().await.unwrap();
    let mut sub = hose.subscribe("sub").await.unwrap();
    publish(&hose, &["acked"]).await;
    publish(&hose, &["pending"]).await;
    let acked = next(&mut *sub).await;
    sub.ack(&acked.tag).await.unwrap();
    assert_eq!(texts(&next(&mut *sub).await), ["pending"]);
    // No close: dropping every handle is as close to a crash as a test gets (cursors unflushed).
    drop(sub);
    drop(hose);

    let hose = reopen_after_crash(&mut harness).await;
    let mut sub = hose.subscribe("sub").await.unwrap();
    let mut seen = texts(&next(&mut *sub).await);
    if seen == ["acked"] {
        seen = texts(&next(&mut *sub).await);
    }
    assert_eq!(
        seen,
        ["pending"],
        "resumes at or before the last ack and loses nothing after it"
    );
    hose.close().await.unwrap();
}

#[tokio::test]
async fn records_stay_readable_after_lowering_the_record_limit() {
    let mut harness = EmbeddedHarness::new();
    let hose = harness.open().await.unwrap();
    let mut sub = hose.subscribe("sub").await.unwrap();
    let big = "q".repeat(50_000);
    publish(&hose, &[&big]).await;
    sub.defer(
        crate::Message::from(big.clone()),
        std::time::Duration::ZERO,
        1,
    )
    .await
    .unwrap();
    drop(sub);
    hose.close().await.unwrap();

    harness.config.max_record_bytes = 1_000;
    let hose = harness.open().await.unwrap();
    let mut sub = hose.subscribe("sub").await.unwrap();
    let first = next(&mut *sub).await;
    let second = next(&mut *sub).await;
    let mut attempts = [first.attempt, second.attempt];
    attempts.sort_unstable();
    assert_eq!(
        attempts,
        [0, 1],
        "both the stream record and the deferred message survive"
    );
    assert_eq!(texts(&first), std::slice::from_ref(&big));
    assert_eq!(texts(&second), [big]);
    hose.close().await.unwrap();
}
