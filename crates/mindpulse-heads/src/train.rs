//! Training one head: read the task's data, embed it (cached), fit a class-weighted logistic
//! regression for each L2 strength, calibrate and choose decision rules on the validation split
//! (or on out-of-fold predictions of a stratified 5-fold cross-validation where the task has no
//! validation split), keep the strength that maximizes the task's published metric, and write
//! the head. Everything is seeded and summed in a fixed order: re-running gives the same bytes.

use crate::calibrate::{fit_calibration, fit_decision};
use crate::data::{read_tsv, task_files, LabeledSet};
use crate::embed::{Embedder, Features};
use crate::error::{HeadsError, Result};
use crate::head::{
    head_version, linear_logits, safetensors_bytes, DataRef, EncoderRef, Head, HeadCard, Training,
    FORMAT,
};
use crate::linear::{fit, Problem, Standardizer};
use crate::metrics::{report, Report};
use crate::tasks::TaskSpec;
use std::path::{Path, PathBuf};

/// L2 strengths tried (on standardized features).
pub const LAMBDAS: [f64; 7] = [1.0, 3e-1, 1e-1, 3e-2, 1e-2, 3e-3, 1e-3];
/// Folds of the cross-validation used when a task has no validation split.
pub const FOLDS: usize = 5;
pub const DEFAULT_SEED: u64 = 20_240_917;

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub data_dir: PathBuf,
    pub threads: usize,
    pub seed: u64,
}

/// SplitMix64: a tiny seeded generator (no dependency, stable across versions).
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Stratified folds (by first label): fold index per row.
pub fn stratified_folds(labels: &[Vec<usize>], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix::new(seed);
    let mut by_label: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, y) in labels.iter().enumerate() {
        by_label
            .entry(y.first().copied().unwrap_or(0))
            .or_default()
            .push(i);
    }
    let mut fold = vec![0; labels.len()];
    let mut next = 0;
    for (_, mut rows) in by_label {
        rng.shuffle(&mut rows);
        for r in rows {
            fold[r] = next % folds;
            next += 1;
        }
    }
    fold
}

/// The result of fitting with one λ: f32 weights on raw features and their logits on the
/// selection rows.
struct Fitted {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

fn fit_raw(task: &TaskSpec, x: &Features, y: &[Vec<usize>], lambda: f64, threads: usize) -> Fitted {
    let s = Standardizer::fit(x);
    let xs = s.apply(x);
    let p = Problem {
        xs: &xs,
        d: x.dim,
        labels: y,
        k: task.labels.len(),
        kind: task.kind,
    };
    let lin = fit(&p, lambda, threads).fold(&s);
    Fitted {
        weight: lin.w.iter().map(|v| *v as f32).collect(),
        bias: lin.b.iter().map(|v| *v as f32).collect(),
    }
}

fn logits_of(f: &Fitted, x: &Features, rows: impl Iterator<Item = usize>) -> Vec<f64> {
    rows.flat_map(|i| linear_logits(&f.weight, &f.bias, x.dim, x.row(i)))
        .collect()
}

/// Calibrates, picks the decision rule and reports on (z, gold).
fn evaluate(
    task: &TaskSpec,
    z: &[f64],
    gold: &[Vec<usize>],
) -> (
    crate::calibrate::Calibration,
    crate::calibrate::Decision,
    Report,
) {
    let k = task.labels.len();
    let cal = fit_calibration(task.kind, z, gold, k);
    let p: Vec<f64> = z.chunks_exact(k).flat_map(|r| cal.probs(r)).collect();
    let dec = fit_decision(task, z, &p, gold);
    let pred: Vec<Vec<usize>> = (0..gold.len())
        .map(|i| dec.apply(&z[i * k..(i + 1) * k], &p[i * k..(i + 1) * k]))
        .collect();
    let rep = report(task, gold, &pred);
    (cal, dec, rep)
}

fn data_ref(set: &LabeledSet, data_dir: &Path, used: usize) -> DataRef {
    let file = set
        .path
        .strip_prefix(data_dir)
        .unwrap_or(&set.path)
        .to_string_lossy()
        .replace('\\', "/");
    DataRef {
        file,
        sha256: set.sha256.clone(),
        rows: set.len(),
        used,
    }
}

/// Progress of training: (stage, done, total).
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

/// Trains `task`'s head on `embedder`'s encoder.
pub fn train_head(
    task: &TaskSpec,
    embedder: &mut Embedder,
    opts: &TrainOptions,
    progress: Progress<'_>,
) -> Result<Head> {
    let files = task_files(&opts.data_dir, task)?;
    let (train_set, val_set) = match (&files.train, &files.val) {
        (Some(t), Some(v)) => (read_tsv(task, t)?, Some(read_tsv(task, v)?)),
        (Some(t), None) | (None, Some(t)) => (read_tsv(task, t)?, None),
        (None, None) => {
            return Err(HeadsError::Other(format!(
                "task {}: no data files",
                task.name
            )))
        }
    };
    // A deterministic cap on the training rows.
    let mut rows: Vec<usize> = (0..train_set.len()).collect();
    if let Some(cap) = task.max_train.filter(|&c| c < rows.len()) {
        SplitMix::new(opts.seed).shuffle(&mut rows);
        rows.truncate(cap);
        rows.sort_unstable();
    }
    let train_texts: Vec<&str> = rows
        .iter()
        .map(|&i| train_set.examples[i].text.as_str())
        .collect();
    let train_y: Vec<Vec<usize>> = rows
        .iter()
        .map(|&i| train_set.examples[i].labels.clone())
        .collect();
    let x = embedder.embed(&train_texts, &mut |d, t| progress("embed train", d, t))?;
    let k = task.labels.len();
    let mut tried = Vec::new();
    let (best_lambda, fitted, cal, dec, rep, selection) = if let Some(val) = &val_set {
        let xv = embedder.embed(&val.texts(), &mut |d, t| progress("embed val", d, t))?;
        let gold: Vec<Vec<usize>> = val.examples.iter().map(|e| e.labels.clone()).collect();
        let mut best: Option<(f64, Fitted, _, _, Report)> = None;
        for (li, &lambda) in LAMBDAS.iter().enumerate() {
            progress("fit", li, LAMBDAS.len());
            let f = fit_raw(task, &x, &train_y, lambda, opts.threads);
            let z = logits_of(&f, &xv, 0..xv.rows());
            let (cal, dec, rep) = evaluate(task, &z, &gold);
            tried.push((lambda, rep.value));
            if best.as_ref().is_none_or(|b| rep.value > b.4.value + 1e-12) {
                best = Some((lambda, f, cal, dec, rep));
            }
        }
        let (l, f, c, d, r) = best.ok_or_else(|| HeadsError::Other("no λ tried".into()))?;
        (l, f, c, d, r, "validation split".to_string())
    } else {
        let fold = stratified_folds(&train_y, FOLDS, opts.seed);
        let mut best: Option<(f64, _, _, Report)> = None;
        for (li, &lambda) in LAMBDAS.iter().enumerate() {
            let mut z = vec![0.0; train_y.len() * k];
            for f in 0..FOLDS {
                progress("cross-validate", li * FOLDS + f, LAMBDAS.len() * FOLDS);
                let tr: Vec<usize> = (0..train_y.len()).filter(|&i| fold[i] != f).collect();
                let te: Vec<usize> = (0..train_y.len()).filter(|&i| fold[i] == f).collect();
                let ytr: Vec<Vec<usize>> = tr.iter().map(|&i| train_y[i].clone()).collect();
                let fitted = fit_raw(task, &x.select(&tr), &ytr, lambda, opts.threads);
                for &i in &te {
                    let zi = linear_logits(&fitted.weight, &fitted.bias, x.dim, x.row(i));
                    z[i * k..(i + 1) * k].copy_from_slice(&zi);
                }
            }
            let (cal, dec, rep) = evaluate(task, &z, &train_y);
            tried.push((lambda, rep.value));
            if best.as_ref().is_none_or(|b| rep.value > b.3.value + 1e-12) {
                best = Some((lambda, cal, dec, rep));
            }
        }
        let (l, c, d, r) = best.ok_or_else(|| HeadsError::Other("no λ tried".into()))?;
        progress("fit", 0, 1);
        let f = fit_raw(task, &x, &train_y, l, opts.threads);
        (
            l,
            f,
            c,
            d,
            r,
            format!("{FOLDS}-fold cross-validation (out-of-fold predictions)"),
        )
    };
    let weights = safetensors_bytes(k, x.dim, &fitted.weight, &fitted.bias);
    let weights_sha256 = mindpulse_models::hash::sha256_bytes(&weights);
    let version = head_version(&weights, &cal, &dec);
    let card = HeadCard {
        format: FORMAT.to_string(),
        id: task.head_id(&embedder.name),
        task: task.name.to_string(),
        dimension: task.dimension.to_string(),
        kind: task.kind,
        labels: task.labels.iter().map(|s| s.to_string()).collect(),
        positive: task.positive.map(str::to_string),
        encoder: EncoderRef {
            name: embedder.name.clone(),
            sha256: embedder.sha256.clone(),
            prefix: embedder.prefix.to_string(),
            max_length: embedder.encoder.max_length(),
        },
        calibration: cal,
        decision: dec,
        training: Training {
            train: data_ref(&train_set, &opts.data_dir, rows.len()),
            val: val_set
                .as_ref()
                .map(|v| data_ref(v, &opts.data_dir, v.len())),
            selection,
            lambda: best_lambda,
            lambdas: tried,
            seed: opts.seed,
            model:
                "class-weighted L2 logistic regression on standardized frozen embeddings (L-BFGS)"
                    .into(),
        },
        metrics: rep,
        weights_sha256,
        version,
        screen: None,
    };
    Ok(Head::from_parts(card, k, x.dim, fitted.weight, fitted.bias))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_seeded() {
        let labels: Vec<Vec<usize>> = (0..100).map(|i| vec![usize::from(i % 4 == 0)]).collect();
        let a = stratified_folds(&labels, 5, 7);
        assert_eq!(a, stratified_folds(&labels, 5, 7));
        assert_ne!(a, stratified_folds(&labels, 5, 8));
        for f in 0..5 {
            let pos = (0..100).filter(|&i| a[i] == f && labels[i][0] == 1).count();
            let all = (0..100).filter(|&i| a[i] == f).count();
            assert_eq!(all, 20);
            assert_eq!(pos, 5);
        }
    }
}
