//! `mindpulse quickstart`: a self-contained demo. Creates a SQLite database in a fresh
//! directory, imports the bundled sample (Chinese and English posts and comments, some
//! with distress language, PII and duplicates, and a few bad lines), installs the default
//! encoders when missing, scores every post with the built-in heads, and prints what happened,
//! what is stored and a per-dimension summary.

use crate::cli::QuickstartArgs;
use crate::context::{Context, KEY_ENV};
use anyhow::Context as _;
use mindpulse_clean::{CleanOptions, Cleaner, PseudonymKey};
use mindpulse_collect::{open, Format, ImportOptions};
use mindpulse_ingest::{ingest, IngestOptions, RejectsWriter};
use mindpulse_store::Store;
use std::process::ExitCode;
use std::sync::Arc;

/// The bundled sample (regenerate with `cargo run -p mindpulse-synth --example write_sample`).
const SAMPLE: &str = include_str!("../../../../data/sample/quickstart.jsonl");

pub async fn run(ctx: &Context, args: QuickstartArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let sample = args.dir.join("sample.jsonl");
    std::fs::write(&sample, SAMPLE)
        .with_context(|| format!("cannot write {}", sample.display()))?;
    let db_path = args.dir.join("mindpulse.db");
    let db_url = format!("sqlite://{}", db_path.display());
    let key = match std::env::var(KEY_ENV) {
        Ok(secret) if !secret.trim().is_empty() => PseudonymKey::from_secret(secret.trim()),
        _ => PseudonymKey::load_or_create(&args.dir.join("pseudonym.key"))?.0,
    };

    println!("mindpulse quickstart");
    println!("  database: {}", db_path.display());
    println!(
        "  sample:   {} ({} lines)",
        sample.display(),
        SAMPLE.lines().count()
    );
    let store = Store::open(&db_url).await?;
    let cleaner = Arc::new(Cleaner::new(key, CleanOptions::default()));
    let source = open(&sample, Format::Jsonl, &ImportOptions::default())?;
    let opts = IngestOptions {
        source_name: "quickstart-sample".into(),
        rejects_path: Some(RejectsWriter::path_for(&sample)),
        params: serde_json::json!({"file": sample.display().to_string(), "format": "jsonl", "quickstart": true}),
        ..IngestOptions::default()
    };
    let cancel = super::cancel_on_signal();
    let report = ingest(Some(&store), source, cleaner, opts, cancel.clone(), |_| {}).await?;
    println!(
        "\nimported: {} read, {} accepted, {} already stored, {} rejected ({} exact and {} near duplicates flagged, {} PII items redacted, {} mentions pseudonymized)",
        report.input,
        report.accepted,
        report.already_stored,
        report.rejected,
        report.exact_duplicates,
        report.near_duplicates,
        report.pii_redacted,
        report.mentions_pseudonymized
    );
    if let Some(path) = &report.rejects_file {
        println!("rejected lines are in {}", path.display());
    }
    if args.no_score {
        println!("\nscoring skipped (--no-score)");
    } else {
        let heads = mindpulse_heads::HeadSet::load(None)?;
        let reg = mindpulse_models::Registry::builtin();
        for route in heads.routes() {
            let name = route.encoder();
            let opts = mindpulse_models::InstallOptions::default();
            let m = reg
                .install(name, &opts)
                .with_context(|| format!("installing the default model {name}"))?;
            if m.status == mindpulse_models::InstallStatus::Installed {
                println!("installed model {name} → {}", m.path.display());
            }
        }
        let threads = super::resolve_threads(0);
        let scorer =
            tokio::task::spawn_blocking(move || mindpulse_heads::HeadsScorer::new(heads, threads))
                .await
                .context("loading the heads")??;
        let opts = mindpulse_score::DriverOptions::default();
        let summary =
            crate::scoring::drive(&store, Arc::new(scorer), &opts, ctx.show_progress, &cancel)
                .await?;
        // The run's line; the population numbers below replace per-label counts.
        let rendered = crate::scoring::render_summary(&summary);
        println!("\n{}", rendered.lines().next().unwrap_or_default());
        println!("\n{}", population(&store).await?);
    }
    let stats = store
        .stats(&mindpulse_store::PostFilter::default(), chrono_tz::UTC, 7)
        .await?;
    println!("\n{}", crate::render::render(&stats));
    println!("next: mindpulse --db {db_url} export --scores --format jsonl | head");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Corrected prevalence with its 95 % interval per population dimension, over all posts
/// and per language (duplicates left out, cells under 10 posts suppressed).
async fn population(store: &Store) -> anyhow::Result<String> {
    use crate::series::{read_series, GroupBy, Read, POPULATION};
    use mindpulse_analyze::{Bucket, Method, TrendRow};
    use std::fmt::Write;
    let cell = |r: Option<&TrendRow>| match r {
        None => "—".to_string(),
        Some(r) if r.suppressed => "suppressed (< 10 posts)".to_string(),
        Some(r) => format!(
            "{:.1} % ({:.1}–{:.1}), n {}{}",
            r.value.unwrap_or(0.0) * 100.0,
            r.ci_low.unwrap_or(0.0) * 100.0,
            r.ci_high.unwrap_or(0.0) * 100.0,
            r.n.unwrap_or(0),
            if r.validated == Some(false) { " !" } else { "" }
        ),
    };
    let mut out = String::from(
        "population estimates: share of posts with signs of each condition, corrected for the screens' errors, 95 % CI\n\
         (duplicates left out; ! = recall not validated in that language; `mindpulse trends` for series)\n",
    );
    let _ = writeln!(
        out,
        "{:<15} {:<32} {:<32} {:<32}",
        "dimension", "all posts", "en", "zh"
    );
    let filter = mindpulse_store::PostFilter {
        no_duplicates: true,
        ..Default::default()
    };
    for dim in POPULATION {
        let (all, rates, _) = read_series(
            store,
            dim,
            None,
            &filter,
            Bucket::All,
            chrono_tz::UTC,
            Read::Rollups,
        )
        .await?;
        let (by_lang, _, _) = read_series(
            store,
            dim,
            Some(GroupBy::Lang),
            &filter,
            Bucket::All,
            chrono_tz::UTC,
            Read::Rollups,
        )
        .await?;
        let all = all.prevalence(&|l| rates.get(l), Method::Acc, 10);
        let by_lang = by_lang.prevalence(&|l| rates.get(l), Method::Acc, 10);
        let lang = |l: &str| by_lang.iter().find(|r| r.group.as_deref() == Some(l));
        let _ = writeln!(
            out,
            "{:<15} {:<32} {:<32} {:<32}",
            dim,
            cell(all.first()),
            cell(lang("en")),
            cell(lang("zh"))
        );
    }
    Ok(out)
}
