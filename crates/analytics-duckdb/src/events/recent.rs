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
//!
//! The set also holds at most `max_ids` identities (about 20 bytes each), since at a high
//! rate an hour is many millions: past that the oldest seconds are dropped and the floor
//! raised above them, so the statement "not in the set means not stored" stays true for
//! every event the set covers; only more events take the slow path.

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
    max_ids: usize,
    newest: Option<i64>,
    /// The floor raised for want of room: the seconds below it were dropped.
    raised: Option<i64>,
    by_second: BTreeMap<i64, HashSet<u64>>,
    /// How many identities `by_second` holds.
    len: usize,
}

impl RecentIds {
    /// An empty set remembering `window` seconds, and at most `max_ids` identities.
    pub(crate) fn new(window: i64, max_ids: usize) -> RecentIds {
        RecentIds {
            window: window.max(0),
            max_ids,
            newest: None,
            raised: None,
            by_second: BTreeMap::new(),
            len: 0,
        }
    }

    /// A set whose newest timestamp is `newest`, to be filled with the stored events at or
    /// after its floor.
    pub(crate) fn with_newest(window: i64, max_ids: usize, newest: i64) -> RecentIds {
        RecentIds {
            newest: Some(newest),
            ..RecentIds::new(window, max_ids)
        }
    }

    /// Events at or after this timestamp are all in the set; `None` while nothing is stored.
    pub(crate) fn floor(&self) -> Option<i64> {
        let by_time = self.newest.map(|newest| newest - self.window)?;
        Some(self.raised.map_or(by_time, |raised| raised.max(by_time)))
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
            if self.covers(ts) && self.by_second.entry(ts).or_default().insert(id) {
                self.len += 1;
            }
        }
        if let Some(floor) = self.floor() {
            let kept = self.by_second.split_off(&floor);
            self.len -= self.by_second.values().map(HashSet::len).sum::<usize>();
            self.by_second = kept;
        }
        while self.len > self.max_ids {
            let Some((second, ids)) = self.by_second.pop_first() else {
                break;
            };
            self.len -= ids.len();
            self.raised = Some(second + 1);
        }
    }

    /// How many identities are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        debug_assert_eq!(
            self.len,
            self.by_second.values().map(HashSet::len).sum::<usize>()
        );
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn remembers_the_window_behind_the_newest_event() {
        let mut recent = RecentIds::new(60, 100);
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
        let mut recent = RecentIds::new(60, 100);
        recent.extend([(NOW, 1), (NOW + 86_400, 2)], NOW);
        assert_eq!(recent.floor(), Some(NOW - 60));
        assert!(recent.contains(NOW + 86_400, 2));
    }

    #[test]
    fn past_its_bound_the_oldest_seconds_go_and_the_floor_rises_above_them() {
        let mut recent = RecentIds::new(60, 4);
        recent.extend(
            [(NOW - 3, 1), (NOW - 3, 2), (NOW - 2, 3), (NOW - 1, 4)],
            NOW,
        );
        assert_eq!(recent.len(), 4, "at the bound, nothing goes");
        assert_eq!(recent.floor(), Some(NOW - 61));
        recent.extend([(NOW, 5)], NOW);
        assert_eq!(recent.len(), 3, "the whole oldest second went");
        assert_eq!(recent.floor(), Some(NOW - 2));
        assert!(
            !recent.covers(NOW - 3),
            "its events are looked up in their table"
        );
        assert!(recent.contains(NOW - 2, 3) && recent.contains(NOW, 5));
        recent.extend([(NOW + 60, 6)], NOW);
        assert_eq!(recent.floor(), Some(NOW), "time passes the raised floor");
        assert_eq!(recent.len(), 2);
    }
}
