//! The `<file>.rejects.jsonl` file: one JSON object per rejected record, created on the
//! first reject of a run (so a clean import leaves no file behind).

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

    /// Writes one reject (the file is truncated when this run writes its first one).
    pub fn write(&mut self, reject: &Reject) -> std::io::Result<()> {
        if self.out.is_none() {
            self.out = Some(BufWriter::new(File::create(&self.path)?));
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
