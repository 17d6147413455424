//! Measures generator throughput:
//!
//! ```text
//! cargo run --release -p mindpulse-synth --example throughput -- [RECORDS] [OUT.jsonl]
//! ```
//!
//! Writes RECORDS (default 1,000,000) records to OUT.jsonl, or to a sink without a path,
//! and prints records/s and MB/s. Also times `next_record` (the `serde_json::Value` path)
//! on a tenth as many records, for comparison.

use mindpulse_synth::{Generator, SynthOptions};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map_or(Ok(1_000_000), |a| a.parse())
        .map_err(io::Error::other)?;
    let out: Box<dyn Write> = match args.next() {
        Some(p) => Box::new(BufWriter::with_capacity(1 << 20, File::create(p)?)),
        None => Box::new(io::sink()),
    };
    let t = Instant::now();
    let mut g = Generator::new(SynthOptions::default());
    let setup = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let bytes = g.write_jsonl(out, n)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "write_jsonl: {n} records, {:.1} MB in {secs:.3} s: {:.0} records/s, {:.0} MB/s (setup {:.3} s)",
        bytes as f64 / 1e6,
        n as f64 / secs,
        bytes as f64 / 1e6 / secs,
        setup
    );
    let m = (n / 10).max(1);
    let t = Instant::now();
    let mut g = Generator::new(SynthOptions::default());
    let mut chars = 0usize;
    for _ in 0..m {
        chars += g.next_record()["text"].as_str().map_or(0, str::len);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "next_record: {m} records in {secs:.3} s: {:.0} records/s ({chars} text bytes)",
        m as f64 / secs
    );
    Ok(())
}
