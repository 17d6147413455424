//! Reading a detector's parameters from JSON: every key must be one the detector knows,
//! every value of the right type; what is left out takes its default.

use crate::DetectError;
use serde_json::{Map, Value};

/// A detector's parameter object, checked for unknown keys.
pub(crate) struct Params<'a> {
    detector: &'static str,
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Params<'a> {
    /// `value` must be a JSON object (or null: all defaults) whose keys are all in `allowed`.
    pub fn new(
        detector: &'static str,
        value: &'a Value,
        allowed: &[&str],
    ) -> Result<Self, DetectError> {
        let map = match value {
            Value::Null => None,
            Value::Object(m) => Some(m),
            other => {
                return Err(DetectError::NotAnObject {
                    detector,
                    got: other.to_string(),
                })
            }
        };
        if let Some(m) = map {
            if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(DetectError::UnknownParam {
                    detector,
                    param: k.clone(),
                    allowed: allowed.join(", "),
                });
            }
        }
        Ok(Self { detector, map })
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    fn bad(&self, param: &str, reason: impl Into<String>) -> DetectError {
        DetectError::BadParam {
            detector: self.detector,
            param: param.to_string(),
            reason: reason.into(),
        }
    }

    /// A finite number.
    pub fn f64(&self, key: &str, default: f64) -> Result<f64, DetectError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.bad(key, format!("must be a number, not {v}"))),
        }
    }

    /// A non-negative integer.
    pub fn usize(&self, key: &str, default: usize) -> Result<usize, DetectError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .and_then(|x| usize::try_from(x).ok())
                .ok_or_else(|| self.bad(key, format!("must be a non-negative integer, not {v}"))),
        }
    }

    /// A boolean.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, DetectError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad(key, format!("must be true or false, not {v}"))),
        }
    }
}

/// Checks `cond`, else the error "parameter `param` `reason`".
pub(crate) fn ensure(
    cond: bool,
    detector: &'static str,
    param: &str,
    reason: &str,
) -> Result<(), DetectError> {
    if cond {
        Ok(())
    } else {
        Err(DetectError::BadParam {
            detector,
            param: param.to_string(),
            reason: reason.to_string(),
        })
    }
}

/// Checks the p-value thresholds shared by EWMA and regression: 0 < alert_p ≤ warning_p < 1.
pub(crate) fn ensure_p_thresholds(
    detector: &'static str,
    warning_p: f64,
    alert_p: f64,
) -> Result<(), DetectError> {
    ensure(
        alert_p > 0.0 && alert_p < 1.0,
        detector,
        "alert_p",
        "must be in (0, 1)",
    )?;
    ensure(
        warning_p >= alert_p && warning_p < 1.0,
        detector,
        "warning_p",
        "must be in [alert_p, 1)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_defaults_values_and_rejects_unknown() {
        let v = json!({"k": 0.25, "baseline": 7, "reset": false, "h": null});
        let p = Params::new("cusum", &v, &["k", "h", "baseline", "reset"]).unwrap();
        assert_eq!(p.f64("k", 0.5).unwrap(), 0.25);
        assert_eq!(p.f64("h", 4.0).unwrap(), 4.0);
        assert_eq!(p.usize("baseline", 28).unwrap(), 7);
        assert!(!p.bool("reset", true).unwrap());
        let err = Params::new("cusum", &v, &["k", "h"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("baseline") && err.contains("k, h"), "{err}");
        let bad = json!({"baseline": -3});
        let p = Params::new("cusum", &bad, &["baseline"]).unwrap();
        assert!(p.usize("baseline", 1).is_err());
        assert!(Params::new("cusum", &json!([1]), &["k"]).is_err());
        assert!(Params::new("cusum", &Value::Null, &["k"]).is_ok());
    }
}
