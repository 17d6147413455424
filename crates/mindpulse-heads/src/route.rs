//! The heads that score posts, and the language routing: English posts go to the
//! `minilm-l6-v2` heads, everything else (Chinese first) to the `multilingual-e5-small` heads.
//! Each head writes its dimension; `sentiment` and `negativity` for the multilingual route
//! are derived from the Weibo emotion head (negative = angry + sad + fear), whose labels are
//! mapped onto the Ekman ids the English emotion head uses.

use crate::error::{HeadsError, Result};
use crate::head::Head;
use crate::tasks::{TaskKind, E5, MINILM};
use std::collections::BTreeMap;
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/builtin_heads.rs"));

/// Which encoder a post goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    English,
    Multilingual,
}

impl Route {
    /// The route for a stored language code (`en`, `zh`, `und`, …).
    pub fn for_lang(lang: Option<&str>) -> Route {
        match lang {
            Some(l) if l.eq_ignore_ascii_case("en") || l.starts_with("en-") => Route::English,
            _ => Route::Multilingual,
        }
    }
    pub fn encoder(self) -> &'static str {
        match self {
            Route::English => MINILM,
            Route::Multilingual => E5,
        }
    }
    pub fn short(self) -> &'static str {
        match self {
            Route::English => "en",
            Route::Multilingual => "multi",
        }
    }
}

/// One score a head produced for one post.
#[derive(Debug, Clone, PartialEq)]
pub struct DimScore {
    pub dimension: String,
    pub value: f64,
    /// `prob` (value is the probability of `label`) or `prob:<label>`.
    pub scale: String,
    pub label: Option<String>,
    /// Head id and version, and class probabilities for multi-class heads (JSON object).
    pub meta: serde_json::Value,
}

/// The loaded heads.
#[derive(Debug, Clone, Default)]
pub struct HeadSet {
    pub heads: Vec<Head>,
}

fn emotion_zh_to_ekman(label: &str) -> &str {
    match label {
        "happy" => "joy",
        "angry" => "anger",
        "sad" => "sadness",
        other => other,
    }
}

fn label_name(head: &Head, i: usize) -> String {
    let l = head.card.labels[i].as_str();
    if head.card.labels.len() == 2 && (l == "0" || l == "1") {
        if l == "1" { "yes" } else { "no" }.to_string()
    } else {
        l.to_string()
    }
}

impl HeadSet {
    /// The heads compiled into this build (from the repository's `heads/` folder).
    pub fn builtin() -> Result<HeadSet> {
        let mut heads = Vec::new();
        for (id, card, weights) in BUILTIN {
            heads.push(Head::from_bytes(card, weights, Path::new(id))?);
        }
        Ok(HeadSet { heads })
    }

    /// Every head in a directory (`*.json` with a `.safetensors` beside it).
    pub fn load_dir(dir: &Path) -> Result<HeadSet> {
        let rd = std::fs::read_dir(dir).map_err(crate::error::io_err(dir))?;
        let mut ids: Vec<String> = rd
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                (p.extension().and_then(|x| x.to_str()) == Some("json")
                    && p.with_extension("safetensors").is_file())
                .then(|| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
                .flatten()
            })
            .collect();
        ids.sort();
        let heads = ids
            .iter()
            .map(|id| Head::load(dir, id))
            .collect::<Result<Vec<_>>>()?;
        Ok(HeadSet { heads })
    }

    pub fn get(&self, id: &str) -> Option<&Head> {
        self.heads.iter().find(|h| h.card.id == id)
    }

    /// Heads scored on a route, in id order.
    pub fn for_route(&self, route: Route) -> Vec<&Head> {
        self.heads
            .iter()
            .filter(|h| h.card.encoder.name == route.encoder())
            .collect()
    }

    /// Routes that have at least one head.
    pub fn routes(&self) -> Vec<Route> {
        [Route::English, Route::Multilingual]
            .into_iter()
            .filter(|r| !self.for_route(*r).is_empty())
            .collect()
    }

    /// One version for the whole set: sha256 over the sorted (id, version) pairs.
    pub fn version(&self) -> String {
        let mut pairs: Vec<(String, String)> = self
            .heads
            .iter()
            .map(|h| (h.card.id.clone(), h.card.version.clone()))
            .collect();
        pairs.sort();
        let joined: String = pairs.iter().map(|(a, b)| format!("{a}={b};")).collect();
        mindpulse_models::hash::sha256_bytes(joined.as_bytes())[..16].to_string()
    }

    /// `id=version` of every head, for run provenance.
    pub fn versions(&self) -> BTreeMap<String, String> {
        self.heads
            .iter()
            .map(|h| (h.card.id.clone(), h.card.version.clone()))
            .collect()
    }

    /// The held-out rates of every screen, by dimension and language (recorded with each
    /// scoring run: the prevalence correction reads them from there).
    pub fn screen_rates(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for h in &self.heads {
            let Some(screen) = &h.card.screen else {
                continue;
            };
            let dim = out
                .entry(h.card.dimension.clone())
                .or_insert_with(|| serde_json::json!({}));
            for (lang, rates) in &screen.rates {
                dim[lang] = serde_json::json!({
                    "head": h.card.id, "v": h.card.version, "threshold": screen.threshold, "rates": rates,
                });
            }
        }
        serde_json::Value::Object(out)
    }

    /// Checks that the loaded encoders match the ones the heads were trained on.
    pub fn check_encoder(&self, route: Route, sha256: &str) -> Result<()> {
        for h in self.for_route(route) {
            if h.card.encoder.sha256 != sha256 {
                return Err(HeadsError::Other(format!(
                    "head {} was trained on {} with sha256 {}, but the installed encoder has {sha256}; retrain the heads or install the matching model",
                    h.card.id, h.card.encoder.name, h.card.encoder.sha256
                )));
            }
        }
        Ok(())
    }

    /// Scores one embedding on a route.
    ///
    /// The population screens come first; a head trained on posts already selected for a
    /// condition (its task `requires` a screen) scores the post only when that screen
    /// flagged it, so its dimension is filled for screened-positive posts only.
    pub fn score(&self, route: Route, x: &[f32]) -> Vec<DimScore> {
        let mut out = Vec::new();
        let mut heads = self.for_route(route);
        // Screens first (stable: otherwise in id order).
        heads.sort_by_key(|h| h.card.screen.is_none());
        let mut flagged: BTreeMap<String, bool> = BTreeMap::new();
        for h in heads {
            if let Some(req) = h.task().and_then(|t| t.requires) {
                if !flagged.get(req).copied().unwrap_or(false) {
                    continue;
                }
            }
            let p = h.predict_one(x);
            if h.card.screen.is_some() {
                flagged.insert(h.card.dimension.clone(), p.labels.contains(&1));
            }
            let zh_emotion = h.card.task.starts_with("smp2020ewect");
            let name = |i: usize| {
                let l = label_name(h, i);
                if zh_emotion {
                    emotion_zh_to_ekman(&l).to_string()
                } else {
                    l
                }
            };
            let probs: serde_json::Map<String, serde_json::Value> = (0..h.k)
                .map(|i| (name(i), serde_json::json!((p.probs[i] * 1e4).round() / 1e4)))
                .collect();
            let mut meta =
                serde_json::json!({"head": h.card.id, "v": h.card.version, "route": route.short()});
            if let Some(screen) = &h.card.screen {
                meta["threshold"] = serde_json::json!(screen.threshold);
            }
            let positive = h
                .card
                .positive
                .as_deref()
                .and_then(|l| h.card.labels.iter().position(|x| x == l));
            let (value, scale) = match (h.card.kind, positive) {
                (TaskKind::Single, Some(pi)) => (p.probs[pi], format!("prob:{}", name(pi))),
                (TaskKind::Single, None) => (p.probs[p.labels[0]], "prob".to_string()),
                (TaskKind::Multi, _) => (
                    p.labels.iter().map(|&i| p.probs[i]).fold(0.0, f64::max),
                    "prob".to_string(),
                ),
            };
            if h.k > 2 {
                meta["probs"] = serde_json::Value::Object(probs);
            }
            let label = p
                .labels
                .iter()
                .map(|&i| name(i))
                .collect::<Vec<_>>()
                .join(",");
            out.push(DimScore {
                dimension: h.card.dimension.clone(),
                value,
                scale,
                label: Some(label),
                meta: meta.clone(),
            });
            // Derived sentiment / negativity.
            let idx = |l: &str| h.card.labels.iter().position(|x| x == l);
            if h.card.task == "tweeteval_sentiment" {
                if let Some(n) = idx("negative") {
                    out.push(DimScore {
                        dimension: "negativity".into(),
                        value: p.probs[n],
                        scale: "prob:negative".into(),
                        label: None,
                        meta: serde_json::json!({"head": h.card.id, "v": h.card.version, "route": route.short(), "from": "P(negative)"}),
                    });
                }
            }
            if h.card.task == "smp2020ewect_usual" {
                let get = |l: &str| idx(l).map(|i| p.probs[i]).unwrap_or(0.0);
                let neg = get("angry") + get("sad") + get("fear");
                let pos = get("happy");
                let neu = get("neutral") + get("surprise");
                let (label, v) = if neg >= pos && neg >= neu {
                    ("negative", neg)
                } else if pos >= neu {
                    ("positive", pos)
                } else {
                    ("neutral", neu)
                };
                let derived = serde_json::json!({"head": h.card.id, "v": h.card.version, "route": route.short(), "from": "emotion: negative = angry+sad+fear, positive = happy, neutral = neutral+surprise"});
                out.push(DimScore {
                    dimension: "sentiment".into(),
                    value: v,
                    scale: "prob".into(),
                    label: Some(label.into()),
                    meta: derived.clone(),
                });
                out.push(DimScore {
                    dimension: "negativity".into(),
                    value: neg,
                    scale: "prob:negative".into(),
                    label: None,
                    meta: derived,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_language() {
        assert_eq!(Route::for_lang(Some("en")), Route::English);
        assert_eq!(Route::for_lang(Some("zh")), Route::Multilingual);
        assert_eq!(Route::for_lang(Some("und")), Route::Multilingual);
        assert_eq!(Route::for_lang(None), Route::Multilingual);
    }
}
