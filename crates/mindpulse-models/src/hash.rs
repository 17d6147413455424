//! sha256 of files and of data as it is written (so a 500 MB file is hashed in the same
//! pass that writes it), and the check that turns a difference into a clear error.

use crate::error::{IoContext, ModelError, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// True for 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// sha256 (hex) and size of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = File::open(path).ctx("cannot open", path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).ctx("cannot read", path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// sha256 (hex) of bytes in memory.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Fails with [`ModelError::HashMismatch`] (naming the file) when `got != expected`.
pub fn check(file: &Path, expected: &str, got: &str) -> Result<()> {
    if expected.eq_ignore_ascii_case(got) {
        Ok(())
    } else {
        Err(ModelError::HashMismatch {
            file: file.to_path_buf(),
            expected: expected.to_ascii_lowercase(),
            got: got.to_string(),
        })
    }
}

/// A writer that hashes and counts everything written through it.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The inner writer, the sha256 (hex) and the byte count.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"a").unwrap();
        w.write_all(b"bc").unwrap();
        let (inner, h, n) = w.finish();
        assert_eq!(inner, b"abc");
        assert_eq!(n, 3);
        assert_eq!(h, sha256_bytes(b"abc"));
    }

    #[test]
    fn file_hash_and_tamper_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("weights.bin");
        std::fs::write(&p, b"abc").unwrap();
        let (h, size) = sha256_file(&p).unwrap();
        assert_eq!(size, 3);
        check(&p, &h, &h).unwrap();
        std::fs::write(&p, b"abd").unwrap();
        let (h2, _) = sha256_file(&p).unwrap();
        let err = check(&p, &h, &h2).unwrap_err().to_string();
        assert!(err.contains("weights.bin"), "{err}");
        assert!(err.contains(&format!("expected {h}")), "{err}");
        assert!(err.contains(&format!("got {h2}")), "{err}");
    }

    #[test]
    fn hex_check() {
        assert!(is_sha256_hex(&"a".repeat(64)));
        assert!(!is_sha256_hex(&"A".repeat(64)));
        assert!(!is_sha256_hex(&"a".repeat(63)));
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
    }
}
