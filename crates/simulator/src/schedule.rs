//! A calendar queue of future events: pops in `(due time, insertion order)` order, like a
//! binary heap over everything, but touches only a small heap of the current time bucket.
//!
//! Items due within the next [`BUCKETS`] buckets are appended to their bucket; later items
//! wait in an overflow heap until the window reaches them. When the clock enters a bucket,
//! its items are heapified into the small `current` heap. Because every item outside
//! `current` is due later than every item inside it, the pop order equals that of one
//! global heap, so the stream stays identical however the buckets are sized.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Buckets in the ring (the window covers `BUCKETS * width` microseconds).
pub(crate) const BUCKETS: usize = 1 << 16;

/// The ring slot of `bucket`.
// `rem_euclid` keeps it in 0..BUCKETS: the cast cannot truncate.
#[allow(clippy::cast_possible_truncation)]
fn slot(bucket: i64) -> usize {
    bucket.rem_euclid(BUCKETS as i64) as usize
}

/// A scheduled item.
pub(crate) struct Entry<T> {
    pub(crate) due_us: i64,
    order: u64,
    pub(crate) item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    /// Reversed so that `BinaryHeap` (a max-heap) yields the earliest item first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due_us, other.order).cmp(&(self.due_us, self.order))
    }
}

/// Future items ordered by due time, ties broken by insertion order.
pub(crate) struct Schedule<T> {
    origin_us: i64,
    width_us: i64,
    /// Bucket whose items are in `current`.
    current_bucket: i64,
    current: BinaryHeap<Entry<T>>,
    ring: Vec<Vec<Entry<T>>>,
    overflow: BinaryHeap<Entry<T>>,
    /// Items in `ring`.
    in_ring: usize,
    inserted: u64,
    len: usize,
}

impl<T> Schedule<T> {
    /// A schedule starting at `origin_us` whose buckets are `width_us` wide.
    pub(crate) fn new(origin_us: i64, width_us: i64) -> Self {
        Schedule {
            origin_us,
            width_us: width_us.max(1),
            current_bucket: 0,
            current: BinaryHeap::new(),
            ring: (0..BUCKETS).map(|_| Vec::new()).collect(),
            overflow: BinaryHeap::new(),
            in_ring: 0,
            inserted: 0,
            len: 0,
        }
    }

    /// Items waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn bucket(&self, due_us: i64) -> i64 {
        (due_us - self.origin_us).div_euclid(self.width_us)
    }

    /// Adds `item`, due at `due_us`.
    pub(crate) fn push(&mut self, due_us: i64, item: T) {
        self.inserted += 1;
        self.len += 1;
        self.place(Entry {
            due_us,
            order: self.inserted,
            item,
        });
    }

    fn place(&mut self, entry: Entry<T>) {
        let bucket = self.bucket(entry.due_us);
        if bucket <= self.current_bucket {
            self.current.push(entry);
        } else if bucket - self.current_bucket < BUCKETS as i64 {
            self.ring[slot(bucket)].push(entry);
            self.in_ring += 1;
        } else {
            self.overflow.push(entry);
        }
    }

    /// Removes and returns the earliest item if it is due at `now_us`.
    pub(crate) fn pop_due(&mut self, now_us: i64) -> Option<Entry<T>> {
        let now_bucket = self.bucket(now_us);
        while self.current.is_empty() && self.current_bucket < now_bucket && self.len > 0 {
            self.skip_empty_ring(now_bucket);
            self.enter_next_bucket();
        }
        if self.current.peek()?.due_us > now_us {
            return None;
        }
        self.len -= 1;
        self.current.pop()
    }

    /// Removes and returns the earliest item, due or not.
    pub(crate) fn pop_earliest(&mut self) -> Option<Entry<T>> {
        while self.current.is_empty() && self.len > 0 {
            self.skip_empty_ring(i64::MAX);
            self.enter_next_bucket();
        }
        let entry = self.current.pop()?;
        self.len -= 1;
        Some(entry)
    }

    /// With nothing in the ring, jumps the window (at most to `limit`) to just before the
    /// earliest overflow item instead of walking empty buckets one by one.
    fn skip_empty_ring(&mut self, limit: i64) {
        if self.in_ring > 0 {
            return;
        }
        if let Some(first) = self.overflow.peek() {
            let target = (self.bucket(first.due_us) - 1).min(limit - 1);
            self.current_bucket = self.current_bucket.max(target);
        }
    }

    /// Moves the window one bucket on and loads that bucket into `current`.
    fn enter_next_bucket(&mut self) {
        self.current_bucket += 1;
        let slot = slot(self.current_bucket);
        let items = std::mem::take(&mut self.ring[slot]);
        self.in_ring -= items.len();
        // Reuse the emptied heap's allocation for the ring slot.
        let spare = std::mem::replace(&mut self.current, BinaryHeap::from(items));
        self.ring[slot] = spare.into_vec();
        let window_end = self.current_bucket + BUCKETS as i64;
        while self
            .overflow
            .peek()
            .is_some_and(|e| self.bucket(e.due_us) < window_end)
        {
            if let Some(entry) = self.overflow.pop() {
                self.place(entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Pops everything in order by walking the clock forward.
    fn drain(schedule: &mut Schedule<u32>, mut now: i64, step: i64) -> Vec<(i64, u32)> {
        let mut out = Vec::new();
        while schedule.len() > 0 {
            match schedule.pop_due(now) {
                Some(e) => out.push((e.due_us, e.item)),
                None => now += step,
            }
        }
        out
    }

    #[test]
    fn pops_in_due_then_insertion_order_across_ring_and_overflow() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut schedule = Schedule::new(1_000, 10);
        let mut expected = Vec::new();
        for i in 0..50_000u32 {
            // Spread over far more than the window (10 * 65536) to exercise the overflow heap.
            let due = 1_000 + rng.random_range(0..3_000_000);
            schedule.push(due, i);
            expected.push((due, i));
        }
        expected.sort();
        assert_eq!(schedule.len(), 50_000);
        assert_eq!(drain(&mut schedule, 1_000, 7), expected);
    }

    #[test]
    fn nothing_is_popped_before_it_is_due() {
        let mut schedule = Schedule::new(0, 100);
        schedule.push(500, 1u32);
        assert!(schedule.pop_due(499).is_none());
        assert_eq!(schedule.pop_due(500).map(|e| e.item), Some(1));
        assert!(schedule.pop_due(10_000).is_none());
    }

    #[test]
    fn items_pushed_into_the_current_or_past_bucket_come_first() {
        let mut schedule = Schedule::new(0, 1_000);
        schedule.push(5_500, 1u32);
        assert!(schedule.pop_due(5_000).is_none());
        schedule.push(5_100, 2);
        schedule.push(4_000, 3);
        let order: Vec<u32> = drain(&mut schedule, 5_000, 50)
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        assert_eq!(order, vec![3, 2, 1]);
    }

    #[test]
    fn pop_earliest_ignores_the_clock() {
        let mut schedule = Schedule::new(0, 10);
        schedule.push(50_000_000, 1u32);
        schedule.push(700, 2);
        schedule.push(90_000_000, 3);
        assert_eq!(schedule.pop_earliest().map(|e| e.item), Some(2));
        assert_eq!(schedule.pop_earliest().map(|e| e.item), Some(1));
        // Pushing behind the advanced window still keeps the order.
        schedule.push(10, 4);
        assert_eq!(schedule.pop_due(20).map(|e| e.item), Some(4));
        assert_eq!(schedule.pop_earliest().map(|e| e.item), Some(3));
        assert!(schedule.pop_earliest().is_none());
        assert_eq!(schedule.len(), 0);
    }

    #[test]
    fn equal_due_times_keep_insertion_order() {
        let mut schedule = Schedule::new(0, 1);
        for i in 0..10u32 {
            schedule.push(42, i);
        }
        let order: Vec<u32> = drain(&mut schedule, 0, 1)
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>());
    }
}
