//! The `eventhose serve` child process a benchmark runs against, and what `/proc` says about
//! a process's CPU time and peak memory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// The `eventhose` binary to run: `given` (`--eventhose`), or `eventhose` in
/// the directory of this executable, where cargo puts both binaries of a build.
pub fn locate_eventhose(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()
            .context("cannot find this executable")?
            .with_file_name(format!("eventhose{}", std::env::consts::EXE_SUFFIX)),
    };
    anyhow::ensure!(
        path.is_file(),
        "no eventhose binary at {}: build it (`cargo build --release` builds both binaries) \
         or name it with --eventhose PATH",
        path.display()
    );
    Ok(path)
}

/// The key every benchmark server is bootstrapped with (all grants).
pub const BENCH_KEY: &str = "bench-key-0123456789abcdef0123456789";

/// A `serve` child process on a loopback port of its own.
pub struct BenchServer {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl BenchServer {
    /// Starts `eventhose serve` (the binary `eventhose`) over `dir`, with `env` added to the
    /// inherited environment.
    pub fn start(eventhose: &Path, dir: &Path, env: &[(&str, String)]) -> anyhow::Result<Self> {
        Self::start_roles(eventhose, dir, None, env)
    }

    /// [`start`](Self::start) running `roles` (comma-separated), or every role.
    pub fn start_roles(
        eventhose: &Path,
        dir: &Path,
        roles: Option<&str>,
        env: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(eventhose);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(roles.map(|roles| ["--roles", roles]).into_iter().flatten())
            .env("EVENTHOSE_BOOTSTRAP_KEY", BENCH_KEY)
            .env("EVENTHOSE_LOG", "warn")
            .stdout(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start the server {}", eventhose.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("eventhose listening on ") {
                        break url.to_string();
                    }
                }
                _ => anyhow::bail!("the server exited before listening"),
            }
        };
        // Keep the pipe open and drained: a closed stdout would fail the server's next print.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Ok(Self { child, base })
    }

    /// User + system CPU seconds the server has used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(self.child.id())
    }

    /// The server's peak resident set size (`VmHWM`), in bytes.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        status_bytes(self.child.id(), "VmHWM:")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL (nothing is flushed), then waits for the exit.
    pub fn kill9(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for BenchServer {
    /// A benchmark that fails midway must not leave its server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The Prometheus text a server at `base` answers on `/metrics`.
pub async fn metrics_page(client: &reqwest::Client, base: &str) -> reqwest::Result<String> {
    client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await
}

/// A `kB` line (`field` with its colon, e.g. `VmRSS:`) of process `pid`'s `/proc` status, in
/// bytes.
pub fn status_bytes(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    Ok(kb * 1024)
}

/// User + system CPU seconds process `pid` has used so far.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the name.
    let ticks: f64 = fields
        .get(11..13)
        .context("short /proc stat")?
        .iter()
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .sum();
    Ok(ticks / 100.0)
}

/// GETs `url` with the bench key; fails unless it answers 200. Returns the round trip and body.
pub async fn timed_get(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<(std::time::Duration, bytes::Bytes)> {
    let sent = std::time::Instant::now();
    let response = client
        .get(url)
        .header("Authorization", BENCH_KEY)
        .send()
        .await?;
    let status = response.status();
    let body = response.bytes().await?;
    let elapsed = sent.elapsed();
    anyhow::ensure!(
        status == 200,
        "{url} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok((elapsed, body))
}

/// A kind of query a latency benchmark repeats: its name, and the URL of its `i`-th request.
pub type QueryKind<'a> = (&'static str, Box<dyn Fn(usize) -> String + 'a>);
