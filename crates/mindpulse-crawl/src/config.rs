//! Settings of the crawlers, as they appear in `mindpulse.toml` (`[crawl]`, `[weibo]`,
//! `[mastodon]`, `[schedule]`); every field has a default, and unknown keys are errors.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// A desktop browser user agent (what the known Weibo crawlers send).
pub const DEFAULT_USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Politeness and fault handling, shared by every crawler (`[crawl]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Politeness {
    /// Seconds between two requests to the same host.
    pub delay_secs: f64,
    /// Up to this many extra random seconds on top of the delay.
    pub jitter_secs: f64,
    /// Requests in flight at once, over all hosts.
    pub concurrency: usize,
    pub user_agent: String,
    /// Seconds before a request is given up as timed out.
    pub timeout_secs: f64,
    /// Retries after a timeout, a connection error or a 5xx.
    pub retries: u32,
    /// First retry wait in seconds; doubled on every further retry.
    pub backoff_secs: f64,
    /// Longest retry wait.
    pub max_backoff_secs: f64,
    /// Wait after a rate-limit signal before the one last try (then the run stops).
    pub rate_limit_backoff_secs: f64,
}

impl Default for Politeness {
    fn default() -> Self {
        Politeness {
            delay_secs: 12.0,
            jitter_secs: 4.0,
            concurrency: 2,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            timeout_secs: 30.0,
            retries: 3,
            backoff_secs: 15.0,
            max_backoff_secs: 600.0,
            rate_limit_backoff_secs: 300.0,
        }
    }
}

impl Politeness {
    /// No waiting at all: for tests against a local server.
    pub fn for_tests() -> Self {
        Politeness {
            delay_secs: 0.0,
            jitter_secs: 0.0,
            concurrency: 2,
            timeout_secs: 2.0,
            retries: 2,
            backoff_secs: 0.01,
            max_backoff_secs: 0.05,
            rate_limit_backoff_secs: 0.01,
            ..Politeness::default()
        }
    }

    pub fn timeout(&self) -> Duration {
        secs(self.timeout_secs)
    }

    /// Refuses values that would make a crawl impolite or useless: negative or non-finite
    /// waits, a timeout of zero or less, no request slot. Names the setting and its flag.
    pub fn validate(&self) -> Result<(), String> {
        let waits = [
            ("delay_secs", "--delay", self.delay_secs),
            ("jitter_secs", "--jitter", self.jitter_secs),
            ("backoff_secs", "--backoff", self.backoff_secs),
            ("max_backoff_secs", "--max-backoff", self.max_backoff_secs),
            (
                "rate_limit_backoff_secs",
                "--rate-limit-backoff",
                self.rate_limit_backoff_secs,
            ),
        ];
        for (name, flag, v) in waits {
            if !v.is_finite() || v < 0.0 {
                return Err(format!(
                    "[crawl] {name} ({flag}) is {v}: expected a number of seconds, 0 or more"
                ));
            }
        }
        if !self.timeout_secs.is_finite() || self.timeout_secs <= 0.0 {
            return Err(format!(
                "[crawl] timeout_secs (--timeout) is {}: expected a number of seconds above 0",
                self.timeout_secs
            ));
        }
        if self.concurrency == 0 {
            return Err("[crawl] concurrency (--concurrency) is 0: expected 1 or more".into());
        }
        Ok(())
    }
}

/// Seconds as a duration, negative and non-finite values as zero.
pub fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::from_secs_f64(s.min(1e9))
    } else {
        Duration::ZERO
    }
}

/// The Weibo crawler (`[weibo]`). Its `Debug` output hides the cookie.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeiboConfig {
    /// HTML search host (`/weibo?q=…`).
    pub search_url: String,
    /// JSON host (`/ajax/…`).
    pub api_url: String,
    /// Login and visitor host; a redirect there means the cookie expired.
    pub passport_url: String,
    /// The cookie string itself (prefer `cookie_file` or `MINDPULSE_WEIBO_COOKIE`).
    pub cookie: Option<String>,
    /// A file holding the cookie string (first non-empty line).
    pub cookie_file: Option<PathBuf>,
    /// Hot-search entries to search (ads excluded).
    pub top: usize,
    /// Time budget of one `run`, in minutes.
    pub budget_minutes: f64,
    /// Days back (today included) a topic search covers when no dates are given.
    pub search_days: u32,
    /// `ori` (originals only, the default) or `all` (reposts too).
    pub scope: String,
    /// A page count at or over this splits the query (day → hour → province → city).
    pub split_threshold: usize,
    /// Fetch the post detail (IP region, exact counts) of every search result.
    pub fetch_detail: bool,
    /// Fetch the profile (followers, region, verification) of every post author once.
    pub fetch_profiles: bool,
    /// Collect comments, replies and reposts of every new post in `run` (and of matched
    /// posts already stored whose conversation is not complete yet).
    pub conversations: bool,
    /// Also collect the conversations of the originals that matched reposts quote.
    pub conversations_of_originals: bool,
    /// Caps per post.
    pub comment_pages: u32,
    pub reply_pages: u32,
    pub repost_pages: u32,
}

impl std::fmt::Debug for WeiboConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeiboConfig")
            .field("search_url", &self.search_url)
            .field("api_url", &self.api_url)
            .field("passport_url", &self.passport_url)
            .field("cookie", &self.cookie.as_ref().map(|_| "***"))
            .field("cookie_file", &self.cookie_file)
            .field("top", &self.top)
            .field("budget_minutes", &self.budget_minutes)
            .field("search_days", &self.search_days)
            .field("scope", &self.scope)
            .field("split_threshold", &self.split_threshold)
            .field("fetch_detail", &self.fetch_detail)
            .field("fetch_profiles", &self.fetch_profiles)
            .field("conversations", &self.conversations)
            .field(
                "conversations_of_originals",
                &self.conversations_of_originals,
            )
            .field("comment_pages", &self.comment_pages)
            .field("reply_pages", &self.reply_pages)
            .field("repost_pages", &self.repost_pages)
            .finish()
    }
}

impl Default for WeiboConfig {
    fn default() -> Self {
        WeiboConfig {
            search_url: "https://s.weibo.com".into(),
            api_url: "https://weibo.com".into(),
            passport_url: "https://passport.weibo.com".into(),
            cookie: None,
            cookie_file: None,
            top: 20,
            budget_minutes: 60.0,
            search_days: 1,
            scope: "ori".into(),
            split_threshold: 46,
            fetch_detail: true,
            fetch_profiles: true,
            conversations: true,
            conversations_of_originals: false,
            comment_pages: 10,
            reply_pages: 5,
            repost_pages: 5,
        }
    }
}

/// The Mastodon crawler (`[mastodon]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MastodonConfig {
    /// Default instance when `--instance` is not given.
    pub instance: Option<String>,
    /// Pages (of up to 40 statuses) per tag and run.
    pub max_pages: u32,
    /// Time budget of one crawl, in minutes.
    pub budget_minutes: f64,
}

impl Default for MastodonConfig {
    fn default() -> Self {
        MastodonConfig {
            instance: None,
            max_pages: 50,
            budget_minutes: 60.0,
        }
    }
}

/// One scheduled job (`[[schedule.jobs]]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledJob {
    /// Name for logs.
    #[serde(default = "default_job_name")]
    pub name: String,
    /// 5-field cron expression in local time (`minute hour day month weekday`).
    #[serde(default = "default_cron")]
    pub cron: String,
    /// `weibo` (the full `crawl weibo run`) or `mastodon` (needs `instance` and `tag`).
    #[serde(default = "default_job_kind")]
    pub kind: String,
    /// Time cap of one run, in minutes (default: the crawler's budget).
    pub max_minutes: Option<f64>,
    pub instance: Option<String>,
    pub tag: Option<String>,
}

fn default_job_name() -> String {
    "weibo".into()
}
fn default_cron() -> String {
    DEFAULT_CRON.into()
}
fn default_job_kind() -> String {
    "weibo".into()
}

/// Twice a day, as the original collector ran.
pub const DEFAULT_CRON: &str = "0 10,22 * * *";

/// The scheduler (`[schedule]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Jobs; none means one Weibo run at [`DEFAULT_CRON`].
    pub jobs: Vec<ScheduledJob>,
}

impl ScheduleConfig {
    /// The configured jobs, or the default one.
    pub fn effective_jobs(&self) -> Vec<ScheduledJob> {
        if self.jobs.is_empty() {
            vec![ScheduledJob {
                name: default_job_name(),
                cron: default_cron(),
                kind: default_job_kind(),
                max_minutes: None,
                instance: None,
                tag: None,
            }]
        } else {
            self.jobs.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        crawl: Politeness,
        #[serde(default)]
        weibo: WeiboConfig,
        #[serde(default)]
        schedule: ScheduleConfig,
    }

    #[test]
    fn defaults_and_overrides() {
        let f: File = toml::from_str(
            "[crawl]\ndelay_secs = 0.5\n[weibo]\nsearch_url = \"http://127.0.0.1:9\"\ntop = 3\n\
             [[schedule.jobs]]\ncron = \"*/5 * * * *\"\nmax_minutes = 10\n",
        )
        .unwrap();
        assert_eq!(f.crawl.delay_secs, 0.5);
        assert_eq!(f.crawl.retries, 3);
        assert_eq!(f.weibo.search_url, "http://127.0.0.1:9");
        assert_eq!(f.weibo.api_url, "https://weibo.com");
        assert_eq!(f.weibo.top, 3);
        assert_eq!(f.schedule.jobs[0].kind, "weibo");
        assert_eq!(f.schedule.jobs[0].max_minutes, Some(10.0));
        assert!(toml::from_str::<File>("[weibo]\nsearch_ulr = \"x\"\n").is_err());
        let d = ScheduleConfig::default().effective_jobs();
        assert_eq!(d[0].cron, DEFAULT_CRON);
        assert_eq!(Politeness::default().delay_secs, 12.0);
        assert_eq!(Politeness::default().validate(), Ok(()));
        assert_eq!(Politeness::for_tests().validate(), Ok(()));
        for (bad, why) in [
            (
                Politeness {
                    delay_secs: -5.0,
                    ..Politeness::default()
                },
                "delay_secs (--delay) is -5",
            ),
            (
                Politeness {
                    timeout_secs: -1.0,
                    ..Politeness::default()
                },
                "timeout_secs (--timeout) is -1",
            ),
            (
                Politeness {
                    jitter_secs: f64::NAN,
                    ..Politeness::default()
                },
                "jitter_secs",
            ),
            (
                Politeness {
                    concurrency: 0,
                    ..Politeness::default()
                },
                "concurrency",
            ),
        ] {
            let e = bad.validate().unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        let with_cookie = WeiboConfig {
            cookie: Some("SUB=secret".into()),
            ..WeiboConfig::default()
        };
        assert!(!format!("{with_cookie:?}").contains("secret"));
    }
}
