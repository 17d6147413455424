//! Errors of the crawlers: what stops a run (rate limits, an expired cookie, the store)
//! versus what only costs one page (a failed or malformed page, logged and skipped).

use mindpulse_store::StoreError;

/// Why a request, a page or a whole crawl did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// The platform signals throttling or risk control (HTTP 418/414/403/429/432, a "too
    /// frequent" page, a captcha redirect). The run stops; its position is saved.
    #[error("rate limited at {url}: {reason}; stopped after backing off (progress is saved, run again later to resume)")]
    RateLimited { url: String, reason: String },
    /// The cookie is missing or expired (a redirect to the login/visitor page, `ok:-100`).
    #[error("the cookie is missing or expired ({url} answered with {reason}); set a fresh one (--cookie-file, MINDPULSE_WEIBO_COOKIE or [weibo] cookie) and run again to resume")]
    LoginRequired { url: String, reason: String },
    /// A request failed after every retry (timeouts, 5xx, connection errors).
    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },
    /// A response that could not be understood (malformed or truncated).
    #[error("{url}: malformed response: {reason}")]
    Malformed { url: String, reason: String },
    /// SIGINT/SIGTERM: stop after the current request.
    #[error("interrupted")]
    Cancelled,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another process holds the job.
    #[error("{0}")]
    Busy(String),
    /// A bad setting (URL, cron expression, cookie file…).
    #[error("{0}")]
    Config(String),
}

impl CrawlError {
    /// Errors that end the run (as opposed to losing one page).
    pub fn stops_run(&self) -> bool {
        matches!(
            self,
            CrawlError::RateLimited { .. }
                | CrawlError::LoginRequired { .. }
                | CrawlError::Cancelled
                | CrawlError::Store(_)
                | CrawlError::Busy(_)
                | CrawlError::Config(_)
        )
    }
}
