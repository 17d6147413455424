//! ESSENCE's EWMA detector, exactly as pynssp 0.1.0 `alert_ewma` computes it.
//!
//! Two exponentially weighted moving averages, z1 (w1 = 0.4, for gradual rises) and
//! z2 (w2 = 0.9, for sudden ones, close to C2), are started at the first value and
//! compared with the mean of a baseline that ends `guard` (2) days before today. The
//! baseline starts at 11 days (the first tested day is day 11 + guard) and grows by a day
//! each day up to `baseline` + 1 days (29: pynssp's window grows one day past B). With
//! L baseline days, sample sd σ and the t quantiles u_a = t⁻¹(0.99, L − 1) and
//! u_w = t⁻¹(0.975, L − 1) (both rounded to 5 decimals):
//!
//! - σ_w = max( (w / u_w)(1 + ½(1 − w)²),
//!   σ √( w/(2 − w) + 1/L − 2(1 − w)^{g+1} (1 − (1 − w)^L)/L ) + (0.1289 − (0.2414 − 0.1826 (1 − w)⁴) ln 0.5)(w / u_w) )
//! - t = (z − mean) / σ_w, p = 1 − F_{t, L−1}(t); the smaller p of the two averages wins
//!   (the second on a tie);
//! - an average whose |t| exceeds u_a is pulled back to mean ± u_a σ_w before the next day
//!   (so one outlier does not keep alerting);
//! - alert when p < 0.01, warning when 0.01 ≤ p < 0.05.
//!
//! Days before the first tested day (and every day of a series shorter than 11 + guard + 1)
//! have no statistic. `expected` is the baseline mean, `score` the winning t statistic.

use crate::baseline::mean;
use crate::params::{ensure, ensure_p_thresholds, Params};
use crate::special::{np_round, t_cdf, t_ppf};
use crate::{level_from_p, num, DetectError, Detector, Input, Point};
use serde_json::json;

/// pynssp's `min_baseline`: the first baseline has 11 days.
const MIN_BASELINE: usize = 11;

/// The EWMA detector and its parameters (defaults: pynssp's, which are ESSENCE's).
#[derive(Debug, Clone, PartialEq)]
pub struct Ewma {
    /// B: full baseline length in days (28; the window holds up to B + 1 days).
    pub baseline: usize,
    /// g: days between the baseline and today (2).
    pub guard: usize,
    /// Smoothing coefficient for gradual events (0.4).
    pub w1: f64,
    /// Smoothing coefficient for sudden events (0.9).
    pub w2: f64,
    /// Warning when p < this (0.05).
    pub warning_p: f64,
    /// Alert when p < this (0.01).
    pub alert_p: f64,
}

impl Default for Ewma {
    fn default() -> Self {
        Self {
            baseline: 28,
            guard: 2,
            w1: 0.4,
            w2: 0.9,
            warning_p: 0.05,
            alert_p: 0.01,
        }
    }
}

impl Ewma {
    /// From JSON parameters `baseline`, `guard`, `w1`, `w2`, `warning_p`, `alert_p`.
    pub fn from_params(v: &serde_json::Value) -> Result<Self, DetectError> {
        let p = Params::new(
            "ewma",
            v,
            &["baseline", "guard", "w1", "w2", "warning_p", "alert_p"],
        )?;
        let d = Self::default();
        let out = Self {
            baseline: p.usize("baseline", d.baseline)?,
            guard: p.usize("guard", d.guard)?,
            w1: p.f64("w1", d.w1)?,
            w2: p.f64("w2", d.w2)?,
            warning_p: p.f64("warning_p", d.warning_p)?,
            alert_p: p.f64("alert_p", d.alert_p)?,
        };
        ensure(
            out.baseline >= 7,
            "ewma",
            "baseline",
            "must be at least 7 days",
        )?;
        ensure(
            out.guard <= 365,
            "ewma",
            "guard",
            "must be at most 365 days",
        )?;
        ensure(
            out.baseline <= 3650,
            "ewma",
            "baseline",
            "must be at most 3650 days",
        )?;
        ensure(
            out.w1 > 0.0 && out.w1 <= 1.0,
            "ewma",
            "w1",
            "must be in (0, 1]",
        )?;
        ensure(
            out.w2 > 0.0 && out.w2 <= 1.0,
            "ewma",
            "w2",
            "must be in (0, 1]",
        )?;
        ensure_p_thresholds("ewma", out.warning_p, out.alert_p)?;
        Ok(out)
    }
}

/// Per-average constants for one baseline length.
struct Bounds {
    correction: f64,
    min_sigma: f64,
    constant: f64,
}

fn bounds(w: f64, len: usize, guard: usize, ucl_warning: f64) -> Bounds {
    let l = len as f64;
    let correction = (w / (2.0 - w) + 1.0 / l
        - 2.0 * (1.0 - w).powf(guard as f64 + 1.0) * ((1.0 - (1.0 - w).powf(l)) / l))
        .sqrt();
    let min_sigma = (w / ucl_warning) * (1.0 + 0.5 * (1.0 - w).powi(2));
    let constant = (0.1289 - (0.2414 - 0.1826 * (1.0 - w).powi(4)) * (10.0f64 * 0.05).ln())
        * (w / ucl_warning);
    Bounds {
        correction,
        min_sigma,
        constant,
    }
}

/// Python's `max(a, b)`: b only when b > a (so a NaN b loses).
fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

impl Detector for Ewma {
    fn name(&self) -> &'static str {
        "ewma"
    }

    fn params(&self) -> serde_json::Value {
        json!({
            "baseline": self.baseline, "guard": self.guard, "w1": self.w1, "w2": self.w2,
            "warning_p": self.warning_p, "alert_p": self.alert_p,
        })
    }

    fn run(&self, input: &Input) -> Vec<Point> {
        let y = input.values;
        let n = y.len();
        let mut out: Vec<Point> = y.iter().map(|&x| Point::empty(x)).collect();
        let first_test = MIN_BASELINE + self.guard;
        if n <= first_test {
            return out;
        }
        let (w1, w2, g) = (self.w1, self.w2, self.guard);
        let mut z1 = y[0];
        let mut z2 = y[0];
        for &x in &y[1..first_test] {
            z1 = w1 * x + (1.0 - w1) * z1;
            z2 = w2 * x + (1.0 - w2) * z2;
        }
        // pynssp's ndx_baseline = [first ..= last], starting at 0 ..= 9.
        let (mut first, mut last) = (0usize, MIN_BASELINE - 2);
        // t quantiles by degrees of freedom, computed once per run.
        let mut ucl: Vec<Option<(f64, f64)>> = Vec::new();
        for i in first_test..n {
            if last >= self.baseline {
                first += 1; // full window: slide
            }
            last += 1;
            let len = last - first + 1;
            let n_df = len - 1;
            let base = &y[first..=last];
            let expected = mean(base);
            let sigma = {
                let ss: f64 = base.iter().map(|x| (x - expected) * (x - expected)).sum();
                (ss / n_df as f64).sqrt()
            };
            if ucl.len() <= n_df {
                ucl.resize(n_df + 1, None);
            }
            let (ucl_alert, ucl_warning) = *ucl[n_df].get_or_insert_with(|| {
                (
                    np_round(t_ppf(1.0 - 0.01, n_df as f64), 5),
                    np_round(t_ppf(1.0 - 0.025, n_df as f64), 5),
                )
            });
            let b1 = bounds(w1, len, g, ucl_warning);
            let b2 = bounds(w2, len, g, ucl_warning);
            let sigma1 = py_max(b1.min_sigma, sigma * b1.correction + b1.constant);
            let sigma2 = py_max(b2.min_sigma, sigma * b2.correction + b2.constant);
            z1 = w1 * y[i] + (1.0 - w1) * z1;
            z2 = w2 * y[i] + (1.0 - w2) * z2;
            let ts1 = (z1 - expected) / sigma1;
            let ts2 = (z2 - expected) / sigma2;
            if ts1.abs() > ucl_alert {
                z1 = expected + ts1.signum() * ucl_alert * sigma1;
            }
            if ts2.abs() > ucl_alert {
                z2 = expected + ts2.signum() * ucl_alert * sigma2;
            }
            let p1 = 1.0 - t_cdf(ts1, n_df as f64);
            let p2 = 1.0 - t_cdf(ts2, n_df as f64);
            let (p, ts) = if p1 < p2 { (p1, ts1) } else { (p2, ts2) };
            out[i] = Point {
                observed: y[i],
                expected: num(expected),
                score: num(ts),
                p_value: num(p),
                level: level_from_p(p, self.warning_p, self.alert_p),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Level;

    /// The first tested day, computed by hand from pynssp's formulas.
    #[test]
    fn first_tested_day_by_hand() {
        // 13 values of 10 except alternating ±1; then day 13 = 20.
        let mut y: Vec<f64> = (0..13)
            .map(|i| if i % 2 == 0 { 9.0 } else { 11.0 })
            .collect();
        y.push(20.0);
        let pts = Ewma::default().run(&Input::new(&y));
        assert!(pts[..13].iter().all(|p| p.p_value.is_none()));
        // Baseline days 0..=10 (11 values: six 9s, five 11s).
        let base = &y[0..=10];
        let m = base.iter().sum::<f64>() / 11.0;
        let s = (base.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 10.0).sqrt();
        // t quantiles for 10 df, rounded as pynssp rounds them (published: 2.763769, 2.228139).
        let (ua, uw) = (2.76377, 2.22814);
        let mut z1 = y[0];
        let mut z2 = y[0];
        for &x in &y[1..14] {
            z1 = 0.4 * x + 0.6 * z1;
            z2 = 0.9 * x + 0.1 * z2;
        }
        let sig = |w: f64| {
            let l = 11.0;
            let corr = (w / (2.0 - w) + 1.0 / l
                - 2.0 * (1.0 - w).powi(3) * ((1.0 - (1.0 - w).powi(11)) / l))
                .sqrt();
            let c = (0.1289 - (0.2414 - 0.1826 * (1.0 - w).powi(4)) * 0.5f64.ln()) * (w / uw);
            ((w / uw) * (1.0 + 0.5 * (1.0 - w).powi(2))).max(s * corr + c)
        };
        let t1 = (z1 - m) / sig(0.4);
        let t2 = (z2 - m) / sig(0.9);
        let p1 = 1.0 - t_cdf(t1, 10.0);
        let p2 = 1.0 - t_cdf(t2, 10.0);
        let (p, t) = if p1 < p2 { (p1, t1) } else { (p2, t2) };
        assert!((pts[13].expected.unwrap() - m).abs() < 1e-12);
        assert!((pts[13].score.unwrap() - t).abs() < 1e-12);
        assert!((pts[13].p_value.unwrap() - p).abs() < 1e-15);
        assert_eq!(pts[13].level, Level::Alert);
        assert!(
            t > ua,
            "a jump of 10 on a baseline of sd 1 is beyond the alert limit"
        );
        assert_eq!(np_round(t_ppf(0.99, 10.0), 5), ua);
        assert_eq!(np_round(t_ppf(0.975, 10.0), 5), uw);
    }

    /// The baseline window grows from 11 days to B + 1 and then slides, ending g days back.
    #[test]
    fn baseline_window_grows_then_slides() {
        // y = day index: the baseline mean is the midpoint of the window.
        let y: Vec<f64> = (0..60).map(f64::from).collect();
        let pts = Ewma::default().run(&Input::new(&y));
        for (i, p) in pts.iter().enumerate().skip(13) {
            let last = i - 3;
            let first = i.saturating_sub(31);
            let want = (first + last) as f64 / 2.0;
            assert!((p.expected.unwrap() - want).abs() < 1e-12, "day {i}");
        }
    }

    #[test]
    fn outlier_is_clamped_for_later_days() {
        // A huge spike alerts once; the day after, z2 restarts from the clamped value, so
        // a return to normal is not still an alert.
        let mut y: Vec<f64> = (0..40).map(|i| 10.0 + (i % 3) as f64).collect();
        y.push(1000.0);
        y.extend((0..3).map(|i| 10.0 + (i % 3) as f64));
        let pts = Ewma::default().run(&Input::new(&y));
        assert_eq!(pts[40].level, Level::Alert);
        assert_eq!(pts[42].level, Level::None);
    }

    #[test]
    fn short_series_has_no_statistic() {
        let y = vec![1.0; 13];
        assert!(Ewma::default()
            .run(&Input::new(&y))
            .iter()
            .all(|p| p.score.is_none()));
    }
}
