//! Sources of raw posts for mindpulse.
//!
//! * [`weibo`]: the shared parsers for Weibo-style counts (`1.2万`) and times (`昨天 12:30`).
//! * File importers, each a streaming [`Source`]: [`Format::Jsonl`] (any NDJSON, fields
//!   found through a [`FieldMap`]), [`Format::Csv`] (header row, same map by column
//!   name), [`Format::Reddit`] (Pushshift / Arctic Shift dumps, plain or `.zst`) and
//!   [`Format::WeiboCsv`] (dataabc/weibo-search output). Open one with [`open`], or let
//!   [`guess_format`] pick the format.
//!
//! Importers read record by record with memory bounded by
//! [`ImportOptions::max_record_bytes`]. A bad record never stops a file: it becomes a
//! [`Reject`](mindpulse_core::Reject) with the file, the 1-based line (physical line for
//! line formats, starting line of the record for CSV), a reason naming the field, and the
//! offending input; then reading goes on. Any file may be zstd-compressed.

mod csv_import;
mod csv_records;
mod detect;
mod error;
mod input;
mod json;
mod jsonl;
mod line_source;
mod mapping;
mod options;
mod reddit;
pub mod weibo;
mod weibo_csv;

pub use detect::guess_format;
pub use error::CollectError;
pub use options::{
    china_offset, Field, FieldMap, ImportOptions, DEFAULT_MAX_RECORD_BYTES, FIELD_COUNT,
};

use mindpulse_core::Source;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// An import file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line, fields through the [`FieldMap`].
    Jsonl,
    /// CSV with a header row, fields through the [`FieldMap`] (column names).
    Csv,
    /// Reddit NDJSON dumps (Pushshift / Arctic Shift), plain or zstd.
    Reddit,
    /// The CSV written by dataabc/weibo-search.
    WeiboCsv,
}

impl Format {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Reddit => "reddit",
            Format::WeiboCsv => "weibo-csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = CollectError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "reddit" => Ok(Format::Reddit),
            "weibo-csv" | "weibo_csv" => Ok(Format::WeiboCsv),
            _ => Err(CollectError::FormatName(s.to_string())),
        }
    }
}

/// Opens `path` as a streaming source of `format` (zstd-compressed files are decoded
/// transparently). Fails only for file-level problems: unreadable file, a CSV without a
/// header or without its text column.
pub fn open(
    path: &Path,
    format: Format,
    opts: &ImportOptions,
) -> Result<Box<dyn Source>, CollectError> {
    let input = input::open_input(path)?;
    let file = path.display().to_string();
    tracing::debug!(file = %file, %format, compressed = input.compressed, "opening import");
    let max = opts.max_record_bytes.max(1);
    Ok(match format {
        Format::Jsonl => Box::new(line_source::LineSource::new(
            file,
            input,
            max,
            jsonl::JsonlParser::new(opts),
        )),
        Format::Reddit => Box::new(line_source::LineSource::new(
            file,
            input,
            max,
            reddit::RedditParser::new(opts.keep_raw),
        )),
        Format::Csv => Box::new(csv_import::open_csv(path, input, opts)?),
        Format::WeiboCsv => Box::new(weibo_csv::open_weibo_csv(path, input, opts)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in [Format::Jsonl, Format::Csv, Format::Reddit, Format::WeiboCsv] {
            assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
        }
        let err = "xml".parse::<Format>().unwrap_err().to_string();
        assert!(err.contains("jsonl, csv, reddit or weibo-csv"), "{err}");
    }
}
