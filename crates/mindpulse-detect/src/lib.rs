//! mindpulse-detect: outbreak detectors for count and rate series. It computes; it never
//! touches the database (the caller reads a series out, runs a detector, and stores the
//! points and episodes it gets back, with the detector's parameters as evidence).
//!
//! Every detector reads one series, a slice of `f64` in time order (daily counts, weekly
//! counts, or prevalences in [0, 1]: nothing here assumes integers), optionally with the
//! day of the week of each value, and gives back one [`Point`] per value: the observed
//! value, the expected value from its baseline, its test statistic, a p-value where the
//! method defines one, and a [`Level`]. Points before a detector has enough baseline have
//! no expected value, no statistic and level `none`; so do points whose baseline or value
//! is not a number (NaN). No input panics: an empty series gives no points, a constant or
//! all-zero series gives defined levels (see "Zero spread" below).
//!
//! # The detectors
//!
//! | name | module | what it tests | levels |
//! |---|---|---|---|
//! | `c1` | [`ears`] | EARS C1-MILD: today against the 7 days before | alert when (x − mean)/sd > 3 |
//! | `c2` | [`ears`] | EARS C2-MEDIUM: today against days t−9 … t−3 (2-day guard band) | alert when > 3 |
//! | `c3` | [`ears`] | EARS C3-ULTRA: Σ over today and the 2 days before of max(0, C2 − 1) | alert when > 2 |
//! | `ewma` | [`ewma`] | ESSENCE EWMA: two exponentially weighted averages (w = 0.4, 0.9) against a 28-day baseline, 2-day guard | warning p < 0.05, alert p < 0.01 |
//! | `regression` | [`regression`] | ESSENCE adaptive regression: linear trend + day-of-week terms fitted on 28 days, forecast 3 days ahead | warning p < 0.05, alert p < 0.01 |
//! | `cusum` | [`cusum`] | one-sided CUSUM of values standardized against a moving baseline with a guard band | alert when S > h |
//!
//! **EARS C1, C2, C3** are the Early Aberration Reporting System's three methods as
//! Hutwagner, Thompson, Seeman and Treadwell define them ("The bioterrorism preparedness
//! and response Early Aberration Reporting System (EARS)", *J Urban Health* 80(2 Suppl 1),
//! 2003) and as Hutwagner, Browne, Seeman and Fleischauer evaluate them ("Comparing
//! aberration detection methods with simulated data", *Emerg Infect Dis* 11(2), 2005;
//! and "A simulation model for assessing aberration detection methods used in public health
//! surveillance for systems with limited baselines", *Stat Med* 24(4), 2005). They are the
//! reference the others are measured against (`mindpulse bench alerts`). Their statistic is
//! a z-score with a fixed cut-off, not a test with a known null distribution (the baseline
//! is 7 days, counts are not normal), so they give no p-value.
//!
//! **EWMA and regression** are the NSSP-ESSENCE detectors exactly as CDC's `pynssp`
//! package (0.1.0, `alert_ewma` and `alert_regression`, a port of the R `Rnssp` package)
//! computes them, quirks included, so that an alert raised here is one an ESSENCE user
//! would raise too: the same baseline windows (which grow from 11 days to their full
//! length), the same bounded standard errors, the same t-distribution p-values (computed
//! as 1 − F(t), as pynssp does) and the same levels. The crate's test
//! `tests/pynssp.rs` runs pynssp itself and checks alert levels and p-values agree.
//!
//! **CUSUM** is Page's cumulative sum ("Continuous inspection schemes", *Biometrika* 41,
//! 1954) applied as Fricker, Hegler and Dunfee apply it to syndromic surveillance
//! ("Comparing syndromic surveillance detection methods: EARS' versus a CUSUM-based
//! methodology", *Stat Med* 27(17), 2008): each day is standardized against the mean and
//! standard deviation of a moving baseline that ends a guard band before it, then
//! S_t = max(0, S_{t−1} + z_t − k) and an alert is raised when S_t > h (after which S is
//! reset to 0, as they do). The R package `surveillance` implements the same recursion
//! (`cusum`, `categoricalCUSUM`).
//!
//! # Zero spread
//!
//! A baseline whose values are all equal has standard deviation 0. The EARS methods and
//! CUSUM follow R's `surveillance::earsC` (its `minSigma` argument, default 0): the
//! standard deviation is floored at the `min_sigma` parameter (default 0), and with a
//! floor of 0 any value above the constant baseline is an infinite excess (an alert;
//! `earsC`'s upper bound is then the baseline mean itself), a value equal to it a zero
//! excess (no alert). Such a statistic is ±∞ in memory, and `null` once written as JSON.
//! Set `min_sigma` (e.g. to 1 count, or to a fraction of a typical prevalence) to make
//! sparse series less jumpy. EWMA and regression never divide by zero: ESSENCE bounds
//! their standard errors from below.
//!
//! # Prevalences and scale
//!
//! All detectors take any real values, and EARS and CUSUM are scale-free (apart from
//! `min_sigma`). ESSENCE's EWMA and regression are not: they floor their standard errors
//! at absolute amounts (about 0.2 to 0.6 units) meant for counts and percentages. A
//! prevalence given as a share in [0, 1] therefore (almost) never alerts there, in pynssp
//! as here (the pynssp test checks both): give them prevalences in percent (0–100).
//!
//! # Use
//!
//! ```
//! use mindpulse_detect::{build, episodes, Input, Level};
//! let series: Vec<f64> = (0..60).map(|i| 10.0 + (i % 3) as f64).chain([40.0]).collect();
//! let det = build("c2", &serde_json::Value::Null).unwrap();
//! let points = det.run(&Input::new(&series));
//! assert_eq!(points.len(), series.len());
//! assert_eq!(points[60].level, Level::Alert);
//! let eps = episodes(&points);
//! assert_eq!((eps[0].start, eps[0].end), (60, 60));
//! ```

pub mod baseline;
pub mod cusum;
pub mod ears;
pub mod episode;
pub mod ewma;
mod params;
pub mod reference;
pub mod regression;
pub mod rules;
pub mod special;

pub use episode::{episodes, Episode};
pub use rules::{check_rules, default_rules, Rule};

use serde::{Deserialize, Serialize};

/// The names [`build`] knows, in the order the docs and benches list them.
pub const DETECTORS: &[&str] = &["c1", "c2", "c3", "ewma", "regression", "cusum"];

/// How unusual a point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    Warning,
    Alert,
}

/// One detector output per input value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub observed: f64,
    /// The baseline's expectation for this point; None while the baseline is too short (or
    /// not a number).
    pub expected: Option<f64>,
    /// The detector's test statistic (EARS: the C value; EWMA and regression: the t
    /// statistic; CUSUM: the cumulative sum S); None while the baseline is too short.
    pub score: Option<f64>,
    /// One-sided p-value, for the detectors that define one (EWMA, regression).
    pub p_value: Option<f64>,
    pub level: Level,
}

impl Point {
    /// A point with nothing to compare it with yet.
    pub fn empty(observed: f64) -> Self {
        Self {
            observed,
            expected: None,
            score: None,
            p_value: None,
            level: Level::None,
        }
    }
}

/// A series to test: values in time order and, for a daily series, each value's day of
/// the week (0 = Monday … 6 = Sunday).
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub values: &'a [f64],
    pub weekdays: Option<&'a [u8]>,
}

impl<'a> Input<'a> {
    /// A series without days of the week (weekly, monthly, or daily without weekday terms).
    pub fn new(values: &'a [f64]) -> Self {
        Self {
            values,
            weekdays: None,
        }
    }

    /// A daily series with each value's day of the week (0 = Monday … 6 = Sunday).
    pub fn daily(values: &'a [f64], weekdays: &'a [u8]) -> Result<Self, DetectError> {
        let input = Self {
            values,
            weekdays: Some(weekdays),
        };
        input.check()?;
        Ok(input)
    }

    /// A daily series whose first value falls on `first_weekday` (0 = Monday), one value per
    /// consecutive day; returns the weekdays to pass to [`Input::daily`].
    pub fn consecutive_weekdays(len: usize, first_weekday: u8) -> Vec<u8> {
        (0..len)
            .map(|i| ((usize::from(first_weekday % 7) + i) % 7) as u8)
            .collect()
    }

    /// Checks that `weekdays`, if given, has one entry per value, each 0 … 6.
    pub fn check(&self) -> Result<(), DetectError> {
        if let Some(w) = self.weekdays {
            if w.len() != self.values.len() {
                return Err(DetectError::BadInput(format!(
                    "{} weekdays for {} values",
                    w.len(),
                    self.values.len()
                )));
            }
            if let Some(d) = w.iter().find(|d| **d > 6) {
                return Err(DetectError::BadInput(format!(
                    "weekday {d} (0 = Monday … 6 = Sunday)"
                )));
            }
        }
        Ok(())
    }
}

/// An outbreak detector. `run` gives exactly one point per input value, in order, and
/// never panics.
pub trait Detector: Send + Sync {
    /// One of [`DETECTORS`].
    fn name(&self) -> &'static str;
    /// Every parameter, defaults filled in (stored with each alert as evidence; passing it
    /// back to [`build`] gives the same detector).
    fn params(&self) -> serde_json::Value;
    /// One point per value of `input.values`, same order.
    fn run(&self, input: &Input) -> Vec<Point>;
}

/// Errors from [`build`] and [`Input::daily`].
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("unknown detector {name:?}: the detectors are {}", DETECTORS.join(", "))]
    UnknownDetector { name: String },
    #[error("detector {detector}: unknown parameter {param:?}; its parameters are {allowed}")]
    UnknownParam {
        detector: &'static str,
        param: String,
        allowed: String,
    },
    #[error("detector {detector}: parameter {param} {reason}")]
    BadParam {
        detector: &'static str,
        param: String,
        reason: String,
    },
    #[error("detector {detector}: parameters must be a JSON object, not {got}")]
    NotAnObject { detector: &'static str, got: String },
    #[error("bad input: {0}")]
    BadInput(String),
}

/// The detector `name` (one of [`DETECTORS`]) with `params` (a JSON object of the
/// parameters to change, or null for all defaults).
pub fn build(name: &str, params: &serde_json::Value) -> Result<Box<dyn Detector>, DetectError> {
    Ok(match name {
        "c1" => Box::new(ears::Ears::from_params(ears::Method::C1, params)?),
        "c2" => Box::new(ears::Ears::from_params(ears::Method::C2, params)?),
        "c3" => Box::new(ears::Ears::from_params(ears::Method::C3, params)?),
        "ewma" => Box::new(ewma::Ewma::from_params(params)?),
        "regression" => Box::new(regression::Regression::from_params(params)?),
        "cusum" => Box::new(cusum::Cusum::from_params(params)?),
        _ => {
            return Err(DetectError::UnknownDetector {
                name: name.to_string(),
            })
        }
    })
}

/// Level from a p-value and the two thresholds (ESSENCE's rule: alert when p < alert_p,
/// warning when alert_p ≤ p < warning_p).
pub(crate) fn level_from_p(p: f64, warning_p: f64, alert_p: f64) -> Level {
    if p < alert_p {
        Level::Alert
    } else if p < warning_p {
        Level::Warning
    } else {
        Level::None
    }
}

/// Some(x) unless x is NaN.
pub(crate) fn num(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn build_every_detector_and_round_trip_params() {
        for name in DETECTORS {
            let d = build(name, &serde_json::Value::Null).unwrap();
            assert_eq!(d.name(), *name);
            let again = build(name, &d.params()).unwrap();
            assert_eq!(again.params(), d.params());
            assert!(d.params().as_object().is_some_and(|m| !m.is_empty()));
        }
    }

    #[test]
    fn build_errors_name_the_culprit_and_the_choices() {
        let e = build("c4", &json!({})).err().unwrap().to_string();
        assert!(
            e.contains("\"c4\"") && e.contains("c1, c2, c3, ewma, regression, cusum"),
            "{e}"
        );
        let e = build("ewma", &json!({"lambda": 0.3}))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("lambda") && e.contains("w1"), "{e}");
        let e = build("ewma", &json!({"w1": 1.5}))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("w1"), "{e}");
        assert!(build("cusum", &json!("x")).is_err());
    }

    #[test]
    fn level_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&Level::Warning).unwrap(),
            "\"warning\""
        );
        assert_eq!(
            serde_json::from_str::<Level>("\"alert\"").unwrap(),
            Level::Alert
        );
        assert!(Level::Alert > Level::Warning && Level::Warning > Level::None);
    }

    #[test]
    fn input_checks_weekdays() {
        let v = [1.0, 2.0, 3.0];
        assert!(Input::daily(&v, &[0, 1, 2]).is_ok());
        assert!(Input::daily(&v, &[0, 1]).is_err());
        assert!(Input::daily(&v, &[0, 1, 7]).is_err());
        assert_eq!(Input::consecutive_weekdays(4, 5), vec![5, 6, 0, 1]);
    }

    /// No input panics, every detector gives one point per value, and a series too short
    /// for any baseline gives no statistic.
    #[test]
    fn every_detector_survives_hostile_input() {
        let nan_mid: Vec<f64> = (0..80)
            .map(|i| if i == 40 { f64::NAN } else { (i % 5) as f64 })
            .collect();
        let series: Vec<Vec<f64>> = vec![
            vec![],
            vec![3.0],
            vec![0.0; 100],
            vec![7.5; 100],
            nan_mid,
            (0..100)
                .map(|i| if i % 2 == 0 { f64::INFINITY } else { 1.0 })
                .collect(),
            (0..100).map(|i| 0.01 * (i % 7) as f64).collect(),
        ];
        for name in DETECTORS {
            let d = build(name, &serde_json::Value::Null).unwrap();
            for s in &series {
                let wd = Input::consecutive_weekdays(s.len(), 2);
                for input in [Input::new(s), Input::daily(s, &wd).unwrap()] {
                    let pts = d.run(&input);
                    assert_eq!(pts.len(), s.len(), "{name}");
                    for (p, x) in pts.iter().zip(s) {
                        assert!(p.observed == *x || (p.observed.is_nan() && x.is_nan()));
                        if let Some(pv) = p.p_value {
                            assert!((0.0..=1.0).contains(&pv), "{name}: p {pv}");
                        }
                    }
                }
            }
            // A constant series never alerts.
            let flat = vec![7.5; 100];
            assert!(
                d.run(&Input::new(&flat))
                    .iter()
                    .all(|p| p.level == Level::None),
                "{name}"
            );
            // Bad weekdays given directly: still one point per value.
            let bad = Input {
                values: &series[3],
                weekdays: Some(&[9u8; 3]),
            };
            assert_eq!(d.run(&bad).len(), 100);
        }
    }
}
