//! The large benchmark database `bench trends` and `bench serve` read: realistic posts
//! (default 1,000,000 over 90 days) generated, imported as a user would (a child process),
//! every post given a `depression` score from a benchmark scorer whose run records screen
//! rates (so the corrected estimator runs), and the rollups rebuilt. Each step is timed.

use crate::measure::run_measured;
use anyhow::Context as _;
use mindpulse_core::{Score, ScorerInfo};
use mindpulse_store::{NewRun, PostFilter, RunCounts, RunKind, RunStatus, Store};
use mindpulse_synth::{Generator, SynthOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The pseudonym key of the benchmark databases (they hold generated posts only).
pub const KEY: &str = "mindpulse bench key: not a secret, only for the benchmark databases";

/// The folder a benchmark keeps its files in: `dir` (created when missing), or a temporary
/// one, removed when the returned guard is dropped.
pub fn work_dir(dir: Option<&Path>) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            Ok((d.to_path_buf(), None))
        }
        None => {
            let tmp = tempfile::tempdir()?;
            Ok((tmp.path().to_path_buf(), Some(tmp)))
        }
    }
}

/// Median seconds of `runs` runs of `mindpulse --db DB ARGS…`, and the last output.
pub fn median_run(
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

/// A prepared database.
pub struct Prepared {
    pub url: String,
    pub path: PathBuf,
    pub posts: u64,
    /// (step, seconds).
    pub setup: Vec<(&'static str, f64)>,
}

/// Builds `dir/bench-trends.db` with `posts` posts over `days` days (or, with `reuse`, opens
/// the one an earlier run left there).
pub async fn prepare(dir: &Path, posts: u64, days: u32, reuse: bool) -> anyhow::Result<Prepared> {
    let exe = std::env::current_exe()?;
    let db_path = dir.join("bench-trends.db");
    let db = format!("sqlite://{}", db_path.display());
    if reuse && db_path.exists() {
        let store = Store::open(&db).await?;
        let stored = store.count_posts().await? as u64;
        store.close().await;
        return Ok(Prepared {
            url: db,
            path: db_path,
            posts: stored,
            setup: Vec::new(),
        });
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    let input = dir.join("bench-trends.jsonl");
    let mut setup = Vec::new();

    let started = Instant::now();
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&input)?);
    Generator::new(SynthOptions {
        days: days.max(1),
        ..SynthOptions::default()
    })
    .write_jsonl(file, posts)?;
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

    Ok(Prepared {
        url: db,
        path: db_path,
        posts: stored,
        setup,
    })
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
