//! The delivery loop.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use eventhose_hose::{
    Deferral, Delivery, DeliveryTag, Hose, HoseError, Rejected, Rewrite, Rewriter, Subscription,
};
use eventhose_model::{event_identity, unix_minute, AppliedIds, DedupWindow, EventType};
use eventhose_state::{
    unix_now, AppliedBatch, AppliedEventStore, BatchStatus, Tombstones, Webhook, WebhookStore,
};
use eventhose_webhooks::{
    post_batch, Auth, BatchPost, Failure, Outcome, RetrySchedule, TargetPolicy, TokenCache,
};
use serde::Deserialize;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::backlog::Backlog;
use super::batch::{erased, Batch, BatchHeader, OpenBatch};
use super::matcher::wants;
use crate::{applied, blocking, set_aside, SubscriberError};

/// The subscriber name the engine reads the hose as.
pub const WEBHOOKS_SUBSCRIBER: &str = "webhooks";

/// The shortest wait of a batch re-deferred because its webhook is busy (not an attempt).
const BUSY_REQUEUE_DELAY: Duration = Duration::from_millis(500);

/// The longest such wait.
const BUSY_REQUEUE_MAX_DELAY: Duration = Duration::from_secs(60);

/// Batches held in memory per webhook at its concurrency limit, per request it may have in
/// flight: held batches wait for a slot without being written again.
const HELD_PER_SLOT: usize = 2;

/// How often replays asked for through the API are picked up.
const REPLAY_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How long a replay this engine took is its own: it queues and forgets it long before, and
/// if it dies first another engine (or itself, restarted) takes it after this.
const REPLAY_LEASE: Duration = Duration::from_secs(60);

/// How often old batch statuses are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Tuning of the engine.
#[derive(Clone, Debug)]
pub struct WebhookEngineConfig {
    /// A batch is sealed when it holds this many events.
    pub batch_max_events: u32,
    /// … or this many bytes of JSON.
    pub batch_max_bytes: usize,
    /// … or at the latest at the next tick of this interval (a webhook with no batch under way
    /// has its events sealed at once).
    pub flush_interval: Duration,
    /// A POST that has not answered in this time failed.
    pub timeout: Duration,
    /// Delays between attempts; its length bounds the attempts.
    pub schedule: RetrySchedule,
    /// Requests in flight to one webhook at most.
    pub per_webhook_concurrency: usize,
    /// Requests in flight in all at most.
    pub max_in_flight: usize,
    /// Record the status of every batch, not only retried and failed ones.
    pub record_every_batch: bool,
    /// How long batch statuses are kept.
    pub status_retention: Duration,
    /// Which target addresses may be connected to.
    pub policy: TargetPolicy,
    /// How long an event put in a batch is remembered, so that its repeat (a client's retry,
    /// a redelivery) is not put in another; zero: repeats are sent again.
    pub dedup_window: DedupWindow,
}

impl Default for WebhookEngineConfig {
    fn default() -> Self {
        Self {
            batch_max_events: 1_000,
            batch_max_bytes: 1 << 20,
            flush_interval: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
            schedule: RetrySchedule::default(),
            per_webhook_concurrency: 4,
            max_in_flight: 256,
            record_every_batch: false,
            status_retention: Duration::from_secs(7 * 24 * 3600),
            policy: TargetPolicy::default(),
            dedup_window: crate::DEFAULT_DEDUP_WINDOW,
        }
    }
}

/// The webhooks subscriber.
pub struct WebhookEngine {
    store: Arc<dyn WebhookStore>,
    changes: watch::Receiver<u64>,
    config: WebhookEngineConfig,
    client: reqwest::Client,
    tokens: Arc<TokenCache>,
    /// Erased recipients: their events are not sent again.
    tombstones: Arc<Tombstones>,
    /// Where the identities of the events put in batches are remembered.
    applied: Arc<dyn AppliedEventStore>,
}

/// What an attempt task hands back.
struct Attempt {
    tag: DeliveryTag,
    batch: Batch,
    attempt: u32,
    outcome: Outcome,
}

/// The fields of a stored event that routing needs.
#[derive(Deserialize)]
struct Routing<'a> {
    #[serde(rename = "type", borrow)]
    event_type: std::borrow::Cow<'a, str>,
    #[serde(default)]
    subaccount_id: Option<serde_json::Value>,
    /// Who and when, for erased recipients (each field named: `flatten` would buffer every
    /// other field of every event).
    #[serde(borrow, default)]
    rcpt_to: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    raw_rcpt_to: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    event_id: Option<std::borrow::Cow<'a, str>>,
}

impl WebhookEngine {
    /// An engine over `store`, refreshing its webhook list whenever `changes` moves, sending
    /// no event of a recipient erased (`tombstones`) up to its erasure, and remembering the
    /// events it batched in `applied`.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        changes: watch::Receiver<u64>,
        tokens: Arc<TokenCache>,
        tombstones: Arc<Tombstones>,
        applied: Arc<dyn AppliedEventStore>,
        config: WebhookEngineConfig,
    ) -> Result<Self, SubscriberError> {
        let client = eventhose_webhooks::target::client(config.policy, config.timeout)
            .map_err(|e| SubscriberError::Internal(format!("webhook HTTP client: {e}")))?;
        Ok(Self {
            store,
            changes,
            config,
            client,
            tokens,
            tombstones,
            applied,
        })
    }

    /// Runs until `shutdown` turns true or the hose closes. Batches not yet delivered stay in
    /// the hose and are sent after a restart.
    pub async fn run(
        mut self,
        hose: Arc<dyn Hose>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), SubscriberError> {
        let mut subscription = hose.subscribe(WEBHOOKS_SUBSCRIBER).await?;
        crate::dead_letters_counter(WEBHOOKS_SUBSCRIBER).increment(0);
        let mut state = LoopState {
            webhooks: self.load_webhooks().await?,
            open: HashMap::new(),
            pending_acks: Vec::new(),
            running: HashMap::new(),
            in_flight: JoinSet::new(),
            held: HashMap::new(),
            held_total: 0,
            sealed: Vec::new(),
            scrubbed_for: 0,
            concurrency: concurrency_share(self.config.per_webhook_concurrency, &*hose),
            pace: HashMap::new(),
            backlog: Backlog::default(),
            applied: applied::load(
                self.applied.clone(),
                WEBHOOKS_SUBSCRIBER,
                self.config.dedup_window,
            )
            .await?,
        };
        let mut flush = tokio::time::interval(self.config.flush_interval);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune = tokio::time::interval(PRUNE_INTERVAL);
        let mut replays = tokio::time::interval(REPLAY_POLL_INTERVAL);
        replays.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let can_take = state.in_flight.len() < self.config.max_in_flight;
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                changed = self.changes.changed() => {
                    if changed.is_ok() {
                        state.webhooks = self.load_webhooks().await?;
                    }
                }
                Some(done) = state.in_flight.join_next(), if !state.in_flight.is_empty() => {
                    let attempt = done.map_err(|e| SubscriberError::Internal(format!("attempt task: {e}")))?;
                    let webhook_id = attempt.batch.header.webhook_id.clone();
                    self.settle(&mut state, subscription.as_mut(), attempt).await?;
                    self.release_held(&mut state, subscription.as_mut(), &webhook_id).await?;
                    // What gathered while the webhook was busy goes out as its next batch.
                    seal_idle(&mut state, Some(&webhook_id));
                    self.persist_sealed(&mut state, subscription.as_mut()).await?;
                }
                _ = flush.tick() => {
                    state.concurrency =
                        concurrency_share(self.config.per_webhook_concurrency, &*hose);
                    self.flush(&mut state, subscription.as_mut()).await?;
                }
                _ = prune.tick() => self.prune().await,
                _ = replays.tick() => {
                    self.scrub_erased(&mut state, subscription.as_mut()).await?;
                    self.queue_replays(subscription.as_mut()).await?;
                }
                next = subscription.next(), if can_take => match next {
                    Ok(delivery) => self.take(&mut state, subscription.as_mut(), delivery).await?,
                    Err(HoseError::Closed) => break,
                    Err(e) => return Err(e.into()),
                },
            }
        }
        // Make what was gathered durable; attempts still running are abandoned and their
        // batches, unacknowledged, come back after a restart.
        match self.flush(&mut state, subscription.as_mut()).await {
            Ok(()) | Err(SubscriberError::Hose(HoseError::Closed)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn load_webhooks(&self) -> Result<HashMap<String, Arc<Webhook>>, SubscriberError> {
        let store = self.store.clone();
        let list = blocking(move || store.list_webhooks(None)).await?;
        // What this engine routes to, for operators (and for telling that a change made
        // through another process has arrived).
        metrics::gauge!("eventhose_webhooks_loaded").set(list.len() as f64);
        metrics::counter!("eventhose_webhook_list_loads_total").increment(1);
        Ok(list
            .into_iter()
            .map(|w| (w.id.clone(), Arc::new(w)))
            .collect())
    }

    /// Handles one delivery from the hose: stream events are routed into open batches;
    /// a deferred batch is attempted.
    async fn take(
        &self,
        state: &mut LoopState,
        subscription: &mut dyn Subscription,
        delivery: Delivery,
    ) -> Result<(), SubscriberError> {
        if delivery.attempt == 0 {
            // With no active webhook there is nothing to route: skip reading the events.
            if state.webhooks.values().any(|webhook| webhook.active) {
                for message in &delivery.messages {
                    if let Err(reason) = self.route(state, message) {
                        let rejected = Rejected {
                            message: message.clone(),
                            attempt: delivery.attempt,
                            reason,
                        };
                        set_aside(subscription, WEBHOOKS_SUBSCRIBER, rejected).await?;
                    }
                }
                // An idle webhook's events go out at once; the batches they and the ones the
                // events filled make are durable together.
                seal_idle(state, None);
                self.persist_sealed(state, subscription).await?;
            }
            state.pending_acks.push(delivery.tag);
            return Ok(());
        }
        let Some(message) = delivery.messages.first() else {
            return subscription.ack(&delivery.tag).await.map_err(Into::into);
        };
        let batch = match Batch::decode(message) {
            Ok(batch) => batch,
            Err(error) => return self.set_aside_batch(subscription, &delivery, error).await,
        };
        let header = batch.header.clone();
        let batch = match batch.without_erased(&self.tombstones) {
            Ok(batch) => batch,
            Err(error) => return self.set_aside_batch(subscription, &delivery, error).await,
        };
        let Some(batch) = batch else {
            // Every event of it belongs to an erased recipient.
            state.backlog.remove(&header);
            return subscription.ack(&delivery.tag).await.map_err(Into::into);
        };
        let webhook = match state.webhooks.get(&batch.header.webhook_id) {
            Some(webhook) if webhook.active => webhook.clone(),
            _ => {
                // Deleted or deactivated since: SparkPost drops its batches too.
                tracing::info!(batch = %batch.header.batch_id, webhook = %batch.header.webhook_id, "dropping a batch of a removed or inactive webhook");
                state.backlog.remove(&batch.header);
                return subscription.ack(&delivery.tag).await.map_err(Into::into);
            }
        };
        state.backlog.add(&batch.header);
        let running = state.running.get(&webhook.id).copied().unwrap_or(0);
        if running >= state.concurrency {
            return self
                .hold(
                    state,
                    subscription,
                    webhook,
                    delivery.tag,
                    delivery.attempt,
                    batch,
                )
                .await;
        }
        self.start(state, webhook, delivery.tag, delivery.attempt, batch);
        Ok(())
    }

    /// Sets aside a deferred delivery whose batch cannot be read, and acknowledges it.
    async fn set_aside_batch(
        &self,
        subscription: &mut dyn Subscription,
        delivery: &Delivery,
        error: SubscriberError,
    ) -> Result<(), SubscriberError> {
        let SubscriberError::BadMessage { reason, .. } = error else {
            return Err(error);
        };
        for message in &delivery.messages {
            let rejected = Rejected {
                message: message.clone(),
                attempt: delivery.attempt,
                reason: reason.clone(),
            };
            set_aside(subscription, WEBHOOKS_SUBSCRIBER, rejected).await?;
        }
        subscription.ack(&delivery.tag).await.map_err(Into::into)
    }

    /// A batch of a webhook at its concurrency limit: held in memory, unacknowledged and not
    /// written again, until a request of that webhook ends; past [`HELD_PER_SLOT`] per slot
    /// (or `max_in_flight` held in all), deferred again, for about as long as the webhook's
    /// pace says the webhook's unsettled batches will take (so a batch of a slow webhook is
    /// rewritten about once, not every half second). Re-deferring every batch of a busy
    /// webhook every half second rewrote a slow endpoint's whole backlog twice a second, at
    /// other webhooks' and ingest's expense.
    async fn hold(
        &self,
        state: &mut LoopState,
        subscription: &mut dyn Subscription,
        webhook: Arc<Webhook>,
        tag: DeliveryTag,
        attempt: u32,
        batch: Batch,
    ) -> Result<(), SubscriberError> {
        let slots = state.concurrency.max(1);
        // Held batches are bounded per webhook and in all (as many as may be in flight), so
        // slow webhooks can neither fill memory nor stop the reading of the stream.
        let room = state.held_total < self.config.max_in_flight;
        let held = state.held.entry(webhook.id.clone()).or_default();
        if room && held.len() < HELD_PER_SLOT * slots {
            held.push_back(Held {
                tag,
                attempt,
                batch,
            });
            state.held_total += 1;
            return Ok(());
        }
        let pace = state
            .pace
            .get(&webhook.id)
            .copied()
            .unwrap_or(BUSY_REQUEUE_DELAY);
        // Every batch of the webhook not yet settled is ahead of this one, or about to be.
        let ahead = (held.len() + slots).max(state.backlog.batches(&webhook.id));
        let ahead = u32::try_from(ahead).unwrap_or(u32::MAX);
        let delay = (pace * ahead / u32::try_from(slots).unwrap_or(1))
            .clamp(BUSY_REQUEUE_DELAY, BUSY_REQUEUE_MAX_DELAY);
        metrics::counter!("eventhose_webhook_busy_requeues_total", "webhook" => webhook.id.clone())
            .increment(1);
        self.defer_kept(state, subscription, batch, delay, attempt)
            .await?;
        subscription.ack(&tag).await.map_err(Into::into)
    }

    /// Writes `batch` back to the delayed queue without the events of recipients erased since
    /// it was read (a batch left empty is not written, and stops counting).
    async fn defer_kept(
        &self,
        state: &mut LoopState,
        subscription: &mut dyn Subscription,
        batch: Batch,
        delay: Duration,
        attempt: u32,
    ) -> Result<(), SubscriberError> {
        let header = batch.header.clone();
        match batch.without_erased(&self.tombstones)? {
            Some(kept) => subscription.defer(kept.encode(), delay, attempt).await?,
            None => state.backlog.remove(&header),
        }
        Ok(())
    }

    /// Starts the next held batch of `webhook_id`, if any; held batches of a webhook removed
    /// or deactivated since are dropped, as SparkPost drops them.
    async fn release_held(
        &self,
        state: &mut LoopState,
        subscription: &mut dyn Subscription,
        webhook_id: &str,
    ) -> Result<(), SubscriberError> {
        while let Some(next) = state.held.get_mut(webhook_id).and_then(VecDeque::pop_front) {
            state.held_total -= 1;
            let header = next.batch.header.clone();
            let batch = next.batch.without_erased(&self.tombstones)?;
            match (state.webhooks.get(webhook_id), batch) {
                (Some(webhook), Some(batch)) if webhook.active => {
                    let webhook = webhook.clone();
                    self.start(state, webhook, next.tag, next.attempt, batch);
                    return Ok(());
                }
                _ => {
                    state.backlog.remove(&header);
                    subscription.ack(&next.tag).await?;
                }
            }
        }
        state.held.remove(webhook_id);
        Ok(())
    }

    /// Starts one attempt of `batch` to `webhook`.
    fn start(
        &self,
        state: &mut LoopState,
        webhook: Arc<Webhook>,
        tag: DeliveryTag,
        attempt: u32,
        batch: Batch,
    ) {
        let running = state.running.entry(webhook.id.clone()).or_default();
        *running += 1;
        in_flight_gauge(&webhook.id, *running);
        let (client, tokens, policy) =
            (self.client.clone(), self.tokens.clone(), self.config.policy);
        state.in_flight.spawn(async move {
            let auth = Auth::from(&webhook.auth);
            let secrets = webhook.signing.secrets_at(unix_now());
            let (outcome, _) = post_batch(
                &client,
                &tokens,
                policy,
                BatchPost {
                    webhook_id: &webhook.id,
                    url: &webhook.target,
                    batch_id: &batch.header.batch_id,
                    body: batch.body.clone(),
                    custom_headers: &webhook.custom_headers,
                    auth: &auth,
                    auth_token: webhook.auth_token.as_deref(),
                    signing_secrets: &secrets,
                },
            )
            .await;
            Attempt {
                tag,
                batch,
                attempt,
                outcome,
            }
        });
    }

    /// Adds one stored event to the open batch of every webhook that wants it; a batch it
    /// fills is sealed, to be persisted with the others of its delivery. `Err` says why the
    /// message is not a stored event this engine can read.
    fn route(&self, state: &mut LoopState, message: &[u8]) -> Result<(), String> {
        let routing: Routing<'_> =
            serde_json::from_slice(message).map_err(|e| format!("stored event: {e}"))?;
        if !self.tombstones.is_empty()
            && erased(
                &self.tombstones,
                routing.timestamp.as_deref(),
                [routing.rcpt_to.as_deref(), routing.raw_rcpt_to.as_deref()],
            )
        {
            return Ok(());
        }
        let event_type: EventType = routing
            .event_type
            .parse()
            .map_err(|e: eventhose_model::UnknownEventType| e.to_string())?;
        let subaccount = routing.subaccount_id.as_ref().and_then(|v| match v {
            serde_json::Value::String(s) => s.parse().ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        });
        let event_type_name = event_type.as_str();
        if !state
            .webhooks
            .values()
            .any(|webhook| wants(webhook, event_type_name, subaccount))
        {
            return Ok(());
        }
        if let Some(event_id) = routing.event_id.as_deref() {
            let identity = event_identity(subaccount.unwrap_or(0), event_id);
            if !state.applied.insert(identity, unix_minute()) {
                return Ok(()); // in a batch already
            }
        }
        let category = event_type.category().key();
        let mut full = Vec::new();
        for webhook in state.webhooks.values() {
            if !wants(webhook, event_type_name, subaccount) {
                continue;
            }
            let open = state.open.entry(webhook.id.clone()).or_default();
            open.push(category, message);
            if open.events() >= self.config.batch_max_events
                || open.bytes() >= self.config.batch_max_bytes
            {
                full.push(webhook.id.clone());
            }
        }
        for webhook_id in full {
            if let Some(open) = state.open.remove(&webhook_id) {
                state.sealed.push(open.seal(&webhook_id, unix_now()));
            }
        }
        Ok(())
    }

    /// Seals every open batch, makes each durable, then acknowledges the stream deliveries
    /// whose events they hold.
    async fn flush(
        &self,
        state: &mut LoopState,
        subscription: &mut dyn Subscription,
    ) -> Result<(), SubscriberError> {
        let now = unix_now();
        for (webhook_id, open) in state.open.drain() {
            if open.events() > 0 {
                state.sealed.push(open.seal(&webhook_id, now));
            }
        }
        self.persist_sealed(state, subscription).await?;
        // The batches holding these events are durable: remember the events, then let the
        // hose forget them. A crash between the two sends them again (at least once).
        let (ids, forget_before) =
            applied::take_for_commit(WEBHOOKS_SUBSCRIBER, &mut state.applied);
        if !ids.is_empty() {
            let store = self.applied.clone();
            crate::blocking(move || {
                store.remember_applied(AppliedBatch {
                    subscriber: WEBHOOKS_SUBSCRIBER,
                    ids: &ids,
                    forget_before,
                })
            })
            .await?;
        }
        for tag in state.pending_acks.drain(..) {
            subscription.ack(&tag).await?;
        }
        Ok(())
    }

    /// Puts the sealed batches in the durable delayed queue, due now, as attempt 1, all made
    /// durable together (one write and one sync for all of them on the embedded hose, where
    /// one per batch held the loop up for each).
    async fn persist_sealed(
        &self,
        state: &mut LoopState,
        subscription: &mut dyn Subscription,
    ) -> Result<(), SubscriberError> {
        if state.sealed.is_empty() {
            return Ok(());
        }
        let deferrals = state
            .sealed
            .drain(..)
            .map(|batch| {
                state.backlog.add(&batch.header);
                metrics::counter!("eventhose_webhook_batches_created_total", "webhook" => batch.header.webhook_id.clone())
                    .increment(1);
                Deferral {
                    message: batch.encode(),
                    delay: Duration::ZERO,
                    attempt: 1,
                }
            })
            .collect();
        subscription.defer_many(deferrals).await?;
        Ok(())
    }

    /// Acts on an attempt's outcome: done, retry later, give up, or deactivate on 410.
    async fn settle(
        &self,
        state: &mut LoopState,
        subscription: &mut dyn Subscription,
        done: Attempt,
    ) -> Result<(), SubscriberError> {
        let Attempt {
            tag,
            batch,
            attempt,
            outcome,
        } = done;
        let webhook_id = batch.header.webhook_id.clone();
        if let Some(running) = state.running.get_mut(&webhook_id) {
            *running = running.saturating_sub(1);
            in_flight_gauge(&webhook_id, *running);
        }
        let pace = state
            .pace
            .entry(webhook_id.clone())
            .or_insert(outcome.latency());
        *pace = (*pace * 3 + outcome.latency()) / 4;
        let labels = [("webhook", webhook_id.clone())];
        metrics::counter!("eventhose_webhook_attempts_total", &labels).increment(1);
        metrics::histogram!("eventhose_webhook_delivery_seconds", &labels)
            .record(outcome.latency().as_secs_f64());
        let mut status = BatchStatus {
            batch_id: batch.header.batch_id.clone(),
            webhook_id: webhook_id.clone(),
            ts: batch.header.created_at,
            attempts: attempt.saturating_sub(1),
            response_code: None,
            failure_code: None,
            batch_size: batch.header.events,
            latency_ms: u64::try_from(outcome.latency().as_millis()).unwrap_or(u64::MAX),
        };
        match outcome {
            Outcome::Delivered { status: code, .. } => {
                subscription.ack(&tag).await?;
                state.backlog.remove(&batch.header);
                metrics::counter!("eventhose_webhook_batches_delivered_total", &labels)
                    .increment(1);
                metrics::counter!("eventhose_webhook_events_delivered_total", &labels)
                    .increment(u64::from(batch.header.events));
                status.response_code = Some(code);
                let record = attempt > 1 || self.config.record_every_batch;
                self.record(webhook_id, true, record.then_some(status))
                    .await;
            }
            Outcome::Failed {
                failure,
                retry_after,
                ..
            } => {
                let code = failure.code();
                metrics::counter!("eventhose_webhook_failures_total", "webhook" => webhook_id.clone(), "code" => code.clone())
                    .increment(1);
                status.attempts = attempt;
                status.failure_code = Some(code);
                if let Failure::Status(http) = failure {
                    status.response_code = Some(http);
                    if http == 410 {
                        // The receiver says the endpoint is gone for good.
                        tracing::warn!(webhook = %webhook_id, "target answered 410 Gone: deactivating the webhook");
                        let store = self.store.clone();
                        let id = webhook_id.clone();
                        let _ = tokio::task::spawn_blocking(move || store.deactivate_webhook(&id))
                            .await;
                        state.webhooks.remove(&webhook_id);
                        subscription.ack(&tag).await?;
                        state.backlog.remove(&batch.header);
                        self.record(webhook_id, false, Some(status)).await;
                        return Ok(());
                    }
                }
                let next = attempt + 1;
                match self
                    .config
                    .schedule
                    .delay_before(next, rand::random::<f64>(), retry_after)
                {
                    Some(delay) => {
                        self.defer_kept(state, subscription, batch.clone(), delay, next)
                            .await?;
                    }
                    None => {
                        tracing::warn!(webhook = %webhook_id, batch = %batch.header.batch_id, attempts = attempt, "webhook batch failed for good; kept for replay");
                        metrics::counter!("eventhose_webhook_batches_failed_total", &labels)
                            .increment(1);
                        self.keep_failed(&batch).await?;
                        state.backlog.remove(&batch.header);
                    }
                }
                subscription.ack(&tag).await?;
                self.record(webhook_id, false, Some(status)).await;
            }
        }
        Ok(())
    }

    /// Stores the delivery mark and, when given, the batch status (best effort: a store
    /// failure is logged, never a reason to resend).
    async fn record(&self, webhook_id: String, success: bool, status: Option<BatchStatus>) {
        let store = self.store.clone();
        let result = tokio::task::spawn_blocking(move || {
            store.mark_delivery(&webhook_id, success, unix_now())?;
            if let Some(status) = status {
                store.record_batch_status(&status)?;
            }
            Ok::<_, eventhose_state::StateError>(())
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot record webhook batch status"),
            Err(e) => tracing::error!(error = %e, "batch status task failed"),
        }
    }

    /// Keeps a batch that ran out of attempts, before its delivery is acknowledged.
    async fn keep_failed(&self, batch: &Batch) -> Result<(), SubscriberError> {
        // Erased recipients' events are not kept (the batch may predate their erasure).
        let Some(batch) = batch.clone().without_erased(&self.tombstones)? else {
            return Ok(());
        };
        let batch = &batch;
        let store = self.store.clone();
        let (webhook_id, batch_id) = (
            batch.header.webhook_id.clone(),
            batch.header.batch_id.clone(),
        );
        let payload = batch.encode();
        blocking(move || store.keep_failed_batch(&webhook_id, &batch_id, &payload, unix_now()))
            .await
    }

    /// Takes the events of recipients erased since the last scrub out of what the engine keeps
    /// at rest: the delayed queue (rewritten, where the hose can) and the kept failed batches
    /// (a page of them at a time). A batch left empty is dropped or forgotten.
    async fn scrub_erased(
        &self,
        state: &mut LoopState,
        subscription: &mut dyn Subscription,
    ) -> Result<(), SubscriberError> {
        let version = self.tombstones.version();
        if version == state.scrubbed_for {
            return Ok(());
        }
        // Batches still open would be written after the rewrite, with the erased addresses:
        // make them durable first, so the rewrite takes them out too.
        self.flush(state, subscription).await?;
        let emptied = Arc::new(std::sync::Mutex::new(Vec::new()));
        let rewritten = subscription
            .rewrite_deferred(erasure_rewriter(
                self.tombstones.clone(),
                Arc::clone(&emptied),
            ))
            .await?;
        for header in emptied
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
        {
            state.backlog.remove(&header);
        }
        match rewritten {
            Some(report) => tracing::info!(
                replaced = report.replaced,
                dropped = report.dropped,
                "rewrote the webhook delayed queue without erased recipients"
            ),
            None => tracing::info!(
                "the webhook delayed queue is the broker's: erased recipients' events are dropped when their batches come due"
            ),
        }
        let (store, tombstones) = (self.store.clone(), self.tombstones.clone());
        blocking(move || scrub_failed_batches(store.as_ref(), &tombstones)).await?;
        state.scrubbed_for = version;
        if rewritten.is_some() {
            self.tombstones.mark_scrubbed_at_rest(version);
        }
        Ok(())
    }

    /// Queues the failed batches whose replay was asked for (through the API) as fresh first
    /// attempts; each is forgotten only once it is durable in the hose.
    async fn queue_replays(
        &self,
        subscription: &mut dyn Subscription,
    ) -> Result<(), SubscriberError> {
        let store = self.store.clone();
        let replays = blocking(move || store.claim_replays(100, REPLAY_LEASE)).await?;
        for (webhook_id, batch_id, payload) in replays {
            subscription
                .defer(bytes::Bytes::from(payload), Duration::ZERO, 1)
                .await?;
            tracing::info!(webhook = %webhook_id, batch = %batch_id, "replaying a failed batch");
            let store = self.store.clone();
            let _ = tokio::task::spawn_blocking(move || {
                store.forget_failed_batch(&webhook_id, &batch_id)
            })
            .await;
        }
        Ok(())
    }

    async fn prune(&self) {
        let store = self.store.clone();
        let cutoff = unix_now() - self.config.status_retention.as_secs() as i64;
        if let Ok(Err(e)) =
            tokio::task::spawn_blocking(move || store.prune_batch_statuses(cutoff)).await
        {
            tracing::error!(error = %e, "cannot prune webhook batch statuses");
        }
    }
}

/// Seals the open batch of each webhook with nothing under way (no batch of it sealed and not
/// yet settled), or of `only` that webhook: an idle webhook's events go out at once, while a
/// busy one's gather until it is idle again, a batch fills, or the flush tick, which is only
/// an upper bound.
fn seal_idle(state: &mut LoopState, only: Option<&str>) {
    let now = unix_now();
    let idle: Vec<String> = state
        .open
        .iter()
        .filter(|(id, open)| {
            only.is_none_or(|only| only == id.as_str())
                && open.events() > 0
                && state.backlog.batches(id) == 0
        })
        .map(|(id, _)| id.clone())
        .collect();
    for webhook_id in idle {
        if let Some(open) = state.open.remove(&webhook_id) {
            state.sealed.push(open.seal(&webhook_id, now));
        }
    }
}

/// This engine's share of a webhook's concurrency limit: all of it alone, and an equal part
/// when other engines consume the same queue (competing consumers on a broker), so that
/// together they keep to the limit — at least one request each, so with more engines than the
/// limit allows, one each.
fn concurrency_share(limit: usize, hose: &dyn Hose) -> usize {
    let engines = hose
        .consumers(WEBHOOKS_SUBSCRIBER)
        .and_then(|count| usize::try_from(count).ok())
        .unwrap_or(1)
        .max(1);
    let share = (limit / engines).max(1);
    metrics::gauge!("eventhose_webhook_concurrency_share").set(share as f64);
    share
}

/// Everything the loop changes.
struct LoopState {
    webhooks: HashMap<String, Arc<Webhook>>,
    open: HashMap<String, OpenBatch>,
    pending_acks: Vec<DeliveryTag>,
    running: HashMap<String, usize>,
    in_flight: JoinSet<Attempt>,
    /// Batches of webhooks at their concurrency limit, in arrival order, unacknowledged.
    held: HashMap<String, VecDeque<Held>>,
    /// The number of batches in `held`.
    held_total: usize,
    /// Batches sealed and not yet persisted (see [`WebhookEngine::persist_sealed`]).
    sealed: Vec<Batch>,
    /// Each webhook's recent time per request (a moving average).
    pace: HashMap<String, Duration>,
    /// The tombstones' version the kept failed batches were last scrubbed for.
    scrubbed_for: u64,
    /// This engine's share of each webhook's concurrency limit ([`concurrency_share`]).
    concurrency: usize,
    backlog: Backlog,
    /// The events put in batches within the deduplication window.
    applied: AppliedIds,
}

/// A batch waiting in memory for a request slot of its webhook.
struct Held {
    tag: DeliveryTag,
    attempt: u32,
    batch: Batch,
}

/// What is left of an encoded batch without the events of erased recipients.
enum Scrubbed {
    /// None of its events was erased.
    Unchanged,
    /// Some were: the rest.
    Smaller(Batch),
    /// All were: the batch goes.
    Emptied(BatchHeader),
}

/// Reads an encoded batch and leaves out the events of erased recipients.
fn scrub(encoded: bytes::Bytes, tombstones: &Tombstones) -> Result<Scrubbed, SubscriberError> {
    let batch = Batch::decode(&encoded)?;
    let header = batch.header.clone();
    Ok(match batch.without_erased(tombstones)? {
        None => Scrubbed::Emptied(header),
        Some(kept) if kept.header.events != header.events => Scrubbed::Smaller(kept),
        Some(_) => Scrubbed::Unchanged,
    })
}

/// Decides, for each message of the delayed queue, what is left of it without the events of
/// erased recipients; headers of batches left empty go to `emptied`. An unreadable message is
/// kept as it is (one bad message must not stop an erasure) and logged.
fn erasure_rewriter(
    tombstones: Arc<Tombstones>,
    emptied: Arc<std::sync::Mutex<Vec<BatchHeader>>>,
) -> Rewriter {
    Arc::new(move |message: &[u8]| {
        match scrub(bytes::Bytes::copy_from_slice(message), &tombstones) {
            Ok(Scrubbed::Unchanged) => Rewrite::Keep,
            Ok(Scrubbed::Smaller(kept)) => Rewrite::Replace(kept.encode()),
            Ok(Scrubbed::Emptied(header)) => {
                if let Ok(mut emptied) = emptied.lock() {
                    emptied.push(header);
                }
                Rewrite::Drop
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot scrub a delayed webhook batch; kept as it is");
                Rewrite::Keep
            }
        }
    })
}

/// Failed batches read at once while scrubbing.
const SCRUB_PAGE: usize = 64;

/// [`WebhookEngine::scrub_failed_batches`], on a blocking thread.
fn scrub_failed_batches(
    store: &dyn WebhookStore,
    tombstones: &Tombstones,
) -> Result<(), SubscriberError> {
    let mut after: Option<(String, String)> = None;
    loop {
        let page = store
            .failed_batches(
                after.as_ref().map(|(w, b)| (w.as_str(), b.as_str())),
                SCRUB_PAGE,
            )
            .map_err(SubscriberError::State)?;
        let full = page.len() == SCRUB_PAGE;
        for (webhook_id, batch_id, payload) in page {
            match scrub(bytes::Bytes::from(payload), tombstones) {
                Ok(Scrubbed::Unchanged) => {}
                Ok(Scrubbed::Smaller(kept)) => {
                    store
                        .replace_failed_batch(&webhook_id, &batch_id, &kept.encode())
                        .map_err(SubscriberError::State)?;
                }
                Ok(Scrubbed::Emptied(_)) => {
                    store
                        .forget_failed_batch(&webhook_id, &batch_id)
                        .map_err(SubscriberError::State)?;
                }
                // One unreadable row must not stop delivery: it stays as it is.
                Err(e) => {
                    tracing::error!(webhook = %webhook_id, batch = %batch_id, error = %e, "cannot scrub a kept failed batch");
                }
            }
            after = Some((webhook_id, batch_id));
        }
        if !full {
            return Ok(());
        }
    }
}

/// Requests in flight to one webhook (its retry backlog is the hose's
/// `eventhose_hose_subscriber_deferred{subscriber="webhooks"}`).
fn in_flight_gauge(webhook_id: &str, running: usize) {
    metrics::gauge!("eventhose_webhook_requests_in_flight", "webhook" => webhook_id.to_string())
        .set(running as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::batch::OpenBatch;
    use eventhose_state::SqliteState;

    /// A kept failed batch of events to `recipients`, all at time 100.
    fn keep(store: &SqliteState, batch_id: &str, recipients: &[&str]) {
        let mut open = OpenBatch::new();
        for (i, rcpt) in recipients.iter().enumerate() {
            let event = format!(
                r#"{{"type":"delivery","timestamp":"100","rcpt_to":"{rcpt}","event_id":"{batch_id}-{i}"}}"#
            );
            open.push("message_event", event.as_bytes());
        }
        let mut batch = open.seal("wh", 100);
        batch.header.batch_id = batch_id.into();
        store
            .keep_failed_batch("wh", batch_id, &batch.encode(), 100)
            .unwrap();
    }

    #[test]
    fn an_erasure_takes_the_recipient_out_of_kept_failed_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteState::open(dir.path().join("state.sqlite")).unwrap();
        keep(&store, "both", &["ann@example.com", "bob@example.com"]);
        keep(&store, "only-ann", &["Ann@Example.com"]);
        // More than a page, so the scrub goes on past the first.
        for n in 0..SCRUB_PAGE {
            keep(&store, &format!("other-{n:03}"), &["carl@example.com"]);
        }
        let tombstones = Tombstones::default();
        tombstones.add("ann@example.com", 200);
        scrub_failed_batches(&store, &tombstones).unwrap();
        let kept = store.failed_batches(None, 1_000).unwrap();
        assert_eq!(kept.len(), SCRUB_PAGE + 1, "the batch of ann alone is gone");
        let both = kept.iter().find(|(_, id, _)| id == "both").unwrap();
        let batch = Batch::decode(&bytes::Bytes::from(both.2.clone())).unwrap();
        assert_eq!(batch.header.events, 1);
        let text = String::from_utf8(batch.body.to_vec()).unwrap();
        assert!(
            text.contains("bob@example.com") && !text.contains("ann@"),
            "{text}"
        );
    }
}
