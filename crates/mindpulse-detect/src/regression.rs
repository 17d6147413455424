//! ESSENCE's adaptive multiple regression, exactly as pynssp 0.1.0 `alert_regression`
//! computes it for a daily series.
//!
//! For each day, an ordinary least-squares model with an intercept, a linear trend
//! (time 1 … L) and six day-of-week indicators (Monday … Saturday; Sunday is the
//! reference) is fitted to a baseline of L days ending `guard` (2) days before today.
//! L starts at 11 (first tested day: 11 + guard) and grows by a day each day up to
//! `baseline` (28). Today's forecast is the fit at time L + guard + 1 on today's weekday,
//! floored at 0 (`expected`). With n_df = L − 8 residual degrees of freedom and
//! MSE the residual mean square:
//!
//! - σ = max( √MSE · √((L + 7)(L − 4) / (L (L − 7))), 1.01 / round(t⁻¹(0.95, n_df + 1), 5) )
//!   (pynssp's closed form for the prediction error, and its floor, indexed one degree of
//!   freedom up as pynssp indexes it);
//! - t = (x − expected) / σ, p = 1 − F_{t, n_df}(t); alert when p < 0.01, warning when
//!   0.01 ≤ p < 0.05.
//!
//! ESSENCE's federal-holiday terms (Regression 1.2) are not included, as in pynssp.
//!
//! **Without weekdays** (a weekly or monthly series, or a daily one given without them) the
//! model has only the intercept and the trend: n_df = L − 2 and σ is the exact standard
//! error of a prediction h = guard + 1 steps past the window,
//! √MSE · √(1 + 1/L + (L + h − (L + 1)/2)² / (L (L² − 1)/12)), with the same kind of
//! floor, 1.01 / round(t⁻¹(0.95, n_df), 5). pynssp itself cannot run without weekdays (it
//! reads them from the dates and fails unless all seven occur).
//!
//! A baseline the model cannot be fitted to (rank-deficient design: weekdays that are not
//! those of consecutive days) gives a point without a statistic. Weekdays of the wrong
//! length or out of range give no statistic anywhere (see [`Input::check`]).

use crate::params::{ensure, ensure_p_thresholds, Params};
use crate::special::{np_round, t_cdf, t_ppf};
use crate::{level_from_p, num, DetectError, Detector, Input, Point};
use serde_json::json;

const MIN_BASELINE: usize = 11;

/// The regression detector and its parameters (defaults: pynssp's).
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// B: full baseline length in days, a multiple of 7, at least 14 (28).
    pub baseline: usize,
    /// g: days between the baseline and today (2).
    pub guard: usize,
    /// Warning when p < this (0.05).
    pub warning_p: f64,
    /// Alert when p < this (0.01).
    pub alert_p: f64,
}

impl Default for Regression {
    fn default() -> Self {
        Self {
            baseline: 28,
            guard: 2,
            warning_p: 0.05,
            alert_p: 0.01,
        }
    }
}

impl Regression {
    /// From JSON parameters `baseline`, `guard`, `warning_p`, `alert_p`.
    pub fn from_params(v: &serde_json::Value) -> Result<Self, DetectError> {
        let p = Params::new(
            "regression",
            v,
            &["baseline", "guard", "warning_p", "alert_p"],
        )?;
        let d = Self::default();
        let out = Self {
            baseline: p.usize("baseline", d.baseline)?,
            guard: p.usize("guard", d.guard)?,
            warning_p: p.f64("warning_p", d.warning_p)?,
            alert_p: p.f64("alert_p", d.alert_p)?,
        };
        // pynssp rejects B < 7 and B not a multiple of 7; with B = 7 its window (10 days)
        // and its time index (7) disagree and it fails, so 14 is the least that works.
        ensure(
            out.baseline >= 14 && out.baseline.is_multiple_of(7) && out.baseline <= 3640,
            "regression",
            "baseline",
            "must be a multiple of 7 from 14 to 3640 days",
        )?;
        ensure(
            out.guard <= 365,
            "regression",
            "guard",
            "must be at most 365 days",
        )?;
        ensure_p_thresholds("regression", out.warning_p, out.alert_p)?;
        Ok(out)
    }
}

/// Least squares by Householder QR: the coefficients and the residual sum of squares, or
/// None when the design is (numerically) rank-deficient. `x` is row-major, n × k, n > k.
pub(crate) fn least_squares(x: &[f64], y: &[f64], k: usize) -> Option<(Vec<f64>, f64)> {
    let n = y.len();
    if n <= k || x.len() != n * k {
        return None;
    }
    let mut a = x.to_vec();
    let mut b = y.to_vec();
    let scale: f64 = a.iter().fold(0.0, |m, v| m.max(v.abs()));
    for j in 0..k {
        let norm = (j..n)
            .map(|i| a[i * k + j] * a[i * k + j])
            .sum::<f64>()
            .sqrt();
        let independent = norm > 1e-10 * scale.max(1.0) * (n as f64).sqrt();
        if !independent {
            return None;
        }
        let alpha = if a[j * k + j] > 0.0 { -norm } else { norm };
        // v = a[j.., j] − alpha e_1
        let mut v: Vec<f64> = (j..n).map(|i| a[i * k + j]).collect();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|t| t * t).sum();
        if vv == 0.0 {
            continue;
        }
        for c in j..k {
            let dot: f64 = (j..n).map(|i| v[i - j] * a[i * k + c]).sum();
            let f = 2.0 * dot / vv;
            for i in j..n {
                a[i * k + c] -= f * v[i - j];
            }
        }
        let dot: f64 = (j..n).map(|i| v[i - j] * b[i]).sum();
        let f = 2.0 * dot / vv;
        for i in j..n {
            b[i] -= f * v[i - j];
        }
    }
    let mut beta = vec![0.0; k];
    for j in (0..k).rev() {
        let s: f64 = ((j + 1)..k).map(|c| a[j * k + c] * beta[c]).sum();
        beta[j] = (b[j] - s) / a[j * k + j];
    }
    // Residuals from the fit itself (not from Qᵀb), as statsmodels computes them.
    let ssr: f64 = (0..n)
        .map(|i| {
            let fit: f64 = (0..k).map(|c| x[i * k + c] * beta[c]).sum();
            (y[i] - fit) * (y[i] - fit)
        })
        .sum();
    Some((beta, ssr))
}

impl Detector for Regression {
    fn name(&self) -> &'static str {
        "regression"
    }

    fn params(&self) -> serde_json::Value {
        json!({
            "baseline": self.baseline, "guard": self.guard,
            "warning_p": self.warning_p, "alert_p": self.alert_p,
        })
    }

    fn run(&self, input: &Input) -> Vec<Point> {
        let y = input.values;
        let n = y.len();
        let mut out: Vec<Point> = y.iter().map(|&x| Point::empty(x)).collect();
        if input.check().is_err() {
            return out;
        }
        let weekdays = input.weekdays;
        let g = self.guard;
        let first_test = MIN_BASELINE + g;
        // pynssp's floor of σ by degrees of freedom, computed once per run.
        let mut floor: Vec<Option<f64>> = Vec::new();
        let mut floor_at = |df: usize| -> f64 {
            if floor.len() <= df {
                floor.resize(df + 1, None);
            }
            *floor[df].get_or_insert_with(|| 1.01 / np_round(t_ppf(0.95, df as f64), 5))
        };
        // pynssp's 1-based ndx_baseline = [first ..= last], starting at 1 ..= 10.
        let (mut first, mut last) = (1usize, MIN_BASELINE - 1);
        for i in first_test..n {
            if last >= self.baseline {
                first += 1;
            }
            last += 1;
            let len = last - first + 1;
            let base_y = &y[first - 1..last];
            let t_test = (len + g + 1) as f64;
            let (k, design): (usize, Vec<f64>) = match weekdays {
                Some(w) => (
                    8,
                    (0..len)
                        .flat_map(|r| {
                            let d = w[first - 1 + r];
                            let mut row = vec![1.0, (r + 1) as f64, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
                            if d < 6 {
                                row[2 + usize::from(d)] = 1.0;
                            }
                            row
                        })
                        .collect(),
                ),
                None => (2, (0..len).flat_map(|r| [1.0, (r + 1) as f64]).collect()),
            };
            let Some((beta, ssr)) = least_squares(&design, base_y, k) else {
                continue;
            };
            let n_df = len - k;
            let mse = ssr / n_df as f64;
            let l = len as f64;
            let (factor, floor_sigma, pred) = match weekdays {
                Some(w) => {
                    let factor = (((l + 7.0) * (l - 4.0)) / (l * (l - 7.0))).sqrt();
                    let d = w[i];
                    let mut pred = beta[0] + t_test * beta[1];
                    if d < 6 {
                        pred += beta[2 + usize::from(d)];
                    }
                    (factor, floor_at(n_df + 1), pred)
                }
                None => {
                    let tbar = (l + 1.0) / 2.0;
                    let sxx = l * (l * l - 1.0) / 12.0;
                    let factor = (1.0 + 1.0 / l + (t_test - tbar).powi(2) / sxx).sqrt();
                    (factor, floor_at(n_df), beta[0] + t_test * beta[1])
                }
            };
            let sigma = (mse.sqrt() * factor).max(floor_sigma);
            // Python's max(0, pred): 0 unless pred > 0 (so NaN gives 0).
            let expected = if pred > 0.0 { pred } else { 0.0 };
            let ts = (y[i] - expected) / sigma;
            let p = 1.0 - t_cdf(ts, n_df as f64);
            let valid = !mse.is_nan();
            out[i] = Point {
                observed: y[i],
                expected: valid.then_some(expected),
                score: if valid { num(ts) } else { None },
                p_value: if valid { num(p) } else { None },
                level: if valid {
                    level_from_p(p, self.warning_p, self.alert_p)
                } else {
                    crate::Level::None
                },
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Level;

    #[test]
    fn least_squares_exact_fit_and_residuals() {
        // y = 2 + 3x exactly, then with known residuals.
        let x: Vec<f64> = (0..5).flat_map(|i| [1.0, f64::from(i)]).collect();
        let y: Vec<f64> = (0..5).map(|i| 2.0 + 3.0 * f64::from(i)).collect();
        let (b, ssr) = least_squares(&x, &y, 2).unwrap();
        assert!((b[0] - 2.0).abs() < 1e-12 && (b[1] - 3.0).abs() < 1e-12 && ssr < 1e-20);
        // y = 1, 3, 2, 5, 4 on x = 0..4: slope 0.8, intercept 1.4, SSR = 3.6 by hand.
        let y = [1.0, 3.0, 2.0, 5.0, 4.0];
        let (b, ssr) = least_squares(&x, &y, 2).unwrap();
        assert!((b[1] - 0.8).abs() < 1e-12 && (b[0] - 1.4).abs() < 1e-12);
        assert!((ssr - 3.6).abs() < 1e-12);
        // A duplicated column is rank-deficient.
        let x2: Vec<f64> = (0..5).flat_map(|_| [1.0, 1.0]).collect();
        assert!(least_squares(&x2, &y, 2).is_none());
    }

    /// A series that is exactly trend + weekday effect: the forecast is exact, MSE is 0,
    /// σ is pynssp's floor, and a day 5 above the forecast has t = 5 / floor.
    #[test]
    fn exact_weekly_pattern_forecast() {
        let effect = [3.0, 1.0, 0.0, 2.0, 4.0, -1.0, -2.0];
        let wd = Input::consecutive_weekdays(40, 0);
        let mut y: Vec<f64> = (0..40)
            .map(|i| 20.0 + 0.5 * i as f64 + effect[usize::from(wd[i])])
            .collect();
        let truth = y[35];
        y[35] += 5.0;
        let pts = Regression::default().run(&Input::daily(&y, &wd).unwrap());
        assert!(pts[..13].iter().all(|p| p.score.is_none()));
        let p = &pts[35];
        assert!((p.expected.unwrap() - truth).abs() < 1e-9);
        // Day 35: L = 28, n_df = 20, floor = 1.01 / round(t⁻¹(0.95, 21), 5) = 1.01 / 1.72074.
        let floor = 1.01 / 1.72074;
        assert!((p.score.unwrap() - 5.0 / floor).abs() < 1e-6);
        assert!((p.p_value.unwrap() - (1.0 - t_cdf(5.0 / floor, 20.0))).abs() < 1e-12);
        assert_eq!(p.level, Level::Alert);
        // Days with the exact pattern: t ≈ 0, p ≈ ½.
        assert!((pts[20].p_value.unwrap() - 0.5).abs() < 1e-6);
    }

    /// Without weekdays: trend-only, exact prediction error.
    #[test]
    fn trend_only_by_hand() {
        // Alternating ±1 around a line; day 30 tested with L = 28 (days 0..=27).
        let y: Vec<f64> = (0..31)
            .map(|i| 5.0 + 0.1 * f64::from(i) + if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let pts = Regression::default().run(&Input::new(&y));
        // Day 30: the window has grown to L = 30 − g = 28 days, days 0..=27.
        let base = &y[0..28];
        let x: Vec<f64> = (0..28).flat_map(|r| [1.0, f64::from(r + 1)]).collect();
        let (b, ssr) = least_squares(&x, base, 2).unwrap();
        let mse = ssr / 26.0;
        let (l, h) = (28.0f64, 3.0f64);
        let factor =
            (1.0 + 1.0 / l + (l + h - (l + 1.0) / 2.0).powi(2) / (l * (l * l - 1.0) / 12.0)).sqrt();
        let pred = b[0] + 31.0 * b[1];
        let sigma = (mse.sqrt() * factor).max(1.01 / np_round(t_ppf(0.95, 26.0), 5));
        let t = (y[30] - pred) / sigma;
        assert!((pts[30].expected.unwrap() - pred).abs() < 1e-9);
        assert!((pts[30].score.unwrap() - t).abs() < 1e-9);
        assert!((pts[30].p_value.unwrap() - (1.0 - t_cdf(t, 26.0))).abs() < 1e-12);
    }

    #[test]
    fn rank_deficient_weekdays_give_no_statistic() {
        let y = vec![3.0; 40];
        let wd = vec![2u8; 40]; // every day a Wednesday
        let pts = Regression::default().run(&Input::daily(&y, &wd).unwrap());
        assert!(pts
            .iter()
            .all(|p| p.score.is_none() && p.level == Level::None));
    }
}
