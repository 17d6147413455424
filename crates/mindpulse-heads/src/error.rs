//! Errors of the heads crate.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HeadsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Data {
        file: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{file}: labels not known to task `{task}`: {labels} (expected one of: {expected})")]
    UnknownLabels {
        file: PathBuf,
        task: String,
        labels: String,
        expected: String,
    },
    #[error("unknown task `{0}` (known: {1})")]
    UnknownTask(String, String),
    #[error("no trained head for `{0}` (train it with `mindpulse train --task {1}`)")]
    NoHead(String, String),
    #[error("head file {path}: {reason}")]
    BadHead { path: PathBuf, reason: String },
    #[error("encoder: {0}")]
    Encoder(#[from] mindpulse_encoder::EncoderError),
    #[error("model: {0}")]
    Model(#[from] mindpulse_models::ModelError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, HeadsError>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> HeadsError + '_ {
    move |source| HeadsError::Io {
        path: path.to_path_buf(),
        source,
    }
}
