//! The ingest pipeline: a [`Source`] of raw posts → cleaning (normalization, PII
//! redaction, pseudonyms, language) → duplicate flags → batched writes to the [`Store`].
//!
//! Reading and cleaning run on a blocking thread; writing runs on the async runtime;
//! a bounded channel between them keeps memory flat whatever the input size. Bad records
//! never stop an import: each becomes a reject (`file:line: reason`), logged, counted and
//! appended to `<file>.rejects.jsonl`, and the import goes on. Every import is a row in
//! `runs` whose counts are kept current, so even a killed import tells the truth.
//!
//! The writing end ([`writer`]: duplicate flags, batched inserts, and cleaning + writing a
//! page of raw posts at a time) is shared with the crawlers.

mod pipeline;
mod rejects;
pub mod writer;

pub use pipeline::{ingest, IngestError, IngestOptions, IngestProgress, IngestReport};
pub use rejects::RejectsWriter;
pub use writer::{Flagger, RawWriter, WriteReport, Writer};

#[cfg(test)]
mod tests;
