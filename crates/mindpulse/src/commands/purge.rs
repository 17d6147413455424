//! `mindpulse purge --before DATE [--platform P] [--raw-only] [--dry-run]`: retention.
//! Deletes posts older than a date with their scores, topic links and claims, and the
//! authors left without posts (or, with `--raw-only`, only the raw payloads), on every
//! backend, and says what it removed.

use crate::context::Context;
use clap::Args;
use mindpulse_store::PurgeFilter;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Remove posts created before this day (YYYY-MM-DD, midnight in --tz) or time (RFC
    /// 3339); a post without a creation time counts from when it was collected.
    #[arg(long)]
    pub before: String,
    /// Time zone of --before (IANA name; default [time] zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Only posts of this platform.
    #[arg(long)]
    pub platform: Option<String>,
    /// Clear the raw payloads (--keep-raw) of those posts and keep the posts.
    #[arg(long)]
    pub raw_only: bool,
    /// Count what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: PurgeArgs) -> anyhow::Result<ExitCode> {
    let filter = PurgeFilter {
        before: crate::zone::Zone::resolve(args.tz.as_deref(), &ctx.config)?
            .parse_bound("--before", &args.before)?,
        platform: args.platform.clone(),
    };
    let store = ctx.existing_store().await?;
    let report = store.purge(&filter, args.raw_only, args.dry_run).await?;
    store.close().await;
    tracing::info!(?report, "purge done");
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let scope = format!(
        "created before {}{}",
        filter.before.to_rfc3339(),
        args.platform
            .as_deref()
            .map(|p| format!(" on {p}"))
            .unwrap_or_default()
    );
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    if args.raw_only {
        println!(
            "{verb} the raw payloads of {} posts {scope}",
            report.raw_payloads
        );
    } else {
        println!(
            "{verb} {} posts {scope}, with {} scores, {} topic links, {} score claims and {} embeddings; {} authors left without posts",
            report.posts,
            report.scores,
            report.topic_links,
            report.score_claims,
            report.embeddings,
            report.authors
        );
    }
    Ok(ExitCode::SUCCESS)
}
