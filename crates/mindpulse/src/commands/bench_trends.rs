//! `mindpulse bench trends`: how fast the reading commands answer on a large SQLite
//! database. Generates realistic posts (default 1,000,000 over 90 days), imports them (a
//! child process, as a user would), gives every post a `depression` score from a benchmark
//! scorer with screen rates (so the corrected estimator runs), then times each command as a
//! child process — `trends` on the rollups, and the same `trends --scan` on the posts, the
//! peer in the same run — and `alerts scan` / `alerts list`. Prints medians of the runs.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BenchTrendsArgs {
    /// Posts to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub posts: u64,
    /// Days the posts span.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Runs per command (the median is printed).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Keep the files here (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Use the database an earlier run left in --dir instead of generating it again.
    #[arg(long, requires = "dir")]
    pub reuse: bool,
}

pub async fn run(args: BenchTrendsArgs) -> anyhow::Result<ExitCode> {
    let (dir, _tmp) = crate::bench_db::work_dir(args.dir.as_deref())?;
    let exe = std::env::current_exe()?;
    let prepared = crate::bench_db::prepare(&dir, args.posts, args.days, args.reuse).await?;
    let (db, db_path, stored, setup) =
        (prepared.url, prepared.path, prepared.posts, prepared.setup);
    println!(
        "bench trends: {stored} posts over {} days in SQLite ({}), release build; medians of {} runs per command (child processes, start-up included)\n",
        args.days,
        db_path.display(),
        args.runs
    );
    println!("| setup | seconds |\n|---|---:|");
    for (what, s) in &setup {
        println!("| {what} | {s:.1} |");
    }
    println!();

    let queries: [(&str, &[&str]); 5] = [
        ("trends (volume by day)", &["trends", "--json"]),
        (
            "trends --metric depression (corrected, 95 % CI, by day)",
            &["trends", "--metric", "depression", "--json"],
        ),
        (
            "trends --metric depression --group lang",
            &[
                "trends",
                "--metric",
                "depression",
                "--group",
                "lang",
                "--json",
            ],
        ),
        (
            "trends --metric depression --by week --group topic",
            &[
                "trends",
                "--metric",
                "depression",
                "--by",
                "week",
                "--group",
                "topic",
                "--json",
            ],
        ),
        (
            "trends --group platform --tz Asia/Shanghai",
            &[
                "trends",
                "--group",
                "platform",
                "--tz",
                "Asia/Shanghai",
                "--json",
            ],
        ),
    ];
    println!(
        "| command | rollups (ms) | scan of the posts, `--scan` (ms) | speed-up | same answer |"
    );
    println!("|---|---:|---:|---:|:-:|");
    for (label, q) in queries {
        let (fast, out_fast) = crate::bench_db::median_run(&exe, &db, q, args.runs)?;
        let mut scan: Vec<&str> = q.to_vec();
        scan.push("--scan");
        let (slow, out_slow) = crate::bench_db::median_run(&exe, &db, &scan, args.runs.min(3))?;
        println!(
            "| `{label}` | {:.0} | {:.0} | {:.0}× | {} |",
            fast * 1000.0,
            slow * 1000.0,
            slow / fast,
            if out_fast == out_slow { "yes" } else { "NO" }
        );
    }
    let (scan_s, _) =
        crate::bench_db::median_run(&exe, &db, &["alerts", "scan", "--no-notify", "--json"], 1)?;
    let (list_s, listed) =
        crate::bench_db::median_run(&exe, &db, &["alerts", "list", "--json"], args.runs)?;
    let n_alerts = serde_json::from_str::<serde_json::Value>(listed.trim())
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0);
    println!(
        "| `alerts scan` (5 default rules, first scan: every episode stored with evidence) | {:.0} | – | – | – |",
        scan_s * 1000.0
    );
    println!(
        "| `alerts list` ({n_alerts} alerts) | {:.0} | – | – | – |",
        list_s * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}
