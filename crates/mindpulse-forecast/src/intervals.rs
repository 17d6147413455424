//! Forecast variances of ETS models (Hyndman et al. 2008, ch. 6), by the class of the model:
//!
//! - class 1, additive errors (ETS(A,·,N/A)): v_h = σ²(1 + Σ_{j<h} c_j²), exact;
//! - class 2, multiplicative errors without multiplicative season: θ_1 = μ_1²,
//!   θ_h = μ_h² + σ² Σ_{j<h} c_j² θ_{h−j}, v_h = (1 + σ²)θ_h − μ_h², exact;
//!
//!   with c_j = α + β(φ + … + φ^j) + γ·[j ≡ 0 mod m] for both (Table 6.2 of the book; R and
//!   statsforecast write out the same values case by case, statsforecast with a slip in
//!   ETS(M,A,A), α·β·j for α + β·j);
//! - class 3, multiplicative errors and season (ETS(M,·,M)): the second-moment recursion of
//!   §6.4 on vec(x_trend x_seasonᵀ), written as R forecast's `class3models` does.

use crate::model::{Filter, Kind};

/// Variances of the forecast errors for steps 1..=mean.len().
pub(crate) fn variances(f: &Filter, last: &[f64], mean: &[f64], sigma2: f64) -> Vec<f64> {
    let h = mean.len();
    if sigma2 == 0.0 {
        return vec![0.0; h];
    }
    let mult_err = f.spec.error == Kind::Multiplicative;
    if mult_err && f.spec.season == Kind::Multiplicative {
        return class3(f, last, h, sigma2);
    }
    let trended = f.spec.trend != Kind::None;
    let seasonal = f.spec.season != Kind::None;
    let mut phi_sum = 0.0;
    let mut phi_pow = 1.0;
    let c: Vec<f64> = (1..h)
        .map(|j| {
            phi_pow *= f.phi;
            phi_sum += phi_pow;
            let mut cj = f.alpha;
            if trended {
                cj += f.beta * phi_sum;
            }
            if seasonal && j % f.m == 0 {
                cj += f.gamma;
            }
            cj
        })
        .collect();
    if !mult_err {
        let mut acc = 1.0;
        let mut out = Vec::with_capacity(h);
        out.push(sigma2);
        for cj in &c {
            acc += cj * cj;
            out.push(sigma2 * acc);
        }
        return out;
    }
    let mut theta: Vec<f64> = Vec::with_capacity(h);
    for k in 0..h {
        let s: f64 = (0..k).map(|i| c[i] * c[i] * theta[k - 1 - i]).sum();
        theta.push(mean[k] * mean[k] + sigma2 * s);
    }
    theta
        .iter()
        .zip(mean)
        .map(|(t, mu)| (1.0 + sigma2) * t - mu * mu)
        .collect()
}

/// A dense row-major matrix, just enough for class 3.
#[derive(Clone)]
struct Mat {
    r: usize,
    c: usize,
    d: Vec<f64>,
}

impl Mat {
    fn zeros(r: usize, c: usize) -> Mat {
        Mat {
            r,
            c,
            d: vec![0.0; r * c],
        }
    }
    fn at(&self, i: usize, j: usize) -> f64 {
        self.d[i * self.c + j]
    }
    fn set(&mut self, i: usize, j: usize, v: f64) {
        self.d[i * self.c + j] = v;
    }
    fn mul(&self, o: &Mat) -> Mat {
        let mut out = Mat::zeros(self.r, o.c);
        for i in 0..self.r {
            for k in 0..self.c {
                let a = self.at(i, k);
                if a != 0.0 {
                    for j in 0..o.c {
                        out.d[i * o.c + j] += a * o.d[k * o.c + j];
                    }
                }
            }
        }
        out
    }
    fn t(&self) -> Mat {
        let mut out = Mat::zeros(self.c, self.r);
        for i in 0..self.r {
            for j in 0..self.c {
                out.set(j, i, self.at(i, j));
            }
        }
        out
    }
    fn kron(&self, o: &Mat) -> Mat {
        let mut out = Mat::zeros(self.r * o.r, self.c * o.c);
        for i in 0..self.r {
            for j in 0..self.c {
                for k in 0..o.r {
                    for l in 0..o.c {
                        out.set(i * o.r + k, j * o.c + l, self.at(i, j) * o.at(k, l));
                    }
                }
            }
        }
        out
    }
    fn add(&self, o: &Mat, s: f64) -> Mat {
        Mat {
            r: self.r,
            c: self.c,
            d: self.d.iter().zip(&o.d).map(|(a, b)| a + s * b).collect(),
        }
    }
    fn scale(&self, s: f64) -> Mat {
        Mat {
            r: self.r,
            c: self.c,
            d: self.d.iter().map(|a| a * s).collect(),
        }
    }
}

/// Class 3 variances (ETS(M,N,M), ETS(M,A,M), ETS(M,Ad,M)).
fn class3(f: &Filter, last: &[f64], h: usize, s2: f64) -> Vec<f64> {
    let m = f.m;
    let trended = f.spec.trend != Kind::None;
    let p1 = 1 + usize::from(trended);
    let mut h1 = Mat::zeros(1, p1);
    h1.d.iter_mut().for_each(|v| *v = 1.0);
    let mut f1 = Mat::zeros(p1, p1);
    let mut g1 = Mat::zeros(p1, p1);
    if trended {
        f1.d = vec![1.0, 1.0, 0.0, f.phi];
        g1.d = vec![f.alpha, f.alpha, f.beta, f.beta];
    } else {
        f1.d = vec![1.0];
        g1.d = vec![f.alpha];
    }
    let mut h2 = Mat::zeros(1, m);
    h2.set(0, m - 1, 1.0);
    let mut f2 = Mat::zeros(m, m);
    f2.set(0, m - 1, 1.0);
    for i in 1..m {
        f2.set(i, i - 1, 1.0);
    }
    let mut g2 = Mat::zeros(m, m);
    g2.set(0, m - 1, f.gamma);
    // Mh = x_trend x_seasonᵀ.
    let mut mh = Mat::zeros(p1, m);
    for i in 0..p1 {
        for j in 0..m {
            mh.set(i, j, last[i] * last[p1 + j]);
        }
    }
    let d = p1 * m;
    let mut vh = Mat::zeros(d, d);
    let h21 = h2.kron(&h1);
    let f21 = f2.kron(&f1);
    let g21 = g2.kron(&g1);
    let k = g2.kron(&f1).add(&f2.kron(&g1), 1.0);
    let (f21t, g21t, kt, h21t, h2t) = (f21.t(), g21.t(), k.t(), h21.t(), h2.t());
    let (f2t, g2t) = (f2.t(), g2.t());
    let mut out = Vec::with_capacity(h);
    for _ in 0..h {
        let mu = h1.mul(&mh).mul(&h2t).d[0];
        let v = (1.0 + s2) * h21.mul(&vh).mul(&h21t).d[0] + s2 * mu * mu;
        out.push(v);
        // vec(Mh), column-major, as a column; and its outer product.
        let mut vec = Mat::zeros(d, 1);
        for j in 0..m {
            for i in 0..p1 {
                vec.d[j * p1 + i] = mh.at(i, j);
            }
        }
        let outer = vec.mul(&vec.t());
        let e1 = f21.mul(&vh).mul(&f21t);
        let e2 = f21.mul(&vh).mul(&g21t);
        let e3 = g21.mul(&vh).mul(&f21t);
        let e4 = k.mul(&vh.add(&outer, 1.0)).mul(&kt);
        let e5 = g21
            .mul(&vh.scale(3.0).add(&outer, 2.0))
            .mul(&g21t)
            .scale(s2);
        vh = e1.add(&e2.add(&e3, 1.0).add(&e4, 1.0).add(&e5, 1.0), s2);
        mh = f1.mul(&mh).mul(&f2t).add(&g1.mul(&mh).mul(&g2t), s2);
    }
    out
}
