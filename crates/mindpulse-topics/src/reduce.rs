//! PCA: the embeddings (384 dimensions) projected onto their top principal components
//! (8 by default) before clustering, because density-based clustering needs a space
//! where distances still discriminate (BERTopic uses UMAP for this; PCA is linear,
//! seedless and exactly reproducible).
//!
//! Deterministic to the bit: the mean and the covariance are summed in row order in
//! `f64` (threads split the covariance by rows of the *matrix*, never the sum over
//! posts, so the thread count does not change a bit); the eigenvectors come from
//! subspace iteration with Rayleigh–Ritz (a block of `k + 8` vectors, started from a
//! fixed SplitMix64 seed, orthonormalised by modified Gram–Schmidt, the small projected
//! matrix diagonalised by cyclic Jacobi) until the top-`k` Ritz values change by less
//! than 1e-12 relative, at most 500 iterations; each component's sign is fixed so that
//! its largest-magnitude entry (first such on ties) is positive.

use crate::num::SplitMix64;

/// A fitted PCA: `transform` projects rows onto `components`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Input dimension.
    pub dim: usize,
    /// Column means of the fitted rows.
    pub mean: Vec<f64>,
    /// `k` unit components, row-major `k × dim`, by decreasing variance.
    pub components: Vec<f64>,
    /// Variance along each component (eigenvalues of the covariance, divisor n − 1).
    pub variances: Vec<f64>,
}

const EXTRA: usize = 8;
const MAX_ITER: usize = 500;
const TOL: f64 = 1e-12;
const SEED: u64 = 0x6d69_6e64_7075_6c73; // "mindpuls"

/// Number of worker threads for the covariance (results do not depend on it).
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
}

impl Pca {
    /// Fits `k` components (at most `dim`) on the rows `rows` of the row-major matrix
    /// `data` (`dim` columns).
    pub fn fit(data: &[f32], dim: usize, rows: &[usize], k: usize) -> Pca {
        let k = k.min(dim);
        let n = rows.len();
        let mut mean = vec![0.0f64; dim];
        for &r in rows {
            for (m, &x) in mean.iter_mut().zip(&data[r * dim..(r + 1) * dim]) {
                *m += f64::from(x);
            }
        }
        let inv_n = 1.0 / n.max(1) as f64;
        mean.iter_mut().for_each(|m| *m *= inv_n);
        let cov = covariance(data, dim, rows, &mean);
        let (variances, components) = top_eigen(&cov, dim, k);
        Pca {
            dim,
            mean,
            components,
            variances,
        }
    }

    /// Number of components.
    pub fn k(&self) -> usize {
        self.variances.len()
    }

    /// Projects every row of `data` (row-major, `dim` columns): row-major `n × k`.
    pub fn transform(&self, data: &[f32]) -> Vec<f64> {
        let (d, k) = (self.dim, self.k());
        let n = data.len() / d.max(1);
        let mut out = vec![0.0; n * k];
        let mut centered = vec![0.0; d];
        for r in 0..n {
            for ((c, &x), m) in centered
                .iter_mut()
                .zip(&data[r * d..(r + 1) * d])
                .zip(&self.mean)
            {
                *c = f64::from(x) - m;
            }
            for j in 0..k {
                let comp = &self.components[j * d..(j + 1) * d];
                out[r * k + j] = dot(&centered, comp);
            }
        }
        out
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        s += x * y;
    }
    s
}

/// The covariance (divisor n − 1, or 1 when n ≤ 1), full symmetric `d × d`. Matrix rows
/// are dealt to threads round-robin; each entry is summed over posts in order.
fn covariance(data: &[f32], d: usize, rows: &[usize], mean: &[f64]) -> Vec<f64> {
    let n = rows.len();
    let t = threads().min(d).max(1);
    let mut cov = vec![0.0; d * d];
    let parts: Vec<Vec<(usize, Vec<f64>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..t)
            .map(|w| {
                s.spawn(move || {
                    let mine: Vec<usize> = (w..d).step_by(t).collect();
                    let mut acc: Vec<Vec<f64>> = mine.iter().map(|&i| vec![0.0; d - i]).collect();
                    let mut c = vec![0.0; d];
                    for &r in rows {
                        for ((ci, &x), m) in c.iter_mut().zip(&data[r * d..(r + 1) * d]).zip(mean) {
                            *ci = f64::from(x) - m;
                        }
                        for (a, &i) in acc.iter_mut().zip(&mine) {
                            let ci = c[i];
                            for (aj, cj) in a.iter_mut().zip(&c[i..]) {
                                *aj += ci * cj;
                            }
                        }
                    }
                    mine.into_iter().zip(acc).collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let div = if n > 1 { (n - 1) as f64 } else { 1.0 };
    for part in parts {
        for (i, row) in part {
            for (off, v) in row.into_iter().enumerate() {
                let j = i + off;
                cov[i * d + j] = v / div;
                cov[j * d + i] = v / div;
            }
        }
    }
    cov
}

/// Modified Gram–Schmidt on the `b` columns of `q` (row-major `d × b`), twice; a column
/// that vanishes is replaced by a fixed unit vector orthogonalised against the others.
fn orthonormalize(q: &mut [f64], d: usize, b: usize) {
    for _pass in 0..2 {
        for j in 0..b {
            for i in 0..j {
                let mut p = 0.0;
                for r in 0..d {
                    p += q[r * b + i] * q[r * b + j];
                }
                for r in 0..d {
                    q[r * b + j] -= p * q[r * b + i];
                }
            }
            let mut norm = 0.0;
            for r in 0..d {
                norm += q[r * b + j] * q[r * b + j];
            }
            let norm = norm.sqrt();
            if norm > 1e-300 {
                for r in 0..d {
                    q[r * b + j] /= norm;
                }
            } else {
                for r in 0..d {
                    q[r * b + j] = if r == j % d { 1.0 } else { 0.0 };
                }
            }
        }
    }
}

/// Symmetric `b × b` eigen-decomposition by cyclic Jacobi: (values descending, vectors as
/// columns of a row-major `b × b`). Ties keep the lower index first.
pub(crate) fn jacobi(a: &[f64], b: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; b * b];
    for i in 0..b {
        v[i * b + i] = 1.0;
    }
    for _sweep in 0..100 {
        let mut off = 0.0;
        let mut total = 0.0;
        for i in 0..b {
            for j in 0..b {
                let x = a[i * b + j] * a[i * b + j];
                total += x;
                if i != j {
                    off += x;
                }
            }
        }
        if off <= 1e-30 * total || off == 0.0 {
            break;
        }
        for p in 0..b {
            for q in p + 1..b {
                let apq = a[p * b + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * b + q] - a[p * b + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..b {
                    let akp = a[k * b + p];
                    let akq = a[k * b + q];
                    a[k * b + p] = c * akp - s * akq;
                    a[k * b + q] = s * akp + c * akq;
                }
                for k in 0..b {
                    let apk = a[p * b + k];
                    let aqk = a[q * b + k];
                    a[p * b + k] = c * apk - s * aqk;
                    a[q * b + k] = s * apk + c * aqk;
                }
                for k in 0..b {
                    let vkp = v[k * b + p];
                    let vkq = v[k * b + q];
                    v[k * b + p] = c * vkp - s * vkq;
                    v[k * b + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..b).collect();
    order.sort_by(|&x, &y| a[y * b + y].total_cmp(&a[x * b + x]).then(x.cmp(&y)));
    let values = order.iter().map(|&i| a[i * b + i]).collect();
    let mut vectors = vec![0.0; b * b];
    for (new, &old) in order.iter().enumerate() {
        for r in 0..b {
            vectors[r * b + new] = v[r * b + old];
        }
    }
    (values, vectors)
}

/// `c · q` for the symmetric `d × d` matrix `c` and the `d × b` block `q`.
fn mul_block(c: &[f64], q: &[f64], d: usize, b: usize) -> Vec<f64> {
    let mut z = vec![0.0; d * b];
    for i in 0..d {
        let row = &c[i * d..(i + 1) * d];
        let zi = &mut z[i * b..(i + 1) * b];
        for (r, &cir) in row.iter().enumerate() {
            if cir == 0.0 {
                continue;
            }
            for (zij, qrj) in zi.iter_mut().zip(&q[r * b..(r + 1) * b]) {
                *zij += cir * qrj;
            }
        }
    }
    z
}

/// Top `k` eigenpairs of the symmetric `d × d` matrix `c`: (values, row-major `k × d`).
fn top_eigen(c: &[f64], d: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
    let b = (k + EXTRA).min(d);
    let mut rng = SplitMix64::new(SEED);
    let mut q: Vec<f64> = (0..d * b).map(|_| rng.next_f64() - 0.5).collect();
    orthonormalize(&mut q, d, b);
    let mut prev: Vec<f64> = vec![f64::INFINITY; k];
    let mut ritz = (vec![0.0; b], vec![0.0; b * b]);
    for _ in 0..MAX_ITER {
        let z = mul_block(c, &q, d, b);
        // Rayleigh–Ritz: H = qᵀ c q, rotate q onto H's eigenvectors.
        let mut h = vec![0.0; b * b];
        for i in 0..b {
            for j in 0..b {
                let mut s = 0.0;
                for r in 0..d {
                    s += q[r * b + i] * z[r * b + j];
                }
                h[i * b + j] = s;
            }
        }
        for i in 0..b {
            for j in 0..i {
                let m = 0.5 * (h[i * b + j] + h[j * b + i]);
                h[i * b + j] = m;
                h[j * b + i] = m;
            }
        }
        ritz = jacobi(&h, b);
        let (vals, vecs) = &ritz;
        let scale = vals[0].abs().max(f64::MIN_POSITIVE);
        let converged = (0..k).all(|i| (vals[i] - prev[i]).abs() <= TOL * scale);
        prev.copy_from_slice(&vals[..k]);
        // Next block: c q rotated (z w), orthonormalised; on convergence keep q w.
        let src = if converged { &q } else { &z };
        let mut next = vec![0.0; d * b];
        for r in 0..d {
            for j in 0..b {
                let mut s = 0.0;
                for i in 0..b {
                    s += src[r * b + i] * vecs[i * b + j];
                }
                next[r * b + j] = s;
            }
        }
        if converged {
            q = next;
            break;
        }
        orthonormalize(&mut next, d, b);
        q = next;
    }
    // q's columns are (nearly) the Ritz vectors, in descending order of ritz values
    // from the last Rayleigh–Ritz step.
    let values: Vec<f64> = ritz.0[..k].to_vec();
    let mut comps = vec![0.0; k * d];
    for j in 0..k {
        let mut big = 0usize;
        for r in 0..d {
            if q[r * b + j].abs() > q[big * b + j].abs() {
                big = r;
            }
        }
        let sign = if q[big * b + j] < 0.0 { -1.0 } else { 1.0 };
        for r in 0..d {
            comps[j * d + r] = sign * q[r * b + j];
        }
    }
    (values, comps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::Normal as _;

    #[test]
    fn jacobi_diagonalises_a_small_matrix() {
        // [[2,1],[1,2]]: eigenvalues 3 and 1, vectors (1,1)/√2 and (1,−1)/√2.
        let (vals, vecs) = jacobi(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((vals[0] - 3.0).abs() < 1e-12 && (vals[1] - 1.0).abs() < 1e-12);
        assert!((vecs[0].abs() - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((vecs[0] * vecs[2] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn pca_finds_the_stretched_axes_with_fixed_signs() {
        // 3-d data stretched along x (σ 5), then y (σ 2), z (σ 0.1).
        let mut rng = SplitMix64::new(1);
        let n = 400;
        let mut data = Vec::new();
        for _ in 0..n {
            data.push((5.0 * rng.normal()) as f32);
            data.push((2.0 * rng.normal() + 1.0) as f32);
            data.push((0.1 * rng.normal()) as f32);
        }
        let rows: Vec<usize> = (0..n).collect();
        let pca = Pca::fit(&data, 3, &rows, 2);
        assert_eq!(pca.k(), 2);
        assert!(
            (pca.components[0] - 1.0).abs() < 1e-3,
            "{:?}",
            pca.components
        );
        assert!(
            (pca.components[4] - 1.0).abs() < 1e-3,
            "{:?}",
            pca.components
        );
        assert!(pca.variances[0] > 20.0 && pca.variances[1] > 3.0 && pca.variances[1] < 5.0);
        assert!((pca.mean[1] - 1.0).abs() < 0.3);
        let y = pca.transform(&data);
        assert_eq!(y.len(), n * 2);
        // Same bits when fitted again.
        let again = Pca::fit(&data, 3, &rows, 2);
        assert_eq!(format!("{pca:?}"), format!("{again:?}"));
        assert_eq!(y, again.transform(&data));
    }

    #[test]
    fn covariance_does_not_depend_on_the_thread_split() {
        let mut rng = SplitMix64::new(2);
        let d = 17;
        let data: Vec<f32> = (0..50 * d).map(|_| rng.normal() as f32).collect();
        let rows: Vec<usize> = (0..50).collect();
        let mean = vec![0.0; d];
        let c = covariance(&data, d, &rows, &mean);
        for i in 0..d {
            for j in 0..d {
                let mut s = 0.0;
                for &r in &rows {
                    s += f64::from(data[r * d + i]) * f64::from(data[r * d + j]);
                }
                assert_eq!(c[i * d + j], s / 49.0);
            }
        }
    }
}
