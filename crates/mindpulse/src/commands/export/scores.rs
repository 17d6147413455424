//! `export --table scores`: one row per stored score (every run, not only the newest),
//! with the post's time, language and platform for grouping, what the value means, and
//! its provenance (head and version, scorer and version, run). The encoder route is a
//! property of the post (`--table posts --scores`), not a score, and is left out.

use super::{format_of, Out, PAGE};
use crate::cli::ExportArgs;
use crate::post_json::ScoreOut;
use crate::tabular::{Cell, Column, Kind, TableWriter};
use mindpulse_store::{PostFilter, Store, ROUTING_DIMENSION};
use std::io::BufWriter;

pub(super) async fn export(
    store: &Store,
    args: &ExportArgs,
    filter: &PostFilter,
    out: BufWriter<Out>,
) -> anyhow::Result<u64> {
    use Kind::*;
    let columns = Column::list(&[
        ("post_id", Int, false),
        ("created_at", Time, true),
        ("lang", Text, true),
        ("platform", Text, false),
        ("dimension", Text, false),
        ("value", Float, false),
        // The class whose probability `value` is; empty when it is not a probability.
        ("probability_of", Text, true),
        ("scale", Text, false),
        ("label", Text, true),
        // A screen's operating point (`label` is yes when `value` is at least this).
        ("threshold", Float, true),
        ("head", Text, false),
        ("head_version", Text, false),
        ("scorer", Text, false),
        ("scorer_version", Text, false),
        ("run_id", Int, false),
        ("rationale", Text, true),
    ]);
    let mut table = TableWriter::new(
        out,
        format_of(args.format),
        columns,
        &[
            ("mindpulse.table", "scores".to_string()),
            ("mindpulse.version", env!("CARGO_PKG_VERSION").to_string()),
            ("mindpulse.filter", args.filter.describe()),
        ],
    )?;
    let mut after = 0;
    let mut posts = 0u64;
    let mut scores = 0u64;
    loop {
        let page = store.export_page(filter, after, PAGE, true).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        posts += page.len() as u64;
        for p in &page {
            for s in p.scores.iter().flatten() {
                if s.dimension == ROUTING_DIMENSION {
                    continue;
                }
                let s = ScoreOut::new(s);
                scores += 1;
                table.write(vec![
                    Cell::Int(p.id),
                    p.created_at.map_or(Cell::Null, Cell::Time),
                    Cell::text(p.lang.as_deref()),
                    Cell::Text(p.platform.clone()),
                    Cell::Text(s.dimension),
                    Cell::Float(s.value),
                    Cell::text(s.probability_of.as_deref()),
                    Cell::Text(s.scale),
                    Cell::text(s.label.as_deref()),
                    Cell::float(s.threshold),
                    Cell::Text(s.head),
                    Cell::Text(s.head_version),
                    Cell::Text(s.scorer),
                    Cell::Text(s.scorer_version),
                    Cell::Int(s.run_id),
                    Cell::text(s.rationale.as_deref()),
                ])?;
            }
        }
    }
    Out::finish(table.finish()?)?;
    if posts > 0 && scores == 0 {
        eprintln!(
            "export: the {posts} selected posts have no scores yet: run `mindpulse score` first"
        );
    }
    Ok(posts)
}
