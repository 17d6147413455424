//! The crate's one error type.

use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong adding to, searching or loading an index.
#[derive(Debug, Error)]
pub enum SearchError {
    /// More of something than the index's integer widths hold (the message says what).
    #[error("too many {what}: the index holds at most {limit}")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A vector whose length differs from the vectors already stored for its encoder.
    #[error("encoder {encoder:?} stores vectors of dimension {expected}, got {got}")]
    DimensionMismatch {
        /// The encoder key.
        encoder: String,
        /// The dimension stored.
        expected: usize,
        /// The dimension given.
        got: usize,
    },
    /// A vector, scale or query vector that cannot be used (empty, NaN, infinite, zero).
    #[error("invalid vector: {0}")]
    InvalidVector(String),
    /// A parameter outside its domain (the message says which).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// Reading, writing or renaming the index file failed.
    #[error("cannot {op} {}: {source}", .path.display())]
    Io {
        /// What was being done ("read", "write", "rename", …).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the index magic bytes.
    #[error("{} is not a mindpulse search index (bad magic bytes)", .path.display())]
    NotAnIndex {
        /// The file.
        path: PathBuf,
    },
    /// The file is an index of another format version.
    #[error("{} has index format version {found}; this build reads version {expected}", .path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads and writes.
        expected: u32,
    },
    /// The file is shorter than its header says.
    #[error("{} is truncated: it should be {expected} bytes long, it is {found}", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Length the header promises.
        expected: u64,
        /// Actual length.
        found: u64,
    },
    /// The file's checksum or contents are wrong (the reason says where).
    #[error("{} is corrupt: {reason}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl SearchError {
    /// Whether the error says the index file is unusable (not an index, another version,
    /// truncated or corrupt), so the caller should rebuild it from the database.
    pub fn needs_rebuild(&self) -> bool {
        matches!(
            self,
            SearchError::NotAnIndex { .. }
                | SearchError::UnsupportedVersion { .. }
                | SearchError::Truncated { .. }
                | SearchError::Corrupt { .. }
        )
    }
}
