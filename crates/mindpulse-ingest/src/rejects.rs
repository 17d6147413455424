//! The `<file>.rejects.jsonl` file: one JSON object per rejected record, created on the
//! first reject of a run (so a clean import leaves no file behind).
//!
//! Rejects are raw input lines (authors, PII and all), so the file is created private to
//! its owner (mode 0600), and never through a symbolic link: a link planted at the rejects
//! path would otherwise make an import overwrite whatever it points to.

use mindpulse_core::Reject;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends rejects to a JSONL file, opened lazily.
pub struct RejectsWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    written: u64,
}

impl RejectsWriter {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RejectsWriter {
            path: path.into(),
            out: None,
            written: 0,
        }
    }

    /// The conventional rejects path for an input file: `<file>.rejects.jsonl`.
    pub fn path_for(input: &Path) -> PathBuf {
        let mut name = input.as_os_str().to_owned();
        name.push(".rejects.jsonl");
        PathBuf::from(name)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes one reject (an earlier rejects file is replaced when this run writes its
    /// first one).
    pub fn write(&mut self, reject: &Reject) -> std::io::Result<()> {
        if self.out.is_none() {
            self.out = Some(BufWriter::new(create_private(&self.path)?));
        }
        if let Some(out) = self.out.as_mut() {
            serde_json::to_writer(&mut *out, reject)?;
            out.write_all(b"\n")?;
            self.written += 1;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

/// Creates `path` anew, mode 0600, refusing a symbolic link there; an earlier regular file
/// is replaced. `create_new` (O_EXCL) does not follow a link planted after the check.
fn create_private(path: &Path) -> std::io::Result<File> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is a symbolic link; rejects are never written through one",
            ))
        }
        Ok(m) if m.is_file() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it exists and is not a regular file",
            ))
        }
        Err(_) => {}
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject() -> Reject {
        Reject {
            file: "in.jsonl".into(),
            line: 3,
            reason: "text: empty".into(),
            raw: Some("{\"text\": \"\"}".into()),
        }
    }

    #[cfg(unix)]
    #[test]
    fn private_never_through_a_link_and_replacing_an_old_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        let path = dir.path().join("in.jsonl.rejects.jsonl");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let mut w = RejectsWriter::new(&path);
        let e = w.write(&reject()).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");

        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"old rejects\n").unwrap();
        let mut w = RejectsWriter::new(&path);
        w.write(&reject()).unwrap();
        w.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with('{') && !text.contains("old rejects"),
            "{text}"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
