//! Initial states, computed as statsforecast's `initstate` (after R forecast's): a classical
//! decomposition (statsmodels' `seasonal_decompose`: centred moving average, seasonal means
//! of the detrended series, normalised) when there are three seasons or more, a regression
//! on a linear trend and one Fourier pair for shorter series; then the level (and slope) from
//! a least-squares line through the first max(10, 2m) seasonally adjusted values.
//! The optimiser starts from these values and refines them with the parameters.

use crate::model::Kind;

/// Least squares for a few columns through the normal equations (solved by Gaussian
/// elimination with partial pivoting). `None` when the system is singular.
pub(crate) fn lstsq(cols: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let k = cols.len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for i in 0..k {
        for j in 0..k {
            a[i][j] = cols[i].iter().zip(&cols[j]).map(|(u, v)| u * v).sum();
        }
        a[i][k] = cols[i].iter().zip(y).map(|(u, v)| u * v).sum();
    }
    for c in 0..k {
        let p = (c..k).max_by(|&r, &s| a[r][c].abs().total_cmp(&a[s][c].abs()))?;
        if a[p][c].abs() < 1e-12 * (1.0 + a[c][c].abs()) || !a[p][c].is_finite() {
            return None;
        }
        a.swap(c, p);
        for r in 0..k {
            if r != c {
                let f = a[r][c] / a[c][c];
                let pivot = a[c].clone();
                for (v, p) in a[r].iter_mut().zip(&pivot).skip(c) {
                    *v -= f * p;
                }
            }
        }
    }
    Some((0..k).map(|i| a[i][k] / a[i][i]).collect())
}

/// Classical decomposition: the periodic seasonal component of `y` (length n) for period
/// `m`, additive (centred on 0) or multiplicative (centred on 1). Needs n ≥ 2m.
fn decompose(y: &[f64], m: usize, mult: bool) -> Vec<f64> {
    let n = y.len();
    // Centred moving average: 2×m for even m, m for odd m.
    let filt: Vec<f64> = if m.is_multiple_of(2) {
        let mut f = vec![1.0 / m as f64; m + 1];
        f[0] = 0.5 / m as f64;
        f[m] = 0.5 / m as f64;
        f
    } else {
        vec![1.0 / m as f64; m]
    };
    let half = (filt.len() - 1) / 2;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n.saturating_sub(filt.len() - 1 - half) {
        let trend: f64 = filt
            .iter()
            .enumerate()
            .map(|(k, w)| w * y[t + k - half])
            .sum();
        let d = if mult { y[t] / trend } else { y[t] - trend };
        if d.is_finite() {
            sums[t % m] += d;
            counts[t % m] += 1;
        }
    }
    let mut avg: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
        .collect();
    let mean = avg.iter().sum::<f64>() / m as f64;
    for a in &mut avg {
        if mult {
            *a /= mean;
        } else {
            *a -= mean;
        }
    }
    (0..n).map(|t| avg[t % m]).collect()
}

/// Initial state `[ℓ, b?, s_0, …, s_{m−2}]` (the last seasonal state is implied by the
/// normalisation Σs = 0 or Σs = m). `None` when the data cannot give one (e.g. a
/// multiplicative season on non-positive values, or a singular regression).
pub(crate) fn initial_state(y: &[f64], m: usize, trend: Kind, season: Kind) -> Option<Vec<f64>> {
    let n = y.len();
    let mut state = Vec::new();
    let mut init_seas = Vec::new();
    let mut m_eff = 1;
    let y_sa: Vec<f64> = if season != Kind::None {
        m_eff = m;
        let mult = season == Kind::Multiplicative;
        if n < 4 || m < 2 || n < 2 * m {
            return None;
        }
        if mult && y.iter().any(|v| *v <= 0.0) {
            return None;
        }
        let seasonal: Vec<f64> = if n < 3 * m {
            // Regression on 1, t and one Fourier pair (t = 1..n).
            let t: Vec<f64> = (1..=n).map(|t| t as f64).collect();
            let w = 2.0 * std::f64::consts::PI / m as f64;
            let mut cols = vec![vec![1.0; n], t.clone()];
            cols.push(t.iter().map(|t| (w * t).cos()).collect());
            if m > 2 {
                cols.push(t.iter().map(|t| (w * t).sin()).collect());
            }
            let c = lstsq(&cols, y)?;
            y.iter()
                .zip(&t)
                .map(|(v, t)| {
                    if mult {
                        v / (c[0] + c[1] * t)
                    } else {
                        v - c[0] - c[1] * t
                    }
                })
                .collect()
        } else {
            decompose(y, m, mult)
        };
        if seasonal.iter().any(|v| !v.is_finite()) {
            return None;
        }
        init_seas = seasonal[1..m].iter().rev().copied().collect();
        if mult {
            for s in &mut init_seas {
                *s = s.max(1e-2);
            }
            let sum: f64 = init_seas.iter().sum();
            if sum > m as f64 {
                let d: f64 = init_seas.iter().map(|s| s + 1e-2).sum();
                for s in &mut init_seas {
                    *s /= d;
                }
            }
            y.iter()
                .zip(&seasonal)
                .map(|(v, s)| v / s.max(1e-2))
                .collect()
        } else {
            y.iter().zip(&seasonal).map(|(v, s)| v - s).collect()
        }
    } else {
        y.to_vec()
    };
    let maxn = (10usize.max(2 * m_eff)).min(n);
    if trend == Kind::None {
        state.push(y_sa[..maxn].iter().sum::<f64>() / maxn as f64);
    } else {
        if maxn < 2 {
            return None;
        }
        let t: Vec<f64> = (1..=maxn).map(|t| t as f64).collect();
        let c = lstsq(&[vec![1.0; maxn], t], &y_sa[..maxn])?;
        let (mut l0, mut b0) = (c[0], c[1]);
        // With multiplicative errors ℓ0 + b0 must not be 0.
        if (l0 + b0).abs() < 1e-8 {
            l0 *= 1.0 + 1e-3;
            b0 *= 1.0 - 1e-3;
        }
        state.push(l0);
        state.push(b0);
    }
    state.extend(init_seas);
    state.iter().all(|v| v.is_finite()).then_some(state)
}
