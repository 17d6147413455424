//! The pynssp reference check: the Python script that runs pynssp's `alert_ewma` and
//! `alert_regression` on its simulated series and on seeded series, the shape of its JSON
//! output, and the comparison of its levels and p-values with this crate's. Running the
//! script (a subprocess, in the stats venv) is the caller's business: the crate's test
//! `tests/pynssp.rs` and `mindpulse bench alerts` do it.

use crate::{Level, Point};
use serde::Deserialize;

/// The script (`tests/pynssp_reference.py`); run it with the venv's python, read stdout.
pub const PYNSSP_SCRIPT: &str = include_str!("../tests/pynssp_reference.py");

/// Two p-values agree when |Δp| ≤ REL_TOL·p + ABS_TOL. ABS_TOL covers the last bits of
/// 1 − F(t) (both sides compute the p-value as one minus a CDF that is near 1).
pub const REL_TOL: f64 = 1e-9;
/// See [`REL_TOL`].
pub const ABS_TOL: f64 = 1e-15;

/// The script's output.
#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub pynssp: String,
    pub cases: Vec<Case>,
}

/// One series through one pynssp detector.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub series: String,
    /// "ewma" or "regression".
    pub detector: String,
    pub values: Vec<f64>,
    /// 0 = Monday … 6 = Sunday, or null for a weekly series.
    pub weekdays: Option<Vec<u8>>,
    /// pynssp's p-values (null where it gives NaN).
    pub p_values: Vec<Option<f64>>,
    /// pynssp's colours: red (alert), yellow (warning), blue (none), grey (not tested).
    pub alerts: Vec<String>,
}

/// pynssp's colour as a level (grey and blue are both "none").
pub fn level_of(colour: &str) -> Option<Level> {
    match colour {
        "red" => Some(Level::Alert),
        "yellow" => Some(Level::Warning),
        "blue" | "grey" => Some(Level::None),
        _ => None,
    }
}

/// How closely our points match pynssp's on one case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Agreement {
    pub points: usize,
    /// Points with the same level (grey and blue both count as none).
    pub same_level: usize,
    /// Points where pynssp gives a p-value and we do not, or the reverse.
    pub p_missing: usize,
    /// Days at level alert: ours, pynssp's, both.
    pub alerts_ours: usize,
    pub alerts_theirs: usize,
    pub alerts_both: usize,
    /// Days at warning or alert: ours, pynssp's, both.
    pub flagged_ours: usize,
    pub flagged_theirs: usize,
    pub flagged_both: usize,
    pub max_abs_dp: f64,
    /// Points whose p-values differ by more than the tolerance.
    pub p_out_of_tolerance: usize,
    /// The first few disagreements, described.
    pub first_mismatches: Vec<String>,
}

impl Agreement {
    /// Everything agrees: same number of points, same levels, same p-values within tolerance.
    pub fn exact(&self) -> bool {
        self.same_level == self.points && self.p_missing == 0 && self.p_out_of_tolerance == 0
    }
}

/// Compares `ours` (one point per value of `case.values`) with pynssp's results.
pub fn compare(case: &Case, ours: &[Point]) -> Agreement {
    let mut a = Agreement {
        points: case.values.len(),
        ..Agreement::default()
    };
    let note = |a: &mut Agreement, s: String| {
        if a.first_mismatches.len() < 5 {
            a.first_mismatches.push(s);
        }
    };
    if ours.len() != case.values.len()
        || case.p_values.len() != case.values.len()
        || case.alerts.len() != case.values.len()
    {
        note(
            &mut a,
            format!(
                "lengths differ: {} values, {} of our points, {} p-values, {} alerts",
                case.values.len(),
                ours.len(),
                case.p_values.len(),
                case.alerts.len()
            ),
        );
        return a;
    }
    for (i, (p, (theirs_p, colour))) in ours
        .iter()
        .zip(case.p_values.iter().zip(&case.alerts))
        .enumerate()
    {
        let theirs = level_of(colour);
        if theirs == Some(p.level) {
            a.same_level += 1;
        } else {
            note(
                &mut a,
                format!("day {i}: level {:?} vs pynssp {colour}", p.level),
            );
        }
        let ours_alert = p.level == Level::Alert;
        let theirs_alert = theirs == Some(Level::Alert);
        a.alerts_ours += usize::from(ours_alert);
        a.alerts_theirs += usize::from(theirs_alert);
        a.alerts_both += usize::from(ours_alert && theirs_alert);
        let ours_flag = p.level != Level::None;
        let theirs_flag = matches!(theirs, Some(Level::Alert | Level::Warning));
        a.flagged_ours += usize::from(ours_flag);
        a.flagged_theirs += usize::from(theirs_flag);
        a.flagged_both += usize::from(ours_flag && theirs_flag);
        match (p.p_value, theirs_p) {
            (Some(x), Some(y)) => {
                let d = (x - y).abs();
                if d > a.max_abs_dp {
                    a.max_abs_dp = d;
                }
                let within = d <= REL_TOL * y.abs() + ABS_TOL;
                if !within {
                    a.p_out_of_tolerance += 1;
                    note(&mut a, format!("day {i}: p {x:e} vs pynssp {y:e}"));
                }
            }
            (None, None) => {}
            (x, y) => {
                a.p_missing += 1;
                note(&mut a, format!("day {i}: p {x:?} vs pynssp {y:?}"));
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(level: Level, p: Option<f64>) -> Point {
        Point {
            observed: 1.0,
            expected: p.map(|_| 1.0),
            score: p.map(|_| 0.0),
            p_value: p,
            level,
        }
    }

    #[test]
    fn compare_counts_agreement_and_tolerance() {
        let case = Case {
            series: "s".into(),
            detector: "ewma".into(),
            values: vec![1.0; 4],
            weekdays: None,
            p_values: vec![None, Some(0.5), Some(0.004), Some(0.03)],
            alerts: vec!["grey".into(), "blue".into(), "red".into(), "yellow".into()],
        };
        let same = [
            point(Level::None, None),
            point(Level::None, Some(0.5 + 1e-16)),
            point(Level::Alert, Some(0.004)),
            point(Level::Warning, Some(0.03)),
        ];
        let a = compare(&case, &same);
        assert!(a.exact(), "{a:?}");
        assert_eq!((a.alerts_both, a.flagged_both), (1, 2));
        let mut off = same.clone();
        off[3] = point(Level::Warning, Some(0.03 * (1.0 + 1e-7)));
        off[2] = point(Level::Warning, Some(0.011));
        let a = compare(&case, &off);
        assert!(!a.exact());
        assert_eq!(
            (a.same_level, a.p_out_of_tolerance, a.alerts_both),
            (3, 2, 0)
        );
        assert!((a.max_abs_dp - 0.007).abs() < 1e-12);
        assert!(!compare(&case, &same[..3]).exact());
    }

    #[test]
    fn the_script_is_embedded() {
        assert!(PYNSSP_SCRIPT.contains("alert_regression") && PYNSSP_SCRIPT.contains("alert_ewma"));
    }
}
