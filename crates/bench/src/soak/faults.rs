//! The faults of a soak, at fixed shares of the run: the webhook receiver down (connections
//! refused) from 20 % for a tenth of the run (at most [`MAX_RECEIVER_OUTAGE`]); the server
//! killed with SIGKILL at 45 % and started again at once on the same data directory; on
//! RabbitMQ, the broker stopped at 70 % and started again after `--broker-outage`.
//! The 500s of the receiver run all along (`--fail-every`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokio::sync::watch;

use super::Hose;
use crate::server::BenchServer;
use crate::webhooks::receiver::Receiver;

/// The longest the receiver is down; the run's retry schedule outlasts it.
pub const MAX_RECEIVER_OUTAGE: Duration = Duration::from_secs(180);

/// Where the running server answers, and its process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its process id.
    pub pid: u32,
}

/// The server of the run, restarted in place; [`endpoint`](Self::endpoint) says where it is
/// (`None` while it is down).
pub struct ServerSlot {
    eventhose: PathBuf,
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
    server: Mutex<Option<BenchServer>>,
    endpoint: watch::Sender<Option<Endpoint>>,
}

impl ServerSlot {
    /// Starts `eventhose serve` over `dir` with `env`.
    pub async fn start(
        eventhose: &Path,
        dir: &Path,
        env: Vec<(&'static str, String)>,
    ) -> anyhow::Result<Self> {
        let slot = Self {
            eventhose: eventhose.to_path_buf(),
            dir: dir.to_path_buf(),
            env,
            server: Mutex::new(None),
            endpoint: watch::channel(None).0,
        };
        slot.launch().await?;
        Ok(slot)
    }

    /// Follows where the server is.
    pub fn endpoint(&self) -> watch::Receiver<Option<Endpoint>> {
        self.endpoint.subscribe()
    }

    /// Starts the server and publishes its endpoint once it listens.
    async fn launch(&self) -> anyhow::Result<()> {
        let (eventhose, dir, env) = (self.eventhose.clone(), self.dir.clone(), self.env.clone());
        let server = tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.clone())).collect();
            BenchServer::start(&eventhose, &dir, &env)
        })
        .await??;
        let endpoint = Endpoint {
            base: server.base.clone(),
            pid: server.pid(),
        };
        *self.lock() = Some(server);
        self.endpoint.send_replace(Some(endpoint));
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<BenchServer>> {
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// SIGKILL, then a new server on the same data directory; returns how long it was down.
    pub async fn kill_and_restart(&self) -> anyhow::Result<Duration> {
        let killed = Instant::now();
        self.endpoint.send_replace(None);
        let server = self.lock().take().context("no server to kill")?;
        tokio::task::spawn_blocking(move || server.kill9()).await??;
        self.launch()
            .await
            .context("the server did not start again after SIGKILL")?;
        Ok(killed.elapsed())
    }

    /// SIGTERM, and waits for the exit.
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.endpoint.send_replace(None);
        let server = self.lock().take();
        if let Some(server) = server {
            tokio::task::spawn_blocking(move || server.stop()).await??;
        }
        Ok(())
    }
}

/// One fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The receiver closes its listener.
    ReceiverDown,
    /// The receiver listens again.
    ReceiverUp,
    /// SIGKILL to the server, and a new one on the same data directory.
    KillServer,
    /// `rabbitmqctl stop_app`.
    BrokerStop,
    /// `rabbitmqctl start_app`, until the broker has started.
    BrokerStart,
}

impl Fault {
    /// What the reports call it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ReceiverDown => "webhook receiver down",
            Self::ReceiverUp => "webhook receiver back",
            Self::KillServer => "server killed (SIGKILL) and restarted",
            Self::BrokerStop => "broker stopped",
            Self::BrokerStart => "broker started",
        }
    }
}

/// A fault as it happened.
#[derive(Clone, Debug, Serialize)]
pub struct Happened {
    /// Seconds from the start of the run.
    pub at: f64,
    /// [`Fault::name`].
    pub what: &'static str,
    /// Seconds it took (for a restart: from the kill until the new server listened).
    pub took: f64,
}

/// When each fault of a run of `duration` on `hose` happens, in order.
pub fn plan(duration: Duration, hose: Hose, broker_outage: Duration) -> Vec<(Duration, Fault)> {
    let share = |p: f64| duration.mul_f64(p);
    let outage = (duration / 10).min(MAX_RECEIVER_OUTAGE);
    let mut plan = vec![
        (share(0.20), Fault::ReceiverDown),
        (share(0.20) + outage, Fault::ReceiverUp),
        (share(0.45), Fault::KillServer),
    ];
    if hose == Hose::Amqp {
        plan.extend([
            (share(0.70), Fault::BrokerStop),
            (share(0.70) + broker_outage, Fault::BrokerStart),
        ]);
    }
    plan.sort_by_key(|(at, _)| *at);
    plan
}

/// Carries out `plan` from `start`; returns what happened.
pub async fn run(
    plan: Vec<(Duration, Fault)>,
    start: Instant,
    server: Arc<ServerSlot>,
    receiver: Arc<Receiver>,
) -> anyhow::Result<Vec<Happened>> {
    let mut happened = Vec::new();
    let mut broker: Option<StoppedBroker> = None;
    for (at, fault) in plan {
        // The schedule of the faults, not a wait for anything.
        tokio::time::sleep_until((start + at).into()).await;
        let began = Instant::now();
        let took = match fault {
            Fault::ReceiverDown => {
                receiver.go_down().await;
                began.elapsed()
            }
            Fault::ReceiverUp => {
                receiver
                    .come_back()
                    .await
                    .context("the receiver cannot listen again")?;
                began.elapsed()
            }
            Fault::KillServer => server.kill_and_restart().await?,
            Fault::BrokerStop => {
                broker = Some(tokio::task::spawn_blocking(StoppedBroker::stop).await??);
                began.elapsed()
            }
            Fault::BrokerStart => {
                if let Some(stopped) = broker.take() {
                    tokio::task::spawn_blocking(move || stopped.start()).await??;
                }
                began.elapsed()
            }
        };
        eprintln!(
            "{:>7.1} s: {} ({:.1} s)",
            began.duration_since(start).as_secs_f64(),
            fault.name(),
            took.as_secs_f64()
        );
        happened.push(Happened {
            at: began.duration_since(start).as_secs_f64(),
            what: fault.name(),
            took: took.as_secs_f64(),
        });
    }
    Ok(happened)
}

/// The local broker, stopped; started again by [`start`](Self::start) or, should the run fail
/// first, when dropped.
struct StoppedBroker {
    started: bool,
}

impl StoppedBroker {
    fn stop() -> anyhow::Result<Self> {
        rabbitmqctl(&["stop_app"])?;
        Ok(Self { started: false })
    }

    fn start(mut self) -> anyhow::Result<()> {
        self.started = true;
        rabbitmqctl(&["start_app"])?;
        rabbitmqctl(&["await_startup"])
    }
}

impl Drop for StoppedBroker {
    fn drop(&mut self) {
        if !self.started {
            if let Err(e) = rabbitmqctl(&["start_app"]) {
                eprintln!("cannot start the broker again: {e:#}");
            }
        }
    }
}

/// Runs `rabbitmqctl --quiet ARGS`; fails with its error output.
fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("rabbitmqctl")
        .arg("--quiet")
        .args(args)
        .output()
        .context("cannot run rabbitmqctl")?;
    anyhow::ensure!(
        output.status.success(),
        "rabbitmqctl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_come_at_their_shares_of_the_run() {
        let minute = Duration::from_secs(60);
        let embedded: Vec<(u64, Fault)> = plan(minute, Hose::Embedded, Duration::from_secs(5))
            .into_iter()
            .map(|(at, f)| (at.as_secs(), f))
            .collect();
        assert_eq!(
            embedded,
            [
                (12, Fault::ReceiverDown),
                (18, Fault::ReceiverUp),
                (27, Fault::KillServer)
            ]
        );
        let amqp = plan(minute * 60, Hose::Amqp, Duration::from_secs(10));
        let outage = amqp[1].0 - amqp[0].0;
        assert_eq!(outage, MAX_RECEIVER_OUTAGE, "capped for long runs");
        let broker: Vec<_> = amqp[3..].iter().map(|(at, f)| (at.as_secs(), *f)).collect();
        assert_eq!(
            broker,
            [(2520, Fault::BrokerStop), (2530, Fault::BrokerStart)]
        );
    }
}
