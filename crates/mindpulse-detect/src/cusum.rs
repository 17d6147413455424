//! One-sided standardized CUSUM against a moving baseline (Page 1954; as applied to
//! syndromic surveillance by Fricker, Hegler & Dunfee, Stat Med 2008).
//!
//! Day t is standardized against the `baseline` (28) days that end `guard` (2) days before
//! it: z_t = (x_t − mean) / max(sd, `min_sigma`) (zero-sd convention in the crate docs).
//! Then S_t = max(0, S_{t−1} + z_t − k) with reference value `k` (0.5: tuned to detect a
//! shift of one standard deviation) and an alert when S_t > `h` (decision interval, 4).
//! With `reset` (default true, as Fricker et al.) S restarts from 0 after an alert, so a
//! long outbreak alerts every few days rather than the sum running away; the statistic
//! reported (`score`) is S_t before the reset. Days before a full baseline exists have no
//! statistic and S starts at 0 on the first day that has one. A NaN day leaves S
//! unchanged and has no statistic. No p-value: S has no simple null distribution.

use crate::baseline::{mean, sd, standardize, window};
use crate::params::{ensure, Params};
use crate::{num, DetectError, Detector, Input, Level, Point};
use serde_json::json;

/// The CUSUM detector and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Cusum {
    /// Baseline length in days (28).
    pub baseline: usize,
    /// Days between the baseline and today (2).
    pub guard: usize,
    /// Reference value, in baseline standard deviations (0.5).
    pub k: f64,
    /// Decision interval: alert when S > h (4).
    pub h: f64,
    /// Floor of the baseline standard deviation (0).
    pub min_sigma: f64,
    /// Restart S from 0 after an alert (true).
    pub reset: bool,
}

impl Default for Cusum {
    fn default() -> Self {
        Self {
            baseline: 28,
            guard: 2,
            k: 0.5,
            h: 4.0,
            min_sigma: 0.0,
            reset: true,
        }
    }
}

impl Cusum {
    /// From JSON parameters `baseline`, `guard`, `k`, `h`, `min_sigma`, `reset`.
    pub fn from_params(v: &serde_json::Value) -> Result<Self, DetectError> {
        let p = Params::new(
            "cusum",
            v,
            &["baseline", "guard", "k", "h", "min_sigma", "reset"],
        )?;
        let d = Self::default();
        let out = Self {
            baseline: p.usize("baseline", d.baseline)?,
            guard: p.usize("guard", d.guard)?,
            k: p.f64("k", d.k)?,
            h: p.f64("h", d.h)?,
            min_sigma: p.f64("min_sigma", d.min_sigma)?,
            reset: p.bool("reset", d.reset)?,
        };
        ensure(
            out.baseline >= 3,
            "cusum",
            "baseline",
            "must be at least 3 days",
        )?;
        ensure(out.k >= 0.0, "cusum", "k", "cannot be negative")?;
        ensure(out.h > 0.0, "cusum", "h", "must be positive")?;
        ensure(
            out.min_sigma >= 0.0,
            "cusum",
            "min_sigma",
            "cannot be negative",
        )?;
        Ok(out)
    }
}

impl Detector for Cusum {
    fn name(&self) -> &'static str {
        "cusum"
    }

    fn params(&self) -> serde_json::Value {
        json!({
            "baseline": self.baseline, "guard": self.guard, "k": self.k, "h": self.h,
            "min_sigma": self.min_sigma, "reset": self.reset,
        })
    }

    fn run(&self, input: &Input) -> Vec<Point> {
        let v = input.values;
        let mut s = 0.0f64;
        (0..v.len())
            .map(|t| {
                let Some(base) = window(v, t, self.baseline, self.guard) else {
                    return Point::empty(v[t]);
                };
                let m = mean(base);
                let z = standardize(v[t], m, sd(base).max(self.min_sigma));
                if z.is_nan() {
                    return Point {
                        expected: num(m),
                        ..Point::empty(v[t])
                    };
                }
                // ∞ − ∞ cannot happen: s is finite (reset) or +∞ only without reset.
                let next = (s + z - self.k).max(0.0);
                let alert = next > self.h;
                s = if alert && self.reset { 0.0 } else { next };
                if s.is_nan() {
                    s = 0.0;
                }
                Point {
                    observed: v[t],
                    expected: num(m),
                    score: num(next),
                    p_value: None,
                    level: if alert { Level::Alert } else { Level::None },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short() -> Cusum {
        Cusum {
            baseline: 4,
            guard: 1,
            ..Cusum::default()
        }
    }

    #[test]
    fn recursion_by_hand() {
        // Baseline of 4 days 9, 11, 9, 11 (mean 10, sd √(4/3)) before a guard day.
        let mut v = vec![9.0, 11.0, 9.0, 11.0, 10.0];
        // Every later day's baseline is days t−5 … t−2: keep it 9, 11 alternating.
        v.extend([11.0, 9.0, 11.0, 9.0, 11.0, 9.0]);
        v[5] = 12.0;
        let pts = short().run(&Input::new(&v));
        assert!(pts[..5].iter().all(|p| p.score.is_none()));
        // Day 5: baseline days 0..=3: mean 10, sd 1.1547; z = 1.7321; S = 1.2321.
        let sd = (4.0f64 / 3.0).sqrt();
        let s5 = 2.0 / sd - 0.5;
        assert!((pts[5].score.unwrap() - s5).abs() < 1e-12);
        // Day 6: baseline days 1..=4 = 11, 9, 11, 10: mean 10.25.
        let b = [11.0, 9.0, 11.0, 10.0];
        let m = 10.25;
        let sd6 = (b.iter().map(|x: &f64| (x - m) * (x - m)).sum::<f64>() / 3.0).sqrt();
        let s6 = (s5 + (9.0 - m) / sd6 - 0.5).max(0.0);
        assert!((pts[6].score.unwrap() - s6).abs() < 1e-12);
        assert!(pts.iter().all(|p| p.level == Level::None));
    }

    #[test]
    fn sustained_shift_alerts_and_resets() {
        let mut v: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 9.0 } else { 11.0 })
            .collect();
        v.extend([14.0; 6]);
        let c = Cusum {
            baseline: 7,
            guard: 2,
            ..Cusum::default()
        };
        let pts = c.run(&Input::new(&v));
        let first = pts.iter().position(|p| p.level == Level::Alert).unwrap();
        assert!(first >= 40);
        // After the reset the next day restarts from 0: its S is one day's increment.
        let next = &pts[first + 1];
        let base = window(&v, first + 1, 7, 2).unwrap();
        let z = (v[first + 1] - mean(base)) / sd(base);
        assert!((next.score.unwrap() - (z - 0.5).max(0.0)).abs() < 1e-12);
        let no_reset = Cusum { reset: false, ..c };
        let pts2 = no_reset.run(&Input::new(&v));
        assert!(pts2[first + 1].score.unwrap() > pts[first + 1].score.unwrap());
    }

    #[test]
    fn nan_day_leaves_sum_unchanged() {
        let mut v: Vec<f64> = (0..12)
            .map(|i| if i % 2 == 0 { 9.0 } else { 11.0 })
            .collect();
        v[8] = f64::NAN;
        let pts = short().run(&Input::new(&v));
        assert_eq!(pts[8].score, None);
        assert_eq!(pts[8].level, Level::None);
    }
}
