//! `mindpulse import FILE…`: stream files through cleaning into the store.

use crate::cli::{ImportArgs, ImportFormat};
use crate::context::Context;
use crate::progress;
use anyhow::{bail, Context as _};
use mindpulse_clean::{CleanOptions, Cleaner};
use mindpulse_collect::{guess_format, open, CollectError, FieldMap, Format, ImportOptions};
use mindpulse_ingest::{ingest, IngestOptions, IngestReport, RejectsWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(ctx: &Context, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let map = match &args.map {
        Some(spec) => FieldMap::parse(spec)?,
        None => FieldMap::default(),
    };
    let key = match ctx.key(!args.dry_run) {
        Ok(key) => key,
        // A dry run stores nothing, so a throwaway key shows the same cleaning.
        Err(e) if args.dry_run => {
            tracing::info!("dry run without a pseudonym key ({e:#}); using a throwaway key");
            mindpulse_clean::PseudonymKey::generate()?
        }
        Err(e) => return Err(e),
    };
    let clean_opts = CleanOptions {
        redact_urls: args.redact_urls || ctx.config.import.redact_urls.unwrap_or(false),
        keep_raw: args.keep_raw || ctx.config.import.keep_raw.unwrap_or(false),
    };
    let cleaner = Arc::new(Cleaner::new(key, clean_opts));
    let store = if args.dry_run {
        None
    } else {
        let store = ctx.store().await?;
        ctx.check_key(&store, &cleaner.pseudonymizer().key_fingerprint())
            .await?;
        Some(store)
    };
    let cancel = super::cancel_on_signal();
    let batch_size = args
        .batch_size
        .or(ctx.config.import.batch_size)
        .unwrap_or_else(|| {
            store
                .as_ref()
                .map(|s| s.default_batch_size())
                .unwrap_or(2000)
        });

    if let Some(r) = &args.rejects {
        if r.as_os_str() != "none" && !r.is_dir() && args.files.len() > 1 {
            bail!(
                "--rejects {}: one rejects file for {} inputs; give a folder (or none)",
                r.display(),
                args.files.len()
            );
        }
    }
    let input_tz = args
        .tz
        .as_deref()
        .map(|name| crate::zone::Zone::named("--tz", name).map(|z| z.tz))
        .transpose()?;
    let mut reports: Vec<IngestReport> = Vec::new();
    let mut failed = false;
    // Files that could not be opened (or their format guessed): reported, skipped.
    let mut unreadable: Vec<String> = Vec::new();
    for file in &args.files {
        let import_opts = ImportOptions {
            platform: args.platform.clone(),
            map: map.clone(),
            keep_raw: clean_opts.keep_raw,
            tz: input_tz,
            ..ImportOptions::default()
        };
        let opened = match args.format {
            Some(f) => Ok(to_format(f)),
            None => guess_format(file),
        }
        .and_then(|format| Ok((format, open(file, format, &import_opts)?)));
        let (format, source) = match opened {
            Ok(x) => x,
            // Configuration errors concern every file.
            Err(e @ (CollectError::Map { .. } | CollectError::FormatName(_))) => {
                return Err(e.into())
            }
            Err(e) => {
                // Nothing of this file is usable: report it, go on with the others, and
                // fail at the end (at once with --strict).
                eprintln!("{}", file_problem(file, &e));
                unreadable.push(file.display().to_string());
                failed = true;
                if args.strict {
                    eprintln!("--strict: stopped at {}", file.display());
                    break;
                }
                continue;
            }
        };
        let source_name = args.source.clone().unwrap_or_else(|| {
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.display().to_string())
        });
        let opts = IngestOptions {
            source_name,
            platform: args.platform.clone(),
            batch_size,
            dry_run: args.dry_run,
            strict: args.strict,
            rejects_path: rejects_path(args.rejects.as_deref(), file),
            params: serde_json::json!({
                "file": file.display().to_string(),
                "format": format.to_string(),
                "map": args.map,
                "tz": args.tz,
                "redact_urls": clean_opts.redact_urls,
                "keep_raw": clean_opts.keep_raw,
                "dry_run": args.dry_run,
            }),
            ..IngestOptions::default()
        };
        let (_, total) = source.progress();
        let pb = progress::bar(ctx.show_progress, total, &file.display().to_string());
        let started = std::time::Instant::now();
        let report = ingest(
            store.as_ref(),
            source,
            cleaner.clone(),
            opts,
            cancel.clone(),
            |p| {
                pb.set_position(p.bytes);
                pb.set_message(progress::rate_msg(
                    p.records,
                    started.elapsed().as_secs_f64(),
                ));
            },
        )
        .await
        .with_context(|| format!("importing {} failed", file.display()))?;
        pb.finish_and_clear();
        print_report(&report, &format, args.json, args.dry_run)?;
        if let Some(e) = &report.rejects_error {
            // The good records are stored; the other files still import.
            eprintln!(
                "{}: {e}; the rejects were counted and logged (choose a place with --rejects DIR, or --rejects none)",
                file.display()
            );
            failed = true;
        }
        if report.stopped_at.is_some()
            || (report.rejected > 0 && report.accepted + report.already_stored == 0)
        {
            failed = true;
        }
        let interrupted = report.interrupted;
        reports.push(report);
        if interrupted || (args.strict && failed) {
            break;
        }
    }
    if reports.len() + unreadable.len() > 1 && !args.json {
        let sum = |f: fn(&IngestReport) -> u64| reports.iter().map(f).sum::<u64>();
        println!(
            "total: {} files, {} read, {} accepted, {} already stored, {} rejected{}",
            reports.len(),
            sum(|r| r.input),
            sum(|r| r.accepted),
            sum(|r| r.already_stored),
            sum(|r| r.rejected),
            if unreadable.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} not readable: {}",
                    unreadable.len(),
                    unreadable.join(", ")
                )
            }
        );
    }
    if let Some(store) = store {
        store.close().await;
    }
    if reports.iter().any(|r| r.interrupted) {
        eprintln!("import interrupted: finished batches are stored; re-run the same command to continue (already stored posts are skipped)");
        return Ok(ExitCode::from(130));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `file: reason` for a file that cannot be imported at all (the path once, first).
fn file_problem(file: &Path, e: &CollectError) -> String {
    let f = file.display();
    match e {
        CollectError::Io { source, .. } => format!("{f}: cannot read: {source}"),
        CollectError::UnknownFormat { reason, .. } => format!(
            "{f}: cannot tell the format: {reason}; pass --format jsonl|csv|reddit|weibo-csv"
        ),
        // The others name the file first already.
        other => other.to_string(),
    }
}

fn to_format(f: ImportFormat) -> Format {
    match f {
        ImportFormat::Jsonl => Format::Jsonl,
        ImportFormat::Csv => Format::Csv,
        ImportFormat::Reddit => Format::Reddit,
        ImportFormat::WeiboCsv => Format::WeiboCsv,
    }
}

fn print_report(
    r: &IngestReport,
    format: &Format,
    json: bool,
    dry_run: bool,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
        return Ok(());
    }
    let rate = if r.seconds > 0.0 {
        r.input as f64 / r.seconds
    } else {
        0.0
    };
    println!(
        "{} ({format}{}): {} read, {} accepted, {} already stored, {} rejected in {:.2}s ({} posts/s)",
        r.source,
        if dry_run { ", dry run" } else { "" },
        progress::thousands(r.input),
        progress::thousands(r.accepted),
        progress::thousands(r.already_stored),
        progress::thousands(r.rejected),
        r.seconds,
        progress::thousands(rate as u64),
    );
    println!(
        "  flagged {} exact and {} near duplicates (same text as an earlier post); redacted {} PII items, pseudonymized {} mentions",
        r.exact_duplicates, r.near_duplicates, r.pii_redacted, r.mentions_pseudonymized
    );
    if r.without_time > 0 {
        println!(
            "  {} posts have no time and are left out of time-based views (trends, stats by day)",
            progress::thousands(r.without_time)
        );
    }
    if let Some(path) = &r.rejects_file {
        println!("  rejects written to {}", path.display());
    }

    if let Some(stop) = &r.stopped_at {
        println!("  --strict: stopped at {stop}");
    }
    Ok(())
}

/// Where the rejects of `file` go (`--rejects`: a file, a folder or `none`; by default
/// `<file>.rejects.jsonl` next to it).
fn rejects_path(choice: Option<&Path>, file: &Path) -> Option<PathBuf> {
    match choice {
        None => Some(RejectsWriter::path_for(file)),
        Some(c) if c.as_os_str() == "none" => None,
        Some(dir) if dir.is_dir() => {
            let name = Path::new(file.file_name().unwrap_or(file.as_os_str()));
            Some(RejectsWriter::path_for(&dir.join(name)))
        }
        Some(path) => Some(path.to_path_buf()),
    }
}
