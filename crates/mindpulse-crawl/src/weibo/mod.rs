//! The Weibo crawler: hot search → topic search (split when a query reaches the page
//! cap) → post detail, long text and author profile → comments (with `max_id` paging),
//! replies and reposts of every new post. See `shared/weibo/ENDPOINTS.md` for the
//! endpoints and response shapes this follows.
//!
//! Every step is one page; what a page yields is cleaned (authors and @mentions
//! pseudonymized, PII redacted) and stored before the task's cursor moves on.

pub mod hot;
pub mod ids;
pub mod search;
pub mod split;
pub mod status;

use crate::config::WeiboConfig;
use crate::error::CrawlError;
use crate::http::{headers, log_url, Fetcher, Response, Verdict};
use crate::job::{run_job, JobReport, JobSpec, ScoreHook, StepCtx, StepResult, Stepper};
use chrono::{DateTime, NaiveDate, Utc};
use mindpulse_clean::Cleaner;
use mindpulse_core::{Origin, PostKind, RawAuthor, RawPost};
use mindpulse_store::{
    ConversationState, CrawlTask, NewCrawlTask, PostSelection, Store, TopicSighting,
};
use search::{is_login_page, is_too_frequent, Card, PageProblem, SearchPage};
use serde::{Deserialize, Serialize};
use split::Slice;
use status::{ApiProblem, Comment, Status, User};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The platform name in the database.
pub const PLATFORM: &str = "weibo";
/// Pages one search query shows at most.
pub const MAX_PAGES: u32 = 50;

/// Task priorities: searches first, then conversations.
const PRIO_HOT: i64 = 0;
const PRIO_SEARCH: i64 = 10;
const PRIO_COMMENTS: i64 = 20;
const PRIO_REPLIES: i64 = 21;
const PRIO_REPOSTS: i64 = 30;

/// Kinds of failed Weibo tasks a later crawl (other than `hot`) takes up again from their cursor.
pub const RETRY_KINDS: &[&str] = &["comments", "replies", "reposts"];

/// What to crawl.
#[derive(Debug, Clone, PartialEq)]
pub enum WeiboJob {
    /// Read the hot-search list and upsert its topics.
    Hot { top: usize },
    /// Collect the posts of one query over `since..=until` (days, Beijing time).
    Search {
        query: String,
        since: NaiveDate,
        until: NaiveDate,
        province: Option<u32>,
        conversations: bool,
    },
    /// The whole job: hot → search each of the top topics → conversations. A window that
    /// ends before today (Beijing time) searches the hot topics stored as seen in it.
    Run {
        top: usize,
        since: NaiveDate,
        until: NaiveDate,
    },
    /// Comments (with replies) and reposts of stored posts, chosen by topic, window or id.
    Conversations(ConversationsJob),
}

/// Which stored posts `crawl weibo conversations` collects the conversations of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationsJob {
    /// A topic, with or without `#…#`.
    pub topic: Option<String>,
    /// First day (Beijing time).
    pub since: Option<NaiveDate>,
    /// Last day, included (Beijing time).
    pub until: Option<NaiveDate>,
    /// Post ids (mids); they need not be stored.
    pub posts: Vec<String>,
    /// Skip the comments or reposts of a post when as many are stored as the platform reported.
    pub only_missing: bool,
}

/// Settings of a Weibo crawl beyond the config file. Its `Debug` output hides the cookie.
#[derive(Clone)]
pub struct WeiboSettings {
    pub config: WeiboConfig,
    /// The raw cookie string (never logged, never stored).
    pub cookie: Option<String>,
    /// "Now" for relative times (`5分钟前`); the clock when None (tests pin it).
    pub now: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for WeiboSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeiboSettings")
            .field("config", &self.config)
            .field("cookie", &self.cookie.as_ref().map(|_| "***"))
            .field("now", &self.now)
            .finish()
    }
}

/// Runs (or resumes) a Weibo job.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    store: &Store,
    cleaner: Arc<Cleaner>,
    fetcher: &Fetcher,
    settings: &WeiboSettings,
    job: &WeiboJob,
    budget: Option<Duration>,
    force: bool,
    scorer: Option<&dyn ScoreHook>,
) -> Result<JobReport, CrawlError> {
    let cfg = &settings.config;
    if settings.cookie.is_none() && !matches!(job, WeiboJob::Hot { .. }) {
        return Err(CrawlError::Config(
            "Weibo search needs a logged-in cookie: pass --cookie-file, set MINDPULSE_WEIBO_COOKIE or [weibo] cookie_file".into(),
        ));
    }
    for (name, url) in [
        ("search_url", &cfg.search_url),
        ("api_url", &cfg.api_url),
        ("passport_url", &cfg.passport_url),
    ] {
        if url::Url::parse(url).is_err() {
            return Err(CrawlError::Config(format!(
                "[weibo] {name} is not a URL: {url:?}"
            )));
        }
    }
    let (name, params, seed) = match job {
        WeiboJob::Hot { top } => {
            let q = HotQuery {
                top: *top,
                search: None,
            };
            (
                "weibo:hot".to_string(),
                serde_json::json!({"command": "hot", "top": top}),
                vec![hot_task(&q)],
            )
        }
        WeiboJob::Search {
            query,
            since,
            until,
            province,
            conversations,
        } => {
            let q = SearchQuery {
                q: query.clone(),
                since: *since,
                until: *until,
                province: *province,
                conversations: *conversations,
            };
            let name = format!(
                "weibo:search:{}:{}:{}:{}",
                q.q,
                q.since,
                q.until,
                province.map(|p| p.to_string()).unwrap_or_default()
            );
            let params = serde_json::json!({"command": "search", "query": q.q, "since": since, "until": until, "province": province});
            (name, params, vec![search_task(&q)])
        }
        WeiboJob::Run { top, since, until } => {
            let today = beijing_day(settings.now.unwrap_or_else(Utc::now));
            let past = *until < today;
            let stored = topics_seen_in(store, *since, *until, *top).await?;
            let mut seed = Vec::new();
            if !past || stored.is_empty() {
                if past {
                    tracing::warn!(
                        "no hot topics are stored as seen in {since}..{until}: searching today's hot list over that window"
                    );
                }
                seed.push(hot_task(&HotQuery {
                    top: *top,
                    search: Some(SearchWindow {
                        since: *since,
                        until: *until,
                        conversations: cfg.conversations,
                    }),
                }));
            }
            for topic in &stored {
                seed.push(search_task(&SearchQuery {
                    q: format!("#{}#", topic.trim_matches('#')),
                    since: *since,
                    until: *until,
                    province: None,
                    conversations: cfg.conversations,
                }));
            }
            let params = serde_json::json!({"command": "run", "top": top, "since": since, "until": until,
                "conversations": cfg.conversations, "stored_topics": stored.len(),
                "budget_minutes": budget.map(|b| b.as_secs_f64() / 60.0)});
            // Runs over a window that ends today share one name, so an interrupted one is
            // resumed by the next; a past window is a job of its own.
            let name = if past {
                format!("weibo:run:{since}:{until}")
            } else {
                "weibo:run".to_string()
            };
            (name, params, seed)
        }
        WeiboJob::Conversations(c) => {
            let (mids, complete) = conversation_targets(store, c).await?;
            let mut seed = Vec::new();
            for (mid, (comments, reposts)) in &mids {
                if *comments {
                    seed.push(conversation_task("comments", PRIO_COMMENTS, mid, None));
                }
                if *reposts {
                    seed.push(conversation_task("reposts", PRIO_REPOSTS, mid, None));
                }
            }
            if complete > 0 {
                tracing::info!(
                    "{complete} post(s) skipped: their conversation is already complete"
                );
            }
            let mut id = blake3::Hasher::new();
            for part in [
                c.topic.as_deref().unwrap_or(""),
                &c.since.map(|d| d.to_string()).unwrap_or_default(),
                &c.until.map(|d| d.to_string()).unwrap_or_default(),
                &c.posts.join(","),
                if c.only_missing { "missing" } else { "all" },
            ] {
                id.update(part.as_bytes());
                id.update(&[0]);
            }
            let params = serde_json::json!({"command": "conversations", "topic": c.topic, "since": c.since,
                "until": c.until, "posts": c.posts.len(), "only_missing": c.only_missing,
                "selected": mids.len() + complete, "complete": complete});
            (
                format!("weibo:conversations:{}", &id.finalize().to_hex()[..16]),
                params,
                seed,
            )
        }
    };
    let spec = JobSpec {
        name,
        platform: PLATFORM.into(),
        params,
        seed,
        budget,
        force,
        source_name: "weibo-crawler".into(),
        retry_kinds: if matches!(job, WeiboJob::Hot { .. }) {
            Vec::new()
        } else {
            RETRY_KINDS.to_vec()
        },
    };
    let crawler = WeiboCrawler {
        fetcher,
        cfg: cfg.clone(),
        cookie: settings.cookie.clone(),
        now: settings.now,
        profiled: Mutex::new(HashSet::new()),
    };
    run_job(store, cleaner, &spec, &crawler, fetcher, scorer).await
}

/// The Beijing calendar day of a time (the day Weibo's search windows use).
fn beijing_day(t: DateTime<Utc>) -> NaiveDate {
    (t + chrono::Duration::hours(8)).date_naive()
}

/// The start of a Beijing day, in UTC.
fn beijing_midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Duration::hours(8)
}

/// Hot-search topics stored as seen during `since..=until` (Beijing days), best rank
/// first, at most `top`.
async fn topics_seen_in(
    store: &Store,
    since: NaiveDate,
    until: NaiveDate,
    top: usize,
) -> Result<Vec<String>, CrawlError> {
    let (start, end) = (
        beijing_midnight(since),
        beijing_midnight(until + chrono::Duration::days(1)),
    );
    let mut seen: Vec<_> = store
        .topics(PLATFORM, i64::MAX)
        .await?
        .into_iter()
        .filter(|t| t.sightings > 0 && t.first_seen < end && t.last_seen >= start)
        .collect();
    seen.sort_by_key(|t| (t.rank.unwrap_or(i64::MAX), std::cmp::Reverse(t.heat)));
    Ok(seen.into_iter().take(top).map(|t| t.keyword).collect())
}

/// The posts a conversations job works on, each with whether its comments and its reposts
/// are to be collected, and how many selected posts were skipped as complete.
async fn conversation_targets(
    store: &Store,
    c: &ConversationsJob,
) -> Result<(Vec<(String, (bool, bool))>, usize), CrawlError> {
    for mid in &c.posts {
        if mid.is_empty() || !mid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CrawlError::Config(format!(
                "--post {mid:?}: a Weibo post id (mid) is all digits"
            )));
        }
    }
    let mut mids: Vec<String> = c.posts.clone();
    let by_filter = c.topic.is_some() || c.since.is_some() || c.until.is_some();
    if by_filter || c.posts.is_empty() {
        let selection = PostSelection {
            topic: c.topic.clone(),
            since: c.since.map(beijing_midnight),
            until: c
                .until
                .map(|d| beijing_midnight(d + chrono::Duration::days(1))),
        };
        mids.extend(store.select_post_ids(PLATFORM, &selection).await?);
    }
    let mut seen = HashSet::new();
    mids.retain(|m| seen.insert(m.clone()));
    if mids.is_empty() {
        let mut what = Vec::new();
        if let Some(t) = &c.topic {
            what.push(format!("topic {t}"));
        }
        if let Some(d) = c.since {
            what.push(format!("since {d}"));
        }
        if let Some(d) = c.until {
            what.push(format!("until {d}"));
        }
        return Err(CrawlError::Config(format!(
            "no stored Weibo post matches ({}); collect posts first with `crawl weibo search` or `run`",
            if what.is_empty() { "any".to_string() } else { what.join(", ") }
        )));
    }
    if !c.only_missing {
        return Ok((mids.into_iter().map(|m| (m, (true, true))).collect(), 0));
    }
    // Totals the platform reports count deleted and hidden items too, so a conversation an
    // earlier crawl read to its end is complete whatever it holds.
    let keys: Vec<String> = mids
        .iter()
        .flat_map(|m| [comments_key(m), reposts_key(m)])
        .collect();
    let done = store.done_crawl_task_keys(PLATFORM, &keys).await?;
    let states: std::collections::HashMap<String, ConversationState> = store
        .conversation_states(PLATFORM, &mids)
        .await?
        .into_iter()
        .map(|mut s| {
            s.comments_read_to_end = done.contains(&comments_key(&s.platform_id));
            s.reposts_read_to_end = done.contains(&reposts_key(&s.platform_id));
            (s.platform_id.clone(), s)
        })
        .collect();
    let mut out = Vec::new();
    let mut complete = 0;
    for m in mids {
        let want = match states.get(&m) {
            Some(s) => (!s.comments_complete(), !s.reposts_complete()),
            None => (true, true),
        };
        if want == (false, false) {
            complete += 1;
        } else {
            out.push((m, want));
        }
    }
    Ok((out, complete))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SearchWindow {
    since: NaiveDate,
    until: NaiveDate,
    conversations: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HotQuery {
    top: usize,
    /// Search the top topics too (the `run` job).
    search: Option<SearchWindow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SearchQuery {
    q: String,
    since: NaiveDate,
    until: NaiveDate,
    province: Option<u32>,
    conversations: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SearchCursor {
    /// Slices still to read; the first is the current one.
    slices: Vec<Slice>,
    /// Next page of the current slice.
    page: u32,
    /// Pages the current slice's pager listed.
    pages: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ConversationQuery {
    mid: String,
    /// The level-1 comment (replies only).
    cid: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PageCursor {
    /// `max_id` of the next comment page, or the next repost page number.
    next: i64,
    pages: u32,
}

/// A task key: a hash of the kind and the identifying parts (unique within a job).
fn task_key(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    h.finalize().to_hex()[..32].to_string()
}

fn hot_task(q: &HotQuery) -> NewCrawlTask {
    NewCrawlTask {
        key: task_key(&["hot"]),
        kind: "hot".into(),
        priority: PRIO_HOT,
        query: serde_json::to_string(q).unwrap_or_default(),
    }
}

fn search_task(q: &SearchQuery) -> NewCrawlTask {
    let province = q.province.map(|p| p.to_string()).unwrap_or_default();
    NewCrawlTask {
        key: task_key(&[
            "search",
            &q.q,
            &q.since.to_string(),
            &q.until.to_string(),
            &province,
        ]),
        kind: "search".into(),
        priority: PRIO_SEARCH,
        query: serde_json::to_string(q).unwrap_or_default(),
    }
}

/// The key of a post's top-level comments task (whichever job holds it).
fn comments_key(mid: &str) -> String {
    conversation_task("comments", PRIO_COMMENTS, mid, None).key
}

/// The key of a post's reposts task.
fn reposts_key(mid: &str) -> String {
    conversation_task("reposts", PRIO_REPOSTS, mid, None).key
}

fn conversation_task(kind: &str, priority: i64, mid: &str, cid: Option<&str>) -> NewCrawlTask {
    let q = ConversationQuery {
        mid: mid.to_string(),
        cid: cid.map(str::to_string),
    };
    NewCrawlTask {
        key: task_key(&[kind, mid, cid.unwrap_or("")]),
        kind: kind.into(),
        priority,
        query: serde_json::to_string(&q).unwrap_or_default(),
    }
}

/// What `crawl weibo check-cookie` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieCheck {
    /// A search page came back with results (or Weibo's "no results" page): logged in.
    LoggedIn,
    /// The visitor or login page, or `ok:-100`: the cookie is missing or expired.
    NotLoggedIn(String),
    /// Weibo asked to slow down (captcha, "too frequent"): the cookie could not be judged.
    RateLimited(String),
}

/// Asks for one search page (today, Beijing time, the query `微博`) and tells whether the
/// cookie is logged in, without crawling or storing anything.
pub async fn check_cookie(
    fetcher: &Fetcher,
    settings: &WeiboSettings,
) -> Result<CookieCheck, CrawlError> {
    let Some(cookie) = settings.cookie.clone() else {
        return Ok(CookieCheck::NotLoggedIn(
            "no cookie: pass --cookie-file, set MINDPULSE_WEIBO_COOKIE or [weibo] cookie_file"
                .into(),
        ));
    };
    if url::Url::parse(&settings.config.search_url).is_err() {
        return Err(CrawlError::Config(format!(
            "[weibo] search_url is not a URL: {:?}",
            settings.config.search_url
        )));
    }
    let crawler = WeiboCrawler {
        fetcher,
        cfg: settings.config.clone(),
        cookie: Some(cookie),
        now: settings.now,
        profiled: Mutex::new(HashSet::new()),
    };
    let today = crawler.now().with_timezone(&search::china()).date_naive();
    let url = crawler.search_url("微博", &split::Slice::range(today, today, None), 1);
    match crawler.get(&url, Kind::Html).await {
        Ok(body) => match search::parse_search(&body, crawler.now()) {
            Ok(_) => Ok(CookieCheck::LoggedIn),
            Err(search::PageProblem::Login) => {
                Ok(CookieCheck::NotLoggedIn("the visitor/login page".into()))
            }
            Err(search::PageProblem::TooFrequent) => {
                Ok(CookieCheck::RateLimited("a 'too frequent' page".into()))
            }
            Err(problem) => Err(CrawlError::Malformed {
                url: log_url(&url),
                reason: problem.to_string(),
            }),
        },
        Err(CrawlError::LoginRequired { reason, .. }) => Ok(CookieCheck::NotLoggedIn(reason)),
        Err(CrawlError::RateLimited { reason, .. }) => Ok(CookieCheck::RateLimited(reason)),
        Err(e) => Err(e),
    }
}

fn bad_query(task: &CrawlTask, e: impl std::fmt::Display) -> CrawlError {
    CrawlError::Malformed {
        url: format!("task {}", task.id),
        reason: format!("unreadable task query or cursor: {e}"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Html,
    Json,
}

struct WeiboCrawler<'f> {
    fetcher: &'f Fetcher,
    cfg: WeiboConfig,
    cookie: Option<String>,
    now: Option<DateTime<Utc>>,
    /// Pseudonyms of authors whose profile was fetched, is being fetched or was found
    /// stored in this process.
    profiled: Mutex<HashSet<String>>,
}

/// Weibo's ways of saying "slow down" or "log in" (beyond the HTTP status).
fn classify(r: &Response, passport: &str, kind: Kind) -> Verdict {
    if (300..400).contains(&r.status) {
        let loc = r.location.as_deref().unwrap_or("");
        if loc.contains("/verify") {
            return Verdict::RateLimited("a redirect to the captcha (verify) page".into());
        }
        if loc.starts_with(passport)
            || ["passport.weibo", "login", "signin", "visitor"]
                .iter()
                .any(|m| loc.contains(m))
        {
            return Verdict::LoginRequired(format!("HTTP {} to the login/visitor page", r.status));
        }
        return Verdict::Accept;
    }
    if is_too_frequent(&r.body) {
        return Verdict::RateLimited("a 'too frequent' page".into());
    }
    if r.body.contains("passport.weibo.com/verify")
        || r.body.contains(&format!("{passport}/verify"))
    {
        return Verdict::RateLimited("a captcha page".into());
    }
    match kind {
        Kind::Html if is_login_page(&r.body) => {
            Verdict::LoginRequired("the visitor/login page".into())
        }
        Kind::Json if json_not_logged_in(&r.body) => {
            Verdict::LoginRequired("ok:-100 (not logged in)".into())
        }
        _ => Verdict::Accept,
    }
}

fn json_not_logged_in(body: &str) -> bool {
    let head: String = body
        .chars()
        .take(200)
        .filter(|c| !c.is_whitespace())
        .collect();
    head.starts_with('{') && head.contains("\"ok\":-100")
}

/// `#topic#` spans in plain text.
fn topics_in_plain(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let parts: Vec<&str> = text.split('#').collect();
    let mut i = 1;
    while i + 1 < parts.len() {
        let t = parts[i].trim();
        if !t.is_empty() && !t.contains('\n') && t.chars().count() <= 100 {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

fn author(u: &User) -> RawAuthor {
    RawAuthor {
        id: u.id.clone(),
        screen_name: u.screen_name.clone(),
        verified_type: u.verified_type,
        followers: u.followers,
        region: u.region.clone(),
    }
}

impl WeiboCrawler<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    async fn get(&self, url: &str, kind: Kind) -> Result<String, CrawlError> {
        let xsrf = self.cookie.as_deref().and_then(|c| {
            c.split(';')
                .filter_map(|kv| kv.trim().split_once('='))
                .find(|(k, _)| *k == "XSRF-TOKEN")
                .map(|(_, v)| v.to_string())
        });
        let referer = format!("{}/", self.cfg.api_url.trim_end_matches('/'));
        let mut extra: Vec<(&'static str, &str)> = match kind {
            Kind::Html => vec![
                (
                    "accept",
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                ),
                ("accept-language", "zh-CN,zh;q=0.9,en;q=0.8,en-US;q=0.7"),
            ],
            Kind::Json => vec![
                ("accept", "application/json, text/plain, */*"),
                ("x-requested-with", "XMLHttpRequest"),
                ("referer", referer.as_str()),
            ],
        };
        if let (Kind::Json, Some(x)) = (kind, xsrf.as_deref()) {
            extra.push(("x-xsrf-token", x));
        }
        let h = headers(self.cookie.as_deref(), &extra);
        let passport = self.cfg.passport_url.trim_end_matches('/').to_string();
        let judge = move |r: &Response| classify(r, &passport, kind);
        let resp = self.fetcher.get(url, &h, &judge).await?;
        if resp.status != 200 {
            return Err(CrawlError::Failed {
                url: log_url(url),
                reason: format!("HTTP {}", resp.status),
            });
        }
        Ok(resp.body)
    }

    fn api(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.cfg.api_url.trim_end_matches('/'),
            path_and_query
        )
    }

    fn search_url(&self, q: &str, slice: &Slice, page: u32) -> String {
        let enc: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let scope = if self.cfg.scope == "all" {
            "typeall=1"
        } else {
            "scope=ori"
        };
        let mut u = format!(
            "{}/weibo?q={enc}&{scope}&suball=1&timescope={}",
            self.cfg.search_url.trim_end_matches('/'),
            slice.timescope()
        );
        if let Some(r) = slice.region() {
            u.push_str("&region=");
            u.push_str(&r);
        }
        u.push_str(&format!("&page={page}"));
        u
    }

    /// A non-fatal failure of one request: logged, and the caller goes on without it.
    fn soft<T>(&self, r: Result<T, CrawlError>, what: &str) -> Result<Option<T>, CrawlError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.stops_run() => Err(e),
            Err(e) => {
                tracing::warn!("{what}: {e}; going on without it");
                Ok(None)
            }
        }
    }

    async fn hot(&self, ctx: &mut StepCtx<'_>, task: &CrawlTask) -> Result<StepResult, CrawlError> {
        let q: HotQuery = serde_json::from_str(&task.query).map_err(|e| bad_query(task, e))?;
        let url = self.api("/ajax/side/hotSearch");
        ctx.cov(task).pages_asked += 1;
        let body = match self.get(&url, Kind::Json).await {
            Ok(b) => b,
            Err(e) if !e.stops_run() => {
                ctx.cov(task).pages_failed += 1;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let items = match hot::parse_hot(&body) {
            Ok(items) => items,
            Err(hot::HotProblem::Login) => {
                return Err(CrawlError::LoginRequired {
                    url: log_url(&url),
                    reason: "ok:-100".into(),
                })
            }
            Err(hot::HotProblem::Malformed(why)) => {
                ctx.cov(task).pages_failed += 1;
                tracing::warn!(url = %log_url(&url), "malformed hot-search response skipped: {why}");
                return Err(CrawlError::Malformed {
                    url: log_url(&url),
                    reason: why,
                });
            }
        };
        let c = ctx.cov(task);
        c.pages_fetched += 1;
        c.items_seen += items.len() as i64;
        c.reported_total = Some(items.len() as i64);
        let sightings: Vec<TopicSighting> = items
            .iter()
            .map(|i| TopicSighting {
                keyword: i.word.clone(),
                rank: Some(i.rank),
                heat: i.heat,
                label: i.label.clone(),
                note: i.note.clone(),
            })
            .collect();
        ctx.store
            .upsert_topic_sightings(PLATFORM, Utc::now(), &sightings)
            .await?;
        tracing::info!("hot search: {} topics (ads dropped)", items.len());
        if let Some(w) = q.search {
            let tasks: Vec<NewCrawlTask> = items
                .iter()
                .take(q.top)
                .map(|i| {
                    search_task(&SearchQuery {
                        q: i.query.clone(),
                        since: w.since,
                        until: w.until,
                        province: None,
                        conversations: w.conversations,
                    })
                })
                .collect();
            ctx.add_tasks(&tasks).await?;
        }
        Ok(StepResult {
            cursor: None,
            reported_total: Some(items.len() as i64),
        })
    }

    async fn search(
        &self,
        ctx: &mut StepCtx<'_>,
        task: &CrawlTask,
    ) -> Result<StepResult, CrawlError> {
        let q: SearchQuery = serde_json::from_str(&task.query).map_err(|e| bad_query(task, e))?;
        let mut cur: SearchCursor = match &task.cursor {
            Some(c) => serde_json::from_str(c).map_err(|e| bad_query(task, e))?,
            None => SearchCursor {
                slices: vec![Slice::range(q.since, q.until, q.province)],
                page: 1,
                pages: 0,
            },
        };
        let Some(slice) = cur.slices.first().cloned() else {
            return Ok(StepResult {
                cursor: None,
                reported_total: None,
            });
        };
        let page_no = cur.page.max(1);
        let url = self.search_url(&q.q, &slice, page_no);
        ctx.cov(task).pages_asked += 1;
        let parsed = match self.get(&url, Kind::Html).await {
            Ok(body) => search::parse_search(&body, self.now()).map_err(|p| match p {
                PageProblem::Login => CrawlError::LoginRequired {
                    url: log_url(&url),
                    reason: "the visitor/login page".into(),
                },
                PageProblem::TooFrequent => CrawlError::RateLimited {
                    url: log_url(&url),
                    reason: "a 'too frequent' page".into(),
                },
                other => CrawlError::Malformed {
                    url: log_url(&url),
                    reason: other.to_string(),
                },
            }),
            Err(e) => Err(e),
        };
        let advance = |cur: &mut SearchCursor, has_next: bool| {
            if has_next && cur.page < MAX_PAGES {
                cur.page += 1;
            } else {
                cur.slices.remove(0);
                cur.page = 1;
                cur.pages = 0;
            }
        };
        match parsed {
            Err(e) if e.stops_run() => return Err(e),
            Err(e) => {
                ctx.cov(task).pages_failed += 1;
                tracing::warn!("search page skipped: {e}");
                let known_more = cur.pages > page_no;
                advance(&mut cur, known_more);
            }
            Ok(SearchPage::NoResults) => {
                ctx.cov(task).pages_fetched += 1;
                advance(&mut cur, false);
            }
            Ok(SearchPage::Results(page)) => {
                ctx.cov(task).pages_fetched += 1;
                let at_cap = page.page_count >= self.cfg.split_threshold.max(1);
                if at_cap && page_no == 1 {
                    if let Some(children) = slice.split() {
                        tracing::info!(
                            "{} {}: {} pages listed (cap), splitting into {} slices",
                            q.q,
                            slice.describe(),
                            page.page_count,
                            children.len()
                        );
                        cur.slices.splice(0..1, children);
                        cur.page = 1;
                        cur.pages = 0;
                        return Ok(StepResult {
                            cursor: Some(serde_json::to_string(&cur).unwrap_or_default()),
                            reported_total: None,
                        });
                    }
                    tracing::warn!(
                        "{} {}: still {} pages at the finest split (city × hour); results past page {MAX_PAGES} are unreachable",
                        q.q,
                        slice.describe(),
                        page.page_count
                    );
                }
                for why in &page.skipped {
                    tracing::warn!(url = %log_url(&url), "unreadable card skipped: {why}");
                }
                cur.pages = cur.pages.max(page.page_count as u32);
                let mut posts = Vec::new();
                let mut wanted = Vec::new();
                for card in page.cards {
                    ctx.heartbeat().await?;
                    wanted.push(card.mid.clone());
                    if let (Some(o), true) = (&card.original, self.cfg.conversations_of_originals) {
                        wanted.push(o.mid.clone());
                    }
                    posts.extend(self.card_posts(ctx, card, &url).await?);
                }
                let report = ctx.write(task, posts).await?;
                if q.conversations {
                    let tasks = Self::conversation_tasks(wanted, &report.new_ids);
                    ctx.add_tasks(&tasks).await?;
                }
                advance(&mut cur, page.next.is_some());
            }
        }
        let cursor =
            (!cur.slices.is_empty()).then(|| serde_json::to_string(&cur).unwrap_or_default());
        Ok(StepResult {
            cursor,
            reported_total: None,
        })
    }

    /// Comments and reposts tasks for the matched posts that this page stored for the
    /// first time. Posts stored before keep their conversations as collected then: a
    /// conversation page that failed is retried by the next crawl from where it failed,
    /// and `crawl weibo conversations --only-missing` fills the rest on purpose.
    fn conversation_tasks(mut wanted: Vec<String>, new_ids: &[String]) -> Vec<NewCrawlTask> {
        let new: HashSet<&String> = new_ids.iter().collect();
        let mut seen = HashSet::new();
        wanted.retain(|m| new.contains(m) && seen.insert(m.clone()));
        let mut tasks = Vec::with_capacity(wanted.len() * 2);
        for mid in &wanted {
            tasks.push(conversation_task("comments", PRIO_COMMENTS, mid, None));
            tasks.push(conversation_task("reposts", PRIO_REPOSTS, mid, None));
        }
        tasks
    }

    /// The posts of one card: the reposted original first (if any), then the card's post.
    async fn card_posts(
        &self,
        ctx: &mut StepCtx<'_>,
        mut card: Card,
        url: &str,
    ) -> Result<Vec<RawPost>, CrawlError> {
        let mut out = Vec::new();
        let mut parent = None;
        if let Some(original) = card.original.take() {
            parent = Some(original.mid.clone());
            out.push(self.card_post(ctx, *original, None, url).await?);
        }
        out.push(self.card_post(ctx, card, parent, url).await?);
        Ok(out)
    }

    async fn card_post(
        &self,
        ctx: &mut StepCtx<'_>,
        mut card: Card,
        repost_of: Option<String>,
        url: &str,
    ) -> Result<RawPost, CrawlError> {
        let bid = card.bid.clone().or_else(|| ids::mid_to_bid(&card.mid));
        if card.needs_long_text {
            if let Some(bid) = &bid {
                let lt_url = self.api(&format!("/ajax/statuses/longtext?id={bid}"));
                let r = match self.get(&lt_url, Kind::Json).await {
                    Ok(body) => status::parse_longtext(&body).map_err(|p| api_error(&lt_url, p)),
                    Err(e) => Err(e),
                };
                if let Some(Some(text)) = self.soft(r, &format!("long text of {bid}"))? {
                    for t in topics_in_plain(&text) {
                        if !card.topics.contains(&t) {
                            card.topics.push(t);
                        }
                    }
                    card.text = text;
                }
            }
        }
        let mut detail: Option<Status> = None;
        if self.cfg.fetch_detail {
            if let Some(bid) = &bid {
                let d_url = self.api(&format!("/ajax/statuses/show?id={bid}&locale=zh-CN"));
                let r = match self.get(&d_url, Kind::Json).await {
                    Ok(body) => {
                        status::parse_show(&body, self.now()).map_err(|p| api_error(&d_url, p))
                    }
                    Err(e) => Err(e),
                };
                detail = self.soft(r, &format!("detail of {bid}"))?;
            }
        }
        let profile = match (&card.uid, self.cfg.fetch_profiles) {
            (Some(uid), true) => self.profile(ctx, uid).await?,
            _ => None,
        };
        let d_user = detail.as_ref().and_then(|d| d.user.clone());
        let raw_meta = serde_json::json!({
            "mid": card.mid,
            "bid": bid,
            "source": card.source,
            "pic_ids": card.pic_ids,
            "video": card.has_video,
            "location": card.location,
            "vip": card.vip,
            "time_shown": card.time_shown,
            "mention_count": card.mentions.len(),
            "retweet_id": repost_of,
        });
        let verified_type = profile
            .as_ref()
            .and_then(|p| p.verified_type)
            .or(d_user.as_ref().and_then(|u| u.verified_type))
            .or(card.verified_type());
        let kind = if repost_of.is_some() {
            PostKind::Repost
        } else {
            PostKind::Post
        };
        let d = detail.as_ref();
        Ok(RawPost {
            platform: PLATFORM.into(),
            platform_id: Some(card.mid.clone()),
            kind,
            parent_id: repost_of.clone(),
            root_id: repost_of,
            author: card.uid.clone().map(|id| RawAuthor {
                id,
                screen_name: card.screen_name.clone(),
                verified_type,
                followers: profile
                    .as_ref()
                    .and_then(|p| p.followers)
                    .or(d_user.as_ref().and_then(|u| u.followers)),
                region: profile.as_ref().and_then(|p| p.region.clone()),
            }),
            text: card.text,
            lang: None,
            created_at: d.and_then(|d| d.created_at).or(card.created_at),
            topics: card.topics,
            repost_count: d.and_then(|d| d.reposts).or(card.reposts),
            comment_count: d.and_then(|d| d.comments).or(card.comments),
            like_count: d.and_then(|d| d.likes).or(card.likes),
            region: d.and_then(|d| d.region.clone()),
            raw: Some(raw_meta),
            origin: Origin {
                file: log_url(url),
                line: 0,
            },
        })
    }

    /// The author's profile, once per author (skipped when already stored).
    async fn profile(&self, ctx: &mut StepCtx<'_>, uid: &str) -> Result<Option<User>, CrawlError> {
        let pseudonym = ctx.cleaner().pseudonymizer().pseudonym(PLATFORM, uid);
        // Claimed before the request: a step running at the same time skips this author.
        let claimed = self
            .profiled
            .lock()
            .map(|mut p| p.insert(pseudonym.clone()))
            .unwrap_or(false);
        if !claimed || ctx.store.author_profiled(PLATFORM, &pseudonym).await? {
            return Ok(None);
        }
        let url = self.api(&format!("/ajax/profile/info?uid={uid}"));
        let r = match self.get(&url, Kind::Json).await {
            Ok(body) => status::parse_profile(&body).map_err(|p| api_error(&url, p)),
            Err(e) => Err(e),
        };
        let user = self.soft(r, "author profile");
        if user.is_err() {
            if let Ok(mut p) = self.profiled.lock() {
                p.remove(&pseudonym);
            }
        }
        user
    }

    async fn comments(
        &self,
        ctx: &mut StepCtx<'_>,
        task: &CrawlTask,
        replies: bool,
    ) -> Result<StepResult, CrawlError> {
        let q: ConversationQuery =
            serde_json::from_str(&task.query).map_err(|e| bad_query(task, e))?;
        let cur: PageCursor = match &task.cursor {
            Some(c) => serde_json::from_str(c).map_err(|e| bad_query(task, e))?,
            None => PageCursor::default(),
        };
        let cap = if replies {
            self.cfg.reply_pages
        } else {
            self.cfg.comment_pages
        };
        if cur.pages >= cap.max(1) {
            return Ok(StepResult {
                cursor: None,
                reported_total: None,
            });
        }
        let url = match (&q.cid, replies) {
            (Some(cid), true) => self.api(&format!(
                "/ajax/statuses/buildComments?is_reload=1&id={cid}&is_show_bulletin=2&is_mix=1&fetch_level=1&max_id={}&count=20&locale=zh-CN",
                cur.next
            )),
            _ => {
                let mut u = self.api(&format!(
                    "/ajax/statuses/buildComments?is_reload=1&id={}&is_show_bulletin=2&is_mix=0&count=20&fetch_level=0&locale=zh-CN",
                    q.mid
                ));
                if cur.next != 0 {
                    u.push_str(&format!("&max_id={}", cur.next));
                }
                u
            }
        };
        ctx.cov(task).pages_asked += 1;
        let page = match self.get(&url, Kind::Json).await {
            Ok(body) => status::parse_comments(&body, self.now()).map_err(|p| api_error(&url, p)),
            Err(e) => Err(e),
        };
        let page = match page {
            Ok(p) => p,
            Err(e) if e.stops_run() => return Err(e),
            Err(e) => {
                // The cursor of the next page is in the page we could not read: the task
                // fails here, keeping its cursor, and the next run goes on from this page.
                ctx.cov(task).pages_failed += 1;
                return Err(e);
            }
        };
        ctx.cov(task).pages_fetched += 1;
        if page.skipped > 0 {
            tracing::warn!(url = %log_url(&url), "{} unreadable comment(s) skipped", page.skipped);
        }
        let mut posts = Vec::new();
        let mut reply_tasks = Vec::new();
        for c in &page.comments {
            if replies {
                let parent = c
                    .reply_to
                    .clone()
                    .or_else(|| q.cid.clone())
                    .unwrap_or_else(|| q.mid.clone());
                posts.push(comment_post(c, &q.mid, &parent, &url));
            } else {
                posts.push(comment_post(c, &q.mid, &q.mid, &url));
                for r in &c.previews {
                    let parent = r.reply_to.clone().unwrap_or_else(|| c.id.clone());
                    posts.push(comment_post(r, &q.mid, &parent, &url));
                }
                if c.more_replies {
                    reply_tasks.push(conversation_task(
                        "replies",
                        PRIO_REPLIES,
                        &q.mid,
                        Some(&c.id),
                    ));
                }
            }
        }
        ctx.write(task, posts).await?;
        ctx.add_tasks(&reply_tasks).await?;
        let total = if cur.pages == 0 { page.total } else { None };
        if total.is_some() {
            ctx.cov(task).reported_total = total;
        }
        let next = page.max_id.unwrap_or(0);
        let more = next != 0 && next != cur.next && !page.comments.is_empty();
        let cursor = more.then(|| {
            serde_json::to_string(&PageCursor {
                next,
                pages: cur.pages + 1,
            })
            .unwrap_or_default()
        });
        Ok(StepResult {
            cursor,
            reported_total: total,
        })
    }

    async fn reposts(
        &self,
        ctx: &mut StepCtx<'_>,
        task: &CrawlTask,
    ) -> Result<StepResult, CrawlError> {
        let q: ConversationQuery =
            serde_json::from_str(&task.query).map_err(|e| bad_query(task, e))?;
        let cur: PageCursor = match &task.cursor {
            Some(c) => serde_json::from_str(c).map_err(|e| bad_query(task, e))?,
            None => PageCursor { next: 1, pages: 0 },
        };
        if cur.pages >= self.cfg.repost_pages.max(1) {
            return Ok(StepResult {
                cursor: None,
                reported_total: None,
            });
        }
        let page_no = cur.next.max(1);
        let url = self.api(&format!(
            "/ajax/statuses/repostTimeline?id={}&page={page_no}&moduleID=feed&count=10",
            q.mid
        ));
        ctx.cov(task).pages_asked += 1;
        let page = match self.get(&url, Kind::Json).await {
            Ok(body) => status::parse_reposts(&body, self.now()).map_err(|p| api_error(&url, p)),
            Err(e) => Err(e),
        };
        let next_cursor = |cur: &PageCursor| {
            serde_json::to_string(&PageCursor {
                next: page_no + 1,
                pages: cur.pages + 1,
            })
            .unwrap_or_default()
        };
        let page = match page {
            Ok(p) => p,
            Err(e) if e.stops_run() => return Err(e),
            Err(e) => {
                // Kept with its cursor: the next run asks for this page again.
                ctx.cov(task).pages_failed += 1;
                return Err(e);
            }
        };
        ctx.cov(task).pages_fetched += 1;
        if page.total.is_some() {
            ctx.cov(task).reported_total = page.total;
        }
        let posts: Vec<RawPost> = page
            .reposts
            .iter()
            .map(|s| {
                let root = s
                    .retweeted
                    .as_ref()
                    .map(|r| r.mid.clone())
                    .unwrap_or_else(|| q.mid.clone());
                status_post(s, PostKind::Repost, Some(root.clone()), Some(root), &url)
            })
            .collect();
        let empty = posts.is_empty();
        ctx.write(task, posts).await?;
        let last = empty || page.max_page.is_some_and(|m| page_no >= m);
        Ok(StepResult {
            cursor: (!last).then(|| next_cursor(&cur)),
            reported_total: page.total,
        })
    }
}

fn api_error(url: &str, p: ApiProblem) -> CrawlError {
    match p {
        ApiProblem::Login => CrawlError::LoginRequired {
            url: log_url(url),
            reason: "ok:-100 (not logged in)".into(),
        },
        ApiProblem::Malformed(why) => CrawlError::Malformed {
            url: log_url(url),
            reason: why,
        },
    }
}

fn comment_post(c: &Comment, post_mid: &str, parent: &str, url: &str) -> RawPost {
    RawPost {
        platform: PLATFORM.into(),
        platform_id: Some(c.id.clone()),
        kind: PostKind::Comment,
        parent_id: Some(parent.to_string()),
        root_id: Some(post_mid.to_string()),
        author: c.user.as_ref().map(author),
        text: c.text.clone(),
        lang: None,
        created_at: c.created_at,
        topics: topics_in_plain(&c.text),
        repost_count: None,
        comment_count: c.reply_total,
        like_count: c.likes,
        region: c.region.clone(),
        raw: None,
        origin: Origin {
            file: log_url(url),
            line: 0,
        },
    }
}

fn status_post(
    s: &Status,
    kind: PostKind,
    parent: Option<String>,
    root: Option<String>,
    url: &str,
) -> RawPost {
    RawPost {
        platform: PLATFORM.into(),
        platform_id: Some(s.mid.clone()),
        kind,
        parent_id: parent,
        root_id: root,
        author: s.user.as_ref().map(author),
        text: s.text.clone(),
        lang: None,
        created_at: s.created_at,
        topics: s.topics.clone(),
        repost_count: s.reposts,
        comment_count: s.comments,
        like_count: s.likes,
        region: s.region.clone(),
        raw: Some(
            serde_json::json!({"mid": s.mid, "bid": s.bid, "source": s.source, "pic_num": s.pic_num, "video": s.has_video}),
        ),
        origin: Origin {
            file: log_url(url),
            line: 0,
        },
    }
}

impl Stepper for WeiboCrawler<'_> {
    async fn step(
        &self,
        ctx: &mut StepCtx<'_>,
        task: &CrawlTask,
    ) -> Result<StepResult, CrawlError> {
        match task.kind.as_str() {
            "hot" => self.hot(ctx, task).await,
            "search" => self.search(ctx, task).await,
            "comments" => self.comments(ctx, task, false).await,
            "replies" => self.comments(ctx, task, true).await,
            "reposts" => self.reposts(ctx, task).await,
            other => Err(bad_query(task, format!("unknown task kind {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_topics() {
        assert_eq!(
            topics_in_plain("a #考研# b #打工人的周一# c"),
            vec!["考研", "打工人的周一"]
        );
        assert_eq!(topics_in_plain("no topics # here"), Vec::<String>::new());
    }

    #[test]
    fn classification() {
        let r = |status: u16, location: Option<&str>, body: &str| Response {
            url: "u".into(),
            status,
            location: location.map(str::to_string),
            link: None,
            body: body.into(),
        };
        let p = "https://passport.weibo.com";
        assert!(matches!(
            classify(
                &r(
                    302,
                    Some("https://passport.weibo.com/visitor/visitor?entry=miniblog"),
                    ""
                ),
                p,
                Kind::Html
            ),
            Verdict::LoginRequired(_)
        ));
        assert!(matches!(
            classify(
                &r(302, Some("https://weibo.com/newlogin?url=x"), ""),
                p,
                Kind::Html
            ),
            Verdict::LoginRequired(_)
        ));
        assert!(matches!(
            classify(
                &r(302, Some("https://passport.weibo.com/verify?x"), ""),
                p,
                Kind::Html
            ),
            Verdict::RateLimited(_)
        ));
        assert!(matches!(
            classify(&r(200, None, "<p>访问过于频繁</p>"), p, Kind::Html),
            Verdict::RateLimited(_)
        ));
        assert!(matches!(
            classify(
                &r(200, None, "<title>Sina Visitor System</title>"),
                p,
                Kind::Html
            ),
            Verdict::LoginRequired(_)
        ));
        assert!(matches!(
            classify(&r(200, None, r#"{"ok": -100, "url": "x"}"#), p, Kind::Json),
            Verdict::LoginRequired(_)
        ));
        assert_eq!(
            classify(&r(200, None, r#"{"ok":1}"#), p, Kind::Json),
            Verdict::Accept
        );
    }
}
