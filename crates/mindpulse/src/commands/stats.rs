//! `mindpulse stats` and `mindpulse runs`: what is in the database and how it got there.

use crate::cli::{RunsArgs, StatsArgs};
use crate::context::Context;
use crate::render::render;
use std::process::ExitCode;

pub async fn run(ctx: &Context, args: StatsArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let stats = store.stats(args.days).await?;
    if args.json {
        println!("{}", serde_json::to_string(&stats)?);
    } else {
        print!("{}", render(&stats));
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
                "#{:<5} {:<7} {:<11} {}  source={} model={} version={}  in={} accepted={} dup={} rejected={} failed={}",
                r.id,
                r.kind,
                r.status,
                r.started_at.format("%Y-%m-%d %H:%M:%S"),
                r.source.as_deref().unwrap_or("-"),
                r.model_id.as_deref().unwrap_or("-"),
                r.version.as_deref().unwrap_or("-"),
                r.counts.input,
                r.counts.accepted,
                r.counts.duplicate,
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
