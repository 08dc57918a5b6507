//! A real Postfix (Debian's package) with its own configuration in a temporary directory:
//! mail submitted over SMTP, relayed to a test SMTP server that answers by recipient, logged
//! by Postfix's own `postlogd`; `eventhose source postfix` reads that log, and the Events and
//! Metrics APIs must show what happened to each recipient. Runs as root, as CI does.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::*;

/// A Postfix instance of its own; stopped when dropped.
struct Postfix {
    config: PathBuf,
    log: PathBuf,
}

impl Postfix {
    /// Starts Postfix under `dir`, accepting SMTP on `smtpd` and relaying everything to
    /// `relay`.
    fn start(dir: &Path, smtpd: SocketAddr, relay: SocketAddr) -> Postfix {
        // Postfix's daemons run as `postfix` and must reach the queue below `dir`.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (config, spool, data) = (dir.join("conf"), dir.join("spool"), dir.join("data"));
        for path in [&config, &spool, &data] {
            std::fs::create_dir_all(path).unwrap();
        }
        let log = dir.join("mail.log");
        let main = format!(
            "compatibility_level = 3.6\n\
             queue_directory = {spool}\n\
             data_directory = {data}\n\
             command_directory = /usr/sbin\n\
             daemon_directory = /usr/lib/postfix/sbin\n\
             meta_directory = /etc/postfix\n\
             shlib_directory = no\n\
             mail_owner = postfix\n\
             setgid_group = postdrop\n\
             myhostname = mx1.example.test\n\
             mydestination =\n\
             inet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\n\
             mynetworks = 127.0.0.0/8\n\
             relayhost = [127.0.0.1]:{relay_port}\n\
             smtp_host_lookup = native\n\
             alias_maps =\n\
             alias_database =\n\
             maillog_file = {log}\n\
             maillog_file_prefixes = {dir}\n",
            spool = spool.display(),
            data = data.display(),
            relay_port = relay.port(),
            log = log.display(),
            dir = dir.display(),
        );
        std::fs::write(config.join("main.cf"), main).unwrap();
        let services = [
            format!("{smtpd} inet n - n - - smtpd"),
            "pickup unix n - n 60 1 pickup".into(),
            "cleanup unix n - n - 0 cleanup".into(),
            "qmgr unix n - n 300 1 qmgr".into(),
            "rewrite unix - - n - - trivial-rewrite".into(),
            "bounce unix - - n - 0 bounce".into(),
            "defer unix - - n - 0 bounce".into(),
            "trace unix - - n - 0 bounce".into(),
            "verify unix - - n - 1 verify".into(),
            "flush unix n - n 1000? 0 flush".into(),
            "proxymap unix - - n - - proxymap".into(),
            "smtp unix - - n - - smtp".into(),
            "relay unix - - n - - smtp".into(),
            "showq unix n - n - - showq".into(),
            "error unix - - n - - error".into(),
            "retry unix - - n - - error".into(),
            "discard unix - - n - - discard".into(),
            "local unix - n n - - local".into(),
            "anvil unix - - n - 1 anvil".into(),
            "scache unix - - n - 1 scache".into(),
            "postlog unix-dgram n - n - 1 postlogd".into(),
        ];
        std::fs::write(config.join("master.cf"), services.join("\n") + "\n").unwrap();
        run("chown", &["postfix".as_ref(), data.as_os_str()]);
        let postfix = Postfix { config, log };
        postfix.command("start");
        postfix
    }

    /// Runs `postfix -c <config> <what>` and insists it succeeds.
    fn command(&self, what: &str) {
        run(
            "postfix",
            &["-c".as_ref(), self.config.as_os_str(), what.as_ref()],
        );
    }

    /// The log's text so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .status();
    }
}

/// Runs `program args` and insists it succeeds.
fn run(program: &str, args: &[&std::ffi::OsStr]) {
    let output = Command::new(program).args(args).output().expect(program);
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A relay that accepts every message and answers each recipient by its local part:
/// `nobody` 550 (unknown user), `later` 451 (try again later), anyone else 250.
async fn start_relay() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(relay_session(stream));
        }
    });
    addr
}

async fn relay_session(stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 relay.example.com ESMTP\r\n").await;
    let mut in_data = false;
    while let Ok(Some(line)) = lines.next_line().await {
        let answer = if in_data {
            if line != "." {
                continue;
            }
            in_data = false;
            "250 2.0.0 Ok: queued as 7QX91"
        } else {
            let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
            match verb.as_str() {
                "EHLO" | "HELO" => "250 relay.example.com",
                "RCPT" if line.contains("<nobody@") => "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
                "RCPT" if line.contains("<later@") => "451 4.7.1 Service unavailable, try again later",
                "DATA" => {
                    in_data = true;
                    "354 End data with <CR><LF>.<CR><LF>"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 2.0.0 Bye\r\n").await;
                    return;
                }
                _ => "250 2.1.0 Ok",
            }
        };
        if write
            .write_all(format!("{answer}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// One SMTP client session.
struct Smtp {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Smtp {
    /// Reads an answer (all its lines) and insists on `code`.
    async fn expect(&mut self, code: &str) {
        loop {
            let line = self.lines.next_line().await.unwrap().expect("an answer");
            assert!(line.starts_with(code), "wanted {code}, got {line}");
            if line.as_bytes().get(3) != Some(&b'-') {
                return;
            }
        }
    }

    /// Sends `command` and insists on `code`.
    async fn say(&mut self, command: &str, code: &str) {
        self.write.write_all(command.as_bytes()).await.unwrap();
        self.expect(code).await;
    }
}

/// Submits one message from `from` to `to` over SMTP at `smtpd`.
async fn submit(smtpd: SocketAddr, from: &str, to: &[&str]) {
    let (read, write) = TcpStream::connect(smtpd).await.unwrap().into_split();
    let mut smtp = Smtp {
        lines: BufReader::new(read).lines(),
        write,
    };
    smtp.expect("220").await;
    smtp.say("EHLO app.example.net\r\n", "250").await;
    smtp.say(&format!("MAIL FROM:<{from}>\r\n"), "250").await;
    for rcpt in to {
        smtp.say(&format!("RCPT TO:<{rcpt}>\r\n"), "250").await;
    }
    smtp.say("DATA\r\n", "354").await;
    let message = format!("From: {from}\r\nSubject: test\r\n\r\nHello.\r\n.\r\n");
    smtp.say(&message, "250").await;
    smtp.say("QUIT\r\n", "221").await;
}

/// A free port on loopback (bound, then let go for Postfix to take).
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `[now − 1 h, now + 1 h]` as the APIs take it.
fn around_now() -> String {
    let at = |hours| (chrono::Utc::now() + chrono::Duration::hours(hours)).format("%Y-%m-%dT%H:%M");
    format!("from={}&to={}", at(-1), at(1))
}

#[tokio::test]
async fn a_real_postfix_log_gives_each_recipients_events_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start_relay().await;
    let smtpd = free_port();
    let postfix = Postfix::start(dir.path(), smtpd, relay);
    submit(
        smtpd,
        "news@example.net",
        &[
            "jane@example.com",
            "nobody@example.com",
            "later@example.com",
        ],
    )
    .await;
    submit(smtpd, "app@example.net", &["bob@example.org"]).await;

    // Until Postfix has tried every recipient (bounded: Postfix relays in well under a
    // second on loopback).
    let deadline = Instant::now() + PATIENCE;
    while !(postfix.log().matches("status=sent").count() >= 2
        && postfix.log().contains("status=bounced")
        && postfix.log().contains("status=deferred"))
    {
        assert!(Instant::now() < deadline, "Postfix log:\n{}", postfix.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let server = Server::start(&dir.path().join("data"), &[]);
    // Postfix's log is in this machine's zone without saying so: the source's default.
    let output = Command::new(env!("CARGO_BIN_EXE_eventhose"))
        .args(["source", "postfix", "--once", "--target"])
        .arg(server.url(""))
        .arg("--file")
        .arg(&postfix.log)
        .arg("--position")
        .arg(dir.path().join("postfix.position"))
        .env("EVENTHOSE_KEY", ROOT_KEY)
        .env("EVENTHOSE_LOG", "warn")
        .output()
        .expect("run eventhose source");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{stderr}\nPostfix log:\n{}",
        postfix.log()
    );

    let mut expected = vec![
        ("bounce", "nobody@example.com"),
        ("delay", "later@example.com"),
        ("delivery", "bob@example.org"),
        ("delivery", "jane@example.com"),
        ("injection", "bob@example.org"),
        ("injection", "jane@example.com"),
        ("injection", "later@example.com"),
        ("injection", "nobody@example.com"),
    ];
    expected.sort_unstable();
    let path = format!("/api/v1/events/message?per_page=100&{}", around_now());
    let stored_events = || async {
        let body = get_json(&server, ROOT_KEY, &path).await.unwrap_or_default();
        body["results"].as_array().cloned().unwrap_or_default()
    };
    eventually("every recipient's events are stored", || async {
        stored_events().await.len() >= expected.len()
    })
    .await;
    let stored = stored_events().await;
    let mut seen: Vec<(String, String)> = stored
        .iter()
        .map(|e| {
            let text = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
            (text("type"), text("rcpt_to"))
        })
        .collect();
    seen.sort_unstable();
    let seen: Vec<(&str, &str)> = seen.iter().map(|(t, r)| (t.as_str(), r.as_str())).collect();
    assert_eq!(seen, expected, "Postfix log:\n{}", postfix.log());
    let bounce = stored.iter().find(|e| e["type"] == "bounce").unwrap();
    assert_eq!(bounce["bounce_class"].to_string().trim_matches('"'), "10");
    assert_eq!(bounce["msg_from"], "news@example.net");

    let metrics = format!(
        "/api/v1/metrics/deliverability?metrics=count_injected,count_delivered,count_bounce,count_delayed&{}",
        around_now()
    );
    let names = [
        "count_injected",
        "count_delivered",
        "count_bounce",
        "count_delayed",
    ];
    eventually("the metrics count each recipient's outcome", || async {
        let body = get_json(&server, ROOT_KEY, &metrics)
            .await
            .unwrap_or_default();
        let counts: Vec<Option<u64>> = names
            .iter()
            .map(|name| body["results"][0][*name].as_u64())
            .collect();
        counts == [Some(4), Some(2), Some(1), Some(1)]
    })
    .await;
}
