//! Class-weighted, L2-regularized logistic regression on standardized features: softmax for
//! single-label tasks, one sigmoid per label for multi-label tasks. Deterministic: rows are
//! summed in fixed blocks and the blocks in order, whatever the number of threads.

use crate::embed::Features;
use crate::optim::{minimize, LbfgsOptions, Objective};
use crate::tasks::TaskKind;

/// Rows per block of the gradient sum (fixed, so results do not depend on threads).
const BLOCK: usize = 512;

/// Per-column mean and standard deviation of training features.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Standardizer {
    pub fn fit(x: &Features) -> Standardizer {
        let (n, d) = (x.rows(), x.dim);
        let mut mean = vec![0.0f64; d];
        for i in 0..n {
            for (m, v) in mean.iter_mut().zip(x.row(i)) {
                *m += *v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let mut var = vec![0.0f64; d];
        for i in 0..n {
            for ((s, v), m) in var.iter_mut().zip(x.row(i)).zip(&mean) {
                let c = *v as f64 - m;
                *s += c * c;
            }
        }
        let std = var
            .iter()
            .map(|s| (s / n.max(1) as f64).sqrt().max(1e-6))
            .collect();
        Standardizer { mean, std }
    }

    /// Standardized copy as f64.
    pub fn apply(&self, x: &Features) -> Vec<f64> {
        let d = x.dim;
        let mut out = Vec::with_capacity(x.data.len());
        for i in 0..x.rows() {
            for j in 0..d {
                out.push((x.row(i)[j] as f64 - self.mean[j]) / self.std[j]);
            }
        }
        out
    }
}

/// Weights `k × d` and biases `k` acting on standardized features.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub k: usize,
    pub d: usize,
    pub w: Vec<f64>,
    pub b: Vec<f64>,
}

impl Linear {
    /// Logits of standardized rows (`n × k`).
    pub fn logits(&self, xs: &[f64]) -> Vec<f64> {
        let n = xs.len() / self.d;
        let mut out = vec![0.0; n * self.k];
        for i in 0..n {
            let x = &xs[i * self.d..(i + 1) * self.d];
            for c in 0..self.k {
                let w = &self.w[c * self.d..(c + 1) * self.d];
                out[i * self.k + c] = self.b[c] + w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
            }
        }
        out
    }

    /// Folds a standardizer in, so the model acts on raw features: `w' = w/σ`, `b' = b − w'·μ`.
    pub fn fold(&self, s: &Standardizer) -> Linear {
        let mut w = self.w.clone();
        let mut b = self.b.clone();
        for c in 0..self.k {
            for j in 0..self.d {
                w[c * self.d + j] /= s.std[j];
                b[c] -= w[c * self.d + j] * s.mean[j];
            }
        }
        Linear {
            k: self.k,
            d: self.d,
            w,
            b,
        }
    }
}

/// Training data for [`fit`]: standardized rows and label sets.
pub struct Problem<'a> {
    pub xs: &'a [f64],
    pub d: usize,
    pub labels: &'a [Vec<usize>],
    pub k: usize,
    pub kind: TaskKind,
}

struct Loss<'a> {
    p: &'a Problem<'a>,
    lambda: f64,
    /// Single: weight per class. Multi: (negative, positive) weight per label.
    class_w: Vec<f64>,
    pos_w: Vec<f64>,
    neg_w: Vec<f64>,
    threads: usize,
}

impl Loss<'_> {
    fn block(&self, params: &[f64], rows: std::ops::Range<usize>, grad: &mut [f64]) -> f64 {
        let (d, k) = (self.p.d, self.p.k);
        let (w, b) = params.split_at(k * d);
        let mut z = vec![0.0; k];
        let mut loss = 0.0;
        for i in rows {
            let x = &self.p.xs[i * d..(i + 1) * d];
            for c in 0..k {
                z[c] = b[c]
                    + w[c * d..(c + 1) * d]
                        .iter()
                        .zip(x)
                        .map(|(a, v)| a * v)
                        .sum::<f64>();
            }
            let y = &self.p.labels[i];
            match self.p.kind {
                TaskKind::Single => {
                    let t = y[0];
                    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
                    let lse = m + s.ln();
                    let wt = self.class_w[t];
                    loss += wt * (lse - z[t]);
                    for c in 0..k {
                        let p = (z[c] - lse).exp();
                        let dz = wt * (p - if c == t { 1.0 } else { 0.0 });
                        grad[k * d + c] += dz;
                        let gw = &mut grad[c * d..(c + 1) * d];
                        for (g, v) in gw.iter_mut().zip(x) {
                            *g += dz * v;
                        }
                    }
                }
                TaskKind::Multi => {
                    for c in 0..k {
                        let pos = y.contains(&c);
                        let wt = if pos { self.pos_w[c] } else { self.neg_w[c] };
                        // log(1+e^-z) for positives, log(1+e^z) for negatives, stably.
                        let s = if pos { -z[c] } else { z[c] };
                        loss += wt * (s.max(0.0) + (-s.abs()).exp().ln_1p());
                        let p = 1.0 / (1.0 + (-z[c]).exp());
                        let dz = wt * (p - if pos { 1.0 } else { 0.0 });
                        grad[k * d + c] += dz;
                        let gw = &mut grad[c * d..(c + 1) * d];
                        for (g, v) in gw.iter_mut().zip(x) {
                            *g += dz * v;
                        }
                    }
                }
            }
        }
        loss
    }
}

impl Objective for Loss<'_> {
    fn eval(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let n = self.p.labels.len();
        let blocks: Vec<std::ops::Range<usize>> = (0..n)
            .step_by(BLOCK)
            .map(|s| s..(s + BLOCK).min(n))
            .collect();
        let np = params.len();
        let mut results: Vec<(f64, Vec<f64>)> = vec![(0.0, Vec::new()); blocks.len()];
        let threads = self.threads.max(1).min(blocks.len().max(1));
        std::thread::scope(|sc| {
            for (t, out) in results
                .chunks_mut(blocks.len().div_ceil(threads).max(1))
                .enumerate()
            {
                let first = t * blocks.len().div_ceil(threads).max(1);
                let blocks = &blocks;
                sc.spawn(move || {
                    for (j, slot) in out.iter_mut().enumerate() {
                        let mut g = vec![0.0; np];
                        let l = self.block(params, blocks[first + j].clone(), &mut g);
                        *slot = (l, g);
                    }
                });
            }
        });
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut loss = 0.0;
        for (l, g) in &results {
            loss += l;
            for (a, b) in grad.iter_mut().zip(g) {
                *a += b;
            }
        }
        let scale = 1.0 / n.max(1) as f64;
        loss *= scale;
        grad.iter_mut().for_each(|g| *g *= scale);
        let kd = self.p.k * self.p.d;
        for j in 0..kd {
            loss += 0.5 * self.lambda * params[j] * params[j];
            grad[j] += self.lambda * params[j];
        }
        loss
    }
}

/// Fits the model with L2 strength `lambda` and balanced class weights.
pub fn fit(p: &Problem<'_>, lambda: f64, threads: usize) -> Linear {
    let n = p.labels.len() as f64;
    let (k, d) = (p.k, p.d);
    let mut counts = vec![0.0f64; k];
    for y in p.labels {
        for &c in y {
            counts[c] += 1.0;
        }
    }
    let (class_w, pos_w, neg_w) = match p.kind {
        TaskKind::Single => (
            counts.iter().map(|c| n / (k as f64 * c.max(1.0))).collect(),
            Vec::new(),
            Vec::new(),
        ),
        TaskKind::Multi => (
            Vec::new(),
            counts
                .iter()
                .map(|c| (n / (2.0 * c.max(1.0))).sqrt())
                .collect(),
            counts
                .iter()
                .map(|c| (n / (2.0 * (n - c).max(1.0))).sqrt())
                .collect(),
        ),
    };
    let loss = Loss {
        p,
        lambda,
        class_w,
        pos_w,
        neg_w,
        threads,
    };
    let opts = LbfgsOptions {
        max_iter: 400,
        ..Default::default()
    };
    let (x, _, _) = minimize(&loss, vec![0.0; k * d + k], opts);
    let (w, b) = x.split_at(k * d);
    Linear {
        k,
        d,
        w: w.to_vec(),
        b: b.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(n: usize) -> (Features, Vec<Vec<usize>>) {
        // Three separable clusters in 4-d, deterministic.
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let c = i % 3;
            let jitter = ((i * 7919) % 100) as f32 / 500.0;
            let mut v = [jitter; 4];
            v[c] += 1.0;
            data.extend_from_slice(&v);
            labels.push(vec![c]);
        }
        (Features { dim: 4, data }, labels)
    }

    #[test]
    fn separates_clusters_and_is_thread_independent() {
        let (x, y) = blobs(3000);
        let s = Standardizer::fit(&x);
        let xs = s.apply(&x);
        let p = Problem {
            xs: &xs,
            d: 4,
            labels: &y,
            k: 3,
            kind: TaskKind::Single,
        };
        let m1 = fit(&p, 1e-3, 1);
        let m2 = fit(&p, 1e-3, 3);
        assert_eq!(m1, m2, "thread count changed the fit");
        let z = m1.logits(&xs);
        let correct = (0..3000)
            .filter(|&i| {
                let r = &z[i * 3..i * 3 + 3];
                let arg = (0..3).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
                arg == y[i][0]
            })
            .count();
        assert_eq!(correct, 3000);
        // Folding the standardizer in gives the same logits on raw features.
        let folded = m1.fold(&s);
        let raw: Vec<f64> = x.data.iter().map(|v| *v as f64).collect();
        let z2 = folded.logits(&raw);
        for (a, b) in z.iter().zip(&z2) {
            assert!((a - b).abs() < 1e-9);
        }
    }
}
