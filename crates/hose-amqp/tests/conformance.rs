//! The implementation-agnostic conformance suite, run against RabbitMQ with quorum queues (the
//! default) and with classic queues.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use eventhose_hose::conformance::{self, HoseHarness};
use eventhose_hose::HoseError;
use eventhose_hose_amqp::{AmqpHose, AmqpHoseConfig, QueueType};

use common::{unique_config_with, Cleanup, DEADLINE};

/// Prefetch of the harness's hoses: the window the bounded-memory check verifies.
const PREFETCH: u16 = 8;

/// Hoses on one prefix of their own; opening again after a close finds the same queues.
struct AmqpHarness {
    config: AmqpHoseConfig,
}

impl AmqpHarness {
    fn new(queue_type: QueueType) -> (Self, Cleanup) {
        let config = unique_config_with(|o| {
            o.prefetch = PREFETCH;
            o.queue_type = queue_type;
        });
        let cleanup = Cleanup::new(&config);
        (Self { config }, cleanup)
    }
}

#[async_trait]
impl HoseHarness for AmqpHarness {
    type Hose = AmqpHose;

    async fn open(&mut self) -> Result<Arc<AmqpHose>, HoseError> {
        let hose = AmqpHose::connect(self.config.clone()).await?;
        hose.wait_until_connected(DEADLINE).await?;
        Ok(hose)
    }

    fn competing_consumers(&self) -> bool {
        true
    }

    fn due_deferred_before_stream(&self) -> bool {
        false
    }

    fn delivery_window(&self) -> Option<usize> {
        Some(usize::from(PREFETCH))
    }

    async fn undelivered(&mut self, hose: &AmqpHose, subscriber: &str) -> Option<u64> {
        let stats = hose.inspect(subscriber).await.expect("queue statistics");
        Some(stats.messages)
    }
}

macro_rules! conformance_tests {
    ($queue_type:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (harness, _cleanup) = super::AmqpHarness::new($queue_type);
                super::conformance::$check(harness).await;
            }
        )*
    };
}

macro_rules! every_check {
    ($queue_type:expr) => {
        conformance_tests!(
            $queue_type;
    fan_out,
    acked_deliveries_are_not_redelivered_after_restart,
    unacked_deliveries_are_redelivered_after_restart,
    out_of_order_acks_keep_the_unacked_record,
    new_subscriber_starts_at_the_end,
    deferred_message_comes_back_after_its_delay,
    deferred_message_survives_restart,
    unacked_deferred_message_is_redelivered_after_restart,
    due_deferred_messages_come_first_in_due_order,
    deferred_messages_are_never_early,
    deferred_messages_with_equal_delays_keep_their_order,
    unacked_deliveries_are_redelivered_after_a_crash,
    subscriptions_hold_a_bounded_window,
    one_open_subscription_per_name,
    subscriber_names_are_validated,
    unregister_removes_the_subscriber,
    closed_hose_refuses_work,
    concurrent_publishers_are_all_delivered_once,
            next_is_cancel_safe,
        );
    };
}

mod quorum {
    every_check!(eventhose_hose_amqp::QueueType::Quorum);
}

mod classic {
    every_check!(eventhose_hose_amqp::QueueType::Classic);
}
