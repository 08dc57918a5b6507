//! The webhook receiver on loopback: one listener, one path per webhook (`/hook/{n}`). It
//! answers 200 — at once, or after a pause for the webhooks set to be slow — and notes, per
//! POST, when it arrived and which events it carried. For the soak it can also fail a share of
//! the POSTs (500, not noted) and be down for a while (its listener closed: connections are
//! refused), then come back on the same address.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::plan::event_ids;

/// The largest POST taken (the engine's batches are bounded by `batch_max_bytes`, 1 MiB by default).
const MAX_BODY_BYTES: usize = 64 << 20;

/// How long going down waits for the POSTs being answered before it cuts them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often coming back tries to bind the address again (a closed socket may linger).
const REBIND_TRIES: u32 = 100;

/// One POST, as the receiver got it.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    /// Which webhook's path it came to.
    pub webhook: usize,
    /// When its body had been read.
    pub at: Instant,
    /// The `event_id`s it carried, in order.
    pub event_ids: Vec<u64>,
}

/// Webhooks whose POSTs are answered late.
#[derive(Clone, Copy, Debug, Default)]
pub struct Slow {
    /// Webhooks `0..webhooks` are slow.
    pub webhooks: usize,
    /// How long each of their POSTs waits for its 200.
    pub pause: Duration,
}

/// What the handler shares with the bench.
struct Shared {
    arrivals: Mutex<Vec<Arrival>>,
    /// Events that reached the webhooks that are not slow.
    events: watch::Sender<u64>,
    slow: Slow,
    /// Every `fail_every`-th POST that carries events is answered 500 (0: none is).
    fail_every: u64,
    /// POSTs that carried events, answered 200 or not.
    posts: AtomicU64,
    /// Of those, the ones answered 500 on purpose.
    failed: AtomicU64,
}

/// The serving task and the switch that stops it.
struct Serving {
    task: JoinHandle<()>,
    stop: oneshot::Sender<()>,
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    app: Router,
    serving: Mutex<Option<Serving>>,
}

/// How waiting for deliveries ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Every expected event arrived.
    Complete,
    /// Nothing arrived for the stall timeout.
    Stalled,
    /// The deadline passed.
    TimedOut,
}

impl Receiver {
    /// Binds 127.0.0.1 on a free port and starts answering, late for the `slow` webhooks.
    pub async fn start(slow: Slow) -> std::io::Result<Self> {
        Self::start_with(slow, 0).await
    }

    /// [`start`](Self::start) that also answers every `fail_every`-th POST carrying events
    /// with a 500 (0: never), without noting it as an arrival.
    pub async fn start_with(slow: Slow, fail_every: u64) -> std::io::Result<Self> {
        let (events, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            arrivals: Mutex::new(Vec::new()),
            events,
            slow,
            fail_every,
            posts: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/hook/{webhook}", post(receive))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let serving = serve(listener, app.clone());
        Ok(Self {
            addr,
            shared,
            app,
            serving: Mutex::new(Some(serving)),
        })
    }

    /// The target URL of webhook number `webhook`.
    pub fn url(&self, webhook: usize) -> String {
        format!("http://{}/hook/{webhook}", self.addr)
    }

    /// Closes the listener and the open connections (after the POSTs being answered, for at
    /// most [`SHUTDOWN_GRACE`]): until [`come_back`](Self::come_back), connections are refused.
    pub async fn go_down(&self) {
        let serving = self
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(Serving { mut task, stop }) = serving {
            let _ = stop.send(());
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    /// Listens on the same address again.
    pub async fn come_back(&self) -> std::io::Result<()> {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(_) if tries < REBIND_TRIES => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let serving = serve(listener, self.app.clone());
        let old = self
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(serving);
        if let Some(old) = old {
            old.task.abort();
        }
        Ok(())
    }

    /// POSTs that carried events so far, and how many of them were answered 500 on purpose.
    pub fn posts(&self) -> (u64, u64) {
        (
            self.shared.posts.load(Ordering::Relaxed),
            self.shared.failed.load(Ordering::Relaxed),
        )
    }

    /// Waits until `expected` events have arrived at the webhooks that are not slow, nothing
    /// has arrived there for `stall`, or `deadline` passes.
    pub async fn wait_for(&self, expected: u64, stall: Duration, deadline: Instant) -> Wait {
        let mut events = self.shared.events.subscribe();
        loop {
            if *events.borrow_and_update() >= expected {
                return Wait::Complete;
            }
            let now = Instant::now();
            if now >= deadline {
                return Wait::TimedOut;
            }
            let (until, ending) = if now + stall < deadline {
                (now + stall, Wait::Stalled)
            } else {
                (deadline, Wait::TimedOut)
            };
            match tokio::time::timeout_at(until.into(), events.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return ending,
            }
        }
    }

    /// Everything received so far, in arrival order; the log is left empty.
    pub fn take_arrivals(&self) -> Vec<Arrival> {
        let mut arrivals = self
            .shared
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *arrivals)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let serving = self
            .serving
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(serving) = serving {
            serving.task.abort();
        }
    }
}

/// Serves `app` on `listener` until the returned switch is thrown (then gracefully).
fn serve(listener: tokio::net::TcpListener, app: Router) -> Serving {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            eprintln!("webhook receiver stopped: {e}");
        }
    });
    Serving { task, stop }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(webhook): Path<usize>,
    body: Bytes,
) -> StatusCode {
    let slow = webhook < shared.slow.webhooks;
    if slow {
        tokio::time::sleep(shared.slow.pause).await;
    }
    let at = Instant::now();
    let ids: Vec<u64> = event_ids(&body).collect();
    let count = ids.len() as u64;
    if count > 0 {
        let post = shared.posts.fetch_add(1, Ordering::Relaxed);
        if shared.fail_every > 0 && post % shared.fail_every == shared.fail_every - 1 {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    shared
        .arrivals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arrival {
            webhook,
            at,
            event_ids: ids,
        });
    if count > 0 && !slow {
        shared.events.send_modify(|events| *events += count);
    }
    StatusCode::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(client: &reqwest::Client, url: &str, body: &'static str) {
        let response = client.post(url).body(body).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    #[tokio::test]
    async fn arrivals_are_noted_per_webhook_and_waiting_ends_when_all_came() {
        let receiver = Receiver::start(Slow::default()).await.unwrap();
        let client = reqwest::Client::new();
        post(&client, &receiver.url(0), r#"[{"msys":{}}]"#).await;
        post(
            &client,
            &receiver.url(3),
            r#"[{"msys":{"message_event":{"event_id":"11"}}},{"msys":{"track_event":{"event_id":"12"}}}]"#,
        )
        .await;
        let waiting = receiver.wait_for(
            3,
            Duration::from_secs(30),
            Instant::now() + Duration::from_secs(60),
        );
        let last_url = receiver.url(1);
        let sending = post(
            &client,
            &last_url,
            r#"[{"msys":{"message_event":{"event_id":"11"}}}]"#,
        );
        let (wait, ()) = tokio::join!(waiting, sending);
        assert_eq!(wait, Wait::Complete);
        let arrivals = receiver.take_arrivals();
        let summary: Vec<(usize, Vec<u64>)> = arrivals
            .iter()
            .map(|a| (a.webhook, a.event_ids.clone()))
            .collect();
        assert_eq!(summary, [(0, vec![]), (3, vec![11, 12]), (1, vec![11])]);
        assert!(arrivals[1].at <= arrivals[2].at);
        assert!(receiver.take_arrivals().is_empty());
    }

    #[tokio::test]
    async fn waiting_gives_up_on_a_stall_or_a_passed_deadline() {
        let receiver = Receiver::start(Slow::default()).await.unwrap();
        let stall = Duration::from_millis(50);
        let far = Instant::now() + Duration::from_secs(60);
        assert_eq!(receiver.wait_for(1, stall, far).await, Wait::Stalled);
        assert_eq!(
            receiver
                .wait_for(1, Duration::from_secs(60), Instant::now())
                .await,
            Wait::TimedOut
        );
        assert_eq!(receiver.wait_for(0, stall, far).await, Wait::Complete);
    }

    #[tokio::test]
    async fn every_nth_post_with_events_fails_and_is_not_noted() {
        let receiver = Receiver::start_with(Slow::default(), 3).await.unwrap();
        let client = reqwest::Client::new();
        let one = r#"[{"msys":{"message_event":{"event_id":"1"}}}]"#;
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let response = client.post(receiver.url(0)).body(one).send().await.unwrap();
            statuses.push(response.status().as_u16());
        }
        post(&client, &receiver.url(0), r#"[{"msys":{}}]"#).await;
        assert_eq!(statuses, [200, 200, 500, 200, 200, 500]);
        assert_eq!(receiver.posts(), (6, 2), "the ping is no batch");
        assert_eq!(receiver.take_arrivals().len(), 5, "4 batches and the ping");
    }

    #[tokio::test]
    async fn a_receiver_that_is_down_refuses_connections_until_it_comes_back() {
        let receiver = Receiver::start(Slow::default()).await.unwrap();
        let client = reqwest::Client::new();
        let body = r#"[{"msys":{"message_event":{"event_id":"5"}}}]"#;
        post(&client, &receiver.url(0), body).await;
        receiver.go_down().await;
        // A new client: a pooled connection closed by the shutdown fails otherwise.
        let refused = reqwest::Client::new()
            .post(receiver.url(0))
            .body(body)
            .send()
            .await;
        assert!(refused.unwrap_err().is_connect());
        receiver.come_back().await.unwrap();
        post(&client, &receiver.url(0), body).await;
        let ids: Vec<Vec<u64>> = receiver
            .take_arrivals()
            .into_iter()
            .map(|a| a.event_ids)
            .collect();
        assert_eq!(ids, [vec![5], vec![5]]);
    }

    #[tokio::test]
    async fn a_path_that_is_not_a_webhook_number_is_refused() {
        let receiver = Receiver::start(Slow::default()).await.unwrap();
        let url = receiver.url(0).replace("/hook/0", "/hook/x");
        let response = reqwest::Client::new()
            .post(url)
            .body("[]")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert!(receiver.take_arrivals().is_empty());
    }
}
