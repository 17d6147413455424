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
    /// The sentence embeddings the scorer computed on the way (the heads' encoders), kept
    /// so topics and search need no second encoder pass. Empty for scorers without one.
    pub embeddings: Vec<PostEmbedding>,
}

/// One post's sentence embedding from one encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct PostEmbedding {
    pub post_id: i64,
    pub encoder: EncoderRef,
    /// L2-normalized.
    pub vector: Vec<f32>,
}

/// Which encoder an embedding comes from: its registry name and the sha256 of its weights.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EncoderRef {
    pub name: String,
    pub sha256: String,
}

/// An embedding quantized to int8 (value ≈ `scale` × byte), as it is stored: one scale per
/// vector, the largest magnitude maps to ±127. A zero or non-finite vector gets scale 0.
pub fn quantize_i8(v: &[f32]) -> (f32, Vec<i8>) {
    let max = v
        .iter()
        .filter(|x| x.is_finite())
        .fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (0.0, vec![0; v.len()]);
    }
    let scale = max / 127.0;
    let q = v
        .iter()
        .map(|x| {
            if x.is_finite() {
                (x / scale).round().clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        })
        .collect();
    (scale, q)
}

/// The stored int8 embedding back as f32, re-normalized to unit length (quantization
/// moves the length by well under 1 %).
pub fn dequantize_i8(scale: f32, q: &[i8]) -> Vec<f32> {
    let mut v: Vec<f32> = q.iter().map(|&b| f32::from(b) * scale).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_round_trip_keeps_the_direction() {
        let v: Vec<f32> = (0..384)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let v: Vec<f32> = v.iter().map(|x| x / norm).collect();
        let (scale, q) = quantize_i8(&v);
        assert!(q.iter().any(|&b| b == 127 || b == -127));
        let back = dequantize_i8(scale, &q);
        let cos: f32 = v.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert!(cos > 0.9999, "{cos}");
    }

    #[test]
    fn zero_and_non_finite_vectors_do_not_blow_up() {
        assert_eq!(quantize_i8(&[0.0, 0.0]), (0.0, vec![0, 0]));
        let (s, q) = quantize_i8(&[f32::NAN, 1.0]);
        assert_eq!(q, vec![0, 127]);
        assert_eq!(dequantize_i8(s, &q), vec![0.0, 1.0]);
        assert_eq!(dequantize_i8(0.0, &[0, 0]), vec![0.0, 0.0]);
    }
}
