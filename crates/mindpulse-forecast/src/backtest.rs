//! Rolling-origin evaluation (Tashman 2000, "Out-of-sample tests of forecasting accuracy",
//! IJF 16(4)): the series is cut at `origins` successive points `horizon` apart, so the test
//! windows tile the last origins × horizon values; at each cut AutoETS and the seasonal
//! naive forecast are fitted on the values before it and scored on the next `horizon`.

use crate::error::{check_levels, check_series, ForecastError};
use crate::metrics::{inside, mase, smape};
use crate::{auto_ets, seasonal_naive};
use serde::Serialize;

/// Mean accuracy of AutoETS over the origins, and of the seasonal naive benchmark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Mean MASE of AutoETS over the origins.
    pub mase: f64,
    /// Mean sMAPE (%) of AutoETS.
    pub smape: f64,
    /// (level, share of test values inside AutoETS's interval at that level).
    pub coverage: Vec<(f64, f64)>,
    /// Mean MASE of the seasonal naive forecast.
    pub naive_mase: f64,
    /// Mean sMAPE (%) of the seasonal naive forecast.
    pub naive_smape: f64,
    /// Number of origins evaluated.
    pub origins: usize,
}

/// Rolling-origin backtest of AutoETS against the seasonal naive forecast. Each training
/// window must be long enough for MASE's scale (more than one season) and its in-sample
/// naive differences must not all be zero.
pub fn backtest(
    y: &[f64],
    season_length: usize,
    horizon: usize,
    origins: usize,
    levels: &[f64],
) -> Result<Backtest, ForecastError> {
    check_series(y)?;
    check_levels(levels)?;
    if horizon == 0 || origins == 0 {
        return Err(ForecastError::InvalidArgument(
            "horizon and origins must be positive".into(),
        ));
    }
    let need = origins * horizon + season_length.max(1) + 4;
    if y.len() < need {
        return Err(ForecastError::TooShort { got: y.len(), need });
    }
    let (mut sum_mase, mut sum_smape, mut sum_nm, mut sum_ns) = (0.0, 0.0, 0.0, 0.0);
    let mut hits = vec![0usize; levels.len()];
    for o in 0..origins {
        let cut = y.len() - (origins - o) * horizon;
        let (train, test) = (&y[..cut], &y[cut..cut + horizon]);
        let fc = auto_ets(train, season_length)?.forecast(horizon, levels)?;
        let naive = seasonal_naive(train, season_length, horizon, &[])?;
        sum_mase += mase(train, test, &fc.mean, season_length)?;
        sum_smape += smape(test, &fc.mean)?;
        sum_nm += mase(train, test, &naive.mean, season_length)?;
        sum_ns += smape(test, &naive.mean)?;
        for (h, iv) in hits.iter_mut().zip(&fc.intervals) {
            *h += inside(test, &iv.lower, &iv.upper);
        }
    }
    let k = origins as f64;
    Ok(Backtest {
        mase: sum_mase / k,
        smape: sum_smape / k,
        coverage: levels
            .iter()
            .zip(&hits)
            .map(|(l, h)| (*l, *h as f64 / (origins * horizon) as f64))
            .collect(),
        naive_mase: sum_nm / k,
        naive_smape: sum_ns / k,
        origins,
    })
}
