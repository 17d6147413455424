//! `export --table series`: the trend series, one row per metric × bucket × group, the
//! very rows `trends --json` gives (posts, flagged, raw share, corrected prevalence and its
//! 95 % interval, suppression), read the same way (rollups when they cover the query,
//! duplicates left out, small cells suppressed, the configured correction), with the
//! metric, bucket length and time zone on every row. Without `--metric`: volume and every
//! population dimension the database has scores for.

use super::{format_of, Out};
use crate::cli::ExportArgs;
use crate::context::Context;
use crate::series::{read_series, scored_dimensions, By, Read};
use crate::tabular::{Cell, Column, Kind, TableWriter};
use crate::zone::Zone;
use mindpulse_store::{PostFilter, Store};
use std::io::BufWriter;

pub(super) async fn export(
    ctx: &Context,
    store: &Store,
    args: &ExportArgs,
    zone: &Zone,
    mut filter: PostFilter,
    out: BufWriter<Out>,
) -> anyhow::Result<u64> {
    // As `trends` counts: exact and near duplicates left out.
    filter.no_duplicates = true;
    let by = args.by.unwrap_or(By::Day);
    let min_cell = crate::series::min_cell_or_configured(args.min_cell, &ctx.config);
    let method = crate::series::method_or_configured(args.method, &ctx.config);
    let metrics: Vec<String> = match &args.metric {
        Some(m) => vec![m.clone()],
        None => std::iter::once("volume")
            .chain(scored_dimensions(store).await?)
            .map(str::to_string)
            .collect(),
    };
    let mut sources = Vec::new();
    let mut rows = Vec::new();
    for metric in &metrics {
        let (series, rates, source) = read_series(
            store,
            metric,
            args.group,
            &filter,
            by.bucket(),
            zone.tz,
            Read::Rollups,
        )
        .await?;
        if let Some(source) = source {
            sources.push((format!("mindpulse.source.{metric}"), source));
        }
        let trend = if metric == "volume" {
            series.volume(min_cell)
        } else {
            series.prevalence(&|lang| rates.get(lang), method, min_cell)
        };
        rows.extend(trend.into_iter().map(|r| (metric.clone(), r)));
    }
    use Kind::*;
    let columns = Column::list(&[
        ("metric", Text, false),
        ("by", Text, false),
        ("zone", Text, false),
        ("bucket", Text, false),
        ("group", Text, true),
        ("n", Int, true),
        ("flagged", Int, true),
        ("raw", Float, true),
        ("value", Float, true),
        ("ci_low", Float, true),
        ("ci_high", Float, true),
        ("suppressed", Bool, false),
        ("validated", Bool, true),
        ("note", Text, true),
    ]);
    let mut metadata = vec![
        ("mindpulse.table", "series".to_string()),
        ("mindpulse.version", env!("CARGO_PKG_VERSION").to_string()),
        ("mindpulse.zone", zone.name().to_string()),
        ("mindpulse.by", by.name().to_string()),
        ("mindpulse.min_cell", min_cell.to_string()),
        ("mindpulse.method", method.name().to_string()),
        ("mindpulse.filter", args.filter.describe()),
    ];
    metadata.extend(sources.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let mut table = TableWriter::new(out, format_of(args.format), columns, &metadata)?;
    let count = |v: Option<u64>| Cell::int(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX)));
    for (metric, r) in &rows {
        table.write(vec![
            Cell::Text(metric.clone()),
            Cell::Text(by.name().to_string()),
            Cell::Text(zone.name().to_string()),
            Cell::Text(r.bucket.clone()),
            Cell::text(r.group.as_deref()),
            count(r.n),
            count(r.flagged),
            Cell::float(r.raw),
            Cell::float(r.value),
            Cell::float(r.ci_low),
            Cell::float(r.ci_high),
            Cell::Bool(r.suppressed),
            r.validated.map_or(Cell::Null, Cell::Bool),
            Cell::text(r.note.as_deref()),
        ])?;
    }
    Out::finish(table.finish()?)?;
    Ok(rows.len() as u64)
}
