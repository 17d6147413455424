//! A stored post as `export --format jsonl` writes it and the web interface's posts API
//! returns it: the post, its scores with their meaning and provenance spelled out, the
//! encoder route apart from the scores, and its discovered topic.

use mindpulse_store::{ExportPost, ExportScore, ROUTING_DIMENSION};
use serde::Serialize;

/// A post's topic in the newest topic build.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TopicOut {
    pub(crate) build: i64,
    /// -1: the post was in the build and no topic took it.
    pub(crate) number: i64,
    /// The topic's top keywords, space-separated.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) keywords: String,
}

/// A score as exported: the stored row with its meaning spelled out.
#[derive(Debug, Serialize)]
pub(crate) struct ScoreOut {
    pub(crate) dimension: String,
    pub(crate) value: f64,
    /// The class whose probability `value` is (`None`: not a probability, see `scale`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) probability_of: Option<String>,
    pub(crate) scale: String,
    /// The predicted class(es).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) label: Option<String>,
    /// A screen's operating point: it says `yes` when `value` is at least this (chosen
    /// for everyday posts, so it can be far below 0.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) threshold: Option<f64>,
    /// Every class's probability, for heads with more than two classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) probs: Option<serde_json::Value>,
    /// The head (or the LLM prompt) that gave the score, and its version.
    pub(crate) head: String,
    pub(crate) head_version: String,
    /// The scorer: `heads` or the LLM's model id, with its version.
    pub(crate) scorer: String,
    pub(crate) scorer_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rationale: Option<String>,
    pub(crate) run_id: i64,
}

impl ScoreOut {
    pub(crate) fn new(s: &ExportScore) -> ScoreOut {
        let meta: serde_json::Value = s
            .meta
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or(serde_json::Value::Null);
        let text = |key: &str| meta.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let probability_of = match s.scale.split_once(':') {
            Some(("prob", class)) => Some(class.to_string()),
            _ if s.scale == "prob" => s.label.clone(),
            _ => None,
        };
        ScoreOut {
            dimension: s.dimension.clone(),
            value: s.value,
            probability_of,
            scale: s.scale.clone(),
            label: s.label.clone(),
            threshold: meta.get("threshold").and_then(|t| t.as_f64()),
            probs: meta.get("probs").cloned(),
            head: text("head").unwrap_or_else(|| s.model_id.clone()),
            head_version: text("v").unwrap_or_else(|| s.version.clone()),
            scorer: s.model_id.clone(),
            scorer_version: s.version.clone(),
            rationale: s.rationale.clone(),
            run_id: s.run_id,
        }
    }
}

/// Which encoder read the post (`zh:bge-small-zh`), or why none did (`no_text`).
pub(crate) fn route_of(p: &ExportPost) -> Option<String> {
    p.scores
        .iter()
        .flatten()
        .filter(|s| s.dimension == ROUTING_DIMENSION)
        .max_by_key(|s| s.run_id)
        .and_then(|s| s.label.clone())
}

/// A post as one JSONL line: the stored post, its scores with their meaning, and the
/// encoder route apart from the scores.
#[derive(Debug, Serialize)]
pub(crate) struct JsonPost<'a> {
    #[serde(flatten)]
    pub(crate) post: &'a ExportPost,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) route: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scores: Option<Vec<ScoreOut>>,
    /// The post's topic in the newest `topics build` (absent: none built, or the post was
    /// not in it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) discovered_topic: Option<TopicOut>,
}

impl<'a> JsonPost<'a> {
    pub(crate) fn new(post: &'a ExportPost, discovered_topic: Option<TopicOut>) -> JsonPost<'a> {
        JsonPost {
            post,
            discovered_topic,
            route: route_of(post),
            scores: post.scores.as_ref().map(|scores| {
                scores
                    .iter()
                    .filter(|s| s.dimension != ROUTING_DIMENSION)
                    .map(ScoreOut::new)
                    .collect()
            }),
        }
    }
}
