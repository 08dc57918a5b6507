//! The agent driving the PowerMTA source: real accounting files, a loopback receiver, the
//! position file (with the header kept in it), a crash, a rotation, and the pipe form on
//! the standard input of a child process.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{event_ids, Answer, Receiver};
use eventhose_source_agent::{run, AgentConfig, AgentError, Input, PositionFile, SourceStats};
use eventhose_sources::pmta::{PmtaConfig, PmtaSource, Stats};
use serde_json::{Map, Value};

/// The columns of the files written here, in PowerMTA's usual order.
const COLUMNS: &[&str] = &[
    "type",
    "timeLogged",
    "timeQueued",
    "orig",
    "rcpt",
    "dsnStatus",
    "dsnDiag",
    "dsnMta",
    "bounceCat",
    "vmta",
    "jobId",
    "feedbackType",
];

/// The same columns in another order, as after a change of `record-fields`.
const REORDERED: &[&str] = &[
    "type",
    "rcpt",
    "jobId",
    "vmta",
    "orig",
    "feedbackType",
    "timeQueued",
    "timeLogged",
    "bounceCat",
    "dsnMta",
    "dsnDiag",
    "dsnStatus",
];

/// PowerMTA's timestamp `minutes_ago` minutes (less `seconds`) before now. "Now" is taken
/// once, so that a record written twice is the same record.
fn acct_time(minutes_ago: i64, seconds: i64) -> String {
    static NOW: std::sync::OnceLock<chrono::DateTime<chrono::Utc>> = std::sync::OnceLock::new();
    let now = *NOW.get_or_init(chrono::Utc::now);
    let time = now - chrono::TimeDelta::minutes(minutes_ago) + chrono::TimeDelta::seconds(seconds);
    time.format("%Y-%m-%d %H:%M:%S+0000").to_string()
}

/// The value of `column` in record `k`, logged `minutes_ago` minutes ago; the record types
/// cycle through every type that gives an event.
fn value(column: &str, k: usize, minutes_ago: i64) -> String {
    let kind = ["r", "d", "t", "b", "f", "rb"][k % 6];
    let seconds = i64::try_from(k).unwrap();
    let failed = matches!(kind, "t" | "b" | "rb");
    match column {
        "type" => kind.to_owned(),
        "timeLogged" => acct_time(minutes_ago, seconds + 2),
        "timeQueued" if !matches!(kind, "f" | "rb") => acct_time(minutes_ago, seconds),
        "orig" => "bounces@mail.shop.example".to_owned(),
        "rcpt" => format!("user{k}@example.net"),
        "dsnStatus" if kind == "d" => "2.0.0 (success)".to_owned(),
        "dsnStatus" if failed => "5.1.1 (bad destination mailbox address)".to_owned(),
        "dsnDiag" if kind == "d" => "smtp;250 2.0.0 OK".to_owned(),
        "dsnDiag" if failed => "\"smtp;550 5.1.1 <x>: unknown, sorry\"".to_owned(),
        "dsnMta" if kind != "r" && kind != "f" => "mx.example.net (198.51.100.7)".to_owned(),
        "bounceCat" if failed => "bad-mailbox".to_owned(),
        "vmta" => "pool-a".to_owned(),
        "jobId" => format!("job{}", k % 3),
        "feedbackType" if kind == "f" => "abuse".to_owned(),
        _ => String::new(),
    }
}

/// A header line of `columns`.
fn header(columns: &[&str]) -> String {
    format!("{}\n", columns.join(","))
}

/// Records `range` under `columns`, logged `minutes_ago` minutes ago.
fn records(columns: &[&str], range: std::ops::Range<usize>, minutes_ago: i64) -> String {
    range
        .map(|k| {
            let fields: Vec<String> = columns.iter().map(|c| value(c, k, minutes_ago)).collect();
            format!("{}\n", fields.join(","))
        })
        .collect()
}

/// The events a fresh source gives for `text`, and its counters.
fn events_of(config: PmtaConfig, text: &str) -> (Vec<Map<String, Value>>, Stats) {
    let mut source = PmtaSource::new(config);
    let mut out = Vec::new();
    for line in text.lines() {
        let _ = source.push_line(line, &mut out);
    }
    (out, source.stats())
}

fn config(receiver: &Receiver, log: &Path, once: bool, position: &Path) -> AgentConfig {
    let input = Input::File {
        path: log.to_owned(),
        once,
    };
    let mut config = AgentConfig::pmta(input, receiver.target(), "the-key", PmtaConfig::default());
    config.position_file = Some(position.to_owned());
    config.poll_interval = Duration::from_millis(10);
    config.ship.max_events = 7;
    config.ship.linger = Duration::from_millis(20);
    config.ship.min_backoff = Duration::from_millis(5);
    config.ship.max_backoff = Duration::from_millis(20);
    config
}

fn pmta_stats(stats: SourceStats) -> Stats {
    match stats {
        SourceStats::Pmta(stats) => stats,
        other => panic!("not PowerMTA's counters: {other:?}"),
    }
}

fn names(columns: &[&str]) -> Option<Vec<String>> {
    Some(columns.iter().map(|&c| c.to_owned()).collect())
}

#[tokio::test]
async fn a_backfill_sends_every_record_and_drops_those_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("acct.csv");
    // One record from 200 days ago (a day past the server's retention), then twelve of an
    // hour ago: every type twice.
    let text =
        header(COLUMNS) + &records(COLUMNS, 0..1, 200 * 24 * 60) + &records(COLUMNS, 1..13, 60);
    std::fs::write(&log, &text).unwrap();
    let (expected, _) = events_of(PmtaConfig::default(), &text);
    assert_eq!(expected.len(), 13);
    let receiver = Receiver::start(vec![], None).await;
    let position = dir.path().join("position.json");
    let report = run(
        config(&receiver, &log, true, &position),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(report.dropped_old, 1, "{report:?}");
    assert_eq!(report.ship.accepted, 12, "{report:?}");
    assert_eq!(report.lines_read, 14);
    assert_eq!(
        receiver.accepted(),
        expected[1..],
        "every event, in file order"
    );
    let stats = pmta_stats(report.source);
    assert_eq!((stats.headers, stats.events, stats.invalid), (1, 13, 0));
    let (saved, saved_header) = PositionFile::new(&position)
        .load_with_header()
        .unwrap()
        .unwrap();
    assert_eq!(saved.offset, text.len() as u64, "read to the end");
    assert_eq!(saved_header, names(COLUMNS), "the header is kept with it");
}

#[tokio::test]
async fn a_crash_mid_file_resumes_with_the_header_and_loses_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("acct.csv");
    let text = header(COLUMNS) + &records(COLUMNS, 0..60, 60);
    std::fs::write(&log, &text).unwrap();
    let (expected, _) = events_of(PmtaConfig::default(), &text);
    assert_eq!(expected.len(), 60);
    let position = dir.path().join("position.json");

    // The first request is accepted, then the server fails until the agent is killed.
    let first = Receiver::start(vec![Answer::status(200)], Some(Answer::status(503))).await;
    let agent = tokio::spawn(run(
        config(&first, &log, false, &position),
        std::future::pending(),
    ));
    first
        .wait_for("a few failed retries", |received| received.len() >= 4)
        .await;
    agent.abort();
    assert!(agent.await.unwrap_err().is_cancelled());
    let acknowledged = first.accepted();
    assert!(!acknowledged.is_empty() && acknowledged.len() < expected.len());

    // The position is past the header line, so the header had to be kept.
    let (saved, saved_header) = PositionFile::new(&position)
        .load_with_header()
        .unwrap()
        .unwrap();
    assert!(saved.offset > header(COLUMNS).len() as u64, "{saved:?}");
    assert_eq!(saved_header, names(COLUMNS));

    // The restart (backfill mode, so it ends) sends exactly the records not acknowledged:
    // PowerMTA's records stand alone, so nothing acknowledged is read again.
    let second = Receiver::start(vec![], None).await;
    let report = run(
        config(&second, &log, true, &position),
        std::future::pending(),
    )
    .await
    .unwrap();
    let stats = pmta_stats(report.source);
    assert_eq!(stats.no_header, 0, "the header was known again: {stats:?}");
    assert_eq!(stats.headers, 0, "no header line was read again");
    assert_eq!(stats.invalid, 0, "{stats:?}");
    let mut all = acknowledged;
    all.extend(second.accepted());
    assert_eq!(all, expected, "every record once, in file order");
}

#[tokio::test]
async fn a_rotation_to_a_file_with_another_column_order_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("acct.csv");
    let old = header(COLUMNS) + &records(COLUMNS, 0..6, 30);
    let new = header(REORDERED) + &records(REORDERED, 6..12, 30);
    std::fs::write(&log, &old).unwrap();
    let (expected, _) = events_of(PmtaConfig::default(), &(old.clone() + &new));
    assert_eq!(expected.len(), 12);
    // The column order changes nothing in the events.
    let (same, _) = events_of(
        PmtaConfig::default(),
        &(header(COLUMNS) + &records(COLUMNS, 6..12, 30)),
    );
    assert_eq!(expected[6..], same);

    let receiver = Receiver::start(vec![], None).await;
    let position = dir.path().join("position.json");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(run(config(&receiver, &log, false, &position), async move {
        let _ = stopped.await;
    }));
    receiver
        .wait_for("the first file's events", |r| {
            r.iter().map(|r| r.events.len()).sum::<usize>() == 6
        })
        .await;
    // PowerMTA moves the file away at its `move-interval` and starts a new one, with its
    // own header line.
    std::fs::rename(&log, dir.path().join("acct-2026-12-07-1200.csv")).unwrap();
    std::fs::write(&log, &new).unwrap();
    receiver
        .wait_for("the new file's events", |r| {
            r.iter().map(|r| r.events.len()).sum::<usize>() == 12
        })
        .await;
    // Once the position reached the new file's end, stop.
    for _ in 0..1000 {
        let saved = PositionFile::new(&position).load().unwrap();
        if saved.is_some_and(|saved| saved.offset == new.len() as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    let report = agent.await.unwrap().unwrap();
    assert_eq!(receiver.accepted(), expected);
    let stats = pmta_stats(report.source);
    assert_eq!((stats.headers, stats.invalid, stats.no_header), (2, 0, 0));
    let (saved, saved_header) = PositionFile::new(&position)
        .load_with_header()
        .unwrap()
        .unwrap();
    assert_eq!(
        saved.offset,
        new.len() as u64,
        "in the new file, at its end"
    );
    assert_eq!(saved_header, names(REORDERED), "the new file's header");
}

#[tokio::test]
async fn a_restart_after_a_move_finishes_the_moved_file_with_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("acct.csv");
    let first_part = header(COLUMNS) + &records(COLUMNS, 0..5, 20);
    let rest_of_old = records(COLUMNS, 5..8, 20);
    let new = header(REORDERED) + &records(REORDERED, 8..14, 20);
    std::fs::write(&log, &first_part).unwrap();
    let (expected, _) = events_of(
        PmtaConfig::default(),
        &(first_part.clone() + &rest_of_old + &new),
    );
    assert_eq!(expected.len(), 14);
    let position = dir.path().join("position.json");
    let first = Receiver::start(vec![], None).await;
    run(
        config(&first, &log, true, &position),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(first.accepted(), expected[..5]);

    // While the agent is stopped, the file gets its last records and is moved away; the new
    // file names its columns in another order.
    let moved = dir.path().join("acct-2026-12-07-1200.csv");
    std::fs::rename(&log, &moved).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&moved)
        .unwrap()
        .write_all(rest_of_old.as_bytes())
        .unwrap();
    std::fs::write(&log, &new).unwrap();

    let second = Receiver::start(vec![], None).await;
    let report = run(
        config(&second, &log, true, &position),
        std::future::pending(),
    )
    .await
    .unwrap();
    let stats = pmta_stats(report.source);
    assert_eq!((stats.headers, stats.no_header, stats.invalid), (1, 0, 0));
    assert_eq!(
        second.accepted(),
        expected[5..],
        "the moved file's last records under its saved header, then the new file's"
    );
    let (saved, saved_header) = PositionFile::new(&position)
        .load_with_header()
        .unwrap()
        .unwrap();
    assert_eq!(saved.offset, new.len() as u64);
    assert_eq!(saved_header, names(REORDERED));
}

/// Where the child process started by the next test sends its events.
const CHILD_TARGET: &str = "EVENTHOSE_TEST_PMTA_STDIN_TARGET";

/// The pipe form's default header in these tests.
fn pipe_config() -> PmtaConfig {
    PmtaConfig {
        default_header: Some(COLUMNS.join(",")),
        ..PmtaConfig::default()
    }
}

/// Not a test of its own: the agent in the child process of
/// [`the_pipe_form_on_standard_input_takes_the_default_header`], reading its real standard
/// input. Run on its own (no target named), it does nothing.
#[tokio::test]
async fn pipe_form_child() {
    let Ok(target) = std::env::var(CHILD_TARGET) else {
        return;
    };
    let mut config = AgentConfig::pmta(Input::Stdin, target, "pipe-key", pipe_config());
    config.ship.linger = Duration::from_millis(20);
    let report = run(config, std::future::pending()).await.unwrap();
    let stats = pmta_stats(report.source);
    assert_eq!((stats.headers, stats.no_header, stats.invalid), (0, 0, 0));
    assert_eq!(report.ship.accepted, 12, "{report:?}");
}

#[tokio::test]
async fn the_pipe_form_on_standard_input_takes_the_default_header() {
    // The pipe form may write no header line: the configured default names the columns.
    let text = records(COLUMNS, 0..12, 10);
    let (expected, _) = events_of(pipe_config(), &text);
    assert_eq!(expected.len(), 12);
    let receiver = Receiver::start(vec![], None).await;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "pipe_form_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_TARGET, receiver.target())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let output = tokio::task::spawn_blocking(move || {
        stdin.write_all(text.as_bytes()).unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "the child ran the agent"
    );
    assert_eq!(receiver.accepted(), expected);
    assert_eq!(event_ids(&receiver.accepted()).len(), 12);
    assert!(receiver
        .received()
        .iter()
        .all(|r| r.authorization.as_deref() == Some("pipe-key")));
}

#[tokio::test]
async fn syslog_input_is_refused_for_powermta() {
    let input = Input::Syslog {
        udp: Some("127.0.0.1:0".parse().unwrap()),
        tcp: None,
    };
    let config = AgentConfig::pmta(input, "http://127.0.0.1:9", "k", PmtaConfig::default());
    let error = run(config, std::future::pending()).await.unwrap_err();
    assert!(matches!(error, AgentError::SyslogNeedsPostfix), "{error:?}");
    assert!(error.to_string().contains("Postfix"), "{error}");
}
