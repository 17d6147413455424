//! Writes the quickstart sample, `data/sample/quickstart.jsonl`:
//!
//! ```text
//! cargo run -p mindpulse-synth --example write_sample -- data/sample/quickstart.jsonl
//! ```
//!
//! 400 generated records (seed 20251122) followed by four deliberately bad lines, so that
//! an import of the sample shows rejects: a truncated JSON object, a record without
//! `text`, a record with `"like_count": "lots"` and one with an unparseable `created_at`.
//! Pass `--clean` after the path to leave the bad lines out. Without a path, writes to
//! standard output.

use mindpulse_synth::{Generator, SynthOptions};
use std::fs::File;
use std::io::{self, BufWriter, Write};

const SEED: u64 = 20_251_122;
const RECORDS: u64 = 400;

/// Hand-written rejects, one per kind of problem.
const BAD_LINES: &[&str] = &[
    r#"{"id":"bad-truncated","platform":"forum","kind":"post","author":"cut_off_42","created_at":"2025-11-20T10:00:00Z","text":"this line was cut off in the middle of wri"#,
    r#"{"id":"bad-no-text","platform":"weibo","kind":"post","author":"5000000001","created_at":"2025-11-21T08:00:00Z","like_count":3}"#,
    r#"{"id":"bad-like-count","platform":"forum","kind":"post","author":"counting_sheep_7","created_at":"2025-11-21T09:30:00Z","text":"My post has a silly like count, the importer should reject it.","like_count":"lots"}"#,
    r#"{"id":"bad-time","platform":"forum","kind":"post","author":"time_traveller_88","created_at":"sometime last week","text":"Nobody knows when this was posted, so it cannot be kept."}"#,
];

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clean = args.iter().any(|a| a == "--clean");
    let path = args.iter().find(|a| !a.starts_with("--"));
    let out: Box<dyn Write> = match path {
        Some(p) => Box::new(File::create(p)?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::new(out);
    let mut g = Generator::new(SynthOptions {
        seed: SEED,
        ..Default::default()
    });
    let mut bytes = g.write_jsonl(&mut out, RECORDS)?;
    if !clean {
        for line in BAD_LINES {
            writeln!(out, "{line}")?;
            bytes += line.len() as u64 + 1;
        }
    }
    out.flush()?;
    let s = g.stats();
    eprintln!(
        "wrote {} records ({} bad lines), {bytes} bytes: {} zh, {} comments, {} distress, {} substance, \
         {} with mentions, {} with PII, {} with URLs, {} exact and {} near duplicates, {} with Weibo-style counts",
        s.records,
        if clean { 0 } else { BAD_LINES.len() },
        s.zh,
        s.comments,
        s.distress,
        s.substance,
        s.with_mentions,
        s.with_pii,
        s.with_urls,
        s.exact_duplicates,
        s.near_duplicates,
        s.weibo_style_counts
    );
    Ok(())
}
