//! The listener that carries changes between processes: one connection per store that
//! `LISTEN`s on [`WEBHOOK_CHANGES`] and [`ERASURES`] and moves the store's counter of each on
//! every notification.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel every webhook change is notified on, inside the transaction that makes it.
pub const WEBHOOK_CHANGES: &str = "eventhose_webhooks";

/// The channel every recorded erasure is notified on, inside its transaction.
pub const ERASURES: &str = "eventhose_erasures";

/// The counters the listener moves, one per channel.
pub(super) struct Counters {
    pub(super) webhooks: watch::Receiver<u64>,
    pub(super) erasures: watch::Receiver<u64>,
}

/// The senders behind [`Counters`].
#[derive(Clone)]
struct Senders {
    webhooks: watch::Sender<u64>,
    erasures: watch::Sender<u64>,
}

impl Senders {
    fn bump_all(&self) {
        bump(&self.webhooks);
        bump(&self.erasures);
    }

    fn is_closed(&self) -> bool {
        self.webhooks.is_closed() && self.erasures.is_closed()
    }
}

/// The longest wait between two attempts to reconnect the listener.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Starts the listener on `runtime`; the counters it moves are returned. It reconnects with
/// backoff for as long as the runtime runs, and moves every counter after each reconnection,
/// since changes may have been missed while it was away.
pub(super) fn spawn(
    runtime: &tokio::runtime::Runtime,
    config: tokio_postgres::Config,
    connect_timeout: Duration,
) -> Counters {
    let (webhooks, webhooks_watched) = watch::channel(0u64);
    let (erasures, erasures_watched) = watch::channel(0u64);
    let changes = Senders { webhooks, erasures };
    runtime.spawn(async move {
        let mut backoff = Duration::from_millis(100);
        let mut connected_before = false;
        loop {
            match listen(&config, connect_timeout, &changes, connected_before).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => tracing::warn!(error = %e, "the state change listener disconnected"),
            }
            connected_before = true;
            if changes.is_closed() {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
    Counters {
        webhooks: webhooks_watched,
        erasures: erasures_watched,
    }
}

fn bump(changes: &watch::Sender<u64>) {
    changes.send_modify(|count| *count = count.wrapping_add(1));
}

/// One connection's life: listen, then move a counter on each notification until the
/// connection ends.
async fn listen(
    config: &tokio_postgres::Config,
    connect_timeout: Duration,
    changes: &Senders,
    reconnected: bool,
) -> Result<(), tokio_postgres::Error> {
    let mut config = config.clone();
    config.connect_timeout(connect_timeout);
    let (client, mut connection) = config.connect(NoTls).await?;
    let notified = changes.clone();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => match notification.channel() {
                    ERASURES => bump(&notified.erasures),
                    _ => bump(&notified.webhooks),
                },
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client
        .batch_execute(&format!("LISTEN {WEBHOOK_CHANGES}; LISTEN {ERASURES}"))
        .await?;
    if reconnected {
        changes.bump_all();
    }
    let ended = driver.await;
    drop(client);
    match ended {
        Ok(result) => result,
        // The driver task was cancelled: the runtime is shutting down.
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::erasures::{ErasureStore, Tombstones};
    use crate::postgres::{PostgresOptions, PostgresState};
    use crate::testing::TestDatabase;

    /// Waits (10 s at most) until `count` sessions on `state`'s database listen on
    /// [`WEBHOOK_CHANGES`] and [`ERASURES`]: a notification sent before a listener listens is not delivered
    /// to it.
    pub(crate) fn wait_for_listeners(state: &PostgresState, count: i64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listening: i64 = state
                .run(|pool| async move {
                    let client = pool.get().await?;
                    let row = client
                        .query_one(
                            "SELECT COUNT(*) FROM pg_stat_activity
                             WHERE datname = current_database() AND state = 'idle'
                                 AND query = $1",
                            &[&format!("LISTEN {WEBHOOK_CHANGES}; LISTEN {ERASURES}")],
                        )
                        .await?;
                    Ok(row.try_get(0)?)
                })
                .unwrap();
            if listening >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the stores' listeners did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn an_erasure_reaches_the_tombstones_of_the_other_stores() {
        let db = TestDatabase::create();
        let options = PostgresOptions::default();
        let (eraser, other) = (
            PostgresState::open(db.url(), &options).unwrap(),
            PostgresState::open(db.url(), &options).unwrap(),
        );
        let tombstones = Tombstones::load(&other).unwrap();
        let mut erasures = other.erasure_changes();
        wait_for_listeners(&eraser, 2);
        eraser.record_erasure("ann@example.com", 100).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(5), erasures.changed()).await
            })
            .expect("the erasure reached the other store")
            .unwrap();
        assert!(!tombstones.erased("ann@example.com", 100));
        assert_eq!(tombstones.refresh(&other).unwrap(), 1);
        assert!(tombstones.erased("ann@example.com", 100));
        assert_eq!(tombstones.refresh(&other).unwrap(), 0, "nothing new");
    }
}
