//! One module per subcommand; [`run`] dispatches.

pub(crate) mod alerts;
pub(crate) mod ask;
mod bench;
pub(crate) mod bench_alerts;
pub(crate) mod bench_ask;
pub(crate) mod bench_forecast;
pub(crate) mod bench_llm;
pub(crate) mod bench_network;
pub(crate) mod bench_score;
pub(crate) mod bench_search;
pub(crate) mod bench_serve;
pub(crate) mod bench_topics;
pub(crate) mod bench_trends;
pub(crate) mod crawl;
pub(crate) mod embed;
pub(crate) mod eval;
pub(crate) mod export;
pub(crate) mod forecast;
pub(crate) mod generate;
mod import;
mod init;
pub(crate) mod models;
pub(crate) mod network;
pub(crate) mod purge;
mod quickstart;
pub(crate) mod report;
pub(crate) mod rollups;
pub(crate) mod score;
pub(crate) mod search;
pub(crate) mod serve;
mod stats;
pub(crate) mod topics;
pub(crate) mod train;
pub(crate) mod trends;
pub(crate) mod users;

use crate::cli::{BenchCommand, Cli, Command};
use crate::context::Context;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Context::new(&cli.global)?;
    match cli.command {
        Command::Init => init::run(&ctx).await,
        Command::Import(args) => import::run(&ctx, args).await,
        Command::Export(args) => export::run(&ctx, args).await,
        Command::Stats(args) => stats::run(&ctx, args).await,
        Command::Runs(args) => stats::runs(&ctx, args).await,
        Command::Quickstart(args) => quickstart::run(&ctx, args).await,
        Command::Bench(BenchCommand::Ingest(args)) => bench::ingest(&ctx, args).await,
        Command::Bench(BenchCommand::Embed(args)) => embed::bench(args),
        Command::Bench(BenchCommand::Score(args)) => bench_score::run(&ctx, args).await,
        Command::Bench(BenchCommand::Llm(args)) => bench_llm::run(&ctx, args).await,
        Command::Bench(BenchCommand::Alerts(args)) => bench_alerts::run(args).await,
        Command::Bench(BenchCommand::Forecast(args)) => bench_forecast::run(args).await,
        Command::Bench(BenchCommand::Trends(args)) => bench_trends::run(args).await,
        Command::Bench(BenchCommand::Serve(args)) => bench_serve::run(args).await,
        Command::Bench(BenchCommand::Network(args)) => bench_network::run(args).await,
        Command::Bench(BenchCommand::Topics(args)) => bench_topics::run(args).await,
        Command::Bench(BenchCommand::Search(args)) => bench_search::run(args).await,
        Command::Bench(BenchCommand::Ask(args)) => bench_ask::run(args).await,
        Command::Train(args) => train::run(&ctx, args).await,
        Command::Eval(args) => eval::run(&ctx, args).await,
        Command::Score(args) => score::run(&ctx, args).await,
        Command::Trends(args) => trends::run(&ctx, args).await,
        Command::Alerts(args) => alerts::run(&ctx, args).await,
        Command::Forecast(args) => forecast::run(&ctx, args).await,
        Command::Network(args) => network::run(&ctx, args).await,
        Command::Topics(args) => topics::run(&ctx, args).await,
        Command::Report(args) => report::run(&ctx, args).await,
        Command::Serve(args) => serve::run(&ctx, args).await,
        Command::Users(args) => users::run(&ctx, args).await,
        Command::Search(args) => search::run(&ctx, args).await,
        Command::Ask(args) => ask::run(&ctx, args).await,
        Command::Rollups(args) => rollups::run(&ctx, args).await,
        Command::Generate(args) => generate::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Models(args) => models::run(&ctx, args).await,
        Command::Crawl(args) => crawl::crawl(&ctx, args).await,
        Command::Schedule(args) => crawl::schedule(&ctx, args).await,
        Command::Coverage(args) => crawl::coverage(&ctx, args).await,
        Command::Purge(args) => purge::run(&ctx, args).await,
    }
}

/// A `--threads` value: 0 means every available core.
pub fn resolve_threads(n: usize) -> usize {
    if n == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        n
    }
}

/// A flag set on the first Ctrl-C (SIGINT) or SIGTERM so long work can finish its current
/// batch and stop cleanly; a second Ctrl-C exits at once.
pub fn cancel_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::debug!("cannot listen for SIGTERM: {e}");
                    None
                }
            };
        loop {
            let got = async {
                match term.as_mut() {
                    Some(t) => {
                        tokio::select! {
                            r = tokio::signal::ctrl_c() => r.is_ok(),
                            s = t.recv() => s.is_some(),
                        }
                    }
                    None => tokio::signal::ctrl_c().await.is_ok(),
                }
            }
            .await;
            if !got {
                return;
            }
            if f.swap(true, Ordering::SeqCst) {
                eprintln!("interrupted again: exiting now");
                std::process::exit(130);
            }
            eprintln!(
                "interrupt: finishing the current batch and saving (Ctrl-C again to exit now)"
            );
        }
    });
    flag
}
