//! `mindpulse crawl weibo hot|search|run`, `mindpulse crawl mastodon`, `mindpulse schedule`
//! and `mindpulse coverage`: the crawlers of `mindpulse-crawl`, wired to the config file,
//! the pseudonym key, the database and SIGINT/SIGTERM.
//!
//! The Weibo cookie comes from `--cookie-file`, `MINDPULSE_WEIBO_COOKIE` or the config
//! (`[weibo] cookie_file` / `cookie`); it is sent as a header and never logged or stored.

use crate::context::Context;
use crate::scoring::CrawlScoring;
use crate::zone::Zone;
use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use mindpulse_clean::{CleanOptions, Cleaner};
use mindpulse_crawl::mastodon::{self, MastodonJob};
use mindpulse_crawl::schedule::{plan, run_schedule, Planned, ScheduleOptions};
use mindpulse_crawl::weibo::{self, split, ConversationsJob, WeiboJob, WeiboSettings};
use mindpulse_crawl::{
    config::secs, CrawlError, Ending, Fetcher, JobReport, Politeness, ScoreHook,
};
use mindpulse_store::{Coverage, CrawlTask, Store};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Env var holding the Weibo cookie string.
pub const COOKIE_ENV: &str = "MINDPULSE_WEIBO_COOKIE";

#[derive(Debug, Args)]
pub struct CrawlArgs {
    #[command(subcommand)]
    pub target: CrawlTarget,
}

#[derive(Debug, Subcommand)]
pub enum CrawlTarget {
    /// Weibo: hot search, topic search, comments, reposts, users.
    #[command(subcommand)]
    Weibo(WeiboCommand),
    /// A Mastodon hashtag timeline (public, no login).
    Mastodon(MastodonArgs),
}

#[derive(Debug, Subcommand)]
pub enum WeiboCommand {
    /// Read the realtime hot-search list (ads dropped) and upsert its topics with rank history.
    Hot(WeiboHotArgs),
    /// Collect the original posts of a query (a '#topic#' or keywords), splitting it when it reaches the page cap.
    Search(WeiboSearchArgs),
    /// The whole job: hot search → search each top topic → comments, replies and reposts of new posts.
    Run(WeiboRunArgs),
    /// Comments (with replies) and reposts of stored posts chosen by topic, window or id; resumable.
    Conversations(WeiboConversationsArgs),
    /// Tell whether the cookie is logged in (one search request; nothing crawled or stored).
    /// Exit 0 logged in, 4 not logged in, 3 rate limited.
    CheckCookie(WeiboCheckCookieArgs),
}

#[derive(Debug, Args)]
pub struct WeiboCheckCookieArgs {
    #[command(flatten)]
    pub weibo: WeiboOptions,
    #[command(flatten)]
    pub common: CrawlOptions,
}

/// Politeness, resume and output options shared by every crawl.
#[derive(Debug, Args, Clone)]
pub struct CrawlOptions {
    /// Seconds between requests to one host ([crawl] delay_secs, default 12).
    #[arg(long, allow_negative_numbers = true)]
    pub delay: Option<f64>,
    /// Up to this many random extra seconds per request ([crawl] jitter_secs).
    #[arg(long, allow_negative_numbers = true)]
    pub jitter: Option<f64>,
    /// Requests in flight at once ([crawl] concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// User-Agent header ([crawl] user_agent).
    #[arg(long)]
    pub user_agent: Option<String>,
    /// Request timeout in seconds ([crawl] timeout_secs).
    #[arg(long, allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// Retries on timeouts and 5xx ([crawl] retries).
    #[arg(long)]
    pub retries: Option<u32>,
    /// First retry wait in seconds, doubled each retry ([crawl] backoff_secs).
    #[arg(long, allow_negative_numbers = true)]
    pub backoff: Option<f64>,
    /// Longest retry wait in seconds ([crawl] max_backoff_secs).
    #[arg(long, allow_negative_numbers = true)]
    pub max_backoff: Option<f64>,
    /// Wait after a rate-limit signal before the last try ([crawl] rate_limit_backoff_secs).
    #[arg(long, allow_negative_numbers = true)]
    pub rate_limit_backoff: Option<f64>,
    /// Time cap in minutes (default: [weibo]/[mastodon] budget_minutes).
    #[arg(long)]
    pub budget_minutes: Option<f64>,
    /// Take over a job that another process seems to be running.
    #[arg(long)]
    pub force: bool,
    /// Keep the (redacted, author-free) source record in posts.raw.
    #[arg(long)]
    pub keep_raw: bool,
    /// Also replace URLs in the text by [URL].
    #[arg(long)]
    pub redact_urls: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Store the new posts without scoring them (default: score them with [score] scorers).
    #[arg(long)]
    pub no_score: bool,
}

/// Where Weibo is and how to log in.
#[derive(Debug, Args, Clone)]
pub struct WeiboOptions {
    /// File holding the logged-in cookie string (else MINDPULSE_WEIBO_COOKIE, else [weibo] cookie_file / cookie).
    #[arg(long)]
    pub cookie_file: Option<PathBuf>,
    /// HTML search base URL ([weibo] search_url, default https://s.weibo.com).
    #[arg(long)]
    pub search_url: Option<String>,
    /// JSON API base URL ([weibo] api_url, default https://weibo.com).
    #[arg(long)]
    pub api_url: Option<String>,
    /// Login/visitor base URL ([weibo] passport_url, default https://passport.weibo.com).
    #[arg(long)]
    pub passport_url: Option<String>,
    /// Do not fetch the post detail (IP region, exact counts) of each result.
    #[arg(long)]
    pub no_detail: bool,
    /// Do not fetch author profiles.
    #[arg(long)]
    pub no_profiles: bool,
    /// "Now" for relative times such as 5分钟前 and for the default dates (RFC 3339; for tests and replays).
    #[arg(long, hide = true)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct WeiboHotArgs {
    /// How many entries to list (all non-ad entries are stored).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    #[command(flatten)]
    pub weibo: WeiboOptions,
    #[command(flatten)]
    pub common: CrawlOptions,
}

#[derive(Debug, Args)]
pub struct WeiboSearchArgs {
    /// The query: a topic '#考研倒计时#' or keywords.
    #[arg(long)]
    pub topic: String,
    /// First day (YYYY-MM-DD in --tz; default: [weibo] search_days back from today in
    /// Beijing).
    #[arg(long)]
    pub since: Option<String>,
    /// Last day, included (YYYY-MM-DD in --tz; default today in Beijing).
    #[arg(long)]
    pub until: Option<String>,
    /// Time zone of --since/--until (IANA name; default [time] zone, else UTC). Weibo
    /// searches whole Beijing days: a window in another zone is widened to the Beijing
    /// days that cover it.
    #[arg(long)]
    pub tz: Option<String>,
    /// Only this province (name such as 广东 or code such as 44); splits go to its cities.
    #[arg(long)]
    pub province: Option<String>,
    /// Also collect comments, replies and reposts of every new post.
    #[arg(long)]
    pub conversations: bool,
    #[command(flatten)]
    pub weibo: WeiboOptions,
    #[command(flatten)]
    pub common: CrawlOptions,
}

#[derive(Debug, Args)]
pub struct WeiboRunArgs {
    /// Hot-search topics to search ([weibo] top, default 20).
    #[arg(long)]
    pub top: Option<usize>,
    /// Days back (today included) each topic search covers ([weibo] search_days, default 1).
    #[arg(long, conflicts_with = "since")]
    pub days: Option<u32>,
    /// First day (YYYY-MM-DD in --tz). A window that ends before today searches the hot
    /// topics stored as seen in it instead of today's hot list.
    #[arg(long)]
    pub since: Option<String>,
    /// Last day, included (YYYY-MM-DD in --tz; default today in Beijing).
    #[arg(long)]
    pub until: Option<String>,
    /// Time zone of --since/--until (IANA name; default [time] zone, else UTC); widened to
    /// the Beijing days that cover the window.
    #[arg(long)]
    pub tz: Option<String>,
    /// Skip comments, replies and reposts.
    #[arg(long)]
    pub no_conversations: bool,
    #[command(flatten)]
    pub weibo: WeiboOptions,
    #[command(flatten)]
    pub common: CrawlOptions,
}

#[derive(Debug, Args)]
pub struct WeiboConversationsArgs {
    /// Stored posts of this topic ('#考研倒计时#' or 考研倒计时).
    #[arg(long)]
    pub topic: Option<String>,
    /// Stored posts from this day (YYYY-MM-DD in --tz).
    #[arg(long)]
    pub since: Option<String>,
    /// Stored posts up to this day, included (YYYY-MM-DD in --tz).
    #[arg(long)]
    pub until: Option<String>,
    /// Time zone of --since/--until (IANA name; default [time] zone, else UTC); widened to
    /// the Beijing days that cover the window.
    #[arg(long)]
    pub tz: Option<String>,
    /// This post id (mid); repeatable. Added to the posts the filters choose.
    #[arg(long = "post", value_name = "MID")]
    pub posts: Vec<String>,
    /// Skip comments or reposts of a post that an earlier crawl read to the end, or that are
    /// stored in full (as many as Weibo reported).
    #[arg(long)]
    pub only_missing: bool,
    #[command(flatten)]
    pub weibo: WeiboOptions,
    #[command(flatten)]
    pub common: CrawlOptions,
}

#[derive(Debug, Args)]
pub struct MastodonArgs {
    /// Instance base URL, e.g. https://mastodon.social ([mastodon] instance).
    #[arg(long)]
    pub instance: Option<String>,
    /// Hashtag, with or without '#'.
    #[arg(long)]
    pub tag: String,
    /// Pages of up to 40 statuses ([mastodon] max_pages, default 50).
    #[arg(long)]
    pub max_pages: Option<u32>,
    /// Stop at statuses older than this day (YYYY-MM-DD, midnight in --tz) or time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Time zone of --since (IANA name; default [time] zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    #[command(flatten)]
    pub common: CrawlOptions,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Run every job once now, then follow the schedule.
    #[arg(long)]
    pub run_now: bool,
    /// Exit after this many job runs.
    #[arg(long)]
    pub max_runs: Option<usize>,
    /// Print the jobs and their next run times, then exit.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub weibo: WeiboOptions,
    #[command(flatten)]
    pub common: CrawlOptions,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// The run (default: the latest crawl run with coverage).
    #[arg(long)]
    pub run: Option<i64>,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// The scoring a crawl runs after collecting (none with `--no-score` or `[score] scorers = []`).
fn crawl_scoring(
    ctx: &Context,
    common: &CrawlOptions,
    cancel: &Arc<AtomicBool>,
) -> anyhow::Result<Option<CrawlScoring>> {
    if common.no_score {
        return Ok(None);
    }
    CrawlScoring::from_config(&ctx.config.score, ctx.show_progress, cancel.clone())
}

pub async fn crawl(ctx: &Context, args: CrawlArgs) -> anyhow::Result<ExitCode> {
    let cancel = super::cancel_on_signal();
    match args.target {
        CrawlTarget::Weibo(cmd) => {
            let (job, weibo_opts, common) = match cmd {
                WeiboCommand::Hot(a) => (WeiboJob::Hot { top: a.top }, a.weibo, a.common),
                WeiboCommand::CheckCookie(a) => return check_cookie(ctx, &a, cancel).await,
                WeiboCommand::Search(a) => {
                    let now = now_of(&a.weibo)?;
                    let (since, until) = days(
                        ctx,
                        a.tz.as_deref(),
                        a.since.as_deref(),
                        a.until.as_deref(),
                        None,
                        now,
                    )?;
                    let province = match &a.province {
                        Some(p) => Some(
                            split::province(p)
                                .with_context(|| format!("--province {p:?}: no such province or code in the region table"))?
                                .code,
                        ),
                        None => None,
                    };
                    let job = WeiboJob::Search {
                        query: a.topic.trim().to_string(),
                        since,
                        until,
                        province,
                        conversations: a.conversations,
                    };
                    (job, a.weibo, a.common)
                }
                WeiboCommand::Conversations(a) => {
                    let zone = Zone::resolve(a.tz.as_deref(), &ctx.config)?;
                    let since = a
                        .since
                        .as_deref()
                        .map(|v| zone_day("since", v))
                        .transpose()?;
                    let until = a
                        .until
                        .as_deref()
                        .map(|v| zone_day("until", v))
                        .transpose()?;
                    if let (Some(s), Some(u)) = (since, until) {
                        anyhow::ensure!(s <= u, "--since {s} is after --until {u}");
                    }
                    let (since, until) = match (since, until) {
                        (Some(s), Some(u)) => {
                            let (s, u) = beijing_days(zone, s, u);
                            (Some(s), Some(u))
                        }
                        (Some(s), None) => (Some(beijing_days(zone, s, s).0), None),
                        (None, Some(u)) => (None, Some(beijing_days(zone, u, u).1)),
                        (None, None) => (None, None),
                    };
                    let job = WeiboJob::Conversations(ConversationsJob {
                        topic: a.topic.as_deref().map(|t| t.trim().to_string()),
                        since,
                        until,
                        posts: a.posts.iter().map(|p| p.trim().to_string()).collect(),
                        only_missing: a.only_missing,
                    });
                    (job, a.weibo, a.common)
                }
                WeiboCommand::Run(a) => {
                    let now = now_of(&a.weibo)?;
                    let (since, until) = days(
                        ctx,
                        a.tz.as_deref(),
                        a.since.as_deref(),
                        a.until.as_deref(),
                        a.days,
                        now,
                    )?;
                    let top = a.top.unwrap_or(ctx.config.weibo.top);
                    let job = WeiboJob::Run { top, since, until };
                    let scoring = crawl_scoring(ctx, &a.common, &cancel)?;
                    return finish(
                        run_weibo(
                            ctx,
                            &job,
                            &a.weibo,
                            &a.common,
                            cancel,
                            a.no_conversations,
                            None,
                            scoring.as_ref(),
                        )
                        .await,
                        a.common.json,
                    );
                }
            };
            let scoring = crawl_scoring(ctx, &common, &cancel)?;
            finish(
                run_weibo(
                    ctx,
                    &job,
                    &weibo_opts,
                    &common,
                    cancel,
                    false,
                    None,
                    scoring.as_ref(),
                )
                .await,
                common.json,
            )
        }
        CrawlTarget::Mastodon(a) => {
            let json = a.common.json;
            let scoring = crawl_scoring(ctx, &a.common, &cancel)?;
            finish(
                run_mastodon(ctx, &a, cancel, None, scoring.as_ref()).await,
                json,
            )
        }
    }
}

/// `--now`, parsed.
fn now_of(w: &WeiboOptions) -> anyhow::Result<Option<DateTime<Utc>>> {
    w.now
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .with_context(|| format!("--now {s:?} is not an RFC 3339 time"))
        })
        .transpose()
}

/// A `YYYY-MM-DD` flag value.
fn zone_day(flag: &str, s: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .with_context(|| format!("--{flag} {s:?}: expected YYYY-MM-DD"))
}

/// The Beijing days that cover the days `since..=until` of `zone` (the same days when the
/// zone is Beijing's).
fn beijing_days(zone: Zone, since: NaiveDate, until: NaiveDate) -> (NaiveDate, NaiveDate) {
    let beijing = Zone {
        tz: chrono_tz::Asia::Shanghai,
    };
    let start = zone.day_start(since);
    let end = until
        .succ_opt()
        .map(|next| zone.day_start(next) - chrono::Duration::seconds(1))
        .unwrap_or(start);
    (beijing.day_of(start), beijing.day_of(end))
}

/// The search window in Beijing days: `--since`/`--until` are days in the zone (widened to
/// the Beijing days that cover them); without them the window ends today in Beijing.
fn days(
    ctx: &Context,
    tz: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
    n_days: Option<u32>,
    now: Option<DateTime<Utc>>,
) -> anyhow::Result<(NaiveDate, NaiveDate)> {
    let zone = Zone::resolve(tz, &ctx.config)?;
    let since = since.map(|s| zone_day("since", s)).transpose()?;
    let until = until.map(|u| zone_day("until", u)).transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        anyhow::ensure!(s <= u, "--since {s} is after --until {u}");
    }
    let today = now
        .unwrap_or_else(Utc::now)
        .with_timezone(&weibo::search::china())
        .date_naive();
    let n = i64::from(n_days.unwrap_or(ctx.config.weibo.search_days).max(1));
    let (from, to) = match (since, until) {
        (Some(s), Some(u)) => beijing_days(zone, s, u),
        (Some(s), None) => (beijing_days(zone, s, s).0, today),
        (None, Some(u)) => {
            let to = beijing_days(zone, u, u).1;
            (to - chrono::Duration::days(n - 1), to)
        }
        (None, None) => (today - chrono::Duration::days(n - 1), today),
    };
    anyhow::ensure!(from <= to, "--since {from} is after today ({to}, Beijing)");
    if (since.is_some() || until.is_some()) && zone.tz != chrono_tz::Asia::Shanghai {
        eprintln!(
            "crawl: days read in {}; Weibo searches Beijing days {from} to {to}, which cover them",
            zone.name()
        );
    }
    Ok((from, to))
}

/// `crawl weibo check-cookie`: one search request, its verdict, and an exit status a
/// script can branch on (the codes of a crawl that stops for the same reason).
async fn check_cookie(
    ctx: &Context,
    a: &WeiboCheckCookieArgs,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<ExitCode> {
    let settings = weibo_settings(ctx, &a.weibo, false)?;
    let fetcher = Fetcher::new(politeness(ctx, &a.common), cancel)?;
    let (line, code) = match weibo::check_cookie(&fetcher, &settings).await? {
        weibo::CookieCheck::LoggedIn => {
            ("cookie: logged in (a search page came back)".to_string(), 0)
        }
        weibo::CookieCheck::NotLoggedIn(why) => (
            format!("cookie: NOT logged in ({why}); copy a fresh cookie from a logged-in browser"),
            4,
        ),
        weibo::CookieCheck::RateLimited(why) => (
            format!("cookie: cannot tell, Weibo asks to slow down ({why}); try again later"),
            3,
        ),
    };
    println!("{line}");
    Ok(ExitCode::from(code))
}

fn politeness(ctx: &Context, o: &CrawlOptions) -> Politeness {
    let mut p = ctx.config.crawl.clone();
    if let Some(v) = o.delay {
        p.delay_secs = v;
    }
    if let Some(v) = o.jitter {
        p.jitter_secs = v;
    }
    if let Some(v) = o.concurrency {
        p.concurrency = v.max(1);
    }
    if let Some(v) = &o.user_agent {
        p.user_agent = v.clone();
    }
    if let Some(v) = o.timeout {
        p.timeout_secs = v;
    }
    if let Some(v) = o.retries {
        p.retries = v;
    }
    if let Some(v) = o.backoff {
        p.backoff_secs = v;
    }
    if let Some(v) = o.max_backoff {
        p.max_backoff_secs = v;
    }
    if let Some(v) = o.rate_limit_backoff {
        p.rate_limit_backoff_secs = v;
    }
    p
}

fn cleaner(ctx: &Context, o: &CrawlOptions) -> anyhow::Result<Arc<Cleaner>> {
    let key = ctx.key(true)?;
    Ok(Arc::new(Cleaner::new(
        key,
        CleanOptions {
            redact_urls: o.redact_urls || ctx.config.import.redact_urls.unwrap_or(false),
            keep_raw: o.keep_raw || ctx.config.import.keep_raw.unwrap_or(false),
        },
    )))
}

/// The cookie: `--cookie-file`, else the env var, else `[weibo] cookie_file`, else `[weibo] cookie`.
fn cookie(ctx: &Context, w: &WeiboOptions) -> anyhow::Result<Option<String>> {
    let from_file = |path: &PathBuf| -> anyhow::Result<Option<String>> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the cookie file {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        "the cookie file {} can be read by other users (mode {:o}); it logs into your Weibo account: chmod 600 it",
                        path.display(),
                        meta.permissions().mode() & 0o777
                    );
                }
            }
        }
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                l.strip_prefix("Cookie:")
                    .or_else(|| l.strip_prefix("cookie:"))
                    .unwrap_or(l)
                    .trim()
                    .to_string()
            });
        anyhow::ensure!(
            line.is_some(),
            "the cookie file {} is empty",
            path.display()
        );
        Ok(line)
    };
    if let Some(p) = &w.cookie_file {
        return from_file(p);
    }
    if let Ok(c) = std::env::var(COOKIE_ENV) {
        if !c.trim().is_empty() {
            return Ok(Some(c.trim().to_string()));
        }
    }
    if let Some(p) = &ctx.config.weibo.cookie_file {
        return from_file(p);
    }
    Ok(ctx
        .config
        .weibo
        .cookie
        .clone()
        .filter(|c| !c.trim().is_empty()))
}

fn weibo_settings(
    ctx: &Context,
    w: &WeiboOptions,
    no_conversations: bool,
) -> anyhow::Result<WeiboSettings> {
    let mut config = ctx.config.weibo.clone();
    if let Some(u) = &w.search_url {
        config.search_url = u.clone();
    }
    if let Some(u) = &w.api_url {
        config.api_url = u.clone();
    }
    if let Some(u) = &w.passport_url {
        config.passport_url = u.clone();
    }
    if w.no_detail {
        config.fetch_detail = false;
    }
    if w.no_profiles {
        config.fetch_profiles = false;
    }
    if no_conversations {
        config.conversations = false;
    }
    Ok(WeiboSettings {
        config,
        cookie: cookie(ctx, w)?,
        now: now_of(w)?,
    })
}

#[allow(clippy::too_many_arguments)]
async fn run_weibo(
    ctx: &Context,
    job: &WeiboJob,
    w: &WeiboOptions,
    common: &CrawlOptions,
    cancel: Arc<AtomicBool>,
    no_conversations: bool,
    budget_override: Option<f64>,
    scoring: Option<&CrawlScoring>,
) -> anyhow::Result<JobReport> {
    let settings = weibo_settings(ctx, w, no_conversations)?;
    let cleaner = cleaner(ctx, common)?;
    let store = ctx.store().await?;
    ctx.check_key(&store, &cleaner.pseudonymizer().key_fingerprint())
        .await?;
    let fetcher = Fetcher::new(politeness(ctx, common), cancel)?;
    let minutes = budget_override
        .or(common.budget_minutes)
        .unwrap_or(settings.config.budget_minutes);
    let budget = (minutes > 0.0).then(|| secs(minutes * 60.0));
    let budget = match job {
        WeiboJob::Hot { .. } => None,
        _ => budget,
    };
    let r = weibo::run(
        &store,
        cleaner,
        &fetcher,
        &settings,
        job,
        budget,
        common.force,
        scoring.map(|s| s as &dyn ScoreHook),
    )
    .await;
    if let (Ok(_), WeiboJob::Hot { top }) = (&r, job) {
        let topics = store.topics(weibo::PLATFORM, *top as i64).await?;
        if !common.json {
            for t in topics.iter().filter(|t| t.rank.is_some()) {
                println!(
                    "{:>3}  {}  heat {}  {}",
                    t.rank.unwrap_or(0),
                    t.keyword,
                    t.heat.map(|h| h.to_string()).unwrap_or_else(|| "-".into()),
                    t.label.as_deref().unwrap_or("")
                );
            }
        }
    }
    store.close().await;
    Ok(r?)
}

async fn run_mastodon(
    ctx: &Context,
    a: &MastodonArgs,
    cancel: Arc<AtomicBool>,
    budget_override: Option<f64>,
    scoring: Option<&CrawlScoring>,
) -> anyhow::Result<JobReport> {
    let instance = a
        .instance
        .clone()
        .or_else(|| ctx.config.mastodon.instance.clone())
        .context("--instance is required (or [mastodon] instance in the config)")?;
    let since = match &a.since {
        None => None,
        Some(s) => Some(Zone::resolve(a.tz.as_deref(), &ctx.config)?.parse_bound("--since", s)?),
    };
    let job = MastodonJob {
        instance,
        tag: a.tag.clone(),
        max_pages: a.max_pages.unwrap_or(ctx.config.mastodon.max_pages),
        since,
    };
    let cleaner = cleaner(ctx, &a.common)?;
    let store = ctx.store().await?;
    ctx.check_key(&store, &cleaner.pseudonymizer().key_fingerprint())
        .await?;
    let fetcher = Fetcher::new(politeness(ctx, &a.common), cancel)?;
    let minutes = budget_override
        .or(a.common.budget_minutes)
        .unwrap_or(ctx.config.mastodon.budget_minutes);
    let budget = (minutes > 0.0).then(|| secs(minutes * 60.0));
    let r = mastodon::run(
        &store,
        cleaner,
        &fetcher,
        &job,
        budget,
        a.common.force,
        scoring.map(|s| s as &dyn ScoreHook),
    )
    .await;
    store.close().await;
    Ok(r?)
}

/// Prints a job report and picks the exit status: 0 done (or budget reached), 130
/// interrupted, 3 rate limited, 4 cookie expired, 1 other failures.
fn finish(r: anyhow::Result<JobReport>, json: bool) -> anyhow::Result<ExitCode> {
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            if let Some(CrawlError::Busy(msg)) = e.downcast_ref::<CrawlError>() {
                eprintln!("error: {msg}");
                return Ok(ExitCode::from(5));
            }
            return Err(e);
        }
    };
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("{}", render_report(&r));
    }
    let code = match r.ending {
        Ending::Done | Ending::BudgetReached => 0,
        Ending::Interrupted => 130,
        Ending::RateLimited => 3,
        Ending::LoginRequired => 4,
        Ending::Failed => 1,
    };
    if code != 0 {
        eprintln!(
            "stopped: {}\nprogress is saved (job {}); run the same command again to continue where it stopped",
            r.message.as_deref().unwrap_or("?"),
            r.job_id
        );
    }
    Ok(ExitCode::from(code))
}

fn render_report(r: &JobReport) -> String {
    let ending = match r.ending {
        Ending::Done => "done",
        Ending::BudgetReached => "done (time budget reached)",
        Ending::Interrupted => "interrupted",
        Ending::RateLimited => "stopped: rate limited",
        Ending::LoginRequired => "stopped: cookie expired",
        Ending::Failed => "failed",
    };
    let mut s = format!(
        "run {} (job {}{}): {ending} in {:.1}s\n  items {}  new {}  already stored {}  rejected {}  pages failed {}  requests {}\n  tasks done {}  failed {}  skipped {}  open {}",
        r.run_id,
        r.job_id,
        if r.resumed { ", resumed" } else { "" },
        r.seconds,
        r.counts.input,
        r.counts.accepted,
        r.counts.already_stored,
        r.counts.rejected,
        r.counts.failed,
        r.requests,
        r.tasks_done,
        r.tasks_failed,
        r.tasks_skipped,
        r.tasks_open
    );
    if let Some(m) = &r.message {
        s.push_str(&format!("\n  note: {m}"));
    }
    if let Some(n) = r.scored {
        s.push_str(&format!("\n  scored {n} posts (mindpulse score --status)"));
    }
    s.push_str(&format!(
        "\n  coverage: mindpulse coverage --run {}",
        r.run_id
    ));
    s
}

pub async fn schedule(ctx: &Context, args: ScheduleArgs) -> anyhow::Result<ExitCode> {
    let jobs = ctx.config.schedule.effective_jobs();
    // Kinds, tags and cron expressions were checked when the config file was loaded.
    let planned = plan(&jobs)?;
    if args.list {
        let now = chrono::Local::now();
        for p in &planned {
            let next = mindpulse_crawl::schedule::next_fire(&p.cron, now);
            println!(
                "{}  {}  {}  next {}",
                p.job.name,
                p.job.kind,
                p.cron,
                next.map(|t| t.format("%Y-%m-%d %H:%M %Z").to_string())
                    .unwrap_or_else(|| "never".into())
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cancel = super::cancel_on_signal();
    // Loaded once, on the first run that stores posts, and kept for the later runs.
    let scoring = crawl_scoring(ctx, &args.common, &cancel)?;
    let scoring = scoring.as_ref();
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let opts = ScheduleOptions {
        run_now: args.run_now,
        max_runs: args.max_runs,
    };
    let runs = run_schedule(&planned, cancel.clone(), opts, |p: &Planned| {
        let job = p.job.clone();
        let cancel = cancel.clone();
        let failures = failures.clone();
        let weibo_opts = args.weibo.clone();
        let common = args.common.clone();
        async move {
            tracing::warn!(job = %job.name, "scheduled run starting");
            let result = match job.kind.as_str() {
                "mastodon" => {
                    let a = MastodonArgs {
                        instance: job.instance.clone(),
                        tag: job.tag.clone().unwrap_or_default(),
                        max_pages: None,
                        since: None,
                        tz: None,
                        common: common.clone(),
                    };
                    run_mastodon(ctx, &a, cancel, job.max_minutes, scoring).await
                }
                _ => match days(
                    ctx,
                    None,
                    None,
                    None,
                    None,
                    now_of(&weibo_opts).ok().flatten(),
                ) {
                    Ok((since, until)) => {
                        let w = WeiboJob::Run {
                            top: ctx.config.weibo.top,
                            since,
                            until,
                        };
                        run_weibo(
                            ctx,
                            &w,
                            &weibo_opts,
                            &common,
                            cancel,
                            false,
                            job.max_minutes,
                            scoring,
                        )
                        .await
                    }
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(r) => {
                    if !matches!(r.ending, Ending::Done | Ending::BudgetReached) {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    println!("[{}] {}", job.name, render_report(&r));
                }
                Err(e) => {
                    failures.fetch_add(1, Ordering::Relaxed);
                    eprintln!("[{}] error: {e:#}", job.name);
                }
            }
            // What the job stored (and scored) is rolled up; the alert rules look at it now.
            let now = now_of(&weibo_opts).ok().flatten();
            crate::watch::scan_after_job(ctx, &job.name, now).await;
        }
    })
    .await;
    tracing::info!("scheduler stopped after {runs} run(s)");
    if cancel.load(Ordering::Relaxed) {
        return Ok(ExitCode::from(130));
    }
    Ok(if failures.load(Ordering::Relaxed) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn coverage(ctx: &Context, args: CoverageArgs) -> anyhow::Result<ExitCode> {
    let store: Store = ctx.existing_store().await?;
    let rows = store.coverage(args.run).await?;
    let waiting: Vec<CrawlTask> = store
        .failed_crawl_tasks(weibo::PLATFORM)
        .await?
        .into_iter()
        .filter(|t| {
            weibo::RETRY_KINDS.contains(&t.kind.as_str())
                && t.attempts < mindpulse_crawl::job::MAX_TASK_ATTEMPTS
        })
        .collect();
    store.close().await;
    if rows.is_empty() {
        eprintln!(
            "no coverage recorded{}",
            args.run
                .map(|r| format!(" for run {r}"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::from(1));
    }
    if args.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        print!("{}", render_coverage(&rows));
        print!("{}", render_waiting(&waiting));
    }
    Ok(ExitCode::SUCCESS)
}

/// Failed tasks (of any run) that the next crawl of their platform takes up again.
fn render_waiting(tasks: &[CrawlTask]) -> String {
    if tasks.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "\n{} failed task(s) to retry on the next crawl:\n",
        tasks.len()
    );
    for t in tasks {
        s.push_str(&format!(
            "  job {:<5} {:<9} {}  (retry {} of {}, {})\n",
            t.job_id,
            t.kind,
            mindpulse_crawl::job::describe_query(&t.kind, &t.query),
            t.attempts + 1,
            mindpulse_crawl::job::MAX_TASK_ATTEMPTS,
            if t.cursor.is_some() {
                "resumes at the page that failed"
            } else {
                "from the first page"
            }
        ));
    }
    s
}

/// The coverage table: one line per query, then totals per kind.
pub fn render_coverage(rows: &[Coverage]) -> String {
    let mut s = format!(
        "coverage of run {}\n{:<9} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6} {:>9}  query\n",
        rows[0].run_id, "kind", "asked", "fetched", "failed", "seen", "new", "stored", "reported"
    );
    let line = |kind: &str, c: &Coverage, query: &str| {
        format!(
            "{:<9} {:>6} {:>7} {:>6} {:>6} {:>6} {:>6} {:>9}  {}\n",
            kind,
            c.pages_asked,
            c.pages_fetched,
            c.pages_failed,
            c.items_seen,
            c.items_new,
            c.items_duplicate,
            c.reported_total
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            query
        )
    };
    for c in rows {
        s.push_str(&line(&c.kind, c, &c.query));
    }
    let mut kinds: Vec<&str> = rows.iter().map(|c| c.kind.as_str()).collect();
    kinds.dedup();
    kinds.sort_unstable();
    kinds.dedup();
    s.push_str("totals\n");
    let mut all = Coverage::default();
    for k in kinds {
        let mut t = Coverage::default();
        let mut n = 0;
        for c in rows.iter().filter(|c| c.kind == k) {
            n += 1;
            add(&mut t, c);
            add(&mut all, c);
        }
        s.push_str(&line(
            k,
            &t,
            &format!("{n} quer{}", if n == 1 { "y" } else { "ies" }),
        ));
    }
    s.push_str(&line("all", &all, &format!("{} queries", rows.len())));
    s
}

fn add(t: &mut Coverage, c: &Coverage) {
    t.pages_asked += c.pages_asked;
    t.pages_fetched += c.pages_fetched;
    t.pages_failed += c.pages_failed;
    t.items_seen += c.items_seen;
    t.items_new += c.items_new;
    t.items_duplicate += c.items_duplicate;
    if let Some(r) = c.reported_total {
        t.reported_total = Some(t.reported_total.unwrap_or(0) + r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn coverage_table_has_rows_and_totals() {
        let row = |kind: &str, q: &str, seen: i64| Coverage {
            run_id: 7,
            key: q.into(),
            platform: "weibo".into(),
            kind: kind.into(),
            query: q.into(),
            pages_asked: 2,
            pages_fetched: 2,
            items_seen: seen,
            items_new: seen,
            reported_total: (kind == "comments").then_some(9),
            ..Coverage::default()
        };
        let t = render_coverage(&[
            row("search", "#a#", 5),
            row("comments", "comments of 1", 3),
            row("search", "#b#", 1),
        ]);
        assert!(t.starts_with("coverage of run 7\n"));
        assert!(
            t.contains("search         4       4      0      6      6      0         -  2 queries"),
            "{t}"
        );
        assert!(
            t.contains("all            6       6      0      9      9      0         9  3 queries"),
            "{t}"
        );
    }

    #[test]
    fn duration_of_zero_budget_is_none() {
        assert_eq!(secs(0.0), Duration::ZERO);
    }
}
