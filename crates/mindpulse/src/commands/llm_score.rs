//! The LLM scorer's side of `mindpulse score --scorer llm` and `mindpulse eval --scorer llm`.
//!
//! `score` scores every stored post that has no score yet from this model, prompt version,
//! mode and backend (resumable; Ctrl-C stops after the current page), storing one row per
//! dimension with the rationale and the run's provenance. `eval` scores a labeled TSV,
//! maps the task's dimension onto its labels with thresholds chosen on the validation
//! split, and prints the same metrics as the heads' eval.

use crate::commands::eval::EvalArgs;
use crate::commands::score::ScoreArgs;
use crate::context::Context;
use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use mindpulse_llm_scorer::eval::{self as llm_eval, Example, TaskMap};
use mindpulse_llm_scorer::pipeline::{score_store, RunSpec};
use mindpulse_llm_scorer::{
    Engine, LocalBackend, LocalConfig, Mode, OpenAiBackend, OpenAiConfig, PostInput, PromptSet,
    ResponseFormat, Scorer,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The GGUF model the local backend uses when none is named.
pub const DEFAULT_LOCAL_MODEL: &str = "qwen2.5-0.5b-instruct-q4km";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// A GGUF model run in-process (prefix KV cache reused for every post).
    Local,
    /// An OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp server, GLM, OpenAI).
    Openai,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// json_schema, falling back to json_object+schema, then none, as the server accepts.
    Auto,
    JsonSchema,
    JsonObject,
    None,
}

/// Flags of the LLM scorer (used when `--scorer llm`).
#[derive(Debug, Args)]
pub struct LlmArgs {
    /// Where the LLM runs.
    #[arg(long, value_enum, default_value = "local")]
    pub backend: Backend,
    /// Local: model name or .gguf path (default qwen2.5-0.5b-instruct-q4km); openai: the server's model id.
    #[arg(long, env = "MINDPULSE_LLM_MODEL")]
    pub llm_model: Option<String>,
    /// Base URL of the OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1).
    #[arg(long, env = "MINDPULSE_LLM_BASE_URL")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key (the key itself is never logged).
    #[arg(long, default_value = "MINDPULSE_LLM_API_KEY")]
    pub api_key_env: String,
    /// OpenAI backend: requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// OpenAI backend: seconds before a request times out.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// OpenAI backend: retries on timeouts, dropped connections, 429 and 5xx (with backoff, honouring Retry-After).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Retries after an unusable answer (then the post is recorded as a parse failure).
    #[arg(long, default_value_t = 2)]
    pub parse_retries: u32,
    /// How to constrain the answer. openai: how to ask the server for schema-constrained
    /// output. local: anything but `none` writes the answer's skeleton (keys, values among
    /// 0–5) and lets the model write only the rationale; `none` lets it write everything.
    #[arg(long, value_enum, default_value = "auto")]
    pub response_format: FormatArg,
    /// Fast mode (local backend): scores from next-token probabilities, no rationale.
    #[arg(long)]
    pub fast: bool,
    /// Local backend: compute threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub llm_threads: usize,
    /// Most tokens generated per answer.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// Posts scored per page (one transaction each).
    #[arg(long, default_value_t = 16)]
    pub page_size: usize,
    /// Eval: TSV to choose the thresholds on (default: val.tsv next to --data, else --data itself).
    #[arg(long)]
    pub tune_data: Option<PathBuf>,
    /// Eval: score at most this many rows of each file (a seeded random sample).
    #[arg(long)]
    pub llm_sample: Option<usize>,
    /// Prompt version (default: the newest; older ones reproduce older runs).
    #[arg(long, default_value = mindpulse_llm_scorer::PROMPT_VERSION)]
    pub prompt_version: String,
}

/// The prompt set a version names, or an error listing the versions there are.
fn prompt_set(version: &str) -> anyhow::Result<&'static PromptSet> {
    PromptSet::get(version).with_context(|| {
        format!(
            "unknown --prompt-version {version:?}; there are {}",
            PromptSet::versions().join(", ")
        )
    })
}

/// What a scorer was built from, for provenance and messages.
pub struct Built {
    pub scorer: Arc<Scorer>,
    pub backend: &'static str,
    pub model_id: String,
    pub model_sha256: Option<String>,
    pub params: Value,
}

/// Builds the scorer the flags describe (loads the local model, or checks the server).
pub async fn build(args: &LlmArgs) -> anyhow::Result<Built> {
    let prompts = prompt_set(&args.prompt_version)?;
    let mode = if args.fast {
        Mode::Fast
    } else {
        Mode::Generate
    };
    match args.backend {
        Backend::Local => {
            let name = args
                .llm_model
                .clone()
                .unwrap_or_else(|| DEFAULT_LOCAL_MODEL.to_string());
            let resolved = mindpulse_models::resolve(&name).with_context(|| {
                format!("cannot find the model {name:?} (install it with `mindpulse models install {name}` or pass a .gguf path)")
            })?;
            let cfg = LocalConfig {
                model_path: resolved.path.clone(),
                threads: args.llm_threads,
                max_tokens: args.max_tokens as usize,
                max_context: 4096,
                constrained: args.response_format != FormatArg::None,
            };
            let path = resolved.path.clone();
            let backend = tokio::task::spawn_blocking(move || LocalBackend::start(cfg))
                .await
                .context("loading the model")?
                .with_context(|| format!("cannot load {}", path.display()))?;
            let params = json!({
                "temperature": 0.0,
                "decoding": "greedy",
                "max_tokens": args.max_tokens,
                "threads": backend.threads(),
                "output": if backend.constrained() { "skeleton (keys written by the scorer, values argmax over 0-5, rationale generated)" } else { "free" },
                "model_file": resolved.main_file.file_name().map(|f| f.to_string_lossy().to_string()),
                "model_name": backend.model_name(),
            });
            Ok(Built {
                scorer: Arc::new(
                    Scorer::new(Engine::Local(backend), mode, args.parse_retries)
                        .with_prompts(prompts),
                ),
                backend: "local",
                model_id: resolved.id,
                model_sha256: Some(resolved.sha256),
                params,
            })
        }
        Backend::Openai => {
            if args.fast {
                bail!("--fast reads next-token probabilities and needs --backend local");
            }
            let base_url = args
                .base_url
                .clone()
                .context("--backend openai needs --base-url (or MINDPULSE_LLM_BASE_URL), e.g. http://127.0.0.1:8080/v1")?;
            let model = args
                .llm_model
                .clone()
                .context("--backend openai needs --llm-model (the server's model id)")?;
            let mut cfg = OpenAiConfig::new(&base_url, &model);
            cfg.api_key = std::env::var(&args.api_key_env)
                .ok()
                .filter(|k| !k.trim().is_empty());
            cfg.api_key_env = args.api_key_env.clone();
            cfg.concurrency = args.concurrency.max(1);
            cfg.timeout = Duration::from_secs_f64(args.timeout.max(0.1));
            cfg.retries = args.retries;
            cfg.max_tokens = args.max_tokens;
            cfg.response_format = match args.response_format {
                FormatArg::Auto => ResponseFormat::Auto,
                FormatArg::JsonSchema => ResponseFormat::JsonSchema,
                FormatArg::JsonObject => ResponseFormat::JsonObject,
                FormatArg::None => ResponseFormat::None,
            };
            let mut params = cfg.params();
            params["base_url"] = json!(cfg.base_url);
            params["concurrency"] = json!(cfg.concurrency);
            params["timeout_s"] = json!(args.timeout);
            params["retries"] = json!(cfg.retries);
            let backend = OpenAiBackend::new(cfg)?;
            if let Some(models) = backend.server_models().await {
                params["server_models"] = json!(models);
            }
            Ok(Built {
                scorer: Arc::new(
                    Scorer::new(Engine::OpenAi(backend), mode, args.parse_retries)
                        .with_prompts(prompts),
                ),
                backend: "openai",
                model_id: model,
                model_sha256: None,
                params,
            })
        }
    }
}

pub async fn score(ctx: &Context, args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let built = build(&args.llm).await?;
    let mode = built.scorer.mode;
    let spec = RunSpec {
        backend: built.backend.to_string(),
        model_id: built.model_id.clone(),
        model_sha256: built.model_sha256.clone(),
        mode,
        params: built.params.clone(),
        limit: args.limit,
        page_size: args.llm.page_size,
    };
    let stop = crate::commands::cancel_on_signal();
    let pb = crate::progress::bar(ctx.show_progress, None, "scoring (llm)");
    let started = Instant::now();
    let pb2 = pb.clone();
    let progress = move |n: u64| {
        pb2.set_message(crate::progress::rate_msg(
            n,
            started.elapsed().as_secs_f64(),
        ));
    };
    let result = score_store(&store, &built.scorer, &spec, &stop, &progress).await;
    pb.finish_and_clear();
    store.close().await;
    let summary = result?;
    let rate = if summary.elapsed_s > 0.0 {
        (summary.scored + summary.failed) as f64 / summary.elapsed_s
    } else {
        0.0
    };
    println!(
        "llm scoring run {} ({} backend, model {}, {} mode): {} posts scored, {} parse failures, {} repaired, {} retried, in {:.1} s ({:.2} posts/s); {} posts still unscored{}",
        summary.run_id,
        built.backend,
        built.model_id,
        mode.as_str(),
        summary.scored,
        summary.failed,
        summary.repaired,
        summary.retried,
        summary.elapsed_s,
        rate,
        summary.remaining,
        if summary.interrupted { " (interrupted: run the same command to continue)" } else { "" }
    );
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// Scores examples, in pages; None where the answer was unusable. Stops on a backend error.
/// The score is the integer answer in generate mode and the expected value over 0–5 in
/// fast mode (see [`llm_eval`]).
async fn score_examples(
    scorer: &Arc<Scorer>,
    examples: &[Example],
    dimension: &str,
    show_progress: bool,
    what: &str,
) -> anyhow::Result<(Vec<Option<f32>>, u64)> {
    let idx = mindpulse_llm_scorer::schema::index_of(dimension)
        .with_context(|| format!("unknown dimension {dimension}"))?;
    let pb = crate::progress::bar(show_progress, None, what);
    let started = Instant::now();
    let mut out = Vec::with_capacity(examples.len());
    let mut failures = 0u64;
    for chunk in examples.chunks(16) {
        let inputs = chunk
            .iter()
            .map(|e| PostInput {
                text: e.text.clone(),
                lang: None,
                topics: Vec::new(),
            })
            .collect();
        for o in scorer.score_all(inputs).await {
            match &o.result {
                Ok(p) => out.push(Some(match &o.fast {
                    Some(f) => f.expected[idx],
                    None => f32::from(p.scores.values[idx]),
                })),
                Err(mindpulse_llm_scorer::Failure::Backend(e)) if !e.is_per_request() => {
                    pb.finish_and_clear();
                    return Err(anyhow::anyhow!(e.clone())).context("the LLM backend failed");
                }
                Err(e) => {
                    tracing::debug!(error = %e, "unusable answer");
                    failures += 1;
                    out.push(None);
                }
            }
        }
        pb.set_message(crate::progress::rate_msg(
            out.len() as u64,
            started.elapsed().as_secs_f64(),
        ));
    }
    pb.finish_and_clear();
    Ok((out, failures))
}

fn task_for(args: &EvalArgs, data: &Path) -> anyhow::Result<&'static TaskMap> {
    let name = match &args.task {
        Some(t) => t.clone(),
        None => data
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_string())
            .context("--task is needed (the data file's folder does not name one)")?,
    };
    llm_eval::task(&name).with_context(|| {
        let known: Vec<&str> = llm_eval::TASKS.iter().map(|t| t.task).collect();
        format!(
            "the LLM scorer has no mapping for task {name:?}; known: {} (or depression, stress, substance_use, sentiment)",
            known.join(", ")
        )
    })
}

pub async fn eval(ctx: &Context, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let data = args
        .data
        .clone()
        .context("--data FILE.tsv is needed (a labeled `text<TAB>label` file)")?;
    let task = task_for(&args, &data)?;
    let spec = task
        .spec()
        .with_context(|| format!("task {} has no spec (a bug)", task.task))?;
    let sample = args.llm.llm_sample;
    let examples = llm_eval::sample(llm_eval::read_tsv(&data, task)?, sample, 20251122);
    if examples.is_empty() {
        bail!("{}: no rows", data.display());
    }
    // Thresholds come from a tuning split: --tune-data, else val.tsv next to --data; with
    // neither, two-fold cross-fitting on --data.
    let sibling_val = data.with_file_name("val.tsv");
    let same_file = |p: &Path| match (p.canonicalize(), data.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let tune_path = match &args.llm.tune_data {
        // Thresholds tuned on the rows they label would flatter the model: cross-fit instead.
        Some(p) if same_file(p) => {
            tracing::warn!("--tune-data is --data itself: thresholds are cross-fitted instead");
            None
        }
        Some(p) => Some(p.clone()),
        None if data.file_name().is_some_and(|f| f != "val.tsv") && sibling_val.is_file() => {
            Some(sibling_val)
        }
        None => None,
    };
    let built = build(&args.llm).await?;
    let started = Instant::now();
    let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
    let (scores, failures) = score_examples(
        &built.scorer,
        &examples,
        task.dimension,
        ctx.show_progress,
        "scoring (eval)",
    )
    .await?;
    let flat: Vec<f32> = scores.iter().map(|s| s.unwrap_or(0.0)).collect();
    let (pred, thresholds, threshold_source, tune_n) = match &tune_path {
        Some(p) => {
            let tune = llm_eval::sample(llm_eval::read_tsv(p, task)?, sample, 20251122);
            let (ts, _) = score_examples(
                &built.scorer,
                &tune,
                task.dimension,
                ctx.show_progress,
                "scoring (thresholds)",
            )
            .await?;
            let t_truth: Vec<usize> = tune.iter().map(|e| e.label).collect();
            let t_scores: Vec<f32> = ts.iter().map(|s| s.unwrap_or(0.0)).collect();
            let t = llm_eval::choose_thresholds(task, spec, &t_scores, &t_truth);
            (
                llm_eval::predict(&t, &scores),
                json!(t),
                p.display().to_string(),
                tune.len(),
            )
        }
        None => {
            let (pred, [even, odd]) = llm_eval::cross_fit(task, spec, &flat, &truth);
            (
                pred,
                json!({"from_even_rows": even, "from_odd_rows": odd}),
                format!("{} (two-fold cross-fitting)", data.display()),
                examples.len(),
            )
        }
    };
    let m = llm_eval::evaluate(task, spec, &pred, &truth);
    let concordance = llm_eval::concordance(&flat, &truth);
    let score_kind = match built.scorer.mode {
        Mode::Fast => "expected value over 0-5",
        Mode::Generate => "integer answer 0-5",
    };
    let elapsed = started.elapsed().as_secs_f64();
    let report = json!({
        "scorer": "llm",
        "task": task.task,
        "dimension": task.dimension,
        "data": data.display().to_string(),
        "report": m,
        "metric": m.metric.label(),
        "value": m.value,
        "published": spec.published,
        "score": score_kind,
        "concordance": concordance,
        "thresholds": thresholds,
        "threshold_source": threshold_source,
        "tune_n": tune_n,
        "parse_failures": failures,
        "backend": built.backend,
        "model": built.model_id,
        "model_sha256": built.model_sha256,
        "mode": built.scorer.mode.as_str(),
        "prompt_version": built.scorer.prompts.version,
        "prompt_set_sha256": built.scorer.prompts.sha256(),
        "sample": sample,
        "elapsed_s": elapsed,
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "eval llm: {} → {:?}, thresholds {} chosen on {} ({} rows)",
        task.dimension, task.labels, thresholds, threshold_source, tune_n
    );
    println!(
        "model {} ({} backend, {} mode, prompt {}), {} unusable answers, {:.1} s",
        built.model_id,
        built.backend,
        built.scorer.mode.as_str(),
        built.scorer.prompts.version,
        failures,
        elapsed
    );
    match concordance {
        Some(c) => println!(
            "concordance {c:.4} (threshold-free; ROC AUC for two labels; score = {score_kind})"
        ),
        None => println!("concordance undefined (every row has the same label)"),
    }
    if let Some(p) = spec.published {
        println!(
            "published ({}): {:.4} — {}",
            m.metric.label(),
            p,
            spec.published_by
        );
    }
    print!("{}", mindpulse_heads::metrics::render(&m));
    Ok(ExitCode::SUCCESS)
}
