//! `mindpulse train`: trains heads on the labeled datasets (folder names in the data
//! directory), writing `<out>/<task>@<encoder>.{safetensors,json}`. Re-running with the same
//! data, encoder and seed writes the same bytes.

use crate::context::Context;
use anyhow::{bail, Context as _};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mindpulse_heads::embed::{default_cache_dir, Embedder};
use mindpulse_heads::screen::train_screen;
use mindpulse_heads::screening;
use mindpulse_heads::tasks::{self, TaskSpec};
use mindpulse_heads::train::{train_head, TrainOptions, DEFAULT_SEED};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Task name (a folder name in the data directory, e.g. dreaddit, sos_hl_1k), or a
    /// population screen (screen_depression, screen_suicide_risk, screen_stress,
    /// screen_substance_use).
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub task: Option<String>,
    /// Train every known task and screen.
    #[arg(long)]
    pub all: bool,
    /// Only the head on this encoder (default: every encoder the task is trained for).
    #[arg(long)]
    pub encoder: Option<String>,
    /// Folder holding one sub-folder per task (default: $MINDPULSE_DATA, else ../shared/data).
    #[arg(long, env = "MINDPULSE_DATA")]
    pub data: Option<PathBuf>,
    /// Where the heads are written.
    #[arg(long, default_value = "heads")]
    pub out: PathBuf,
    /// Threads for the encoder and the fit (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Seed for sampling and cross-validation folds.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Embedding cache directory (default: ~/.cache/mindpulse/embeddings).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Do not read or write the embedding cache.
    #[arg(long)]
    pub no_cache: bool,
}

pub async fn run(ctx: &Context, args: TrainArgs) -> anyhow::Result<ExitCode> {
    let selected: Vec<&'static TaskSpec> = if args.all {
        tasks::TASKS.iter().chain(tasks::SCREEN_TASKS).collect()
    } else {
        let name = args.task.as_deref().unwrap_or_default();
        vec![tasks::task(name)
            .with_context(|| format!("unknown task `{name}` (known: {})", tasks::task_names()))?]
    };
    let data_dir = args
        .data
        .clone()
        .unwrap_or_else(mindpulse_heads::data::default_data_dir);
    // Group (task, encoder) pairs by encoder so each encoder loads once.
    let mut by_encoder: BTreeMap<&str, Vec<&'static TaskSpec>> = BTreeMap::new();
    for t in &selected {
        for e in t.encoders {
            if args.encoder.as_deref().is_none_or(|want| want == *e) {
                by_encoder.entry(e).or_default().push(t);
            }
        }
    }
    if by_encoder.is_empty() {
        bail!(
            "no head to train: task(s) {} have no head on encoder {:?}",
            selected
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", "),
            args.encoder
        );
    }
    let opts = TrainOptions {
        data_dir: data_dir.clone(),
        threads: super::resolve_threads(args.threads),
        seed: args.seed,
    };
    let cache_dir = (!args.no_cache).then(|| args.cache.clone().unwrap_or_else(default_cache_dir));
    let mut failed = 0;
    for (encoder, tasks) in by_encoder {
        let mut embedder = Embedder::load(encoder, opts.threads, cache_dir.as_deref())
            .with_context(|| format!("loading encoder {encoder}"))?;
        for task in tasks {
            let id = task.head_id(encoder);
            let pb = if ctx.show_progress {
                let pb = ProgressBar::new(0);
                pb.set_style(
                    ProgressStyle::with_template("{prefix} {msg} [{bar:30}] {pos}/{len} ETA {eta}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                pb.set_prefix(id.clone());
                pb
            } else {
                ProgressBar::hidden()
            };
            let started = std::time::Instant::now();
            let mut progress = |stage: &str, done: usize, total: usize| {
                pb.set_message(stage.to_string());
                pb.set_length(total as u64);
                pb.set_position(done as u64);
            };
            let result = match screening::screen(task.name) {
                Some(screen) => train_screen(screen, &mut embedder, &opts, &mut progress),
                None => train_head(task, &mut embedder, &opts, &mut progress),
            };
            pb.finish_and_clear();
            match result {
                Ok(head) => {
                    head.save(&args.out)
                        .with_context(|| format!("writing {}", args.out.display()))?;
                    if let Some(sc) = &head.card.screen {
                        for (lang, r) in &sc.rates {
                            println!(
                                "{id}: threshold {:.4} (≤ {:.0} % false flags on {} everyday tuning posts); held-out {lang}: recall {:.1} % of {} positives{}, false flags {:.1} % of {} everyday posts; {:.1}s",
                                sc.threshold,
                                sc.target_fpr * 100.0,
                                sc.lang,
                                r.tpr() * 100.0,
                                r.n_pos,
                                if r.recall_validated { "" } else { " (English, cross-lingual)" },
                                r.fpr() * 100.0,
                                r.n_neg,
                                started.elapsed().as_secs_f64()
                            );
                        }
                        continue;
                    }
                    let m = &head.card.metrics;
                    let published = task
                        .published
                        .map(|p| format!(" (published {:.3}: {})", p, task.published_by))
                        .unwrap_or_default();
                    println!(
                        "{id}: {} {:.3} on {} (n = {}), λ = {}{published}; {:.1}s → {}",
                        task.metric.label(),
                        m.value,
                        head.card.training.selection,
                        m.n,
                        head.card.training.lambda,
                        started.elapsed().as_secs_f64(),
                        args.out.join(format!("{id}.json")).display()
                    );
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("{id}: {e}");
                }
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
