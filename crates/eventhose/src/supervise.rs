//! Keeps the subscribers running: a subscriber that stops with an error is reported at once
//! (logged with its cause, down in `/readyz` and in `eventhose_component_up`), then opened again
//! after a pause that doubles with each quick failure, up to a bound
//! (`eventhose_component_restarts_total` counts the restarts). Its unacknowledged deliveries
//! come back from the hose, so nothing is lost (at least once).
//!
//! Errors are sorted: a broken log or a second consumer of the same subscription is permanent
//! (the subscriber stays down, and `/readyz` says why); anything else is retried. A message the
//! subscriber cannot read never gets here: the runner sets it aside as a dead letter and goes
//! on. What does (a message the hose refuses to take back, say) is retried with the same
//! growing pause, the subscriber showing as down meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use eventhose_api::health::Components;
use eventhose_hose::{Hose, HoseError};
use eventhose_subscribers::SubscriberError;
use tokio::sync::watch;
use tokio::time::Instant;

/// First pause before a restart; doubled after each quick failure …
const FIRST_PAUSE: Duration = Duration::from_millis(200);
/// … up to this.
const LONGEST_PAUSE: Duration = Duration::from_secs(10);
/// A run at least this long resets the pause.
const STEADY_RUN: Duration = Duration::from_secs(60);

/// What the subscribers of one process are run under: their shutdown signal, and where they
/// report their health.
#[derive(Clone)]
pub struct Supervision {
    /// Turns true when the subscribers are to stop.
    pub stopping: watch::Receiver<bool>,
    /// Where each subscriber is reported up or down.
    pub components: Arc<Components>,
}

/// How a failure is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    /// Likely to pass (a broker or a store that comes back): restart.
    Transient,
    /// One message that can never be processed and could not be set aside: restart.
    Poison,
    /// Restarting cannot help: stay down.
    Permanent,
}

fn classify(error: &SubscriberError) -> Failure {
    match error {
        SubscriberError::BadMessage { .. } | SubscriberError::Hose(HoseError::TooLarge { .. }) => {
            Failure::Poison
        }
        SubscriberError::Hose(
            HoseError::Corrupt { .. }
            | HoseError::AlreadySubscribed(_)
            | HoseError::UnknownSubscriber(_)
            | HoseError::InvalidName(_)
            | HoseError::InvalidConfig(_),
        ) => Failure::Permanent,
        _ => Failure::Transient,
    }
}

/// Runs `first` with `run`, reporting subscriber `name` up while it runs; after a run that
/// failed with anything but a permanent error, pauses, makes a new processor with `open`
/// (retried the same way until it opens) and runs it, until shutdown.
pub async fn restarting<P, Open, Opening, Run, Running>(
    name: &'static str,
    supervision: Supervision,
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
    let Supervision {
        mut stopping,
        components,
    } = supervision;
    let mut processor = first;
    let mut pause = FIRST_PAUSE;
    loop {
        let started = Instant::now();
        components.up(name);
        let error = match run(processor).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if started.elapsed() >= STEADY_RUN {
            pause = FIRST_PAUSE;
        }
        let failure = classify(&error);
        components.down(name, error.to_string());
        if failure == Failure::Permanent {
            tracing::error!(subscriber = name, error = %error, "subscriber stopped for good");
            return Err(error);
        }
        tracing::error!(
            subscriber = name,
            error = %error,
            kind = ?failure,
            restart_in = ?pause,
            "subscriber stopped; restarting it"
        );
        processor = loop {
            tokio::select! {
                _ = stopped(&mut stopping) => return Ok(()),
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(LONGEST_PAUSE);
            metrics::counter!("eventhose_component_restarts_total", "component" => name)
                .increment(1);
            match open().await {
                Ok(processor) => break processor,
                Err(error) => {
                    components.down(name, error.to_string());
                    tracing::error!(subscriber = name, error = %error, restart_in = ?pause, "cannot reopen the subscriber; trying again");
                }
            }
        };
    }
}

/// How often [`watch_hose`] asks the hose about its storage.
const HOSE_HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// Reports the hose's storage as component `hose` (down while its writes fail or its disk is
/// below the floor, logged when that starts and ends) until shutdown.
pub async fn watch_hose(hose: Arc<dyn Hose>, supervision: Supervision) {
    let Supervision {
        mut stopping,
        components,
    } = supervision;
    let mut ticker = tokio::time::interval(HOSE_HEALTH_INTERVAL);
    let mut failing: Option<String> = None;
    loop {
        tokio::select! {
            _ = stopped(&mut stopping) => return,
            _ = ticker.tick() => {}
        }
        match (hose.health(), failing.as_ref()) {
            (Ok(()), None) => components.up(HOSE_COMPONENT),
            (Ok(()), Some(_)) => {
                tracing::info!("the event hose's storage works again");
                components.up(HOSE_COMPONENT);
                failing = None;
            }
            (Err(reason), last) => {
                if last != Some(&reason) {
                    tracing::error!(reason = %reason, "the event hose's storage is failing; ingest answers 503 meanwhile");
                }
                components.down(HOSE_COMPONENT, reason.clone());
                failing = Some(reason);
            }
        }
    }
}

/// The component name under which the hose's storage is reported.
pub const HOSE_COMPONENT: &str = "hose";

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

    use super::*;

    fn supervision() -> (watch::Sender<bool>, Supervision) {
        let (stop, stopping) = watch::channel(false);
        let components = Arc::new(Components::default());
        (
            stop,
            Supervision {
                stopping,
                components,
            },
        )
    }

    fn unavailable() -> SubscriberError {
        SubscriberError::Hose(HoseError::Unavailable("broker gone".into()))
    }

    #[tokio::test(start_paused = true)]
    async fn restarts_after_any_passing_failure_and_stays_down_after_a_permanent_one() {
        let (_stop, supervision) = supervision();
        let components = supervision.components.clone();
        let opened = Arc::new(AtomicUsize::new(0));
        let runs = Arc::new(AtomicUsize::new(0));
        let (o, r) = (opened.clone(), runs.clone());
        let result = restarting(
            "test",
            supervision,
            0usize,
            move || {
                let o = o.clone();
                async move { Ok(o.fetch_add(1, Ordering::SeqCst) + 1) }
            },
            move |generation| {
                r.fetch_add(1, Ordering::SeqCst);
                async move {
                    Err(match generation {
                        0 => unavailable(),
                        1 => SubscriberError::Io(std::io::Error::other("disk full")),
                        2 => SubscriberError::BadMessage {
                            index: 0,
                            reason: "poison".into(),
                        },
                        _ => SubscriberError::Hose(HoseError::AlreadySubscribed("test".into())),
                    })
                }
            },
        )
        .await;
        assert!(matches!(
            result,
            Err(SubscriberError::Hose(HoseError::AlreadySubscribed(_)))
        ));
        assert_eq!(
            opened.load(Ordering::SeqCst),
            3,
            "reopened after each passing failure"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        let failing = components.failing();
        assert_eq!(failing.len(), 1);
        assert_eq!(failing[0].0, "test");
        assert!(failing[0].1.contains("test"), "{failing:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscriber_is_down_while_it_waits_and_up_once_it_runs_again() {
        let (stop, supervision) = supervision();
        let components = supervision.components.clone();
        let (fail_once, running) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(tokio::sync::Notify::new()),
        );
        let (f, n) = (fail_once.clone(), running.clone());
        let task = tokio::spawn(restarting(
            "metrics",
            supervision,
            (),
            || async { Ok(()) },
            move |()| {
                let (f, n) = (f.clone(), n.clone());
                async move {
                    if f.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Err(SubscriberError::Io(std::io::Error::other("store gone")));
                    }
                    n.notify_one();
                    std::future::pending().await
                }
            },
        ));
        // The first run fails; during the pause the subscriber is down, with the cause.
        while components.failing().is_empty() {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            components.failing(),
            [("metrics".to_owned(), "store gone".to_owned())]
        );
        running.notified().await;
        assert!(components.failing().is_empty(), "up again once it runs");
        stop.send_replace(true);
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_during_the_pause_ends_cleanly() {
        let (stop, supervision) = supervision();
        stop.send_replace(true);
        let opened = Arc::new(AtomicUsize::new(0));
        let o = opened.clone();
        let result = restarting(
            "test",
            supervision,
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
