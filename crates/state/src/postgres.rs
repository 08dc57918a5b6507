//! The PostgreSQL backend of the state store, chosen with `state = "postgres://…"`: what
//! several eventhose processes share (API keys, webhooks and their batches, suppression lists,
//! erasure tombstones, applied-event identities, idempotent answers).
//!
//! The store traits are synchronous, as SQLite is; here each call runs as a task on the
//! store's own small runtime and the caller waits for its answer. That keeps the calls
//! usable from any thread — a blocking task, the CLI, a test — without nesting runtimes.
//! Connections come from a pool; every statement is prepared once per connection and cached.
//!
//! Migrations are versioned like SQLite's (`eventhose_schema` holds the count applied) and run
//! in one transaction under an advisory lock, so processes starting together apply each once.
//!
//! Every change to a webhook notifies the channel [`WEBHOOK_CHANGES`] inside its transaction,
//! and every erasure [`ERASURES`]; each store listens on both, so a webhook created or edited
//! through any process reaches the webhook engines of all of them
//! ([`PostgresState::webhook_changes`]), and an erasure their tombstones
//! ([`PostgresState::erasure_changes`]).

mod applied;
mod erasures;
mod idempotency;
mod keys;
mod listener;
mod migrations;
mod suppressions;
mod webhooks;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::watch;
use tokio_postgres::NoTls;

use crate::crypto::{EncryptionKey, Sealer};
use crate::StateError;

pub use listener::{ERASURES, WEBHOOK_CHANGES};

/// How the PostgreSQL store connects.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Connections kept in the pool, at most.
    pub max_connections: usize,
    /// How long a call waits for a free connection (or a new one) before failing.
    pub connect_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The state store on PostgreSQL; see the module documentation.
pub struct PostgresState {
    /// Runs the connections and every call; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// Shared with the tasks that seal and open inside a transaction.
    sealer: Option<Arc<Sealer>>,
    /// The counters of the webhooks' changes and of the erasures, moved by the listener.
    changes: listener::Counters,
}

impl PostgresState {
    /// Connects to the database at `url` (a libpq-style URL or key=value string) and brings
    /// its schema up to date. Without an encryption key, webhook operations fail with
    /// [`StateError::NoEncryptionKey`]; see [`open_with_key`](Self::open_with_key).
    pub fn open(url: &str, options: &PostgresOptions) -> Result<Self, StateError> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StateError::Invalid(format!("state: not a PostgreSQL URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("state-postgres")
            .enable_all()
            .build()?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _entered = runtime.enter();
            Pool::builder(manager)
                .max_size(options.max_connections.max(1))
                .wait_timeout(Some(options.connect_timeout))
                .create_timeout(Some(options.connect_timeout))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(|e| StateError::Invalid(format!("state: connection pool: {e}")))?
        };
        let migrating = pool.clone();
        wait_on(
            &runtime,
            async move { migrations::migrate(&migrating).await },
        )?;
        let changes = listener::spawn(&runtime, config, options.connect_timeout);
        Ok(Self {
            runtime: Some(runtime),
            pool,
            sealer: None,
            changes,
        })
    }

    /// Opens the store like [`open`](Self::open), with the key that encrypts the secrets
    /// stored with webhooks. Fails with [`StateError::WrongKey`] when the database's secrets
    /// were sealed with another key.
    pub fn open_with_key(
        url: &str,
        options: &PostgresOptions,
        key: &EncryptionKey,
    ) -> Result<Self, StateError> {
        let mut state = Self::open(url, options)?;
        let sealer = Sealer::new(key);
        let check = sealer.seal(crate::KEY_CHECK, b"key_check")?;
        let stored = state.run(move |pool| async move {
            let client = pool.get().await?;
            client
                .execute(
                    "INSERT INTO state_meta (name, value) VALUES ('key_check', $1)
                     ON CONFLICT (name) DO NOTHING",
                    &[&check],
                )
                .await?;
            let row = client
                .query_one("SELECT value FROM state_meta WHERE name = 'key_check'", &[])
                .await?;
            Ok(row.try_get::<_, Vec<u8>>(0)?)
        })?;
        crate::verify_key_check(&sealer, &stored)?;
        state.sealer = Some(Arc::new(sealer));
        Ok(state)
    }

    /// The webhooks' change counter: it moves whenever any process sharing the database
    /// changes a webhook (and once after each reconnection of the listener, when changes may
    /// have been missed).
    pub fn webhook_changes(&self) -> watch::Receiver<u64> {
        self.changes.webhooks.clone()
    }

    /// A counter that moves whenever any process sharing the database records an erasure
    /// (and after each reconnection of the listener).
    pub fn erasure_changes(&self) -> watch::Receiver<u64> {
        self.changes.erasures.clone()
    }

    /// The sealer, or [`StateError::NoEncryptionKey`].
    fn sealer(&self) -> Result<&Arc<Sealer>, StateError> {
        self.sealer.as_ref().ok_or(StateError::NoEncryptionKey)
    }

    /// Runs `work` on the store's runtime with the pool, and waits for its result.
    fn run<T, W, F>(&self, work: W) -> Result<T, StateError>
    where
        W: FnOnce(Pool) -> F,
        F: Future<Output = Result<T, StateError>> + Send + 'static,
        T: Send + 'static,
    {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StateError::Task("the PostgreSQL store is closed".into()))?;
        wait_on(runtime, work(self.pool.clone()))
    }
}

/// Runs `task` on `runtime` and blocks the calling thread until it ends. Unlike
/// `Runtime::block_on`, this may be called from inside another runtime too (where it blocks
/// like any synchronous I/O).
fn wait_on<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    task: impl Future<Output = Result<T, StateError>> + Send + 'static,
) -> Result<T, StateError> {
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = answer.send(task.await);
    });
    answered
        .recv()
        .map_err(|_| StateError::Task("a PostgreSQL task stopped without an answer".into()))?
}

impl Drop for PostgresState {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside another runtime (the last
        // holder of the store may be an async task): let its threads end on their own.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
