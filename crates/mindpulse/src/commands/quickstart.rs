//! `mindpulse quickstart`: a self-contained demo. Creates a SQLite database in a fresh
//! directory, imports the bundled sample (Chinese and English posts and comments, some
//! with distress language, PII and duplicates, and a few bad lines), and prints what
//! happened and what is now stored.

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

pub async fn run(_ctx: &Context, args: QuickstartArgs) -> anyhow::Result<ExitCode> {
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
    let report = ingest(Some(&store), source, cleaner, opts, cancel, |_| {}).await?;
    println!(
        "\nimported: {} read, {} accepted, {} already stored, {} rejected ({} exact and {} near duplicates flagged, {} PII items redacted, {} mentions pseudonymized)",
        report.input,
        report.accepted,
        report.duplicate,
        report.rejected,
        report.exact_duplicates,
        report.near_duplicates,
        report.pii_redacted,
        report.mentions_pseudonymized
    );
    if let Some(path) = &report.rejects_file {
        println!("rejected lines are in {}", path.display());
    }
    let stats = store.stats(7).await?;
    println!("\n{}", super::stats::render(&stats));
    println!("next: mindpulse --db {db_url} export --format csv | head");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
