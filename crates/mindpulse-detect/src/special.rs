//! Special functions for the detectors' p-values and thresholds: the log-gamma function,
//! the regularized incomplete beta function, and the Student t distribution's CDF and
//! quantile built on it. Written here (no numeric dependency) to double precision: the
//! t CDF agrees with scipy's `stats.t.cdf` to about 1e-15 relative.

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms; reflection below 0.5). NaN for x ≤ 0.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x < 0.5 {
        // Γ(x) Γ(1 − x) = π / sin(πx)
        let s = (std::f64::consts::PI * x).sin();
        return std::f64::consts::PI.ln() - s.abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// ln B(a, b).
fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Continued fraction of the incomplete beta function (modified Lentz), as in Numerical
/// Recipes §6.4; converges quickly for x < (a + 1) / (a + b + 2).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=1000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b), given x and y = 1 − x separately so
/// that neither loses precision when the other is tiny.
pub fn inc_beta(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if a.is_nan() || b.is_nan() || x.is_nan() || y.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let ln_front = a * x.ln() + b * y.ln() - ln_beta(a, b);
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, y) / b
    }
}

/// P(T > |t|) for Student's t with `df` degrees of freedom: ½ I_{df/(df+t²)}(df/2, ½).
fn t_two_sided_half(t: f64, df: f64) -> f64 {
    let t2 = t * t;
    if t2.is_infinite() {
        return 0.0;
    }
    let x = df / (df + t2);
    let y = t2 / (df + t2);
    0.5 * inc_beta(0.5 * df, 0.5, x, y)
}

/// The CDF of Student's t distribution with `df` > 0 degrees of freedom (NaN otherwise).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    let tail = t_two_sided_half(t, df);
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The quantile function of Student's t (the inverse of [`t_cdf`]) for 0 < p < 1, by
/// bracketing and bisection to the last bit. NaN outside (0, 1) or for df ≤ 0.
pub fn t_ppf(p: f64, df: f64) -> f64 {
    if p.is_nan() || df.is_nan() || df <= 0.0 || p <= 0.0 || p >= 1.0 {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_ppf(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while t_cdf(hi, df) < p {
        lo = hi;
        hi *= 2.0;
        if hi > 1e300 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// `numpy.round(x, decimals)`: scale, round half to even, unscale.
pub fn np_round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round_ties_even() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_factorials_and_half() {
        // Γ(n) = (n − 1)!, Γ(½) = √π
        assert!(ln_gamma(1.0).abs() < 1e-14 && ln_gamma(2.0).abs() < 1e-14);
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-15));
        assert!(close(ln_gamma(11.0), 3_628_800f64.ln(), 1e-15));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-14
        ));
        assert!(close(ln_gamma(0.1), 2.252_712_651_734_206, 1e-14));
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan());
    }

    #[test]
    fn t_cdf_closed_forms() {
        // df = 1 is Cauchy: F(t) = ½ + atan(t)/π; df = 2: F(t) = ½ + t / (2 √(2 + t²)).
        for t in [-30.0, -3.0, -0.7, 0.0, 0.2, 1.0, 2.5, 12.0, 400.0] {
            let cauchy = 0.5 + f64::atan(t) / std::f64::consts::PI;
            assert!(close(t_cdf(t, 1.0), cauchy, 1e-13), "df 1, t {t}");
            let two = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
            assert!(close(t_cdf(t, 2.0), two, 1e-13), "df 2, t {t}");
        }
        // Upper tail for df = 2 without cancellation: 1 − F(t) = ½ (1 − t/√(2 + t²)).
        let t: f64 = 1e4;
        let tail = 0.5 * 2.0 / ((2.0 + t * t).sqrt() * ((2.0 + t * t).sqrt() + t));
        assert!(close(t_two_sided_half(t, 2.0), tail, 1e-12));
        assert_eq!(t_cdf(f64::INFINITY, 5.0), 1.0);
        assert_eq!(t_cdf(f64::NEG_INFINITY, 5.0), 0.0);
        assert!(t_cdf(f64::NAN, 5.0).is_nan() && t_cdf(1.0, 0.0).is_nan());
    }

    #[test]
    fn t_cdf_against_published_quantiles() {
        // Table values (e.g. Abramowitz & Stegun 26.10): t_{0.99, 10} = 2.763769, t_{0.975, 28} = 2.048407.
        assert!((t_cdf(2.763_769, 10.0) - 0.99).abs() < 1e-7);
        assert!((t_cdf(2.048_407, 28.0) - 0.975).abs() < 1e-7);
        assert!((t_ppf(0.99, 10.0) - 2.763_769).abs() < 1e-6);
        assert!((t_ppf(0.95, 1.0) - 6.313_752).abs() < 1e-6);
        assert!((t_ppf(0.025, 28.0) + 2.048_407).abs() < 1e-6);
        for df in [1.0, 3.0, 8.5, 28.0, 200.0] {
            for p in [0.01, 0.3, 0.5, 0.95, 0.999] {
                assert!(close(t_cdf(t_ppf(p, df), df), p, 1e-13), "df {df} p {p}");
            }
        }
        assert!(t_ppf(1.0, 3.0).is_nan() && t_ppf(0.0, 3.0).is_nan());
    }

    #[test]
    fn numpy_rounding() {
        assert_eq!(np_round(2.763_769_3, 5), 2.76377);
        assert_eq!(np_round(-1.234_565_1, 5), -1.23457);
        assert_eq!(np_round(0.5, 0), 0.0);
        assert_eq!(np_round(1.5, 0), 2.0);
    }
}
