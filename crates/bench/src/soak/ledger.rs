//! The sender's record: every event the server acknowledged (answered 200), and when, and the
//! events of the requests given up on.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::expect::Facts;

/// What was acknowledged so far; shared by the sender, the sampler and the checks.
#[derive(Default)]
pub struct Ledger {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The acknowledged events, in the order of their acknowledgements.
    acked: Vec<Facts>,
    /// When each acknowledged event was acknowledged, by id.
    at: HashMap<u64, Instant>,
    /// The events of requests never acknowledged.
    abandoned: HashSet<u64>,
}

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes the events of a request answered 200 at `at`.
    pub fn ack(&self, events: &[Facts], at: Instant) {
        let mut inner = self.lock();
        for facts in events {
            // An event is in one request only, so each id is acknowledged once.
            let new = match inner.at.entry(facts.id) {
                Entry::Vacant(entry) => {
                    entry.insert(at);
                    true
                }
                Entry::Occupied(_) => false,
            };
            if new {
                inner.acked.push(facts.clone());
            }
        }
    }

    /// Notes the events of a request given up on.
    pub fn abandon(&self, events: &[Facts]) {
        self.lock().abandoned.extend(events.iter().map(|f| f.id));
    }

    /// Events acknowledged so far.
    pub fn acked_count(&self) -> u64 {
        self.lock().acked.len() as u64
    }

    /// When event `id` was acknowledged, if it was.
    pub fn acked_at(&self, id: u64) -> Option<Instant> {
        self.lock().at.get(&id).copied()
    }

    /// The events of the requests given up on.
    pub fn abandoned(&self) -> HashSet<u64> {
        self.lock().abandoned.clone()
    }

    /// Runs `f` over the acknowledged events (`f` must not use the ledger).
    pub fn with_acked<T>(&self, f: impl FnOnce(&[Facts]) -> T) -> T {
        f(&self.lock().acked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventhose_model::EventType;

    fn facts(id: u64) -> Facts {
        Facts {
            id,
            event_type: EventType::Delivery,
            admin_bounce: false,
            suppressions: Vec::new(),
        }
    }

    #[test]
    fn acknowledgements_and_abandoned_events_are_told_apart() {
        let ledger = Ledger::default();
        let at = Instant::now();
        ledger.ack(&[facts(1), facts(2)], at);
        ledger.ack(&[facts(2)], Instant::now());
        ledger.abandon(&[facts(3)]);
        assert_eq!(ledger.acked_count(), 2);
        assert_eq!(
            ledger.acked_at(2),
            Some(at),
            "the first acknowledgement counts"
        );
        assert_eq!(ledger.acked_at(3), None);
        assert_eq!(ledger.abandoned(), HashSet::from([3]));
        let ids = ledger.with_acked(|acked| acked.iter().map(|f| f.id).collect::<Vec<_>>());
        assert_eq!(ids, [1, 2]);
    }
}
