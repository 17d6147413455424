//! `mindpulse export`: stream a table out of the database as CSV, JSON lines or Parquet.
//!
//! Three tables: `posts` (one row per post; `--scores` adds the newest score of each
//! dimension), `scores` (one row per stored score with its provenance) and `series` (the
//! trend series, one row per metric × bucket × group, exactly the rows `trends --json`
//! gives). Flags are checked before anything is opened, and a file is written in full
//! before it is put in place (see [`crate::output_file`]).

mod posts;
mod scores;
mod series;

use crate::cli::{ExportArgs, ExportFormat, ExportTable};
use crate::context::Context;
use crate::output_file::OutputFile;
use crate::tabular::Format;
use anyhow::bail;
use std::io::{IsTerminal as _, Write};
use std::process::ExitCode;

/// Posts read per page.
const PAGE: i64 = 5000;

/// The output: a file put in place when complete, or standard output.
pub(crate) enum Out {
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

impl Out {
    /// Flushes a buffered output and puts an output file in place.
    pub(crate) fn finish(buffered: std::io::BufWriter<Out>) -> anyhow::Result<()> {
        match buffered.into_inner().map_err(|e| e.into_error())? {
            Out::File(f) => f.finish(),
            Out::Stdout(mut s) => Ok(s.flush()?),
        }
    }
}

pub(crate) fn format_of(f: ExportFormat) -> Format {
    match f {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Parquet => Format::Parquet,
    }
}

/// Flags that do not fit the table, refused before anything is opened.
fn check_flags(args: &ExportArgs) -> anyhow::Result<()> {
    let series_flags = [
        ("--metric", args.metric.is_some()),
        ("--by", args.by.is_some()),
        ("--group", args.group.is_some()),
        ("--min-cell", args.min_cell.is_some()),
        ("--method", args.method.is_some()),
    ];
    if args.table != ExportTable::Series {
        if let Some((flag, _)) = series_flags.iter().find(|(_, set)| *set) {
            bail!("{flag} is for --table series (the trend series)");
        }
    }
    if args.scores && args.table != ExportTable::Posts {
        bail!(
            "--scores adds score columns to --table posts; --table scores has one row per score and --table series the corrected shares"
        );
    }
    if let Some(metric) = &args.metric {
        if metric != "volume" && !crate::series::POPULATION.contains(&metric.as_str()) {
            bail!(
                "--metric {metric:?}: expected volume or one of the population dimensions ({})",
                crate::series::POPULATION.join(", ")
            );
        }
    }
    if args.format == ExportFormat::Parquet
        && args.output.is_none()
        && std::io::stdout().is_terminal()
    {
        bail!("--format parquet writes binary data: give -o FILE (or pipe the output)");
    }
    Ok(())
}

pub async fn run(ctx: &Context, args: ExportArgs) -> anyhow::Result<ExitCode> {
    check_flags(&args)?;
    let (zone, filter) = args.filter.resolve(&ctx.config)?;
    if args.filter.since.is_some() || args.filter.until.is_some() {
        tracing::info!(
            zone = zone.name(),
            "--since/--until read in {}",
            zone.name()
        );
    }
    // Checked before the database is opened: the output may never be the database.
    let out = match &args.output {
        Some(path) => Out::File(OutputFile::create(path, args.force, &ctx.db_url)?),
        None => Out::Stdout(std::io::stdout()),
    };
    let out = std::io::BufWriter::new(out);
    let store = ctx.existing_store().await?;
    let result = match args.table {
        ExportTable::Posts => posts::export(&store, &args, &filter, out).await,
        ExportTable::Scores => scores::export(&store, &args, &filter, out).await,
        ExportTable::Series => series::export(ctx, &store, &args, &zone, filter, out).await,
    };
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    tracing::info!(rows, table = ?args.table, "export done");
    if rows == 0 {
        let stored = store.count_posts().await?;
        if stored == 0 {
            eprintln!("export: the database holds no posts");
        } else {
            eprintln!(
                "export: no posts match {} ({stored} posts stored; times in {})",
                args.filter.describe(),
                zone.name()
            );
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
