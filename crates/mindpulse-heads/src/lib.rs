//! Mental-health heads on frozen sentence-encoder features.
//!
//! - [`tasks`] and [`metrics`] (from `mindpulse-eval`, shared with the LLM scorer): the
//!   catalogue of labeled tasks and the evaluation report.
//! - [`data`]: labeled TSV files, checked against a task's labels.
//! - [`embed`] + [`cache`]: embeddings through the encoder runtime, cached on disk.
//! - [`linear`], [`optim`], [`calibrate`]: the heads' training (seeded, deterministic).
//! - [`train`]: one head end to end; [`head`]: its files.
//! - [`route`]: the set of shipped heads and the language routing.
//! - [`scorer`]: the heads as a `PostScorer` for `mindpulse score` (and the crawler).

pub mod cache;
pub mod calibrate;
pub mod card;
pub mod data;
pub mod embed;
pub mod error;
pub mod head;
pub mod linear;
pub mod optim;
pub mod route;
pub mod scorer;
pub mod screen;
pub mod train;
pub use mindpulse_eval::{metrics, screening, tasks};

pub use error::{HeadsError, Result};
pub use head::{Head, HeadCard, Prediction};
pub use metrics::Report;
pub use route::{DimScore, HeadSet, Route};
pub use scorer::{has_scorable_text, HeadsScorer, HEADS_MODEL_ID};
pub use tasks::{task, TaskSpec, TASKS};
