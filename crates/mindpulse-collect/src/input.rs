//! Opening import files: byte counting for progress, transparent zstd decompression,
//! BOM stripping, and a line reader whose memory is bounded by the longest record allowed.

use crate::error::CollectError;
use mindpulse_core::MAX_REJECT_RAW;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The two bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

/// The four bytes every zstd frame starts with.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const BUF_SIZE: usize = 256 * 1024;

/// Bytes read from the file (compressed bytes for `.zst`) and its size.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    read: Arc<AtomicU64>,
    total: Option<u64>,
}

impl Progress {
    pub(crate) fn get(&self) -> (u64, Option<u64>) {
        (self.read.load(Ordering::Relaxed), self.total)
    }
}

/// Counts the bytes that pass through it.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened import file, decompressed and without its BOM.
pub(crate) struct Input {
    pub reader: Box<dyn BufRead + Send>,
    pub progress: Progress,
    pub compressed: bool,
}

/// Opens `path`, decompressing it when it starts with the zstd or gzip magic bytes. zstd
/// frames are decoded with `window_log_max(31)`, which the Reddit dumps need; gzip files
/// may hold several members (`cat a.gz b.gz`).
pub(crate) fn open_input(path: &Path) -> Result<Input, CollectError> {
    let io_err = |e| CollectError::io(path, e);
    let file = File::open(path).map_err(io_err)?;
    let total = file.metadata().ok().map(|m| m.len());
    let read = Arc::new(AtomicU64::new(0));
    let counting = CountingReader {
        inner: file,
        count: Arc::clone(&read),
    };
    let mut buffered = BufReader::with_capacity(BUF_SIZE, counting);
    let head = buffered.fill_buf().map_err(io_err)?;
    if let Some(kind) = packed_kind(head) {
        return Err(CollectError::Packed {
            path: path.to_path_buf(),
            kind,
        });
    }
    let gzip = head.starts_with(&GZIP_MAGIC);
    let compressed = gzip || head.starts_with(&ZSTD_MAGIC);
    let mut reader: Box<dyn BufRead + Send> = if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
        Box::new(BufReader::with_capacity(BUF_SIZE, decoder))
    } else if compressed {
        let mut decoder = zstd::stream::read::Decoder::with_buffer(buffered).map_err(io_err)?;
        let window_log_max = if cfg!(target_pointer_width = "64") {
            31
        } else {
            30
        };
        decoder.window_log_max(window_log_max).map_err(io_err)?;
        Box::new(BufReader::with_capacity(BUF_SIZE, decoder))
    } else {
        Box::new(buffered)
    };
    skip_bom(&mut reader).map_err(io_err)?;
    Ok(Input {
        reader,
        progress: Progress { read, total },
        compressed,
    })
}

/// Archives and compressions other than gzip and zstd, by their first bytes.
pub(crate) fn packed_kind(head: &[u8]) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 5] = [
        (
            b"PK\x03\x04",
            "a zip archive (or an Excel/ODF document: save it as CSV)",
        ),
        (b"BZh", "bzip2-compressed"),
        (b"\xFD7zXZ\x00", "xz-compressed"),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
        (
            b"\xD0\xCF\x11\xE0",
            "an old Excel/Word document (save it as CSV)",
        ),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, kind)| *kind)
}

fn skip_bom(reader: &mut Box<dyn BufRead + Send>) -> io::Result<()> {
    if reader.fill_buf()?.starts_with(UTF8_BOM) {
        reader.consume(UTF8_BOM.len());
    }
    Ok(())
}

/// `fill_buf`, retrying when interrupted.
pub(crate) fn fill(reader: &mut dyn BufRead) -> io::Result<&[u8]> {
    loop {
        match reader.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Re-borrow: the borrow checker cannot see the early return otherwise.
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    reader.fill_buf()
}

/// Appends `data` (which fits within `max`) without letting the capacity grow past `max`
/// (plain `Vec` doubling could allocate up to twice the limit).
fn extend_bounded(buf: &mut Vec<u8>, data: &[u8], max: usize) {
    let needed = buf.len() + data.len();
    if needed > buf.capacity() {
        let target = (buf.capacity() * 2).clamp(needed, max.max(needed));
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(data);
}

/// One physical line as read by [`LineReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineInfo {
    /// 1-based line number.
    pub number: u64,
    /// When the line was longer than the limit: its full length. The buffer then holds
    /// only the first [`MAX_REJECT_RAW`] bytes.
    pub oversize: Option<u64>,
    /// False for a last line without a newline.
    pub terminated: bool,
}

/// Reads lines into a reused buffer, never holding more than `max` bytes of one line.
pub(crate) struct LineReader {
    inner: Box<dyn BufRead + Send>,
    lines: u64,
    max: usize,
}

impl LineReader {
    pub(crate) fn new(inner: Box<dyn BufRead + Send>, max: usize) -> Self {
        LineReader {
            inner,
            lines: 0,
            max,
        }
    }

    /// Lines fully read so far.
    pub(crate) fn lines_read(&self) -> u64 {
        self.lines
    }

    /// Reads the next line (without its `\n`) into `buf`. `Ok(None)` at the end. On an
    /// error, `buf` holds what was read of the line.
    pub(crate) fn read_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<LineInfo>> {
        buf.clear();
        let mut len: u64 = 0;
        let mut oversize = false;
        loop {
            let chunk = fill(self.inner.as_mut())?;
            if chunk.is_empty() {
                if len == 0 {
                    return Ok(None);
                }
                self.lines += 1;
                return Ok(Some(self.info(len, oversize, false)));
            }
            let (take, found) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            len += take as u64;
            if !oversize && len > self.max as u64 {
                oversize = true;
                buf.truncate(MAX_REJECT_RAW);
            }
            if !oversize {
                extend_bounded(buf, &chunk[..take], self.max);
            } else if buf.len() < MAX_REJECT_RAW {
                let room = (MAX_REJECT_RAW - buf.len()).min(take);
                buf.extend_from_slice(&chunk[..room]);
            }
            self.inner.consume(take + usize::from(found));
            if found {
                self.lines += 1;
                return Ok(Some(self.info(len, oversize, true)));
            }
        }
    }

    fn info(&self, len: u64, oversize: bool, terminated: bool) -> LineInfo {
        LineInfo {
            number: self.lines,
            oversize: oversize.then_some(len),
            terminated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reader(data: &[u8], max: usize) -> LineReader {
        LineReader::new(Box::new(Cursor::new(data.to_vec())), max)
    }

    #[test]
    fn reads_lines_with_numbers_and_unterminated_last() {
        let mut r = reader(b"a\n\nbc\nd", 100);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(info) = r.read_line(&mut buf).unwrap() {
            got.push((info.number, buf.clone(), info.terminated));
        }
        assert_eq!(
            got,
            vec![
                (1, b"a".to_vec(), true),
                (2, b"".to_vec(), true),
                (3, b"bc".to_vec(), true),
                (4, b"d".to_vec(), false),
            ]
        );
    }

    #[test]
    fn oversize_lines_are_cut_and_skipped() {
        let mut data = vec![b'x'; 10_000];
        data.extend_from_slice(b"\nok\n");
        let mut r = LineReader::new(
            Box::new(BufReader::with_capacity(64, Cursor::new(data))),
            1000,
        );
        let mut buf = Vec::new();
        let info = r.read_line(&mut buf).unwrap().unwrap();
        assert_eq!(info.oversize, Some(10_000));
        assert_eq!(info.number, 1);
        assert_eq!(buf.len(), MAX_REJECT_RAW);
        let info = r.read_line(&mut buf).unwrap().unwrap();
        assert_eq!(
            (info.number, info.oversize, &buf[..]),
            (2, None, &b"ok"[..])
        );
        assert!(r.read_line(&mut buf).unwrap().is_none());
    }

    #[test]
    fn buffer_capacity_never_passes_the_limit() {
        let mut buf = Vec::with_capacity(10);
        for _ in 0..100 {
            extend_bounded(&mut buf, &[1; 7], 700);
            assert!(buf.capacity() <= 700);
        }
        assert_eq!(buf.len(), 700);
    }

    #[test]
    fn opens_plain_and_zstd_files_and_strips_bom() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.txt");
        std::fs::write(&plain, b"\xEF\xBB\xBFhello\n").unwrap();
        let mut input = open_input(&plain).unwrap();
        let mut s = String::new();
        input.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\n");
        assert!(!input.compressed);
        assert_eq!(input.progress.get(), (9, Some(9)));

        let zst = dir.path().join("a.zst");
        let packed = zstd::encode_all(&b"hello\nworld\n"[..], 3).unwrap();
        // gzip, two members back to back, reads as one stream.
        let mut gz = Vec::new();
        for part in [&b"hello\n"[..], &b"world\n"[..]] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut e, part).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let gz_path = dir.path().join("g.jsonl.gz");
        std::fs::write(&gz_path, &gz).unwrap();
        let mut text = String::new();
        let mut input = open_input(&gz_path).unwrap();
        assert!(input.compressed);
        std::io::Read::read_to_string(&mut input.reader, &mut text).unwrap();
        assert_eq!(text, "hello\nworld\n");
        std::fs::write(&zst, &packed).unwrap();
        let mut input = open_input(&zst).unwrap();
        let mut s = String::new();
        input.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\nworld\n");
        assert!(input.compressed);
        assert_eq!(
            input.progress.get(),
            (packed.len() as u64, Some(packed.len() as u64))
        );
    }

    #[test]
    fn missing_file_error_names_it() {
        let err = open_input(Path::new("/nonexistent/x.jsonl")).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/x.jsonl"));
    }
}
