//! A [`Source`] over a line-per-record file (JSONL, Reddit dumps): reads bounded lines,
//! turns the line-level failures (too long, invalid UTF-8, truncated file, read error)
//! into rejects, and hands each good line to a format-specific parser.

use crate::input::{Input, LineInfo, LineReader, Progress};
use mindpulse_core::{Origin, RawPost, Reject, Source, SourceItem};
use std::io;

/// Parses one line (valid UTF-8, not blank) of a line-per-record format.
pub(crate) trait LineParser: Send {
    /// The post on this line, or why it cannot be accepted (naming the field).
    fn parse(&mut self, line: &str) -> Result<RawPost, String>;
    /// The format's name, for [`Source::describe`].
    fn format_name(&self) -> &'static str;
}

/// A source reading one record per line.
pub(crate) struct LineSource<P> {
    file: String,
    lines: LineReader,
    buf: Vec<u8>,
    progress: Progress,
    compressed: bool,
    max_record_bytes: usize,
    parser: P,
    done: bool,
}

impl<P: LineParser> LineSource<P> {
    pub(crate) fn new(file: String, input: Input, max_record_bytes: usize, parser: P) -> Self {
        LineSource {
            file,
            lines: LineReader::new(input.reader, max_record_bytes),
            buf: Vec::with_capacity(4096),
            progress: input.progress,
            compressed: input.compressed,
            max_record_bytes,
            parser,
            done: false,
        }
    }

    fn origin(&self, line: u64) -> Origin {
        Origin {
            file: self.file.clone(),
            line,
        }
    }

    fn reject(&self, line: u64, reason: String) -> Reject {
        Reject::new(&self.origin(line), reason).with_raw(String::from_utf8_lossy(&self.buf))
    }

    fn handle_line(&mut self, info: LineInfo) -> SourceItem {
        if let Some(len) = info.oversize {
            return Err(self.reject(
                info.number,
                format!(
                    "line is {len} bytes, longer than the {} bytes allowed (max_record_bytes); skipped",
                    self.max_record_bytes
                ),
            ));
        }
        let text = match std::str::from_utf8(&self.buf) {
            Ok(text) => text,
            Err(e) => {
                let reason = format!(
                    "invalid UTF-8 at byte {} of the line; the file must be UTF-8",
                    e.valid_up_to() + 1
                );
                return Err(self.reject(info.number, reason));
            }
        };
        match self
            .parser
            .parse(text)
            .and_then(crate::mapping::require_text)
        {
            Ok(mut post) => {
                post.origin = self.origin(info.number);
                Ok(post)
            }
            Err(reason) if !info.terminated => Err(self.reject(
                info.number,
                format!("last line has no newline (truncated file?): {reason}"),
            )),
            Err(reason) => Err(self.reject(info.number, reason)),
        }
    }

    fn read_error(&self, e: io::Error) -> Reject {
        let after = self.lines.lines_read();
        let reason = if self.compressed && e.kind() == io::ErrorKind::UnexpectedEof {
            format!("truncated compressed stream: the file ends inside a compressed frame after line {after} ({e})")
        } else if self.compressed {
            format!("corrupt compressed stream after line {after}: {e}")
        } else {
            format!("read error after line {after}: {e}")
        };
        let reject = Reject::new(&self.origin(after + 1), reason);
        if self.buf.is_empty() {
            reject
        } else {
            reject.with_raw(String::from_utf8_lossy(&self.buf))
        }
    }
}

impl<P: LineParser> Iterator for LineSource<P> {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        while !self.done {
            match self.lines.read_line(&mut self.buf) {
                Ok(Some(info)) => {
                    if info.oversize.is_none() && self.buf.trim_ascii().is_empty() {
                        continue;
                    }
                    return Some(self.handle_line(info));
                }
                Ok(None) => self.done = true,
                Err(e) => {
                    self.done = true;
                    tracing::warn!(file = %self.file, error = %e, "import stopped by a read error");
                    return Some(Err(self.read_error(e)));
                }
            }
        }
        None
    }
}

impl<P: LineParser> Source for LineSource<P> {
    fn describe(&self) -> String {
        format!("{} {}", self.parser.format_name(), self.file)
    }

    fn progress(&self) -> (u64, Option<u64>) {
        self.progress.get()
    }
}
