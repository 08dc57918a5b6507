//! The whole agent: a real log file, a loopback receiver, the position file, and a crash.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{event_ids, interleaved_log, line_at, Answer, Receiver};
use eventhose_source_agent::{postfix_config, run, AgentConfig, Input, PositionFile};
use eventhose_sources::postfix::PostfixSource;
use eventhose_sources::syslog::{LocalClock, Zone};
use serde_json::{Map, Value};

fn config(receiver: &Receiver, log: &Path, once: bool, position: Option<&Path>) -> AgentConfig {
    let input = Input::File {
        path: log.to_owned(),
        once,
    };
    let mut config = AgentConfig::new(input, receiver.target(), "the-key");
    config.position_file = position.map(Path::to_owned);
    config.poll_interval = Duration::from_millis(10);
    config.ship.max_events = 7;
    config.ship.linger = Duration::from_millis(20);
    config.ship.min_backoff = Duration::from_millis(5);
    config.ship.max_backoff = Duration::from_millis(20);
    config
}

/// The events a fresh source emits from `text` (no shipping, no clock moves).
fn events_of(text: &str) -> Vec<Map<String, Value>> {
    let mut source = PostfixSource::new(
        postfix_config(),
        LocalClock::new(Zone::utc(), chrono::Utc::now()),
    );
    let mut out = Vec::new();
    for line in text.lines() {
        let _ = source.push_line(line, &mut out);
    }
    source.finish(&mut out);
    out
}

#[tokio::test]
async fn a_backfill_sends_every_event_and_skips_those_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let mut text = line_at(200 * 24 * 60, 0, "postfix/smtpd[9]: NOQUEUE: reject: RCPT from a[192.0.2.9]: 554 5.7.1 <x@example.org>: Relay access denied; from=<s@example.com> to=<x@example.org> proto=ESMTP helo=<a>");
    text += &interleaved_log(10);
    std::fs::write(&log, &text).unwrap();
    let receiver = Receiver::start(vec![], None).await;
    let position = dir.path().join("position.json");
    let report = run(
        config(&receiver, &log, true, Some(&position)),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(report.dropped_old, 1, "{report:?}");
    assert_eq!(report.ship.accepted, 20, "{report:?}");
    assert_eq!(report.lines_read, 1 + 40);
    let accepted = receiver.accepted();
    let expected: Vec<_> = events_of(&text).into_iter().skip(1).collect();
    assert_eq!(accepted, expected, "every event, in log order");
    let saved = PositionFile::new(&position).load().unwrap().unwrap();
    assert_eq!(saved.offset, text.len() as u64, "read to the end");
    assert!(receiver
        .received()
        .iter()
        .all(|r| r.authorization.as_deref() == Some("the-key")));
}

#[tokio::test]
async fn a_crash_loses_no_event_and_repeats_only_with_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let text = interleaved_log(30);
    std::fs::write(&log, &text).unwrap();
    let expected = events_of(&text);
    assert_eq!(expected.len(), 60);
    let position = dir.path().join("position.json");

    // The first request is accepted, then the server fails until the agent is killed.
    let first = Receiver::start(vec![Answer::status(200)], Some(Answer::status(503))).await;
    let agent = tokio::spawn(run(
        config(&first, &log, false, Some(&position)),
        std::future::pending(),
    ));
    first
        .wait_for("a few failed retries", |received| received.len() >= 4)
        .await;
    agent.abort();
    assert!(agent.await.unwrap_err().is_cancelled());
    let acknowledged = first.accepted();
    assert_eq!(acknowledged.len(), 7);

    let saved = PositionFile::new(&position).load().unwrap().unwrap();
    assert!(saved.offset > 0 && saved.offset < text.len() as u64);
    // The saved position never passes an unacknowledged event: re-reading from it gives
    // every event not acknowledged, exactly as the whole log does.
    let offset = usize::try_from(saved.offset).unwrap();
    let replayed = events_of(&text[offset..]);
    let acknowledged_ids = event_ids(&acknowledged);
    for event in &expected {
        let id = event["event_id"].as_str().unwrap();
        if !acknowledged_ids.iter().any(|a| a == id) {
            assert!(
                replayed.contains(event),
                "position {offset} skips unacknowledged {event:?}"
            );
        }
    }

    // The restart (backfill mode, so it ends) sends the rest.
    let second = Receiver::start(vec![], None).await;
    let report = run(
        config(&second, &log, true, Some(&position)),
        std::future::pending(),
    )
    .await
    .unwrap();
    let resent = second.accepted();
    assert_eq!(report.ship.accepted, resent.len() as u64);
    // Every event not acknowledged arrives, as the whole log gives it; the others that
    // arrive again carry an id already acknowledged (a line re-read after its queue entry
    // closed may say less about its message: the server keeps the first copy).
    let expected_ids = event_ids(&expected);
    let mut repeats = 0;
    for event in &resent {
        let id = event["event_id"].as_str().unwrap().to_owned();
        assert!(
            expected_ids.contains(&id),
            "a new id on re-reading: {event:?}"
        );
        if acknowledged_ids.contains(&id) {
            repeats += 1;
        }
    }
    assert!(repeats > 0, "the open entries were read again");
    assert!(
        resent.len() < expected.len(),
        "the restart did not start over"
    );
    for event in &expected {
        let id = event["event_id"].as_str().unwrap().to_owned();
        if !acknowledged_ids.contains(&id) {
            assert!(resent.contains(event), "lost {event:?}");
        }
    }
}

#[tokio::test]
async fn following_a_log_sends_appended_lines_and_shutdown_saves() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let text = interleaved_log(3);
    let head_end = text[..text.len() / 2].rfind('\n').unwrap() + 1;
    std::fs::write(&log, &text[..head_end]).unwrap();
    let receiver = Receiver::start(vec![], None).await;
    let position = dir.path().join("position.json");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut config = config(&receiver, &log, false, Some(&position));
    config.quiet_after = Duration::from_millis(100);
    let agent = tokio::spawn(run(config, async move {
        let _ = stopped.await;
    }));
    receiver
        .wait_for("the first events", |r| !r.is_empty())
        .await;
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut file, &text.as_bytes()[head_end..]).unwrap();
    receiver
        .wait_for("every event", |r| {
            r.iter().map(|r| r.events.len()).sum::<usize>() == 6
        })
        .await;
    // Every message was removed; once the quiet log's clock has moved past the grace for
    // late lines, nothing holds the position back.
    let end = text.len() as u64;
    for _ in 0..1000 {
        let saved = PositionFile::new(&position).load().unwrap();
        if saved.is_some_and(|saved| saved.offset == end) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    let report = agent.await.unwrap().unwrap();
    assert_eq!(report.ship.accepted, 6);
    assert_eq!(
        event_ids(&receiver.accepted()),
        event_ids(&events_of(&text))
    );
    assert_eq!(report.position.unwrap().offset, end);
    let saved = PositionFile::new(&position).load().unwrap().unwrap();
    assert_eq!(saved.offset, end);
}

#[tokio::test]
async fn syslog_over_udp_is_shipped_and_shutdown_ends_the_correlation() {
    let receiver = Receiver::start(vec![], None).await;
    // A free port: bound, noted, released.
    let addr = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = AgentConfig::new(
        Input::Syslog {
            udp: Some(addr),
            tcp: None,
        },
        receiver.target(),
        "k",
    );
    config.ship.linger = Duration::from_millis(20);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(run(config, async move {
        let _ = stopped.await;
    }));
    let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let text = interleaved_log(2);
    // Until the agent is listening, datagrams are lost: send the log until it is shipped.
    for _ in 0..500 {
        for line in text.lines() {
            sender
                .send_to(format!("<22>{line}").as_bytes(), addr)
                .await
                .unwrap();
        }
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    receiver.wait_for("events", |r| !r.is_empty()).await;
    stop.send(()).unwrap();
    let report = agent.await.unwrap().unwrap();
    assert!(report.ship.accepted >= 4, "{report:?}");
    let ids = event_ids(&receiver.accepted());
    for id in event_ids(&events_of(&text)) {
        assert!(ids.contains(&id), "{id} missing");
    }
}

#[tokio::test]
async fn a_restart_after_rotation_finishes_the_old_file_then_reads_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let text = interleaved_log(8);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (before, after) = lines.split_at(lines.len() / 2);
    std::fs::write(&log, before.concat()).unwrap();
    let position = dir.path().join("position.json");

    // Follow the first half, then stop: open entries hold the position back.
    let first = Receiver::start(vec![], None).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(run(
        config(&first, &log, false, Some(&position)),
        async move {
            let _ = stopped.await;
        },
    ));
    let first_half = events_of(&before.concat()).len() - 1;
    first
        .wait_for("the first half's events", |r| {
            r.iter().map(|r| r.events.len()).sum::<usize>() >= first_half
        })
        .await;
    stop.send(()).unwrap();
    agent.await.unwrap().unwrap();
    let saved = PositionFile::new(&position).load().unwrap().unwrap();
    assert!(saved.offset < before.concat().len() as u64, "{saved:?}");

    // While stopped, the log is rotated: the old file gets a last line, a new file the rest.
    std::fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
    let (last_old, new) = after.split_at(1);
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("mail.log.1"))
        .map(|mut f| std::io::Write::write_all(&mut f, last_old.concat().as_bytes()))
        .unwrap()
        .unwrap();
    std::fs::write(&log, new.concat()).unwrap();

    let second = Receiver::start(vec![], None).await;
    run(
        config(&second, &log, true, Some(&position)),
        std::future::pending(),
    )
    .await
    .unwrap();
    let mut ids = event_ids(&first.accepted());
    ids.extend(event_ids(&second.accepted()));
    for id in event_ids(&events_of(&text)) {
        assert!(ids.contains(&id), "{id} lost across the rotation");
    }
    let saved = PositionFile::new(&position).load().unwrap().unwrap();
    assert_eq!(
        saved.offset,
        new.concat().len() as u64,
        "ends in the new file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_halfway_through_a_long_log_every_event_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let text = interleaved_log(2_500);
    std::fs::write(&log, &text).unwrap();
    let expected = event_ids(&events_of(&text));
    let position = dir.path().join("position.json");
    let receiver = Receiver::start(vec![], None).await;
    let mut first = config(&receiver, &log, false, Some(&position));
    first.ship.max_events = 100;
    let agent = tokio::spawn(run(first, std::future::pending()));
    receiver
        .wait_for("half the events", |r| {
            r.iter().map(|r| r.events.len()).sum::<usize>() >= expected.len() / 2
        })
        .await;
    agent.abort();
    let _ = agent.await;
    let before = receiver.accepted().len();

    let mut second = config(&receiver, &log, true, Some(&position));
    second.ship.max_events = 100;
    run(second, std::future::pending()).await.unwrap();
    let accepted = receiver.accepted();
    let ids = event_ids(&accepted);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    for id in &expected {
        assert!(unique.contains(id), "{id} lost");
    }
    assert_eq!(unique.len(), expected.len(), "no id the log does not give");
    assert!(
        accepted.len() - before < expected.len(),
        "the restart resumed instead of starting over"
    );
}
