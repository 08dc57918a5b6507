//! Outcome and engagement shares stay in the ballpark of real senders.

// A test's unwrap is its assertion: the panic names what failed.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{by_message, compressed, n, parsed, s};

fn within(name: &str, value: f64, low: f64, high: f64) {
    assert!(
        (low..=high).contains(&value),
        "{name} = {value:.5}, expected within [{low}, {high}]"
    );
}

#[test]
fn outcome_and_engagement_shares_are_realistic() {
    let config = compressed(2024);
    // Whole seconds of a compressed message life: far inside i64.
    #[allow(clippy::cast_possible_truncation)]
    let lifetime = config.max_lifetime_seconds().ceil() as i64 + 2;
    let events = parsed(config, 200_000);
    let end = n(&events[events.len() - 1].0, "timestamp");

    // Only messages whose whole life fits in the window are counted.
    let mut started = 0u64;
    let mut generation = 0u64;
    let mut per_kind: HashMap<&str, u64> = HashMap::new();
    let mut messages_with: HashMap<&str, u64> = HashMap::new();
    let mut bounce_classes: HashMap<String, u64> = HashMap::new();
    for group in by_message(&events) {
        let first = &events[group[0]].0;
        if end - n(first, "timestamp") <= lifetime {
            continue;
        }
        started += 1;
        if s(first, "type").starts_with("generation_") {
            generation += 1;
            continue;
        }
        let mut kinds: Vec<&str> = group.iter().map(|&i| s(&events[i].0, "type")).collect();
        for &i in &group {
            let event = &events[i].0;
            if s(event, "type") == "bounce" {
                *bounce_classes
                    .entry(s(event, "bounce_class").to_owned())
                    .or_default() += 1;
            }
        }
        for kind in &kinds {
            *per_kind.entry(kind).or_default() += 1;
        }
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            *messages_with.entry(kind).or_default() += 1;
        }
        let opened = group
            .iter()
            .any(|&i| s(&events[i].0, "type").contains("open"));
        if opened {
            *messages_with.entry("any_open").or_default() += 1;
        }
        let clicked = group
            .iter()
            .any(|&i| s(&events[i].0, "type").ends_with("click"));
        if clicked {
            *messages_with.entry("any_click").or_default() += 1;
        }
    }
    let get = |m: &HashMap<&str, u64>, k: &str| m.get(k).copied().unwrap_or(0) as f64;
    let injected = get(&per_kind, "injection");
    let delivered = get(&per_kind, "delivery");
    assert!(injected > 20_000.0, "only {injected} complete messages");

    within(
        "generation failures+rejections / started",
        generation as f64 / started as f64,
        0.0,
        0.005,
    );
    within("delivered / injected", delivered / injected, 0.95, 0.99);
    within(
        "bounced / injected",
        get(&per_kind, "bounce") / injected,
        0.01,
        0.03,
    );
    within(
        "policy rejections / injected",
        get(&per_kind, "policy_rejection") / injected,
        0.001,
        0.01,
    );
    within(
        "delayed messages / injected",
        get(&messages_with, "delay") / injected,
        0.005,
        0.02,
    );
    within(
        "opened / delivered",
        get(&messages_with, "any_open") / delivered,
        0.20,
        0.40,
    );
    within(
        "clicked / delivered",
        get(&messages_with, "any_click") / delivered,
        0.02,
        0.05,
    );
    within(
        "complaints / delivered",
        get(&per_kind, "spam_complaint") / delivered,
        0.0002,
        0.002,
    );
    let unsubscribes = get(&per_kind, "list_unsubscribe") + get(&per_kind, "link_unsubscribe");
    within(
        "unsubscribes / delivered",
        unsubscribes / delivered,
        0.0008,
        0.004,
    );
    within(
        "out of band / delivered",
        get(&per_kind, "out_of_band") / delivered,
        0.0005,
        0.005,
    );
    assert!(
        get(&per_kind, "amp_initial_open") + get(&per_kind, "amp_open") > 0.0,
        "no AMP opens"
    );

    let bounces: u64 = bounce_classes.values().sum();
    let common: u64 = ["10", "21", "22", "24", "50", "51", "52"]
        .iter()
        .map(|c| bounce_classes.get(*c).copied().unwrap_or(0))
        .sum();
    within(
        "common bounce classes / bounces",
        common as f64 / bounces as f64,
        0.75,
        1.0,
    );
    let invalid = bounce_classes.get("10").copied().unwrap_or(0);
    assert!(
        bounce_classes.values().all(|&c| c <= invalid),
        "class 10 is the most common: {bounce_classes:?}"
    );
}

#[test]
fn stream_mix_matches_a_busy_sender() {
    // Real time: a 200k-event window is mostly injections and deliveries with some engagement.
    let events = parsed(
        eventhose_simulator::SimConfig::new(5, 1_717_200_000, 20.0),
        200_000,
    );
    let mut counts: HashMap<&str, f64> = HashMap::new();
    for (event, _) in &events {
        *counts.entry(s(event, "type")).or_default() += 1.0;
    }
    let total = events.len() as f64;
    let share = |k: &str| counts.get(k).copied().unwrap_or(0.0) / total;
    within("injection share", share("injection"), 0.30, 0.50);
    within("delivery share", share("delivery"), 0.30, 0.50);
    within("initial_open share", share("initial_open"), 0.02, 0.2);
    within("delay share", share("delay"), 0.002, 0.03);
}
