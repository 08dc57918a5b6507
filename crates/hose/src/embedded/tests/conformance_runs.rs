//! The implementation-agnostic conformance suite, run against the embedded hose.

use super::EmbeddedHarness;
use crate::conformance;

#[tokio::test]
async fn fan_out() {
    conformance::fan_out(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn acked_deliveries_are_not_redelivered_after_restart() {
    conformance::acked_deliveries_are_not_redelivered_after_restart(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn unacked_deliveries_are_redelivered_after_restart() {
    conformance::unacked_deliveries_are_redelivered_after_restart(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn out_of_order_acks_keep_the_unacked_record() {
    conformance::out_of_order_acks_keep_the_unacked_record(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn new_subscriber_starts_at_the_end() {
    conformance::new_subscriber_starts_at_the_end(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn deferred_message_comes_back_after_its_delay() {
    conformance::deferred_message_comes_back_after_its_delay(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn deferred_message_survives_restart() {
    conformance::deferred_message_survives_restart(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn unacked_deferred_message_is_redelivered_after_restart() {
    conformance::unacked_deferred_message_is_redelivered_after_restart(EmbeddedHarness::new())
        .await;
}

#[tokio::test]
async fn due_deferred_messages_come_first_in_due_order() {
    conformance::due_deferred_messages_come_first_in_due_order(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn deferred_messages_are_never_early() {
    conformance::deferred_messages_are_never_early(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn deferred_messages_with_equal_delays_keep_their_order() {
    conformance::deferred_messages_with_equal_delays_keep_their_order(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn unacked_deliveries_are_redelivered_after_a_crash() {
    conformance::unacked_deliveries_are_redelivered_after_a_crash(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn subscriptions_hold_a_bounded_window() {
    conformance::subscriptions_hold_a_bounded_window(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn one_open_subscription_per_name() {
    conformance::one_open_subscription_per_name(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn subscriber_names_are_validated() {
    conformance::subscriber_names_are_validated(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn unregister_removes_the_subscriber() {
    conformance::unregister_removes_the_subscriber(EmbeddedHarness::new()).await;
}

#[tokio::test]
async fn closed_hose_refuses_work() {
    conformance::closed_hose_refuses_work(EmbeddedHarness::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_are_all_delivered_once() {
    conformance::concurrent_publishers_are_all_delivered_once(EmbeddedHarness::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_is_cancel_safe() {
    conformance::next_is_cancel_safe(EmbeddedHarness::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_passes_with_small_segments() {
    conformance::run_all(|| {
        EmbeddedHarness::with_config(crate::embedded::EmbeddedConfig {
            segment_bytes: 256,
            ..Default::default()
        })
    })
    .await;
}
