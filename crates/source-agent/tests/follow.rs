//! The file follower on real files: appends, partial lines, rotation, truncation, `once`,
//! and resuming from a saved position; and standard input's reader.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use eventhose_source_agent::input::follow::{spawn_follower, FollowConfig, Follower, Polled};
use eventhose_source_agent::input::{stdin, Item};
use eventhose_source_agent::FilePos;
use tokio::sync::mpsc;

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Polls until nothing is new; the lines read (as text) and the last line's end.
fn drain(follower: &mut Follower) -> (Vec<String>, Option<FilePos>, usize) {
    let mut lines = Vec::new();
    let mut end = None;
    let mut oversized = 0;
    for _ in 0..100 {
        let mut items = Vec::new();
        let polled = follower.poll(&mut |item| items.push(item)).unwrap();
        for item in items {
            match item {
                Item::Line(line) => {
                    lines.push(String::from_utf8(line.text).unwrap());
                    end = line.end;
                }
                Item::Oversized { end: e } => {
                    oversized += 1;
                    end = e;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        if polled == Polled::Waiting {
            return (lines, end, oversized);
        }
    }
    panic!("the follower never caught up");
}

#[test]
fn appended_lines_are_read_and_a_partial_line_waits() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let mut follower = Follower::new(&log, None, 1024);
    assert_eq!(drain(&mut follower).0, Vec::<String>::new(), "no file yet");
    append(&log, "one\ntwo\nthr");
    assert_eq!(drain(&mut follower).0, ["one", "two"]);
    append(&log, "ee\n");
    let (lines, end, _) = drain(&mut follower);
    assert_eq!(lines, ["three"]);
    assert_eq!(end.unwrap().offset, 14);
    append(&log, &"x".repeat(3000));
    append(&log, "\nfour\n");
    let (lines, _, oversized) = drain(&mut follower);
    assert_eq!((lines, oversized), (vec!["four".to_owned()], 1));
}

#[test]
fn rotation_reads_the_old_file_to_its_end_then_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, "a\nb\n");
    let mut follower = Follower::new(&log, None, 1024);
    assert_eq!(drain(&mut follower).0, ["a", "b"]);
    // The writer adds a line, the file is renamed, the writer adds one more to the old file
    // (before it reopens), and a new file appears.
    append(&log, "c\n");
    fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
    append(&dir.path().join("mail.log.1"), "d-without-newline");
    append(&log, "e\nf\n");
    let (lines, end, _) = drain(&mut follower);
    assert_eq!(lines, ["c", "d-without-newline", "e", "f"]);
    assert_eq!(end.unwrap().offset, 4, "positions are in the new file");
}

#[test]
fn truncation_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, "first line\nsecond line\n");
    let mut follower = Follower::new(&log, None, 1024);
    assert_eq!(drain(&mut follower).0.len(), 2);
    // copytruncate: the file is emptied in place, then written again.
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, "new\n");
    assert_eq!(drain(&mut follower).0, ["new"]);
}

#[test]
fn truncation_is_seen_even_when_the_file_grew_past_the_old_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, "a\nb\n");
    let mut follower = Follower::new(&log, None, 1024);
    assert_eq!(drain(&mut follower).0, ["a", "b"]);
    // Emptied and written again, longer than before, between two polls.
    fs::write(&log, "new first line\nsecond\n").unwrap();
    let (lines, _, _) = drain(&mut follower);
    assert_eq!(lines.last().map(String::as_str), Some("second"));
    assert!(lines.contains(&"new first line".to_owned()), "{lines:?}");
}

#[test]
fn resumes_at_a_saved_position_and_across_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, "a\nb\nc\n");
    let mut follower = Follower::new(&log, None, 1024);
    let (_, _, _) = drain(&mut follower);
    let after_b = FilePos {
        offset: 4,
        ..follower.position().unwrap()
    };
    let mut again = Follower::new(&log, Some(after_b), 1024);
    assert_eq!(drain(&mut again).0, ["c"]);

    // Rotated while stopped: the rest of the old file, then the new one.
    fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
    append(&log, "d\n");
    let mut resumed = Follower::new(&log, Some(after_b), 1024);
    assert_eq!(drain(&mut resumed).0, ["c", "d"]);

    // A position in a file that is gone: the current file from its start.
    fs::remove_file(dir.path().join("mail.log.1")).unwrap();
    let mut lost = Follower::new(&log, Some(after_b), 1024);
    assert_eq!(drain(&mut lost).0, ["d"]);
}

#[tokio::test]
async fn once_stops_at_the_end_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    append(&log, "a\nb\npartial");
    let (tx, mut rx) = mpsc::channel(16);
    let thread = spawn_follower(
        FollowConfig {
            path: log,
            resume: None,
            poll_interval: Duration::from_millis(10),
            max_line_len: 1024,
            once: true,
        },
        tx,
    );
    let mut lines = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
        {
            Some(Item::Line(line)) => lines.push(String::from_utf8(line.text).unwrap()),
            Some(Item::End) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(lines, ["a", "b"], "a partial last line is left for later");
    assert!(rx.recv().await.is_none(), "the thread is done");
    thread.join().unwrap();
}

#[tokio::test]
async fn standard_input_is_read_to_its_end() {
    let input = std::io::Cursor::new(b"a\nbb\nccccc\nlast".to_vec());
    let (tx, mut rx) = mpsc::channel(16);
    let thread = stdin::spawn_reader(input, 4, tx);
    let mut got = Vec::new();
    while let Some(item) = rx.recv().await {
        match item {
            Item::Line(line) => got.push(Some(String::from_utf8(line.text).unwrap())),
            Item::Oversized { .. } => got.push(None),
            Item::End => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        got,
        [
            Some("a".to_owned()),
            Some("bb".to_owned()),
            None,
            Some("last".to_owned())
        ]
    );
    thread.join().unwrap();
}

#[tokio::test]
async fn once_fails_on_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let thread = spawn_follower(
        FollowConfig {
            path: dir.path().join("absent.log"),
            resume: None,
            poll_interval: Duration::from_millis(10),
            max_line_len: 1024,
            once: true,
        },
        tx,
    );
    match rx.recv().await {
        Some(Item::Failed(error)) => assert_eq!(error.kind(), std::io::ErrorKind::NotFound),
        other => panic!("unexpected {other:?}"),
    }
    thread.join().unwrap();
}
