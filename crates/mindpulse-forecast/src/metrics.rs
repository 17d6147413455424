//! Accuracy measures of the M4 competition (Makridakis et al. 2020, "The M4 Competition:
//! 100,000 time series and 61 forecasting methods", IJF 36(1)) and interval coverage.
//!
//! - sMAPE = 200/h · Σ |y − ŷ| / (|y| + |ŷ|), in percent (a term whose denominator is zero
//!   counts as zero);
//! - MASE = mean |y − ŷ| / scale, the scale being the in-sample mean absolute error of the
//!   seasonal naive forecast, (1/(n−m)) Σ_{t>m} |y_t − y_{t−m}| (m = 1 when n ≤ m).

use crate::error::{check_series, ForecastError};

fn check_pair(actual: &[f64], forecast: &[f64]) -> Result<(), ForecastError> {
    if actual.len() != forecast.len() {
        return Err(ForecastError::InvalidArgument(format!(
            "{} actual values but {} forecasts",
            actual.len(),
            forecast.len()
        )));
    }
    check_series(actual)?;
    check_series(forecast)
}

/// Symmetric mean absolute percentage error in percent (M4 definition, 0 to 200).
pub fn smape(actual: &[f64], forecast: &[f64]) -> Result<f64, ForecastError> {
    check_pair(actual, forecast)?;
    let sum: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| {
            let d = y.abs() + f.abs();
            if d > 0.0 {
                (y - f).abs() / d
            } else {
                0.0
            }
        })
        .sum();
    Ok(200.0 * sum / actual.len() as f64)
}

/// In-sample mean absolute error of the seasonal naive forecast (the MASE denominator).
pub fn naive_scale(insample: &[f64], season_length: usize) -> Result<f64, ForecastError> {
    check_series(insample)?;
    let m = if season_length >= 1 && insample.len() > season_length {
        season_length
    } else {
        1
    };
    if insample.len() <= m {
        return Err(ForecastError::TooShort {
            got: insample.len(),
            need: m + 1,
        });
    }
    let n = insample.len() - m;
    Ok(insample
        .windows(m + 1)
        .map(|w| (w[m] - w[0]).abs())
        .sum::<f64>()
        / n as f64)
}

/// Mean absolute scaled error (M4 definition): MAE of the forecast over the in-sample
/// seasonal naive MAE. [`ForecastError::ZeroScale`] when that scale is zero.
pub fn mase(
    insample: &[f64],
    actual: &[f64],
    forecast: &[f64],
    season_length: usize,
) -> Result<f64, ForecastError> {
    check_pair(actual, forecast)?;
    let scale = naive_scale(insample, season_length)?;
    if scale <= 0.0 {
        return Err(ForecastError::ZeroScale);
    }
    let mae = actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| (y - f).abs())
        .sum::<f64>()
        / actual.len() as f64;
    Ok(mae / scale)
}

/// Number of `actual` values inside [lower, upper] (bounds included).
pub fn inside(actual: &[f64], lower: &[f64], upper: &[f64]) -> usize {
    actual
        .iter()
        .zip(lower.iter().zip(upper))
        .filter(|(y, (lo, hi))| **lo <= **y && **y <= **hi)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked() {
        // |2-1|/(2+1) + |4-4|/8 = 1/3; 200/2 · 1/3.
        assert!((smape(&[2.0, 4.0], &[1.0, 4.0]).unwrap() - 100.0 / 3.0).abs() < 1e-12);
        assert_eq!(smape(&[0.0], &[0.0]).unwrap(), 0.0);
        // Seasonal differences of 1,2,3,5 with m=2: |3-1|, |5-2| → scale 2.5; MAE 1 → 0.4.
        let m = mase(&[1.0, 2.0, 3.0, 5.0], &[6.0, 7.0], &[5.0, 8.0], 2).unwrap();
        assert!((m - 0.4).abs() < 1e-12);
        assert_eq!(
            mase(&[1.0, 1.0, 1.0], &[1.0], &[1.0], 1),
            Err(ForecastError::ZeroScale)
        );
        assert!(smape(&[1.0], &[1.0, 2.0]).is_err());
        assert_eq!(inside(&[1.0, 5.0], &[0.0, 0.0], &[2.0, 4.0]), 1);
    }
}
