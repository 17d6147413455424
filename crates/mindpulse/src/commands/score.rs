//! `mindpulse score`: scores every stored post that has no score yet from the chosen scorer
//! (the heads, or the LLM scorer), through the one score driver: leased batches, so any
//! number of `mindpulse score` processes on any number of machines can share one database;
//! resumable; Ctrl-C or SIGTERM finish the current batch and stop. `--follow` keeps
//! claiming new posts as they arrive; `--status` shows every scorer's progress, the live
//! workers and their leases.

use crate::context::Context;
use crate::llm_args::LlmArgs;
use crate::scoring::{self, ScorerKind};
use clap::Args;
use mindpulse_score::DriverOptions;
use mindpulse_store::ScorerStatus;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Which scorer.
    #[arg(long, value_enum, default_value = "heads")]
    pub scorer: ScorerKind,
    /// Score at most this many posts.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Posts per claimed batch: one scorer call, one transaction (default [score] batch_size,
    /// else 256 for the heads and 16 for the LLM).
    #[arg(long, alias = "page-size")]
    pub batch_size: Option<usize>,
    /// Encoder threads of the heads (0: all cores; default [score] threads, else 0).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Heads directory (default: [score] heads, else the heads built into this binary).
    #[arg(long, env = "MINDPULSE_HEADS")]
    pub heads: Option<PathBuf>,
    /// Keep running and score new posts as they arrive (Ctrl-C or SIGTERM finish the
    /// current batch, then stop).
    #[arg(long)]
    pub follow: bool,
    /// Seconds between looks for new posts with --follow, and while other workers still
    /// hold batches at the end of a pass.
    #[arg(long, default_value_t = 10.0)]
    pub poll_secs: f64,
    /// Seconds a claimed batch stays this worker's without a renewal; a worker that stops
    /// renewing (killed, frozen) loses its batch to another after that (default [score]
    /// lease_secs, else 300).
    #[arg(long)]
    pub lease_secs: Option<f64>,
    /// Show every scorer's progress, its live workers (posts/s) and their leases, then exit.
    #[arg(long)]
    pub status: bool,
    /// Print the summary (or the status) as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub llm: LlmArgs,
}

pub async fn run(ctx: &Context, args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.store().await?;
    let cfg = &ctx.config.score;
    let lease =
        Duration::from_secs_f64(args.lease_secs.or(cfg.lease_secs).unwrap_or(300.0).max(0.1));
    if args.status {
        let stale_ms = (3 * lease.as_millis() as i64).max(60_000);
        let status = store.score_status(stale_ms).await?;
        if args.json {
            println!("{}", serde_json::to_string(&status)?);
        } else {
            print!("{}", render_status(&status));
        }
        store.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let threads = super::resolve_threads(args.threads.or(cfg.threads).unwrap_or(0));
    let heads_dir = args.heads.clone().or_else(|| cfg.heads.clone());
    let scorer = scoring::build(
        args.scorer,
        heads_dir.as_deref(),
        threads,
        &args.llm.settings(),
    )
    .await?;
    let opts = DriverOptions {
        batch_size: args
            .batch_size
            .or(cfg.batch_size)
            .unwrap_or(args.scorer.default_batch())
            .max(1),
        limit: args.limit,
        lease,
        follow: args.follow,
        poll: Duration::from_secs_f64(args.poll_secs.max(0.05)),
        source_id: None,
        params: serde_json::json!({ "threads": threads }),
    };
    let stop = super::cancel_on_signal();
    let result = scoring::drive(&store, scorer, &opts, ctx.show_progress, &stop).await;
    store.close().await;
    let summary = result?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", scoring::render_summary(&summary));
    }
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The `--status` table.
fn render_status(status: &[ScorerStatus]) -> String {
    use crate::progress::thousands;
    use std::fmt::Write;
    if status.is_empty() {
        return "no scorer has run on this database yet\n".into();
    }
    let mut out = String::new();
    for s in status {
        let _ = writeln!(
            out,
            "{} {} (scorer {}): {} posts, {} scored, {} left",
            s.model_id,
            s.version,
            s.scorer_id,
            thousands(s.posts.max(0) as u64),
            thousands(s.scored.max(0) as u64),
            thousands(s.unscored.max(0) as u64)
        );
        let total: f64 = s.workers.iter().map(|w| w.posts_per_s).sum();
        if !s.workers.is_empty() {
            let _ = writeln!(
                out,
                "  {} live worker(s), {:.1} posts/s together",
                s.workers.len(),
                total
            );
        }
        for w in &s.workers {
            let _ = writeln!(
                out,
                "    run {:<6} {:<48} {:>9} posts {:>8.1} posts/s  last heartbeat {:.0}s ago",
                w.run_id,
                w.owner.as_deref().unwrap_or("?"),
                thousands(w.posts.max(0) as u64),
                w.posts_per_s,
                w.silent_s
            );
        }
        for l in &s.leases {
            let state = if l.expires_in_s < 0.0 {
                format!(
                    "expired {:.0}s ago, waiting to be taken over",
                    -l.expires_in_s
                )
            } else {
                format!("expires in {:.0}s", l.expires_in_s)
            };
            let _ = writeln!(
                out,
                "    lease {:<6} {:<48} {:>5} posts (ids {}–{}), held {:.0}s, {state}{}",
                l.id,
                l.owner,
                l.n_posts,
                l.first_post_id.unwrap_or(0),
                l.last_post_id.unwrap_or(0),
                l.age_s,
                if l.takeovers > 0 {
                    format!(", taken over {}×", l.takeovers)
                } else {
                    String::new()
                }
            );
        }
    }
    out
}
