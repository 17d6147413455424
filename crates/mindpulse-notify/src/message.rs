//! [`AlertMessage`]: what the caller knows about one alert, ready to be rendered.

use serde::{Deserialize, Serialize};

/// One alert, as the alert scanner reports it. The caller prepares `summary` (one human
/// line); the formats add the numbers and the link around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// The alert's id in the database (stable across retries, so receivers can dedupe).
    pub id: i64,
    /// The metric, e.g. `"depression_share"`.
    pub metric: String,
    /// The group (platform, region, topic, …) or `None` for the whole population.
    pub group: Option<String>,
    /// The time bucket, e.g. `"2025-03-14"` or `"2025-W11"`.
    pub bucket: String,
    /// `"warning"` or `"alert"` (see [`crate::Level`]).
    pub level: String,
    /// The observed value.
    pub observed: f64,
    /// The expected value (baseline / forecast), when the detector has one.
    pub expected: Option<f64>,
    /// The detector's score (z-score, …), when it has one.
    pub score: Option<f64>,
    /// The p-value, when the detector has one.
    pub p_value: Option<f64>,
    /// The detector's name.
    pub detector: String,
    /// One human line, prepared by the caller.
    pub summary: String,
    /// A link to the dashboard or report, if any.
    pub link: Option<String>,
}
