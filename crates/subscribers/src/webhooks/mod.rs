//! The webhooks subscriber (the seed's "Webhooks ETL"): batches events per webhook, makes each
//! batch durable in the hose's delayed queue before acknowledging the events, POSTs it, and
//! retries failures with growing backoff through that same delayed queue.
//!
//! Flow of one event: stream delivery → every webhook that wants it (type, account) gets it in
//! its open batch → the batch is sealed once its webhook is idle (no batch of it under way: at
//! low volume each delivery's events go out at once), at `batch_max_events`/`batch_max_bytes`,
//! or at the latest at the next flush tick → sealed batches are deferred to this subscriber
//! with no delay (durable) → the stream deliveries are acknowledged → the batch comes back as a
//! deferred delivery and is POSTed → 2xx: acknowledged; failure: deferred again with the next backoff (or given up after
//! the last attempt), then acknowledged. A crash anywhere leads to redelivery, never loss.
//! The identities of the events batched are stored after their batches are durable and before
//! the stream deliveries are acknowledged, so a crash between the two sends them again rather
//! than never.

mod backlog;
mod batch;
mod engine;
mod matcher;

pub use batch::{Batch, BatchHeader, OpenBatch};
pub use engine::{WebhookEngine, WebhookEngineConfig, WEBHOOKS_SUBSCRIBER};
pub use matcher::wants;
