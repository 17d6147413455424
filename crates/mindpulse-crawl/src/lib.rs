//! Crawlers of mindpulse: Weibo (hot search → topic search → post detail, long text,
//! author profiles → comments, replies and reposts) and Mastodon hashtag timelines.
//!
//! * Polite ([`http::Fetcher`]): per-host delay with jitter, a limit on requests in flight,
//!   a configurable user agent, retries with exponential backoff on timeouts and 5xx, and
//!   on rate-limit signals (HTTP 418/414/403/429/432, "too frequent" and captcha pages) a
//!   back-off and then a clean stop.
//! * Resumable and idempotent ([`job`]): jobs, task cursors (page, `max_id`, split
//!   position) and coverage live in the database; a killed run continues where it
//!   stopped, and re-collected items refresh counts without duplicating anything.
//! * Private: posts go through the same cleaning, duplicate flags and writer as imports
//!   (`mindpulse_ingest::RawWriter`), so authors and @mentions are pseudonymized before
//!   anything is stored; the cookie is only ever a sensitive request header and user ids
//!   are hidden in logs.
//! * Testable: every base URL is configurable, and [`testing::TestServer`] serves
//!   fixtures and injects faults on 127.0.0.1.

pub mod config;
pub mod cron;
pub mod error;
pub mod html_text;
pub mod http;
pub mod job;
mod json;
pub mod mastodon;
pub mod schedule;
pub mod testing;
pub mod weibo;

pub use config::{MastodonConfig, Politeness, ScheduleConfig, ScheduledJob, WeiboConfig};
pub use error::CrawlError;
pub use http::Fetcher;
pub use job::{Ending, JobReport, ScoreHook};
