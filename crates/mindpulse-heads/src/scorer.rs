//! The heads as a [`PostScorer`]: every post is routed by language to its encoder,
//! embedded once, and scored by every head of that route. Each scored post also gets a
//! `route` row (value = tokens encoded; label `en:minilm-l6-v2` or
//! `multi:multilingual-e5-small`; meta with the language, the encoder hash and the tokens
//! cut by truncation). Posts with nothing an encoder can read (empty, emoji or punctuation
//! only) get only a `route` row labelled `no_text`, so no run reads them again.

use crate::embed::Embedder;
use crate::error::{HeadsError, Result};
use crate::route::{HeadSet, Route};
use mindpulse_core::{
    EncoderRef, PostEmbedding, PostScorer, PostToScore, Score, ScoreFuture, ScoredPage, ScorerInfo,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The model id under which heads runs and scores are recorded.
pub const HEADS_MODEL_ID: &str = "heads";

/// Loaded heads and the encoders they need.
pub struct HeadsScorer {
    pub heads: HeadSet,
    embedders: BTreeMap<Route, Embedder>,
    info: ScorerInfo,
}

/// True when a text has something an encoder can read (not empty, not only emoji,
/// punctuation or symbols).
pub fn has_scorable_text(text: &str) -> bool {
    text.chars().any(|c| c.is_alphanumeric())
}

/// `v` scaled to unit length (a zero vector stays zero).
pub fn unit(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter().map(|x| x / norm).collect()
    } else {
        v.to_vec()
    }
}

impl HeadSet {
    /// The heads in `dir`, or the ones built into this binary; an empty set is an error.
    pub fn load(dir: Option<&Path>) -> Result<HeadSet> {
        let set = match dir {
            Some(d) => HeadSet::load_dir(d).map_err(|e| {
                HeadsError::Other(format!("loading heads from {}: {e}", d.display()))
            })?,
            None => HeadSet::builtin()?,
        };
        if set.heads.is_empty() {
            return Err(HeadsError::Other(
                "no heads found: train them with `mindpulse train --all` or pass --heads DIR"
                    .into(),
            ));
        }
        Ok(set)
    }
}

impl HeadsScorer {
    /// Loads the encoders the heads need (`threads` each) and checks that they are the
    /// files the heads were trained on.
    pub fn new(heads: HeadSet, threads: usize) -> Result<HeadsScorer> {
        let mut embedders = BTreeMap::new();
        let mut encoders = serde_json::Map::new();
        for route in heads.routes() {
            let e = Embedder::load(route.encoder(), threads, None).map_err(|err| {
                HeadsError::Other(format!(
                    "loading encoder {} (install it with `mindpulse models install {}`): {err}",
                    route.encoder(),
                    route.encoder()
                ))
            })?;
            heads.check_encoder(route, &e.sha256)?;
            encoders.insert(e.name.clone(), serde_json::json!(e.sha256));
            embedders.insert(route, e);
        }
        let combined_sha = mindpulse_models::hash::sha256_bytes(
            serde_json::Value::Object(encoders.clone())
                .to_string()
                .as_bytes(),
        );
        let info = ScorerInfo {
            model_id: HEADS_MODEL_ID.into(),
            model_sha256: Some(combined_sha),
            version: heads.version(),
            params: serde_json::json!({
                "scorer": "heads", "encoders": encoders, "heads": heads.versions(),
                "routing": {"en": Route::English.encoder(), "other": Route::Multilingual.encoder()},
                "threads": threads,
                "screens": heads.screen_rates(),
            }),
        };
        Ok(HeadsScorer {
            heads,
            embedders,
            info,
        })
    }

    /// Embeds posts the way a heads run does (routed by language; posts with nothing to read
    /// or no encoder for their route are left out): what `topics` and `search` use for
    /// posts scored before embeddings were kept.
    pub fn embed_posts(&self, posts: &[PostToScore]) -> Result<Vec<PostEmbedding>> {
        let mut groups: BTreeMap<Route, Vec<usize>> = BTreeMap::new();
        for (i, p) in posts.iter().enumerate() {
            let route = Route::for_lang(p.lang.as_deref());
            if has_scorable_text(&p.text) && self.embedders.contains_key(&route) {
                groups.entry(route).or_default().push(i);
            }
        }
        let mut out = Vec::new();
        for (route, idx) in groups {
            let Some(e) = self.embedders.get(&route) else {
                continue;
            };
            let texts: Vec<String> = idx
                .iter()
                .map(|&i| format!("{}{}", e.prefix, posts[i].text))
                .collect();
            let emb = e.encoder.encode(&texts).map_err(|err| {
                HeadsError::Other(format!(
                    "encoding a batch of {} posts with {}: {err}",
                    texts.len(),
                    e.name
                ))
            })?;
            for (j, &i) in idx.iter().enumerate() {
                out.push(PostEmbedding {
                    post_id: posts[i].id,
                    encoder: EncoderRef {
                        name: e.name.clone(),
                        sha256: e.sha256.clone(),
                    },
                    vector: unit(emb.row(j)),
                });
            }
        }
        out.sort_by_key(|e| e.post_id);
        Ok(out)
    }

    /// The encoder of a route, when the heads have one.
    pub fn embedder(&self, route: Route) -> Option<&Embedder> {
        self.embedders.get(&route)
    }

    /// Scores a page synchronously (the encoders run on their own threads).
    pub fn score_now(&self, posts: &[PostToScore]) -> ScoredPage {
        let mut page = ScoredPage::default();
        // Group the page by route; texts without anything to read get only a route row.
        let mut groups: BTreeMap<Route, Vec<usize>> = BTreeMap::new();
        for (i, p) in posts.iter().enumerate() {
            let route = Route::for_lang(p.lang.as_deref());
            let readable = has_scorable_text(&p.text);
            if readable && self.embedders.contains_key(&route) {
                groups.entry(route).or_default().push(i);
            } else {
                page.count(if readable { "no_heads" } else { "no_text" }, 1);
                page.scores.push(Score {
                    post_id: p.id,
                    dimension: "route".into(),
                    value: 0.0,
                    scale: "tokens".into(),
                    label: Some(if readable { "no_heads" } else { "no_text" }.into()),
                    rationale: None,
                    meta: Some(serde_json::json!({"lang": p.lang})),
                });
            }
        }
        for (route, idx) in groups {
            let Some(e) = self.embedders.get(&route) else {
                continue;
            };
            let texts: Vec<String> = idx
                .iter()
                .map(|&i| format!("{}{}", e.prefix, posts[i].text))
                .collect();
            let emb = match e.encoder.encode(&texts) {
                Ok(v) => v,
                Err(err) => {
                    page.fatal = Some(format!(
                        "encoding a batch of {} posts with {}: {err}",
                        texts.len(),
                        e.name
                    ));
                    return page;
                }
            };
            for (j, &i) in idx.iter().enumerate() {
                let post = &posts[i];
                let truncated = emb.truncated[j];
                page.count("truncated", u64::from(truncated > 0));
                page.count(&format!("route:{}", route.short()), 1);
                page.scores.push(Score {
                    post_id: post.id,
                    dimension: "route".into(),
                    value: emb.tokens[j] as f64,
                    scale: "tokens".into(),
                    label: Some(format!("{}:{}", route.short(), e.name)),
                    rationale: None,
                    meta: Some(serde_json::json!({
                        "lang": post.lang, "encoder_sha256": e.sha256, "truncated_tokens": truncated
                    })),
                });
                page.embeddings.push(PostEmbedding {
                    post_id: post.id,
                    encoder: EncoderRef {
                        name: e.name.clone(),
                        sha256: e.sha256.clone(),
                    },
                    vector: unit(emb.row(j)),
                });
                for s in self.heads.score(route, emb.row(j)) {
                    page.scores.push(Score {
                        post_id: post.id,
                        dimension: s.dimension,
                        value: s.value,
                        scale: s.scale,
                        label: s.label,
                        rationale: None,
                        meta: Some(s.meta),
                    });
                }
            }
        }
        page
    }
}

impl PostScorer for HeadsScorer {
    fn info(&self) -> &ScorerInfo {
        &self.info
    }

    fn score_page<'a>(&'a self, posts: &'a [PostToScore]) -> ScoreFuture<'a> {
        Box::pin(async move { self.score_now(posts) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scorable_text_needs_a_letter_or_digit() {
        assert!(has_scorable_text("好"));
        assert!(has_scorable_text("ok 👍"));
        assert!(!has_scorable_text("👍🔥 !!!"));
        assert!(!has_scorable_text(""));
    }

    #[test]
    fn an_empty_head_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = HeadSet::load(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("no heads found"), "{err}");
    }
}
