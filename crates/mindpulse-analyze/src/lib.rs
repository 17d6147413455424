//! mindpulse-analyze: the numbers mindpulse shows, computed from what the store reads out,
//! never from the database itself (no SQL here).
//!
//! - [`prevalence`]: the share of a group's posts with signs of X, corrected for the
//!   screen's errors (ACC, PACC) with a 95 % interval that includes the uncertainty of the
//!   validation rates.
//! - [`trends`]: series by time bucket (in a time zone) and group, with small cells
//!   suppressed.
//! - [`validate`]: mixtures of held-out posts at known prevalences, to measure the error of
//!   raw counting and of the corrections, and the intervals' coverage.

pub mod prevalence;
pub mod trends;
pub mod validate;

pub use prevalence::{estimate, estimate_with, Estimate, Method, Rates, Tally};
pub use trends::{suppress_small, Bucket, Obs, Series, TrendRow};
