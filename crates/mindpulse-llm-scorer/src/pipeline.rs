//! A resumable scoring run over the store: every post without a score from this model,
//! prompt version, mode and backend is scored, page by page (keyset by post id), and
//! stored long-format — one row per dimension with the rationale — with the run's
//! provenance (backend, model id, file sha256 or server model id, prompt hash, decoding
//! parameters). A post whose answer stays unusable gets one `llm_failure` row, so it is
//! not asked again (decoding is greedy: it would fail the same way). A backend that cannot
//! answer at all (server down, bad key) ends the run as failed; run it again to continue.

use crate::openai::BackendError;
use crate::prompt::{PromptLang, PromptSet};
use crate::schema::{DIMENSIONS, FAILURE_DIMENSION, SCALE};
use crate::scorer::{Failure, Mode, Outcome, PostInput, Scorer};
use mindpulse_store::{NewRun, NewScore, RunCounts, RunKind, RunStatus, Store, StoreError};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "scoring stopped (run {run_id}: {scored} posts scored, run again to continue): {source}"
    )]
    Backend {
        run_id: i64,
        scored: u64,
        #[source]
        source: BackendError,
    },
}

/// What identifies and describes a run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// `local` or `openai`.
    pub backend: String,
    /// The model id (registry name, file name, or the server's model id).
    pub model_id: String,
    /// sha256 of the GGUF file (local); None for a server.
    pub model_sha256: Option<String>,
    pub mode: Mode,
    /// Decoding and backend parameters recorded with the run.
    pub params: Value,
    /// Score at most this many posts.
    pub limit: Option<u64>,
    /// Posts per page (a page is scored concurrently, then stored in one transaction).
    pub page_size: usize,
}

/// The version a run records: prompt version, prompt-set hash, mode and backend. Posts
/// scored under the same model id and version are skipped on resume.
pub fn run_version(prompts: &PromptSet, mode: Mode, backend: &str) -> String {
    format!(
        "prompt-{}+{}/{}/{backend}",
        prompts.version,
        &prompts.sha256()[..12],
        mode.as_str()
    )
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub scored: u64,
    pub failed: u64,
    pub repaired: u64,
    pub retried: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub elapsed_s: f64,
    pub interrupted: bool,
    /// Posts still without a score from this version after the run.
    pub remaining: i64,
}

/// Rows to store for one outcome (empty for a backend error that stops the run).
pub fn score_rows(post_id: i64, run_id: i64, backend: &str, o: &Outcome) -> Vec<NewScore> {
    let base_meta = json!({
        "backend": backend,
        "lang": o.lang.as_str(),
        "prompt_sha256": o.prompt_sha256,
        "attempts": o.attempts,
        "truncated": o.truncated,
        "model": o.model,
    });
    match &o.result {
        Ok(parsed) => {
            let mut meta = base_meta;
            if !parsed.repairs.is_empty() {
                meta["repairs"] = json!(parsed.repairs);
            }
            if !parsed.notes.is_empty() {
                meta["notes"] = json!(parsed.notes);
            }
            let rationale =
                (!parsed.scores.rationale.is_empty()).then(|| parsed.scores.rationale.clone());
            DIMENSIONS
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let mut m = meta.clone();
                    if let Some(f) = &o.fast {
                        m["expected"] = json!((f.expected[i] * 1000.0).round() / 1000.0);
                        m["p"] = json!((f.confidence[i] * 1000.0).round() / 1000.0);
                    }
                    NewScore {
                        post_id,
                        dimension: d.id.to_string(),
                        value: f64::from(parsed.scores.values[i]),
                        scale: SCALE.to_string(),
                        label: None,
                        rationale: rationale.clone(),
                        run_id,
                        meta: Some(m.to_string()),
                    }
                })
                .collect()
        }
        Err(Failure::Parse {
            error,
            attempts,
            last_answer,
        }) => {
            let mut meta = base_meta;
            meta["last_answer"] = json!(last_answer);
            vec![NewScore {
                post_id,
                dimension: FAILURE_DIMENSION.to_string(),
                value: f64::from(*attempts),
                scale: "attempts".into(),
                label: Some("parse_error".into()),
                rationale: Some(error.to_string()),
                run_id,
                meta: Some(meta.to_string()),
            }]
        }
        Err(Failure::Backend(e)) if e.is_per_request() => vec![NewScore {
            post_id,
            dimension: FAILURE_DIMENSION.to_string(),
            value: f64::from(o.attempts),
            scale: "attempts".into(),
            label: Some("rejected".into()),
            rationale: Some(e.to_string()),
            run_id,
            meta: Some(base_meta.to_string()),
        }],
        Err(Failure::Backend(_)) => Vec::new(),
    }
}

/// Scores every post lacking a score from this model and version; `stop` ends the run
/// after the current page (recorded as interrupted); `progress` gets the posts done so far.
pub async fn score_store(
    store: &Store,
    scorer: &Arc<Scorer>,
    spec: &RunSpec,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<RunSummary, PipelineError> {
    let version = run_version(scorer.prompts, spec.mode, &spec.backend);
    let mut params = spec.params.clone();
    if !params.is_object() {
        params = json!({});
    }
    params["backend"] = json!(spec.backend);
    params["mode"] = json!(spec.mode.as_str());
    params["prompt_version"] = json!(scorer.prompts.version);
    params["prompt_set_sha256"] = json!(scorer.prompts.sha256());
    params["prompt_sha256"] = json!({
        "zh": scorer.prompts.prompt(PromptLang::Zh).sha256(),
        "en": scorer.prompts.prompt(PromptLang::En).sha256(),
    });
    params["parse_retries"] = json!(scorer.parse_retries);
    let run_id = store
        .start_run(&NewRun {
            kind: Some(RunKind::Score),
            model_id: Some(spec.model_id.clone()),
            model_sha256: spec.model_sha256.clone(),
            version: Some(version.clone()),
            params,
            ..Default::default()
        })
        .await?;
    tracing::info!(run_id, model = %spec.model_id, %version, "LLM scoring run started");
    let started = Instant::now();
    let mut summary = RunSummary {
        run_id,
        ..Default::default()
    };
    let mut counts = RunCounts::default();
    let mut after = 0i64;
    let page_size = spec.page_size.max(1) as u64;
    let mut fatal: Option<BackendError> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            summary.interrupted = true;
            break;
        }
        let done = summary.scored + summary.failed;
        let want = match spec.limit {
            Some(l) if done >= l => break,
            Some(l) => (l - done).min(page_size),
            None => page_size,
        };
        let page = store
            .unscored_page(&spec.model_id, &version, after, want as i64)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let inputs: Vec<PostInput> = page
            .iter()
            .map(|p| PostInput {
                text: p.text.clone(),
                lang: p.lang.clone(),
                topics: p.topics.clone(),
            })
            .collect();
        let outcomes = scorer.score_all(inputs).await;
        let mut rows = Vec::new();
        for (post, o) in page.iter().zip(&outcomes) {
            counts.input += 1;
            summary.prompt_tokens += o.prompt_tokens;
            summary.completion_tokens += o.completion_tokens;
            if o.attempts > 1 {
                summary.retried += 1;
            }
            match &o.result {
                Ok(p) => {
                    summary.scored += 1;
                    counts.accepted += 1;
                    if !p.repairs.is_empty() {
                        summary.repaired += 1;
                    }
                }
                Err(Failure::Backend(e)) if !e.is_per_request() => {
                    counts.input -= 1;
                    if fatal.is_none() {
                        tracing::error!(error = %e, "the LLM backend failed");
                        fatal = Some(e.clone());
                    }
                }
                Err(e) => {
                    summary.failed += 1;
                    counts.failed += 1;
                    tracing::warn!(post_id = post.id, error = %e, "post not scored");
                }
            }
            rows.extend(score_rows(post.id, run_id, &spec.backend, o));
        }
        store.insert_scores(&rows).await?;
        store.update_run_counts(run_id, counts).await?;
        progress(summary.scored + summary.failed);
        if fatal.is_some() {
            break;
        }
    }
    summary.elapsed_s = started.elapsed().as_secs_f64();
    summary.remaining = store.unscored_count(&spec.model_id, &version).await?;
    if let Some(e) = fatal {
        store
            .finish_run(run_id, RunStatus::Failed, counts, Some(&e.to_string()))
            .await?;
        return Err(PipelineError::Backend {
            run_id,
            scored: summary.scored,
            source: e,
        });
    }
    let status = if summary.interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Done
    };
    let note = format!(
        "{} scored, {} parse failures, {} repaired, {} remaining",
        summary.scored, summary.failed, summary.repaired, summary.remaining
    );
    store
        .finish_run(run_id, status, counts, Some(&note))
        .await?;
    Ok(summary)
}
