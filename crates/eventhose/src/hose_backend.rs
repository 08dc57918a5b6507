//! Opens the hose `serve` runs on: the embedded log in the data directory, or RabbitMQ.

use std::sync::Arc;

use anyhow::Context;
use eventhose_hose::embedded::EmbeddedHose;
use eventhose_hose::Hose;
use eventhose_hose_amqp::{AmqpHose, AmqpHoseConfig};

use crate::config::{Config, HoseBackend};

/// Opens the configured hose. On RabbitMQ, waits (bounded by `amqp.startup_wait_ms`) for the
/// first connection; later losses are survived: publishes fail as unavailable meanwhile.
pub async fn open(config: &Config) -> anyhow::Result<Arc<dyn Hose>> {
    match config.hose_backend() {
        HoseBackend::Embedded(embedded) => {
            let dir = config.data_dir.join("hose");
            let hose = EmbeddedHose::open(&dir, embedded)
                .await
                .with_context(|| format!("cannot open the hose in {}", dir.display()))?;
            Ok(hose)
        }
        HoseBackend::Amqp(amqp) => Ok(connect_broker(amqp, config.amqp.startup_wait()).await?),
    }
}

async fn connect_broker(
    config: AmqpHoseConfig,
    wait: std::time::Duration,
) -> anyhow::Result<Arc<AmqpHose>> {
    let url = config.redacted_url();
    tracing::info!(
        %url,
        prefix = %config.options.prefix,
        queue_type = config.options.queue_type.as_str(),
        "the event hose is on RabbitMQ; waiting up to {wait:?} for the broker"
    );
    let hose = AmqpHose::connect(config)
        .await
        .context("invalid RabbitMQ hose settings")?;
    if let Err(error) = hose.wait_until_connected(wait).await {
        let _ = hose.close().await;
        anyhow::bail!("cannot reach the RabbitMQ broker at {url} within {wait:?}: {error}");
    }
    tracing::info!(%url, "connected to the RabbitMQ hose");
    Ok(hose)
}
