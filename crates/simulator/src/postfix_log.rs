//! A Postfix mail log as Postfix 3 writes it to syslog (RFC 3164 time stamps), for the
//! Postfix source's benchmarks and long tests: deterministic from a seed, with what the log
//! should give counted alongside ([`PostfixLogSummary`]).
//!
//! Each message arrives over SMTP (`connect`, `client=`, `message-id=`, `from=` … `nrcpt=`,
//! `disconnect`) with one to three recipients. Each recipient is delivered, bounced, or
//! deferred first (once or twice, minutes apart) and then delivered or bounced; `removed`
//! follows its last recipient. Some SMTP clients are refused at `RCPT TO` (`NOQUEUE:
//! reject`). Lines come out in time order, many messages open at once, as a busy server's
//! log interleaves them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What log to write.
#[derive(Clone, Debug)]
pub struct PostfixLogConfig {
    /// Seed of the random choices: the same seed gives the same log.
    pub seed: u64,
    /// When the first message arrives.
    pub start: DateTime<Utc>,
    /// How many messages arrive (refused clients not counted).
    pub messages: usize,
    /// Arrivals per second of log time.
    pub messages_per_second: f64,
}

/// What a log holds, as the Postfix source should report it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PostfixLogSummary {
    /// Lines written.
    pub lines: u64,
    /// Messages received (each a queue id).
    pub messages: u64,
    /// `injection` events: one per recipient of a received message.
    pub injections: u64,
    /// `delivery` events.
    pub deliveries: u64,
    /// `bounce` events.
    pub bounces: u64,
    /// `delay` events: one per deferral.
    pub delays: u64,
    /// `policy_rejection` events: one per refused recipient.
    pub rejections: u64,
    /// The time of the last line.
    pub end: Option<DateTime<Utc>>,
}

impl PostfixLogSummary {
    /// Every event the log gives.
    pub fn events(&self) -> u64 {
        self.injections + self.deliveries + self.bounces + self.delays + self.rejections
    }
}

const HOST: &str = "mx1";
const DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "example.com",
    "example.net",
    "shop.example",
];

/// One line waiting for its time.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: DateTime<Utc>,
    /// Keeps lines of the same time in the order they were planned.
    seq: u64,
    text: String,
}

/// Writes the log `config` describes to `out`; returns what it holds.
pub fn write_postfix_log(
    config: &PostfixLogConfig,
    out: &mut impl Write,
) -> io::Result<PostfixLogSummary> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut summary = PostfixLogSummary::default();
    let mut pending: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    let mut seq = 0_u64;
    let mut plan = |pending: &mut BinaryHeap<Reverse<Pending>>, at: DateTime<Utc>, text: String| {
        seq += 1;
        pending.push(Reverse(Pending { at, seq, text }));
    };
    let gap_us = (1e6 / config.messages_per_second.max(1e-3)).max(1.0);
    let mut received = 0;
    let mut arrival = config.start;
    while received < config.messages || !pending.is_empty() {
        // Write every line due before the next arrival.
        let next_arrival = (received < config.messages).then_some(arrival);
        while let Some(Reverse(line)) = pending.peek() {
            if next_arrival.is_some_and(|at| line.at > at) {
                break;
            }
            let Some(Reverse(line)) = pending.pop() else {
                break;
            };
            write_line(out, line.at, &line.text)?;
            summary.lines += 1;
            summary.end = Some(line.at);
        }
        if received == config.messages {
            continue;
        }
        let client = rng.random_range(1..250_u8);
        let pid = rng.random_range(1000..30000_u32);
        plan(
            &mut pending,
            arrival,
            format!(
                "postfix/smtpd[{pid}]: connect from client{client}.example.org[192.0.2.{client}]"
            ),
        );
        if rng.random_bool(0.02) {
            // A client refused at RCPT TO: no queue id.
            let to = format!(
                "user{}@{}",
                rng.random_range(0..100_000),
                pick(&mut rng, DOMAINS)
            );
            plan(&mut pending, arrival, format!(
                "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from client{client}.example.org[192.0.2.{client}]: 554 5.7.1 <{to}>: Relay access denied; from=<app@client{client}.example.org> to=<{to}> proto=ESMTP helo=<client{client}.example.org>"
            ));
            summary.rejections += 1;
        } else {
            plan_message(
                &mut rng,
                &mut plan,
                &mut pending,
                &mut summary,
                arrival,
                received,
                client,
                pid,
            );
            received += 1;
        }
        plan(
            &mut pending,
            arrival + Duration::milliseconds(200),
            format!("postfix/smtpd[{pid}]: disconnect from client{client}.example.org[192.0.2.{client}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"),
        );
        let jitter = rng.random_range(0.5..1.5);
        #[allow(clippy::cast_possible_truncation)]
        let step = (gap_us * jitter) as i64;
        arrival += Duration::microseconds(step);
    }
    Ok(summary)
}

/// Plans one received message's lines.
#[allow(clippy::too_many_arguments)]
fn plan_message(
    rng: &mut ChaCha8Rng,
    plan: &mut impl FnMut(&mut BinaryHeap<Reverse<Pending>>, DateTime<Utc>, String),
    pending: &mut BinaryHeap<Reverse<Pending>>,
    summary: &mut PostfixLogSummary,
    arrival: DateTime<Utc>,
    index: usize,
    client: u8,
    pid: u32,
) {
    let id = format!("{:X}", 0x1_0000_0000_u64 + index as u64);
    let recipients = rng.random_range(1..=3_u64);
    let size = rng.random_range(1_000..80_000_u32);
    let queued = arrival + Duration::milliseconds(50);
    plan(
        pending,
        arrival,
        format!("postfix/smtpd[{pid}]: {id}: client=client{client}.example.org[192.0.2.{client}]"),
    );
    plan(
        pending,
        arrival,
        format!(
            "postfix/cleanup[{}]: {id}: message-id=<{index}.{}@client{client}.example.org>",
            pid + 1,
            rng.random::<u32>()
        ),
    );
    plan(pending, queued, format!("postfix/qmgr[900]: {id}: from=<bounces@news.shop.example>, size={size}, nrcpt={recipients} (queue active)"));
    summary.messages += 1;
    let mut last = queued;
    for r in 0..recipients {
        let domain = pick(rng, DOMAINS);
        let to = format!("user{}.{r}@{domain}", rng.random_range(0..1_000_000));
        let relay = format!("mx.{domain}[198.51.100.{}]:25", 1 + r);
        let mut at = queued + Duration::milliseconds(rng.random_range(100..3_000));
        let mut retries = 0;
        let deferrals = match rng.random_range(0..100) {
            0..=4 => 1,
            5 => 2,
            _ => 0,
        };
        for _ in 0..deferrals {
            let delay = (at - arrival).num_seconds().max(1);
            plan(pending, at, format!("postfix/smtp[{}]: {id}: to=<{to}>, relay={relay}, delay={delay}, delays=0.1/0/0.5/0.4, dsn=4.2.1, status=deferred (host {relay} said: 450 4.2.1 The user you are trying to contact is receiving mail too quickly (in reply to RCPT TO command))", pid + 2));
            summary.delays += 1;
            retries += 1;
            at += Duration::seconds(rng.random_range(60..600));
        }
        let delay = (at - arrival).num_seconds().max(1);
        summary.injections += 1;
        if rng.random_bool(if retries > 0 { 0.3 } else { 0.07 }) {
            plan(pending, at, format!("postfix/smtp[{}]: {id}: to=<{to}>, relay={relay}, delay={delay}, delays=0.1/0/0.5/0.4, dsn=5.1.1, status=bounced (host {relay} said: 550 5.1.1 <{to}>: Recipient address rejected: User unknown (in reply to RCPT TO command))", pid + 2));
            summary.bounces += 1;
        } else {
            plan(pending, at, format!("postfix/smtp[{}]: {id}: to=<{to}>, relay={relay}, delay={delay}, delays=0.1/0/0.5/0.4, dsn=2.0.0, status=sent (250 2.0.0 OK {} - gsmtp)", pid + 2, rng.random::<u32>()));
            summary.deliveries += 1;
        }
        last = last.max(at);
    }
    plan(pending, last, format!("postfix/qmgr[900]: {id}: removed"));
}

fn pick<'a>(rng: &mut ChaCha8Rng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// `Dec  7 10:00:00 mx1 <text>`: RFC 3164's time stamp (no year, no zone), as syslog writes.
fn write_line(out: &mut impl Write, at: DateTime<Utc>, text: &str) -> io::Result<()> {
    writeln!(out, "{} {HOST} {text}", at.format("%b %e %H:%M:%S"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(messages: usize) -> (String, PostfixLogSummary) {
        let config = PostfixLogConfig {
            seed: 7,
            start: "2026-12-07T10:00:00Z".parse().unwrap(),
            messages,
            messages_per_second: 20.0,
        };
        let mut out = Vec::new();
        let summary = write_postfix_log(&config, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    #[test]
    fn the_same_seed_gives_the_same_log() {
        assert_eq!(log(300), log(300));
    }

    #[test]
    fn lines_are_in_time_order_and_counted() {
        let (text, summary) = log(2_000);
        assert_eq!(text.lines().count() as u64, summary.lines);
        let times: Vec<&str> = text.lines().map(|line| &line[..15]).collect();
        let parsed: Vec<chrono::NaiveTime> = times
            .iter()
            .map(|t| chrono::NaiveTime::parse_from_str(&t[7..], "%H:%M:%S").unwrap())
            .collect();
        assert!(parsed.windows(2).all(|w| w[0] <= w[1]), "time order");
        assert_eq!(summary.messages, 2_000);
        assert!(summary.injections >= summary.messages);
        assert_eq!(
            summary.injections,
            summary.deliveries + summary.bounces,
            "every recipient ends delivered or bounced"
        );
        assert!(summary.delays > 0 && summary.rejections > 0 && summary.bounces > 0);
        let removed = text.lines().filter(|l| l.ends_with(": removed")).count() as u64;
        assert_eq!(removed, summary.messages);
    }
}
