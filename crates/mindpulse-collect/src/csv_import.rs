//! CSV sources: the generic `csv` format (header row, fields by `--map` column names) and
//! the shared row loop that the `weibo-csv` format also uses.

use crate::csv_records::{CsvReader, Overflow, RecordInfo, StrRecord};
use crate::error::CollectError;
use crate::input::{Input, Progress};
use crate::json::Val;
use crate::mapping::{Mapper, PathKind, Record};
use crate::options::{Field, ImportOptions, FIELD_COUNT};
use mindpulse_core::{Origin, RawPost, Reject, Source, SourceItem};
use std::borrow::Cow;
use std::io;
use std::path::Path;

/// Turns a CSV row into a post for one CSV dialect.
pub(crate) trait RowMapper: Send {
    /// The post in `row` (which has as many fields as the header), or why not.
    fn build(&self, row: &StrRecord<'_>) -> Result<RawPost, String>;
    /// The format's name, for [`Source::describe`].
    fn format_name(&self) -> &'static str;
}

/// Reads the header row of a CSV file.
pub(crate) fn read_header(
    reader: &mut CsvReader,
    path: &Path,
) -> Result<Vec<String>, CollectError> {
    let bad = |reason: String| CollectError::Header {
        path: path.to_path_buf(),
        reason,
    };
    let info = reader
        .read_record()
        .map_err(|e| CollectError::io(path, e))?
        .ok_or_else(|| bad("the file is empty; a header row is required".into()))?;
    if info.overflow.is_some() {
        return Err(bad("the header row is longer than max_record_bytes".into()));
    }
    let record = reader
        .record()
        .map_err(|i| bad(format!("column {} of the header is not valid UTF-8", i + 1)))?;
    Ok(record.iter().map(|h| h.trim().to_string()).collect())
}

/// The index of the column named `name`.
pub(crate) fn column(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name)
}

/// A source over CSV rows, mapped by `M`.
pub(crate) struct CsvSource<M> {
    file: String,
    reader: CsvReader,
    header: Vec<String>,
    progress: Progress,
    keep_raw: bool,
    mapper: M,
    done: bool,
}

impl<M: RowMapper> CsvSource<M> {
    pub(crate) fn new(
        file: String,
        reader: CsvReader,
        header: Vec<String>,
        progress: Progress,
        keep_raw: bool,
        mapper: M,
    ) -> Self {
        CsvSource {
            file,
            reader,
            header,
            progress,
            keep_raw,
            mapper,
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
        Reject::new(&self.origin(line), reason).with_raw(self.reader.raw())
    }

    /// `None` for a blank row, to be skipped.
    fn handle(&self, info: RecordInfo) -> Option<SourceItem> {
        let line = info.line;
        match info.overflow {
            Some(Overflow::Bytes(n)) => {
                let reason = format!(
                    "record is {n}+ bytes, longer than the {} bytes allowed (max_record_bytes); skipped",
                    self.reader.max_record_bytes()
                );
                return Some(Err(self.reject(line, reason)));
            }
            Some(Overflow::Fields) => {
                let reason = format!(
                    "record has more than {} fields; skipped",
                    crate::csv_records::MAX_FIELDS
                );
                return Some(Err(self.reject(line, reason)));
            }
            None => {}
        }
        if info.open_quote {
            let reason = format!("unterminated quoted field: the file ends inside quotes opened in the record starting on line {line}");
            return Some(Err(self.reject(line, reason)));
        }
        let row = match self.reader.record() {
            Ok(row) => row,
            Err(i) => {
                let reason = format!(
                    "invalid UTF-8 in column {} ({:?}); the file must be UTF-8",
                    i + 1,
                    self.header
                        .get(i)
                        .map(String::as_str)
                        .unwrap_or("beyond the header")
                );
                return Some(Err(self.reject(line, reason)));
            }
        };
        if row.len() == 1 && row.get(0).trim().is_empty() && self.header.len() > 1 {
            return None;
        }
        if row.len() != self.header.len() {
            let mut reason = format!(
                "record has {} fields but the header has {}",
                row.len(),
                self.header.len()
            );
            if !info.terminated {
                reason.push_str(" (last record has no newline: truncated file?)");
            }
            return Some(Err(self.reject(line, reason)));
        }
        Some(
            match self
                .mapper
                .build(&row)
                .and_then(crate::mapping::require_text)
            {
                Ok(mut post) => {
                    post.origin = self.origin(line);
                    if self.keep_raw {
                        post.raw = Some(self.raw_object(&row));
                    }
                    Ok(post)
                }
                Err(reason) => Err(self.reject(line, reason)),
            },
        )
    }

    fn raw_object(&self, row: &StrRecord<'_>) -> serde_json::Value {
        let map = self
            .header
            .iter()
            .zip(row.iter())
            .map(|(h, v)| (h.clone(), serde_json::Value::String(v.to_string())))
            .collect();
        serde_json::Value::Object(map)
    }

    fn read_error(&self, e: io::Error) -> Reject {
        let after = self.reader.lines_read();
        Reject::new(
            &self.origin(after + 1),
            format!("read error after line {after}: {e}"),
        )
    }
}

impl<M: RowMapper> Iterator for CsvSource<M> {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        while !self.done {
            match self.reader.read_record() {
                Ok(Some(info)) => {
                    if let Some(item) = self.handle(info) {
                        return Some(item);
                    }
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

impl<M: RowMapper> Source for CsvSource<M> {
    fn describe(&self) -> String {
        format!("{} {}", self.mapper.format_name(), self.file)
    }

    fn progress(&self) -> (u64, Option<u64>) {
        self.progress.get()
    }
}

/// The generic `csv` format: columns found by the [`FieldMap`](crate::FieldMap).
pub(crate) struct GenericCsv {
    columns: [Option<usize>; FIELD_COUNT],
    mapper: Mapper,
}

impl GenericCsv {
    /// Resolves the mapped columns. The text column must exist, and so must every
    /// column named explicitly in `--map`.
    pub(crate) fn new(
        header: &[String],
        opts: &ImportOptions,
        path: &Path,
    ) -> Result<Self, CollectError> {
        let mut columns = [None; FIELD_COUNT];
        for field in Field::ALL {
            let name = opts.map.path(field);
            columns[field as usize] = column(header, name);
            let required = field == Field::Text || name != field.name();
            if required && columns[field as usize].is_none() {
                return Err(CollectError::MissingColumn {
                    path: path.to_path_buf(),
                    field: field.name().to_string(),
                    column: name.to_string(),
                    columns: header.join(", "),
                });
            }
        }
        Ok(GenericCsv {
            columns,
            mapper: Mapper::new(opts, PathKind::Column),
        })
    }
}

struct CsvRow<'r, 'a> {
    row: &'r StrRecord<'a>,
    columns: &'r [Option<usize>; FIELD_COUNT],
}

impl<'a> Record<'a> for CsvRow<'_, 'a> {
    fn take(&mut self, field: Field) -> Result<Option<Val<'a>>, String> {
        Ok(self.columns[field as usize].map(|i| Val::Str(Cow::Borrowed(self.row.get(i)))))
    }
}

impl RowMapper for GenericCsv {
    fn build(&self, row: &StrRecord<'_>) -> Result<RawPost, String> {
        self.mapper.build(&mut CsvRow {
            row,
            columns: &self.columns,
        })
    }

    fn format_name(&self) -> &'static str {
        "csv"
    }
}

/// Opens a generic CSV source.
pub(crate) fn open_csv(
    path: &Path,
    input: Input,
    opts: &ImportOptions,
) -> Result<CsvSource<GenericCsv>, CollectError> {
    let mut reader = CsvReader::new(input.reader, opts.max_record_bytes);
    let header = read_header(&mut reader, path)?;
    let mapper = GenericCsv::new(&header, opts, path)?;
    Ok(CsvSource::new(
        path.display().to_string(),
        reader,
        header,
        input.progress,
        opts.keep_raw,
        mapper,
    ))
}
