//! Polite HTTP: one client for every crawler, with a per-host delay (plus jitter), a
//! limit on requests in flight, retries with exponential backoff on timeouts, connection
//! errors and 5xx, and a back-off-then-stop on rate-limit signals.
//!
//! Redirects are never followed (an expired Weibo cookie shows up as a 302 to the
//! visitor page, which must not be mistaken for a result page) and there is no cookie
//! jar: callers send the raw `Cookie` header, marked sensitive so that it never appears
//! in debug output. URLs in logs and errors go through [`log_url`], which hides user ids.

use crate::config::{secs, Politeness};
use crate::error::CrawlError;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// Largest response body accepted.
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// HTTP statuses that mean "slow down" (Weibo: 403, 414, 418, 432; everyone: 429).
pub const RATE_LIMIT_STATUSES: [u16; 5] = [403, 414, 418, 429, 432];

/// A response as the crawlers see it.
#[derive(Debug, Clone)]
pub struct Response {
    /// The URL asked for (not redacted: do not log it, use [`log_url`]).
    pub url: String,
    pub status: u16,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// The `Link` header (Mastodon paging).
    pub link: Option<String>,
    pub body: String,
}

/// What a crawler makes of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Transient: try again after a backoff.
    Retry(String),
    /// Throttling or risk control.
    RateLimited(String),
    /// Cookie missing or expired.
    LoginRequired(String),
}

/// The shared polite client.
pub struct Fetcher {
    client: reqwest::Client,
    polite: Politeness,
    next_slot: Mutex<HashMap<String, Instant>>,
    in_flight: Semaphore,
    cancel: Arc<AtomicBool>,
    /// Set by a job when one of its requests hit a stop (rate limit, expired cookie): the
    /// job's other requests in flight end at once too. Cleared when the next job starts.
    halted: AtomicBool,
    requests: AtomicU64,
}

impl Fetcher {
    pub fn new(polite: Politeness, cancel: Arc<AtomicBool>) -> Result<Fetcher, CrawlError> {
        polite.validate().map_err(CrawlError::Config)?;
        let client = reqwest::Client::builder()
            .user_agent(polite.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(polite.timeout())
            .connect_timeout(polite.timeout())
            .build()
            .map_err(|e| CrawlError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Fetcher {
            client,
            in_flight: Semaphore::new(polite.concurrency.max(1)),
            polite,
            next_slot: Mutex::new(HashMap::new()),
            cancel,
            halted: AtomicBool::new(false),
            requests: AtomicU64::new(0),
        })
    }

    pub fn politeness(&self) -> &Politeness {
        &self.polite
    }

    /// Requests sent so far (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Interrupted by the user (SIGINT/SIGTERM) or halted by the job.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) || self.halted.load(Ordering::Relaxed)
    }

    /// Whether the user interrupted (as opposed to a halt after a stop signal).
    pub fn interrupted(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Ends every request of the current job (in flight or waiting for its turn) with
    /// [`CrawlError::Cancelled`]: a rate limit or an expired cookie stops everything at once.
    pub fn halt(&self) {
        self.halted.store(true, Ordering::Relaxed);
    }

    /// Lets requests through again (a new job starts).
    pub fn resume(&self) {
        self.halted.store(false, Ordering::Relaxed);
    }

    /// GETs `url` politely. `classify` judges a response whose status is not already a
    /// rate-limit status or a 5xx. Returns the accepted response, or why there is none.
    pub async fn get(
        &self,
        url: &str,
        headers: &HeaderMap,
        classify: &(dyn Fn(&Response) -> Verdict + Sync),
    ) -> Result<Response, CrawlError> {
        let shown = log_url(url);
        let mut failures = 0u32;
        let mut rate_limited = false;
        loop {
            if self.cancelled() {
                return Err(CrawlError::Cancelled);
            }
            let permit = self
                .in_flight
                .acquire()
                .await
                .map_err(|_| CrawlError::Cancelled)?;
            self.wait_turn(url).await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(url = %shown, "GET");
            let verdict = self.send(url, headers).await;
            drop(permit);
            let (verdict, resp) = match verdict {
                Err(reason) => (Verdict::Retry(reason), None),
                Ok(resp) => {
                    let v = if RATE_LIMIT_STATUSES.contains(&resp.status) {
                        Verdict::RateLimited(format!("HTTP {}", resp.status))
                    } else if (500..=599).contains(&resp.status) {
                        Verdict::Retry(format!("HTTP {}", resp.status))
                    } else {
                        classify(&resp)
                    };
                    (v, Some(resp))
                }
            };
            match verdict {
                Verdict::Accept => {
                    if let Some(resp) = resp {
                        return Ok(resp);
                    }
                }
                Verdict::LoginRequired(reason) => {
                    return Err(CrawlError::LoginRequired { url: shown, reason });
                }
                Verdict::RateLimited(reason) => {
                    if rate_limited {
                        return Err(CrawlError::RateLimited { url: shown, reason });
                    }
                    rate_limited = true;
                    let wait = secs(self.polite.rate_limit_backoff_secs);
                    tracing::warn!(url = %shown, "rate limited ({reason}); backing off {}s before one last try", wait.as_secs());
                    self.sleep(wait).await?;
                }
                Verdict::Retry(reason) => {
                    failures += 1;
                    if failures > self.polite.retries {
                        return Err(CrawlError::Failed {
                            url: shown,
                            reason: format!("{reason} (gave up after {failures} tries)"),
                        });
                    }
                    let wait = self.backoff(failures);
                    tracing::warn!(url = %shown, "{reason}; retry {failures}/{} in {:.1}s", self.polite.retries, wait.as_secs_f64());
                    self.sleep(wait).await?;
                }
            }
        }
    }

    /// One request; the error is a short reason (timeout, connection, truncated body…).
    async fn send(&self, url: &str, headers: &HeaderMap) -> Result<Response, String> {
        let resp = self
            .client
            .get(url)
            .headers(headers.clone())
            .send()
            .await
            .map_err(describe)?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        let link = header("link");
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(format!("response over {} MiB", MAX_BODY_BYTES >> 20));
        }
        let bytes = resp.bytes().await.map_err(describe)?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(format!("response over {} MiB", MAX_BODY_BYTES >> 20));
        }
        Ok(Response {
            url: url.to_string(),
            status,
            location,
            link,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Waits until this host may be asked again, and books the next slot.
    async fn wait_turn(&self, url: &str) -> Result<(), CrawlError> {
        let host = host_of(url);
        let gap = {
            let jitter = if self.polite.jitter_secs > 0.0 {
                rand::thread_rng().gen_range(0.0..self.polite.jitter_secs)
            } else {
                0.0
            };
            secs(self.polite.delay_secs + jitter)
        };
        let slot = {
            let mut slots = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = slots
                .get(&host)
                .copied()
                .filter(|s| *s > now)
                .unwrap_or(now);
            slots.insert(host, slot + gap);
            slot
        };
        let now = Instant::now();
        if slot > now {
            self.sleep(slot - now).await?;
        }
        Ok(())
    }

    fn backoff(&self, failures: u32) -> Duration {
        let base = self.polite.backoff_secs * 2f64.powi(failures.saturating_sub(1).min(30) as i32);
        secs(base.min(self.polite.max_backoff_secs))
    }

    /// Sleeps, waking early (with `Cancelled`) when the run is interrupted.
    pub async fn sleep(&self, d: Duration) -> Result<(), CrawlError> {
        let end = Instant::now() + d;
        loop {
            if self.cancelled() {
                return Err(CrawlError::Cancelled);
            }
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            tokio::time::sleep((end - now).min(Duration::from_millis(100))).await;
        }
    }
}

/// A header map with the given raw cookie (marked sensitive) and extra headers.
pub fn headers(cookie: Option<&str>, extra: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(c) = cookie {
        if let Ok(mut v) = HeaderValue::from_str(c.trim()) {
            v.set_sensitive(true);
            h.insert(reqwest::header::COOKIE, v);
        }
    }
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
    h
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else if e.is_body() || e.is_decode() {
        "truncated or unreadable body".into()
    } else if e.is_request() {
        "request failed (connection closed?)".into()
    } else {
        "request failed".into()
    }
}

/// `scheme://host:port` of a URL (the politeness key).
pub fn host_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => url.to_string(),
    }
}

/// Query parameters whose values identify a person, hidden in logs and errors.
const HIDDEN_PARAMS: [&str; 3] = ["uid", "access_token", "token"];

/// The URL with user ids hidden (`uid=***`), for logs, errors and the database.
pub fn log_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if HIDDEN_PARAMS.iter().any(|h| h.eq_ignore_ascii_case(k)) => {
                format!("{k}=***")
            }
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_hidden_in_logged_urls() {
        assert_eq!(
            log_url("https://weibo.com/ajax/profile/info?uid=1234567890&scene=profile"),
            "https://weibo.com/ajax/profile/info?uid=***&scene=profile"
        );
        assert_eq!(log_url("http://h/x"), "http://h/x");
        assert_eq!(
            host_of("http://127.0.0.1:8080/a?b"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(host_of("https://weibo.com/ajax"), "https://weibo.com:443");
    }

    #[test]
    fn cookie_header_is_sensitive() {
        let h = headers(
            Some("SUB=secret; SUBP=x"),
            &[("x-requested-with", "XMLHttpRequest")],
        );
        let v = h.get(reqwest::header::COOKIE).unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{h:?}").contains("secret"));
    }
}
