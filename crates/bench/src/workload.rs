//! The simulated traffic the benchmarks send: NDJSON lines, ingest bodies, stored events.

use bytes::Bytes;
use eventhose_hose::Message;
use eventhose_model::Event;
use eventhose_simulator::{LineFormat, SimConfig, Simulator};

/// How many distinct request bodies are generated and cycled (more would only cost memory).
const DISTINCT_BODIES: usize = 64;

/// `n` simulated events as NDJSON.
pub fn simulated_lines(n: usize, seed: u64) -> Vec<u8> {
    // A day ago: ingest accepts only events inside the retention window.
    let start = chrono::Utc::now().timestamp() - 86_400;
    let mut simulator = match Simulator::new(SimConfig::new(seed, start, 10_000.0)) {
        Ok(simulator) => simulator,
        Err(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    simulator.write_lines(&mut out, n, LineFormat::Bare);
    out
}

/// Distinct ingest bodies of `batch` simulated events each.
pub fn request_bodies(batch: usize, gzip: bool) -> anyhow::Result<Vec<Bytes>> {
    (0..DISTINCT_BODIES as u64)
        .map(|seed| {
            let lines = simulated_lines(batch, seed + 1);
            anyhow::ensure!(!lines.is_empty(), "the simulator produced nothing");
            Ok(Bytes::from(if gzip { gzip_bytes(&lines)? } else { lines }))
        })
        .collect()
}

/// `batch` simulated events in the hose's storage form.
pub fn stored_events(batch: usize) -> anyhow::Result<Vec<Message>> {
    Ok(stored_form(&simulated_lines(batch, 1))?
        .into_iter()
        .map(Message::from)
        .collect())
}

/// NDJSON `lines` of ingest events in their storage form.
pub fn stored_form(lines: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    lines
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| Ok(Event::parse_ingest(line)?.to_json_bytes()))
        .collect()
}

/// Stored events of a simulated sender, `start` onwards.
pub fn simulate(n: usize, start: i64, events_per_second: f64) -> anyhow::Result<Vec<Message>> {
    let mut simulator = Simulator::new(SimConfig::new(11, start, events_per_second))?;
    let mut out = Vec::with_capacity(n);
    let mut lines = Vec::new();
    let mut left = n;
    while left > 0 {
        let chunk = left.min(100_000);
        lines.clear();
        simulator.write_lines(&mut lines, chunk, LineFormat::Bare);
        out.extend(stored_form(&lines)?.into_iter().map(Message::from));
        left -= chunk;
    }
    Ok(out)
}

fn gzip_bytes(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}
