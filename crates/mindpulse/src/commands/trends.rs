//! `mindpulse trends`: the measurement every later view builds on. Per time bucket (hour,
//! day or week, in a time zone) and optional group (topic, region, platform, language):
//! posts `n`; for a population dimension also the flagged count, the raw share and the
//! prevalence corrected for the screen's errors with its 95 % interval. Exact and near
//! duplicates are left out unless asked for; cells under `min_cell` posts are suppressed.

use crate::context::Context;
use crate::series::{read_series, By, GroupBy, MethodArg, Read};
use clap::Args;
use mindpulse_analyze::TrendRow;
use mindpulse_store::PostFilter;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct TrendsArgs {
    /// `volume` (posts per cell) or a population dimension: depression, suicide_risk,
    /// stress, substance_use.
    #[arg(long, default_value = "volume")]
    pub metric: String,
    /// Bucket length.
    #[arg(long, value_enum, default_value = "day")]
    pub by: By,
    /// Split each bucket by topic, region, platform or language.
    #[arg(long, value_enum)]
    pub group: Option<GroupBy>,
    /// First day (YYYY-MM-DD in --tz) or time (RFC 3339, or without offset in --tz).
    #[arg(long)]
    pub since: Option<String>,
    /// End (exclusive): a day (YYYY-MM-DD in --tz) or time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    /// Time zone of the buckets and of --since/--until days (IANA name, e.g.
    /// Asia/Shanghai; default [time] zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Count exact and near duplicates too.
    #[arg(long)]
    pub include_duplicates: bool,
    /// Only posts of this platform.
    #[arg(long)]
    pub platform: Option<String>,
    /// Cells with fewer posts are suppressed (default [trends] min_cell, else 10).
    #[arg(long)]
    pub min_cell: Option<u64>,
    /// The correction (default [trends] method, else acc).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Print exactly one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
    /// Count from the posts themselves, not the rollups (the answer is the same; the
    /// rollups are read whenever they cover the query).
    #[arg(long)]
    pub scan: bool,
}

pub async fn run(ctx: &Context, args: TrendsArgs) -> anyhow::Result<ExitCode> {
    let zone = crate::zone::Zone::resolve(args.tz.as_deref(), &ctx.config)?;
    let (tz, tz_name) = (zone.tz, zone.name());
    let min_cell = crate::series::min_cell_or_configured(args.min_cell, &ctx.config);
    let method = crate::series::method_or_configured(args.method, &ctx.config);
    let (since, until) = zone.window(args.since.as_deref(), args.until.as_deref())?;
    let filter = PostFilter {
        since,
        until,
        no_duplicates: !args.include_duplicates,
        platform: args.platform.clone(),
        ..Default::default()
    };
    let bucket = args.by.bucket();
    let store = ctx.existing_store().await?;
    let result = read_series(
        &store,
        &args.metric,
        args.group,
        &filter,
        bucket,
        tz,
        if args.scan { Read::Scan } else { Read::Rollups },
    )
    .await;
    store.close().await;
    let (series, rates, source) = result?;
    let rows = if args.metric == "volume" {
        series.volume(min_cell)
    } else {
        series.prevalence(&|lang| rates.get(lang), method, min_cell)
    };
    if args.json {
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "trends: {} by {} in {tz_name}{}{}; cells under {min_cell} posts suppressed{}",
        args.metric,
        match args.by {
            By::Hour => "hour",
            By::Day => "day",
            By::Week => "week (from Monday)",
        },
        args.group
            .map(|g| format!(", grouped by {}", format!("{g:?}").to_lowercase()))
            .unwrap_or_default(),
        if args.include_duplicates {
            ", duplicates included"
        } else {
            ", duplicates left out"
        },
        source
            .map(|s| format!("\n{s}; corrected with {}", method.name().to_uppercase()))
            .unwrap_or_default()
    );
    print!("{}", render(&rows, args.metric == "volume"));
    Ok(ExitCode::SUCCESS)
}

/// The table.
fn render(rows: &[TrendRow], volume: bool) -> String {
    use crate::render::display_width;
    use std::fmt::Write;
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(display_width(s))));
    let gw = rows
        .iter()
        .filter_map(|r| r.group.as_deref())
        .map(display_width)
        .max()
        .unwrap_or(0)
        .clamp(5, 32);
    let has_group = rows.iter().any(|r| r.group.is_some());
    let mut out = String::new();
    let group_head = if has_group {
        pad("group", gw) + "  "
    } else {
        String::new()
    };
    if volume {
        let _ = writeln!(out, "{:<25} {group_head}{:>9}", "bucket", "posts");
    } else {
        let _ = writeln!(
            out,
            "{:<25} {group_head}{:>9} {:>8} {:>7} {:>11} {:>17}",
            "bucket", "posts", "flagged", "raw %", "prevalence", "95 % CI"
        );
    }
    for r in rows {
        let group = match &r.group {
            Some(g) if has_group => pad(g, gw) + "  ",
            _ if has_group => pad("", gw) + "  ",
            _ => String::new(),
        };
        if r.suppressed {
            let _ = writeln!(out, "{:<25} {group}{:>9}", r.bucket, "suppressed");
            continue;
        }
        let n = r.n.unwrap_or(0);
        if volume {
            let _ = writeln!(out, "{:<25} {group}{:>9}", r.bucket, n);
            continue;
        }
        let pct = |v: Option<f64>| v.map(|v| format!("{:.1}", v * 100.0)).unwrap_or_default();
        let flag = match (r.validated, &r.note) {
            (Some(false), Some(note)) => format!("  ! {note}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{:<25} {group}{:>9} {:>8} {:>7} {:>10}% {:>17}{flag}",
            r.bucket,
            n,
            r.flagged.unwrap_or(0),
            pct(r.raw),
            pct(r.value),
            format!("{}–{} %", pct(r.ci_low), pct(r.ci_high)),
        );
    }
    out
}
