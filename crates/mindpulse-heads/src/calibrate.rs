//! Turning head logits into calibrated probabilities and decisions, both fitted on validation
//! data (or out-of-fold predictions): temperature + per-class bias (single-label), Platt
//! scaling per label (multi-label); a decision threshold for binary tasks, per-label thresholds
//! for multi-label tasks, and for multi-class tasks the better (on the task metric) of the
//! class-balanced argmax and the calibrated argmax.

use crate::metrics::report;
use crate::optim::{minimize, LbfgsOptions, Objective};
use crate::tasks::{TaskKind, TaskSpec};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibration {
    /// p = softmax(z / temperature + bias)
    Temperature { temperature: f64, bias: Vec<f64> },
    /// p_c = sigmoid(a_c z_c + b_c)
    Platt { a: Vec<f64>, b: Vec<f64> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Decision {
    /// Binary: the positive label when its calibrated probability ≥ threshold.
    Threshold { positive: usize, threshold: f64 },
    /// Multi-class: argmax of the class-balanced logits.
    ArgmaxBalanced,
    /// Multi-class: argmax of the calibrated probabilities.
    ArgmaxCalibrated,
    /// Multi-label: every label at or above its threshold; the most probable one if none is.
    PerLabel { thresholds: Vec<f64> },
}

fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Calibration {
    /// Calibrated probabilities of one row of logits.
    pub fn probs(&self, z: &[f64]) -> Vec<f64> {
        match self {
            Calibration::Temperature { temperature, bias } => {
                let zz: Vec<f64> = z
                    .iter()
                    .zip(bias)
                    .map(|(v, b)| v / temperature + b)
                    .collect();
                softmax(&zz)
            }
            Calibration::Platt { a, b } => z
                .iter()
                .enumerate()
                .map(|(c, v)| sigmoid(a[c] * v + b[c]))
                .collect(),
        }
    }
}

impl Decision {
    /// Label indices for one row.
    pub fn apply(&self, z: &[f64], p: &[f64]) -> Vec<usize> {
        let argmax = |v: &[f64]| {
            (0..v.len())
                .max_by(|&a, &b| v[a].total_cmp(&v[b]).then(b.cmp(&a)))
                .unwrap_or(0)
        };
        match self {
            Decision::Threshold {
                positive,
                threshold,
            } => {
                if p[*positive] >= *threshold {
                    vec![*positive]
                } else {
                    vec![1 - *positive]
                }
            }
            Decision::ArgmaxBalanced => vec![argmax(z)],
            Decision::ArgmaxCalibrated => vec![argmax(p)],
            Decision::PerLabel { thresholds } => {
                let mut out: Vec<usize> = (0..p.len()).filter(|&c| p[c] >= thresholds[c]).collect();
                if out.is_empty() {
                    out.push(argmax(p));
                }
                out
            }
        }
    }
}

struct TempLoss<'a> {
    z: &'a [f64],
    y: &'a [usize],
    k: usize,
}

impl Objective for TempLoss<'_> {
    fn eval(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let k = self.k;
        let t = x[0].exp();
        g.iter_mut().for_each(|v| *v = 0.0);
        let n = self.y.len();
        let mut loss = 0.0;
        for (i, &y) in self.y.iter().enumerate() {
            let z = &self.z[i * k..(i + 1) * k];
            let s: Vec<f64> = (0..k).map(|c| z[c] / t + x[1 + c]).collect();
            let p = softmax(&s);
            loss -= p[y].max(1e-300).ln();
            for c in 0..k {
                let d = p[c] - if c == y { 1.0 } else { 0.0 };
                g[1 + c] += d;
                // ds/dlogT = -z/t
                g[0] += d * (-z[c] / t);
            }
        }
        let inv = 1.0 / n.max(1) as f64;
        loss *= inv;
        g.iter_mut().for_each(|v| *v *= inv);
        for c in 0..k {
            loss += 1e-6 * x[1 + c] * x[1 + c];
            g[1 + c] += 2e-6 * x[1 + c];
        }
        loss
    }
}

struct PlattLoss<'a> {
    z: Vec<f64>,
    y: Vec<bool>,
    _m: std::marker::PhantomData<&'a ()>,
}

impl Objective for PlattLoss<'_> {
    fn eval(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = 0.0;
        g[1] = 0.0;
        let mut loss = 0.0;
        for (z, &y) in self.z.iter().zip(&self.y) {
            let s = a * z + b;
            let m = if y { -s } else { s };
            loss += m.max(0.0) + (-m.abs()).exp().ln_1p();
            let d = sigmoid(s) - if y { 1.0 } else { 0.0 };
            g[0] += d * z;
            g[1] += d;
        }
        let inv = 1.0 / self.z.len().max(1) as f64;
        g[0] *= inv;
        g[1] *= inv;
        loss * inv
    }
}

/// Fits the calibration on logits `z` (`n × k`) and gold label sets.
pub fn fit_calibration(kind: TaskKind, z: &[f64], gold: &[Vec<usize>], k: usize) -> Calibration {
    let opts = LbfgsOptions {
        max_iter: 200,
        ..Default::default()
    };
    match kind {
        TaskKind::Single => {
            let y: Vec<usize> = gold.iter().map(|g| g[0]).collect();
            let loss = TempLoss { z, y: &y, k };
            let (x, _, _) = minimize(&loss, vec![0.0; 1 + k], opts);
            Calibration::Temperature {
                temperature: x[0].exp(),
                bias: x[1..].to_vec(),
            }
        }
        TaskKind::Multi => {
            let mut a = Vec::with_capacity(k);
            let mut b = Vec::with_capacity(k);
            for c in 0..k {
                let loss = PlattLoss {
                    z: (0..gold.len()).map(|i| z[i * k + c]).collect(),
                    y: gold.iter().map(|g| g.contains(&c)).collect(),
                    _m: std::marker::PhantomData,
                };
                let (x, _, _) = minimize(&loss, vec![1.0, 0.0], opts);
                a.push(x[0]);
                b.push(x[1]);
            }
            Calibration::Platt { a, b }
        }
    }
}

/// Candidate thresholds 0.02, 0.03, …, 0.98.
fn thresholds() -> impl Iterator<Item = f64> {
    (2..=98).map(|i| i as f64 / 100.0)
}

/// Picks the decision rule that maximizes the task metric on (z, p, gold).
pub fn fit_decision(task: &TaskSpec, z: &[f64], p: &[f64], gold: &[Vec<usize>]) -> Decision {
    let k = task.labels.len();
    let n = gold.len();
    let score = |d: &Decision| {
        let pred: Vec<Vec<usize>> = (0..n)
            .map(|i| d.apply(&z[i * k..(i + 1) * k], &p[i * k..(i + 1) * k]))
            .collect();
        report(task, gold, &pred).value
    };
    let pick = |cands: Vec<Decision>| {
        let mut best: Option<(f64, Decision)> = None;
        for d in cands {
            let s = score(&d);
            if best.as_ref().is_none_or(|(b, _)| s > *b + 1e-12) {
                best = Some((s, d));
            }
        }
        best.map(|(_, d)| d)
    };
    match task.kind {
        TaskKind::Single if k == 2 => {
            let positive = task.positive.and_then(|l| task.label_index(l)).unwrap_or(1);
            // Scan thresholds from 0.5 outwards so ties keep the one closest to 0.5.
            let mut ts: Vec<f64> = thresholds().collect();
            ts.sort_by(|a, b| {
                (a - 0.5)
                    .abs()
                    .total_cmp(&(b - 0.5).abs())
                    .then(a.total_cmp(b))
            });
            pick(
                ts.into_iter()
                    .map(|threshold| Decision::Threshold {
                        positive,
                        threshold,
                    })
                    .collect(),
            )
            .unwrap_or(Decision::ArgmaxCalibrated)
        }
        TaskKind::Single => pick(vec![Decision::ArgmaxBalanced, Decision::ArgmaxCalibrated])
            .unwrap_or(Decision::ArgmaxBalanced),
        TaskKind::Multi => {
            // Coordinate ascent: each label's threshold maximizes the task metric with the
            // others fixed (two passes).
            let mut th = vec![0.5; k];
            for _ in 0..2 {
                for c in 0..k {
                    let mut best = (f64::NEG_INFINITY, th[c]);
                    let mut ts: Vec<f64> = thresholds().collect();
                    ts.sort_by(|a, b| {
                        (a - 0.5)
                            .abs()
                            .total_cmp(&(b - 0.5).abs())
                            .then(a.total_cmp(b))
                    });
                    for t in ts {
                        th[c] = t;
                        let s = score(&Decision::PerLabel {
                            thresholds: th.clone(),
                        });
                        if s > best.0 + 1e-12 {
                            best = (s, t);
                        }
                    }
                    th[c] = best.1;
                }
            }
            Decision::PerLabel { thresholds: th }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::task;

    #[test]
    fn temperature_shrinks_overconfident_logits() {
        // Logits say 99.9% but the label is right only 75% of the time.
        let mut z = Vec::new();
        let mut y = Vec::new();
        for i in 0..400 {
            z.extend_from_slice(&[7.0, 0.0]);
            y.push(vec![if i % 4 == 0 { 1 } else { 0 }]);
        }
        let cal = fit_calibration(TaskKind::Single, &z, &y, 2);
        let p = cal.probs(&[7.0, 0.0]);
        assert!((p[0] - 0.75).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn binary_threshold_maximizes_the_metric() {
        let t = task("sos_hl_1k").unwrap(); // positive = high (index 0), F1 of high
        let mut z = Vec::new();
        let mut p = Vec::new();
        let mut gold = Vec::new();
        for i in 0..100 {
            let ph = i as f64 / 100.0;
            z.extend_from_slice(&[ph, 1.0 - ph]);
            p.extend_from_slice(&[ph, 1.0 - ph]);
            gold.push(vec![if ph >= 0.3 { 0 } else { 1 }]);
        }
        match fit_decision(t, &z, &p, &gold) {
            Decision::Threshold {
                positive,
                threshold,
            } => {
                assert_eq!(positive, 0);
                assert!((threshold - 0.3).abs() < 1e-9, "{threshold}");
            }
            d => panic!("{d:?}"),
        }
    }
}
