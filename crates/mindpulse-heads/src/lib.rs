//! Mental-health heads on frozen sentence-encoder features.
//!
//! - [`tasks`]: the catalogue (dataset folder, labels, encoders, published metric, dimension).
//! - [`data`]: labeled TSV files, checked against a task's labels.
//! - [`embed`] + [`cache`]: embeddings through the encoder runtime, cached on disk.
//! - [`linear`], [`optim`], [`calibrate`]: the heads' training (seeded, deterministic).
//! - [`train`]: one head end to end; [`head`]: its files; [`metrics`]: the evaluation report.
//! - [`route`]: the set of shipped heads and the language routing used by `mindpulse score`.

pub mod cache;
pub mod calibrate;
pub mod card;
pub mod data;
pub mod embed;
pub mod error;
pub mod head;
pub mod linear;
pub mod metrics;
pub mod optim;
pub mod route;
pub mod tasks;
pub mod train;

pub use error::{HeadsError, Result};
pub use head::{Head, HeadCard, Prediction};
pub use metrics::Report;
pub use route::{DimScore, HeadSet, Route};
pub use tasks::{task, TaskSpec, TASKS};
