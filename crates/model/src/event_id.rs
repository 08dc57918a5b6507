//! Time-sortable event ids.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest accepted `event_id`, in characters.
pub const MAX_EVENT_ID_LEN: usize = 128;

/// Bits of an id below the millisecond part.
const SEQUENCE_BITS: u32 = 22;
/// The largest millisecond value that still fits above the sequence bits.
const MAX_MILLIS: u64 = u64::MAX >> SEQUENCE_BITS;

/// A source of "now" in unix milliseconds.
type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

/// Mints event ids that are unique within the process and sort by creation time.
///
/// An id is the decimal string of `(unix milliseconds << 22) | sequence`; ids are strictly
/// increasing, even for many ids within one millisecond or when the clock steps back.
pub struct EventIdGenerator {
    last: AtomicU64,
    clock: Clock,
}

impl EventIdGenerator {
    /// A generator driven by the system clock.
    pub fn new() -> Self {
        Self::with_clock(system_millis)
    }

    /// A generator driven by `clock`, which returns unix milliseconds.
    pub fn with_clock(clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self {
            last: AtomicU64::new(0),
            clock: Box::new(clock),
        }
    }

    /// The next id as a number.
    pub fn next_raw(&self) -> u64 {
        let floor = (self.clock)().min(MAX_MILLIS) << SEQUENCE_BITS;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = last.saturating_add(1).max(floor);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(current) => last = current,
            }
        }
    }

    /// The next id, as the decimal string stored in `event_id`.
    pub fn next_id(&self) -> String {
        self.next_raw().to_string()
    }

    /// The unix milliseconds encoded in an id minted by a generator.
    pub fn millis_of(id: u64) -> u64 {
        id >> SEQUENCE_BITS
    }
}

impl Default for EventIdGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EventIdGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventIdGenerator")
            .field("last", &self.last.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn system_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    #[test]
    fn hundred_thousand_ids_strictly_increase() {
        let ids = EventIdGenerator::new();
        let mut previous = 0u64;
        for _ in 0..100_000 {
            let id: u64 = ids.next_id().parse().unwrap();
            assert!(id > previous, "{id} after {previous}");
            previous = id;
        }
    }

    #[test]
    fn same_millisecond_ids_use_the_sequence() {
        let ids = EventIdGenerator::with_clock(|| 1_000);
        let first = ids.next_raw();
        assert_eq!(first, 1_000 << SEQUENCE_BITS);
        assert_eq!(ids.next_raw(), first + 1);
        assert_eq!(ids.next_raw(), first + 2);
        assert_eq!(EventIdGenerator::millis_of(first + 2), 1_000);
    }

    #[test]
    fn ids_follow_the_clock_and_survive_it_stepping_back() {
        let now = Arc::new(AtomicU64::new(5_000));
        let clock = Arc::clone(&now);
        let ids = EventIdGenerator::with_clock(move || clock.load(Ordering::Relaxed));
        let at_5000 = ids.next_raw();
        now.store(7_000, Ordering::Relaxed);
        let at_7000 = ids.next_raw();
        assert_eq!(EventIdGenerator::millis_of(at_7000), 7_000);
        now.store(6_000, Ordering::Relaxed);
        let after_step_back = ids.next_raw();
        assert!(at_5000 < at_7000 && at_7000 < after_step_back);
    }

    #[test]
    fn ids_track_the_system_clock() {
        let before = system_millis();
        let id = EventIdGenerator::new().next_raw();
        let after = system_millis();
        let millis = EventIdGenerator::millis_of(id);
        assert!(before <= millis && millis <= after);
    }

    #[test]
    fn ids_from_two_threads_are_unique() {
        let ids = Arc::new(EventIdGenerator::new());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let ids = Arc::clone(&ids);
                std::thread::spawn(move || (0..50_000).map(|_| ids.next_raw()).collect::<Vec<_>>())
            })
            .collect();
        let mut seen = HashSet::new();
        for handle in handles {
            let batch = handle.join().unwrap();
            assert!(batch.windows(2).all(|pair| pair[0] < pair[1]));
            for id in batch {
                assert!(seen.insert(id), "duplicate id {id}");
            }
        }
        assert_eq!(seen.len(), 100_000);
    }
}
