//! The ingest requests of one run, generated before anything is measured, and where each
//! event sits in them (to tie a delivered event back to the request that brought it in).

use std::collections::HashMap;

use anyhow::Context;
use bytes::Bytes;
use eventhose_simulator::{LineFormat, SimConfig, Simulator};

/// What precedes the decimal digits of an event's id, both in simulated NDJSON and in the
/// stored events a webhook batch carries.
const EVENT_ID_KEY: &[u8] = b"\"event_id\":\"";

/// The numeric `event_id`s in `json`, in order. Ids that are not plain decimal numbers (the
/// simulator writes only such ids) are skipped.
pub fn event_ids(json: &[u8]) -> impl Iterator<Item = u64> + '_ {
    memchr::memmem::find_iter(json, EVENT_ID_KEY).filter_map(move |at| {
        let digits = &json[at + EVENT_ID_KEY.len()..];
        let end = digits.iter().position(|&b| b == b'"')?;
        std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
    })
}

/// Unique simulated events cut into ingest requests.
pub struct IngestPlan {
    /// NDJSON request bodies, in sending order.
    pub bodies: Vec<Bytes>,
    /// Events per request (the last request may hold fewer).
    pub batch: usize,
    /// Position of each event in the whole stream, by `event_id`.
    positions: HashMap<u64, u32>,
}

impl IngestPlan {
    /// `events` simulated events from one simulator (so every `event_id` is distinct), in
    /// requests of `batch`.
    pub fn simulate(events: usize, batch: usize, seed: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(batch > 0, "--batch must be positive");
        anyhow::ensure!(
            u32::try_from(events).is_ok(),
            "at most {} events per run",
            u32::MAX
        );
        // A day ago: ingest accepts only events inside the retention window.
        let start = chrono::Utc::now().timestamp() - 86_400;
        let mut simulator =
            Simulator::new(SimConfig::new(seed, start, 10_000.0)).context("invalid simulation")?;
        let mut bodies = Vec::with_capacity(events.div_ceil(batch));
        let mut positions = HashMap::with_capacity(events);
        let mut left = events;
        while left > 0 {
            let n = left.min(batch);
            let mut body = Vec::with_capacity(n * 1100);
            simulator.write_lines(&mut body, n, LineFormat::Bare);
            let first = positions.len();
            for id in event_ids(&body) {
                let position = u32::try_from(positions.len())?;
                anyhow::ensure!(
                    positions.insert(id, position).is_none(),
                    "the simulator repeated event_id {id}"
                );
            }
            anyhow::ensure!(
                positions.len() - first == n,
                "a simulated request holds {} event ids, not {n}",
                positions.len() - first
            );
            bodies.push(Bytes::from(body));
            left -= n;
        }
        Ok(Self {
            bodies,
            batch,
            positions,
        })
    }

    /// Events in all.
    pub fn events(&self) -> usize {
        self.positions.len()
    }

    /// Bytes of NDJSON in all.
    pub fn bytes(&self) -> usize {
        self.bodies.iter().map(Bytes::len).sum()
    }

    /// The position of the event with `event_id` in the stream, if it is one of this plan's.
    pub fn position(&self, event_id: u64) -> Option<usize> {
        self.positions.get(&event_id).map(|&p| p as usize)
    }

    /// The index of the request that carries the event at `position`.
    pub fn request_of(&self, position: usize) -> usize {
        position / self.batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_read_from_batches_and_the_ping_has_none() {
        let batch = br#"[{"msys":{"message_event":{"type":"delivery","event_id":"123456789012345678","x":"\"event_id\":\"9\""}}},{"msys":{"track_event":{"event_id":"42","type":"open"}}}]"#;
        assert_eq!(
            event_ids(batch).collect::<Vec<_>>(),
            [123_456_789_012_345_678, 42]
        );
        assert_eq!(event_ids(br#"[{"msys":{}}]"#).count(), 0);
        assert_eq!(
            event_ids(br#"{"event_id":"abc"} {"event_id":"7"} {"event_id":"8"#).collect::<Vec<_>>(),
            [7],
            "non-numeric and unterminated ids are skipped"
        );
    }

    #[test]
    fn a_plan_holds_every_event_once_and_knows_its_request() {
        let plan = IngestPlan::simulate(2_500, 1_000, 3).unwrap();
        assert_eq!(plan.events(), 2_500);
        assert_eq!(plan.bodies.len(), 3);
        let lines: Vec<usize> = plan
            .bodies
            .iter()
            .map(|b| b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count())
            .collect();
        assert_eq!(lines, [1_000, 1_000, 500]);
        assert_eq!(
            plan.bytes(),
            plan.bodies.iter().map(|b| b.len()).sum::<usize>()
        );
        let mut seen = 0;
        for (request, body) in plan.bodies.iter().enumerate() {
            for id in event_ids(body) {
                let position = plan.position(id).unwrap();
                assert_eq!(position, seen, "positions follow the sending order");
                assert_eq!(plan.request_of(position), request);
                seen += 1;
            }
        }
        assert_eq!(seen, 2_500);
        assert_eq!(plan.position(1), None);
    }

    #[test]
    fn a_zero_batch_is_refused() {
        assert!(IngestPlan::simulate(10, 0, 1).is_err());
    }
}
