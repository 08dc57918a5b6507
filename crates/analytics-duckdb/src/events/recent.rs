//! The identities of recently stored events, so an insert finds redeliveries without asking
//! the day tables.
//!
//! Redeliveries (an MTA re-posting a batch, a hose redelivering after a fault) carry the
//! original `event_id` and `timestamp`, and nearly always a recent timestamp. [`RecentIds`]
//! holds the identity of **every** stored event whose timestamp is at or after its *floor*
//! (the newest timestamp seen, minus the window), so for those events "not in the set" means
//! "not stored". Only older events are looked up in their day table. Events dated more than a
//! window ahead of the clock are remembered but do not move the floor, so one bad clock cannot
//! push every other event onto the slow path.

use std::collections::BTreeMap;

use hashbrown::HashSet;

/// An event's identity within its second: its account and the 64-bit hash of its `event_id`
/// that the day tables hold (`h_event_id`), hashed together. The account is part of it so that
/// one tenant's events cannot pass for another's. Two events of one second collide with a
/// chance of about n²/2⁶⁵ for n events in that second: 3·10⁻¹⁰ even at 100,000 events in one
/// second, far below the error rate of the hardware storing them.
pub(crate) fn identity(subaccount: Option<u64>, h_event_id: u64) -> u64 {
    let mut both = [0u8; 16];
    both[..8].copy_from_slice(&subaccount.unwrap_or(0).to_le_bytes());
    both[8..].copy_from_slice(&h_event_id.to_le_bytes());
    xxhash_rust::xxh3::xxh3_64(&both)
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct RecentIds {
    window: i64,
    newest: Option<i64>,
    by_second: BTreeMap<i64, HashSet<u64>>,
}

impl RecentIds {
    /// An empty set remembering `window` seconds.
    pub(crate) fn new(window: i64) -> RecentIds {
        RecentIds {
            window: window.max(0),
            newest: None,
            by_second: BTreeMap::new(),
        }
    }

    /// A set whose newest timestamp is `newest`, to be filled with the stored events at or
    /// after its floor.
    pub(crate) fn with_newest(window: i64, newest: i64) -> RecentIds {
        RecentIds {
            newest: Some(newest),
            ..RecentIds::new(window)
        }
    }

    /// Events at or after this timestamp are all in the set; `None` while nothing is stored.
    pub(crate) fn floor(&self) -> Option<i64> {
        self.newest.map(|newest| newest - self.window)
    }

    /// Whether an event of timestamp `ts` is answered by the set alone.
    pub(crate) fn covers(&self, ts: i64) -> bool {
        self.floor().is_none_or(|floor| ts >= floor)
    }

    /// Whether `(ts, id)` is stored; meaningful only when [`covers`](Self::covers)`(ts)`.
    pub(crate) fn contains(&self, ts: i64, id: u64) -> bool {
        self.by_second.get(&ts).is_some_and(|ids| ids.contains(&id))
    }

    /// Where the floor would be with `ts` seen, at wall-clock time `now` (unix seconds).
    pub(crate) fn newest_after(&self, ts: i64, now: i64) -> Option<i64> {
        if ts > now + self.window {
            return self.newest;
        }
        Some(self.newest.map_or(ts, |newest| newest.max(ts)))
    }

    /// Records stored events (after their commit) and forgets what fell below the new floor.
    pub(crate) fn extend(&mut self, stored: impl IntoIterator<Item = (i64, u64)>, now: i64) {
        for (ts, id) in stored {
            self.newest = self.newest_after(ts, now);
            if self.covers(ts) {
                self.by_second.entry(ts).or_default().insert(id);
            }
        }
        if let Some(floor) = self.floor() {
            self.by_second = self.by_second.split_off(&floor);
        }
    }

    /// How many identities are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_second.values().map(HashSet::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn remembers_the_window_behind_the_newest_event() {
        let mut recent = RecentIds::new(60);
        assert!(recent.covers(0), "an empty store has nothing to look up");
        recent.extend([(NOW - 100, 1), (NOW, 2), (NOW - 30, 3)], NOW);
        assert_eq!(recent.floor(), Some(NOW - 60));
        assert!(!recent.covers(NOW - 61));
        assert!(recent.contains(NOW, 2) && recent.contains(NOW - 30, 3));
        assert!(!recent.contains(NOW - 100, 1), "below the floor: forgotten");
        assert!(!recent.contains(NOW, 3), "identity includes the second");
        recent.extend([(NOW + 45, 4)], NOW);
        assert_eq!(recent.floor(), Some(NOW - 15));
        assert_eq!(recent.len(), 2);
    }

    #[test]
    fn a_far_future_event_does_not_move_the_floor() {
        let mut recent = RecentIds::new(60);
        recent.extend([(NOW, 1), (NOW + 86_400, 2)], NOW);
        assert_eq!(recent.floor(), Some(NOW - 60));
        assert!(recent.contains(NOW + 86_400, 2));
    }
}
