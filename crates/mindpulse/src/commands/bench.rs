//! `mindpulse bench ingest`: generate realistic posts and import them with cleaning and
//! pseudonymization on, one child process per backend (so each peak RSS is the import's
//! own), beside the Python standard-library peer doing the same job. Prints a table.

use crate::cli::BenchIngestArgs;
use crate::context::Context;
use crate::measure::run_measured;
use anyhow::Context as _;
use mindpulse_store::{testing::with_database, Store};
use mindpulse_synth::{Generator, SynthOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// One measured row of the table.
struct Row {
    name: String,
    posts: u64,
    seconds: f64,
    peak_rss_mib: f64,
}

pub async fn ingest(_ctx: &Context, args: BenchIngestArgs) -> anyhow::Result<ExitCode> {
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
    let input = dir.join("bench-posts.jsonl");
    let started = Instant::now();
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&input)?);
    let bytes = Generator::new(SynthOptions::default()).write_jsonl(file, args.posts)?;
    eprintln!(
        "generated {} posts ({:.0} MiB) in {:.1}s: {}",
        args.posts,
        bytes as f64 / 1048576.0,
        started.elapsed().as_secs_f64(),
        input.display()
    );

    let mut rows = Vec::new();
    let this = std::env::current_exe()?;
    // (label, binary): the baseline first, so the machine is as warm for this build as for it.
    let mut binaries: Vec<(String, PathBuf)> = Vec::new();
    if let Some(b) = &args.baseline {
        anyhow::ensure!(b.is_file(), "--baseline {}: no such file", b.display());
        binaries.push((format!("mindpulse before ({})", b.display()), b.clone()));
    }
    binaries.push(("mindpulse".to_string(), this));
    let sqlite_path = dir.join("bench.db");
    for (label, exe) in &binaries {
        remove_sqlite(&sqlite_path);
        rows.push(run_import(
            exe,
            &format!("{label} → SQLite"),
            &format!("sqlite://{}", sqlite_path.display()),
            &input,
        )?);
        remove_sqlite(&sqlite_path);
    }
    for (server_label, server) in [
        ("MariaDB/MySQL", &args.mysql),
        ("PostgreSQL", &args.postgres),
    ] {
        let Some(server) = server else { continue };
        for (label, exe) in &binaries {
            let name = format!("mindpulse_bench_{}", std::process::id());
            let admin = Store::connect(server).await?;
            admin
                .execute_raw(&format!("CREATE DATABASE {name}"))
                .await?;
            let result = run_import(
                exe,
                &format!("{label} → {server_label}"),
                &with_database(server, &name),
                &input,
            );
            admin.execute_raw(&format!("DROP DATABASE {name}")).await?;
            admin.close().await;
            rows.push(result?);
        }
    }
    if !args.no_peer {
        match run_peer(&input, &dir.join("peer.db")) {
            Ok(row) => rows.push(row),
            Err(e) => eprintln!("peer not measured: {e:#}"),
        }
        remove_sqlite(&dir.join("peer.db"));
    }

    println!(
        "\ningest benchmark: {} posts, cleaning + pseudonymization on, {} cores",
        args.posts,
        cores()
    );
    println!("| importer | posts | seconds | posts/s | peak RSS (MiB) |");
    println!("|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.1} | {} | {:.0} |",
            r.name,
            r.posts,
            r.seconds,
            crate::progress::thousands((r.posts as f64 / r.seconds.max(1e-9)) as u64),
            r.peak_rss_mib
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Runs `mindpulse import` (the binary `exe`) on `input` as a child process; returns its
/// time and peak RSS.
fn run_import(exe: &Path, name: &str, db_url: &str, input: &Path) -> anyhow::Result<Row> {
    let mut cmd = Command::new(exe);
    cmd.args([
        "--no-progress",
        "-q",
        "--db",
        db_url,
        "import",
        "--json",
        "--format",
        "jsonl",
    ])
    .arg(input)
    .env(
        "MINDPULSE_PSEUDONYM_KEY",
        "mindpulse bench key: not a secret, only for the benchmark databases",
    );
    let (stdout, seconds, rss) = run_measured(cmd)?;
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .with_context(|| format!("{name}: unexpected import output: {stdout}"))?;
    let posts = report["accepted"].as_u64().unwrap_or(0);
    Ok(Row {
        name: name.to_string(),
        posts,
        seconds,
        peak_rss_mib: rss,
    })
}

/// The Python standard-library peer.
fn run_peer(input: &Path, db: &Path) -> anyhow::Result<Row> {
    let script = [
        PathBuf::from("scripts/bench/ingest_peer.py"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench/ingest_peer.py"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .context("scripts/bench/ingest_peer.py not found (run from the repository)")?;
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(input).arg(db);
    let (stdout, seconds, rss) = run_measured(cmd)?;
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .with_context(|| format!("unexpected peer output: {stdout}"))?;
    Ok(Row {
        name: "Python peer (json + re + hashlib + sqlite3)".into(),
        posts: report["posts"].as_u64().unwrap_or(0),
        seconds,
        peak_rss_mib: rss,
    })
}
