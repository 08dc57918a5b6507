//! Turns what the receiver got into the numbers of the report: distinct deliveries, repeats,
//! and each first delivery's latency from the ingest 200 of its request.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::plan::IngestPlan;
use super::receiver::Arrival;

/// What arrived, judged against what was sent.
#[derive(Debug, Default)]
pub struct Tally {
    /// Distinct (webhook, event) pairs delivered.
    pub delivered: u64,
    /// Distinct events delivered, by webhook.
    pub per_webhook: Vec<u64>,
    /// Deliveries of a pair already delivered (at-least-once repeats).
    pub repeats: u64,
    /// Events that were not sent in this run, or came to an unknown webhook path.
    pub foreign: u64,
    /// POSTs that carried at least one event.
    pub batches: u64,
    /// When the last event arrived.
    pub last_arrival: Option<Instant>,
    /// Time from the 200 of the ingest request to the first arrival, per delivered pair of
    /// the webhooks measured, sorted (zero when the event arrived before its 200 was read).
    pub latencies: Vec<Duration>,
    /// The same latencies, sorted, grouped by when their request was acknowledged: window
    /// `n` holds the requests acknowledged `n` windows after the first request was sent.
    pub by_window: BTreeMap<u64, Vec<Duration>>,
}

/// How to group latencies over the run.
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    /// When the first request was sent.
    pub start: Instant,
    /// The width of one window (positive).
    pub width: Duration,
}

impl Windows {
    /// The window `at` falls in.
    fn of(&self, at: Instant) -> u64 {
        let width = self.width.as_nanos().max(1);
        u64::try_from(at.saturating_duration_since(self.start).as_nanos() / width)
            .unwrap_or(u64::MAX)
    }
}

/// Tallies `arrivals` of the events of `plan`, sent to `webhooks` webhooks, whose requests
/// were acknowledged at `acks` (by request index); latencies are those of webhooks
/// `measured_from..webhooks` (the others are the slow ones).
pub fn tally(
    arrivals: &[Arrival],
    plan: &IngestPlan,
    acks: &[Instant],
    (webhooks, measured_from): (usize, usize),
    windows: Windows,
) -> Tally {
    let events = plan.events();
    let mut seen = vec![false; events * webhooks];
    let mut tally = Tally {
        latencies: Vec::with_capacity(events * webhooks),
        per_webhook: vec![0; webhooks],
        ..Tally::default()
    };
    for arrival in arrivals {
        if arrival.event_ids.is_empty() {
            continue;
        }
        tally.batches += 1;
        tally.last_arrival = tally.last_arrival.max(Some(arrival.at));
        for &id in &arrival.event_ids {
            let (Some(position), true) = (plan.position(id), arrival.webhook < webhooks) else {
                tally.foreign += 1;
                continue;
            };
            let Some(acked) = acks.get(plan.request_of(position)) else {
                tally.foreign += 1;
                continue;
            };
            let slot = &mut seen[arrival.webhook * events + position];
            if *slot {
                tally.repeats += 1;
                continue;
            }
            *slot = true;
            tally.delivered += 1;
            tally.per_webhook[arrival.webhook] += 1;
            if arrival.webhook < measured_from {
                continue;
            }
            let latency = arrival.at.saturating_duration_since(*acked);
            tally.latencies.push(latency);
            tally
                .by_window
                .entry(windows.of(*acked))
                .or_default()
                .push(latency);
        }
    }
    tally.latencies.sort_unstable();
    for latencies in tally.by_window.values_mut() {
        latencies.sort_unstable();
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::plan::event_ids;

    #[test]
    fn first_deliveries_count_once_with_their_latency_and_the_rest_is_told_apart() {
        let plan = IngestPlan::simulate(4, 2, 9).unwrap();
        let ids: Vec<u64> = plan
            .bodies
            .iter()
            .flat_map(|b| event_ids(b).collect::<Vec<_>>())
            .collect();
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // Request 0 (ids 0, 1) acknowledged at 100 ms, request 1 (ids 2, 3) at 200 ms.
        let acks = [ms(100), ms(200)];
        let arrivals = [
            Arrival {
                webhook: 0,
                at: ms(50),
                event_ids: vec![],
            },
            Arrival {
                webhook: 0,
                at: ms(150),
                event_ids: vec![ids[0], ids[1]],
            },
            Arrival {
                webhook: 1,
                at: ms(400),
                event_ids: vec![ids[0], ids[2], 7],
            },
            // A repeat, and an event that came before its request's 200 was read.
            Arrival {
                webhook: 0,
                at: ms(190),
                event_ids: vec![ids[1], ids[3]],
            },
            Arrival {
                webhook: 2,
                at: ms(500),
                event_ids: vec![ids[3]],
            },
        ];
        let windows = Windows {
            start: t0,
            width: Duration::from_millis(150),
        };
        let tally = tally(&arrivals, &plan, &acks, (2, 0), windows);
        assert_eq!(tally.delivered, 5);
        assert_eq!(tally.per_webhook, [3, 2]);
        assert_eq!(tally.repeats, 1);
        assert_eq!(tally.foreign, 2, "id 7 and webhook 2 are not this run's");
        assert_eq!(tally.batches, 4);
        assert_eq!(tally.last_arrival, Some(ms(500)));
        let millis: Vec<u128> = tally.latencies.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [0, 50, 50, 200, 300]);
        let windows: Vec<(u64, Vec<u128>)> = tally
            .by_window
            .iter()
            .map(|(w, l)| (*w, l.iter().map(Duration::as_millis).collect()))
            .collect();
        assert_eq!(windows, [(0, vec![50, 50, 300]), (1, vec![0, 200])]);
    }
}
