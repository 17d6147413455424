//! [`Notifier`]: validated hooks and an HTTP client; delivery with timeouts, retries with
//! exponential backoff and jitter, `Retry-After`, and failure detection per platform.
//!
//! One call of [`Notifier::deliver`] makes at most `max_attempts` HTTP requests, each
//! bounded by `timeout_secs` (connecting, sending and reading the answer together), with
//! sleeps between them bounded by [`NotifyOptions::backoff_cap`]; so it always finishes.
//! It retries timeouts, connection errors, HTTP 408, 429 and 5xx; it does not retry other
//! 4xx, redirects (which are not followed: a webhook that redirects is misconfigured) or a
//! platform's error code in a 2xx answer.
//!
//! Logs (`tracing`, target `mindpulse_notify`) name the hook and its host only: never the
//! URL's path or query (where Slack, Feishu and DingTalk keep their tokens), never a secret.

use std::fmt;
use std::time::Duration;

use rand::Rng as _;
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};

use crate::config::{Format, Hook, Level, WebhookConfig};
use crate::error::NotifyError;
use crate::format::{self, FeishuSignature};
use crate::message::AlertMessage;
use crate::sign;

/// Header with the Unix time (seconds) of a signed `json` request.
pub const TIMESTAMP_HEADER: &str = "X-Mindpulse-Timestamp";
/// Header with `sha256=<hex>` of a signed `json` request (see [`crate::sign::json_signature`]).
pub const SIGNATURE_HEADER: &str = "X-Mindpulse-Signature";

/// How much of an answer is read (the rest is ignored).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// How much of an answer is kept in an error.
const MAX_DETAIL_CHARS: usize = 200;

/// Process-wide delivery settings (the per-hook ones live in [`WebhookConfig`]).
#[derive(Clone, Debug)]
pub struct NotifyOptions {
    /// Delay before the second attempt; doubled for each later one (default 1 s).
    /// Each delay is drawn uniformly from its upper half (jitter).
    pub backoff_base: Duration,
    /// Longest delay between attempts (default 30 s). A `Retry-After` longer than this
    /// ends the delivery at once (the outbox retries on the next scan).
    pub backoff_cap: Duration,
    /// Longest time to establish a connection (default 5 s; never more than the hook's
    /// `timeout_secs`).
    pub connect_timeout: Duration,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        NotifyOptions {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A successful delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// HTTP requests made, the successful one included (1 when the first one succeeded).
    pub attempts: u32,
    /// The HTTP status of the successful answer.
    pub status: u16,
}

/// The result of delivering one message to one hook, from [`Notifier::deliver_all`].
#[derive(Debug)]
pub struct HookOutcome {
    /// The hook's name.
    pub hook: String,
    /// What happened.
    pub result: Result<Delivery, NotifyError>,
}

/// Delivers alert messages to the configured webhooks. Cheap to clone (the HTTP client's
/// connection pool is shared).
#[derive(Clone)]
pub struct Notifier {
    hooks: Vec<Hook>,
    client: reqwest::Client,
    options: NotifyOptions,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("hooks", &self.hooks)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Validates `hooks` and reads their secrets from the environment (`secret_env`),
    /// with default [`NotifyOptions`].
    ///
    /// Fails on the first invalid entry ([`NotifyError::InvalidConfig`]), on a duplicate
    /// name, or on a `secret_env` variable that is unset or empty
    /// ([`NotifyError::MissingSecret`]). An empty list is valid: nothing is sent.
    pub fn new(hooks: Vec<WebhookConfig>) -> Result<Notifier, NotifyError> {
        Notifier::with_options(hooks, NotifyOptions::default(), |var| {
            std::env::var(var).ok()
        })
    }

    /// Like [`Notifier::new`], with explicit options and a secret lookup (`secret_env`
    /// name → value) instead of the environment, e.g. for a secret store or for tests.
    pub fn with_options(
        hooks: Vec<WebhookConfig>,
        options: NotifyOptions,
        secrets: impl Fn(&str) -> Option<String>,
    ) -> Result<Notifier, NotifyError> {
        let mut resolved: Vec<Hook> = Vec::with_capacity(hooks.len());
        for config in &hooks {
            let hook = config.resolve(&secrets)?;
            if resolved.iter().any(|h| h.name == hook.name) {
                return Err(NotifyError::InvalidConfig {
                    hook: hook.name,
                    reason: "another webhook has the same name".into(),
                });
            }
            if hook.format == Format::Json {
                if let Some(secret) = &hook.secret {
                    if HeaderValue::from_str(&secret.0).is_err() {
                        return Err(NotifyError::InvalidConfig {
                            hook: hook.name,
                            reason: format!(
                                "the secret in `{}` cannot be sent in an HTTP header \
                                 (control or non-ASCII characters)",
                                config.secret_env.as_deref().unwrap_or("")
                            ),
                        });
                    }
                }
            }
            if hook.format == Format::Json && hook.secret.is_some() && hook.url.scheme() == "http" {
                tracing::warn!(
                    hook = %hook.name, host = %hook.host,
                    "webhook sends its secret header over plain http; use https"
                );
            }
            resolved.push(hook);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mindpulse-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Client(e.without_url().to_string()))?;
        Ok(Notifier {
            hooks: resolved,
            client,
            options,
        })
    }

    /// The configured hooks' names, in configuration order.
    pub fn hook_names(&self) -> impl Iterator<Item = &str> {
        self.hooks.iter().map(|h| h.name.as_str())
    }

    /// The hooks that want a message of this level (their `min_level` is at or below it),
    /// in configuration order. See [`Level::from_message_level`] for unknown levels.
    pub fn targets(&self, level: &str) -> Vec<&str> {
        let level = Level::from_message_level(level);
        self.hooks
            .iter()
            .filter(|h| h.min_level.is_none_or(|min| level >= min))
            .map(|h| h.name.as_str())
            .collect()
    }

    /// Delivers `msg` to every hook in [`Notifier::targets`] for its level, concurrently,
    /// and reports each hook's outcome (in configuration order).
    pub async fn deliver_all(&self, msg: &AlertMessage) -> Vec<HookOutcome> {
        let targets = self.targets(&msg.level);
        let futures = targets.iter().map(|name| async move {
            HookOutcome {
                hook: (*name).to_string(),
                result: self.deliver(name, msg).await,
            }
        });
        futures_util::future::join_all(futures).await
    }

    /// Delivers `msg` to the hook named `hook` (whatever its `min_level`: filtering is
    /// [`Notifier::targets`]' job), retrying as described in the module documentation.
    pub async fn deliver(&self, hook: &str, msg: &AlertMessage) -> Result<Delivery, NotifyError> {
        let hook = self
            .hooks
            .iter()
            .find(|h| h.name == hook)
            .ok_or_else(|| NotifyError::UnknownHook(hook.to_string()))?;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let failure = match self.attempt(hook, msg).await {
                Ok(status) => {
                    tracing::info!(
                        hook = %hook.name, host = %hook.host, status, attempts = attempt,
                        alert_id = msg.id, "alert notification delivered"
                    );
                    return Ok(Delivery {
                        attempts: attempt,
                        status,
                    });
                }
                Err(failure) => failure,
            };
            let retry_in = if attempt >= hook.max_attempts {
                None
            } else {
                self.retry_delay(&failure, attempt)
            };
            let error = failure.into_error(hook, attempt);
            match retry_in {
                Some(delay) => {
                    tracing::warn!(
                        hook = %hook.name, host = %hook.host, attempt, alert_id = msg.id,
                        retry_in_ms = delay.as_millis() as u64, error = %error,
                        "alert notification failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => {
                    tracing::warn!(
                        hook = %hook.name, host = %hook.host, attempts = attempt,
                        alert_id = msg.id, error = %error, "alert notification failed"
                    );
                    return Err(error);
                }
            }
        }
    }

    /// How long to wait before the next attempt, or `None` not to retry.
    fn retry_delay(&self, failure: &Failure, attempt: u32) -> Option<Duration> {
        if !failure.retryable() {
            return None;
        }
        if let Failure::Status {
            retry_after: Some(after),
            ..
        } = failure
        {
            // Honour the server's wish up to the cap; beyond it, leave it to the next scan.
            return (*after <= self.options.backoff_cap).then_some(*after);
        }
        Some(backoff(
            self.options.backoff_base,
            self.options.backoff_cap,
            attempt,
        ))
    }

    /// One HTTP request; `Ok(status)` on success.
    async fn attempt(&self, hook: &Hook, msg: &AlertMessage) -> Result<u16, Failure> {
        let request = self.build_request(hook, msg)?;
        match tokio::time::timeout(hook.timeout, exchange(&self.client, request)).await {
            Err(_elapsed) => Err(Failure::Timeout),
            Ok(Err(e)) if e.is_timeout() => Err(Failure::Timeout),
            Ok(Err(e)) => Err(Failure::Transport(scrub(&error_chain(e), hook))),
            Ok(Ok((status, retry_after, body))) => {
                if !(200..300).contains(&status) {
                    return Err(Failure::Status {
                        status,
                        detail: truncate(&scrub(&String::from_utf8_lossy(&body), hook)),
                        retry_after,
                    });
                }
                match format::body_error(hook.format, &body) {
                    Some((code, message)) => Err(Failure::Rejected {
                        code,
                        message: truncate(&scrub(&message, hook)),
                    }),
                    None => Ok(status),
                }
            }
        }
    }

    /// The request for one attempt (signatures use the current time, so they are fresh
    /// on every retry).
    fn build_request(&self, hook: &Hook, msg: &AlertMessage) -> Result<reqwest::Request, Failure> {
        let now = chrono::Utc::now();
        let secret = hook.secret.as_ref().map(|s| s.0.as_str());
        let feishu_sig = match (hook.format, secret) {
            (Format::Feishu, Some(secret)) => Some(FeishuSignature {
                timestamp_secs: now.timestamp(),
                sign: sign::feishu_sign(now.timestamp(), secret),
            }),
            _ => None,
        };
        let body = format::render(hook.format, msg, feishu_sig.as_ref())
            .map_err(|e| Failure::Encode(e.to_string()))?;
        let mut url = hook.url.clone();
        if let (Format::Dingtalk, Some(secret)) = (hook.format, secret) {
            let ts = now.timestamp_millis();
            url.query_pairs_mut()
                .append_pair("timestamp", &ts.to_string())
                .append_pair("sign", &sign::dingtalk_sign(ts, secret));
        }
        let mut builder = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json; charset=utf-8");
        if let (Format::Json, Some(secret)) = (hook.format, secret) {
            let ts = now.timestamp();
            let mut secret_value = HeaderValue::from_str(secret)
                .map_err(|_| Failure::Encode("secret header".into()))?;
            secret_value.set_sensitive(true);
            builder = builder
                .header(hook.secret_header.clone(), secret_value)
                .header(TIMESTAMP_HEADER, ts.to_string())
                .header(SIGNATURE_HEADER, sign::json_signature(ts, &body, secret));
        }
        builder
            .body(body)
            .build()
            .map_err(|e| Failure::Encode(scrub(&error_chain(e), hook)))
    }
}

/// Sends the request and reads at most [`MAX_RESPONSE_BYTES`] of the answer.
async fn exchange(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<(u16, Option<Duration>, Vec<u8>), reqwest::Error> {
    let mut response = client.execute(request).await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let mut body = Vec::new();
    while body.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    body.truncate(MAX_RESPONSE_BYTES);
    Ok((status, retry_after, body))
}

/// What went wrong in one attempt (turned into a [`NotifyError`] with the hook's name).
#[derive(Debug)]
enum Failure {
    Timeout,
    Transport(String),
    Status {
        status: u16,
        detail: String,
        retry_after: Option<Duration>,
    },
    Rejected {
        code: i64,
        message: String,
    },
    Encode(String),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Failure::Timeout | Failure::Transport(_) => true,
            Failure::Status { status, .. } => retryable_status(*status),
            Failure::Rejected { .. } | Failure::Encode(_) => false,
        }
    }

    fn into_error(self, hook: &Hook, attempts: u32) -> NotifyError {
        let (name, host) = (hook.name.clone(), hook.host.clone());
        match self {
            Failure::Timeout => NotifyError::Timeout {
                hook: name,
                host,
                timeout: hook.timeout,
                attempts,
            },
            Failure::Transport(detail) => NotifyError::Transport {
                hook: name,
                host,
                attempts,
                detail,
            },
            Failure::Status {
                status,
                detail,
                retry_after,
            } => NotifyError::Status {
                hook: name,
                host,
                status,
                attempts,
                detail,
                retry_after,
            },
            Failure::Rejected { code, message } => NotifyError::Rejected {
                hook: name,
                host,
                code,
                message,
                attempts,
            },
            Failure::Encode(reason) => NotifyError::Encode { hook: name, reason },
        }
    }
}

/// HTTP statuses worth retrying: 408, 429 and 5xx.
pub(crate) fn retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// `min(base · 2^(attempt-1), cap)`, drawn uniformly from its upper half.
fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(20);
    let full = base.saturating_mul(factor).min(cap);
    let half = full / 2;
    let extra = full.saturating_sub(half);
    if extra.is_zero() {
        return full;
    }
    half + extra.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
}

/// `Retry-After` as delay-seconds or an HTTP-date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A transport error and its causes, without the URL.
fn error_chain(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Replaces the hook's secret and the token-bearing parts of its URL (path segments and
/// query values of 6 characters or more, and the whole URL) with `***`.
fn scrub(text: &str, hook: &Hook) -> String {
    let mut out = text.replace(hook.url.as_str(), "***");
    if let Some(secret) = &hook.secret {
        out = out.replace(&secret.0, "***");
    }
    let mut parts: Vec<String> = hook
        .url
        .path_segments()
        .map(|segs| segs.map(str::to_string).collect())
        .unwrap_or_default();
    parts.extend(hook.url.query_pairs().map(|(_, v)| v.into_owned()));
    if let Some(query) = hook.url.query() {
        parts.push(query.to_string());
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for part in parts.iter().filter(|p| p.len() >= 6) {
        out = out.replace(part.as_str(), "***");
    }
    out
}

/// At most [`MAX_DETAIL_CHARS`] characters, whitespace collapsed.
fn truncate(text: &str) -> String {
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = collapsed.chars().take(MAX_DETAIL_CHARS).collect();
    if collapsed.chars().count() > MAX_DETAIL_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(1000);
        for _ in 0..50 {
            let d1 = backoff(base, cap, 1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= base);
            let d3 = backoff(base, cap, 3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d9 = backoff(base, cap, 9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= cap);
        }
        assert_eq!(backoff(Duration::ZERO, cap, 4), Duration::ZERO);
        assert!(backoff(base, cap, u32::MAX) <= cap);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 410, 422] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn scrub_removes_tokens_and_secret() {
        let config = WebhookConfig {
            name: "ding".into(),
            url: "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456".into(),
            format: Format::Dingtalk,
            secret_env: Some("S".into()),
            secret_header: None,
            timeout_secs: None,
            max_attempts: None,
            min_level: None,
        };
        let hook = config
            .resolve(&|_| Some("SECsupersecret".to_string()))
            .expect("valid");
        let text = "token abcdef123456 secret SECsupersecret url \
                    https://oapi.dingtalk.com/robot/send?access_token=abcdef123456";
        let out = scrub(text, &hook);
        assert!(!out.contains("abcdef123456"), "{out}");
        assert!(!out.contains("SECsupersecret"), "{out}");
        assert_eq!(
            truncate(&"x ".repeat(500)).chars().count(),
            MAX_DETAIL_CHARS + 1
        );
    }
}
