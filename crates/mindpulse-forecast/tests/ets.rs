//! Hand-checkable behaviour of the forecasts, and one comparison with statsforecast.

use mindpulse_forecast::{
    auto_ets, backtest, candidates, fit_ets, seasonal_naive, Ets, ForecastError, Kind, Params, Spec,
};

/// Deterministic pseudo-noise in [−0.5, 0.5).
fn noise(t: usize) -> f64 {
    let x = ((t as f64 + 1.0) * 12.9898).sin() * 43_758.545_3;
    x - x.floor() - 0.5
}

const WEEK: [f64; 7] = [0.0, 3.0, 5.0, 4.0, 1.0, -6.0, -7.0];

fn weekly(n: usize, level: f64, slope: f64, amp: f64) -> Vec<f64> {
    (0..n)
        .map(|t| level + slope * t as f64 + WEEK[t % 7] + amp * noise(t))
        .collect()
}

#[test]
fn simple_exponential_smoothing_matches_a_hand_computation() {
    let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let spec = Spec::parse("ANN").unwrap();
    let p = Params {
        alpha: 0.5,
        beta: None,
        gamma: None,
        phi: None,
    };
    let fit = Ets::with_params(&y, 1, spec, p, &[0.0]).unwrap();
    // ℓ_t = ℓ_{t−1} + 0.5 (y_t − ℓ_{t−1}): 0.5, 1.25, 2.125, 3.0625, 4.03125, 5.015625.
    assert_eq!(fit.last_state(), &[5.015625]);
    // Errors 1, 1.5, 1.75, 1.875, 1.9375, 1.96875; SSE / (n − 3 − 1), 3 = α, ℓ0, σ.
    let sse = 1.0 + 2.25 + 3.0625 + 3.515625 + 3.75390625 + 3.8759765625;
    assert!((fit.sigma2() - sse / 2.0).abs() < 1e-12);
    let fc = fit.forecast(3, &[95.0]).unwrap();
    assert_eq!(fc.mean, vec![5.015625; 3]);
    // Var_h = σ²(1 + α²(h − 1)).
    for (h, (lo, hi)) in fc.intervals[0]
        .lower
        .iter()
        .zip(&fc.intervals[0].upper)
        .enumerate()
    {
        let sd = (fit.sigma2() * (1.0 + 0.25 * h as f64)).sqrt();
        assert!(((hi - lo) / 2.0 - 1.959_963_984_540_054 * sd).abs() < 1e-9);
    }
    assert_eq!(fc.model, "ETS(A,N,N)");
}

#[test]
fn fitted_ses_tracks_a_level_shift() {
    // Flat at 10 then flat at 20: the ML fit of ANN ends near 20 with a large α.
    let y: Vec<f64> = (0..40)
        .map(|t| if t < 20 { 10.0 } else { 20.0 } + 0.1 * noise(t))
        .collect();
    let fit = fit_ets(&y, 1, Spec::parse("ANN").unwrap()).unwrap();
    let fc = fit.forecast(1, &[]).unwrap();
    assert!((fc.mean[0] - 20.0).abs() < 0.2, "{}", fc.mean[0]);
    assert!(fit.params().alpha > 0.5);
}

#[test]
fn a_pure_weekly_pattern_is_recovered() {
    let y = weekly(8 * 7, 50.0, 0.0, 0.01);
    let fit = auto_ets(&y, 7).unwrap();
    assert_ne!(fit.spec().season, Kind::None, "{}", fit.name());
    let fc = fit.forecast(14, &[80.0]).unwrap();
    for (h, f) in fc.mean.iter().enumerate() {
        let want = 50.0 + WEEK[(56 + h) % 7];
        assert!((f - want).abs() < 0.1, "h={h}: {f} vs {want}");
    }
}

#[test]
fn intervals_widen_with_the_horizon_and_nest() {
    for spec in ["ANN", "AAdA", "MAN", "MNM", "MAdM"] {
        let y = weekly(10 * 7, 100.0, 0.3, 4.0);
        let fit = fit_ets(&y, 7, Spec::parse(spec).unwrap()).unwrap();
        let fc = fit.forecast(21, &[80.0, 95.0]).unwrap();
        let (i80, i95) = (&fc.intervals[0], &fc.intervals[1]);
        let width = |i: &mindpulse_forecast::Interval, h: usize| i.upper[h] - i.lower[h];
        for h in 0..21 {
            assert!(
                i95.lower[h] < i80.lower[h] && i80.upper[h] < i95.upper[h],
                "{spec}"
            );
            assert!(
                i80.lower[h] < fc.mean[h] && fc.mean[h] < i80.upper[h],
                "{spec}"
            );
        }
        // Wider at the end of each week-ahead block than at its start, and overall.
        assert!(width(i95, 20) > width(i95, 0), "{spec}");
        assert!(
            width(i80, 14) > width(i80, 7) && width(i80, 7) > width(i80, 0),
            "{spec}"
        );
    }
}

#[test]
fn same_input_gives_bit_identical_output() {
    let y = weekly(9 * 7, 30.0, 0.1, 3.0);
    let a = auto_ets(&y, 7)
        .unwrap()
        .forecast(14, &[80.0, 95.0])
        .unwrap();
    let b = auto_ets(&y, 7)
        .unwrap()
        .forecast(14, &[80.0, 95.0])
        .unwrap();
    let bits = |f: &mindpulse_forecast::Forecast| -> Vec<u64> {
        f.mean
            .iter()
            .chain(
                f.intervals
                    .iter()
                    .flat_map(|i| i.lower.iter().chain(&i.upper)),
            )
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(a.model, b.model);
    assert_eq!(bits(&a), bits(&b));
}

#[test]
fn zeros_exclude_multiplicative_models() {
    let mut y = weekly(8 * 7, 20.0, 0.0, 2.0);
    assert!(candidates(&y, 7).iter().any(|s| s.is_multiplicative()));
    y[10] = 0.0;
    let c = candidates(&y, 7);
    assert!(!c.is_empty() && c.iter().all(|s| !s.is_multiplicative()));
    let fit = auto_ets(&y, 7).unwrap();
    assert!(!fit.spec().is_multiplicative(), "{}", fit.name());
    assert!(matches!(
        fit_ets(&y, 7, Spec::parse("MNN").unwrap()),
        Err(ForecastError::NotApplicable { .. })
    ));
}

#[test]
fn awkward_inputs_give_errors_or_defined_results() {
    assert_eq!(auto_ets(&[], 7).unwrap_err(), ForecastError::Empty);
    assert_eq!(
        auto_ets(&[1.0, f64::NAN, 2.0], 7).unwrap_err(),
        ForecastError::NonFinite(1)
    );
    assert_eq!(
        auto_ets(&[1.0, f64::INFINITY], 1).unwrap_err(),
        ForecastError::NonFinite(1)
    );
    // Constant: flat forecast, zero-width intervals.
    let fc = auto_ets(&[5.0; 30], 7)
        .unwrap()
        .forecast(7, &[95.0])
        .unwrap();
    assert_eq!(fc.mean, vec![5.0; 7]);
    assert_eq!(fc.intervals[0].lower, vec![5.0; 7]);
    // Fewer than two seasons: non-seasonal.
    let y = weekly(12, 10.0, 0.0, 1.0);
    assert!(candidates(&y, 7).iter().all(|s| s.season == Kind::None));
    assert_eq!(auto_ets(&y, 7).unwrap().spec().season, Kind::None);
    // Every short length, with and without season, including zeros and negatives: no panic.
    for n in 1..40 {
        for m in [0, 1, 2, 7, 12] {
            let y: Vec<f64> = (0..n).map(|t| (t % 5) as f64 - 1.0 + noise(t)).collect();
            if let Ok(f) = auto_ets(&y, m) {
                let fc = f.forecast(5, &[80.0]).unwrap();
                assert!(fc.mean.iter().all(|v| v.is_finite()), "n={n} m={m}");
            }
            let _ = seasonal_naive(&y, m, 3, &[95.0]);
        }
    }
    assert!(matches!(
        auto_ets(&[1.0, 2.0], 1),
        Err(ForecastError::NoModel)
    ));
    let fit = auto_ets(&weekly(30, 10.0, 0.0, 1.0), 7).unwrap();
    assert!(matches!(
        fit.forecast(0, &[]),
        Err(ForecastError::InvalidArgument(_))
    ));
    assert_eq!(
        fit.forecast(3, &[100.0]).unwrap_err(),
        ForecastError::InvalidLevel(100.0)
    );
}

#[test]
fn seasonal_naive_repeats_the_last_season() {
    let y = [1.0, 2.0, 3.0, 2.0, 3.0, 5.0];
    let fc = seasonal_naive(&y, 3, 5, &[80.0]).unwrap();
    assert_eq!(fc.mean, vec![2.0, 3.0, 5.0, 2.0, 3.0]);
    // σ² = (1 + 1 + 4) / 3; half-width z·σ·√(⌊(h−1)/m⌋ + 1).
    let sd = 2.0_f64.sqrt();
    let w: Vec<f64> = fc.intervals[0]
        .upper
        .iter()
        .zip(&fc.mean)
        .map(|(u, m)| u - m)
        .collect();
    assert!((w[0] - 1.281_551_565_544_600_5 * sd).abs() < 1e-12);
    assert!((w[4] - 1.281_551_565_544_600_5 * sd * 2.0_f64.sqrt()).abs() < 1e-12);
}

#[test]
fn backtest_beats_naive_on_a_trended_seasonal_series() {
    let y = weekly(20 * 7, 40.0, 0.5, 1.0);
    let b = backtest(&y, 7, 7, 4, &[80.0, 95.0]).unwrap();
    assert_eq!(b.origins, 4);
    assert!(b.mase < b.naive_mase, "{b:?}");
    assert!(b.coverage[1].1 >= b.coverage[0].1);
    assert!(backtest(&y[..20], 7, 7, 4, &[80.0]).is_err());
}

/// Compares with statsforecast's AutoETS on a few M3 monthly series through the venv named
/// by MINDPULSE_STATS_PYTHON (scripts/setup_stats_venv.sh).
#[test]
fn mase_close_to_statsforecast_on_m3_monthly() {
    let Some(python) = std::env::var_os("MINDPULSE_STATS_PYTHON").filter(|p| !p.is_empty()) else {
        let ci = std::env::var("CI")
            .map(|v| v == "true" || v == "1")
            .unwrap_or(false);
        assert!(
            !ci,
            "MINDPULSE_STATS_PYTHON is not set (CI): run scripts/setup_stats_venv.sh"
        );
        eprintln!("skipped: MINDPULSE_STATS_PYTHON is not set");
        return;
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::temp_dir().join(format!("mindpulse-forecast-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let peer = mindpulse_forecast::bench::run_peer(
        std::path::Path::new(&python),
        &root.join("scripts/bench/forecast_peer.py"),
        "m3",
        "monthly",
        12,
        1,
        &dir.join("peer.json"),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let r = mindpulse_forecast::bench::evaluate(&peer, 1);
    let (ours, theirs) = (&r.scores[0], &r.scores[2]);
    assert_eq!(ours.failed, 0);
    assert_eq!(theirs.failed, 0);
    let ratio = ours.mase / theirs.mase;
    eprintln!(
        "MASE {:.4} vs statsforecast {:.4} (ratio {ratio:.4}), same model {:.0} %",
        ours.mase,
        theirs.mase,
        100.0 * r.same_model
    );
    assert!(
        (ratio - 1.0).abs() < 0.05,
        "MASE {} vs {}",
        ours.mase,
        theirs.mase
    );
    assert!(r.same_model >= 0.5);
}
