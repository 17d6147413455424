//! `mindpulse forecast`: the next buckets of a stored series (volume or a dimension's
//! corrected prevalence, for all posts or one group) from AutoETS (`mindpulse-forecast`:
//! exponential smoothing chosen by AICc, weekly seasonality for daily series) with 80 % and
//! 95 % prediction intervals, and a rolling-origin backtest on the series itself: MASE and
//! sMAPE against the seasonal naive forecast, and how often the intervals held the truth.
//!
//! Days without posts count as zero posts; a prevalence has no value on such a day, so it
//! is interpolated between its neighbours (said in the output).

use crate::context::Context;
use crate::series::{read_series, GroupBy, Read};
use crate::watch::buckets::Step as BucketStep;
use crate::zone::Zone;
use anyhow::bail;
use clap::{Args, ValueEnum};
use mindpulse_analyze::Bucket;
use mindpulse_store::PostFilter;
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    Day,
    Week,
}

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// `volume` or a population dimension.
    #[arg(long, default_value = "volume")]
    pub metric: String,
    /// The kind of group of --group: topic, region, platform or lang.
    #[arg(long, value_enum, requires = "group")]
    pub group_by: Option<GroupBy>,
    /// One group's series (with --group-by); all posts without it.
    #[arg(long, requires = "group_by")]
    pub group: Option<String>,
    #[arg(long, value_enum, default_value = "day")]
    pub by: ByArg,
    /// Buckets ahead.
    #[arg(long, default_value_t = 14)]
    pub horizon: usize,
    /// Rolling origins of the backtest (0: none).
    #[arg(long, default_value_t = 4)]
    pub origins: usize,
    /// First day of the history (YYYY-MM-DD in --tz).
    #[arg(long)]
    pub since: Option<String>,
    /// End of the history (exclusive).
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long)]
    pub tz: Option<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct BacktestOut {
    origins: usize,
    horizon: usize,
    mase: f64,
    smape: f64,
    naive_mase: f64,
    naive_smape: f64,
    coverage80: f64,
    coverage95: f64,
}

#[derive(Debug, Serialize)]
struct Output {
    metric: String,
    group_by: Option<String>,
    group: Option<String>,
    by: &'static str,
    zone: &'static str,
    model: String,
    history: usize,
    first_bucket: String,
    last_bucket: String,
    interpolated: usize,
    forecast: Vec<crate::forecasting::Step>,
    backtest: Option<BacktestOut>,
}

pub async fn run(ctx: &Context, args: ForecastArgs) -> anyhow::Result<ExitCode> {
    if args.horizon == 0 || args.horizon > 366 {
        bail!("--horizon {}: expected 1 to 366 buckets", args.horizon);
    }
    let zone = Zone::resolve(args.tz.as_deref(), &ctx.config)?;
    let (since, until) = zone.window(args.since.as_deref(), args.until.as_deref())?;
    let filter = PostFilter {
        since,
        until,
        no_duplicates: true,
        ..PostFilter::default()
    };
    let (bucket, step, season, by) = match args.by {
        ByArg::Day => (Bucket::Day, BucketStep::Day, 7, "day"),
        ByArg::Week => (Bucket::Week, BucketStep::Week, 1, "week"),
    };
    let volume = args.metric == "volume";
    let store = ctx.existing_store().await?;
    let read = read_series(
        &store,
        &args.metric,
        args.group_by,
        &filter,
        bucket,
        zone.tz,
        Read::Rollups,
    )
    .await;
    store.close().await;
    let (series, rates, _) = read?;
    let method = crate::series::configured_method(&ctx.config);
    let rows = if volume {
        series.volume(1)
    } else {
        series.prevalence(&|l| rates.get(l), method, 1)
    };
    let min_cell = crate::series::configured_min_cell(&ctx.config);
    let p = crate::forecasting::project(
        &rows,
        volume,
        args.group.as_deref(),
        step,
        season,
        args.horizon,
        min_cell,
    )?;
    let y = &p.history[..];
    let backtest = if args.origins > 0 {
        // As many origins as asked, or as the history allows.
        let mut tried = Err(mindpulse_forecast::ForecastError::NoModel);
        for origins in (1..=args.origins).rev() {
            tried = mindpulse_forecast::backtest(y, season, args.horizon, origins, &[80.0, 95.0]);
            if tried.is_ok() {
                break;
            }
        }
        match tried {
            Ok(b) => Some(BacktestOut {
                origins: b.origins,
                horizon: args.horizon,
                mase: b.mase,
                smape: b.smape,
                naive_mase: b.naive_mase,
                naive_smape: b.naive_smape,
                coverage80: b
                    .coverage
                    .iter()
                    .find(|c| c.0 == 80.0)
                    .map_or(f64::NAN, |c| c.1),
                coverage95: b
                    .coverage
                    .iter()
                    .find(|c| c.0 == 95.0)
                    .map_or(f64::NAN, |c| c.1),
            }),
            Err(e) => {
                eprintln!("backtest skipped: {e}");
                None
            }
        }
    } else {
        None
    };
    let out = Output {
        metric: args.metric.clone(),
        group_by: args.group_by.map(|g| format!("{g:?}").to_lowercase()),
        group: args.group.clone(),
        by,
        zone: zone.name(),
        model: p.model.clone(),
        history: y.len(),
        first_bucket: p.first_bucket.clone(),
        last_bucket: p.last_bucket.clone(),
        interpolated: p.interpolated,
        forecast: p.steps,
        backtest,
    };
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    print(&out, volume);
    Ok(ExitCode::SUCCESS)
}

fn print(out: &Output, volume: bool) {
    let v = |x: f64| {
        if volume {
            format!("{x:.0}")
        } else {
            format!("{:.2}%", x * 100.0)
        }
    };
    println!(
        "forecast: {}{} by {} in {}; {} over {} buckets of history ({} … {}){}",
        out.metric,
        out.group
            .as_deref()
            .map(|g| format!(" ({} = {g})", out.group_by.as_deref().unwrap_or("group")))
            .unwrap_or_default(),
        out.by,
        out.zone,
        out.model,
        out.history,
        out.first_bucket,
        out.last_bucket,
        if out.interpolated > 0 {
            format!(
                "; {} bucket(s) without posts interpolated",
                out.interpolated
            )
        } else {
            String::new()
        }
    );
    println!(
        "{:<12} {:>10} {:>23} {:>23}",
        "bucket", "forecast", "80 % interval", "95 % interval"
    );
    for s in &out.forecast {
        println!(
            "{:<12} {:>10} {:>23} {:>23}",
            s.bucket,
            v(s.mean),
            format!("{} – {}", v(s.lo80), v(s.hi80)),
            format!("{} – {}", v(s.lo95), v(s.hi95))
        );
    }
    if let Some(b) = &out.backtest {
        println!(
            "backtest ({} rolling origins, {} buckets ahead): MASE {:.3} (seasonal naive {:.3}), sMAPE {:.1}% (naive {:.1}%), coverage 80 % {:.0}%, 95 % {:.0}%",
            b.origins,
            b.horizon,
            b.mase,
            b.naive_mase,
            b.smape,
            b.naive_smape,
            b.coverage80 * 100.0,
            b.coverage95 * 100.0
        );
    }
}
