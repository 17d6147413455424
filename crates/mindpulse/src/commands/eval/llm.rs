//! `mindpulse eval --scorer llm`: scores a labeled TSV with the LLM scorer, maps the
//! task's dimension onto its labels with thresholds chosen on the validation split (or
//! cross-fitted), and prints the same report as the heads' eval.

use super::EvalArgs;
use crate::context::Context;
use anyhow::{bail, Context as _};
use mindpulse_llm_scorer::eval::{self as llm_eval, Example, TaskMap};
use mindpulse_llm_scorer::{Mode, PostInput, Scorer};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

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
    let built = mindpulse_llm_scorer::build(&args.llm.settings()).await?;
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
