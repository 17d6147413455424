//! A trained head: weights (safetensors, f32) plus a JSON card with its task, labels,
//! encoder identity, calibration, decision rule, training data hashes and metrics.
//! Files: `<dir>/<task>@<encoder>.safetensors` and `<dir>/<task>@<encoder>.json`.

use crate::calibrate::{Calibration, Decision};
use crate::embed::Features;
use crate::error::{io_err, HeadsError, Result};
use crate::metrics::Report;
use crate::tasks::{self, TaskKind, TaskSpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "mindpulse-head/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderRef {
    pub name: String,
    pub sha256: String,
    pub prefix: String,
    pub max_length: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    /// Path relative to the data directory (`dreaddit/train.tsv`).
    pub file: String,
    pub sha256: String,
    pub rows: usize,
    /// Rows used (after the deterministic cap, if any).
    pub used: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    pub train: DataRef,
    pub val: Option<DataRef>,
    /// `validation split` or `5-fold cross-validation`.
    pub selection: String,
    pub lambda: f64,
    pub lambdas: Vec<(f64, f64)>,
    pub seed: u64,
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadCard {
    pub format: String,
    pub id: String,
    pub task: String,
    pub dimension: String,
    pub kind: TaskKind,
    pub labels: Vec<String>,
    pub positive: Option<String>,
    pub encoder: EncoderRef,
    pub calibration: Calibration,
    pub decision: Decision,
    pub training: Training,
    /// Metrics on the validation split (or out of fold).
    pub metrics: Report,
    /// sha256 of the weights file.
    pub weights_sha256: String,
    /// Head version: the first 16 hex digits of sha256(weights ‖ calibration ‖ decision).
    pub version: String,
    /// For a population screen: its operating point, the rates its held-out rows measured
    /// (the prevalence correction's input) and where its rows came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<crate::screen::ScreenCard>,
}

/// A head ready to predict.
#[derive(Debug, Clone)]
pub struct Head {
    pub card: HeadCard,
    pub k: usize,
    pub d: usize,
    /// `k × d`, acting on raw (unstandardized) encoder output.
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// One prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub probs: Vec<f64>,
    pub labels: Vec<usize>,
}

/// Logits of one raw embedding under f32 weights `k × d` (accumulated in f64).
pub fn linear_logits(weight: &[f32], bias: &[f32], d: usize, x: &[f32]) -> Vec<f64> {
    bias.iter()
        .enumerate()
        .map(|(c, b)| {
            let w = &weight[c * d..(c + 1) * d];
            *b as f64
                + w.iter()
                    .zip(x)
                    .map(|(a, v)| *a as f64 * *v as f64)
                    .sum::<f64>()
        })
        .collect()
}

/// Encodes weight and bias as a safetensors file.
pub fn safetensors_bytes(k: usize, d: usize, weight: &[f32], bias: &[f32]) -> Vec<u8> {
    let wbytes = k * d * 4;
    let mut header = format!(
        "{{\"bias\":{{\"dtype\":\"F32\",\"shape\":[{k}],\"data_offsets\":[{wbytes},{}]}},\"weight\":{{\"dtype\":\"F32\",\"shape\":[{k},{d}],\"data_offsets\":[0,{wbytes}]}}}}",
        wbytes + k * 4
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + wbytes + k * 4);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in weight {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in bias {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn parse_safetensors(bytes: &[u8], what: &Path) -> Result<(usize, usize, Vec<f32>, Vec<f32>)> {
    let bad = |reason: String| HeadsError::BadHead {
        path: what.to_path_buf(),
        reason,
    };
    if bytes.len() < 8 {
        return Err(bad("shorter than a safetensors header".into()));
    }
    let hlen =
        u64::from_le_bytes(bytes[..8].try_into().map_err(|_| bad("header".into()))?) as usize;
    let body = 8usize
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("header length past the end".into()))?;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..body]).map_err(|e| bad(format!("header: {e}")))?;
    let tensor = |name: &str| -> Result<(Vec<usize>, Vec<f32>)> {
        let t = header
            .get(name)
            .ok_or_else(|| bad(format!("no tensor `{name}`")))?;
        if t.get("dtype").and_then(|v| v.as_str()) != Some("F32") {
            return Err(bad(format!("`{name}` is not F32")));
        }
        let shape: Vec<usize> = t
            .get("shape")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64().map(|x| x as usize))
                    .collect()
            })
            .ok_or_else(|| bad(format!("`{name}` has no shape")))?;
        let offs: Vec<usize> = t
            .get("data_offsets")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64().map(|x| x as usize))
                    .collect()
            })
            .ok_or_else(|| bad(format!("`{name}` has no offsets")))?;
        if offs.len() != 2 || offs[0] > offs[1] || body + offs[1] > bytes.len() {
            return Err(bad(format!("`{name}` offsets out of range")));
        }
        let data = &bytes[body + offs[0]..body + offs[1]];
        if data.len() != shape.iter().product::<usize>() * 4 {
            return Err(bad(format!("`{name}` size does not match its shape")));
        }
        Ok((
            shape,
            data.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    };
    let (ws, w) = tensor("weight")?;
    let (bs, b) = tensor("bias")?;
    if ws.len() != 2 || bs != [ws[0]] {
        return Err(bad("weight must be [k, d] and bias [k]".into()));
    }
    Ok((ws[0], ws[1], w, b))
}

/// The head version: sha256 over the weights, the calibration and the decision.
pub fn head_version(weights: &[u8], calibration: &Calibration, decision: &Decision) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(weights);
    h.update(serde_json::to_vec(calibration).unwrap_or_default());
    h.update(serde_json::to_vec(decision).unwrap_or_default());
    let hex = mindpulse_models::hash::hex(&h.finalize());
    hex[..16].to_string()
}

impl Head {
    /// Builds a head from its parts (used by training and loading).
    pub fn from_parts(
        card: HeadCard,
        k: usize,
        d: usize,
        weight: Vec<f32>,
        bias: Vec<f32>,
    ) -> Head {
        Head {
            card,
            k,
            d,
            weight,
            bias,
        }
    }

    /// Parses a head from the card's JSON and the weights' bytes.
    pub fn from_bytes(card_json: &[u8], weights: &[u8], name: &Path) -> Result<Head> {
        let card: HeadCard =
            serde_json::from_slice(card_json).map_err(|e| HeadsError::BadHead {
                path: name.to_path_buf(),
                reason: format!("card: {e}"),
            })?;
        if card.format != FORMAT {
            return Err(HeadsError::BadHead {
                path: name.to_path_buf(),
                reason: format!("format {:?}, expected {FORMAT:?}", card.format),
            });
        }
        let (k, d, weight, bias) = parse_safetensors(weights, name)?;
        if k != card.labels.len() {
            return Err(HeadsError::BadHead {
                path: name.to_path_buf(),
                reason: format!("{k} outputs for {} labels", card.labels.len()),
            });
        }
        let sha = mindpulse_models::hash::sha256_bytes(weights);
        if sha != card.weights_sha256 {
            return Err(HeadsError::BadHead {
                path: name.to_path_buf(),
                reason: "weights do not match the card's sha256".into(),
            });
        }
        Ok(Head::from_parts(card, k, d, weight, bias))
    }

    /// Paths of a head's files in `dir`.
    pub fn paths(dir: &Path, id: &str) -> (PathBuf, PathBuf) {
        (
            dir.join(format!("{id}.json")),
            dir.join(format!("{id}.safetensors")),
        )
    }

    /// Loads `<dir>/<id>.{json,safetensors}`.
    pub fn load(dir: &Path, id: &str) -> Result<Head> {
        let (card, weights) = Head::paths(dir, id);
        let c = std::fs::read(&card).map_err(io_err(&card))?;
        let w = std::fs::read(&weights).map_err(io_err(&weights))?;
        Head::from_bytes(&c, &w, &weights)
    }

    /// Writes both files (atomically: temp file + rename).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let (card, weights) = Head::paths(dir, &self.card.id);
        let w = safetensors_bytes(self.k, self.d, &self.weight, &self.bias);
        let mut c = serde_json::to_vec_pretty(&self.card)
            .map_err(|e| HeadsError::Other(format!("card: {e}")))?;
        c.push(b'\n');
        for (path, bytes) in [(&weights, &w), (&card, &c)] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
            std::fs::rename(&tmp, path).map_err(io_err(path))?;
        }
        Ok(())
    }

    pub fn task(&self) -> Option<&'static TaskSpec> {
        tasks::task(&self.card.task)
    }

    /// Logits of one raw embedding.
    pub fn logits(&self, x: &[f32]) -> Vec<f64> {
        linear_logits(&self.weight, &self.bias, self.d, x)
    }

    /// Calibrated probabilities and decided labels for one raw embedding.
    pub fn predict_one(&self, x: &[f32]) -> Prediction {
        let z = self.logits(x);
        let probs = self.card.calibration.probs(&z);
        let labels = self.card.decision.apply(&z, &probs);
        Prediction { probs, labels }
    }

    /// Predictions for every row.
    pub fn predict(&self, x: &Features) -> Vec<Prediction> {
        (0..x.rows()).map(|i| self.predict_one(x.row(i))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_round_trip_and_corruption() {
        let w = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = vec![0.5f32, -0.5];
        let bytes = safetensors_bytes(2, 3, &w, &b);
        let (k, d, w2, b2) = parse_safetensors(&bytes, Path::new("x")).unwrap();
        assert_eq!((k, d), (2, 3));
        assert_eq!((w2, b2), (w, b));
        assert!(parse_safetensors(&bytes[..bytes.len() - 3], Path::new("x")).is_err());
        assert!(parse_safetensors(&bytes[..5], Path::new("x")).is_err());
        let mut bad = bytes.clone();
        bad[0] = 0xff;
        assert!(parse_safetensors(&bad, Path::new("x")).is_err());
    }
}

#[cfg(test)]
mod round_trip {
    use super::*;
    use crate::calibrate::{Calibration, Decision};
    use crate::metrics::report;
    use crate::tasks::task;

    #[test]
    fn a_saved_head_loads_and_predicts_the_same() {
        let t = task("sos_hl_1k").unwrap();
        let weight = vec![1.0f32, -1.0, -1.0, 1.0];
        let bias = vec![0.0f32, 0.0];
        let w = safetensors_bytes(2, 2, &weight, &bias);
        let calibration = Calibration::Temperature {
            temperature: 2.0,
            bias: vec![0.0, 0.0],
        };
        let decision = Decision::Threshold {
            positive: 0,
            threshold: 0.4,
        };
        let card = HeadCard {
            format: FORMAT.into(),
            id: "sos_hl_1k@test".into(),
            task: t.name.into(),
            dimension: t.dimension.into(),
            kind: t.kind,
            labels: t.labels.iter().map(|s| s.to_string()).collect(),
            positive: t.positive.map(str::to_string),
            encoder: EncoderRef {
                name: "test".into(),
                sha256: "0".repeat(64),
                prefix: String::new(),
                max_length: 8,
            },
            version: head_version(&w, &calibration, &decision),
            calibration,
            decision,
            training: Training {
                train: DataRef {
                    file: "x".into(),
                    sha256: "0".repeat(64),
                    rows: 1,
                    used: 1,
                },
                val: None,
                selection: "test".into(),
                lambda: 1.0,
                lambdas: vec![],
                seed: 1,
                model: "test".into(),
            },
            metrics: report(t, &[vec![0]], &[vec![0]]),
            weights_sha256: mindpulse_models::hash::sha256_bytes(&w),
            screen: None,
        };
        let head = Head::from_parts(card, 2, 2, weight, bias);
        let dir = tempfile::tempdir().unwrap();
        head.save(dir.path()).unwrap();
        let back = Head::load(dir.path(), "sos_hl_1k@test").unwrap();
        let p = back.predict_one(&[1.0, 0.0]);
        assert_eq!(p, head.predict_one(&[1.0, 0.0]));
        // z = [1, -1] → T=2 → softmax([0.5, -0.5]) → P(high) ≈ 0.731 ≥ 0.4 → high
        assert!((p.probs[0] - 0.731_058_578_630_004_9).abs() < 1e-9, "{p:?}");
        assert_eq!(p.labels, vec![0]);
        let p = back.predict_one(&[0.0, 1.0]);
        assert_eq!(p.labels, vec![1]);
        // A tampered weights file is refused.
        let (_, wpath) = Head::paths(dir.path(), "sos_hl_1k@test");
        let mut bytes = std::fs::read(&wpath).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&wpath, bytes).unwrap();
        assert!(Head::load(dir.path(), "sos_hl_1k@test").is_err());
    }
}
