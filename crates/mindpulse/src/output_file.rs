//! Files the commands write for the user (exports): never onto the database, never over
//! an existing file without `--force`, and never half-written.
//!
//! The rows go to a private temporary file (mode 0600: an export holds post text) in the
//! target's folder, which is renamed into place only once everything is written and
//! synced. A command that fails midway leaves the old file (or no file) behind, and the
//! temporary file is removed.

use anyhow::{bail, Context as _};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An output file being written; [`OutputFile::finish`] puts it in place.
pub struct OutputFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    force: bool,
}

impl OutputFile {
    /// Refuses `path` when it is the database `db_url` names (or one of its side files),
    /// a folder, or an existing file without `force`; then opens a temporary file next to it.
    pub fn create(path: &Path, force: bool, db_url: &str) -> anyhow::Result<OutputFile> {
        if let Some(db) = mindpulse_store::sqlite_file(db_url) {
            if is_database_file(path, &db) {
                bail!(
                    "{} is the database (or one of its files): choose another output file",
                    path.display()
                );
            }
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => bail!("{} is a folder; give a file name", path.display()),
            Ok(_) if !force => bail!("{} exists; pass --force to overwrite it", path.display()),
            _ => {}
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
        Ok(OutputFile {
            tmp,
            path: path.to_path_buf(),
            force,
        })
    }

    /// Syncs the data and renames the file into place (atomically; without `force`, only
    /// if no file appeared there meanwhile).
    pub fn finish(self) -> anyhow::Result<()> {
        self.tmp
            .as_file()
            .sync_all()
            .with_context(|| format!("writing {}", self.path.display()))?;
        let result = if self.force {
            self.tmp.persist(&self.path)
        } else {
            self.tmp.persist_noclobber(&self.path)
        };
        result.map_err(|e| {
            anyhow::anyhow!("cannot put {} in place: {}", self.path.display(), e.error)
        })?;
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

/// Whether `path` names the SQLite database `db` or its journal, WAL or shared-memory file
/// (through any relative path or link).
fn is_database_file(path: &Path, db: &Path) -> bool {
    let Some(db) = resolve(db) else { return false };
    let Some(target) = resolve(path) else {
        return false;
    };
    let db_name = db.as_os_str().to_string_lossy().into_owned();
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .any(|side| target == Path::new(&format!("{db_name}{side}")))
}

/// The absolute, link-free form of `path`, whether or not the file itself exists yet.
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(parent.canonicalize().ok()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_database_its_side_files_folders_and_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"SQLite format 3\0").unwrap();
        let url = format!("sqlite://{}", db.display());
        for target in ["x.db", "x.db-wal", "x.db-shm", "x.db-journal"] {
            let e = OutputFile::create(&dir.path().join(target), true, &url)
                .err()
                .unwrap();
            assert!(e.to_string().contains("is the database"), "{target}: {e}");
        }
        // Through a link and a relative path.
        #[cfg(unix)]
        {
            let link = dir.path().join("link.db");
            std::os::unix::fs::symlink(&db, &link).unwrap();
            let e = OutputFile::create(&link, true, &url).err().unwrap();
            assert!(e.to_string().contains("is the database"), "{e}");
            let sub = dir.path().join("sub");
            std::fs::create_dir(&sub).unwrap();
            let e = OutputFile::create(&sub.join("../x.db"), true, &url)
                .err()
                .unwrap();
            assert!(e.to_string().contains("is the database"), "{e}");
        }
        let e = OutputFile::create(dir.path(), true, &url).err().unwrap();
        assert!(e.to_string().contains("is a folder"), "{e}");
        let old = dir.path().join("old.jsonl");
        std::fs::write(&old, b"keep me").unwrap();
        let e = OutputFile::create(&old, false, &url).err().unwrap();
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(std::fs::read(&old).unwrap(), b"keep me");
        assert_eq!(std::fs::read(&db).unwrap(), b"SQLite format 3\0");
    }

    #[test]
    fn written_in_place_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let url = "postgres://u@h/db";
        let mut f = OutputFile::create(&out, false, url).unwrap();
        f.write_all(b"a,b\n").unwrap();
        assert!(!out.exists(), "not in place before finish");
        f.finish().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"a,b\n");
        // An abandoned write leaves the old file and no temporary file.
        let mut f = OutputFile::create(&out, true, url).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&out).unwrap(), b"a,b\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // With --force a finished file replaces the old one.
        let mut f = OutputFile::create(&out, true, url).unwrap();
        f.write_all(b"new\n").unwrap();
        f.finish().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new\n");
    }
}
