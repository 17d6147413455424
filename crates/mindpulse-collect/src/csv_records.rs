//! A streaming CSV record reader on `csv-core` (the state machine under the `csv` crate)
//! whose memory is bounded: a record longer than `max_record_bytes` is skipped as it is
//! read, never held whole. It also tracks each record's starting line and whether the
//! file ended inside a record.

use crate::input::fill;
use mindpulse_core::MAX_REJECT_RAW;
use std::io::{self, BufRead};

/// Most fields one record may have.
pub(crate) const MAX_FIELDS: usize = 100_000;

/// Why a record was read but cannot be used at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// Longer than the limit; holds the record's length in bytes.
    Bytes(u64),
    /// More than [`MAX_FIELDS`] fields.
    Fields,
}

/// Facts about the record just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordInfo {
    /// 1-based line the record starts on.
    pub line: u64,
    pub overflow: Option<Overflow>,
    /// False when the file ended inside this record (no final newline).
    pub terminated: bool,
    /// The file ended inside a quoted field.
    pub open_quote: bool,
}

/// A record's fields as text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StrRecord<'a> {
    text: &'a str,
    ends: &'a [usize],
}

impl<'a> StrRecord<'a> {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i` (empty when out of range).
    pub(crate) fn get(&self, i: usize) -> &'a str {
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(0)
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.text.get(start..end).unwrap_or_default()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Reads CSV records one at a time into reused buffers.
pub(crate) struct CsvReader {
    input: Box<dyn BufRead + Send>,
    core: csv_core::Reader,
    out: Vec<u8>,
    outlen: usize,
    ends: Vec<usize>,
    nfields: usize,
    raw: Vec<u8>,
    lines: u64,
    max: usize,
}

impl CsvReader {
    pub(crate) fn new(input: Box<dyn BufRead + Send>, max_record_bytes: usize) -> Self {
        CsvReader {
            input,
            core: csv_core::Reader::new(),
            out: Vec::new(),
            outlen: 0,
            ends: Vec::new(),
            nfields: 0,
            raw: Vec::new(),
            lines: 0,
            max: max_record_bytes.max(1),
        }
    }

    /// The longest record accepted.
    pub(crate) fn max_record_bytes(&self) -> usize {
        self.max
    }

    /// Lines fully read so far.
    pub(crate) fn lines_read(&self) -> u64 {
        self.lines
    }

    /// The start of the record as it was in the file (at most [`MAX_REJECT_RAW`] bytes,
    /// without the line terminator), for rejects.
    pub(crate) fn raw(&self) -> String {
        let raw = &self.raw[..];
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        String::from_utf8_lossy(raw).into_owned()
    }

    /// The record's fields as text, or where it is not UTF-8 (0-based field index).
    pub(crate) fn record(&self) -> Result<StrRecord<'_>, usize> {
        let ends = &self.ends[..self.nfields];
        let field_at = |pos: usize| ends.partition_point(|&e| e <= pos);
        let text =
            std::str::from_utf8(&self.out[..self.outlen]).map_err(|e| field_at(e.valid_up_to()))?;
        // Each field must also be valid alone (a character must not span two fields).
        if let Some(i) = ends.iter().position(|&e| !text.is_char_boundary(e)) {
            return Err(i);
        }
        Ok(StrRecord { text, ends })
    }

    /// Skips line terminators before a record; `false` at the end of the input.
    fn skip_blank_lines(&mut self) -> io::Result<bool> {
        loop {
            let buf = fill(self.input.as_mut())?;
            if buf.is_empty() {
                return Ok(false);
            }
            let n = buf
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            let more = n == buf.len();
            self.lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            self.input.consume(n);
            if !more {
                return Ok(true);
            }
        }
    }

    /// Makes room in the output buffers; once the record is too big, drops what it holds.
    fn make_room(&mut self, overflow: &mut Option<Overflow>, bytes: u64) {
        if self.outlen == self.out.len() {
            if overflow.is_none() && self.out.len() < self.max {
                let new_len = (self.out.len() * 2).max(4096).min(self.max);
                self.out.resize(new_len, 0);
            } else {
                overflow.get_or_insert(Overflow::Bytes(bytes));
                self.outlen = 0;
            }
        }
        if self.nfields == self.ends.len() {
            if overflow.is_none() && self.ends.len() < MAX_FIELDS {
                let new_len = (self.ends.len() * 2).clamp(64, MAX_FIELDS);
                self.ends.resize(new_len, 0);
            } else {
                overflow.get_or_insert(Overflow::Fields);
                self.nfields = 0;
            }
        }
    }

    /// Reads the next record; `Ok(None)` at the end of the input.
    pub(crate) fn read_record(&mut self) -> io::Result<Option<RecordInfo>> {
        self.raw.clear();
        self.outlen = 0;
        self.nfields = 0;
        if !self.skip_blank_lines()? {
            return Ok(None);
        }
        let line = self.lines + 1;
        let (mut bytes, mut quotes) = (0u64, 0u64);
        let mut overflow = None;
        loop {
            self.make_room(&mut overflow, bytes);
            let input = fill(self.input.as_mut())?;
            let at_eof = input.is_empty();
            let (res, nin, nout, nend) = self.core.read_record(
                input,
                &mut self.out[self.outlen..],
                &mut self.ends[self.nfields..],
            );
            let consumed = &input[..nin];
            self.lines += memchr::memchr_iter(b'\n', consumed).count() as u64;
            quotes += memchr::memchr_iter(b'"', consumed).count() as u64;
            bytes += nin as u64;
            if self.raw.len() < MAX_REJECT_RAW {
                let room = (MAX_REJECT_RAW - self.raw.len()).min(nin);
                self.raw.extend_from_slice(&consumed[..room]);
            }
            self.input.consume(nin);
            self.outlen += nout;
            self.nfields += nend;
            if bytes > self.max as u64 {
                overflow = Some(match overflow {
                    Some(Overflow::Fields) => Overflow::Fields,
                    _ => Overflow::Bytes(bytes),
                });
            }
            match res {
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => {
                    let terminated = !at_eof;
                    return Ok(Some(RecordInfo {
                        line,
                        overflow,
                        terminated,
                        open_quote: !terminated && quotes % 2 == 1,
                    }));
                }
                _ => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    fn reader(data: &str, max: usize, cap: usize) -> CsvReader {
        CsvReader::new(
            Box::new(BufReader::with_capacity(
                cap,
                Cursor::new(data.as_bytes().to_vec()),
            )),
            max,
        )
    }

    fn all(mut r: CsvReader) -> Vec<(u64, Vec<String>, bool)> {
        let mut out = Vec::new();
        while let Some(info) = r.read_record().unwrap() {
            let fields = r.record().unwrap().iter().map(str::to_string).collect();
            out.push((info.line, fields, info.terminated));
        }
        out
    }

    #[test]
    fn records_with_quotes_blank_lines_and_crlf() {
        for cap in [3, 8, 4096] {
            let got = all(reader(
                "a,b\r\n\r\n\"x\ny\",\"q\"\"q\"\n\n3,好\n4,",
                1000,
                cap,
            ));
            assert_eq!(
                got,
                vec![
                    (1, vec!["a".into(), "b".into()], true),
                    (3, vec!["x\ny".into(), "q\"q".into()], true),
                    (6, vec!["3".into(), "好".into()], true),
                    (7, vec!["4".into(), "".into()], false),
                ],
                "buffer capacity {cap}"
            );
        }
    }

    #[test]
    fn long_records_are_skipped_with_bounded_buffers() {
        let long = "z".repeat(50_000);
        let data = format!("h1,h2\n\"{long}\n{long}\",x\nok,1\n");
        let mut r = reader(&data, 10_000, 512);
        assert!(r.read_record().unwrap().unwrap().overflow.is_none());
        let info = r.read_record().unwrap().unwrap();
        assert_eq!(info.line, 2);
        assert!(matches!(info.overflow, Some(Overflow::Bytes(n)) if n > 100_000));
        assert!(r.out.len() <= 10_000);
        assert_eq!(r.raw().len(), MAX_REJECT_RAW);
        let info = r.read_record().unwrap().unwrap();
        assert_eq!((info.line, info.overflow), (4, None));
        assert_eq!(r.record().unwrap().get(0), "ok");
    }

    #[test]
    fn too_many_fields() {
        let data = format!("{}\nok\n", ",".repeat(MAX_FIELDS + 5));
        let mut r = reader(&data, usize::MAX / 2, 4096);
        assert_eq!(
            r.read_record().unwrap().unwrap().overflow,
            Some(Overflow::Fields)
        );
        assert_eq!(r.read_record().unwrap().unwrap().line, 2);
    }

    #[test]
    fn open_quote_at_eof_and_invalid_utf8() {
        let mut r = reader("a,\"unterminated\nmore", 1000, 4096);
        let info = r.read_record().unwrap().unwrap();
        assert!(info.open_quote && !info.terminated);

        let mut r = CsvReader::new(Box::new(Cursor::new(b"ok,\xff\xfe\n".to_vec())), 1000);
        r.read_record().unwrap().unwrap();
        assert_eq!(r.record().unwrap_err(), 1);
    }
}
