//! `eventhose source postfix` run as an operator runs it, against a real server: a Postfix
//! log read to its end becomes the events the APIs show, and reading it again (the position
//! file lost) adds nothing.

use std::path::Path;
use std::process::Command;

use chrono::{Duration, Utc};
use eventhose_simulator::postfix_log::{write_postfix_log, PostfixLogConfig};

use crate::harness::*;

/// One message to two recipients, one delivered and one bounced, as Postfix logs it, dated
/// a few minutes ago in UTC.
fn mail_log() -> String {
    let at = |seconds: i64| {
        (Utc::now() - Duration::minutes(3) + Duration::seconds(seconds))
            .format("%b %e %H:%M:%S")
            .to_string()
    };
    let (t0, t1) = (at(0), at(1));
    [
        format!("{t0} mx1 postfix/smtpd[100]: 4A1B2C3D4E: client=app.example.net[192.0.2.10]"),
        format!("{t0} mx1 postfix/cleanup[101]: 4A1B2C3D4E: message-id=<a1@example.net>"),
        format!("{t0} mx1 postfix/qmgr[102]: 4A1B2C3D4E: from=<news@example.net>, size=2048, nrcpt=2 (queue active)"),
        format!("{t1} mx1 postfix/smtp[103]: 4A1B2C3D4E: to=<jane@example.com>, relay=mx.example.com[198.51.100.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99ZZ)"),
        format!("{t1} mx1 postfix/smtp[103]: 4A1B2C3D4E: to=<nobody@example.com>, relay=mx.example.com[198.51.100.7]:25, delay=1.3, delays=0.1/0/0.5/0.7, dsn=5.1.1, status=bounced (host mx.example.com[198.51.100.7] said: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))"),
        format!("{t1} mx1 postfix/qmgr[102]: 4A1B2C3D4E: removed"),
    ]
    .join("\n")
        + "\n"
}

/// Runs `eventhose source postfix --once` over `log` and returns its standard error.
fn read_once(server: &Server, log: &Path, position: &Path) -> String {
    let output = source_once(server, log, position, ROOT_KEY);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "eventhose source failed: {stderr}");
    stderr
}

/// Runs `eventhose source postfix --once` over `log` with `key`.
fn source_once(server: &Server, log: &Path, position: &Path, key: &str) -> std::process::Output {
    postfix_source(server, log, position, key)
        .arg("--once")
        .output()
        .expect("run eventhose source")
}

/// `eventhose source postfix` following `log` into `server` with `key`.
fn postfix_source(server: &Server, log: &Path, position: &Path, key: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eventhose"));
    command
        .args(["source", "postfix", "--zone", "UTC", "--target"])
        .arg(server.url(""))
        .arg("--file")
        .arg(log)
        .arg("--position")
        .arg(position)
        .env("EVENTHOSE_KEY", key)
        .env("EVENTHOSE_LOG", "warn");
    command
}

/// The stored events' types, sorted.
async fn stored_types(server: &Server) -> Vec<String> {
    let body = get_json(server, ROOT_KEY, "/api/v1/events/message?per_page=100")
        .await
        .unwrap_or_default();
    let mut types: Vec<String> = body["results"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["type"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    types.sort();
    types
}

/// The first stored bounce.
async fn stored_bounce(server: &Server) -> serde_json::Value {
    let body = get_json(server, ROOT_KEY, "/api/v1/events/message?events=bounce")
        .await
        .unwrap_or_default();
    body["results"][0].clone()
}

#[tokio::test]
async fn a_postfix_log_becomes_events_once_however_often_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let log = dir.path().join("mail.log");
    let position = dir.path().join("postfix.position");
    std::fs::write(&log, mail_log()).unwrap();

    let report = read_once(&server, &log, &position);
    assert!(report.contains("accepted 4"), "{report}");
    let expected = ["bounce", "delivery", "injection", "injection"];
    eventually("the log's events are stored", || async {
        stored_types(&server).await == expected
    })
    .await;
    let bounce = stored_bounce(&server).await;
    assert_eq!(bounce["rcpt_to"], "nobody@example.com");
    assert_eq!(
        bounce["bounce_class"].to_string().trim_matches('"'),
        "10",
        "an unknown user is an invalid recipient: {bounce}"
    );
    assert_eq!(bounce["msg_from"], "news@example.net");

    // With its position, a second run sends nothing; without it, everything again, which
    // the server recognises.
    let report = read_once(&server, &log, &position);
    assert!(report.contains("accepted 0"), "{report}");
    std::fs::remove_file(&position).unwrap();
    let report = read_once(&server, &log, &position);
    assert!(report.contains("accepted 4"), "{report}");
    let sentinel = ingest(&server, ROOT_KEY, ndjson("delivery", "sentinel", 1)).await;
    assert_eq!(sentinel.status(), 200);
    // Events are stored in the order they arrived: had the repeats been stored, the count
    // would pass 5 before the sentinel is in.
    eventually("the sentinel is stored", || async {
        stored_types(&server).await.len() >= 5
    })
    .await;
    let types = stored_types(&server).await;
    assert_eq!(
        types,
        ["bounce", "delivery", "delivery", "injection", "injection"],
        "each of the log's events once, and the sentinel"
    );
}

#[tokio::test]
async fn a_refused_key_stops_the_source_with_the_servers_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let log = dir.path().join("mail.log");
    std::fs::write(&log, mail_log()).unwrap();
    let position = dir.path().join("postfix.position");
    let output = source_once(&server, &log, &position, "not-a-key-of-this-server");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    // Nothing was acknowledged: no position, or (saved by a tick while the first lines were
    // read) the start of the log, which pins the file should it be rotated.
    let saved = eventhose_source_agent::PositionFile::new(&position)
        .load()
        .unwrap();
    assert!(
        saved.is_none_or(|saved| saved.offset == 0),
        "nothing was acknowledged, so no position past the start: {saved:?}"
    );
}

#[tokio::test]
async fn powermta_accounting_records_piped_to_the_source_become_events() {
    use std::io::Write;
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let at = (Utc::now() - Duration::minutes(2)).format("%Y-%m-%d %H:%M:%S+0000");
    let records = format!(
        "d,{at},{at},news@example.net,jane@example.com,2.0.0 (success),smtp;250 ok,,vmta-1,spring\n\
         b,{at},{at},news@example.net,nobody@example.com,5.1.1 (bad destination mailbox address),smtp;550 5.1.1 user unknown,bad-mailbox,vmta-1,spring\n"
    );
    // As PowerMTA's `<acct-file |…>` runs it: records on standard input, no header line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventhose"))
        .args(["source", "pmta-acct", "--target"])
        .arg(server.url(""))
        .args([
            "--header",
            "type,timeLogged,timeQueued,orig,rcpt,dsnStatus,dsnDiag,bounceCat,vmta,jobId",
        ])
        .env("EVENTHOSE_KEY", ROOT_KEY)
        .env("EVENTHOSE_LOG", "warn")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eventhose source pmta-acct");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(records.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("accepted 2"), "{stderr}");

    eventually("the records' events are stored", || async {
        stored_types(&server).await == ["bounce", "delivery"]
    })
    .await;
    let bounce = stored_bounce(&server).await;
    assert_eq!(bounce["rcpt_to"], "nobody@example.com");
    assert_eq!(bounce["campaign_id"], "spring");
    assert_eq!(
        bounce["bounce_class"].to_string().trim_matches('"'),
        "10",
        "bad-mailbox is an invalid recipient: {bounce}"
    );
}

/// Over a million lines read by the agent, which is killed (SIGKILL) halfway and started
/// again: every message's events are counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_line_log_killed_halfway_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let log = dir.path().join("mail.log");
    let position = dir.path().join("postfix.position");
    // About 8 lines a message, received over 90 minutes ending some 20 minutes ago (the
    // last deferred recipients finish by now).
    let config = PostfixLogConfig {
        seed: 3,
        start: Utc::now() - Duration::minutes(115),
        messages: 130_000,
        messages_per_second: 130_000.0 / 5_400.0,
    };
    let mut text = Vec::new();
    let summary = write_postfix_log(&config, &mut text).unwrap();
    assert!(summary.lines >= 1_000_000, "{summary:?}");
    std::fs::write(&log, text).unwrap();
    let events = summary.events();

    let mut agent = postfix_source(&server, &log, &position, ROOT_KEY)
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("start eventhose source");
    let ingested = || async {
        metric(&server, "eventhose_ingest_events_total")
            .await
            .unwrap_or(0.0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    #[allow(clippy::cast_precision_loss)]
    let half = (events / 2) as f64;
    while ingested().await < half {
        assert!(std::time::Instant::now() < deadline, "half never ingested");
        assert!(
            agent.try_wait().unwrap().is_none(),
            "the agent exited early"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    agent.kill().unwrap();
    agent.wait().unwrap();
    let mut rest = postfix_source(&server, &log, &position, ROOT_KEY);
    rest.arg("--once");
    run_to_end(
        rest,
        "the restarted source",
        std::time::Duration::from_secs(600),
    )
    .await;

    #[allow(clippy::cast_precision_loss)]
    let all = events as f64;
    assert!(
        ingested().await >= all,
        "every event was sent at least once"
    );
    let expected = [
        ("count_injected", summary.injections),
        ("count_delivered", summary.deliveries),
        ("count_bounce", summary.bounces),
        ("count_delayed", summary.delays),
        ("count_policy_rejection", summary.rejections),
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let mut counts = Vec::new();
        for (metric, _) in expected {
            counts.push(crate::amqp::metric_total(&server, metric).await);
        }
        let want: Vec<u64> = expected.iter().map(|(_, n)| *n).collect();
        if counts == want {
            break;
        }
        for (count, most) in counts.iter().zip(&want) {
            assert!(
                count <= most,
                "counted twice: {counts:?}, expected {want:?}"
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "counts {counts:?}, expected {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A second message, to another recipient, logged after [`mail_log`]'s.
fn second_mail_log() -> String {
    mail_log()
        .replace("4A1B2C3D4E", "5B2C3D4E5F")
        .replace("jane@example.com", "john@example.com")
        .replace("nobody@example.com", "noone@example.com")
}

/// `serve` following a Postfix log itself (`[[sources.postfix]]`): the log's events are
/// stored, and after a restart only what was added since.
#[tokio::test]
async fn serve_follows_a_postfix_log_named_in_its_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("mail.log");
    std::fs::write(&log, mail_log()).unwrap();
    let config = dir.path().join("eventhose.toml");
    std::fs::write(
        &config,
        format!(
            "[[sources.postfix]]\nfile = {:?}\nzone = \"UTC\"\n",
            log.to_str().unwrap()
        ),
    )
    .unwrap();
    let args = |data: &str, config: &str| {
        [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data,
            "--config",
            config,
        ]
        .map(str::to_owned)
    };
    let (data_arg, config_arg) = (data.to_str().unwrap(), config.to_str().unwrap());
    let start = || {
        let args = args(data_arg, config_arg);
        Server::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    };

    let server = start();
    let expected = ["bounce", "delivery", "injection", "injection"];
    eventually("the log's events are stored", || async {
        stored_types(&server).await == expected
    })
    .await;
    // The key the sources send with holds the ingest grant only.
    let listed = keys(&data, &["list", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let sources: Vec<&serde_json::Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| key["label"] == "sources in serve")
        .collect();
    assert_eq!(sources.len(), 1, "{listed}");
    assert_eq!(sources[0]["grants"], serde_json::json!(["events/ingest"]));
    assert!(server.terminate().success());

    // Logged while the server was down: read on restart, and the first message not again.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut file| std::io::Write::write_all(&mut file, second_mail_log().as_bytes()))
        .unwrap();
    let server = start();
    eventually("the added message's events are stored", || async {
        stored_types(&server).await.len() >= 8
    })
    .await;
    let sentinel = ingest(&server, ROOT_KEY, ndjson("delivery", "sentinel", 1)).await;
    assert_eq!(sentinel.status(), 200);
    eventually("the sentinel is stored", || async {
        stored_types(&server).await.len() >= 9
    })
    .await;
    assert_eq!(
        stored_types(&server).await,
        [
            "bounce",
            "bounce",
            "delivery",
            "delivery",
            "delivery",
            "injection",
            "injection",
            "injection",
            "injection"
        ],
        "each message's events once, and the sentinel"
    );
}
