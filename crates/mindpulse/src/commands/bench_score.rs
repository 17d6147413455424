//! `mindpulse bench score`: the score driver end to end on synthetic posts, in one run.
//!
//! 1. SQLite, one process: embedding the stored posts alone (the same texts, routes and
//!    batches) against the whole `score` run (claim, read, embed, heads, write, end the
//!    lease); the lease overhead is the run's time spent claiming and ending leases.
//! 2. With `--postgres URL` (or `MINDPULSE_BENCH_POSTGRES`): the same posts in two scratch
//!    databases on the server, scored by one `mindpulse score --threads 1` process in the
//!    first and by two such processes at once in the second; the ratio of their wall times
//!    is what a second worker adds.

use crate::context::Context;
use crate::measure::{peak_rss_mib, run_measured};
use anyhow::Context as _;
use clap::Args;
use mindpulse_clean::{CleanOptions, Cleaner, PseudonymKey};
use mindpulse_collect::{open, Format, ImportOptions};
use mindpulse_heads::{has_scorable_text, HeadsScorer, Route};
use mindpulse_ingest::{ingest, IngestOptions};
use mindpulse_score::DriverOptions;
use mindpulse_store::{testing::with_database, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct BenchScoreArgs {
    /// Posts to store and score on SQLite.
    #[arg(long, default_value_t = 10_000)]
    pub posts: u64,
    /// Encoder threads of the SQLite run.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Also measure one vs two worker processes (one thread each) on this PostgreSQL
    /// server (scratch databases are created and dropped there).
    #[arg(long, env = "MINDPULSE_BENCH_POSTGRES")]
    pub postgres: Option<String>,
    /// Posts for the PostgreSQL workers comparison.
    #[arg(long, default_value_t = 8_000)]
    pub server_posts: u64,
    /// Batch size of the workers on PostgreSQL (small batches end a pass evenly: the last
    /// batch of one worker is all that the other may wait for).
    #[arg(long, default_value_t = 32)]
    pub server_batch_size: usize,
    /// Working directory (default: a temporary one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Generates `n` synthetic posts as JSONL and imports them into `url`.
async fn seed(url: &str, input: &Path) -> anyhow::Result<Store> {
    let store = Store::open(url).await?;
    let cleaner = Arc::new(Cleaner::new(
        PseudonymKey::from_secret("bench"),
        CleanOptions::default(),
    ));
    let source = open(input, Format::Jsonl, &ImportOptions::default())?;
    let never = Arc::new(AtomicBool::new(false));
    ingest(
        Some(&store),
        source,
        cleaner,
        IngestOptions::default(),
        never,
        |_| {},
    )
    .await?;
    Ok(store)
}

fn write_posts(path: &Path, n: u64) -> anyhow::Result<()> {
    let mut gen = mindpulse_synth::Generator::new(mindpulse_synth::SynthOptions::default());
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    gen.write_jsonl(file, n)?;
    Ok(())
}

/// Seconds to embed every stored post through the scorer's routes, in batches of 256.
fn embed_alone(scorer: &HeadsScorer, posts: &[mindpulse_core::PostToScore]) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    for chunk in posts.chunks(256) {
        let mut groups: BTreeMap<Route, Vec<String>> = BTreeMap::new();
        for p in chunk {
            let r = Route::for_lang(p.lang.as_deref());
            if let (true, Some(e)) = (has_scorable_text(&p.text), scorer.embedder(r)) {
                groups
                    .entry(r)
                    .or_default()
                    .push(format!("{}{}", e.prefix, p.text));
            }
        }
        for (r, texts) in groups {
            if let Some(e) = scorer.embedder(r) {
                e.encoder.encode(&texts)?;
            }
        }
    }
    Ok(t0.elapsed().as_secs_f64())
}

pub async fn run(ctx: &Context, args: BenchScoreArgs) -> anyhow::Result<ExitCode> {
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("bench-score.jsonl");
    write_posts(&input, args.posts)?;
    let db = dir.join("bench-score.db");
    let _ = std::fs::remove_file(&db);
    let store = seed(&format!("sqlite://{}", db.display()), &input).await?;
    let threads = args.threads.max(1);
    let scorer = Arc::new(
        tokio::task::spawn_blocking(move || crate::scoring::heads_scorer(None, threads)).await??,
    );
    // 1. Embedding alone.
    let mut posts = Vec::new();
    let mut after = 0;
    loop {
        let page = store.posts_to_score(None, after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        posts.extend(page);
    }
    let s2 = scorer.clone();
    let embed_s = tokio::task::spawn_blocking(move || embed_alone(&s2, &posts)).await??;
    // 2. The whole run through the driver.
    let never = AtomicBool::new(false);
    let opts = DriverOptions {
        params: serde_json::json!({"threads": threads, "bench": true}),
        ..DriverOptions::default()
    };
    let s = crate::scoring::drive(&store, scorer.clone(), &opts, ctx.show_progress, &never).await?;
    store.close().await;
    let n = s.posts as f64;
    println!(
        "bench score: {} stored posts (routes: {}), {} threads, SQLite",
        s.posts,
        s.counters
            .iter()
            .filter(|(k, _)| k.starts_with("route:"))
            .map(|(k, v)| format!("{} {v}", &k[6..]))
            .collect::<Vec<_>>()
            .join(", "),
        threads
    );
    println!("| what | seconds | posts/s | vs embedding alone |");
    println!("|---|---:|---:|---:|");
    println!(
        "| embedding alone (same texts, routes, batches) | {embed_s:.1} | {:.1} | 1.00× |",
        n / embed_s
    );
    println!(
        "| `score`: claim + read + embed + {} heads + write + end lease | {:.1} | {:.1} | {:.3}× ({:+.1}%) |",
        scorer.heads.heads.len(),
        s.seconds,
        n / s.seconds,
        s.seconds / embed_s,
        (s.seconds / embed_s - 1.0) * 100.0
    );
    println!(
        "lease overhead: {:.2}s of {:.1}s ({:.2}%) claiming, reading and ending {} leases; writing scores {:.2}s; peak RSS {:.0} MiB; {} score rows",
        s.lease_seconds,
        s.seconds,
        100.0 * s.lease_seconds / s.seconds.max(1e-9),
        s.batches,
        s.write_seconds,
        peak_rss_mib(),
        s.rows
    );
    if let Some(server) = &args.postgres {
        workers_on_server(
            server,
            &dir,
            args.server_posts,
            args.server_batch_size.max(1),
        )
        .await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One `mindpulse score --threads 1 --batch-size B` per database in `urls`, all at once; returns the wall
/// time of the slowest and the posts each scored.
fn score_processes(urls: &[String], batch: usize) -> anyhow::Result<(f64, Vec<u64>)> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let handles: Vec<_> = urls
        .iter()
        .map(|url| {
            let mut cmd = Command::new(&exe);
            cmd.args([
                "--no-progress",
                "-q",
                "--db",
                url,
                "score",
                "--threads",
                "1",
                "--json",
            ])
            .args(["--batch-size", &batch.to_string()]);
            std::thread::spawn(move || run_measured(cmd))
        })
        .collect();
    let mut posts = Vec::new();
    for h in handles {
        let (stdout, _, _) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a worker thread panicked"))??;
        let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
            .with_context(|| format!("unexpected score output: {stdout}"))?;
        posts.push(v["posts"].as_u64().unwrap_or(0));
    }
    Ok((started.elapsed().as_secs_f64(), posts))
}

async fn workers_on_server(server: &str, dir: &Path, n: u64, batch: usize) -> anyhow::Result<()> {
    let input = dir.join("bench-score-server.jsonl");
    write_posts(&input, n)?;
    let admin = Store::connect(server).await?;
    let names = [1, 2].map(|w| format!("mindpulse_bench_score_{}_{w}", std::process::id()));
    let mut result = Ok(());
    for name in &names {
        admin
            .execute_raw(&format!("CREATE DATABASE {name}"))
            .await?;
    }
    let urls: Vec<String> = names.iter().map(|n| with_database(server, n)).collect();
    for url in &urls {
        match seed(url, &input).await {
            Ok(s) => s.close().await,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = (|| {
            let (one_s, one) = score_processes(&urls[..1], batch)?;
            let (two_s, two) = score_processes(&[urls[1].clone(), urls[1].clone()], batch)?;
            let one_n: u64 = one.iter().sum();
            let two_n: u64 = two.iter().sum();
            println!(
                "\nworkers on PostgreSQL: {n} posts, each worker `mindpulse score --threads 1 --batch-size {batch}`"
            );
            println!("| workers | posts scored (per worker) | seconds | posts/s | vs one worker |");
            println!("|---:|---|---:|---:|---:|");
            println!(
                "| 1 | {one_n} ({one:?}) | {one_s:.1} | {:.1} | 1.00× |",
                one_n as f64 / one_s
            );
            println!(
                "| 2 | {two_n} ({two:?}) | {two_s:.1} | {:.1} | {:.2}× |",
                two_n as f64 / two_s,
                (two_n as f64 / two_s) / (one_n as f64 / one_s).max(1e-9)
            );
            Ok(())
        })();
    }
    for name in &names {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if let Err(e) = admin.execute_raw(&sql).await {
            eprintln!("could not drop the scratch database {name}: {e}");
        }
    }
    admin.close().await;
    result
}
