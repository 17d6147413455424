//! What mindpulse is validated on, and how: shared by the encoder heads and the LLM scorer
//! so that both are judged by the same numbers.
//!
//! - [`tasks`]: the catalogue of labeled tasks (dataset folder, labels, encoders, the
//!   published metric a task is judged by, the score dimension it feeds).
//! - [`screening`]: the population screens (which sets give their positives and everyday
//!   negatives, and what each set's labels mean) and the rates their validation measures.
//! - [`metrics`]: the evaluation report (accuracy, macro/weighted/micro F1, balanced
//!   accuracy, per-class precision/recall/F1, confusion) and its headline number.

pub mod metrics;
pub mod screening;
pub mod tasks;

pub use metrics::Report;
pub use screening::{Rates, Screen, SCREENS};
pub use tasks::{task, TaskSpec, TASKS};
