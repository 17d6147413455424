//! The standard normal distribution: its CDF and the two-sided quantile of an interval level.
//!
//! Φ is computed from its Taylor series near zero and from the continued fraction of Mills'
//! ratio in the tails (both to about 1e-15); the quantile is found by safeguarded Newton
//! steps, so no tabulated approximation is needed.

use std::f64::consts::PI;

/// Density of the standard normal distribution.
fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// Upper tail Q(x) = 1 − Φ(x) for x ≥ 0.
fn upper_tail(x: f64) -> f64 {
    if x < 3.0 {
        // Φ(x) = 1/2 + φ(x) Σ x^(2k+1) / (1·3·…·(2k+1)): positive terms, no cancellation.
        let mut term = x;
        let mut sum = x;
        let mut k = 1.0;
        while term.abs() > 1e-17 * sum.abs() && k < 500.0 {
            term *= x * x / (2.0 * k + 1.0);
            sum += term;
            k += 1.0;
        }
        0.5 - pdf(x) * sum
    } else {
        // Mills' ratio R(x) = 1 / (x + 1/(x + 2/(x + 3/(x + …)))), evaluated bottom-up.
        let mut f = x;
        for k in (1..=60).rev() {
            f = x + k as f64 / f;
        }
        pdf(x) / f
    }
}

/// The standard normal CDF Φ(x).
pub fn cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x >= 0.0 {
        1.0 - upper_tail(x)
    } else {
        upper_tail(-x)
    }
}

/// The z of a central interval of `level` percent: Φ(z) = 1/2 + level/200 (1.2816 for 80,
/// 1.9600 for 95). `level` must lie in (0, 100); outside it the result is NaN.
pub fn interval_z(level: f64) -> f64 {
    if !(level > 0.0 && level < 100.0) {
        return f64::NAN;
    }
    // Solve Q(z) = tail for z ≥ 0.
    let tail = 0.5 - level / 200.0;
    let (mut lo, mut hi) = (0.0_f64, 40.0_f64);
    let mut z = 1.0;
    for _ in 0..200 {
        let q = upper_tail(z);
        if q > tail {
            lo = z;
        } else {
            hi = z;
        }
        // Newton step on Q(z) − tail (Q' = −φ); fall back to bisection when it leaves [lo, hi].
        let step = (q - tail) / pdf(z);
        let mut next = z + step;
        if !(next > lo && next < hi && next.is_finite()) {
            next = 0.5 * (lo + hi);
        }
        if (next - z).abs() <= 1e-15 * z.abs().max(1.0) {
            return next;
        }
        z = next;
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_quantiles() {
        assert!((interval_z(95.0) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((interval_z(80.0) - 1.281_551_565_544_600_5).abs() < 1e-12);
        assert!((interval_z(99.0) - 2.575_829_303_548_901).abs() < 1e-12);
        assert!(interval_z(0.0).is_nan() && interval_z(100.0).is_nan());
        assert!((cdf(-3.5) - 2.326_290_790_355_25e-4).abs() < 1e-15);
        assert!((cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-14);
    }
}
