//! Parameter space: the "usual" bounds (0.0001 ≤ α, β, γ ≤ 0.9999, β ≤ α, γ ≤ 1 − α,
//! 0.8 ≤ φ ≤ 0.98), the admissible region of Hyndman et al. (2008, ch. 10) and the starting
//! values, all as statsforecast's `initparam`, `check_param` and `admissible` (R forecast's
//! `bounds = "both"`). Admissibility of seasonal models asks that the roots of the
//! characteristic polynomial lie in the unit disc; instead of computing the roots (numpy's
//! `polyroots`) this module runs the Schur–Cohn recursion, which decides the same thing.

/// Lower bounds of α, β, γ, φ.
pub(crate) const LOWER: [f64; 4] = [1e-4, 1e-4, 1e-4, 0.8];
/// Upper bounds of α, β, γ, φ.
pub(crate) const UPPER: [f64; 4] = [0.9999, 0.9999, 0.9999, 0.98];

/// Starting values and the bounds the optimiser keeps them in, for a model with the given
/// components and season length `m` (1 when non-seasonal): α = lower + 0.2·range/m,
/// β = lower + 0.1·range with the upper bound of β lowered to α, γ = lower + 0.05·range
/// with the upper bound of γ lowered to 1 − α, φ = lower + 0.99·range.
pub(crate) struct Start {
    pub alpha: f64,
    pub beta: Option<f64>,
    pub gamma: Option<f64>,
    pub phi: Option<f64>,
    pub lower: [f64; 4],
    pub upper: [f64; 4],
}

pub(crate) fn start(trend: bool, season: bool, damped: bool, m: usize) -> Start {
    let (lower, mut upper) = (LOWER, UPPER);
    let mut alpha = lower[0] + 0.2 * (upper[0] - lower[0]) / m.max(1) as f64;
    if !(0.0..=1.0).contains(&alpha) {
        alpha = lower[0] + 2e-3;
    }
    let beta = trend.then(|| {
        upper[1] = upper[1].min(alpha);
        let b = lower[1] + 0.1 * (upper[1] - lower[1]);
        if b < 0.0 || b > alpha {
            alpha - 1e-3
        } else {
            b
        }
    });
    let gamma = season.then(|| {
        upper[2] = upper[2].min(1.0 - alpha);
        let g = lower[2] + 0.05 * (upper[2] - lower[2]);
        if g < 0.0 || g > 1.0 - alpha {
            1.0 - alpha - 1e-3
        } else {
            g
        }
    });
    let phi = damped.then(|| lower[3] + 0.99 * (upper[3] - lower[3]));
    Start {
        alpha,
        beta,
        gamma,
        phi,
        lower,
        upper,
    }
}

/// The usual bounds (with β ≤ α, γ ≤ 1 − α) and admissibility, as `check_param` with
/// `bounds = "both"`.
#[cfg(test)]
pub(crate) fn valid(
    alpha: f64,
    beta: Option<f64>,
    gamma: Option<f64>,
    phi: Option<f64>,
    m: usize,
) -> bool {
    Checker::new(m).valid(alpha, beta, gamma, phi)
}

/// Radius of the disc the characteristic roots must lie in (statsforecast's 1 + 1e−10).
const RADIUS: f64 = 1.0 + 1e-10;

/// [`valid`] for one season length with its scratch space kept between calls: the
/// optimiser asks it at every step, and the Schur–Cohn recursion of a seasonal model
/// would otherwise allocate a few vectors each time. Same arithmetic, same answers.
pub(crate) struct Checker {
    m: usize,
    /// RADIUS^k for k = 0 … m + 1.
    pow: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Checker {
    pub(crate) fn new(m: usize) -> Checker {
        Checker {
            m,
            pow: (0..m + 2).map(|k| RADIUS.powi(k as i32)).collect(),
            a: Vec::with_capacity(m + 2),
            b: Vec::with_capacity(m + 2),
        }
    }

    /// The usual bounds (with β ≤ α, γ ≤ 1 − α) and admissibility, as `check_param` with
    /// `bounds = "both"`.
    pub(crate) fn valid(
        &mut self,
        alpha: f64,
        beta: Option<f64>,
        gamma: Option<f64>,
        phi: Option<f64>,
    ) -> bool {
        if !(LOWER[0]..=UPPER[0]).contains(&alpha) {
            return false;
        }
        if let Some(b) = beta {
            if b < LOWER[1] || b > alpha || b > UPPER[1] {
                return false;
            }
        }
        if let Some(p) = phi {
            if !(LOWER[3]..=UPPER[3]).contains(&p) {
                return false;
            }
        }
        if let Some(g) = gamma {
            if g < LOWER[2] || g > 1.0 - alpha || g > UPPER[2] {
                return false;
            }
        }
        self.admissible(alpha, beta, gamma, phi)
    }

    /// The admissible region (Hyndman et al. 2008, §10.2): the model forecasts are stable.
    pub(crate) fn admissible(
        &mut self,
        alpha: f64,
        beta: Option<f64>,
        gamma: Option<f64>,
        phi: Option<f64>,
    ) -> bool {
        let m = self.m;
        let phi = phi.unwrap_or(1.0);
        if !(0.0..=1.0 + 1e-8).contains(&phi) {
            return false;
        }
        match gamma {
            None => {
                if alpha < 1.0 - 1.0 / phi || alpha > 1.0 + 1.0 / phi {
                    return false;
                }
                if let Some(beta) = beta {
                    if beta < alpha * (phi - 1.0) || beta > (1.0 + phi) * (2.0 - alpha) {
                        return false;
                    }
                }
                true
            }
            Some(gamma) if m > 1 => {
                let beta = beta.unwrap_or(0.0);
                let mf = m as f64;
                if gamma < (1.0 - 1.0 / phi - alpha).max(0.0) || gamma > 1.0 + 1.0 / phi - alpha {
                    return false;
                }
                if alpha < 1.0 - 1.0 / phi - gamma * (1.0 - mf + phi + phi * mf) / (2.0 * phi * mf)
                {
                    return false;
                }
                if beta < -(1.0 - phi) * (gamma / mf + alpha) {
                    return false;
                }
                // Characteristic polynomial, coefficients of z^0 … z^(m+1), evaluated at
                // RADIUS·z.
                let mid = alpha + beta - alpha * phi;
                let a = &mut self.a;
                a.clear();
                a.push(phi * (1.0 - alpha - gamma) * self.pow[0]);
                a.push((alpha + beta - alpha * phi + gamma - 1.0) * self.pow[1]);
                a.extend((2..m).map(|k| mid * self.pow[k]));
                a.push((alpha + beta - phi) * self.pow[m]);
                a.push(self.pow[m + 1]);
                schur_cohn(&mut self.a, &mut self.b)
            }
            Some(_) => true,
        }
    }
}

/// Whether every root of Σ p_k z^k (real coefficients, increasing powers) has modulus below
/// `radius`: the Schur–Cohn test applied to p(radius·z).
#[cfg(test)]
pub(crate) fn roots_in_disc(p: &[f64], radius: f64) -> bool {
    let mut a: Vec<f64> = p
        .iter()
        .enumerate()
        .map(|(k, c)| c * radius.powi(k as i32))
        .collect();
    schur_cohn(&mut a, &mut Vec::new())
}

/// The Schur–Cohn recursion on the polynomial with coefficients `a` (increasing powers):
/// whether all its roots lie inside the unit disc. `a` and `b` are scratch space.
fn schur_cohn(a: &mut Vec<f64>, b: &mut Vec<f64>) -> bool {
    while a.len() > 1 && a.last() == Some(&0.0) {
        a.pop();
    }
    let mut len = a.len();
    b.clear();
    b.resize(len, 0.0);
    let (mut a, mut b) = (&mut a[..], &mut b[..]);
    while len > 1 {
        let n = len - 1;
        let (a0, an) = (a[0], a[n]);
        if a0.abs() >= an.abs() || an.is_nan() || a0.is_nan() {
            return false;
        }
        // q(z) = (a_n p(z) − a_0 p*(z)) / z, p*(z) = z^n p(1/z); and the largest
        // |coefficient|, NaNs ignored (as f64::max does), over four running maxima: the
        // same value as one serial fold, without its dependency chain.
        let (src, dst) = (&a[..len], &mut b[..n]);
        let mut mx = [0.0_f64; 4];
        for (k, q) in dst.iter_mut().enumerate() {
            let v = an * src[k + 1] - a0 * src[n - 1 - k];
            *q = v;
            let s = &mut mx[k & 3];
            if v.abs() > *s {
                *s = v.abs();
            }
        }
        let scale = mx.iter().fold(0.0_f64, |s, c| s.max(*c));
        if !(scale > 0.0 && scale.is_finite()) {
            return false;
        }
        for q in dst.iter_mut() {
            *q /= scale;
        }
        std::mem::swap(&mut a, &mut b);
        len = n;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schur_cohn_matches_known_roots() {
        // (z − 0.5)(z + 0.9) = z² + 0.4z − 0.45: inside.
        assert!(roots_in_disc(&[-0.45, 0.4, 1.0], 1.0));
        // (z − 1.1)(z + 0.2) = z² − 0.9z − 0.22: one root outside.
        assert!(!roots_in_disc(&[-0.22, -0.9, 1.0], 1.0));
        // z² + 1 (roots ±i, on the circle) is inside a slightly larger disc only.
        assert!(!roots_in_disc(&[1.0, 0.0, 1.0], 1.0));
        assert!(roots_in_disc(&[1.0, 0.0, 1.0], 1.0 + 1e-6));
        // Complex pair 0.5 ± 0.5i: z² − z + 0.5.
        assert!(roots_in_disc(&[0.5, -1.0, 1.0], 1.0));
    }

    #[test]
    fn usual_starting_values_are_valid() {
        for m in [1usize, 4, 7, 12] {
            let s = start(true, m > 1, true, m);
            let g = s.gamma;
            assert!(valid(s.alpha, s.beta, g, s.phi, m), "m={m}");
        }
    }
}
