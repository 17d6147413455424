//! Small numeric helpers that give the same bits on every machine: a natural logarithm
//! built from IEEE-754 additions, multiplications and divisions only (the platform's
//! `ln` may differ in the last bit between C libraries), Euclidean distance summed in
//! index order, and a seeded SplitMix64 generator.

/// ln 2 to double precision.
const LN_2: f64 = std::f64::consts::LN_2;

/// Natural logarithm of a finite `x > 0`, correct to a few ulp and identical on every
/// IEEE-754 machine. `x ≤ 0` gives −∞ and NaN gives NaN, as `f64::ln` does.
pub fn ln(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    // x = m · 2^e with m in [1, 2); subnormals are scaled up first.
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= 2f64.powi(64);
        e -= 64;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // Keep m in [√½, √2) so that s below is at most 0.172.
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m − 1)/(m + 1): s + s³/3 + s⁵/5 + …; 0.172^2k / (2k+1)
    // falls below 2^-53 relative by k = 11.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    for _ in 0..12 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + e as f64 * LN_2
}

/// Squared Euclidean distance of two equal-length rows, summed in index order.
pub fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let d = x - y;
        s += d * d;
    }
    s
}

/// The seeded generator of `mindpulse-network` (SplitMix64): the whole output is fixed by
/// the seed.
pub use mindpulse_network::rng::SplitMix64;

/// Standard normal draws (Box–Muller, using this crate's [`ln`] and the platform's `sqrt`,
/// `cos`: for tests and synthetic data, not for model output).
pub trait Normal {
    fn normal(&mut self) -> f64;
}

impl Normal for SplitMix64 {
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * ln(u1)).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_std_to_a_few_ulp() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..10_000 {
            let x = f64::from_bits(rng.next_u64() >> 2); // positive, wide range
            if !x.is_finite() || x == 0.0 {
                continue;
            }
            let (a, b) = (ln(x), x.ln());
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * b.abs().max(1.0),
                "{x}: {a} vs {b}"
            );
        }
        for x in [1.0, 2.0, 0.5, 10.0, 1e-300, 5e-324, 1.0 + 1e-15, 0.9999999] {
            assert!(
                (ln(x) - x.ln()).abs() <= 4.0 * f64::EPSILON * x.ln().abs().max(1e-15),
                "{x}"
            );
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(f64::NAN).is_nan());
    }
}
