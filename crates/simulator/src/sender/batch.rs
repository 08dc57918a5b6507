//! Turns an event iterator into NDJSON batches on a dedicated thread.

use std::io::Write;
use std::thread::JoinHandle;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use tokio::sync::mpsc;

use crate::event::{LineFormat, SimEvent};

/// One request's worth of events.
#[derive(Debug)]
pub(crate) struct Batch {
    /// NDJSON lines, uncompressed.
    pub(crate) body: Bytes,
    /// Number of lines.
    pub(crate) events: u64,
}

/// Serialises `events` into batches of `batch_size` lines and hands them to `out`, on its own
/// thread so generation overlaps with network I/O. Stops when the events run out or when the
/// receiving side is dropped.
pub(crate) fn spawn_producer<I>(
    events: I,
    batch_size: usize,
    format: LineFormat,
    out: mpsc::Sender<Batch>,
) -> std::io::Result<JoinHandle<()>>
where
    I: Iterator<Item = SimEvent> + Send + 'static,
{
    std::thread::Builder::new()
        .name("eventhose-send-producer".to_owned())
        .spawn(move || produce(events, batch_size, format, &out))
}

fn produce<I: Iterator<Item = SimEvent>>(
    mut events: I,
    batch_size: usize,
    format: LineFormat,
    out: &mpsc::Sender<Batch>,
) {
    loop {
        let mut body = Vec::with_capacity(batch_size.saturating_mul(960));
        let mut count = 0u64;
        for event in events.by_ref().take(batch_size) {
            event.write_line(&mut body, format);
            count += 1;
        }
        if count == 0 {
            return;
        }
        let batch = Batch {
            body: Bytes::from(body),
            events: count,
        };
        if out.blocking_send(batch).is_err() || count < batch_size as u64 {
            return;
        }
    }
}

/// Gzip-compresses `data` at the fastest level (throughput matters more than ratio here).
pub(crate) fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 6), Compression::fast());
    encoder.write_all(data)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SimConfig, Simulator};
    use flate2::read::GzDecoder;
    use std::io::Read;

    #[test]
    fn batches_cover_every_event_in_order() {
        let sim = Simulator::new(SimConfig::new(3, 1_700_000_000, 100.0)).unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        let handle = spawn_producer(sim.take(2_500), 1_000, LineFormat::Bare, tx).unwrap();
        let mut sizes = Vec::new();
        let mut all = Vec::new();
        while let Some(batch) = rx.blocking_recv() {
            sizes.push(batch.events);
            assert_eq!(
                batch.body.iter().filter(|&&b| b == b'\n').count() as u64,
                batch.events
            );
            all.extend_from_slice(&batch.body);
        }
        handle.join().unwrap();
        assert_eq!(sizes, vec![1_000, 1_000, 500]);
        let mut expected = Vec::new();
        let mut sim = Simulator::new(SimConfig::new(3, 1_700_000_000, 100.0)).unwrap();
        sim.write_ndjson(&mut expected, 2_500);
        assert_eq!(all, expected);
    }

    #[test]
    fn producer_stops_when_the_receiver_is_gone() {
        let sim = Simulator::new(SimConfig::default()).unwrap();
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        // An endless simulator: only the closed channel can stop the thread.
        let handle = spawn_producer(sim, 10, LineFormat::Bare, tx).unwrap();
        handle.join().unwrap();
    }

    #[test]
    fn gzip_round_trips() {
        let data = b"{\"type\":\"delivery\"}\n".repeat(100);
        let packed = gzip(&data).unwrap();
        assert!(packed.len() < data.len());
        let mut unpacked = Vec::new();
        GzDecoder::new(&packed[..])
            .read_to_end(&mut unpacked)
            .unwrap();
        assert_eq!(unpacked, data);
    }
}
