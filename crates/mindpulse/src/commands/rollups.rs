//! `mindpulse rollups`: the aggregate tables that `trends`, alert scans and the dashboard
//! read. Runs keep them current on their own; `rebuild` recounts them from the posts (after
//! upgrading a database that had posts before schema v8, or after `status` says they are
//! stale), `status` says whether they are current.

use crate::context::Context;
use clap::{Args, Subcommand};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct RollupsArgs {
    #[command(subcommand)]
    pub command: RollupsCommand,
}

#[derive(Debug, Subcommand)]
pub enum RollupsCommand {
    /// Recount every rollup from the stored posts and scores.
    Rebuild,
    /// Say whether the rollups are current (exit 0) or stale (exit 1; readers then scan posts).
    Status,
}

pub async fn run(ctx: &Context, args: RollupsArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let result = match args.command {
        RollupsCommand::Rebuild => {
            let started = Instant::now();
            store.rebuild_rollups().await?;
            println!("rollups rebuilt in {:.1}s", started.elapsed().as_secs_f64());
            Ok(ExitCode::SUCCESS)
        }
        RollupsCommand::Status => {
            if store.rollups_built().await? {
                println!("rollups: current (trends and alerts read them)");
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "rollups: stale (trends and alerts scan the posts); run `mindpulse rollups rebuild`"
                );
                Ok(ExitCode::from(1))
            }
        }
    };
    store.close().await;
    result
}
