//! The listener that carries webhook changes between processes: one connection per store
//! that `LISTEN`s on [`WEBHOOK_CHANGES`] and moves the store's change counter on every
//! notification.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel every webhook change is notified on, inside the transaction that makes it.
pub const WEBHOOK_CHANGES: &str = "eventhose_webhooks";

/// The longest wait between two attempts to reconnect the listener.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Starts the listener on `runtime`; the counter it moves is returned. It reconnects with
/// backoff for as long as the runtime runs, and moves the counter after each reconnection,
/// since changes may have been missed while it was away.
pub(super) fn spawn(
    runtime: &tokio::runtime::Runtime,
    config: tokio_postgres::Config,
    connect_timeout: Duration,
) -> watch::Receiver<u64> {
    let (changes, watched) = watch::channel(0u64);
    runtime.spawn(async move {
        let mut backoff = Duration::from_millis(100);
        let mut connected_before = false;
        loop {
            match listen(&config, connect_timeout, &changes, connected_before).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => tracing::warn!(error = %e, "webhook change listener disconnected"),
            }
            connected_before = true;
            if changes.is_closed() {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
    watched
}

fn bump(changes: &watch::Sender<u64>) {
    changes.send_modify(|count| *count = count.wrapping_add(1));
}

/// One connection's life: listen, then move the counter on each notification until the
/// connection ends.
async fn listen(
    config: &tokio_postgres::Config,
    connect_timeout: Duration,
    changes: &watch::Sender<u64>,
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
                Ok(AsyncMessage::Notification(_)) => bump(&notified),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client
        .batch_execute(&format!("LISTEN {WEBHOOK_CHANGES}"))
        .await?;
    if reconnected {
        bump(changes);
    }
    let ended = driver.await;
    drop(client);
    match ended {
        Ok(result) => result,
        // The driver task was cancelled: the runtime is shutting down.
        Err(_) => Ok(()),
    }
}
