//! The errors of this crate: every input the functions refuse is named here, nothing panics.

use thiserror::Error;

/// Why a forecast, a fit or a score could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ForecastError {
    /// The series is empty.
    #[error("the series is empty")]
    Empty,
    /// The series holds a NaN or an infinite value (at this 0-based index).
    #[error("the series holds a non-finite value at index {0}")]
    NonFinite(usize),
    /// The series is too short for the requested computation.
    #[error("the series is too short: {got} values, at least {need} needed")]
    TooShort { got: usize, need: usize },
    /// A prediction-interval level outside (0, 100).
    #[error("invalid interval level {0}: levels are percentages in (0, 100)")]
    InvalidLevel(f64),
    /// A horizon of zero, or a parameter that makes no sense (described in the message).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The requested model cannot describe this series (e.g. multiplicative on zeros).
    #[error("model {model} is not applicable: {reason}")]
    NotApplicable { model: String, reason: String },
    /// No candidate model could be fitted.
    #[error("no ETS model could be fitted to the series")]
    NoModel,
    /// A scaled error is undefined because its scale (the in-sample naive error) is zero.
    #[error("the scale of the error is zero (the in-sample seasonal differences are all zero)")]
    ZeroScale,
}

/// Checks that `y` is non-empty and finite.
pub(crate) fn check_series(y: &[f64]) -> Result<(), ForecastError> {
    if y.is_empty() {
        return Err(ForecastError::Empty);
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(ForecastError::NonFinite(i));
    }
    Ok(())
}

/// Checks interval levels: each in (0, 100).
pub(crate) fn check_levels(levels: &[f64]) -> Result<(), ForecastError> {
    match levels
        .iter()
        .find(|l| !(l.is_finite() && **l > 0.0 && **l < 100.0))
    {
        Some(l) => Err(ForecastError::InvalidLevel(*l)),
        None => Ok(()),
    }
}
