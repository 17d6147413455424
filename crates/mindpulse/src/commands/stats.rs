//! `mindpulse stats` and `mindpulse runs`: what is in the database and how it got there.

use crate::cli::{RunsArgs, StatsArgs};
use crate::context::Context;
use crate::render::render;
use std::process::ExitCode;

pub async fn run(ctx: &Context, args: StatsArgs) -> anyhow::Result<ExitCode> {
    let (zone, filter) = args.filter.resolve(&ctx.config)?;
    let store = ctx.existing_store().await?;
    let stats = store.stats(&filter, zone.tz, args.days).await?;
    if args.json {
        println!("{}", serde_json::to_string(&stats)?);
    } else {
        let selection = args.filter.describe();
        println!(
            "stats: {}; days in {}",
            if selection.is_empty() {
                "all posts".to_string()
            } else {
                format!("posts matching {selection}")
            },
            zone.name()
        );
        print!("{}", render(&stats));
    }
    if stats.posts == 0 && !filter.is_empty() {
        eprintln!("stats: no posts match {}", args.filter.describe());
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn runs(ctx: &Context, args: RunsArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let runs = store.runs(None, args.limit).await?;
    for r in &runs {
        if args.json {
            println!("{}", serde_json::to_string(r)?);
        } else {
            println!(
                "#{:<5} {:<7} {:<11} {}  source={} model={} version={}  in={} accepted={} already_stored={} rejected={} failed={}",
                r.id,
                r.kind,
                r.status,
                r.started_at.format("%Y-%m-%d %H:%M:%S"),
                r.source.as_deref().unwrap_or("-"),
                r.model_id.as_deref().unwrap_or("-"),
                r.version.as_deref().unwrap_or("-"),
                r.counts.input,
                r.counts.accepted,
                r.counts.already_stored,
                r.counts.rejected,
                r.counts.failed
            );
            if let Some(note) = &r.note {
                println!("       {note}");
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
