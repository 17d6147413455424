//! Fitting ETS models: one given model by maximum likelihood ([`fit_ets`]), a model with
//! given parameters and initial state ([`Ets::with_params`]), and the automatic choice by
//! AICc over the model space ([`auto_ets`]), following statsforecast's `etsmodel`/`ets_f`.

use crate::error::{check_levels, check_series, ForecastError};
use crate::init::initial_state;
use crate::intervals::variances;
use crate::model::{Filter, Kind, Params, Spec};
use crate::optim::nelder_mead;
use crate::params::{start, Checker};
use crate::{normal, Forecast, Interval};
use serde::Serialize;

/// Convergence tolerance of the Nelder–Mead search (statsforecast's).
const NM_TOL: f64 = 1e-4;
/// Iteration limit of the Nelder–Mead search for non-seasonal models (statsforecast's).
const NM_MAX_ITER: usize = 1000;
/// Iteration limit for seasonal models (statsforecast: 1000). A search-effort trade-off,
/// chosen on M1 monthly and quarterly (see the crate doc, "Search effort").
const NM_MAX_ITER_SEASONAL: usize = 300;
/// Initial simplex step of each smoothing parameter, as a share of its range
/// (statsforecast: 5 % of the starting value). Chosen on M1 (crate doc, "Search effort").
const PARAM_STEP: f64 = 0.2;

/// A fitted ETS model: what [`Ets::forecast`] needs, and its fit statistics.
#[derive(Debug, Clone, Serialize)]
pub struct Ets {
    spec: Spec,
    season_length: usize,
    params: Params,
    /// Initial state `[ℓ0, b0?, s_0 … s_{m−1}]`.
    initial: Vec<f64>,
    /// State after the last observation.
    last: Vec<f64>,
    sigma2: f64,
    lik: f64,
    aicc: f64,
    n_params: usize,
    n: usize,
}

impl Ets {
    /// The model's name, e.g. `ETS(M,Ad,M)`.
    pub fn name(&self) -> String {
        self.spec.name()
    }
    /// Its components.
    pub fn spec(&self) -> Spec {
        self.spec
    }
    /// Season length used (1 for non-seasonal models).
    pub fn season_length(&self) -> usize {
        self.season_length
    }
    /// Smoothing parameters.
    pub fn params(&self) -> Params {
        self.params
    }
    /// Initial state `[ℓ0, b0?, s_0 … s_{m−1}]` (`s_0` the most recent seasonal state).
    pub fn initial_state(&self) -> &[f64] {
        &self.initial
    }
    /// State after the last observation, same layout.
    pub fn last_state(&self) -> &[f64] {
        &self.last
    }
    /// Error variance σ² = Σe² / (n − k), k = number of estimated values including σ
    /// (statsforecast's; for multiplicative errors e is the relative error).
    pub fn sigma2(&self) -> f64 {
        self.sigma2
    }
    /// Corrected Akaike information criterion, from −2 log L up to a constant that is the
    /// same for every model of one series (n·ln Σe² + 2Σln|ŷ|).
    pub fn aicc(&self) -> f64 {
        self.aicc
    }
    /// Number of estimated values counted by the AICc (smoothing parameters, free initial
    /// states and σ).
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// A model with fixed parameters and initial state, filtered through `y` (no fitting).
    /// `initial` holds `[ℓ0, b0?, s_0 … s_{m−1}]`: all m seasonal states.
    pub fn with_params(
        y: &[f64],
        season_length: usize,
        spec: Spec,
        params: Params,
        initial: &[f64],
    ) -> Result<Ets, ForecastError> {
        check_series(y)?;
        check_spec(y, season_length, spec)?;
        let m = if spec.season == Kind::None {
            1
        } else {
            season_length
        };
        if initial.len() != spec.n_states(m) || initial.iter().any(|v| !v.is_finite()) {
            return Err(ForecastError::InvalidArgument(format!(
                "{} needs {} finite initial states, got {}",
                spec.name(),
                spec.n_states(m),
                initial.len()
            )));
        }
        let p = normalised_params(spec, params);
        if !p.alpha.is_finite()
            || [p.beta, p.gamma, p.phi]
                .iter()
                .flatten()
                .any(|v| !v.is_finite())
        {
            return Err(ForecastError::InvalidArgument(
                "non-finite parameter".into(),
            ));
        }
        let n_free = 1
            + usize::from(p.beta.is_some())
            + usize::from(p.gamma.is_some())
            + usize::from(p.phi.is_some())
            + initial.len()
            - usize::from(spec.season != Kind::None);
        Ok(finish(y, spec, m, p, initial.to_vec(), n_free))
    }

    /// Point forecasts and prediction intervals for `horizon` steps at each of `levels`
    /// (percentages in (0, 100)). Intervals are analytic: exact variances for the linear
    /// models (class 1) and the multiplicative-error, non-multiplicative-season models
    /// (class 2), and the approximation of Hyndman et al. (2008, §6.4) for the models with
    /// multiplicative errors and season (class 3). Deterministic: no simulation is involved.
    pub fn forecast(&self, horizon: usize, levels: &[f64]) -> Result<Forecast, ForecastError> {
        check_levels(levels)?;
        if horizon == 0 {
            return Err(ForecastError::InvalidArgument("horizon 0".into()));
        }
        let filter = Filter::new(self.spec, self.season_length, &self.params);
        let mean = filter.forecast(&self.last, horizon);
        let var = variances(&filter, &self.last, &mean, self.sigma2);
        let intervals = levels
            .iter()
            .map(|&level| {
                let z = normal::interval_z(level);
                let half: Vec<f64> = var.iter().map(|v| z * v.max(0.0).sqrt()).collect();
                Interval {
                    level,
                    lower: mean.iter().zip(&half).map(|(f, w)| f - w).collect(),
                    upper: mean.iter().zip(&half).map(|(f, w)| f + w).collect(),
                }
            })
            .collect();
        Ok(Forecast {
            model: self.name(),
            mean,
            intervals,
        })
    }
}

/// Drops parameters of absent components, adds defaults for present ones left out.
fn normalised_params(spec: Spec, p: Params) -> Params {
    Params {
        alpha: p.alpha,
        beta: (spec.trend != Kind::None).then(|| p.beta.unwrap_or(0.0)),
        gamma: (spec.season != Kind::None).then(|| p.gamma.unwrap_or(0.0)),
        phi: spec.damped.then(|| p.phi.unwrap_or(1.0)),
    }
}

fn check_spec(y: &[f64], season_length: usize, spec: Spec) -> Result<(), ForecastError> {
    let bad = |reason: &str| {
        Err(ForecastError::NotApplicable {
            model: spec.name(),
            reason: reason.into(),
        })
    };
    if !spec.is_valid() {
        return bad("multiplicative trends and undamped-only specs are not supported");
    }
    if spec.is_multiplicative() && y.iter().any(|v| *v <= 0.0) {
        return bad("multiplicative components need strictly positive data");
    }
    if spec.season != Kind::None && (season_length < 2 || y.len() < 2 * season_length) {
        return bad("a seasonal model needs a season length ≥ 2 and two full seasons");
    }
    Ok(())
}

/// Filters `y` through the model and computes σ², the likelihood and the AICc.
fn finish(
    y: &[f64],
    spec: Spec,
    m: usize,
    params: Params,
    initial: Vec<f64>,
    n_free: usize,
) -> Ets {
    let filter = Filter::new(spec, m, &params);
    let mut resid = vec![0.0; y.len()];
    let mut last = Vec::new();
    let lik = filter.run(
        &initial,
        y,
        &mut Vec::new(),
        Some(&mut resid),
        Some(&mut last),
    );
    let n = y.len();
    let k = n_free + 1; // and σ
    let sse: f64 = resid.iter().map(|e| e * e).sum();
    let dof = n as f64 - k as f64 - 1.0;
    let sigma2 = if dof > 0.0 { sse / dof } else { f64::INFINITY };
    let aic = lik + 2.0 * k as f64;
    let aicc = if dof > 0.0 {
        aic + 2.0 * (k * (k + 1)) as f64 / dof
    } else {
        f64::INFINITY
    };
    Ets {
        spec,
        season_length: m,
        params,
        initial,
        last,
        sigma2,
        lik,
        aicc: if aicc.is_nan() { f64::INFINITY } else { aicc },
        n_params: k,
        n,
    }
}

/// Fits one model by maximum likelihood: Nelder–Mead over the smoothing parameters and the
/// initial states together (the last seasonal state follows from the normalisation), from
/// statsforecast's starting values, inside the usual bounds and the admissible region.
pub fn fit_ets(y: &[f64], season_length: usize, spec: Spec) -> Result<Ets, ForecastError> {
    fit_capped(y, season_length, spec, &mut 1.0)
}

/// [`fit_ets`] with the upper bound of β capped at `beta_cap` and lowered to this model's
/// starting α. [`auto_ets`] threads one cap through its candidates in statsforecast's
/// order, because statsforecast's `initparam` lowers the shared bound array in place: a
/// trended candidate's β stays below the smallest starting α of the trended candidates
/// fitted before it (≈ 0.2/m for seasonal ones), a strong, accidental but effective
/// regularisation of the slope that this crate keeps so the two select and forecast alike.
fn fit_capped(
    y: &[f64],
    season_length: usize,
    spec: Spec,
    beta_cap: &mut f64,
) -> Result<Ets, ForecastError> {
    check_series(y)?;
    check_spec(y, season_length, spec)?;
    let m = if spec.season == Kind::None {
        1
    } else {
        season_length
    };
    let not_fitted = |reason: &str| ForecastError::NotApplicable {
        model: spec.name(),
        reason: reason.into(),
    };
    let trended = spec.trend != Kind::None;
    let seasonal = spec.season != Kind::None;
    let mut st = start(trended, seasonal, spec.damped, m);
    if trended {
        *beta_cap = beta_cap.min(st.upper[1]);
        st.upper[1] = *beta_cap;
        let b = st.lower[1] + 0.1 * (st.upper[1] - st.lower[1]);
        st.beta = Some(if b < 0.0 || b > st.alpha {
            st.alpha - 1e-3
        } else {
            b
        });
    }
    let init = initial_state(y, m, spec.trend, spec.season)
        .ok_or_else(|| not_fitted("no initial state (too short or degenerate)"))?;
    let mut x0 = vec![st.alpha];
    let (mut lower, mut upper) = (vec![st.lower[0]], vec![st.upper[0]]);
    for (v, i) in [(st.beta, 1), (st.gamma, 2), (st.phi, 3)] {
        if let Some(v) = v {
            x0.push(v);
            lower.push(st.lower[i]);
            upper.push(st.upper[i]);
        }
    }
    let n_par = x0.len();
    x0.extend_from_slice(&init);
    lower.resize(x0.len(), f64::NEG_INFINITY);
    upper.resize(x0.len(), f64::INFINITY);
    if x0.len() + 1 >= y.len() {
        return Err(ForecastError::TooShort {
            got: y.len(),
            need: x0.len() + 2,
        });
    }
    let mult_season = spec.season == Kind::Multiplicative;
    let unpack = |x: &[f64]| {
        let mut j = 1;
        let mut take = |on: bool| {
            on.then(|| {
                j += 1;
                x[j - 1]
            })
        };
        let beta = take(trended);
        let gamma = take(seasonal);
        let phi = take(spec.damped);
        Params {
            alpha: x[0],
            beta,
            gamma,
            phi,
        }
    };
    let s_start = 1 + usize::from(trended);
    let full_state = |x: &[f64], out: &mut Vec<f64>| {
        out.clear();
        out.extend_from_slice(&x[n_par..]);
        if seasonal {
            let sum: f64 = out[s_start..].iter().sum();
            out.push(if mult_season { m as f64 } else { 0.0 } - sum);
        }
    };
    let mut state = Vec::with_capacity(init.len() + 1);
    let mut ring = Vec::with_capacity(m);
    let mut checker = Checker::new(m);
    let objective = |x: &[f64]| {
        let p = unpack(x);
        if !checker.valid(p.alpha, p.beta, p.gamma, p.phi) {
            return f64::INFINITY;
        }
        full_state(x, &mut state);
        if mult_season && state[s_start..].iter().any(|s| *s < 0.0) {
            return f64::INFINITY;
        }
        let lik = Filter::new(spec, m, &p).run(&state, y, &mut ring, None, None);
        if lik.is_nan() {
            f64::INFINITY
        } else {
            lik.max(-1e10)
        }
    };
    // Seasonal models: initial simplex with an absolute step of PARAM_STEP × (upper − lower)
    // for each smoothing parameter (statsforecast's 5 % relative step for the initial
    // states), and fewer iterations. Non-seasonal models: statsforecast's search.
    let (steps, max_iter): (Vec<f64>, usize) = if seasonal {
        let steps = (0..n_par)
            .map(|j| PARAM_STEP * (upper[j] - lower[j]))
            .collect();
        (steps, NM_MAX_ITER_SEASONAL)
    } else {
        (Vec::new(), NM_MAX_ITER)
    };
    let best = nelder_mead(objective, &x0, &lower, &upper, &steps, NM_TOL, max_iter);
    if !best.f.is_finite() {
        return Err(not_fitted(
            "the likelihood is not finite anywhere the optimiser looked",
        ));
    }
    let params = unpack(&best.x);
    let mut initial = Vec::new();
    full_state(&best.x, &mut initial);
    let fit = finish(y, spec, m, params, initial, best.x.len());
    if fit.last.iter().any(|v| !v.is_finite()) {
        return Err(not_fitted("the fitted states are not finite"));
    }
    Ok(fit)
}

/// The candidate models of the automatic search for a series: errors A and M, trends N, A
/// and Ad, seasons N, A and M, without additive errors with multiplicative seasons (the
/// restriction of R forecast and statsforecast), without multiplicative components when the
/// series has zeros or negative values, and without seasonal models when `season_length`
/// < 2 or the series is shorter than two seasons.
pub fn candidates(y: &[f64], season_length: usize) -> Vec<Spec> {
    let positive = y.iter().all(|v| *v > 0.0);
    let seasonal_ok = season_length >= 2 && y.len() >= 2 * season_length;
    let mut out = Vec::new();
    for error in [Kind::Additive, Kind::Multiplicative] {
        for trend in [Kind::None, Kind::Additive] {
            for season in [Kind::None, Kind::Additive, Kind::Multiplicative] {
                for damped in [true, false] {
                    let spec = Spec {
                        error,
                        trend,
                        damped,
                        season,
                    };
                    if (damped && trend == Kind::None)
                        || spec.is_restricted()
                        || (!positive && spec.is_multiplicative())
                        || (season != Kind::None && !seasonal_ok)
                    {
                        continue;
                    }
                    out.push(spec);
                }
            }
        }
    }
    out
}

/// Fits every candidate model (see [`candidates`]) and returns the one with the lowest AICc.
///
/// A constant series gets ETS(A,N,N) with α = 0.9999 and σ² = 0 (flat forecasts, intervals
/// of zero width), as statsforecast does. Errors: [`ForecastError::Empty`],
/// [`ForecastError::NonFinite`], and [`ForecastError::NoModel`] when the series is too short
/// for every candidate (fewer than 5 values).
pub fn auto_ets(y: &[f64], season_length: usize) -> Result<Ets, ForecastError> {
    check_series(y)?;
    if y.iter().all(|v| *v == y[0]) {
        let spec = Spec {
            error: Kind::Additive,
            trend: Kind::None,
            damped: false,
            season: Kind::None,
        };
        let p = Params {
            alpha: 0.9999,
            beta: None,
            gamma: None,
            phi: None,
        };
        let mut fit = Ets::with_params(y, 1, spec, p, &[y[0]])?;
        fit.sigma2 = 0.0;
        return Ok(fit);
    }
    let mut best: Option<Ets> = None;
    let mut beta_cap = 1.0;
    for spec in candidates(y, season_length) {
        if let Ok(fit) = fit_capped(y, season_length, spec, &mut beta_cap) {
            if fit.aicc.is_finite() && best.as_ref().is_none_or(|b| fit.aicc < b.aicc) {
                best = Some(fit);
            }
        }
    }
    best.ok_or(ForecastError::NoModel)
}
