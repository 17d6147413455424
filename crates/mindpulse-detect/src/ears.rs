//! EARS C1-MILD, C2-MEDIUM and C3-ULTRA (Hutwagner et al. 2003, 2005), the CDC's
//! limited-baseline detectors and the reference the other detectors are compared with.
//!
//! - C1: baseline = the `baseline` (7) days before today; C1_t = (x_t − mean) / sd; alert
//!   when C1_t > `threshold` (3).
//! - C2: the same with a 2-day guard band: baseline days t − 9 … t − 3.
//! - C3: C3_t = Σ_{i = t−2}^{t} max(0, C2_i − 1); alert when C3_t > `threshold` (2).
//!
//! sd is the sample standard deviation (n − 1), floored at `min_sigma` (default 0, as the
//! `minSigma` of R's `surveillance::earsC`); see the crate docs for a zero sd.

use crate::baseline::{mean, sd, standardize, window};
use crate::params::{ensure, Params};
use crate::{num, DetectError, Detector, Input, Level, Point};
use serde_json::json;

/// Which of the three EARS methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    C1,
    C2,
    C3,
}

impl Method {
    /// Days between the baseline and today: 0 for C1, 2 for C2 and C3.
    pub fn guard(self) -> usize {
        match self {
            Method::C1 => 0,
            Method::C2 | Method::C3 => 2,
        }
    }
    /// The published cut-off: 3 for C1 and C2, 2 for C3.
    pub fn default_threshold(self) -> f64 {
        match self {
            Method::C1 | Method::C2 => 3.0,
            Method::C3 => 2.0,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Method::C1 => "c1",
            Method::C2 => "c2",
            Method::C3 => "c3",
        }
    }
}

/// An EARS detector.
#[derive(Debug, Clone, PartialEq)]
pub struct Ears {
    pub method: Method,
    /// Baseline length in days (7).
    pub baseline: usize,
    /// Alert when the statistic exceeds this (3 for C1 and C2, 2 for C3).
    pub threshold: f64,
    /// Floor of the baseline standard deviation (0).
    pub min_sigma: f64,
}

impl Ears {
    pub fn new(method: Method) -> Self {
        Self {
            method,
            baseline: 7,
            threshold: method.default_threshold(),
            min_sigma: 0.0,
        }
    }

    /// From JSON parameters `baseline`, `threshold`, `min_sigma`.
    pub fn from_params(method: Method, v: &serde_json::Value) -> Result<Self, DetectError> {
        let name = method.name();
        let p = Params::new(name, v, &["baseline", "threshold", "min_sigma"])?;
        let d = Self::new(method);
        let out = Self {
            method,
            baseline: p.usize("baseline", d.baseline)?,
            threshold: p.f64("threshold", d.threshold)?,
            min_sigma: p.f64("min_sigma", d.min_sigma)?,
        };
        ensure(
            out.baseline >= 3,
            name,
            "baseline",
            "must be at least 3 days",
        )?;
        ensure(
            out.min_sigma >= 0.0,
            name,
            "min_sigma",
            "cannot be negative",
        )?;
        Ok(out)
    }

    /// (mean, z) of day t against its baseline with the given guard band.
    fn z(&self, values: &[f64], t: usize, guard: usize) -> Option<(f64, f64)> {
        let base = window(values, t, self.baseline, guard)?;
        let m = mean(base);
        let s = sd(base).max(self.min_sigma);
        Some((m, standardize(values[t], m, s)))
    }
}

impl Detector for Ears {
    fn name(&self) -> &'static str {
        self.method.name()
    }

    fn params(&self) -> serde_json::Value {
        json!({"baseline": self.baseline, "threshold": self.threshold, "min_sigma": self.min_sigma})
    }

    fn run(&self, input: &Input) -> Vec<Point> {
        let v = input.values;
        let guard = self.method.guard();
        let c: Vec<Option<(f64, f64)>> = (0..v.len()).map(|t| self.z(v, t, guard)).collect();
        (0..v.len())
            .map(|t| {
                let (expected, score) = match self.method {
                    Method::C1 | Method::C2 => match c[t] {
                        Some((m, z)) => (num(m), num(z)),
                        None => (None, None),
                    },
                    Method::C3 => {
                        // Needs C2 on today and the two days before.
                        let days = t
                            .checked_sub(2)
                            .and_then(|s| c.get(s..=t))
                            .filter(|d| d.iter().all(Option::is_some));
                        match days {
                            Some(d) => {
                                let sum: f64 = d
                                    .iter()
                                    .flatten()
                                    .map(|(_, z)| {
                                        if z.is_nan() {
                                            f64::NAN
                                        } else {
                                            (z - 1.0).max(0.0)
                                        }
                                    })
                                    .sum();
                                (c[t].and_then(|(m, _)| num(m)), num(sum))
                            }
                            None => (None, None),
                        }
                    }
                };
                let level = match (expected, score) {
                    (Some(_), Some(s)) if s > self.threshold => Level::Alert,
                    _ => Level::None,
                };
                Point {
                    observed: v[t],
                    expected,
                    score,
                    p_value: None,
                    level,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Baseline 1, 2, 3, 4, 5, 6, 7: mean 4, sd √(28/6) = 2.160247.
    const SEVEN: [f64; 7] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];

    #[test]
    fn c1_hand_computed() {
        let mut v = SEVEN.to_vec();
        v.push(11.0); // (11 − 4)/2.160247 = 3.2404 > 3
        v.push(10.0); // baseline 2..=8 with 11: mean 38/7, sd ...
        let pts = Ears::new(Method::C1).run(&Input::new(&v));
        assert!(pts[..7]
            .iter()
            .all(|p| p.score.is_none() && p.level == Level::None));
        let sd = (28.0f64 / 6.0).sqrt();
        assert!((pts[7].score.unwrap() - 7.0 / sd).abs() < 1e-12);
        assert_eq!(pts[7].expected, Some(4.0));
        assert_eq!(pts[7].level, Level::Alert);
        assert_eq!(pts[7].p_value, None);
        // Day 8: baseline 2, 3, 4, 5, 6, 7, 11: mean 38/7.
        let b = [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 11.0];
        let m = 38.0 / 7.0;
        let s = (b.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 6.0).sqrt();
        assert!((pts[8].score.unwrap() - (10.0 - m) / s).abs() < 1e-12);
        // (10 − 5.4286)/2.9358 = 1.557: no alert
        assert_eq!(pts[8].level, Level::None);
    }

    #[test]
    fn c2_uses_guard_band() {
        // Days 0..=6 baseline for day 9; days 7, 8 are the guard band (ignored).
        let mut v = SEVEN.to_vec();
        v.extend([100.0, 100.0, 11.0]);
        let pts = Ears::new(Method::C2).run(&Input::new(&v));
        assert!(pts[..9].iter().all(|p| p.score.is_none()));
        let sd = (28.0f64 / 6.0).sqrt();
        assert!((pts[9].score.unwrap() - 7.0 / sd).abs() < 1e-12);
        assert_eq!(pts[9].level, Level::Alert);
    }

    #[test]
    fn c3_sums_three_days_of_c2_excess() {
        // Constant-spread baseline: values alternate 4, 6 (mean 5, sd ≈ 1.069 for 7 values).
        let mut v: Vec<f64> = (0..20)
            .map(|i| if i % 2 == 0 { 4.0 } else { 6.0 })
            .collect();
        v.extend([7.0, 7.5, 8.0]);
        let pts2 = Ears::new(Method::C2).run(&Input::new(&v));
        let pts3 = Ears::new(Method::C3).run(&Input::new(&v));
        // C3 needs C2 at t−2: first C2 at 9, first C3 at 11.
        assert!(pts3[10].score.is_none() && pts3[11].score.is_some());
        for (t, p3) in pts3.iter().enumerate().skip(11) {
            let want: f64 = pts2[t - 2..=t]
                .iter()
                .map(|p| (p.score.unwrap() - 1.0).max(0.0))
                .sum();
            assert!((p3.score.unwrap() - want).abs() < 1e-12);
            assert_eq!(p3.level == Level::Alert, want > 2.0);
        }
        // Hand check of the last day: baseline days 13..=19 = 6,4,6,4,6,4,6 (mean 36/7).
        let m: f64 = 36.0 / 7.0;
        let s = ((4.0 * (6.0 - m) * (6.0 - m) + 3.0 * (4.0 - m) * (4.0 - m)) / 6.0).sqrt();
        assert!((pts2[22].score.unwrap() - (8.0 - m) / s).abs() < 1e-12);
        assert_eq!(pts3[22].level, Level::Alert);
    }

    #[test]
    fn zero_sd_follows_earsc_and_min_sigma() {
        let mut v = vec![5.0; 10];
        v.push(6.0);
        let pts = Ears::new(Method::C1).run(&Input::new(&v));
        assert_eq!(pts[9].score, Some(0.0));
        assert_eq!(pts[9].level, Level::None);
        assert_eq!(pts[10].score, Some(f64::INFINITY));
        assert_eq!(pts[10].level, Level::Alert);
        let floored =
            Ears::from_params(Method::C1, &serde_json::json!({"min_sigma": 0.5})).unwrap();
        let pts = floored.run(&Input::new(&v));
        assert_eq!(pts[10].score, Some(2.0));
        assert_eq!(pts[10].level, Level::None);
    }

    #[test]
    fn prevalences_are_not_rounded() {
        let v: Vec<f64> = SEVEN.iter().map(|x| x / 100.0).chain([0.11]).collect();
        let pts = Ears::new(Method::C1).run(&Input::new(&v));
        let sd = (28.0f64 / 6.0).sqrt() / 100.0;
        assert!((pts[7].score.unwrap() - 0.07 / sd).abs() < 1e-9);
    }
}
