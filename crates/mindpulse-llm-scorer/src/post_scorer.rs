//! The LLM scorer as a [`PostScorer`], run by the one score driver (`mindpulse-score`):
//! a page of posts is scored concurrently (the backend bounds what runs at once) and
//! returned long-format — one row per dimension with the rationale. A post whose answer
//! stays unusable gets one `llm_failure` row, so it is not asked again (decoding is
//! greedy: it would fail the same way). A backend that cannot answer at all (server down,
//! bad key) is fatal: the driver stores what was scored and ends the run as failed; run it
//! again to continue.
//!
//! The identity every score is keyed by is the model id plus [`run_version`]: prompt
//! version, prompt-set hash, mode and backend. Each run records the provenance (backend,
//! model id, file sha256 or server model list, prompt hashes, decoding parameters).

use crate::prompt::{PromptLang, PromptSet};
use crate::schema::{DIMENSIONS, FAILURE_DIMENSION, SCALE};
use crate::scorer::{Failure, Mode, Outcome, PostInput, Scorer};
use mindpulse_core::{PostScorer, PostToScore, Score, ScoreFuture, ScoredPage, ScorerInfo};
use serde_json::{json, Value};
use std::sync::Arc;

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

/// Rows to store for one outcome (empty for a backend error that stops the run).
pub fn score_rows(post_id: i64, backend: &str, o: &Outcome) -> Vec<Score> {
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
                    Score {
                        post_id,
                        dimension: d.id.to_string(),
                        value: f64::from(parsed.scores.values[i]),
                        scale: SCALE.to_string(),
                        label: None,
                        rationale: rationale.clone(),
                        meta: Some(m),
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
            vec![Score {
                post_id,
                dimension: FAILURE_DIMENSION.to_string(),
                value: f64::from(*attempts),
                scale: "attempts".into(),
                label: Some("parse_error".into()),
                rationale: Some(error.to_string()),
                meta: Some(meta),
            }]
        }
        Err(Failure::Backend(e)) if e.is_per_request() => vec![Score {
            post_id,
            dimension: FAILURE_DIMENSION.to_string(),
            value: f64::from(o.attempts),
            scale: "attempts".into(),
            label: Some("rejected".into()),
            rationale: Some(e.to_string()),
            meta: Some(base_meta),
        }],
        Err(Failure::Backend(_)) => Vec::new(),
    }
}

/// The LLM scorer with its identity: what `mindpulse score --scorer llm` and the crawler run.
pub struct LlmPostScorer {
    scorer: Arc<Scorer>,
    backend: String,
    info: ScorerInfo,
}

impl LlmPostScorer {
    /// `params` are the backend's decoding parameters; the prompt version and hashes, mode
    /// and parse retries are added here.
    pub fn new(
        scorer: Arc<Scorer>,
        backend: &str,
        model_id: String,
        model_sha256: Option<String>,
        params: Value,
    ) -> LlmPostScorer {
        let mut params = if params.is_object() {
            params
        } else {
            json!({})
        };
        params["scorer"] = json!("llm");
        params["backend"] = json!(backend);
        params["mode"] = json!(scorer.mode.as_str());
        params["prompt_version"] = json!(scorer.prompts.version);
        params["prompt_set_sha256"] = json!(scorer.prompts.sha256());
        params["prompt_sha256"] = json!({
            "zh": scorer.prompts.prompt(PromptLang::Zh).sha256(),
            "en": scorer.prompts.prompt(PromptLang::En).sha256(),
        });
        params["parse_retries"] = json!(scorer.parse_retries);
        let info = ScorerInfo {
            model_id,
            model_sha256,
            version: run_version(scorer.prompts, scorer.mode, backend),
            params,
        };
        LlmPostScorer {
            scorer,
            backend: backend.to_string(),
            info,
        }
    }

    pub fn scorer(&self) -> &Arc<Scorer> {
        &self.scorer
    }

    async fn page(&self, posts: &[PostToScore]) -> ScoredPage {
        let inputs: Vec<PostInput> = posts
            .iter()
            .map(|p| PostInput {
                text: p.text.clone(),
                lang: p.lang.clone(),
                topics: p.topics.clone(),
            })
            .collect();
        let outcomes = self.scorer.score_all(inputs).await;
        let mut page = ScoredPage::default();
        for (post, o) in posts.iter().zip(&outcomes) {
            page.count("prompt_tokens", o.prompt_tokens);
            page.count("completion_tokens", o.completion_tokens);
            page.count("retried", u64::from(o.attempts > 1));
            match &o.result {
                Ok(p) => page.count("repaired", u64::from(!p.repairs.is_empty())),
                Err(Failure::Backend(e)) if !e.is_per_request() => {
                    if page.fatal.is_none() {
                        page.fatal = Some(format!("the LLM backend failed: {e}"));
                    }
                }
                Err(e) => {
                    // Recorded as an `llm_failure` row: counted as failed, not asked again.
                    page.count("failed", 1);
                    tracing::warn!(post_id = post.id, error = %e, "post not scored");
                }
            }
            page.scores.extend(score_rows(post.id, &self.backend, o));
        }
        page
    }
}

impl PostScorer for LlmPostScorer {
    fn info(&self) -> &ScorerInfo {
        &self.info
    }

    fn score_page<'a>(&'a self, posts: &'a [PostToScore]) -> ScoreFuture<'a> {
        Box::pin(self.page(posts))
    }
}
