//! The index file: the whole [`SearchIndex`] in one compact binary file, written
//! atomically, read back defensively.
//!
//! ```text
//! offset  size  field
//!      0     8  magic  b"MPSEARCH"
//!      8     4  format version (u32, little-endian; this build: FORMAT_VERSION)
//!     12     4  flags (u32, must be 0)
//!     16     8  payload length in bytes (u64)
//!     24    32  BLAKE3 hash of the payload
//!     56     …  payload:
//!               watermark i64 · meta (u32 length + UTF-8)
//!               BM25: u32 #terms, each term (u32 length + UTF-8);
//!                     u32 #docs, each: id i64, length u32, u32 #terms, (term u32, tf u16)…
//!               vectors: u32 #encoders, each (in key order): key (u32 length + UTF-8),
//!                     dim u32, u32 #rows, ids i64 × rows, scales f32 × rows, i8 × rows·dim
//! ```
//!
//! All integers are little-endian. Only live documents and the terms they use are
//! written (the write is the compaction). The file is written to a temporary file in the
//! same directory, synced, then renamed over the target, so a reader sees the old file or
//! the new one, never a mixture; the directory is synced afterwards where the platform
//! allows.
//!
//! Loading checks the magic, version, flags, length and hash before parsing, then parses
//! with every count bounded by the bytes left (a bogus count is an error before anything
//! is allocated for it) and every cross-reference checked, so a truncated, corrupt or
//! foreign file gives a [`SearchError`] whose [`SearchError::needs_rebuild`] is true —
//! never a panic and never an allocation larger than the file.

use crate::bm25::Index;
use crate::vectors::VectorStore;
use crate::{SearchError, SearchIndex};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The file's first eight bytes.
pub const MAGIC: [u8; 8] = *b"MPSEARCH";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 56;

/// A writer that hashes and counts what passes through it.
pub(crate) struct Sink<W: Write> {
    w: W,
    hasher: blake3::Hasher,
    len: u64,
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(w: W) -> Self {
        Sink {
            w,
            hasher: blake3::Hasher::new(),
            len: 0,
        }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.hasher.update(b);
        self.len += b.len() as u64;
        Ok(())
    }

    pub(crate) fn u16(&mut self, v: u16) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn i64(&mut self, v: i64) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn f32(&mut self, v: f32) -> io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// A string as u32 length + UTF-8.
    pub(crate) fn str(&mut self, s: &str) -> io::Result<()> {
        let n =
            u32::try_from(s.len()).map_err(|_| io::Error::other("a string longer than 4 GiB"))?;
        self.u32(n)?;
        self.bytes(s.as_bytes())
    }

    /// The writer, the payload's hash and its length.
    fn finish(self) -> (W, blake3::Hash, u64) {
        (self.w, self.hasher.finalize(), self.len)
    }
}

/// A bounds-checked cursor over the payload; errors are reasons for
/// [`SearchError::Corrupt`].
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "needs {n} bytes at payload offset {}, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, String> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn i64(&mut self) -> Result<i64, String> {
        self.array().map(i64::from_le_bytes)
    }

    pub(crate) fn f32(&mut self) -> Result<f32, String> {
        self.array().map(f32::from_le_bytes)
    }

    /// A u32 count of items at least `min_size` bytes each, checked against the bytes
    /// left, so nothing is allocated for a count the file cannot hold.
    pub(crate) fn count(&mut self, what: &str, min_size: usize) -> Result<usize, String> {
        let at = self.pos;
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size.max(1)) > self.remaining() {
            return Err(format!(
                "{n} {what} at payload offset {at} cannot fit in the {} bytes left",
                self.remaining()
            ));
        }
        Ok(n)
    }

    pub(crate) fn str(&mut self, what: &str) -> Result<String, String> {
        let at = self.pos;
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| format!("{what} at payload offset {at} is not UTF-8"))
    }
}

/// Writes `index` to `path` atomically (temporary file in the same directory, sync,
/// rename).
pub fn save(index: &SearchIndex, path: &Path) -> Result<(), SearchError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        SearchError::InvalidParameter(format!("{} names no file", path.display()))
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_file(index, &tmp).and_then(|()| {
        fs::rename(&tmp, path).map_err(|source| SearchError::Io {
            op: "rename a temporary file onto",
            path: path.to_owned(),
            source,
        })
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename durable; not every platform can open a directory, so best effort.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_file(index: &SearchIndex, tmp: &Path) -> Result<(), SearchError> {
    let io_err = |op: &'static str| {
        let path: PathBuf = tmp.to_owned();
        move |source| SearchError::Io { op, path, source }
    };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(io_err("create"))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    w.write_all(&[0u8; HEADER_LEN]).map_err(io_err("write"))?;
    let mut sink = Sink::new(w);
    write_payload(index, &mut sink).map_err(io_err("write"))?;
    let (w, hash, len) = sink.finish();
    let mut file = w
        .into_inner()
        .map_err(|e| io_err("write")(e.into_error()))?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(&MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    header.extend_from_slice(hash.as_bytes());
    file.seek(SeekFrom::Start(0)).map_err(io_err("seek in"))?;
    file.write_all(&header).map_err(io_err("write"))?;
    file.sync_all().map_err(io_err("sync"))?;
    Ok(())
}

fn write_payload<W: Write>(index: &SearchIndex, out: &mut Sink<W>) -> io::Result<()> {
    out.i64(index.watermark)?;
    out.str(&index.meta)?;
    index.bm25.write_to(out)?;
    index.vectors.write_to(out)
}

/// Reads an index written by [`save`].
pub fn load(path: &Path) -> Result<SearchIndex, SearchError> {
    let bytes = fs::read(path).map_err(|source| SearchError::Io {
        op: "read",
        path: path.to_owned(),
        source,
    })?;
    decode(&bytes, path)
}

/// Parses the bytes of an index file (`path` is for messages).
pub fn decode(bytes: &[u8], path: &Path) -> Result<SearchIndex, SearchError> {
    let path_buf = || path.to_owned();
    let found = bytes.len() as u64;
    let truncated = |expected: u64| SearchError::Truncated {
        path: path_buf(),
        expected,
        found,
    };
    let corrupt = |reason: String| SearchError::Corrupt {
        path: path_buf(),
        reason,
    };
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(SearchError::NotAnIndex { path: path_buf() });
    }
    if bytes.len() < 12 {
        return Err(truncated(HEADER_LEN as u64));
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let version = word(8);
    if version != FORMAT_VERSION {
        return Err(SearchError::UnsupportedVersion {
            path: path_buf(),
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(truncated(HEADER_LEN as u64));
    }
    let flags = word(12);
    if flags != 0 {
        return Err(corrupt(format!("unknown flags {flags:#x}")));
    }
    let payload_len = u64::from_le_bytes([
        bytes[16], bytes[17], bytes[18], bytes[19], bytes[20], bytes[21], bytes[22], bytes[23],
    ]);
    let expected = payload_len.saturating_add(HEADER_LEN as u64);
    if found < expected {
        return Err(truncated(expected));
    }
    if found > expected {
        return Err(corrupt(format!(
            "{} bytes after the {expected} the header announces",
            found - expected
        )));
    }
    let payload = &bytes[HEADER_LEN..];
    if blake3::hash(payload).as_bytes()[..] != bytes[24..HEADER_LEN] {
        return Err(corrupt("checksum mismatch".into()));
    }
    let mut r = Reader::new(payload);
    let parse = |r: &mut Reader<'_>| -> Result<SearchIndex, String> {
        let watermark = r.i64()?;
        let meta = r.str("meta")?;
        let bm25 = Index::read_from(r)?;
        let vectors = VectorStore::read_from(r)?;
        if let Some(id) = vectors.all_docs().find(|&id| !bm25.contains(id)) {
            return Err(format!("document {id} has a vector but is not indexed"));
        }
        if r.remaining() != 0 {
            return Err(format!(
                "{} unread bytes at the end of the payload",
                r.remaining()
            ));
        }
        Ok(SearchIndex {
            bm25,
            vectors,
            watermark,
            meta,
        })
    };
    parse(&mut r).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_owned).collect()
    }

    fn sample_bytes() -> (SearchIndex, Vec<u8>) {
        let mut ix = SearchIndex::new();
        ix.add_post(10, &t("焦虑 考试"), Some(("enc-a", &[100, -20, 3], 0.0078)))
            .unwrap();
        ix.add_post(
            11,
            &t("失眠 焦虑 焦虑"),
            Some(("enc-a", &[-5, 90, 60], 0.009)),
        )
        .unwrap();
        ix.add_post(12, &t("night"), Some(("enc-b", &[1, 2], 0.5)))
            .unwrap();
        ix.add_post(13, &t("gone"), None).unwrap();
        ix.remove_post(13);
        ix.watermark = 13;
        ix.meta = "tok-v1".into();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i");
        ix.save(&path).unwrap();
        let bytes = fs::read(&path).unwrap();
        (ix, bytes)
    }

    #[test]
    fn header_layout() {
        let (ix, bytes) = sample_bytes();
        assert_eq!(&bytes[..8], b"MPSEARCH");
        assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
        let len = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
        assert_eq!(len as usize, bytes.len() - HEADER_LEN);
        assert_eq!(&bytes[24..56], blake3::hash(&bytes[56..]).as_bytes());
        assert_eq!(decode(&bytes, Path::new("x")).unwrap(), ix);
        // The removed post and its term are not written.
        assert!(!bytes.windows(4).any(|w| w == b"gone"));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let (_, bytes) = sample_bytes();
        for cut in 0..bytes.len() {
            let e = decode(&bytes[..cut], Path::new("x")).unwrap_err();
            assert!(e.needs_rebuild(), "cut {cut}: {e}");
            if cut >= 12 {
                assert!(matches!(e, SearchError::Truncated { .. }), "cut {cut}: {e}");
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode(&longer, Path::new("x")),
            Err(SearchError::Corrupt { .. })
        ));
    }

    #[test]
    fn every_flipped_byte_is_an_error() {
        let (_, bytes) = sample_bytes();
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= mask;
                let e = decode(&b, Path::new("x")).unwrap_err();
                assert!(e.needs_rebuild(), "byte {i} ^ {mask:#x}: {e}");
            }
        }
    }

    #[test]
    fn wrong_magic_and_version() {
        let (_, bytes) = sample_bytes();
        let mut b = bytes.clone();
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            decode(&b, Path::new("x")),
            Err(SearchError::UnsupportedVersion {
                found: 2,
                expected: 1,
                ..
            })
        ));
        assert!(matches!(
            decode(b"PK\x03\x04 a zip file", Path::new("x")),
            Err(SearchError::NotAnIndex { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let e = SearchIndex::load(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(e, SearchError::Io { .. }) && !e.needs_rebuild());
    }

    /// Re-hashes a hand-made payload so only the parser's checks stand between it and
    /// the caller.
    fn with_header(payload: &[u8]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        b.extend_from_slice(blake3::hash(payload).as_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn bogus_contents_with_valid_checksum_are_errors() {
        let p = |parts: &[&[u8]]| with_header(&parts.concat());
        let zero = 0u32.to_le_bytes();
        let wm = 0i64.to_le_bytes();
        let huge = u32::MAX.to_le_bytes();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("huge meta length", p(&[&wm, &huge])),
            ("huge term count", p(&[&wm, &zero, &huge])),
            ("huge doc count", p(&[&wm, &zero, &zero, &huge])),
            ("huge encoder count", p(&[&wm, &zero, &zero, &zero, &huge])),
            (
                "huge vector rows",
                p(&[
                    &wm,
                    &zero,
                    &zero,
                    &zero,
                    &1u32.to_le_bytes(),
                    &zero,
                    &huge,
                    &huge,
                ]),
            ),
            (
                "meta not UTF-8",
                p(&[&wm, &2u32.to_le_bytes(), &[0xff, 0xfe], &zero, &zero, &zero]),
            ),
            (
                "doc names a missing term",
                p(&[
                    &wm,
                    &zero,
                    &zero,
                    &1u32.to_le_bytes(),
                    &7i64.to_le_bytes(),
                    &1u32.to_le_bytes(),
                    &1u32.to_le_bytes(),
                    &5u32.to_le_bytes(),
                    &1u16.to_le_bytes(),
                    &zero,
                ]),
            ),
            (
                "vector of an unindexed post",
                p(&[
                    &wm,
                    &zero,
                    &zero,
                    &zero,
                    &1u32.to_le_bytes(),
                    &1u32.to_le_bytes(),
                    b"e",
                    &1u32.to_le_bytes(),
                    &1u32.to_le_bytes(),
                    &7i64.to_le_bytes(),
                    &1f32.to_le_bytes(),
                    &[1],
                ]),
            ),
            (
                "trailing payload",
                p(&[&wm, &zero, &zero, &zero, &zero, &[0]]),
            ),
        ];
        for (what, bytes) in cases {
            match decode(&bytes, Path::new("x")) {
                Err(SearchError::Corrupt { reason, .. }) => assert!(!reason.is_empty(), "{what}"),
                other => panic!("{what}: {other:?}"),
            }
        }
        // And the minimal valid payload is an empty index.
        let empty = p(&[&wm, &zero, &zero, &zero, &zero]);
        assert_eq!(decode(&empty, Path::new("x")).unwrap(), SearchIndex::new());
    }

    #[test]
    fn failed_save_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails.
        let target = dir.path().join("taken");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("x"), b"x").unwrap();
        let e = SearchIndex::new().save(&target).unwrap_err();
        assert!(matches!(e, SearchError::Io { .. }), "{e}");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("taken")]);
    }
}
