//! Prints the first events of a stream, one NDJSON line each.
//!
//! `cargo run -p eventhose-simulator --example peek -- [count] [seed]`

use eventhose_simulator::{SimConfig, Simulator};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(1), |a| a.parse())?;
    let mut config = SimConfig::new(seed, 1_717_200_000, 20.0);
    config.time_scale = 0.01;
    let mut sim = Simulator::new(config)?;
    let mut out = Vec::new();
    let summary = sim.write_ndjson(&mut out, count);
    std::io::stdout().write_all(&out)?;
    eprint!("{summary}");
    Ok(())
}
