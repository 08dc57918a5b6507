//! Sends the plan's requests to the ingest API, unpaced or on a schedule, and notes when each
//! was answered 200 (the moment its events became durable).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use eventhose_simulator::sender::retry_after;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;

/// How often one request is retried while the server answers 429 or 503.
const MAX_THROTTLED_TRIES: u32 = 1_000;

/// The pause after a 429/503 without `Retry-After`.
const DEFAULT_THROTTLE_PAUSE: Duration = Duration::from_millis(100);

/// Where and how to send.
#[derive(Clone, Debug)]
pub struct FeedConfig {
    /// The ingest endpoint.
    pub url: String,
    /// API key with the `events/ingest` grant.
    pub key: String,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Time between the starts of consecutive requests; `None` sends as fast as answered.
    pub spacing: Option<Duration>,
}

/// What happened while sending.
#[derive(Debug)]
pub struct Feed {
    /// When the first request was sent.
    pub started: Instant,
    /// When each request was answered 200, by request index.
    pub acks: Vec<Instant>,
    /// Answers 429/503 that were waited out and retried.
    pub throttled: u64,
}

impl Feed {
    /// When the last request was answered 200.
    pub fn finished(&self) -> Instant {
        self.acks.iter().copied().max().unwrap_or(self.started)
    }
}

/// Sends every body in order (each once, unless throttled) and returns when all are accepted;
/// any other answer fails the run.
pub async fn feed(
    client: reqwest::Client,
    config: FeedConfig,
    bodies: Arc<Vec<Bytes>>,
) -> anyhow::Result<Feed> {
    let config = Arc::new(config);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..config.concurrency.max(1) {
        let (client, config, bodies, next) =
            (client.clone(), config.clone(), bodies.clone(), next.clone());
        workers.spawn(async move {
            let mut acks = Vec::new();
            let mut throttled = 0;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else {
                    return Ok::<_, anyhow::Error>((acks, throttled));
                };
                if let Some(spacing) = config.spacing {
                    let slot = u32::try_from(index).unwrap_or(u32::MAX);
                    let due = started + spacing.saturating_mul(slot);
                    tokio::time::sleep_until(due.into()).await;
                }
                let (acked, retries) = post_until_accepted(&client, &config, body).await?;
                acks.push((index, acked));
                throttled += retries;
            }
        });
    }
    let mut acks = vec![started; bodies.len()];
    let mut throttled = 0;
    while let Some(result) = workers.join_next().await {
        let (done, retries) = result??;
        for (index, acked) in done {
            acks[index] = acked;
        }
        throttled += retries;
    }
    Ok(Feed {
        started,
        acks,
        throttled,
    })
}

/// Posts one body until it is answered 200; returns when, and how many throttled tries it took.
async fn post_until_accepted(
    client: &reqwest::Client,
    config: &FeedConfig,
    body: &Bytes,
) -> anyhow::Result<(Instant, u64)> {
    for tries in 0..MAX_THROTTLED_TRIES {
        let response = client
            .post(&config.url)
            .header(AUTHORIZATION, &config.key)
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(body.clone())
            .send()
            .await?;
        let answered = Instant::now();
        let status = response.status();
        let pause = retry_after(response.headers());
        // Read the (small) answer so the connection goes back to the pool.
        let text = response.text().await.unwrap_or_default();
        match status {
            StatusCode::OK => return Ok((answered, u64::from(tries))),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                tokio::time::sleep(pause.unwrap_or(DEFAULT_THROTTLE_PAUSE)).await;
            }
            _ => anyhow::bail!("ingest answered {status}: {text}"),
        }
    }
    anyhow::bail!("ingest kept throttling after {MAX_THROTTLED_TRIES} tries")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::post;
    use axum::Router;

    use super::*;

    /// A stand-in ingest endpoint: throttles the first `throttle` requests (Retry-After: 0),
    /// then accepts; notes every body it accepted and when.
    #[derive(Default)]
    struct FakeIngest {
        throttle: AtomicUsize,
        accepted: Mutex<Vec<(Bytes, Instant)>>,
    }

    async fn start(fake: Arc<FakeIngest>) -> String {
        let app = Router::new()
            .route(
                "/ingest",
                post(
                    |State(fake): State<Arc<FakeIngest>>, headers: HeaderMap, body: Bytes| async move {
                        assert_eq!(headers["authorization"], "k");
                        let throttled = fake
                            .throttle
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        if throttled {
                            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")]).into_response();
                        }
                        fake.accepted.lock().unwrap().push((body, Instant::now()));
                        StatusCode::OK.into_response()
                    },
                ),
            )
            .with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ingest", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn bodies(n: usize) -> Arc<Vec<Bytes>> {
        Arc::new((0..n).map(|i| Bytes::from(format!("body {i}"))).collect())
    }

    #[tokio::test]
    async fn every_body_is_accepted_once_and_throttling_is_waited_out() {
        let fake = Arc::new(FakeIngest::default());
        fake.throttle.store(3, Ordering::SeqCst);
        let url = start(fake.clone()).await;
        let config = FeedConfig {
            url,
            key: "k".into(),
            concurrency: 4,
            spacing: None,
        };
        let feed = feed(reqwest::Client::new(), config, bodies(20))
            .await
            .unwrap();
        assert_eq!(feed.throttled, 3);
        assert_eq!(feed.acks.len(), 20);
        let mut accepted: Vec<Bytes> = fake
            .accepted
            .lock()
            .unwrap()
            .iter()
            .map(|(b, _)| b.clone())
            .collect();
        accepted.sort();
        let mut expected: Vec<Bytes> = bodies(20).to_vec();
        expected.sort();
        assert_eq!(accepted, expected);
        for (body, at) in fake.accepted.lock().unwrap().iter() {
            let index: usize = std::str::from_utf8(&body[5..]).unwrap().parse().unwrap();
            assert!(feed.acks[index] >= *at, "ack {index} noted before it came");
            assert!(feed.acks[index] >= feed.started);
        }
        assert_eq!(feed.finished(), *feed.acks.iter().max().unwrap());
    }

    #[tokio::test]
    async fn paced_requests_start_no_earlier_than_their_slot() {
        let fake = Arc::new(FakeIngest::default());
        let url = start(fake.clone()).await;
        let spacing = Duration::from_millis(20);
        let config = FeedConfig {
            url,
            key: "k".into(),
            concurrency: 2,
            spacing: Some(spacing),
        };
        let feed = feed(reqwest::Client::new(), config, bodies(5))
            .await
            .unwrap();
        for (index, acked) in feed.acks.iter().enumerate() {
            assert!(
                *acked >= feed.started + spacing * u32::try_from(index).unwrap(),
                "request {index} went out before its slot"
            );
        }
    }

    #[tokio::test]
    async fn a_refusal_fails_the_feed() {
        let app = Router::new().route("/ingest", post(|| async { StatusCode::BAD_REQUEST }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ingest", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let config = FeedConfig {
            url,
            key: "k".into(),
            concurrency: 1,
            spacing: None,
        };
        let err = feed(reqwest::Client::new(), config, bodies(2))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("400"), "{err}");
    }
}
