//! Keeps a subscriber running through hose outages: a subscriber that stops because the hose
//! was unavailable (a RabbitMQ connection lost in the middle of an operation) is opened again
//! and resumes; anything else ends it as before. Its unacknowledged deliveries come back from
//! the hose, so nothing is lost (at least once).

use std::future::Future;
use std::time::Duration;

use eventhose_hose::HoseError;
use eventhose_subscribers::SubscriberError;
use tokio::sync::watch;
use tokio::time::Instant;

/// First pause before a restart; doubled after each quick failure …
const FIRST_PAUSE: Duration = Duration::from_millis(200);
/// … up to this.
const LONGEST_PAUSE: Duration = Duration::from_secs(10);
/// A run at least this long resets the pause.
const STEADY_RUN: Duration = Duration::from_secs(60);

/// Runs `first` with `run`; after a run that failed with [`HoseError::Unavailable`], pauses,
/// makes a new processor with `open` and runs it, until shutdown or another outcome.
pub async fn restarting<P, Open, Opening, Run, Running>(
    name: &'static str,
    mut shutdown: watch::Receiver<bool>,
    first: P,
    mut open: Open,
    mut run: Run,
) -> Result<(), SubscriberError>
where
    Open: FnMut() -> Opening,
    Opening: Future<Output = Result<P, SubscriberError>>,
    Run: FnMut(P) -> Running,
    Running: Future<Output = Result<(), SubscriberError>>,
{
    let mut processor = first;
    let mut pause = FIRST_PAUSE;
    loop {
        let started = Instant::now();
        let why = match run(processor).await {
            Err(SubscriberError::Hose(HoseError::Unavailable(why))) => why,
            other => return other,
        };
        if started.elapsed() >= STEADY_RUN {
            pause = FIRST_PAUSE;
        }
        tracing::warn!(
            subscriber = name,
            reason = %why,
            restart_in = ?pause,
            "subscriber stopped: the hose is unavailable; restarting it"
        );
        tokio::select! {
            _ = stopped(&mut shutdown) => return Ok(()),
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
        processor = open().await?;
    }
}

/// Resolves once `shutdown` is true (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    fn unavailable() -> SubscriberError {
        SubscriberError::Hose(HoseError::Unavailable("broker gone".into()))
    }

    #[tokio::test(start_paused = true)]
    async fn restarts_after_unavailable_and_stops_on_other_outcomes() {
        let (_stop, stopping) = watch::channel(false);
        let opened = Arc::new(AtomicUsize::new(0));
        let runs = Arc::new(AtomicUsize::new(0));
        let (o, r) = (opened.clone(), runs.clone());
        let result = restarting(
            "test",
            stopping,
            0usize,
            move || {
                let o = o.clone();
                async move { Ok(o.fetch_add(1, Ordering::SeqCst) + 1) }
            },
            move |generation| {
                r.fetch_add(1, Ordering::SeqCst);
                async move {
                    match generation {
                        0 | 1 => Err(unavailable()),
                        _ => Err(SubscriberError::BadMessage("bad".into())),
                    }
                }
            },
        )
        .await;
        assert!(matches!(result, Err(SubscriberError::BadMessage(_))));
        assert_eq!(
            opened.load(Ordering::SeqCst),
            2,
            "reopened after each outage"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_during_the_pause_ends_cleanly() {
        let (stop, stopping) = watch::channel(false);
        stop.send_replace(true);
        let opened = Arc::new(AtomicUsize::new(0));
        let o = opened.clone();
        let result = restarting(
            "test",
            stopping,
            (),
            move || {
                o.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            },
            |()| async { Err(unavailable()) },
        )
        .await;
        assert!(result.is_ok());
        assert_eq!(
            opened.load(Ordering::SeqCst),
            0,
            "no restart after shutdown"
        );
    }
}
