//! Support for `mindpulse bench forecast`: runs the peer script (statsforecast, through a
//! Python venv) on competition data, forecasts the same series here, and scores both with
//! the M4 measures. Kept in this crate so the benchmark can be iterated on through
//! `cargo run --release -p mindpulse-forecast --example bench_forecast`; the CLI command
//! only parses arguments and prints.

use crate::metrics::{inside, mase, smape};
use crate::{auto_ets, seasonal_naive, Forecast};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Interval levels the benchmark scores.
pub const LEVELS: [f64; 2] = [80.0, 95.0];

/// One competition series with its own train/test split.
#[derive(Debug, Clone, Deserialize)]
pub struct Series {
    /// Its name in the competition file (e.g. `N1402`).
    pub id: String,
    /// Training values.
    pub x: Vec<f64>,
    /// Test values (length `h`).
    pub xx: Vec<f64>,
    /// Horizon.
    pub h: usize,
    /// Season length.
    pub m: usize,
}

/// What the peer script wrote.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    /// Dataset (`m3`, `tourism`).
    pub dataset: String,
    /// Frequency (`monthly`, `quarterly`).
    pub period: String,
    /// statsforecast's version.
    pub statsforecast: String,
    /// Seconds to import statsforecast.
    pub import_s: f64,
    /// Seconds of the first, untimed fit (compilation and lazy imports).
    pub warmup_s: f64,
    /// Seconds of AutoETS over all series.
    pub autoets_s: f64,
    /// Seconds of SeasonalNaive over all series.
    pub snaive_s: f64,
    /// The series.
    pub series: Vec<Series>,
    /// AutoETS outputs (`mean`, `lo-80`, `hi-80`, …, `model`, or `error`).
    pub autoets: Vec<Value>,
    /// SeasonalNaive outputs.
    pub snaive: Vec<Value>,
}

/// Errors of the benchmark plumbing.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The peer script could not be started or failed.
    #[error("the statsforecast peer failed: {0}")]
    Peer(String),
    /// Its output could not be read.
    #[error("cannot read the peer's output: {0}")]
    Output(String),
}

/// Runs `script` with `python` for one dataset/frequency and reads its output.
pub fn run_peer(
    python: &Path,
    script: &Path,
    dataset: &str,
    period: &str,
    limit: usize,
    threads: usize,
    out: &Path,
) -> Result<PeerRun, BenchError> {
    let status = Command::new(python)
        .arg(script)
        .args(["--dataset", dataset, "--period", period])
        .args([
            "--limit",
            &limit.to_string(),
            "--threads",
            &threads.to_string(),
        ])
        .arg("--out")
        .arg(out)
        .status()
        .map_err(|e| BenchError::Peer(format!("{}: {e}", python.display())))?;
    if !status.success() {
        return Err(BenchError::Peer(format!(
            "{} exited with {status}",
            script.display()
        )));
    }
    let text = std::fs::read_to_string(out).map_err(|e| BenchError::Output(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| BenchError::Output(e.to_string()))
}

/// A peer forecast from its JSON (`mean`, `lo-<l>`, `hi-<l>`), `None` when it failed.
pub fn peer_forecast(v: &Value, levels: &[f64]) -> Option<Forecast> {
    let arr = |k: &str| -> Option<Vec<f64>> {
        v.get(k)?.as_array()?.iter().map(|x| x.as_f64()).collect()
    };
    let intervals = levels
        .iter()
        .map(|l| {
            Some(crate::Interval {
                level: *l,
                lower: arr(&format!("lo-{l}"))?,
                upper: arr(&format!("hi-{l}"))?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Forecast {
        model: v
            .get("model")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string(),
        mean: arr("mean")?,
        intervals,
    })
}

/// Accuracy of one method on one set of series.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Score {
    /// Method name.
    pub method: String,
    /// Series scored.
    pub series: usize,
    /// Series where the method failed (scored with the seasonal naive forecast instead).
    pub failed: usize,
    /// Mean MASE over the series.
    pub mase: f64,
    /// Mean sMAPE (%) over the series.
    pub smape: f64,
    /// Share of test values inside the 80 % and 95 % intervals.
    pub coverage: Vec<(f64, f64)>,
    /// Seconds spent forecasting.
    pub seconds: f64,
}

/// Scores forecasts (one per series; `None` = failed, replaced by `fallback`).
pub fn score(
    method: &str,
    series: &[Series],
    forecasts: &[Option<Forecast>],
    fallback: &[Forecast],
    seconds: f64,
) -> Score {
    let mut s = Score {
        method: method.into(),
        series: series.len(),
        seconds,
        ..Score::default()
    };
    let (mut hits, mut total) = (vec![0usize; LEVELS.len()], 0usize);
    let (mut n_mase, mut n_smape) = (0usize, 0usize);
    for ((ser, fc), fb) in series.iter().zip(forecasts).zip(fallback) {
        let fc = match fc {
            Some(f) if f.mean.len() == ser.xx.len() => f,
            _ => {
                s.failed += 1;
                fb
            }
        };
        if let Ok(v) = mase(&ser.x, &ser.xx, &fc.mean, ser.m) {
            s.mase += v;
            n_mase += 1;
        }
        if let Ok(v) = smape(&ser.xx, &fc.mean) {
            s.smape += v;
            n_smape += 1;
        }
        total += ser.xx.len();
        for (h, l) in hits.iter_mut().zip(LEVELS) {
            if let Some(iv) = fc.intervals.iter().find(|i| i.level == l) {
                *h += inside(&ser.xx, &iv.lower, &iv.upper);
            }
        }
    }
    s.mase /= n_mase.max(1) as f64;
    s.smape /= n_smape.max(1) as f64;
    s.coverage = LEVELS
        .iter()
        .zip(&hits)
        .map(|(l, h)| (*l, *h as f64 / total.max(1) as f64))
        .collect();
    s
}

/// Maps `f` over `items` on `threads` scoped threads, keeping the order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.max(1).min(items.len().max(1));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|sc| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| sc.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// The outcome of one dataset: mindpulse's and the peer's scores, and the models chosen.
#[derive(Debug, Clone, Serialize)]
pub struct SetResult {
    /// e.g. `M3 monthly`.
    pub name: String,
    /// Series and horizon.
    pub series: usize,
    /// Horizon.
    pub horizon: usize,
    /// mindpulse AutoETS, mindpulse SeasonalNaive, statsforecast AutoETS, statsforecast
    /// SeasonalNaive, in that order.
    pub scores: Vec<Score>,
    /// statsforecast's import and warm-up seconds.
    pub peer_import_s: f64,
    /// statsforecast's warm-up seconds (first fit).
    pub peer_warmup_s: f64,
    /// Share of series where both AutoETS picked the same model.
    pub same_model: f64,
}

/// Forecasts the peer's series with mindpulse (timed, on `threads` threads) and scores both.
pub fn evaluate(peer: &PeerRun, threads: usize) -> SetResult {
    let series = &peer.series;
    let t0 = Instant::now();
    let ours: Vec<Option<Forecast>> = par_map(series, threads, |s| {
        auto_ets(&s.x, s.m)
            .and_then(|f| f.forecast(s.h, &LEVELS))
            .ok()
    });
    let ets_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let naive: Vec<Option<Forecast>> = par_map(series, threads, |s| {
        seasonal_naive(&s.x, s.m, s.h, &LEVELS).ok()
    });
    let naive_s = t0.elapsed().as_secs_f64();
    // Fallback for failures: a flat forecast at the last value (never used when both succeed).
    let flat: Vec<Forecast> = series
        .iter()
        .map(|s| Forecast {
            model: "fallback".into(),
            mean: vec![s.x.last().copied().unwrap_or(0.0); s.h],
            intervals: Vec::new(),
        })
        .collect();
    let peer_ets: Vec<Option<Forecast>> = peer
        .autoets
        .iter()
        .map(|v| peer_forecast(v, &LEVELS))
        .collect();
    let peer_naive: Vec<Option<Forecast>> = peer
        .snaive
        .iter()
        .map(|v| peer_forecast(v, &LEVELS))
        .collect();
    let same = ours
        .iter()
        .zip(&peer_ets)
        .filter(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => a.model == b.model,
            _ => false,
        })
        .count();
    let name = format!(
        "{} {}",
        if peer.dataset == "m3" {
            "M3"
        } else {
            "tourism"
        },
        peer.period
    );
    SetResult {
        name,
        series: series.len(),
        horizon: series.first().map(|s| s.h).unwrap_or(0),
        scores: vec![
            score("mindpulse AutoETS", series, &ours, &flat, ets_s),
            score("mindpulse SeasonalNaive", series, &naive, &flat, naive_s),
            score(
                "statsforecast AutoETS",
                series,
                &peer_ets,
                &flat,
                peer.autoets_s,
            ),
            score(
                "statsforecast SeasonalNaive",
                series,
                &peer_naive,
                &flat,
                peer.snaive_s,
            ),
        ],
        peer_import_s: peer.import_s,
        peer_warmup_s: peer.warmup_s,
        same_model: same as f64 / series.len().max(1) as f64,
    }
}

/// The markdown tables of a run: one row per method and set, then the targets.
pub fn markdown(results: &[SetResult], threads: usize) -> String {
    let mut out = String::new();
    out.push_str(
        "| set | method | series | MASE | sMAPE % | 80 % cov. | 95 % cov. | seconds | failed |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        for s in &r.scores {
            out.push_str(&format!(
                "| {} (h={}) | {} | {} | {:.3} | {:.2} | {:.1} | {:.1} | {:.3} | {} |\n",
                r.name,
                r.horizon,
                s.method,
                s.series,
                s.mase,
                s.smape,
                100.0 * s.coverage.first().map(|c| c.1).unwrap_or(f64::NAN),
                100.0 * s.coverage.get(1).map(|c| c.1).unwrap_or(f64::NAN),
                s.seconds,
                s.failed
            ));
        }
    }
    out.push_str(&format!(
        "\nTarget: AutoETS MASE within 5 % of statsforecast's, at ≥ 10× its speed ({threads} thread(s) each; statsforecast's import and first-fit warm-up are excluded from its seconds and listed here).\n\n\
         | set | MASE ratio (mindpulse / statsforecast) | within 5 % | speed-up | ≥ 10× | same model chosen | statsforecast import s | statsforecast warm-up s |\n\
         |---|---:|:-:|---:|:-:|---:|---:|---:|\n"
    ));
    for r in results {
        let (ours, theirs) = (&r.scores[0], &r.scores[2]);
        let ratio = ours.mase / theirs.mase;
        let speed = theirs.seconds / ours.seconds.max(1e-9);
        out.push_str(&format!(
            "| {} | {:.3} | {} | {:.1}× | {} | {:.0} % | {:.2} | {:.2} |\n",
            r.name,
            ratio,
            if ratio <= 1.05 { "yes" } else { "no" },
            speed,
            if speed >= 10.0 { "yes" } else { "no" },
            100.0 * r.same_model,
            r.peer_import_s,
            r.peer_warmup_s
        ));
    }
    out
}
