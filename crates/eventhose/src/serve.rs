//! `eventhose serve`: wires the hose, the state store, the subscribers and the HTTP API into
//! one process, and shuts them down in order.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use eventhose_analytics_duckdb::DuckStore;
use eventhose_api::{ApiParts, AppState, Idempotency, KeyResolver, MxLookup, WebhookServices};
use eventhose_hose::Hose;
use eventhose_state::{EncryptionKey, StateStore, Tombstones};
use eventhose_subscribers::counter::COUNTER_SUBSCRIBER;
use eventhose_subscribers::suppressions::{SuppressionWriter, SUPPRESSIONS_SUBSCRIBER};
use eventhose_subscribers::webhooks::{WebhookEngine, WebhookEngineConfig, WEBHOOKS_SUBSCRIBER};
use eventhose_subscribers::{
    EventCounter, MessageEventsSubscriber, MetricsRetention, MetricsSubscriber, Processor,
    SubscriberError, MESSAGE_EVENTS_SUBSCRIBER, METRICS_SUBSCRIBER,
};
use eventhose_webhooks::{TargetPolicy, TokenCache};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

use crate::config::Config;
use crate::roles::{Role, Roles};
use crate::supervise::{restarting, Supervision};

/// Every subscriber of the hose, whichever role runs it.
const ALL_SUBSCRIBERS: [&str; 5] = [
    COUNTER_SUBSCRIBER,
    WEBHOOKS_SUBSCRIBER,
    SUPPRESSIONS_SUBSCRIBER,
    METRICS_SUBSCRIBER,
    MESSAGE_EVENTS_SUBSCRIBER,
];

/// Histogram buckets for latencies, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How long one webhook POST (test POSTs included) may take, as SparkPost allows.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the generated webhook encryption key is kept when none is configured.
const KEY_FILE: &str = "secret.key";

/// Runs until SIGTERM or SIGINT, then stops accepting, finishes in-flight requests, lets the
/// subscribers checkpoint, closes the hose and returns.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    serve_on(config, listener).await
}

/// [`serve`] on a listener already bound (`demo` needs the address before serving starts).
pub async fn serve_on(config: Config, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    init_tracing(&config.log);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;

    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install_recorder()
        .context("cannot install the metrics recorder")?;

    let encryption_key = webhook_encryption_key(&config)?;
    // Opening connects, migrates and reads: blocking work, kept off the runtime's threads.
    let (state, tombstones) = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || open_state(&config, &encryption_key)).await??
    };

    metrics::gauge!("eventhose_erasure_tombstones").set(tombstones.len() as f64);
    if let Some(erasures) = state.erasure_changes() {
        tokio::spawn(refresh_tombstones(
            erasures,
            state.clone(),
            tombstones.clone(),
        ));
    }

    let hose: Arc<dyn Hose> = crate::hose_backend::open(&config).await?;

    let roles = config.roles();
    for role in roles.iter() {
        metrics::gauge!("eventhose_role", "role" => role.name()).set(1.0);
    }
    // Every subscriber is registered before the first event can arrive, whichever process
    // runs it: on a shared hose, a queue declared now keeps what is published before its
    // worker first starts.
    for name in ALL_SUBSCRIBERS {
        hose.register(name).await?;
    }
    let (stop_subscribers, stopping) = watch::channel(false);
    let supervision = Supervision {
        stopping,
        components: Arc::default(),
    };
    let mut subscribers = Vec::new();
    subscribers.push((
        crate::supervise::HOSE_COMPONENT,
        tokio::spawn({
            let (hose, supervision) = (hose.clone(), supervision.clone());
            async move {
                crate::supervise::watch_hose(hose, supervision).await;
                Ok(())
            }
        }),
    ));
    if roles.runs(Role::Ingest) {
        let subscribers_dir = config.data_dir.join("subscribers");
        std::fs::create_dir_all(&subscribers_dir)?;
        let counter_path = subscribers_dir.join("counter.json");
        subscribers.push(
            start_processor(&hose, COUNTER_SUBSCRIBER, &supervision, move || {
                std::future::ready(EventCounter::open(&counter_path))
            })
            .await?,
        );
    }

    let webhooks = webhook_services(&config, &state)?;
    if roles.runs(Role::Webhooks) {
        subscribers.push(
            start_webhook_engine(&config, &hose, &supervision, &webhooks, &state, &tombstones)
                .await?,
        );
    }

    if roles.runs(Role::Suppressions) {
        let open_suppressions = {
            let (store, window) = (state.clone(), config.dedup_window());
            move || SuppressionWriter::open(store.clone(), store.clone(), window)
        };
        subscribers.push(
            start_processor(
                &hose,
                SUPPRESSIONS_SUBSCRIBER,
                &supervision,
                open_suppressions,
            )
            .await?,
        );
    }

    let analytics = crate::analytics_backend::open(&config, &roles)?;
    if let Some(store) = &analytics.duck {
        tokio::spawn(report_analytics_memory(
            store.clone(),
            supervision.stopping.clone(),
        ));
    }
    let commit_every = Duration::from_millis(config.analytics.commit_interval_ms.max(10));
    if let Some(store) = &analytics.metrics_writer {
        let open_metrics = {
            let retention = MetricsRetention {
                dedup_window: config.dedup_window(),
                ..config.analytics.retention()
            };
            let store = crate::faults::metrics_writer(store.clone());
            move || MetricsSubscriber::open(store.clone(), retention, commit_every)
        };
        subscribers
            .push(start_processor(&hose, METRICS_SUBSCRIBER, &supervision, open_metrics).await?);
    }
    if let (Some(store), true) = (&analytics.duck, roles.runs(Role::Events)) {
        let open_message_events = {
            let (store, keep) = (store.clone(), config.analytics.events_retention());
            let tombstones = tombstones.clone();
            move || {
                MessageEventsSubscriber::open(store.clone(), keep, commit_every, tombstones.clone())
            }
        };
        subscribers.push(
            start_processor(
                &hose,
                MESSAGE_EVENTS_SUBSCRIBER,
                &supervision,
                open_message_events,
            )
            .await?,
        );
    }

    let ready = Arc::new(AtomicBool::new(false));
    let ingest_settings = config.ingest_settings();
    let mx_lookup = MxLookup::new(&ingest_settings.mx_lookup)?;
    let app_state = AppState {
        hose: hose.clone(),
        keys: Arc::new(KeyResolver::new(state.clone())),
        ingest_settings,
        mx_lookup,
        api_limits: config.api.clone(),
        render_metrics: {
            let hose = hose.clone();
            Arc::new(move || {
                // Read at each scrape: 1 while the hose takes events (a broker is connected).
                let available = if hose.is_available() { 1.0 } else { 0.0 };
                metrics::gauge!("eventhose_hose_available").set(available);
                prometheus.render()
            })
        },
        ready: ready.clone(),
        roles: Arc::from(roles.names()),
        webhooks,
        suppressions: state.clone(),
        metrics: analytics.metrics_reader,
        events: analytics
            .duck
            .map(|store| store as Arc<dyn eventhose_api::analytics::EventStore>),
        erasures: state.clone(),
        tombstones,
        idempotency: Arc::new(Idempotency::new(state.clone())),
        components: supervision.components.clone(),
    };
    let app = NormalizePathLayer::trim_trailing_slash().layer(application(app_state, &roles));

    let address = listener.local_addr()?;
    ready.store(true, Ordering::Release);
    tracing::info!(
        %address,
        data_dir = %config.data_dir.display(),
        roles = %roles.names(),
        "eventhose is serving"
    );
    // A machine-readable line on stdout, for scripts and tests that listen on port 0.
    println!("eventhose listening on http://{address}");

    let (stop_sources, sources_stopping) = watch::channel(false);
    let sources = crate::hosted_sources::start(
        &config.sources,
        &config.data_dir,
        address,
        state.as_ref(),
        &sources_stopping,
    )?;
    let ready_on_shutdown = ready.clone();
    crate::http_server::serve(listener, app, &config.http, async move {
        shutdown_signal().await;
        // The sources first, while ingest still answers them: what they read is sent.
        let _ = stop_sources.send(true);
        for source in sources {
            let _ = source.await;
        }
        ready_on_shutdown.store(false, Ordering::Release);
        tracing::info!("shutting down: finishing in-flight requests");
    })
    .await
    .context("HTTP server failed")?;

    let _ = stop_subscribers.send(true);
    for (name, task) in subscribers {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(subscriber = name, error = %e, "subscriber failed"),
            Err(e) => tracing::error!(subscriber = name, error = %e, "subscriber panicked"),
        }
    }
    hose.close().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Opens the state store, creates the bootstrap key if it is configured and the store has no
/// key yet, and loads the erasure tombstones.
fn open_state(
    config: &Config,
    encryption_key: &EncryptionKey,
) -> anyhow::Result<(Arc<dyn StateStore>, Arc<Tombstones>)> {
    let state = crate::state_backend::open(config, Some(encryption_key))?;
    if let Some(secret) = &config.bootstrap_key {
        if !crate::keys::bootstrap(state.as_ref(), &secret.0)? {
            tracing::info!("bootstrap_key ignored: the state store already has API keys");
        }
    }
    let tombstones =
        Tombstones::load(state.as_ref()).context("cannot read the erasure tombstones")?;
    Ok((state, Arc::new(tombstones)))
}

/// Moves this process's webhook change counter whenever another process sharing the state
/// store changes a webhook, so that the engine here reloads its list too.
async fn forward_changes(mut elsewhere: watch::Receiver<u64>, here: Arc<watch::Sender<u64>>) {
    while elsewhere.changed().await.is_ok() {
        here.send_modify(|generation| *generation += 1);
    }
}

/// Adds to this process's tombstones the erasures that other processes sharing the state
/// store record, so that its writers drop those recipients' events too.
async fn refresh_tombstones(
    mut erasures: watch::Receiver<u64>,
    state: Arc<dyn StateStore>,
    tombstones: Arc<Tombstones>,
) {
    while erasures.changed().await.is_ok() {
        let (store, refreshed) = (state.clone(), tombstones.clone());
        match tokio::task::spawn_blocking(move || refreshed.refresh(store.as_ref())).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the erasures of the state store")
            }
            Err(e) => tracing::error!(error = %e, "reading the erasures failed"),
        }
        metrics::gauge!("eventhose_erasure_tombstones").set(tombstones.len() as f64);
    }
}

/// A subscriber's task, with the subscriber's name.
type SubscriberTask = (&'static str, JoinHandle<Result<(), SubscriberError>>);

/// Opens the first processor of subscriber `name` (registered already) with `open` and spawns
/// `run` on it under `supervision`: reported down when it fails, and restarted with a new
/// processor from `open` unless the failure is permanent, until its stop signal turns true.
async fn start_subscriber<P, Open, Opening, Run, Running>(
    name: &'static str,
    supervision: &Supervision,
    mut open: Open,
    run: Run,
) -> anyhow::Result<SubscriberTask>
where
    P: Send + 'static,
    Open: FnMut() -> Opening + Send + 'static,
    Opening: Future<Output = Result<P, SubscriberError>> + Send + 'static,
    Run: FnMut(P) -> Running + Send + 'static,
    Running: Future<Output = Result<(), SubscriberError>> + Send + 'static,
{
    let first = open().await?;
    let task = tokio::spawn(restarting(name, supervision.clone(), first, open, run));
    Ok((name, task))
}

/// [`start_subscriber`] for a [`Processor`], run by [`eventhose_subscribers::run`].
async fn start_processor<P, Open, Opening>(
    hose: &Arc<dyn Hose>,
    name: &'static str,
    supervision: &Supervision,
    open: Open,
) -> anyhow::Result<SubscriberTask>
where
    P: Processor + 'static,
    Open: FnMut() -> Opening + Send + 'static,
    Opening: Future<Output = Result<P, SubscriberError>> + Send + 'static,
{
    let run = {
        let (hose, stopping) = (hose.clone(), supervision.stopping.clone());
        move |processor| eventhose_subscribers::run(hose.clone(), name, processor, stopping.clone())
    };
    start_subscriber(name, supervision, open, run).await
}

/// The HTTP application: the APIs of `roles` with the operational endpoints, and with the
/// api role the Reports UI (the page at `/`, its assets under `/ui/`), whose requests are
/// counted and timed like the API's.
fn application(state: AppState, roles: &Roles) -> axum::Router {
    let parts = ApiParts {
        ingest: roles.runs(Role::Ingest),
        query: roles.runs(Role::Api),
    };
    let api = eventhose_api::router_of(state, parts);
    if !parts.query {
        return api;
    }
    let ui = eventhose_ui::routes().layer(axum::middleware::from_fn(
        eventhose_api::ops::track_requests,
    ));
    api.merge(ui)
}

/// What the webhook API and the engine share: the store, the HTTP client with its SSRF
/// policy, OAuth2 tokens and the change counter (moved by another process's changes too).
fn webhook_services(
    config: &Config,
    state: &Arc<dyn StateStore>,
) -> anyhow::Result<WebhookServices> {
    let policy = TargetPolicy {
        allow_private: config.allow_private_targets,
    };
    if policy.allow_private {
        tracing::warn!(
            "allow_private_targets is on: webhooks may reach loopback and private addresses"
        );
    }
    let changes = Arc::new(watch::channel(0u64).0);
    if let Some(elsewhere) = state.webhook_changes() {
        tokio::spawn(forward_changes(elsewhere, changes.clone()));
    }
    Ok(WebhookServices {
        store: state.clone(),
        client: eventhose_webhooks::target::client(policy, WEBHOOK_TIMEOUT)
            .context("cannot build the webhook HTTP client")?,
        policy,
        tokens: Arc::new(TokenCache::new()),
        changes,
        max_per_account: config.webhooks.max_per_account,
        rules: config.webhooks.target_rules(),
    })
}

/// Starts the webhook delivery engine as subscriber `webhooks`.
async fn start_webhook_engine(
    config: &Config,
    hose: &Arc<dyn Hose>,
    supervision: &Supervision,
    webhooks: &WebhookServices,
    state: &Arc<dyn StateStore>,
    tombstones: &Arc<Tombstones>,
) -> anyhow::Result<SubscriberTask> {
    let open_engine = {
        let (store, changes, tokens, tombstones) = (
            state.clone(),
            webhooks.changes.clone(),
            webhooks.tokens.clone(),
            tombstones.clone(),
        );
        let engine_config = WebhookEngineConfig {
            dedup_window: config.dedup_window(),
            ..config.webhooks.engine(webhooks.policy)?
        };
        move || {
            std::future::ready(WebhookEngine::new(
                store.clone(),
                changes.subscribe(),
                tokens.clone(),
                tombstones.clone(),
                store.clone(),
                engine_config.clone(),
            ))
        }
    };
    let run_engine = {
        let (hose, stopping) = (hose.clone(), supervision.stopping.clone());
        move |engine: WebhookEngine| engine.run(hose.clone(), stopping.clone())
    };
    start_subscriber(WEBHOOKS_SUBSCRIBER, supervision, open_engine, run_engine).await
}

/// The key that encrypts webhook secrets: the configured one, or one generated once into the
/// data directory.
fn webhook_encryption_key(config: &Config) -> anyhow::Result<EncryptionKey> {
    if let Some(configured) = &config.webhooks.encryption_key {
        return EncryptionKey::from_base64(&configured.0)
            .context("invalid webhooks.encryption_key");
    }
    let path = config.data_dir.join(KEY_FILE);
    let (key, created) = EncryptionKey::load_or_create(&path)?;
    if created {
        tracing::warn!(
            path = %path.display(),
            "no webhooks.encryption_key configured: generated one; back it up with the data, or webhook secrets become unreadable"
        );
    }
    Ok(key)
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// How often the analytic store's memory is exported.
const ANALYTICS_MEMORY_INTERVAL: Duration = Duration::from_secs(5);

/// Exports the analytic store's memory as `eventhose_analytics_memory_bytes` until shutdown.
async fn report_analytics_memory(store: Arc<DuckStore>, mut stopping: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(ANALYTICS_MEMORY_INTERVAL);
    loop {
        tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => return,
            _ = ticker.tick() => {}
        }
        let reader = store.clone();
        match tokio::task::spawn_blocking(move || reader.memory_bytes()).await {
            Ok(Ok(bytes)) => metrics::gauge!("eventhose_analytics_memory_bytes").set(bytes as f64),
            Ok(Err(error)) => tracing::debug!(%error, "cannot read the analytic store's memory"),
            Err(_) => return,
        }
    }
}
