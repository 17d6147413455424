//! mindpulse-detect's EWMA and regression against pynssp itself: the script
//! `tests/pynssp_reference.py` runs pynssp 0.1.0 in the stats venv (its python in
//! `MINDPULSE_STATS_PYTHON`, see `scripts/setup_stats_venv.sh`) on pynssp's simulated
//! series and on seeded daily count and prevalence series; every level and every p-value
//! must agree. Without the venv the test is skipped, except in CI (`CI` = true or 1),
//! where a missing peer is a failure.

use mindpulse_detect::reference::{compare, Reference, PYNSSP_SCRIPT};
use mindpulse_detect::{build, Input, Level};
use std::process::Command;

fn python() -> Option<String> {
    match std::env::var("MINDPULSE_STATS_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "MINDPULSE_STATS_PYTHON is not set: run scripts/setup_stats_venv.sh and export its last line"
            );
            eprintln!("skipping the pynssp comparison: MINDPULSE_STATS_PYTHON is not set (scripts/setup_stats_venv.sh)");
            None
        }
    }
}

#[test]
fn ewma_and_regression_match_pynssp() {
    let Some(py) = python() else { return };
    let out = Command::new(&py)
        .arg("-c")
        .arg(PYNSSP_SCRIPT)
        .output()
        .expect("run the stats venv's python");
    assert!(
        out.status.success(),
        "pynssp reference script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: Reference = serde_json::from_slice(&out.stdout).expect("script output");
    assert!(reference.cases.len() >= 8);
    let mut alerts_seen = 0;
    for case in &reference.cases {
        let det = build(&case.detector, &serde_json::Value::Null).unwrap();
        let input = match &case.weekdays {
            Some(w) => Input::daily(&case.values, w).unwrap(),
            None => Input::new(&case.values),
        };
        let points = det.run(&input);
        let a = compare(case, &points);
        eprintln!(
            "{} / {}: {} points, {} same level, alerts ours {} pynssp {} both {}, max |Δp| {:.2e}",
            case.series,
            case.detector,
            a.points,
            a.same_level,
            a.alerts_ours,
            a.alerts_theirs,
            a.alerts_both,
            a.max_abs_dp
        );
        assert!(
            a.exact(),
            "{} / {} disagrees with pynssp: {:?}",
            case.series,
            case.detector,
            a.first_mismatches
        );
        alerts_seen += points.iter().filter(|p| p.level == Level::Alert).count();
        // The p-values were compared: most points have one.
        assert!(points.iter().filter(|p| p.p_value.is_some()).count() + 13 >= points.len());
    }
    assert!(
        alerts_seen > 0,
        "the reference series should contain alerts"
    );
}
