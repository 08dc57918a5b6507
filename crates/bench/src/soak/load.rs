//! The sender: simulated events at a fixed rate, in requests retried as a real sender would
//! until answered 200.
//!
//! A thread generates one request every `batch / rate` seconds for the length of the run
//! (one simulator, so every `event_id` is new; its clock starts now and runs at the sending
//! rate, lifecycles compressed by [`TIME_SCALE`]). Workers send them, at most `concurrency` at
//! once, each with an `Idempotency-Key` of its own that its retries repeat: a retry of a
//! request whose answer was lost is replayed or, after a crash, published again and recognised
//! by the subscribers by its event ids. 429 and 503 are retried after `Retry-After`; 409 (the
//! first copy still being answered), other 5xx and connection errors after a growing pause; any
//! other answer is a failure of the run. Requests that stopping the server leaves waiting pile
//! up and go out when it is back, as a real sender's backlog would.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use eventhose_simulator::sender::retry_after;
use eventhose_simulator::{LineFormat, SimConfig, Simulator};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Serialize;
use tokio::sync::{mpsc, watch, Mutex};

use super::expect::Facts;
use super::faults::Endpoint;
use super::ledger::Ledger;
use crate::server::BENCH_KEY;

/// Lifecycle delays are this share of real ones, so that engagement, complaints and
/// unsubscribes (hours or days after delivery in real life) happen within a run.
const TIME_SCALE: f64 = 0.002;

/// The first pause after a failed try; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// The longest pause between tries.
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// Answers other than 200 noted word for word, at most.
const MAX_NOTED: usize = 20;

/// How to send.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// Events per second.
    pub rate: f64,
    /// Events per request.
    pub batch: usize,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// The simulator's seed.
    pub seed: u64,
    /// How long to generate requests.
    pub duration: Duration,
    /// How long after the end of the run a request not yet answered 200 is given up.
    pub give_up_after: Duration,
}

/// What the sender saw.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SendReport {
    /// Requests generated.
    pub requests: u64,
    /// Events generated.
    pub sent_events: u64,
    /// Requests answered 200.
    pub acked_requests: u64,
    /// Events of those.
    pub acked_events: u64,
    /// Requests given up on (never answered 200).
    pub abandoned_requests: u64,
    /// Events of those.
    pub abandoned_events: u64,
    /// Tries in all (a request answered at once takes one).
    pub tries: u64,
    /// Answers other than 200, by status.
    pub answers: BTreeMap<u16, u64>,
    /// Tries that got no answer (connection refused or reset, timeout).
    pub transport_errors: u64,
    /// Answers that fail the run (a 4xx other than 409 and 429), word for word.
    pub refused: Vec<String>,
    /// The first answers other than 200, and transport errors, word for word.
    pub noted: Vec<String>,
}

impl SendReport {
    fn merge(&mut self, other: SendReport) {
        self.acked_requests += other.acked_requests;
        self.acked_events += other.acked_events;
        self.abandoned_requests += other.abandoned_requests;
        self.abandoned_events += other.abandoned_events;
        self.tries += other.tries;
        for (status, n) in other.answers {
            *self.answers.entry(status).or_default() += n;
        }
        self.transport_errors += other.transport_errors;
        self.refused.extend(other.refused);
        for note in other.noted {
            if self.noted.len() < MAX_NOTED {
                self.noted.push(note);
            }
        }
    }

    fn note(&mut self, what: String) {
        if self.noted.len() < MAX_NOTED {
            self.noted.push(what);
        }
    }
}

/// One ingest request and the events it carries.
struct Request {
    body: Bytes,
    events: Vec<Facts>,
}

/// Sends for `config.duration` from `start` to the server `endpoint` names at each try; returns
/// once every request is answered 200 or given up.
pub async fn run(
    config: LoadConfig,
    start: Instant,
    endpoint: watch::Receiver<Option<Endpoint>>,
    ledger: Arc<Ledger>,
) -> anyhow::Result<SendReport> {
    anyhow::ensure!(
        config.batch <= 10_000,
        "--batch is at most 10,000 (ingest's limit)"
    );
    let (requests, queue) = mpsc::unbounded_channel();
    let generator = {
        let config = config.clone();
        std::thread::Builder::new()
            .name("soak-generator".into())
            .spawn(move || generate(&config, start, &requests))?
    };
    let queue = Arc::new(Mutex::new(queue));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let give_up = start + config.duration + config.give_up_after;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..config.concurrency.max(1) {
        let (queue, client, endpoint, ledger) = (
            queue.clone(),
            client.clone(),
            endpoint.clone(),
            ledger.clone(),
        );
        workers.spawn(async move {
            let mut report = SendReport::default();
            loop {
                let request = queue.lock().await.recv().await;
                let Some(request) = request else {
                    return report;
                };
                let sender = Sender {
                    client: &client,
                    endpoint: endpoint.clone(),
                    ledger: &ledger,
                    give_up,
                };
                sender.send(&request, &mut report).await;
            }
        });
    }
    let mut report = SendReport::default();
    while let Some(done) = workers.join_next().await {
        report.merge(done.context("a sending task failed")?);
    }
    let (requests, events) = generator
        .join()
        .map_err(|_| anyhow::anyhow!("the generator thread panicked"))??;
    report.requests = requests;
    report.sent_events = events;
    Ok(report)
}

/// Generates the requests on schedule; returns how many requests and events it made.
fn generate(
    config: &LoadConfig,
    start: Instant,
    requests: &mpsc::UnboundedSender<Request>,
) -> anyhow::Result<(u64, u64)> {
    let mut sim = SimConfig::new(config.seed, chrono::Utc::now().timestamp(), config.rate);
    sim.time_scale = TIME_SCALE;
    let mut simulator = Simulator::new(sim).context("invalid simulation")?;
    let spacing = Duration::from_secs_f64(config.batch as f64 / config.rate);
    let end = start + config.duration;
    let (mut made, mut events) = (0u64, 0u64);
    loop {
        let due = start + spacing.saturating_mul(u32::try_from(made).unwrap_or(u32::MAX));
        if due >= end {
            return Ok((made, events));
        }
        // Pacing the load, not waiting for anything.
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let mut body = Vec::with_capacity(config.batch * 1_100);
        simulator.write_lines(&mut body, config.batch, LineFormat::Bare);
        let facts = body
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(Facts::of_line)
            .collect::<anyhow::Result<Vec<_>>>()?;
        events += facts.len() as u64;
        made += 1;
        let request = Request {
            body: Bytes::from(body),
            events: facts,
        };
        if requests.send(request).is_err() {
            return Ok((made, events)); // the senders are gone: the run is failing
        }
    }
}

/// One worker's means of sending.
struct Sender<'a> {
    client: &'a reqwest::Client,
    endpoint: watch::Receiver<Option<Endpoint>>,
    ledger: &'a Ledger,
    give_up: Instant,
}

impl Sender<'_> {
    /// Tries `request` until it is answered 200, refused, or `give_up` passes.
    async fn send(mut self, request: &Request, report: &mut SendReport) {
        let key = uuid::Uuid::new_v4().to_string();
        let mut pause = FIRST_PAUSE;
        loop {
            let base = self.endpoint.borrow_and_update().clone().map(|e| e.base);
            let wait = match base {
                Some(base) => {
                    report.tries += 1;
                    match self.try_once(&base, &key, request, report).await {
                        Try::Acked => {
                            self.ledger.ack(&request.events, Instant::now());
                            report.acked_requests += 1;
                            report.acked_events += request.events.len() as u64;
                            return;
                        }
                        Try::Refused => break,
                        Try::Again(Some(after)) => after,
                        Try::Again(None) => {
                            let wait = pause;
                            pause = (pause * 2).min(MAX_PAUSE);
                            wait
                        }
                    }
                }
                None => pause,
            };
            if Instant::now() + wait > self.give_up {
                break;
            }
            // Paused: until a restarted server is there, or the pause is over.
            if let Ok(Err(_)) = tokio::time::timeout(wait, self.endpoint.changed()).await {
                tokio::time::sleep(wait).await;
            }
        }
        self.ledger.abandon(&request.events);
        report.abandoned_requests += 1;
        report.abandoned_events += request.events.len() as u64;
    }

    async fn try_once(
        &self,
        base: &str,
        key: &str,
        request: &Request,
        report: &mut SendReport,
    ) -> Try {
        let answer = self
            .client
            .post(format!("{base}/api/v1/ingest/events"))
            .header(AUTHORIZATION, BENCH_KEY)
            .header(CONTENT_TYPE, "application/x-ndjson")
            .header("Idempotency-Key", key)
            .body(request.body.clone())
            .send()
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(e) => {
                report.transport_errors += 1;
                report.note(format!("no answer: {e}"));
                return Try::Again(None);
            }
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        if status == 200 {
            return Try::Acked;
        }
        *report.answers.entry(status).or_default() += 1;
        let what = format!("{status}: {}", text.chars().take(300).collect::<String>());
        match status {
            429 | 503 => Try::Again(after),
            409 | 500..=599 => {
                report.note(what);
                Try::Again(None)
            }
            _ => {
                report.refused.push(what);
                Try::Refused
            }
        }
    }
}

/// How one try ended.
enum Try {
    /// Answered 200.
    Acked,
    /// Refused for good.
    Refused,
    /// To be tried again, after the pause the server asked for, if any.
    Again(Option<Duration>),
}
