//! `mindpulse bench trends`: how fast the reading commands answer on a large SQLite
//! database. Generates realistic posts (default 1,000,000 over 90 days), imports them (a
//! child process, as a user would), gives every post a `depression` score from a benchmark
//! scorer with screen rates (so the corrected estimator runs), then times each command as a
//! child process — `trends` on the rollups, and the same `trends --scan` on the posts, the
//! peer in the same run — and `alerts scan` / `alerts list`. Prints medians of the runs.

use crate::measure::run_measured;
use anyhow::Context as _;
use clap::Args;
use mindpulse_core::{Score, ScorerInfo};
use mindpulse_store::{NewRun, PostFilter, RunCounts, RunKind, RunStatus, Store};
use mindpulse_synth::{Generator, SynthOptions};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

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
}

const KEY: &str = "mindpulse bench key: not a secret, only for the benchmark databases";

pub async fn run(args: BenchTrendsArgs) -> anyhow::Result<ExitCode> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let exe = std::env::current_exe()?;
    let db_path = dir.join("bench-trends.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    let db = format!("sqlite://{}", db_path.display());
    let input = dir.join("bench-trends.jsonl");
    let mut setup = Vec::new();

    let started = Instant::now();
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&input)?);
    Generator::new(SynthOptions {
        days: args.days.max(1),
        ..SynthOptions::default()
    })
    .write_jsonl(file, args.posts)?;
    setup.push(("generate posts", started.elapsed().as_secs_f64()));

    let mut import = Command::new(&exe);
    import
        .args([
            "--no-progress",
            "-q",
            "--db",
            &db,
            "import",
            "--json",
            "--format",
            "jsonl",
        ])
        .arg(&input)
        .env("MINDPULSE_PSEUDONYM_KEY", KEY);
    let (_, seconds, _) = run_measured(import).context("the import")?;
    setup.push(("import (rollups refreshed at the end)", seconds));

    let store = Store::open(&db).await?;
    let (stored, scoring, refresh) = score_all(&store).await?;
    setup.push(("store a depression score for every post", scoring));
    setup.push(("  of which: rollups refreshed after the score run", refresh));
    let started = Instant::now();
    store.rebuild_rollups().await?;
    setup.push((
        "rollups rebuild (all posts and scores)",
        started.elapsed().as_secs_f64(),
    ));
    store.close().await;

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
        let (fast, out_fast) = time(&exe, &db, q, args.runs)?;
        let mut scan: Vec<&str> = q.to_vec();
        scan.push("--scan");
        let (slow, out_slow) = time(&exe, &db, &scan, args.runs.min(3))?;
        println!(
            "| `{label}` | {:.0} | {:.0} | {:.0}× | {} |",
            fast * 1000.0,
            slow * 1000.0,
            slow / fast,
            if out_fast == out_slow { "yes" } else { "NO" }
        );
    }
    let (scan_s, _) = time(&exe, &db, &["alerts", "scan", "--no-notify", "--json"], 1)?;
    let (list_s, listed) = time(&exe, &db, &["alerts", "list", "--json"], args.runs)?;
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

/// Median seconds of `runs` runs of `mindpulse --db DB ARGS…`, and the last output.
fn time(
    exe: &std::path::Path,
    db: &str,
    args: &[&str],
    runs: usize,
) -> anyhow::Result<(f64, String)> {
    let mut secs = Vec::new();
    let mut out = String::new();
    for _ in 0..runs.max(1) {
        let mut cmd = Command::new(exe);
        cmd.args(["--no-progress", "-q", "--db", db])
            .args(args)
            .env("MINDPULSE_PSEUDONYM_KEY", KEY);
        let (stdout, s, _) = run_measured(cmd).with_context(|| format!("{args:?}"))?;
        secs.push(s);
        out = stdout;
    }
    secs.sort_by(f64::total_cmp);
    Ok((secs[secs.len() / 2], out))
}

/// Gives every post a `depression` probability (a fixed function of its id) from a benchmark
/// scorer whose run records screen rates for en and zh. Returns (posts, seconds, seconds of
/// the rollup refresh the run's end triggered).
async fn score_all(store: &Store) -> anyhow::Result<(u64, f64, f64)> {
    let rates = serde_json::json!({
        "n_pos": 200, "tp": 160, "n_neg": 2000, "fp": 60,
        "mean_p_pos": 0.8, "var_p_pos": 0.03, "mean_p_neg": 0.1, "var_p_neg": 0.01,
        "recall_validated": true
    });
    let info = ScorerInfo {
        model_id: "bench-scorer".into(),
        model_sha256: None,
        version: "bench-1".into(),
        params: serde_json::json!({"screens": {"depression": {
            "en": {"rates": rates}, "zh": {"rates": rates}
        }}}),
    };
    let scorer = store.ensure_scorer(&info).await?;
    let run = store
        .start_run(&NewRun {
            kind: Some(RunKind::Score),
            model_id: Some(info.model_id.clone()),
            version: Some(info.version.clone()),
            params: info.params.clone(),
            scorer_id: Some(scorer),
            ..NewRun::default()
        })
        .await?;
    let started = Instant::now();
    let mut after = 0i64;
    let mut n = 0u64;
    loop {
        let page = store
            .series_page(None, &PostFilter::default(), after, 20_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let scores: Vec<Score> = page
            .iter()
            .map(|r| {
                let h = (r.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7;
                let p =
                    (h % 1000) as f64 / 1000.0 * 0.6 + if h.is_multiple_of(17) { 0.4 } else { 0.0 };
                Score {
                    post_id: r.id,
                    dimension: "depression".into(),
                    value: p,
                    scale: "prob:yes".into(),
                    label: Some(if p >= 0.5 { "yes" } else { "no" }.into()),
                    rationale: None,
                    meta: None,
                }
            })
            .collect();
        store.insert_scores(scorer, run, &scores).await?;
        n += scores.len() as u64;
    }
    let before_finish = started.elapsed().as_secs_f64();
    store
        .finish_run(run, RunStatus::Done, RunCounts::default(), None)
        .await?;
    let total = started.elapsed().as_secs_f64();
    Ok((n, total, total - before_finish))
}
