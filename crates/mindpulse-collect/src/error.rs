//! Errors that stop an import before it starts (a bad record never does: it becomes a
//! [`mindpulse_core::Reject`]).

use std::path::PathBuf;

/// Why a file could not be opened or an import could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot tell the format of {}: {reason}; pass --format jsonl|csv|reddit|weibo-csv", path.display())]
    UnknownFormat { path: PathBuf, reason: String },
    #[error("{}: the file is {kind}; unpack it first (gzip and zstd files are read as they are)", path.display())]
    Packed { path: PathBuf, kind: &'static str },
    #[error("unknown format {0:?}: expected jsonl, csv, reddit or weibo-csv")]
    FormatName(String),
    #[error("invalid --map entry {entry:?}: {reason}")]
    Map { entry: String, reason: String },
    #[error("{}: bad CSV header: {reason}", path.display())]
    Header { path: PathBuf, reason: String },
    #[error("{}: the header has no column {column:?} for field {field:?} (columns: {columns})", path.display())]
    MissingColumn {
        path: PathBuf,
        field: String,
        column: String,
        columns: String,
    },
}

impl CollectError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        CollectError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
