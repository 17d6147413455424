//! Errors of configuration and delivery, each naming the webhook it concerns.
//!
//! No variant ever carries a secret or a webhook's full URL (Slack, DingTalk and Feishu
//! embed their tokens in it): transport errors are stored as text taken from
//! [`reqwest::Error::without_url`], and response bodies are truncated and scrubbed of the
//! secret and of the URL's path and query before they are kept.

use std::time::Duration;

/// Why a notifier could not be built or a notification could not be delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// A `[[alerts.webhooks]]` entry is invalid (bad URL, unknown option for its format, …).
    #[error("webhook `{hook}`: invalid configuration: {reason}")]
    InvalidConfig {
        /// The hook's `name` (or `#<index>` when the name itself is missing).
        hook: String,
        /// What is wrong, in words.
        reason: String,
    },

    /// `secret_env` names an environment variable that is unset, empty or not UTF-8.
    #[error(
        "webhook `{hook}`: environment variable `{var}` (secret_env) is not set or empty; \
         export the secret there, or remove secret_env"
    )]
    MissingSecret {
        /// The hook's name.
        hook: String,
        /// The name of the environment variable (never its value).
        var: String,
    },

    /// [`crate::Notifier::deliver`] was asked for a hook that was not configured.
    #[error("no webhook named `{0}` is configured")]
    UnknownHook(String),

    /// The HTTP client could not be created (TLS backend initialisation).
    #[error("cannot create the HTTP client: {0}")]
    Client(String),

    /// The request body could not be encoded.
    #[error("webhook `{hook}`: cannot encode the message: {reason}")]
    Encode {
        /// The hook's name.
        hook: String,
        /// The encoder's message.
        reason: String,
    },

    /// Every attempt ran past the hook's `timeout_secs` (or the last one did).
    #[error(
        "webhook `{hook}` ({host}): no answer within {timeout:?} (after {attempts} attempt(s))"
    )]
    Timeout {
        /// The hook's name.
        hook: String,
        /// The host the hook posts to.
        host: String,
        /// The per-attempt timeout.
        timeout: Duration,
        /// How many attempts were made.
        attempts: u32,
    },

    /// Connecting or sending failed (refused, reset, DNS, TLS, …) on the last attempt.
    #[error("webhook `{hook}` ({host}): request failed after {attempts} attempt(s): {detail}")]
    Transport {
        /// The hook's name.
        hook: String,
        /// The host the hook posts to.
        host: String,
        /// How many attempts were made.
        attempts: u32,
        /// The transport error, without its URL.
        detail: String,
    },

    /// The server answered with a non-2xx status on the last attempt.
    #[error(
        "webhook `{hook}` ({host}): HTTP {status} after {attempts} attempt(s){}",
        fmt_detail(detail)
    )]
    Status {
        /// The hook's name.
        hook: String,
        /// The host the hook posts to.
        host: String,
        /// The HTTP status code.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
        /// The start of the response body (scrubbed, at most 200 characters).
        detail: String,
        /// The server's `Retry-After`, when it sent one (429 / 503).
        retry_after: Option<Duration>,
    },

    /// Feishu/Lark or DingTalk answered HTTP 2xx with a non-zero error code in the body
    /// (e.g. Feishu `{"code":19021,…}` bad signature, DingTalk `{"errcode":310000,…}`).
    #[error("webhook `{hook}` ({host}): rejected by the platform with code {code} after {attempts} attempt(s){}", fmt_detail(message))]
    Rejected {
        /// The hook's name.
        hook: String,
        /// The host the hook posts to.
        host: String,
        /// The platform's error code.
        code: i64,
        /// The platform's error message (scrubbed, at most 200 characters).
        message: String,
        /// How many attempts were made.
        attempts: u32,
    },
}

fn fmt_detail(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl NotifyError {
    /// The name of the hook this error concerns, when it concerns one.
    pub fn hook(&self) -> Option<&str> {
        match self {
            NotifyError::InvalidConfig { hook, .. }
            | NotifyError::MissingSecret { hook, .. }
            | NotifyError::Encode { hook, .. }
            | NotifyError::Timeout { hook, .. }
            | NotifyError::Transport { hook, .. }
            | NotifyError::Status { hook, .. }
            | NotifyError::Rejected { hook, .. } => Some(hook),
            NotifyError::UnknownHook(hook) => Some(hook),
            NotifyError::Client(_) => None,
        }
    }

    /// Whether trying the same notification again later (the next scan) may succeed.
    ///
    /// `false` for configuration problems, 4xx answers other than 408/429 and platform
    /// rejections other than rate limits: retrying those unchanged will fail again, so an
    /// outbox may give up on them (or keep them for a human to look at).
    pub fn is_transient(&self) -> bool {
        match self {
            NotifyError::Timeout { .. } | NotifyError::Transport { .. } => true,
            NotifyError::Status { status, .. } => crate::deliver::retryable_status(*status),
            NotifyError::Rejected { code, .. } => crate::format::rate_limited_code(*code),
            NotifyError::InvalidConfig { .. }
            | NotifyError::MissingSecret { .. }
            | NotifyError::UnknownHook(_)
            | NotifyError::Client(_)
            | NotifyError::Encode { .. } => false,
        }
    }

    /// How many HTTP attempts were made before this error (0 when none was).
    pub fn attempts(&self) -> u32 {
        match self {
            NotifyError::Timeout { attempts, .. }
            | NotifyError::Transport { attempts, .. }
            | NotifyError::Status { attempts, .. }
            | NotifyError::Rejected { attempts, .. } => *attempts,
            _ => 0,
        }
    }
}
