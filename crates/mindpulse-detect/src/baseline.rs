//! Moving-baseline arithmetic shared by the detectors: the window of days a detector
//! compares today with, and its mean and sample standard deviation.

/// Mean of `v` (NaN when empty or when any value is NaN).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (n − 1 in the denominator, as numpy's `ddof=1` and R's `sd`);
/// NaN for fewer than two values.
pub fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = mean(v);
    let ss: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (v.len() - 1) as f64).sqrt()
}

/// The baseline window for day `t`: the `len` days ending `guard` days before `t`
/// (days t − guard − len … t − guard − 1), or None when the series does not reach back
/// that far.
pub fn window(values: &[f64], t: usize, len: usize, guard: usize) -> Option<&[f64]> {
    let end = t.checked_sub(guard)?;
    let start = end.checked_sub(len)?;
    values.get(start..end)
}

/// `(x − mean) / sigma`, with the convention for a zero sigma (a constant baseline):
/// +∞ when x is above the mean, −∞ below it, 0 when equal. NaN stays NaN.
pub fn standardize(x: f64, mean: f64, sigma: f64) -> f64 {
    if sigma > 0.0 {
        return (x - mean) / sigma;
    }
    if x.is_nan() || mean.is_nan() || sigma.is_nan() {
        return f64::NAN;
    }
    if x > mean {
        f64::INFINITY
    } else if x < mean {
        f64::NEG_INFINITY
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_sd_window() {
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&v), 5.0);
        // Σ(x − 5)² = 32, / 7
        assert!((sd(&v) - (32.0f64 / 7.0).sqrt()).abs() < 1e-15);
        assert!(mean(&[]).is_nan() && sd(&[1.0]).is_nan());
        assert_eq!(window(&v, 7, 3, 2), Some(&v[2..5]));
        assert_eq!(window(&v, 4, 3, 2), None);
        assert_eq!(window(&v, 9, 3, 0), None);
    }

    #[test]
    fn standardize_zero_sigma() {
        assert_eq!(standardize(5.0, 3.0, 2.0), 1.0);
        assert_eq!(standardize(5.0, 3.0, 0.0), f64::INFINITY);
        assert_eq!(standardize(1.0, 3.0, 0.0), f64::NEG_INFINITY);
        assert_eq!(standardize(3.0, 3.0, 0.0), 0.0);
        assert!(standardize(f64::NAN, 3.0, 0.0).is_nan());
    }
}
