//! Posts a simulated event stream to an ingest endpoint as NDJSON batches.
//!
//! Events are serialised on a dedicated thread, batched (1,000 per request by default),
//! optionally gzip-compressed, and posted to `{target}/api/v1/ingest/events` with
//! `Authorization: <key>` and `Content-Type: application/x-ndjson`, keeping up to
//! `concurrency` requests in flight. 429 and 503 answers and transport errors are retried
//! after a growing backoff, a bounded number of times; another 4xx stops the run with the
//! server's answer. Every request has a timeout, so a run over a finite iterator always ends.
//!
//! ```no_run
//! use eventhose_simulator::sender::{send, SendConfig};
//! use eventhose_simulator::{SimConfig, Simulator};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SimConfig::new(1, 1_717_200_000, 50_000.0);
//! let events = config.events_for(60.0);
//! let sim = Simulator::new(config)?;
//! let report = send(SendConfig::new("http://127.0.0.1:8080", "key"), sim.take(events as usize)).await?;
//! println!("{report}");
//! # Ok(())
//! # }
//! ```

mod batch;
mod config;
mod error;
mod post;
mod report;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::{JoinError, JoinSet};

pub use config::{SendConfig, INGEST_PATH, MAX_BACKOFF};
pub use error::SendError;
pub use post::retry_after;
pub use report::{percentile, SendReport};

use crate::event::SimEvent;
use batch::spawn_producer;
use post::{post_batch, BatchResult, Outcome};

/// Why the run must stop, remembered until in-flight requests finish.
enum Stop {
    Refused { status: u16, body: String },
    Unreachable(reqwest::Error),
    Compression(std::io::Error),
    Worker(String),
}

/// Accumulates batch results into a report.
#[derive(Default)]
struct Tally {
    report: SendReport,
    latencies: Vec<Duration>,
    stop: Option<Stop>,
}

impl Tally {
    fn absorb(&mut self, joined: Result<BatchResult, JoinError>) {
        let result = match joined {
            Ok(result) => result,
            Err(e) => {
                self.stop.get_or_insert(Stop::Worker(e.to_string()));
                return;
            }
        };
        let r = &mut self.report;
        let tries = result.attempts.len() as u64;
        r.requests += tries;
        r.retries += tries.saturating_sub(1);
        r.bytes_sent += result.body_bytes * tries;
        for attempt in &result.attempts {
            self.latencies.push(attempt.latency);
            match attempt.status {
                Some(status) => *r.status_counts.entry(status).or_default() += 1,
                None => r.transport_errors += 1,
            }
        }
        let stop = match result.outcome {
            Outcome::Accepted { accepted, rejected } => {
                r.events_accepted += accepted;
                r.events_rejected += rejected;
                None
            }
            Outcome::Failed => {
                r.events_rejected += result.events;
                None
            }
            Outcome::Refused { status, body } => {
                r.events_rejected += result.events;
                Some(Stop::Refused { status, body })
            }
            Outcome::Unreachable(e) => {
                r.events_rejected += result.events;
                Some(Stop::Unreachable(e))
            }
            Outcome::Compression(e) => {
                r.events_rejected += result.events;
                Some(Stop::Compression(e))
            }
        };
        if let Some(stop) = stop {
            self.stop.get_or_insert(stop);
        }
    }

    fn into_result(mut self, elapsed: Duration, url: String) -> Result<SendReport, SendError> {
        self.report.finish(elapsed, self.latencies);
        let report = Box::new(self.report);
        match self.stop {
            None => Ok(*report),
            Some(Stop::Refused { status, body }) => Err(SendError::Rejected {
                status,
                body,
                report,
            }),
            Some(Stop::Unreachable(source)) => Err(SendError::Unreachable {
                url,
                source,
                report,
            }),
            Some(Stop::Compression(e)) => Err(SendError::Compression(e)),
            Some(Stop::Worker(message)) => Err(SendError::Worker(message)),
        }
    }
}

/// Posts every event of `events` and reports what the server made of them.
///
/// The iterator is consumed on a separate thread; it must be finite (for a [`crate::Simulator`],
/// bound it with `take`), unless the server stops the run with a 4xx answer.
pub async fn send<I>(config: SendConfig, events: I) -> Result<SendReport, SendError>
where
    I: IntoIterator<Item = SimEvent>,
    I::IntoIter: Send + 'static,
{
    config.validate()?;
    let client = Client::builder()
        .timeout(config.request_timeout)
        .build()
        .map_err(SendError::Client)?;
    let url = config.endpoint();
    let (batches_tx, mut batches) = mpsc::channel(config.concurrency * 2);
    let producer = spawn_producer(
        events.into_iter(),
        config.batch_size,
        config.line_format,
        batches_tx,
    )
    .map_err(|e| SendError::Worker(format!("could not start the producer thread: {e}")))?;

    let shared = Arc::new((client, config.clone(), url.clone()));
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let mut in_flight = JoinSet::new();
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut dispatched = 0u64;
    while let Some(batch) = batches.recv().await {
        if let Some(rate) = config.rate {
            let due = started + Duration::from_secs_f64(dispatched as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        while let Some(done) = in_flight.try_join_next() {
            tally.absorb(done);
        }
        if tally.stop.is_some() {
            break;
        }
        dispatched += batch.events;
        tally.report.batches += 1;
        tally.report.events_sent += batch.events;
        let shared = Arc::clone(&shared);
        in_flight.spawn(async move {
            let (client, config, url) = &*shared;
            let result = post_batch(client, config, url, batch).await;
            drop(slot);
            result
        });
    }
    // Dropping the receiver makes the producer thread stop at its next batch.
    drop(batches);
    while let Some(done) = in_flight.join_next().await {
        tally.absorb(done);
    }
    let elapsed = started.elapsed();
    let joined = tokio::task::spawn_blocking(move || producer.join()).await;
    if !matches!(joined, Ok(Ok(()))) && tally.stop.is_none() {
        tally.stop = Some(Stop::Worker(
            "the event producer thread panicked".to_owned(),
        ));
    }
    tally.into_result(elapsed, url)
}
