//! Agreement between two labelings of the same posts, for evaluating topic models
//! against a reference (or against each other).

use std::collections::BTreeMap;

/// Normalized mutual information with the arithmetic-mean normalisation,
/// NMI = I(a; b) / ((H(a) + H(b)) / 2), natural logarithms, as scikit-learn's
/// `normalized_mutual_info_score(a, b)` (its default `average_method="arithmetic"`):
/// 1.0 when both labelings put everything in one class (or are empty), 0.0 when the
/// mutual information is 0. Every label value, −1 included, is a class of its own.
/// Panics never; slices of different lengths are compared over the shorter one.
pub fn nmi(a: &[i64], b: &[i64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut ca: BTreeMap<i64, usize> = BTreeMap::new();
    let mut cb: BTreeMap<i64, usize> = BTreeMap::new();
    let mut joint: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *ca.entry(x).or_insert(0) += 1;
        *cb.entry(y).or_insert(0) += 1;
        *joint.entry((x, y)).or_insert(0) += 1;
    }
    if ca.len() == cb.len() && ca.len() <= 1 {
        return 1.0;
    }
    let nf = n as f64;
    let mut mi = 0.0;
    for (&(x, y), &k) in &joint {
        let pxy = k as f64 / nf;
        let px = ca[&x] as f64 / nf;
        let py = cb[&y] as f64 / nf;
        mi += pxy * (pxy / (px * py)).ln();
    }
    if mi <= 0.0 {
        return 0.0;
    }
    let h = |c: &BTreeMap<i64, usize>| -> f64 {
        c.values()
            .map(|&k| k as f64 / nf)
            .map(|p| -p * p.ln())
            .sum()
    };
    let norm = (h(&ca) + h(&cb)) / 2.0;
    (mi / norm).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_and_renamed_labelings_score_one() {
        assert!((nmi(&[0, 0, 1, 1, 2], &[0, 0, 1, 1, 2]) - 1.0).abs() < 1e-12);
        assert!((nmi(&[0, 0, 1, 1, 2], &[5, 5, -1, -1, 7]) - 1.0).abs() < 1e-12);
        assert_eq!(nmi(&[3, 3, 3], &[1, 1, 1]), 1.0);
        assert_eq!(nmi(&[], &[]), 1.0);
    }

    #[test]
    fn independent_labelings_score_zero() {
        // Every a-class meets every b-class equally often: I = 0.
        assert_eq!(nmi(&[0, 0, 1, 1], &[0, 1, 0, 1]), 0.0);
        assert_eq!(nmi(&[0, 1, 2, 3], &[0, 0, 0, 0]), 0.0);
    }

    #[test]
    fn small_case_by_hand() {
        // a = [0,0,1,1], b = [0,0,0,1].
        // H(a) = ln 2 = 0.693147; H(b) = −(¾ ln ¾ + ¼ ln ¼) = 0.562335.
        // I = ½ ln(½/(½·¾)) + ¼ ln(¼/(½·¾)) + ¼ ln(¼/(½·¼))
        //   = ½ ln(4/3) + ¼ ln(2/3) + ¼ ln 2 = 0.215762.
        // NMI = 0.215762 / ((0.693147 + 0.562335) / 2) = 0.343711 (sklearn: 0.3437110184854508).
        assert!((nmi(&[0, 0, 1, 1], &[0, 0, 0, 1]) - 0.343_711_018_485_450_8).abs() < 1e-12);
        assert_eq!(
            nmi(&[0, 0, 1, 1], &[0, 0, 0, 1]),
            nmi(&[0, 0, 0, 1], &[0, 0, 1, 1])
        );
    }
}
