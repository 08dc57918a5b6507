//! Implementation-agnostic checks of the [`Hose`] contract, for every implementation's test suite.
//!
//! Each check takes a fresh [`HoseHarness`] (empty storage), opens the hose through it, possibly closes and
//! reopens it to simulate a restart, and panics with a descriptive message when the contract is broken.
//! Waits are bounded by a generous deadline so a broken implementation fails instead of hanging.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{Delivery, Hose, HoseError, Message, Rejected, Settle, Subscription};

/// Longest wait for an expected delivery before a check fails.
const DEADLINE: Duration = Duration::from_secs(30);

/// Gives the checks a hose on storage of their own.
#[async_trait::async_trait]
pub trait HoseHarness: Send {
    /// The implementation under test.
    type Hose: Hose;

    /// Opens the hose. After the previous instance was closed, opening again must find the same durable
    /// state, as after a process restart.
    async fn open(&mut self) -> Result<Arc<Self::Hose>, HoseError>;

    /// Opens the hose after the previous instance was dropped without `close` (a crash). The default
    /// retries [`open`](Self::open) while the storage is still locked by the dropped instance.
    async fn reopen_after_crash(&mut self) -> Result<Arc<Self::Hose>, HoseError> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            match self.open().await {
                Err(HoseError::Locked { .. }) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                result => return result,
            }
        }
    }

    /// Whether several subscriptions of one name may be open at once, sharing its deliveries
    /// (competing consumers) instead of refusing with [`HoseError::AlreadySubscribed`].
    fn competing_consumers(&self) -> bool {
        false
    }

    /// Whether due deferred messages are served before stream records, earliest due first. When
    /// false, the implementation promises only that deferred messages never come early and that
    /// those deferred with equal delays keep their order.
    fn due_deferred_before_stream(&self) -> bool {
        true
    }

    /// The most unacknowledged deliveries one subscription can hold (a broker's prefetch), when the
    /// implementation bounds memory that way.
    fn delivery_window(&self) -> Option<usize> {
        None
    }

    /// Asked afresh from the storage: how many of `subscriber`'s messages no subscription has
    /// received yet, when the implementation can tell.
    async fn undelivered(&mut self, _hose: &Self::Hose, _subscriber: &str) -> Option<u64> {
        None
    }
}

/// Runs every check, each with a fresh harness from `make`.
pub async fn run_all<H: HoseHarness>(mut make: impl FnMut() -> H) {
    fan_out(make()).await;
    acked_deliveries_are_not_redelivered_after_restart(make()).await;
    unacked_deliveries_are_redelivered_after_restart(make()).await;
    out_of_order_acks_keep_the_unacked_record(make()).await;
    new_subscriber_starts_at_the_end(make()).await;
    deferred_message_comes_back_after_its_delay(make()).await;
    messages_deferred_together_survive_a_restart(make()).await;
    deferred_message_survives_restart(make()).await;
    unacked_deferred_message_is_redelivered_after_restart(make()).await;
    due_deferred_messages_come_first_in_due_order(make()).await;
    deferred_messages_are_never_early(make()).await;
    deferred_messages_with_equal_delays_keep_their_order(make()).await;
    unacked_deliveries_are_redelivered_after_a_crash(make()).await;
    subscriptions_hold_a_bounded_window(make()).await;
    one_open_subscription_per_name(make()).await;
    subscriber_names_are_validated(make()).await;
    unregister_removes_the_subscriber(make()).await;
    closed_hose_refuses_work(make()).await;
    concurrent_publishers_are_all_delivered_once(make()).await;
    next_is_cancel_safe(make()).await;
    dead_letters_wait_until_retried_or_dropped(make()).await;
}

/// Every registered subscriber sees every message exactly once, in publish order, when acking in order.
pub async fn fan_out<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let names = ["alpha", "beta", "gamma"];
    for name in names {
        hose.register(name).await.expect("register");
    }
    let mut expected = Vec::new();
    for i in 0..20 {
        let batch: Vec<String> = (0..=(i % 3)).map(|j| format!("m{i}-{j}")).collect();
        expected.extend(batch.iter().cloned());
        publish(&*hose, &batch).await;
    }
    for name in names {
        let mut sub = hose.subscribe(name).await.expect("subscribe");
        let mut seen = Vec::new();
        let mut last_position = None;
        while seen.len() < expected.len() {
            let delivery = next(&mut *sub).await;
            assert_eq!(delivery.attempt, 0, "stream deliveries carry attempt 0");
            if let (Some(previous), Some(current)) = (last_position, delivery.position) {
                assert!(
                    current > previous,
                    "positions must increase: {previous} then {current}"
                );
            }
            last_position = delivery.position.or(last_position);
            seen.extend(texts(&delivery));
            sub.ack(&delivery.tag).await.expect("ack");
        }
        assert_eq!(
            seen, expected,
            "subscriber {name} saw the wrong messages or order"
        );
    }
    close(&*hose).await;
}

/// Acknowledged deliveries do not come again after a restart.
pub async fn acked_deliveries_are_not_redelivered_after_restart<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    hose.register("sub").await.expect("register");
    publish(&*hose, &["one"]).await;
    publish(&*hose, &["two", "three"]).await;
    let mut sub = hose.subscribe("sub").await.expect("subscribe");
    for expected in [vec!["one"], vec!["two", "three"]] {
        let delivery = next(&mut *sub).await;
        assert_eq!(texts(&delivery), expected);
        sub.ack(&delivery.tag).await.expect("ack");
    }
    drop(sub);
    close(&*hose).await;

    let hose = open(&mut harness).await;
    let mut sub = hose
        .subscribe("sub")
        .await
        .expect("subscribe after restart");
    expect_marker_next(&*hose, &mut *sub, "acked messages were delivered again").await;
    close(&*hose).await;
}

/// Deliveries not acknowledged before a restart come again after it, in order.
pub async fn unacked_deliveries_are_redelivered_after_restart<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    hose.register("sub").await.expect("register");
    for text in ["b1", "b2", "b3"] {
        publish(&*hose, &[text]).await;
    }
    let mut sub = hose.subscribe("sub").await.expect("subscribe");
    let first = next(&mut *sub).await;
    assert_eq!(texts(&first), ["b1"]);
    sub.ack(&first.tag).await.expect("ack");
    assert_eq!(texts(&next(&mut *sub).await), ["b2"]);
    assert_eq!(texts(&next(&mut *sub).await), ["b3"]);
    drop(sub);
    close(&*hose).await;

    let hose = open(&mut harness).await;
    let mut sub = hose
        .subscribe("sub")
        .await
        .expect("subscribe after restart");
    for expected in ["b2", "b3"] {
        let delivery = next(&mut *sub).await;
        assert_eq!(
            texts(&delivery),
            [expected],
            "unacked deliveries must come again in order"
        );
        sub.ack(&delivery.tag).await.expect("ack");
    }
    expect_marker_next(&*hose, &mut *sub, "nothing may come before a new message").await;
    close(&*hose).await;
}

/// Acking later records first does not lose an earlier unacknowledged one.
pub async fn out_of_order_acks_keep_the_unacked_record<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    hose.register("sub").await.expect("register");
    for text in ["r1", "r2", "r3"] {
        publish(&*hose, &[text]).await;
    }
    let mut sub = hose.subscribe("sub").await.expect("subscribe");
    let r1 = next(&mut *sub).await;
    let r2 = next(&mut *sub).await;
    let r3 = next(&mut *sub).await;
    sub.ack(&r3.tag).await.expect("ack r3");
    sub.ack(&r1.tag).await.expect("ack r1");
    drop((sub, r2));
    close(&*hose).await;

    let hose = open(&mut harness).await;
    publish(&*hose, &["marker"]).await;
    let mut sub = hose
        .subscribe("sub")
        .await
        .expect("subscribe after restart");
    let mut seen = Vec::new();
    loop {
        let delivery = next(&mut *sub).await;
        let text = texts(&delivery);
        sub.ack(&delivery.tag).await.expect("ack");
        if text == ["marker"] {
            break;
        }
        seen.extend(text);
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("r2"),
        "the unacked record must come first: {seen:?}"
    );
    assert!(
        !seen.iter().any(|t| t == "r1"),
        "r1 was acked and sits before the gap: {seen:?}"
    );
    close(&*hose).await;
}

/// A subscriber registered after a publish does not see it, but sees everything after registering.
pub async fn new_subscriber_starts_at_the_end<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    hose.register("early").await.expect("register");
    publish(&*hose, &["before"]).await;
    hose.register("late").await.expect("register late");
    publish(&*hose, &["after"]).await;
    let mut late = hose.subscribe("late").await.expect("subscribe");
    assert_eq!(texts(&next(&mut *late).await), ["after"]);
    let mut early = hose.subscribe("early").await.expect("subscribe");
    assert_eq!(texts(&next(&mut *early).await), ["before"]);
    close(&*hose).await;
}

/// A deferred message is delivered after its delay, never before, carrying its attempt number, only once.
pub async fn deferred_message_comes_back_after_its_delay<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    let delay = Duration::from_millis(400);
    let deferred_at = Instant::now();
    sub.defer(Bytes::from_static(b"retry-me"), delay, 3)
        .await
        .expect("defer");
    let delivery = next(&mut *sub).await;
    let waited = deferred_at.elapsed();
    assert!(
        waited >= delay,
        "delivered after {waited:?}, before its delay of {delay:?}"
    );
    assert_eq!(texts(&delivery), ["retry-me"]);
    assert_eq!(delivery.attempt, 3);
    assert_eq!(
        delivery.position, None,
        "deferred deliveries have no stream position"
    );
    sub.ack(&delivery.tag).await.expect("ack");
    expect_marker_next(&*hose, &mut *sub, "an acked deferred message came again").await;
    close(&*hose).await;
}

/// Messages deferred in one call each keep their delay and attempt, and outlive a restart.
pub async fn messages_deferred_together_survive_a_restart<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    let deferral = |text: &'static str, ms: u64, attempt: u32| crate::Deferral {
        message: Bytes::from_static(text.as_bytes()),
        delay: Duration::from_millis(ms),
        attempt,
    };
    let deferred_at = Instant::now();
    sub.defer_many(vec![deferral("second", 300, 2), deferral("first", 100, 5)])
        .await
        .expect("defer many");
    drop(sub);
    close(&*hose).await;
    let hose = open(&mut harness).await;
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    let mut got = Vec::new();
    for _ in 0..2 {
        let delivery = next(&mut *sub).await;
        let text = texts(&delivery).concat();
        let delay = if text == "second" { 300 } else { 100 };
        assert!(
            deferred_at.elapsed() >= Duration::from_millis(delay),
            "{text} came before its delay"
        );
        got.push((text, delivery.attempt));
        sub.ack(&delivery.tag).await.expect("ack");
    }
    got.sort();
    assert_eq!(got, [("first".to_owned(), 5), ("second".to_owned(), 2)]);
    expect_marker_next(&*hose, &mut *sub, "an acked deferred message came again").await;
    close(&*hose).await;
}

/// A deferred message outlives a restart and still honours its delay.
pub async fn deferred_message_survives_restart<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    let delay = Duration::from_millis(300);
    let deferred_at = Instant::now();
    sub.defer(Bytes::from_static(b"durable-retry"), delay, 2)
        .await
        .expect("defer");
    drop(sub);
    close(&*hose).await;

    let hose = open(&mut harness).await;
    let mut sub = hose
        .subscribe("hooks")
        .await
        .expect("subscribe after restart");
    let delivery = next(&mut *sub).await;
    assert!(deferred_at.elapsed() >= delay, "delivered before its delay");
    assert_eq!(texts(&delivery), ["durable-retry"]);
    assert_eq!(delivery.attempt, 2);
    sub.ack(&delivery.tag).await.expect("ack");
    drop(sub);
    close(&*hose).await;

    let hose = open(&mut harness).await;
    let mut sub = hose
        .subscribe("hooks")
        .await
        .expect("subscribe after restart");
    expect_marker_next(&*hose, &mut *sub, "an acked deferred message survived").await;
    close(&*hose).await;
}

/// A deferred message delivered but not acknowledged before a restart is delivered again after it.
pub async fn unacked_deferred_message_is_redelivered_after_restart<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    sub.defer(Bytes::from_static(b"in-flight"), Duration::ZERO, 5)
        .await
        .expect("defer");
    let delivery = next(&mut *sub).await;
    assert_eq!(texts(&delivery), ["in-flight"]);
    drop(sub);
    close(&*hose).await;

    let hose = open(&mut harness).await;
    let mut sub = hose
        .subscribe("hooks")
        .await
        .expect("subscribe after restart");
    let again = next(&mut *sub).await;
    assert_eq!(
        texts(&again),
        ["in-flight"],
        "the unacked deferred message was lost"
    );
    assert_eq!(again.attempt, 5);
    sub.ack(&again.tag).await.expect("ack");
    expect_marker_next(&*hose, &mut *sub, "nothing may come before a new message").await;
    close(&*hose).await;
}

/// Due deferred messages are served before stream records, earliest due first (implementations
/// without that rule deliver all four, each deferred one after its delay).
pub async fn due_deferred_messages_come_first_in_due_order<H: HoseHarness>(mut harness: H) {
    let deferred_first = harness.due_deferred_before_stream();
    let hose = open(&mut harness).await;
    let deferred_at = Instant::now();
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    for (text, millis) in [("third", 300), ("first", 100), ("second", 200)] {
        sub.defer(Bytes::from(text), Duration::from_millis(millis), 1)
            .await
            .expect("defer");
    }
    publish(&*hose, &["stream"]).await;
    // Every delay was counted from a moment before this point, so once the longest has passed again all
    // three are due (the margin covers implementations that round due times to coarser clock units) and the
    // stream record competes with them. This waits for the clock, not for the hose: only time makes them due.
    tokio::time::sleep(Duration::from_millis(300 + 50)).await;
    let mut order = Vec::new();
    for _ in 0..4 {
        let delivery = next(&mut *sub).await;
        let text = texts(&delivery);
        let min_delay = match text.first().map(String::as_str) {
            Some("first") => 100,
            Some("second") => 200,
            Some("third") => 300,
            _ => 0,
        };
        assert!(
            deferred_at.elapsed() >= Duration::from_millis(min_delay),
            "{text:?} came before its delay"
        );
        order.extend(text);
        sub.ack(&delivery.tag).await.expect("ack");
    }
    if deferred_first {
        assert_eq!(order, ["first", "second", "third", "stream"]);
    } else {
        order.sort();
        assert_eq!(order, ["first", "second", "stream", "third"]);
    }
    expect_marker_next(&*hose, &mut *sub, "a deferred message came twice").await;
    close(&*hose).await;
}

/// Deferred messages, whatever their delay (zero included), are never delivered before it has
/// elapsed, and carry their attempt numbers.
pub async fn deferred_messages_are_never_early<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let mut sub = hose.subscribe("timer").await.expect("subscribe");
    let delays_ms: [u64; 6] = [650, 0, 40, 250, 7, 1000];
    let mut deferred = Vec::new();
    for (attempt, millis) in (1u32..).zip(delays_ms) {
        let text = format!("after-{millis}ms");
        let deferred_at = Instant::now();
        sub.defer(
            Bytes::from(text.clone()),
            Duration::from_millis(millis),
            attempt,
        )
        .await
        .expect("defer");
        deferred.push((text, deferred_at, millis, attempt));
    }
    for _ in 0..delays_ms.len() {
        let delivery = next(&mut *sub).await;
        let text = texts(&delivery);
        let Some((_, deferred_at, millis, attempt)) = deferred
            .iter()
            .find(|(t, ..)| [t.as_str()] == text.as_slice())
        else {
            panic!("unexpected delivery {text:?}");
        };
        let waited = deferred_at.elapsed();
        assert!(
            waited >= Duration::from_millis(*millis),
            "{text:?} came after {waited:?}, before its delay of {millis} ms"
        );
        assert_eq!(
            delivery.attempt, *attempt,
            "{text:?} lost its attempt number"
        );
        sub.ack(&delivery.tag).await.expect("ack");
    }
    expect_marker_next(&*hose, &mut *sub, "a deferred message came twice").await;
    close(&*hose).await;
}

/// Messages deferred with the same delay come back in the order they were deferred.
pub async fn deferred_messages_with_equal_delays_keep_their_order<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    let expected: Vec<String> = (0..6).map(|i| format!("retry-{i}")).collect();
    for text in &expected {
        sub.defer(Bytes::from(text.clone()), Duration::from_millis(60), 1)
            .await
            .expect("defer");
    }
    let mut order = Vec::new();
    while order.len() < expected.len() {
        let delivery = next(&mut *sub).await;
        order.extend(texts(&delivery));
        sub.ack(&delivery.tag).await.expect("ack");
    }
    assert_eq!(order, expected, "equal delays must keep the defer order");
    close(&*hose).await;
}

/// A delivery not acknowledged when the hose is dropped without `close` (a crash) comes again
/// after reopening. An acknowledged one may come again too (at least once), nothing else does.
pub async fn unacked_deliveries_are_redelivered_after_a_crash<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    hose.register("sub").await.expect("register");
    publish(&*hose, &["c1"]).await;
    publish(&*hose, &["c2"]).await;
    let mut sub = hose.subscribe("sub").await.expect("subscribe");
    let first = next(&mut *sub).await;
    assert_eq!(texts(&first), ["c1"]);
    sub.ack(&first.tag).await.expect("ack");
    assert_eq!(texts(&next(&mut *sub).await), ["c2"]);
    drop(sub);
    drop(hose);

    let hose = harness
        .reopen_after_crash()
        .await
        .expect("reopen after a crash");
    let mut sub = hose
        .subscribe("sub")
        .await
        .expect("subscribe after a crash");
    loop {
        let delivery = next(&mut *sub).await;
        let text = texts(&delivery);
        sub.ack(&delivery.tag).await.expect("ack");
        assert!(
            text == ["c1"] || text == ["c2"],
            "only c1 and c2 may come after the crash, got {text:?}"
        );
        if text == ["c2"] {
            break;
        }
    }
    expect_marker_next(&*hose, &mut *sub, "a stale delivery came after c2").await;
    close(&*hose).await;
}

/// With many messages waiting, a subscription holds no more unacknowledged deliveries than its
/// window: the rest stay in the hose's storage (checked where the implementation can tell) until
/// acknowledgements make room. Every message is delivered once.
pub async fn subscriptions_hold_a_bounded_window<H: HoseHarness>(mut harness: H) {
    const MESSAGES: usize = 120;
    let window = harness.delivery_window();
    if let Some(window) = window {
        assert!(
            (1..MESSAGES).contains(&window),
            "the harness's window must be below {MESSAGES}"
        );
    }
    let hose = open(&mut harness).await;
    hose.register("bounded").await.expect("register");
    let expected: Vec<String> = (0..MESSAGES).map(|i| format!("m{i}")).collect();
    for text in &expected {
        publish(&*hose, &[text]).await;
    }
    let mut sub = hose.subscribe("bounded").await.expect("subscribe");
    let mut held = Vec::new();
    for _ in 0..window.unwrap_or(1) {
        held.push(next(&mut *sub).await);
    }
    if let (Some(window), Some(undelivered)) = (window, harness.undelivered(&hose, "bounded").await)
    {
        assert_eq!(
            undelivered,
            (MESSAGES - window) as u64,
            "with {window} deliveries unacknowledged, the other messages must stay in storage"
        );
    }
    let mut seen: Vec<String> = held.iter().flat_map(texts).collect();
    for delivery in &held {
        sub.ack(&delivery.tag).await.expect("ack");
    }
    while seen.len() < MESSAGES {
        let delivery = next(&mut *sub).await;
        seen.extend(texts(&delivery));
        sub.ack(&delivery.tag).await.expect("ack");
    }
    seen.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "every message exactly once");
    close(&*hose).await;
}

/// Only one subscription per name may be open (unless the implementation has competing
/// consumers, which may open several); dropping it frees the name.
pub async fn one_open_subscription_per_name<H: HoseHarness>(mut harness: H) {
    let competing = harness.competing_consumers();
    let hose = open(&mut harness).await;
    let first = hose.subscribe("solo").await.expect("subscribe");
    let second = hose.subscribe("solo").await;
    if competing {
        let refused = second.as_ref().err();
        assert!(
            refused.is_none(),
            "competing consumers share a name: {refused:?}"
        );
    } else {
        assert!(matches!(
            &second,
            Err(HoseError::AlreadySubscribed(name)) if name.as_str() == "solo"
        ));
    }
    drop(second);
    let other = hose.subscribe("other").await;
    assert!(other.is_ok(), "another name is independent");
    drop(first);
    assert!(
        hose.subscribe("solo").await.is_ok(),
        "dropping the subscription frees the name"
    );
    close(&*hose).await;
}

/// Names outside `[a-z0-9_-]{1,64}` are refused everywhere.
pub async fn subscriber_names_are_validated<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    for bad in ["", "Upper", "dot.ted", "sl/ash", &"x".repeat(65)] {
        assert!(
            matches!(hose.register(bad).await, Err(HoseError::InvalidName(_))),
            "register {bad:?}"
        );
        assert!(
            matches!(hose.subscribe(bad).await, Err(HoseError::InvalidName(_))),
            "subscribe {bad:?}"
        );
        assert!(
            matches!(hose.unregister(bad).await, Err(HoseError::InvalidName(_))),
            "unregister {bad:?}"
        );
    }
    assert!(hose.register("ok_name-1").await.is_ok());
    close(&*hose).await;
}

/// Unregistering removes the subscriber from the stats; it cannot remove an open or unknown one.
pub async fn unregister_removes_the_subscriber<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    hose.register("temp").await.expect("register");
    hose.register("temp").await.expect("register is idempotent");
    assert!(hose.stats().subscriber("temp").is_some());
    let sub = hose.subscribe("temp").await.expect("subscribe");
    assert!(matches!(
        hose.unregister("temp").await,
        Err(HoseError::AlreadySubscribed(_))
    ));
    drop(sub);
    hose.unregister("temp").await.expect("unregister");
    assert!(hose.stats().subscriber("temp").is_none());
    assert!(matches!(
        hose.unregister("temp").await,
        Err(HoseError::UnknownSubscriber(_))
    ));
    close(&*hose).await;

    let hose = open(&mut harness).await;
    assert!(
        hose.stats().subscriber("temp").is_none(),
        "unregistration must be durable"
    );
    close(&*hose).await;
}

/// After close, publishing and subscribing fail with `Closed` and waiting subscriptions wake with `Closed`.
pub async fn closed_hose_refuses_work<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let mut waiting = hose.subscribe("waiter").await.expect("subscribe");
    let waiter = tokio::spawn(async move { waiting.next().await });
    hose.close().await.expect("close");
    let woken = tokio::time::timeout(DEADLINE, waiter)
        .await
        .expect("a waiting subscription did not wake on close")
        .expect("waiter task");
    assert!(
        matches!(woken, Err(HoseError::Closed)),
        "waiting next() gave {woken:?}"
    );
    assert!(matches!(
        hose.publish(vec![Bytes::from_static(b"late")]).await,
        Err(HoseError::Closed)
    ));
    assert!(matches!(
        hose.subscribe("other").await,
        Err(HoseError::Closed)
    ));
    hose.close().await.expect("close is idempotent");
}

/// Eight tasks publishing at once all succeed, and a subscriber sees each message exactly once, with each
/// task's messages in that task's order.
pub async fn concurrent_publishers_are_all_delivered_once<H: HoseHarness>(mut harness: H) {
    const TASKS: usize = 8;
    const PUBLISHES: usize = 40;
    let hose = open(&mut harness).await;
    hose.register("counter").await.expect("register");
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let hose = Arc::clone(&hose);
        tasks.push(tokio::spawn(async move {
            for i in 0..PUBLISHES {
                let batch = [format!("t{task}-{i}-a"), format!("t{task}-{i}-b")];
                hose.publish(batch.iter().map(|t| Bytes::from(t.clone())).collect())
                    .await
                    .expect("concurrent publish");
            }
        }));
    }
    for task in tasks {
        task.await.expect("publisher task");
    }
    let total = TASKS * PUBLISHES * 2;
    let mut sub = hose.subscribe("counter").await.expect("subscribe");
    let mut seen = Vec::with_capacity(total);
    while seen.len() < total {
        let delivery = next(&mut *sub).await;
        seen.extend(texts(&delivery));
        sub.ack(&delivery.tag).await.expect("ack");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), total, "duplicates delivered");
    for task in 0..TASKS {
        let own: Vec<&String> = seen
            .iter()
            .filter(|t| t.starts_with(&format!("t{task}-")))
            .collect();
        let expected: Vec<String> = (0..PUBLISHES)
            .flat_map(|i| [format!("t{task}-{i}-a"), format!("t{task}-{i}-b")])
            .collect();
        assert_eq!(
            own,
            expected.iter().collect::<Vec<_>>(),
            "task {task} order broken"
        );
    }
    close(&*hose).await;
}

/// A message set aside waits in its own subscriber's dead letters, with its reason and
/// attempt, across a restart; a retry delivers it to that subscriber again (waking an idle
/// subscription) and removes it; a drop removes it; unknown ids settle nothing.
pub async fn dead_letters_wait_until_retried_or_dropped<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    hose.register("other").await.expect("register");
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    publish(&*hose, &["poison", "fine"]).await;
    let delivery = next(&mut *sub).await;
    assert_eq!(texts(&delivery), ["poison", "fine"]);
    sub.dead_letter(Rejected {
        message: delivery.messages[0].clone(),
        attempt: delivery.attempt,
        reason: "cannot read it".to_owned(),
    })
    .await
    .expect("dead letter");
    sub.ack(&delivery.tag).await.expect("ack");
    drop(sub);
    close(&*hose).await;

    let hose = open(&mut harness).await;
    let page = hose.dead_letters("hooks", 10).await.expect("list");
    assert_eq!(page.total, 1, "one dead letter after a restart: {page:?}");
    let letter = page.letters[0].clone();
    assert_eq!(letter.reason, "cannot read it");
    assert_eq!(letter.attempt, 0);
    assert_eq!(letter.messages, vec![Bytes::from_static(b"poison")]);
    assert_eq!(hose.dead_letters("other", 10).await.expect("list").total, 0);
    assert_eq!(
        hose.dead_letter("hooks", &letter.id).await.expect("show"),
        Some(letter.clone())
    );
    assert!(matches!(
        hose.dead_letters("nobody", 10).await,
        Err(HoseError::UnknownSubscriber(_))
    ));

    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    let (retried, settled) = tokio::join!(
        next(&mut *sub),
        hose.settle_dead_letter("hooks", &letter.id, Settle::Retry)
    );
    assert!(settled.expect("retry"), "the retry found its dead letter");
    assert_eq!(texts(&retried), ["poison"]);
    assert_eq!(retried.attempt, 0, "a retry keeps the attempt");
    sub.ack(&retried.tag).await.expect("ack");
    assert_eq!(hose.dead_letters("hooks", 10).await.expect("list").total, 0);
    assert!(!hose
        .settle_dead_letter("hooks", &letter.id, Settle::Retry)
        .await
        .expect("settle"));

    sub.dead_letter(Rejected {
        message: Bytes::from_static(b"hopeless"),
        attempt: 4,
        reason: "no".to_owned(),
    })
    .await
    .expect("dead letter");
    let page = hose.dead_letters("hooks", 10).await.expect("list");
    assert_eq!(page.letters[0].attempt, 4);
    assert!(hose
        .settle_dead_letter("hooks", &page.letters[0].id, Settle::Drop)
        .await
        .expect("drop"));
    assert_eq!(hose.dead_letters("hooks", 10).await.expect("list").total, 0);
    let unknown = "0".repeat(32);
    assert_eq!(
        hose.dead_letter("hooks", &unknown).await.expect("show"),
        None
    );
    assert!(!hose
        .settle_dead_letter("hooks", &unknown, Settle::Drop)
        .await
        .expect("drop"));
    expect_marker_next(&*hose, &mut *sub, "a dropped dead letter was delivered").await;
    drop(sub);
    close(&*hose).await;
}

async fn open<H: HoseHarness>(harness: &mut H) -> Arc<H::Hose> {
    harness.open().await.expect("open hose")
}

async fn close(hose: &dyn Hose) {
    hose.close().await.expect("close hose");
}

async fn publish(hose: &dyn Hose, texts: &[impl AsRef<str>]) {
    let batch: Vec<Message> = texts
        .iter()
        .map(|t| Bytes::copy_from_slice(t.as_ref().as_bytes()))
        .collect();
    let receipt = hose.publish(batch).await.expect("publish");
    assert_eq!(receipt.messages, texts.len());
}

async fn next(sub: &mut dyn Subscription) -> Delivery {
    tokio::time::timeout(DEADLINE, sub.next())
        .await
        .expect("no delivery within the deadline")
        .expect("next delivery")
}

/// `next` futures dropped before they complete, as the losing branch of a `select!` is, lose
/// no delivery: what they may have taken comes from a later call, once.
pub async fn next_is_cancel_safe<H: HoseHarness>(mut harness: H) {
    let hose = open(&mut harness).await;
    let mut sub = hose.subscribe("hooks").await.expect("subscribe");
    sub.defer(Bytes::from_static(b"deferred"), Duration::ZERO, 2)
        .await
        .expect("defer");
    publish(&*hose, &["stream"]).await;
    let mut got = Vec::new();
    // Abandon `next` many times over (bounded), each time once the work its poll started (a
    // blocking read, say) has woken it, keeping what completes at its first poll.
    let abandon_until = Instant::now() + DEADLINE;
    for _ in 0..200 {
        if got.len() == 2 {
            break;
        }
        let wait = abandon_until.saturating_duration_since(Instant::now());
        let result = match poll_first(sub.next()) {
            FirstPoll::Ready(result) => result,
            FirstPoll::Started(started) => {
                if started.drop_once_woken(wait).await {
                    continue;
                }
                // Nothing woke it: leave the rest to the plain calls below.
                break;
            }
        };
        let delivery = result.expect("next");
        got.extend(texts(&delivery));
        sub.ack(&delivery.tag).await.expect("ack");
    }
    while got.len() < 2 {
        let delivery = next(&mut *sub).await;
        got.extend(texts(&delivery));
        sub.ack(&delivery.tag).await.expect("ack");
    }
    got.sort();
    assert_eq!(got, ["deferred", "stream"]);
    expect_marker_next(
        &*hose,
        &mut *sub,
        "a cancelled next delivered something twice",
    )
    .await;
    close(&*hose).await;
}

/// How [`poll_first`] left a future.
pub(crate) enum FirstPoll<T, F> {
    /// It was ready.
    Ready(T),
    /// It waits for the work its poll started.
    Started(Started<F>),
}

/// A future polled once, waiting for the work that poll started.
pub(crate) struct Started<F> {
    future: std::pin::Pin<Box<tokio::task::Unconstrained<F>>>,
    woken: Arc<WakeSignal>,
}

/// Polls `future` once, outside tokio's cooperative budget so that the only wake is the one its
/// work sends.
pub(crate) fn poll_first<F: std::future::Future>(future: F) -> FirstPoll<F::Output, F> {
    let woken = Arc::new(WakeSignal::default());
    let waker = std::task::Waker::from(Arc::clone(&woken));
    let mut future = Box::pin(tokio::task::unconstrained(future));
    let mut context = std::task::Context::from_waker(&waker);
    match std::future::Future::poll(future.as_mut(), &mut context) {
        std::task::Poll::Ready(output) => FirstPoll::Ready(output),
        std::task::Poll::Pending => FirstPoll::Started(Started { future, woken }),
    }
}

impl<F> Started<F> {
    /// Waits (up to `wait`) for the work the first poll started to wake the future, then drops
    /// it unpolled: a losing `select!` branch abandoned at the worst moment, its work done and
    /// the result left behind. Whether it woke.
    pub(crate) async fn drop_once_woken(self, wait: Duration) -> bool {
        let woken = tokio::time::timeout(wait, self.woken.0.notified())
            .await
            .is_ok();
        drop(self.future);
        woken
    }
}

/// A waker that records its wake (one, kept until awaited).
#[derive(Default)]
struct WakeSignal(tokio::sync::Notify);

impl std::task::Wake for WakeSignal {
    fn wake(self: Arc<Self>) {
        self.0.notify_one();
    }
}

/// Publishes a marker and checks it is the very next delivery: nothing stale is left queued.
async fn expect_marker_next(hose: &dyn Hose, sub: &mut dyn Subscription, why: &str) {
    publish(hose, &["marker"]).await;
    assert_eq!(texts(&next(sub).await), ["marker"], "{why}");
}

fn texts(delivery: &Delivery) -> Vec<String> {
    delivery
        .messages
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect()
}
