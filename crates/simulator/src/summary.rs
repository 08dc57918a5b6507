//! Counts of what a run produced, for reports.

use std::fmt;

use eventhose_model::EventType;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Events and bytes produced, per event type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    counts: [u64; EventType::COUNT],
    bytes: u64,
    first_timestamp: Option<i64>,
    last_timestamp: Option<i64>,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Summary::default()
    }

    /// Counts one event of `event_type` at `timestamp` whose line took `bytes` bytes.
    pub fn record(&mut self, event_type: EventType, bytes: usize, timestamp: i64) {
        self.counts[event_type.index()] += 1;
        self.bytes += bytes as u64;
        self.first_timestamp = Some(self.first_timestamp.map_or(timestamp, |t| t.min(timestamp)));
        self.last_timestamp = Some(self.last_timestamp.map_or(timestamp, |t| t.max(timestamp)));
    }

    /// Adds everything counted in `other`.
    pub fn merge(&mut self, other: &Summary) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
        self.bytes += other.bytes;
        for (mine, theirs, pick) in [
            (
                &mut self.first_timestamp,
                other.first_timestamp,
                i64::min as fn(i64, i64) -> i64,
            ),
            (&mut self.last_timestamp, other.last_timestamp, i64::max),
        ] {
            *mine = match (*mine, theirs) {
                (Some(a), Some(b)) => Some(pick(a, b)),
                (a, b) => a.or(b),
            };
        }
    }

    /// Events of one type.
    pub fn count(&self, event_type: EventType) -> u64 {
        self.counts[event_type.index()]
    }

    /// All events.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Bytes of all lines, newlines included.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Mean line size in bytes (0 when empty).
    pub fn mean_bytes(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            n => self.bytes as f64 / n as f64,
        }
    }

    /// Earliest and latest event timestamps seen.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        self.first_timestamp.zip(self.last_timestamp)
    }

    /// Types with at least one event and their counts, in [`EventType::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (EventType, u64)> + '_ {
        EventType::ALL
            .into_iter()
            .map(|t| (t, self.count(t)))
            .filter(|(_, n)| *n > 0)
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct ByType<'a>(&'a Summary);
        impl Serialize for ByType<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                for (t, n) in self.0.iter() {
                    map.serialize_entry(t.as_str(), &n)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("events", &self.total())?;
        map.serialize_entry("bytes", &self.bytes)?;
        map.serialize_entry("by_type", &ByType(self))?;
        map.serialize_entry("time_range", &self.time_range())?;
        map.end()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} events, {} bytes ({:.0} bytes/event)",
            self.total(),
            self.bytes,
            self.mean_bytes()
        )?;
        let total = self.total().max(1) as f64;
        for (t, n) in self.iter() {
            writeln!(
                f,
                "  {:<22}{:>12}  {:>6.2}%",
                t.as_str(),
                n,
                100.0 * n as f64 / total
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_merges() {
        let mut a = Summary::new();
        a.record(EventType::Injection, 100, 10);
        a.record(EventType::Delivery, 120, 12);
        let mut b = Summary::new();
        b.record(EventType::Delivery, 80, 5);
        a.merge(&b);
        assert_eq!(a.total(), 3);
        assert_eq!(a.count(EventType::Delivery), 2);
        assert_eq!(a.bytes(), 300);
        assert_eq!(a.time_range(), Some((5, 12)));
        assert!((a.mean_bytes() - 100.0).abs() < 1e-9);
        assert_eq!(a.iter().count(), 2);
    }

    #[test]
    fn serialises_counts_by_type_name() {
        let mut s = Summary::new();
        s.record(EventType::Click, 10, 1);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["events"], 1);
        assert_eq!(v["by_type"]["click"], 1);
        assert!(v["by_type"].get("open").is_none());
        assert!(s.to_string().contains("click"));
    }

    #[test]
    fn iterates_in_the_model_type_order() {
        let mut s = Summary::new();
        s.record(EventType::Delay, 10, 1);
        s.record(EventType::Bounce, 10, 2);
        s.record(EventType::Injection, 10, 3);
        let order: Vec<EventType> = s.iter().map(|(t, _)| t).collect();
        let expected: Vec<EventType> = EventType::ALL
            .into_iter()
            .filter(|t| order.contains(t))
            .collect();
        assert_eq!(order, expected);
        assert_eq!(order.len(), 3);
    }

    #[test]
    fn empty_summary_has_no_range() {
        let s = Summary::new();
        assert_eq!(s.time_range(), None);
        assert_eq!(s.mean_bytes(), 0.0);
    }
}
