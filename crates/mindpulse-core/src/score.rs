//! The scoring boundary: what a scorer is given ([`PostToScore`]), what it gives back
//! ([`Score`], in a [`ScoredPage`]), and the one trait every scorer implements
//! ([`PostScorer`]).
//!
//! The driver that claims batches of stored posts, runs a scorer on them and stores the
//! scores lives in `mindpulse-score`; the scorers (encoder heads, the LLM scorer) live in
//! their own crates and depend only on this module, not on the database.

use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// A stored post handed to a scorer: its database id, redacted text, language and topics
/// (context for scorers that use it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostToScore {
    pub id: i64,
    pub text: String,
    pub lang: Option<String>,
    pub topics: Vec<String>,
}

/// One score of one post on one dimension, as a scorer produces it. The driver adds the
/// run and the scorer identity when it stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub post_id: i64,
    /// Canonical dimension id (`depression`, `F30_F39`, `route`, …).
    pub dimension: String,
    pub value: f64,
    /// What `value` means: `prob`, `prob:<label>`, `0-5`, `tokens`, …
    pub scale: String,
    pub label: Option<String>,
    pub rationale: Option<String>,
    /// Per-score provenance as a JSON object (head and version, route, prompt hash, …).
    pub meta: Option<serde_json::Value>,
}

/// Who scores: the identity every stored score is keyed by (`model_id` + `version`) and
/// the provenance recorded with each run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorerInfo {
    /// `heads`, a GGUF registry name, or a server's model id.
    pub model_id: String,
    /// sha256 of the model file(s), when the scorer runs a local file.
    pub model_sha256: Option<String>,
    /// Head-set version, or prompt version + hash + mode + backend. Posts scored under the
    /// same `model_id` and `version` are never scored again by that scorer.
    pub version: String,
    /// Parameters recorded with every run (encoders, decoding, routing, …).
    pub params: serde_json::Value,
}

/// What scoring one page of posts gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoredPage {
    /// Every score of every post that was scored. A post with no score here counts as not
    /// scored and stays available to the next claim.
    pub scores: Vec<Score>,
    /// Named counters summed over a run (`truncated`, `repaired`, …). `failed` is special:
    /// posts of the page that the scorer recorded as failures (a failure row instead of
    /// scores), which the run counts as failed rather than scored.
    pub counters: BTreeMap<String, u64>,
    /// Set when the scorer cannot go on at all (a server that is down, a bad key, an
    /// encoder that fails): the scores above are still stored, the run ends as failed.
    pub fatal: Option<String>,
}

impl ScoredPage {
    /// Adds `n` to a counter.
    pub fn count(&mut self, name: &str, n: u64) {
        if n > 0 {
            *self.counters.entry(name.to_string()).or_default() += n;
        }
    }
}

/// A future a scorer returns (boxed, so the trait stays object-safe without an async-trait
/// dependency).
pub type ScoreFuture<'a> = Pin<Box<dyn Future<Output = ScoredPage> + Send + 'a>>;

/// A scorer of stored posts: encoder heads, the LLM scorer, anything else.
///
/// `score_page` may do CPU-heavy work directly in the future (the heads embed texts on
/// their own thread pool); the driver runs it where that does not starve the runtime.
/// It must be deterministic for a given `info()` — the same post scored twice gives the
/// same rows — because a batch whose lease expired may be scored again by another worker
/// (the store keeps the first copy).
pub trait PostScorer: Send + Sync {
    /// The identity and provenance of this scorer.
    fn info(&self) -> &ScorerInfo;
    /// Scores a page of posts.
    fn score_page<'a>(&'a self, posts: &'a [PostToScore]) -> ScoreFuture<'a>;
}
