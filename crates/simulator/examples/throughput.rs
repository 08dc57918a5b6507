//! Measures generation speed on one core, without the test harness.
//!
//! Run it with optimisations, e.g.
//! `CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo run -p eventhose-simulator --example throughput -- 2000000 [all|bare|msys|iter] [time_scale]`
//! (or with `--release`). It prints events per second and MB/s for the byte fast path
//! ([`Simulator::write_ndjson`]), the `msys`-framed path ([`Simulator::write_lines`]) and the
//! `serde_json::Value` iterator path ([`SimEvent::to_line`]).
//!
//! Figures from a 2-core VM (one core used, optimised build, 50,000 events/s simulated):
//!
//! | path | `time_scale` 1 | `time_scale` 0.01 | `time_scale` 0.0001 |
//! |---|---|---|---|
//! | `write_ndjson` | ~0.70 M events/s | ~0.92 M events/s | ~1.09 M events/s |
//! | iterator + `to_line` | ~0.13 M events/s | | |
//!
//! With real-time lives, a quarter of a million messages are in flight and each event
//! touches a cold one, so the fast path is bound by memory latency rather than JSON writing.
//!
//! [`Simulator::write_ndjson`]: eventhose_simulator::Simulator::write_ndjson
//! [`Simulator::write_lines`]: eventhose_simulator::Simulator::write_lines
//! [`SimEvent::to_line`]: eventhose_simulator::SimEvent::to_line

use std::time::Instant;

use eventhose_simulator::{LineFormat, SimConfig, Simulator};

const CHUNK: usize = 10_000;

fn report(label: &str, events: usize, bytes: usize, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label:<22} {events:>9} events in {secs:>6.3}s: {:>10.0} events/s, {:>6.1} MB/s, {:>5.0} bytes/event",
        events as f64 / secs,
        bytes as f64 / secs / 1e6,
        bytes as f64 / events as f64,
    );
}

fn chunked(
    config: &SimConfig,
    events: usize,
    format: LineFormat,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut sim = Simulator::new(config.clone())?;
    let mut buf = Vec::with_capacity(CHUNK * 1_100);
    let chunks = events.div_ceil(CHUNK);
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..chunks {
        buf.clear();
        sim.write_lines(&mut buf, CHUNK, format);
        bytes += buf.len();
    }
    report(&format!("{format:?} lines"), chunks * CHUNK, bytes, started);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let only = args.next().filter(|m| m != "all");
    let wanted = |mode: &str| only.as_deref().is_none_or(|o| o == mode);
    let mut config = SimConfig::new(1, 1_717_200_000, 50_000.0);
    config.time_scale = args.next().map_or(Ok(1.0), |a| a.parse())?;

    if wanted("bare") {
        chunked(&config, events, LineFormat::Bare)?;
    }
    if wanted("msys") {
        chunked(&config, events, LineFormat::Msys)?;
    }
    if wanted("iter") {
        let iterated = events / 4;
        let started = Instant::now();
        let mut bytes = 0;
        for event in Simulator::new(config)?.take(iterated) {
            bytes += event.to_line().len();
        }
        report("iterator + to_line", iterated, bytes, started);
    }
    Ok(())
}
