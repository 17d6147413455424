//! `mindpulse eval`: metrics of a head (or of the LLM scorer) on a labeled TSV, and
//! `--all`: every head on its validation split (or cross-validated) → MODEL_CARD.md.

use crate::context::Context;
use crate::llm_args::LlmArgs;
use crate::scoring::ScorerKind;
use anyhow::{bail, Context as _};
use clap::Args;
use mindpulse_heads::card::{render, CardEntry};
use mindpulse_heads::data::{default_data_dir, read_tsv, task_files};
use mindpulse_heads::embed::{default_cache_dir, Embedder};
use mindpulse_heads::metrics::{self, report};
use mindpulse_heads::tasks;
use mindpulse_heads::train::{train_head, TrainOptions};
use mindpulse_heads::{Head, HeadSet};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod llm;
mod population;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Which scorer.
    #[arg(long, value_enum, default_value = "heads")]
    pub scorer: ScorerKind,
    /// Task name (a folder name in the data directory); decides the labels and the head.
    #[arg(long, required_unless_present_any = ["all", "population"])]
    pub task: Option<String>,
    /// Labeled TSV (`text<TAB>label[<TAB>…]`; multi-labels comma-separated; yes/no or 1/0).
    #[arg(long, required_unless_present_any = ["all", "population"])]
    pub data: Option<PathBuf>,
    /// The population screens on held-out posts: false flags on everyday posts, recall on
    /// clinical positives, and the error and interval coverage of the prevalence at known
    /// mixtures (1–20 %), raw vs corrected.
    #[arg(long, conflicts_with_all = ["task", "data", "all"])]
    pub population: bool,
    /// With --population: replace the population section of this model card.
    #[arg(long, requires = "population")]
    pub population_card: Option<PathBuf>,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Evaluate every head on its validation split (or by 5-fold CV) and write the model card.
    #[arg(long, conflicts_with_all = ["task", "data"])]
    pub all: bool,
    /// With --all: folder holding one sub-folder per task (default: $MINDPULSE_DATA, else ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// With --all: where the model card goes.
    #[arg(long, default_value = "MODEL_CARD.md")]
    pub card: PathBuf,
    /// Heads directory (default: the heads built into this binary).
    #[arg(long, env = "MINDPULSE_HEADS")]
    pub heads: Option<PathBuf>,
    /// With --all: re-run the cross-validation of heads without a validation split (and check
    /// that re-training reproduces the shipped head bit for bit) instead of using the
    /// out-of-fold metrics stored in the head's card by `mindpulse train`.
    #[arg(long, conflicts_with = "from_cards")]
    pub retrain: bool,
    /// With --all: take every head's metrics from its card (what `mindpulse train` measured on
    /// the same validation split or by CV) instead of embedding the validation sets again.
    #[arg(long)]
    pub from_cards: bool,
    /// With --all: a markdown file whose text goes under the summary table.
    #[arg(long, default_value = "docs/model-card-notes.md")]
    pub notes: PathBuf,
    /// The head on this encoder (default: the task's own-language encoder).
    #[arg(long)]
    pub encoder: Option<String>,
    /// Threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    pub llm: LlmArgs,
}

fn load_heads(dir: Option<&Path>) -> anyhow::Result<HeadSet> {
    Ok(HeadSet::load(dir)?)
}

pub async fn run(ctx: &Context, args: EvalArgs) -> anyhow::Result<ExitCode> {
    match args.scorer {
        ScorerKind::Llm => llm::eval(ctx, args).await,
        ScorerKind::Heads if args.population => population::run(&args),
        ScorerKind::Heads if args.all => eval_all(&args),
        ScorerKind::Heads => eval_one(&args),
    }
}

fn eval_one(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let name = args.task.as_deref().unwrap_or_default();
    let task = tasks::task(name)
        .with_context(|| format!("unknown task `{name}` (known: {})", tasks::task_names()))?;
    let data = args
        .data
        .as_deref()
        .context("--data FILE.tsv is required")?;
    let set = read_tsv(task, data)?;
    let heads = load_heads(args.heads.as_deref())?;
    let encoder = args.encoder.as_deref().unwrap_or(task.encoders[0]);
    let id = task.head_id(encoder);
    let head = heads.get(&id).with_context(|| {
        format!("no head `{id}` (train it with `mindpulse train --task {name}`)")
    })?;
    let mut embedder = Embedder::load(
        &head.card.encoder.name,
        super::resolve_threads(args.threads),
        Some(&default_cache_dir()),
    )?;
    if embedder.sha256 != head.card.encoder.sha256 {
        bail!(
            "head {id} was trained on {} sha256 {}, but the installed model has {}",
            head.card.encoder.name,
            head.card.encoder.sha256,
            embedder.sha256
        );
    }
    let x = embedder.embed(&set.texts(), &mut |_, _| {})?;
    let pred: Vec<Vec<usize>> = head.predict(&x).into_iter().map(|p| p.labels).collect();
    let gold: Vec<Vec<usize>> = set.examples.iter().map(|e| e.labels.clone()).collect();
    let r = report(task, &gold, &pred);
    if args.json {
        let mut v = serde_json::to_value(&r)?;
        v["head"] = serde_json::json!(id);
        v["head_version"] = serde_json::json!(head.card.version);
        v["data"] = serde_json::json!(data.display().to_string());
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!(
            "head {id} (version {})  data {}",
            head.card.version,
            data.display()
        );
        print!("{}", metrics::render(&r));
    }
    Ok(ExitCode::SUCCESS)
}

/// The encoder in `slot`, loaded on first use.
fn lazy_embedder<'a>(
    slot: &'a mut Option<Embedder>,
    encoder: &str,
    threads: usize,
    cache: &Path,
) -> anyhow::Result<&'a mut Embedder> {
    if slot.is_none() {
        *slot = Some(Embedder::load(encoder, threads, Some(cache))?);
    }
    slot.as_mut().context("the encoder did not load")
}

fn eval_all(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let heads = load_heads(args.heads.as_deref())?;
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    let threads = super::resolve_threads(args.threads);
    let cache = default_cache_dir();
    let mut by_encoder: BTreeMap<String, Vec<&Head>> = BTreeMap::new();
    for h in &heads.heads {
        by_encoder
            .entry(h.card.encoder.name.clone())
            .or_default()
            .push(h);
    }
    let mut entries = Vec::new();
    let mut screens = Vec::new();
    for (encoder, hs) in by_encoder {
        // Loaded only when something is embedded (--from-cards embeds nothing).
        let mut loaded: Option<Embedder> = None;
        for head in hs {
            // Screens are judged on held-out posts (their card's rates; `--population`).
            if head.card.screen.is_some() {
                screens.push(head);
                continue;
            }
            let task = tasks::task(&head.card.task)
                .with_context(|| format!("head {} names an unknown task", head.card.id))?;
            let files = task_files(&data_dir, task)?;
            let (report, how, reproduced) = match (&files.train, &files.val) {
                (Some(_), Some(_)) if args.from_cards => (
                    head.card.metrics.clone(),
                    "validation split".to_string(),
                    None,
                ),
                (Some(_), Some(val)) => {
                    let set = read_tsv(task, val)?;
                    let embedder = lazy_embedder(&mut loaded, &encoder, threads, &cache)?;
                    let x = embedder.embed(&set.texts(), &mut |_, _| {})?;
                    let pred: Vec<Vec<usize>> =
                        head.predict(&x).into_iter().map(|p| p.labels).collect();
                    let gold: Vec<Vec<usize>> =
                        set.examples.iter().map(|e| e.labels.clone()).collect();
                    (
                        report(task, &gold, &pred),
                        "validation split".to_string(),
                        None,
                    )
                }
                _ if !args.retrain => (head.card.metrics.clone(), "5-fold CV".to_string(), None),
                _ => {
                    let opts = TrainOptions {
                        data_dir: data_dir.clone(),
                        threads,
                        seed: head.card.training.seed,
                    };
                    let embedder = lazy_embedder(&mut loaded, &encoder, threads, &cache)?;
                    let again = train_head(task, embedder, &opts, &mut |_, _, _| {})?;
                    let same = again.card.version == head.card.version;
                    (
                        again.card.metrics.clone(),
                        "5-fold CV".to_string(),
                        Some(same),
                    )
                }
            };
            eprintln!(
                "{}: {} {:.4} ({how})",
                head.card.id,
                report.metric.label(),
                report.value
            );
            entries.push(CardEntry {
                head,
                report,
                how,
                reproduced,
            });
        }
    }
    let notes = match std::fs::read_to_string(&args.notes) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!("no model-card notes at {}: {e}", args.notes.display());
            String::new()
        }
    };
    // The population section (written by --population) survives a rewrite of the rest.
    let old = std::fs::read_to_string(&args.card).unwrap_or_default();
    let population = match (old.find(population::BEGIN), old.find(population::END)) {
        (Some(a), Some(b)) if b > a => old[a..b + population::END.len()].to_string(),
        _ => String::new(),
    };
    screens.sort_by(|a, b| a.card.id.cmp(&b.card.id));
    let md = render(&entries, &screens, notes.trim(), &population);
    std::fs::write(&args.card, md).with_context(|| format!("writing {}", args.card.display()))?;
    println!("wrote {} ({} heads)", args.card.display(), entries.len());
    Ok(ExitCode::SUCCESS)
}
