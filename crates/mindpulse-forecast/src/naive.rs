//! The seasonal naive forecast, ŷ_{n+h} = y_{n+h−m(⌊(h−1)/m⌋+1)}, with statsforecast's
//! intervals: σ² = Σ_{t>m} (y_t − y_{t−m})² / (n − m), and the h-step standard deviation
//! σ √(⌊(h−1)/m⌋ + 1) (Hyndman & Athanasopoulos, "Forecasting: Principles and Practice",
//! §5.5).

use crate::error::{check_levels, check_series, ForecastError};
use crate::{normal, Forecast, Interval};

/// Seasonal naive forecasts of `y` for `horizon` steps with intervals at `levels` (percent).
/// With `season_length` ≤ 1 or a series shorter than one season plus one, the plain naive
/// forecast (m = 1). Needs at least two values.
pub fn seasonal_naive(
    y: &[f64],
    season_length: usize,
    horizon: usize,
    levels: &[f64],
) -> Result<Forecast, ForecastError> {
    check_series(y)?;
    check_levels(levels)?;
    if horizon == 0 {
        return Err(ForecastError::InvalidArgument("horizon 0".into()));
    }
    let n = y.len();
    let m = if season_length >= 1 && n > season_length {
        season_length
    } else {
        1
    };
    if n <= m {
        return Err(ForecastError::TooShort { got: n, need: 2 });
    }
    let last = &y[n - m..];
    let mean: Vec<f64> = (0..horizon).map(|i| last[i % m]).collect();
    let sse: f64 = y.windows(m + 1).map(|w| (w[m] - w[0]).powi(2)).sum();
    let sigma = (sse / (n - m) as f64).sqrt();
    let intervals = levels
        .iter()
        .map(|&level| {
            let z = normal::interval_z(level);
            let half: Vec<f64> = (0..horizon)
                .map(|i| z * sigma * (((i / m) + 1) as f64).sqrt())
                .collect();
            Interval {
                level,
                lower: mean.iter().zip(&half).map(|(f, w)| f - w).collect(),
                upper: mean.iter().zip(&half).map(|(f, w)| f + w).collect(),
            }
        })
        .collect();
    Ok(Forecast {
        model: if m > 1 {
            "SeasonalNaive".into()
        } else {
            "Naive".into()
        },
        mean,
        intervals,
    })
}
