//! The next buckets of a trend series from AutoETS with 80 % and 95 % intervals: what
//! `mindpulse forecast` prints and the web interface's overview draws. Days without posts
//! count as zero posts; a prevalence has no value on such a day, so it is interpolated
//! between its neighbours (counted in `interpolated`); leading gaps are dropped.

use crate::watch::buckets::{group_series, Step as BucketStep};
use anyhow::{bail, Context as _};
use chrono::Duration;
use mindpulse_analyze::TrendRow;
use serde::Serialize;

/// One forecast bucket (shares in 0–1 for a dimension, counts for volume).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub bucket: String,
    pub mean: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

/// A fitted projection of one series.
#[derive(Debug, Clone)]
pub struct Projection {
    /// The model AutoETS chose.
    pub model: String,
    /// The values the model was fitted on (percent for a dimension), gaps filled.
    pub history: Vec<f64>,
    pub first_bucket: String,
    pub last_bucket: String,
    pub interpolated: usize,
    pub steps: Vec<Step>,
}

/// Fits the series of `group` (None: all posts) in `rows` and forecasts `horizon` buckets.
/// Refuses series with too few posts to forecast without showing small cells.
pub fn project(
    rows: &[TrendRow],
    volume: bool,
    group: Option<&str>,
    step: BucketStep,
    season: usize,
    horizon: usize,
    min_cell: u64,
) -> anyhow::Result<Projection> {
    let all = group_series(rows, volume, step);
    let wanted = group.map(str::to_string);
    let Some(s) = all.into_iter().find(|s| s.group == wanted) else {
        bail!(
            "no posts{} in the window",
            group
                .map(|g| format!(" in group {g:?}"))
                .unwrap_or_default()
        );
    };
    let total: u64 = s.n.iter().sum();
    if total < min_cell * s.n.len().max(1) as u64 / 2 {
        bail!(
            "the series has {total} posts over {} buckets: too few to forecast without showing small cells (under {min_cell} posts)",
            s.n.len()
        );
    }
    let mut values = s.values.clone();
    let interpolated = fill_gaps(&mut values);
    let start = values.iter().position(|v| v.is_finite()).unwrap_or(0);
    let y = values[start..].to_vec();
    if y.len() < 4 {
        bail!("{} bucket(s) of history: too short to forecast", y.len());
    }
    let model = mindpulse_forecast::auto_ets(&y, season).context("fitting the model")?;
    let fc = model.forecast(horizon, &[80.0, 95.0])?;
    let last_day = *s.buckets.last().context("an empty series")?;
    let clamp = |v: f64| {
        if volume {
            v.max(0.0)
        } else {
            v.clamp(0.0, 100.0)
        }
    };
    let unit = |v: f64| if volume { v } else { v / 100.0 };
    let interval = |level: f64| fc.intervals.iter().find(|i| i.level == level);
    let (Some(i80), Some(i95)) = (interval(80.0), interval(95.0)) else {
        bail!("the model gave no 80 % and 95 % intervals");
    };
    let steps = (0..horizon)
        .map(|h| Step {
            bucket: (last_day + Duration::days(step.days() * (h as i64 + 1))).to_string(),
            mean: unit(clamp(fc.mean[h])),
            lo80: unit(clamp(i80.lower[h])),
            hi80: unit(clamp(i80.upper[h])),
            lo95: unit(clamp(i95.lower[h])),
            hi95: unit(clamp(i95.upper[h])),
        })
        .collect();
    Ok(Projection {
        model: fc.model.clone(),
        history: y,
        first_bucket: s.buckets[start].to_string(),
        last_bucket: last_day.to_string(),
        interpolated,
        steps,
    })
}

/// Linear interpolation over NaN runs between two values; NaN at the ends stays. Returns
/// how many values were filled.
fn fill_gaps(values: &mut [f64]) -> usize {
    let known: Vec<usize> = (0..values.len())
        .filter(|i| values[*i].is_finite())
        .collect();
    let mut filled = 0;
    for w in known.windows(2) {
        let (a, b) = (w[0], w[1]);
        for i in a + 1..b {
            let t = (i - a) as f64 / (b - a) as f64;
            values[i] = values[a] + t * (values[b] - values[a]);
            filled += 1;
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_interpolated_between_known_values_only() {
        let mut v = vec![f64::NAN, 1.0, f64::NAN, f64::NAN, 4.0, f64::NAN];
        assert_eq!(fill_gaps(&mut v), 2);
        assert_eq!(&v[1..5], &[1.0, 2.0, 3.0, 4.0]);
        assert!(v[0].is_nan() && v[5].is_nan());
    }
}
