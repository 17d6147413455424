//! `mindpulse export`: stream stored posts as JSONL or CSV, page by page.

use crate::cli::{ExportArgs, ExportFormat};
use crate::context::Context;
use crate::output_file::OutputFile;
use anyhow::bail;
use chrono::{DateTime, NaiveDate, Utc};
use mindpulse_store::{ExportFilter, ExportPost};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

const PAGE: i64 = 5000;

/// Where exported rows go.
enum Sink {
    Csv(Box<csv::Writer<std::io::BufWriter<Out>>>),
    Jsonl(std::io::BufWriter<Out>),
}

/// The output: a file put in place when complete, or standard output.
enum Out {
    File(OutputFile),
    Stdout(std::io::Stdout),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::File(f) => f.write(buf),
            Out::Stdout(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::File(f) => f.flush(),
            Out::Stdout(s) => s.flush(),
        }
    }
}

impl Sink {
    /// Flushes everything and puts an output file in place.
    fn finish(self) -> anyhow::Result<()> {
        let buffered = match self {
            Sink::Csv(w) => w.into_inner().map_err(|e| e.into_error())?,
            Sink::Jsonl(w) => w,
        };
        match buffered.into_inner().map_err(|e| e.into_error())? {
            Out::File(f) => f.finish(),
            Out::Stdout(mut s) => Ok(s.flush()?),
        }
    }
}

pub async fn run(ctx: &Context, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let filter = ExportFilter {
        since: args
            .since
            .as_deref()
            .map(|s| parse_bound("--since", s))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| parse_bound("--until", s))
            .transpose()?,
        topic: args.topic.clone(),
        platform: args.platform.clone(),
    };
    // Checked before the database is opened: the output may never be the database.
    let out = match &args.output {
        Some(path) => Out::File(OutputFile::create(path, args.force, &ctx.db_url)?),
        None => Out::Stdout(std::io::stdout()),
    };
    let store = ctx.existing_store().await?;
    let out = std::io::BufWriter::new(out);
    let dims = if args.scores && args.format == ExportFormat::Csv {
        store.score_dimensions().await?
    } else {
        Vec::new()
    };
    let mut sink = match args.format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let mut header: Vec<String> = CSV_COLUMNS.iter().map(|s| s.to_string()).collect();
            header.extend(dims.iter().map(|d| format!("score_{d}")));
            w.write_record(&header)?;
            Sink::Csv(Box::new(w))
        }
        ExportFormat::Jsonl => Sink::Jsonl(out),
    };
    let mut after = 0;
    let mut n = 0u64;
    loop {
        let page = store.export_page(&filter, after, PAGE, args.scores).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for post in &page {
            match &mut sink {
                Sink::Csv(w) => w.write_record(
                    csv_row(post, &dims)
                        .iter()
                        .map(|c| safe_cell(c).into_owned()),
                )?,
                Sink::Jsonl(out) => {
                    serde_json::to_writer(&mut *out, post)?;
                    out.write_all(b"\n")?;
                }
            }
            n += 1;
        }
    }
    sink.finish()?;
    tracing::info!(posts = n, "export done");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// A CSV cell a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'` (numbers are left as they are).
fn safe_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

const CSV_COLUMNS: [&str; 19] = [
    "id",
    "platform",
    "platform_id",
    "kind",
    "parent_id",
    "root_id",
    "author",
    "text",
    "lang",
    "created_at",
    "collected_at",
    "repost_count",
    "comment_count",
    "like_count",
    "region",
    "content_hash",
    "dup_group",
    "dup_kind",
    "topics",
];

fn csv_row(p: &ExportPost, dims: &[String]) -> Vec<String> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let mut row = vec![
        p.id.to_string(),
        p.platform.clone(),
        p.platform_id.clone(),
        p.kind.clone(),
        opt(&p.parent_id),
        opt(&p.root_id),
        opt(&p.author),
        p.text.clone(),
        opt(&p.lang),
        p.created_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        p.collected_at.to_rfc3339(),
        p.repost_count.to_string(),
        p.comment_count.to_string(),
        p.like_count.to_string(),
        opt(&p.region),
        p.content_hash.clone(),
        opt(&p.dup_group),
        opt(&p.dup_kind),
        p.topics.join("|"),
    ];
    if !dims.is_empty() {
        // The newest run's value per dimension.
        let mut latest: BTreeMap<&str, (i64, f64)> = BTreeMap::new();
        for s in p.scores.iter().flatten() {
            let e = latest
                .entry(s.dimension.as_str())
                .or_insert((s.run_id, s.value));
            if s.run_id >= e.0 {
                *e = (s.run_id, s.value);
            }
        }
        for d in dims {
            row.push(
                latest
                    .get(d.as_str())
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default(),
            );
        }
    }
    row
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339.
pub fn parse_bound(flag: &str, s: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    match DateTime::parse_from_rfc3339(s.trim()) {
        Ok(t) => Ok(t.with_timezone(&Utc)),
        Err(_) => bail!(
            "{flag} {s:?}: expected YYYY-MM-DD or an RFC 3339 time such as 2025-11-22T10:00:00Z"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_numbers_are_not() {
        for (cell, want) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1+2", "'+1+2"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("-0.25", "-0.25"),
            ("+3", "+3"),
            ("普通的帖子 = 文本", "普通的帖子 = 文本"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn bounds_parse_dates_and_times() {
        assert_eq!(
            parse_bound("--since", "2025-11-22").unwrap().to_rfc3339(),
            "2025-11-22T00:00:00+00:00"
        );
        assert_eq!(
            parse_bound("--until", "2025-11-22T10:00:00+08:00")
                .unwrap()
                .to_rfc3339(),
            "2025-11-22T02:00:00+00:00"
        );
        let e = parse_bound("--since", "yesterday").unwrap_err().to_string();
        assert!(e.contains("--since") && e.contains("YYYY-MM-DD"), "{e}");
    }
}
