//! The forecast benchmark without the CLI: `cargo run --release -p mindpulse-forecast
//! --example bench_forecast -- <python> [limit] [threads] [sets…]` where a set is
//! `m3:monthly`, `tourism:monthly`, `m3:quarterly`, `tourism:quarterly`.

use mindpulse_forecast::bench::{evaluate, markdown, run_peer};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let python = PathBuf::from(
        args.first()
            .ok_or("usage: bench_forecast <python> [limit] [threads] [sets…]")?,
    );
    let limit: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let threads: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let sets: Vec<String> = if args.len() > 3 {
        args[3..].to_vec()
    } else {
        vec!["m3:monthly".into(), "tourism:monthly".into()]
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("scripts/bench/forecast_peer.py");
    let dir = std::env::temp_dir();
    let mut results = Vec::new();
    for set in &sets {
        let (ds, per) = set.split_once(':').ok_or("set must be dataset:period")?;
        let out = dir.join(format!("mindpulse-forecast-peer-{ds}-{per}.json"));
        let peer = run_peer(&python, &script, ds, per, limit, threads, &out)?;
        results.push(evaluate(&peer, threads));
    }
    println!("{}", markdown(&results, threads));
    Ok(())
}
