//! Starts and stops `eventhose serve` as a child process, and speaks to it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The key every test server is bootstrapped with (all grants).
pub const ROOT_KEY: &str = "test-root-key-0123456789abcdef";

/// How long to wait for anything the server should do soon.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running `eventhose serve` (or `demo`).
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The lines it printed on stdout after the address.
    lines: mpsc::Receiver<String>,
}

impl Server {
    /// Starts a server on a free loopback port over `data_dir`, with extra environment.
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let data_dir = data_dir.to_str().expect("a UTF-8 data dir");
        Server::spawn(
            &["serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
            env,
        )
    }

    /// Starts a server running `roles` (comma-separated) over `data_dir`, with extra
    /// environment.
    pub fn start_roles(data_dir: &Path, roles: &str, env: &[(&str, &str)]) -> Server {
        let data_dir = data_dir.to_str().expect("a UTF-8 data dir");
        Server::spawn(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data_dir,
                "--roles",
                roles,
            ],
            env,
        )
    }

    /// Runs `eventhose <args>` (a command that serves and prints its address), with extra
    /// environment (an empty value removes the variable), and waits for the address.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_eventhose"));
        command
            .args(args)
            .env("EVENTHOSE_BOOTSTRAP_KEY", ROOT_KEY)
            .env("EVENTHOSE_LOG", "warn")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            if v.is_empty() {
                command.env_remove(k);
            } else {
                command.env(k, v);
            }
        }
        let mut child = command.spawn().expect("spawn eventhose");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + PATIENCE;
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .expect("server did not report its address in time");
            if let Some(url) = line.strip_prefix("eventhose listening on ") {
                break url.to_string();
            }
        };
        Server { child, base, lines }
    }

    /// The rest of the first line printed after the address that starts with `prefix`.
    pub fn printed(&self, prefix: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("nothing printed starting with {prefix:?}"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The process's resident memory so far at its peak (`VmHWM`), in bytes.
    pub fn peak_rss_bytes(&self) -> u64 {
        self.status_kib("VmHWM:") * 1024
    }

    /// The process's resident memory now (`VmRSS`), in bytes.
    pub fn rss_bytes(&self) -> u64 {
        self.status_kib("VmRSS:") * 1024
    }

    /// A `kB` line of the process's `/proc` status.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a kB line in /proc status")
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `eventhose keys …` on `data_dir`; returns stdout.
pub fn keys(data_dir: &Path, args: &[&str]) -> String {
    keys_with(data_dir, &[], args)
}

/// [`keys`] with extra environment (the state store's settings, say).
pub fn keys_with(data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_eventhose"))
        .envs(env.iter().copied())
        .arg("keys")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run eventhose keys");
    assert!(
        output.status.success(),
        "eventhose keys {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The environment that lets webhook targets be on loopback, on any port (where the tests'
/// receivers listen), followed by `extra`.
pub fn loopback_targets<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("EVENTHOSE_ALLOW_PRIVATE_TARGETS", "true"),
        ("EVENTHOSE_WEBHOOKS__ALLOW_ANY_PORT", "true"),
    ];
    env.extend_from_slice(extra);
    env
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// A minute ago, in unix seconds: ingest accepts events inside the retention window only.
pub fn recent() -> i64 {
    chrono::Utc::now().timestamp() - 60
}

/// A valid bare event of `event_type` with a given id, from a minute ago.
pub fn event(event_type: &str, event_id: &str) -> String {
    let bounce = if matches!(event_type, "bounce" | "out_of_band") {
        r#","bounce_class":"10","reason":"550 5.1.1 no such user""#
    } else {
        ""
    };
    let ts = recent();
    format!(
        r#"{{"type":"{event_type}","event_id":"{event_id}","timestamp":"{ts}","message_id":"msg-{event_id}","rcpt_to":"user{event_id}@example.com","campaign_id":"spring","x_custom":"kept"{bounce}}}"#
    )
}

/// NDJSON of `n` events of one type with ids `prefix-0 … prefix-(n-1)`.
pub fn ndjson(event_type: &str, prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| event(event_type, &format!("{prefix}-{i}")) + "\n")
        .collect()
}

/// Creates a webhook (with the root key) for `events` pointing at `target`; returns its id
/// and signing secret.
pub async fn create_webhook(server: &Server, target: &str, events: &[&str]) -> (String, String) {
    let response = client()
        .post(server.url("/api/v1/webhooks"))
        .header("Authorization", ROOT_KEY)
        .json(&serde_json::json!({ "name": "test hook", "target": target, "events": events }))
        .send()
        .await
        .expect("create webhook");
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(status, 200, "creating a webhook: {body}");
    let field = |name: &str| {
        body["results"][name]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    (field("id"), field("signing_secret"))
}

/// Sends `request` with the root key and returns the JSON answer, which must be a 200.
pub async fn send_as_root(request: reqwest::RequestBuilder) -> serde_json::Value {
    let response = request
        .header("Authorization", ROOT_KEY)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    body
}

/// POSTs NDJSON to the ingest API.
pub async fn ingest(
    server: &Server,
    key: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    client()
        .post(server.url("/api/v1/ingest/events"))
        .header("Authorization", key)
        .header("Content-Type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("ingest request")
}

/// The server's Prometheus text (`GET /metrics`), if it answers.
pub async fn try_metrics_text(server: &Server) -> Option<String> {
    let response = client().get(server.url("/metrics")).send().await.ok()?;
    response.text().await.ok()
}

/// The server's Prometheus text (`GET /metrics`).
pub async fn metrics_text(server: &Server) -> String {
    try_metrics_text(server)
        .await
        .expect("GET /metrics answers")
}

/// The value of one Prometheus sample (`name{labels}`), if present.
pub async fn metric(server: &Server, sample: &str) -> Option<f64> {
    let text = try_metrics_text(server).await?;
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == sample).then(|| value.parse().ok()).flatten()
    })
}

/// What the counter subscriber has counted for `event_type` (0 if nothing yet).
// A counter's value is a whole number well inside u64 (and `as` would saturate anyway).
#[allow(clippy::cast_possible_truncation)]
pub async fn counted(server: &Server, event_type: &str) -> u64 {
    let sample = format!(
        "eventhose_subscriber_events_total{{subscriber=\"counter\",type=\"{event_type}\"}}"
    );
    metric(server, &sample).await.unwrap_or(0.0) as u64
}

/// Polls `check` until it returns true or [`PATIENCE`] runs out.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Gzip-compresses `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Runs `command` (stdin closed) and returns what it printed on stdout; panics with both of its
/// outputs unless it exits 0 within `limit`. `what` names it in the panic.
pub async fn run_to_end(mut command: Command, what: &str, limit: Duration) -> String {
    use std::io::Read;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    match status {
        Some(status) if status.success() => out,
        Some(status) => panic!("{what} failed ({status}):\n{out}\n{err}"),
        None => panic!(
            "{what} did not finish within {} s:\n{out}\n{err}",
            limit.as_secs()
        ),
    }
}

/// GETs `path` with `key`; the answer's JSON, or `None` when the request fails or answers
/// other than 2xx.
pub async fn get_json(server: &Server, key: &str, path: &str) -> Option<serde_json::Value> {
    let answer = client()
        .get(server.url(path))
        .header("Authorization", key)
        .send()
        .await
        .ok()?;
    if !answer.status().is_success() {
        return None;
    }
    answer.json().await.ok()
}
