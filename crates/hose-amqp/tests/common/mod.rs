//! Helpers for tests against the RabbitMQ broker at 127.0.0.1:5672 (guest/guest): per-test
//! names, cleanup of a test's queues, and `rabbitmqctl` for what AMQP cannot do.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eventhose_hose::{Delivery, Hose, Message, Subscription};
use eventhose_hose_amqp::{AmqpHose, AmqpHoseConfig, AmqpOptions};
use eventhose_test_support::rabbitmq::rabbitmqctl;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

/// Longest wait for anything expected to happen.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A configuration with a prefix and connection name no other test uses.
pub fn unique_config() -> AmqpHoseConfig {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut config = AmqpHoseConfig::default();
    config.options = AmqpOptions {
        prefix: format!("ehtest.{}.", &id[..12]),
        connection_name: format!("eventhose-test-{}", &id[..12]),
        prefetch: 16,
        reconnect_min_ms: 100,
        reconnect_max_ms: 2_000,
        stats_interval_ms: 500,
        ..config.options
    };
    config
}

/// [`unique_config`] with `change` made to its options.
pub fn unique_config_with(change: impl FnOnce(&mut AmqpOptions)) -> AmqpHoseConfig {
    let mut config = unique_config();
    change(&mut config.options);
    config
}

/// Connects and waits until the connection is up.
pub async fn connect(config: &AmqpHoseConfig) -> Arc<AmqpHose> {
    let hose = AmqpHose::connect(config.clone()).await.expect("connect");
    hose.wait_until_connected(DEADLINE)
        .await
        .expect("the broker at 127.0.0.1:5672 accepts the connection");
    hose
}

/// Deletes every queue and the exchange of a prefix when dropped, even after a failed assertion.
pub struct Cleanup {
    config: AmqpHoseConfig,
}

impl Cleanup {
    pub fn new(config: &AmqpHoseConfig) -> Self {
        Self {
            config: config.clone(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let config = self.config.clone();
        // A runtime of its own on a thread of its own: drop may run inside the test's runtime.
        let purge = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(purge(&config));
        });
        let _ = purge.join();
    }
}

async fn purge(config: &AmqpHoseConfig) {
    let queues: Vec<String> = rabbitmqctl(&["list_queues", "name", "--no-table-headers"])
        .lines()
        .map(str::trim)
        .filter(|name| name.starts_with(&config.options.prefix))
        .map(str::to_owned)
        .collect();
    let Ok(connection) = Connection::connect(&config.url, ConnectionProperties::default()).await
    else {
        return;
    };
    let Ok(channel) = connection.create_channel().await else {
        return;
    };
    for queue in queues {
        let _ = channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = channel
        .exchange_delete(
            format!("{}events", config.options.prefix).into(),
            ExchangeDeleteOptions::default(),
        )
        .await;
    let _ = connection.close(200, "test cleanup".into()).await;
}

/// Erlang process ids of the broker's connections whose client named itself `connection_name`.
pub fn connection_pids(connection_name: &str) -> Vec<String> {
    let needle = format!("\"{connection_name}\"");
    rabbitmqctl(&[
        "list_connections",
        "pid",
        "client_properties",
        "--no-table-headers",
    ])
    .lines()
    .filter(|line| line.contains(&needle))
    .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
    .collect()
}

/// Makes the broker close every connection named `connection_name`; returns how many it closed.
pub fn close_connections(connection_name: &str) -> usize {
    let pids = connection_pids(connection_name);
    for pid in &pids {
        rabbitmqctl(&["close_connection", pid, "closed by an eventhose fault test"]);
    }
    pids.len()
}

pub fn message(text: &str) -> Message {
    Bytes::copy_from_slice(text.as_bytes())
}

pub async fn publish(hose: &dyn Hose, texts: &[&str]) {
    let receipt = hose
        .publish(texts.iter().map(|t| message(t)).collect())
        .await
        .expect("publish");
    assert_eq!(receipt.messages, texts.len());
}

pub async fn next(sub: &mut dyn Subscription) -> Delivery {
    tokio::time::timeout(DEADLINE, sub.next())
        .await
        .expect("no delivery within the deadline")
        .expect("next delivery")
}

pub fn texts(delivery: &Delivery) -> Vec<String> {
    delivery
        .messages
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect()
}
