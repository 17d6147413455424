//! Turning what a user typed — a registry name, a local Hugging Face model directory, or a
//! `.gguf` file — into something a runtime can load, with the model id and the sha256 of the
//! main weights file that every score records as its provenance.

use crate::error::{ModelError, Result};
use crate::hash;
use crate::install::runtime_path;
use crate::manifest::{Manifest, MANIFEST};
use crate::registry::{ModelKind, Registry};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A model ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    pub kind: ModelKind,
    /// The model directory (encoder) or the `.gguf` file (gguf).
    pub path: PathBuf,
    /// The weights file whose hash is `sha256`.
    pub main_file: PathBuf,
    /// The registry name, or for a local path its directory / file name.
    pub id: String,
    /// sha256 of the main weights file.
    pub sha256: String,
    /// True when it came from the registry (installed by `mindpulse models install`).
    pub from_registry: bool,
}

/// Resolves `name_or_path` against the built-in registry and [`crate::models_dir`].
pub fn resolve(name_or_path: &str) -> Result<ResolvedModel> {
    resolve_in(Registry::builtin(), &crate::models_dir(), name_or_path)
}

/// Resolves against a given registry and models directory.
///
/// Registry names win; anything else is taken as a path: a directory with `config.json`
/// (its `model.safetensors` is hashed, or its `manifest.json` used when it has one), or a
/// GGUF file (hashed). Installed registry models take the hash from their manifest (checked
/// at install; `models verify` re-hashes) after checking the file's size.
pub fn resolve_in(
    registry: &Registry,
    models_dir: &Path,
    name_or_path: &str,
) -> Result<ResolvedModel> {
    if let Some(spec) = registry.get(name_or_path) {
        let dir = models_dir.join(&spec.name);
        let not_installed = || ModelError::NotInstalled {
            name: spec.name.clone(),
            dir: dir.clone(),
        };
        if !dir.join(MANIFEST).is_file() {
            return Err(not_installed());
        }
        let m = Manifest::read(&dir)?;
        let main = m.main_file().cloned().ok_or_else(not_installed)?;
        if let Some(pinned) = spec.main_sha256() {
            hash::check(&dir.join(&m.main), pinned, &main.sha256)?;
        }
        let main_file = dir.join(&m.main);
        let size = std::fs::metadata(&main_file)
            .map(|md| md.len())
            .map_err(|_| not_installed())?;
        if size != main.size {
            return Err(ModelError::SizeMismatch {
                file: main_file,
                expected: main.size,
                got: size,
            });
        }
        return Ok(ResolvedModel {
            kind: spec.kind,
            path: runtime_path(spec.kind, &dir, &m.main),
            main_file,
            id: spec.name.clone(),
            sha256: main.sha256,
            from_registry: true,
        });
    }
    let path = expand_home(name_or_path);
    if path.is_dir() {
        return resolve_dir(&path);
    }
    if path.is_file() {
        return resolve_gguf(&path);
    }
    Err(ModelError::UnknownModel {
        name: name_or_path.to_string(),
        known: registry.names().join(", "),
    })
}

fn expand_home(s: &str) -> PathBuf {
    match (s.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(s),
    }
}

fn file_name(p: &Path) -> String {
    std::fs::canonicalize(p)
        .ok()
        .as_deref()
        .unwrap_or(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn resolve_dir(dir: &Path) -> Result<ResolvedModel> {
    if dir.join(MANIFEST).is_file() {
        let m = Manifest::read(dir)?;
        let main = m.main_file().cloned().ok_or_else(|| ModelError::Manifest {
            path: dir.join(MANIFEST),
            message: "no main file".to_string(),
        })?;
        let main_file = dir.join(&m.main);
        let (sha, _) = hash::sha256_file(&main_file)?;
        hash::check(&main_file, &main.sha256, &sha)?;
        return Ok(ResolvedModel {
            kind: m.kind,
            path: runtime_path(m.kind, dir, &m.main),
            main_file,
            id: m.name,
            sha256: sha,
            from_registry: false,
        });
    }
    if !dir.join("config.json").is_file() {
        return Err(ModelError::Invalid {
            path: dir.to_path_buf(),
            message: "not a model directory: no config.json".to_string(),
        });
    }
    let main_file = dir.join("model.safetensors");
    if !main_file.is_file() {
        return Err(ModelError::MissingFile {
            file: main_file,
            what: "a model directory (only safetensors weights are loaded)".to_string(),
        });
    }
    let (sha256, _) = hash::sha256_file(&main_file)?;
    Ok(ResolvedModel {
        kind: ModelKind::Encoder,
        path: dir.to_path_buf(),
        main_file,
        id: file_name(dir),
        sha256,
        from_registry: false,
    })
}

fn resolve_gguf(file: &Path) -> Result<ResolvedModel> {
    let mut magic = [0u8; 4];
    let ok = std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"GGUF";
    if !ok {
        return Err(ModelError::Invalid {
            path: file.to_path_buf(),
            message:
                "not a GGUF file (expected a .gguf file or a model directory with config.json)"
                    .to_string(),
        });
    }
    let (sha256, _) = hash::sha256_file(file)?;
    Ok(ResolvedModel {
        kind: ModelKind::Gguf,
        path: file.to_path_buf(),
        main_file: file.to_path_buf(),
        id: file_name(file),
        sha256,
        from_registry: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn local_paths_resolve_with_their_hash() {
        let reg = Registry::builtin();
        let d = tempfile::tempdir().unwrap();
        let models = d.path().join("models");

        // HF directory
        let hf = d.path().join("my-encoder");
        fs::create_dir_all(&hf).unwrap();
        fs::write(hf.join("config.json"), "{}").unwrap();
        let e = resolve_in(reg, &models, hf.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("model.safetensors"), "{e}");
        fs::write(hf.join("model.safetensors"), b"weights").unwrap();
        let r = resolve_in(reg, &models, hf.to_str().unwrap()).unwrap();
        assert_eq!(r.kind, ModelKind::Encoder);
        assert_eq!(r.id, "my-encoder");
        assert_eq!(r.path, hf);
        assert_eq!(r.sha256, hash::sha256_bytes(b"weights"));
        assert!(!r.from_registry);

        // gguf
        let g = d.path().join("tiny.gguf");
        fs::write(&g, b"GGUF\x03\0\0\0rest").unwrap();
        let r = resolve_in(reg, &models, g.to_str().unwrap()).unwrap();
        assert_eq!(r.kind, ModelKind::Gguf);
        assert_eq!(r.path, g);
        assert_eq!(r.id, "tiny.gguf");
        assert_eq!(r.sha256, hash::sha256_bytes(b"GGUF\x03\0\0\0rest"));

        // not a model
        let junk = d.path().join("junk.gguf");
        fs::write(&junk, b"nope").unwrap();
        let e = resolve_in(reg, &models, junk.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a GGUF"), "{e}");
        let e = resolve_in(reg, &models, d.path().to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no config.json"), "{e}");
        let e = resolve_in(reg, &models, "no-such-model")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown model") && e.contains("minilm-l6-v2"),
            "{e}"
        );
    }

    #[test]
    fn registry_names_need_an_installation() {
        let d = tempfile::tempdir().unwrap();
        let e = resolve_in(Registry::builtin(), d.path(), "smollm2-135m")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not installed") && e.contains("mindpulse models install smollm2-135m"),
            "{e}"
        );
    }
}
