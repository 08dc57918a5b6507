//! `eventhose-bench sources`: the MTA sources' throughput.
//!
//! - `parse`: the Postfix source reading a generated log
//!   ([`eventhose_simulator::postfix_log`]) in this process, on one thread: lines parsed and
//!   correlated into events per second.
//! - `agent`: the same log through `eventhose source postfix --once` into an `eventhose serve`
//!   with every subscriber, as an operator runs it: until the agent exits (every event
//!   acknowledged, durable) and until every subscriber has applied them.
//! - `syslog-udp`, `syslog-tcp`: the log's lines sent as RFC 3164 syslog messages at a fixed
//!   rate to `eventhose source postfix --syslog-udp|--syslog-tcp`, shipping to a server: the
//!   events that arrive against those the lines give, and the kernel's count of datagrams
//!   dropped for a full receive buffer.
//! - `kumomta`: KumoMTA log records (a reception and a delivery per message) posted to
//!   `POST /api/v1/ingest/kumomta` in requests of 1,000 from 8 clients.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use chrono::Utc;
use clap::{Args, ValueEnum};
use eventhose_model::{classify_bounce, EnhancedStatus, SmtpReply};
use eventhose_simulator::postfix_log::{write_postfix_log, PostfixLogConfig, PostfixLogSummary};
use eventhose_sources::postfix::{PostfixConfig, PostfixSource};
use eventhose_sources::syslog::{LocalClock, Zone};
use tokio::io::AsyncWriteExt;

use crate::amqp::{counted_events, embedded_drained, samples};
use crate::ingest::send_all_to;
use crate::scratch::bench_dir;
use crate::server::{BenchServer, BENCH_KEY};

/// One part of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// The Postfix source in this process, one thread.
    Parse,
    /// `eventhose source postfix --once --file` into a server.
    Agent,
    /// Syslog over UDP into the agent, at each `--syslog-rates` rate.
    SyslogUdp,
    /// Syslog over TCP into the agent, at each `--syslog-rates` rate.
    SyslogTcp,
    /// KumoMTA records through the server's endpoint.
    Kumomta,
}

/// Options of `sources`.
#[derive(Debug, Args)]
pub struct SourcesBench {
    /// Messages in the generated Postfix log (about 8 lines and 4 events each).
    #[arg(long, default_value_t = 200_000)]
    messages: usize,
    /// Which parts to run.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "parse,agent,syslog-udp,syslog-tcp,kumomta"
    )]
    parts: Vec<Part>,
    /// Messages in the syslog parts' log (a smaller log: it is sent at a fixed rate).
    #[arg(long, default_value_t = 50_000)]
    syslog_messages: usize,
    /// Syslog send rates, in lines per second.
    #[arg(long, value_delimiter = ',', default_value = "20000,50000,100000")]
    syslog_rates: Vec<u64>,
    /// KumoMTA messages (two records each).
    #[arg(long, default_value_t = 250_000)]
    kumomta_messages: usize,
    /// Where servers keep their data (default: a new directory under /var/tmp).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Runs the parts asked for, a Markdown row each.
pub async fn run(eventhose: &Path, bench: SourcesBench) -> anyhow::Result<()> {
    let dir = bench_dir(bench.dir.as_deref(), "sources")?;
    let (log, summary) = postfix_log(bench.messages)?;
    let log_path = dir.join("mail.log");
    std::fs::write(&log_path, &log)?;
    for part in &bench.parts {
        match part {
            Part::Parse => parse(&log, &summary)?,
            Part::Agent => agent(eventhose, &dir, &log_path, &log, &summary).await?,
            Part::SyslogUdp | Part::SyslogTcp => {
                let (log, summary) = postfix_log(bench.syslog_messages)?;
                for &rate in &bench.syslog_rates {
                    syslog(eventhose, &dir, *part, rate, &log, &summary).await?;
                }
            }
            Part::Kumomta => kumomta(eventhose, &dir, bench.kumomta_messages).await?,
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// A log of `messages` messages received over the last 90 minutes or so, ending before now.
fn postfix_log(messages: usize) -> anyhow::Result<(Vec<u8>, PostfixLogSummary)> {
    let config = PostfixLogConfig {
        seed: 5,
        start: Utc::now() - chrono::Duration::minutes(120),
        messages,
        #[allow(clippy::cast_precision_loss)]
        messages_per_second: messages as f64 / 5_400.0,
    };
    let mut log = Vec::new();
    let summary = write_postfix_log(&config, &mut log)?;
    Ok((log, summary))
}

/// The model's classifier, as the agent gives it to the source.
fn classify(enhanced: Option<&str>, code: Option<u16>, text: &str) -> u16 {
    classify_bounce(&SmtpReply::new(
        code,
        enhanced.and_then(EnhancedStatus::parse),
        text,
    ))
}

/// The source on this thread, best of three runs.
fn parse(log: &[u8], summary: &PostfixLogSummary) -> anyhow::Result<()> {
    let text = std::str::from_utf8(log)?;
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let clock = LocalClock::new(Zone::utc(), Utc::now());
        let mut source = PostfixSource::new(PostfixConfig::new(classify), clock);
        let mut events = Vec::new();
        let mut produced = 0_u64;
        let started = Instant::now();
        for line in text.lines() {
            // Unreadable lines are counted by the source; the generated log has none.
            let _ = source.push_line(line, &mut events);
            produced += events.len() as u64;
            events.clear();
        }
        source.finish(&mut events);
        produced += events.len() as u64;
        best = best.min(started.elapsed());
        anyhow::ensure!(
            produced == summary.events(),
            "the source gave {produced} events, the log holds {}",
            summary.events()
        );
    }
    let seconds = best.as_secs_f64();
    println!(
        "| Postfix source, parse and correlate (one thread, best of 3) | {} lines, {} MB, {} events | {:.0} lines/s | {:.0} events/s | {:.0} MB/s |",
        summary.lines,
        log.len() / 1_000_000,
        summary.events(),
        summary.lines as f64 / seconds,
        summary.events() as f64 / seconds,
        log.len() as f64 / seconds / 1e6,
    );
    Ok(())
}

/// `eventhose source postfix` with `args`, shipping to `server`.
fn source_command<S: AsRef<std::ffi::OsStr>>(
    eventhose: &Path,
    server: &BenchServer,
    dir: &Path,
    args: &[S],
) -> Command {
    let mut command = Command::new(eventhose);
    command
        .args([
            "source",
            "postfix",
            "--zone",
            "UTC",
            "--target",
            &server.base,
        ])
        .args(args)
        .arg("--position")
        .arg(dir.join("postfix.position"))
        .env("EVENTHOSE_KEY", BENCH_KEY)
        .env("EVENTHOSE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// The log read to its end by the agent, into a server with every subscriber.
async fn agent(
    eventhose: &Path,
    dir: &Path,
    log_path: &Path,
    log: &[u8],
    summary: &PostfixLogSummary,
) -> anyhow::Result<()> {
    let data = dir.join("agent-data");
    let server = BenchServer::start(eventhose, &data, &[])?;
    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let args = [Path::new("--once"), Path::new("--file"), log_path];
    let status = source_command(eventhose, &server, dir, &args)
        .status()
        .context("run eventhose source")?;
    anyhow::ensure!(status.success(), "eventhose source failed: {status}");
    let acknowledged = started.elapsed();
    embedded_drained(&server.base, summary.events()).await?;
    let applied = started.elapsed();
    let cpu = server.cpu_seconds()? - cpu_before;
    let peak_rss = server.peak_rss_bytes()?;
    server.stop()?;
    std::fs::remove_dir_all(&data).ok();
    std::fs::remove_file(dir.join("postfix.position")).ok();
    println!(
        "| `eventhose source postfix --once` into `serve` (every subscriber) | {} lines, {} MB, {} events | {:.0} lines/s acknowledged ({:.1} s) | {:.0} lines/s applied by every subscriber ({:.1} s), {:.0} events/s | server CPU {:.0}% of one core, peak RSS {} MB |",
        summary.lines,
        log.len() / 1_000_000,
        summary.events(),
        summary.lines as f64 / acknowledged.as_secs_f64(),
        acknowledged.as_secs_f64(),
        summary.lines as f64 / applied.as_secs_f64(),
        applied.as_secs_f64(),
        summary.events() as f64 / applied.as_secs_f64(),
        cpu / applied.as_secs_f64() * 100.0,
        peak_rss / 1_000_000,
    );
    Ok(())
}

/// A free loopback port (closed again: the agent binds it).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `Udp: … RcvbufErrors` from /proc/net/snmp: datagrams dropped for a full receive buffer.
fn udp_receive_buffer_errors() -> anyhow::Result<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp")?;
    let mut udp = snmp.lines().filter(|line| line.starts_with("Udp:"));
    let (names, values) = (udp.next(), udp.next());
    let (Some(names), Some(values)) = (names, values) else {
        anyhow::bail!("no Udp lines in /proc/net/snmp");
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "RcvbufErrors")
        .and_then(|(_, value)| value.parse().ok())
        .context("no RcvbufErrors in /proc/net/snmp")
}

/// The counter subscriber's total (every event the server applied).
async fn counted(base: &str) -> anyhow::Result<u64> {
    Ok(counted_events(&samples(base).await?))
}

/// The log's lines sent as syslog messages at `rate` lines/s to the agent.
async fn syslog(
    eventhose: &Path,
    dir: &Path,
    part: Part,
    rate: u64,
    log: &[u8],
    summary: &PostfixLogSummary,
) -> anyhow::Result<()> {
    let data = dir.join("syslog-data");
    let server = BenchServer::start(eventhose, &data, &[])?;
    let address = format!("127.0.0.1:{}", free_port()?);
    let (flag, name) = match part {
        Part::SyslogUdp => ("--syslog-udp", "UDP"),
        _ => ("--syslog-tcp", "TCP"),
    };
    let mut agent: Child = source_command(eventhose, &server, dir, &[flag, &address])
        .spawn()
        .context("start eventhose source")?;
    // Facility mail (2), severity info (6).
    let messages: Vec<Vec<u8>> = std::str::from_utf8(log)?
        .lines()
        .map(|line| format!("<22>{line}").into_bytes())
        .collect();
    let drops_before = udp_receive_buffer_errors()?;
    let started = Instant::now();
    let sent = match part {
        Part::SyslogUdp => send_udp(&address, &messages, rate).await?,
        _ => send_tcp(&address, &messages, rate).await?,
    };
    let sending = started.elapsed();
    // Wait until the events stop coming: every one, or nothing new for 15 s.
    let expected = summary.events();
    let (mut last, mut since) = (0, Instant::now());
    loop {
        let now = counted(&server.base).await?;
        if now >= expected {
            break;
        }
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() > Duration::from_secs(15) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let arrived = counted(&server.base).await?;
    let dropped = udp_receive_buffer_errors()? - drops_before;
    agent.kill().ok();
    agent.wait().ok();
    server.stop()?;
    std::fs::remove_dir_all(&data).ok();
    let achieved = sent as f64 / sending.as_secs_f64();
    println!(
        "| syslog {name} into `eventhose source postfix`, shipped to `serve` | {sent} lines at {rate}/s asked, {achieved:.0}/s sent | {arrived} of {expected} events arrived ({:.2}% missing) | {dropped} datagrams dropped by the kernel (receive buffer full) |",
        (expected.saturating_sub(arrived)) as f64 / expected as f64 * 100.0,
    );
    Ok(())
}

/// The pause before message `index` of a run at `rate` per second.
fn due(started: Instant, index: usize, rate: u64) -> Instant {
    #[allow(clippy::cast_precision_loss)]
    let offset = index as f64 / rate.max(1) as f64;
    started + Duration::from_secs_f64(offset)
}

/// Sends each message as one datagram, paced to `rate`; returns how many were sent.
async fn send_udp(address: &str, messages: &[Vec<u8>], rate: u64) -> anyhow::Result<usize> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    socket.connect(address).await?;
    let started = Instant::now();
    for (index, message) in messages.iter().enumerate() {
        if index % 100 == 0 {
            tokio::time::sleep_until(due(started, index, rate).into()).await;
        }
        // The agent may not be listening yet at the very start: retry a refused send.
        while socket.send(message).await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(messages.len())
}

/// Sends the messages over one TCP connection, one per line, paced to `rate`.
async fn send_tcp(address: &str, messages: &[Vec<u8>], rate: u64) -> anyhow::Result<usize> {
    let mut stream = loop {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => break stream,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let started = Instant::now();
    let mut buffer = Vec::with_capacity(64 * 1024);
    for (index, message) in messages.iter().enumerate() {
        buffer.extend_from_slice(message);
        buffer.push(b'\n');
        if index % 100 == 99 {
            tokio::time::sleep_until(due(started, index, rate).into()).await;
            stream.write_all(&buffer).await?;
            buffer.clear();
        }
    }
    stream.write_all(&buffer).await?;
    stream.shutdown().await?;
    Ok(messages.len())
}

/// KumoMTA records, a reception and a delivery per message, posted in requests of 1,000.
async fn kumomta(eventhose: &Path, dir: &Path, messages: usize) -> anyhow::Result<()> {
    const BATCH: usize = 1_000;
    const CONCURRENCY: usize = 8;
    let data = dir.join("kumomta-data");
    let server = BenchServer::start(eventhose, &data, &[])?;
    let now = Utc::now().timestamp() - 600;
    let bodies: Vec<Bytes> = (0..64)
        .map(|body| {
            let mut text = String::with_capacity(BATCH * 900);
            for i in 0..BATCH / 2 {
                let id = format!("{body:04x}{i:028x}");
                for (kind, code, content) in [
                    ("Reception", 250, ""),
                    ("Delivery", 250, "250 2.0.0 OK"),
                ] {
                    let record = serde_json::json!({
                        "type": kind, "id": id, "sender": "bounces@news.shop.example",
                        "recipient": format!("user{i}@gmail.com"), "queue": "spring:acme@gmail.com",
                        "site": "mx-gmail", "size": 24_000,
                        "response": {"code": code, "enhanced_code": {"class": 2, "subject": 0, "detail": 0},
                                     "content": content, "command": ".\r\n"},
                        "peer_address": {"name": "gmail-smtp-in.l.google.com", "addr": "142.250.1.26"},
                        "timestamp": now, "created": now - 2, "num_attempts": 0,
                        "bounce_classification": "Uncategorized", "egress_pool": "shared",
                        "egress_source": "ip-1", "feedback_report": null, "meta": {}, "headers": {},
                        "delivery_protocol": if kind == "Delivery" { "ESMTP" } else { "" },
                        "reception_protocol": "ESMTP",
                        "nodeid": "d8e014c7-eaeb-4683-a56e-61324e91b1fc",
                    });
                    text.push_str(&record.to_string());
                    text.push('\n');
                }
            }
            Bytes::from(text)
        })
        .collect();
    let body_bytes = bodies[0].len();
    let requests = (messages * 2).div_ceil(BATCH);
    let records = requests * BATCH;
    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let latencies = send_all_to(
        std::slice::from_ref(&server.base),
        "/api/v1/ingest/kumomta",
        Arc::new(bodies),
        requests,
        CONCURRENCY,
        false,
    )
    .await?;
    let acknowledged = started.elapsed();
    embedded_drained(&server.base, records as u64).await?;
    let applied = started.elapsed();
    let cpu = server.cpu_seconds()? - cpu_before;
    let peak_rss = server.peak_rss_bytes()?;
    server.stop()?;
    std::fs::remove_dir_all(&data).ok();
    println!(
        "| KumoMTA records into `POST /api/v1/ingest/kumomta` (every subscriber) | {records} records, {BATCH}/request ({} KB), {CONCURRENCY} clients | {:.0} records/s acknowledged | {:.0} records/s applied by every subscriber | p50 {:.1} ms, p99 {:.1} ms | server CPU {:.0}% of one core, peak RSS {} MB |",
        body_bytes / 1_000,
        records as f64 / acknowledged.as_secs_f64(),
        records as f64 / applied.as_secs_f64(),
        crate::stats::percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        crate::stats::percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        cpu / applied.as_secs_f64() * 100.0,
        peak_rss / 1_000_000,
    );
    Ok(())
}
