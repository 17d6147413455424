//! The `[[alerts.webhooks]]` entries of mindpulse.toml: a pure, serde-deserializable
//! [`WebhookConfig`], and its validation.
//!
//! The configuration never holds a secret, only the *name* of the environment variable
//! that does (`secret_env`). Its `Debug` output shows the URL's scheme and host only,
//! because chat platforms embed their access tokens in the path or query.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error::NotifyError;

/// Default per-attempt timeout (`timeout_secs`).
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// Default number of attempts, the first included (`max_attempts`).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default header carrying the shared secret for `format = "json"` (`secret_header`).
pub const DEFAULT_SECRET_HEADER: &str = "X-Mindpulse-Secret";
/// Largest accepted `timeout_secs`.
pub const MAX_TIMEOUT_SECS: u64 = 300;
/// Largest accepted `max_attempts`.
pub const MAX_ATTEMPTS_LIMIT: u32 = 10;

/// The body a webhook expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The alert as JSON (`kind = "mindpulse.alert"`, `version = 1`); with a secret,
    /// `X-Mindpulse-Timestamp` and `X-Mindpulse-Signature` (HMAC-SHA256) headers.
    Json,
    /// Feishu / Lark custom bot (`msg_type = "post"`), signed in the body with a secret.
    Feishu,
    /// DingTalk custom robot (`msgtype = "markdown"`), signed in the query with a secret.
    Dingtalk,
    /// Slack incoming webhook (`{"text": …}` in mrkdwn); the token is in the URL.
    Slack,
}

impl Format {
    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Feishu => "feishu",
            Format::Dingtalk => "dingtalk",
            Format::Slack => "slack",
        }
    }

    /// Whether this format can use a secret (`secret_env`).
    pub fn uses_secret(self) -> bool {
        !matches!(self, Format::Slack)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Alert severity, ordered: `Warning < Alert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A deviation worth watching.
    Warning,
    /// A deviation that needs attention.
    Alert,
}

impl Level {
    /// Parses an alert's level (case-insensitive). Anything that is not `warning` counts
    /// as [`Level::Alert`], so that an unexpected level is never filtered out silently.
    pub fn from_message_level(level: &str) -> Level {
        if level.trim().eq_ignore_ascii_case("warning") {
            Level::Warning
        } else {
            Level::Alert
        }
    }
}

/// One `[[alerts.webhooks]]` entry.
///
/// Deserialize it from the `alerts.webhooks` array of mindpulse.toml; unknown keys are
/// rejected. See the crate documentation for an example.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique name, used in logs, errors and [`crate::Notifier::deliver`].
    pub name: String,
    /// The webhook URL (`http` or `https`). Treated as a credential: never logged whole.
    pub url: String,
    /// The body format the receiver expects.
    pub format: Format,
    /// Name of the environment variable holding the secret (Feishu/DingTalk signing key,
    /// or the shared secret of a `json` hook). Never put the secret itself in the file.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// `json` only: header that carries the secret (default `X-Mindpulse-Secret`).
    #[serde(default)]
    pub secret_header: Option<String>,
    /// Per-attempt timeout in seconds, 1–300 (default 10).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Attempts in all, the first included, 1–10 (default 3).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Lowest level sent to this hook (default: every level).
    #[serde(default)]
    pub min_level: Option<Level>,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("url", &RedactedUrl(&self.url))
            .field("format", &self.format)
            .field("secret_env", &self.secret_env)
            .field("secret_header", &self.secret_header)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_attempts", &self.max_attempts)
            .field("min_level", &self.min_level)
            .finish()
    }
}

/// Shows `scheme://host[:port]/…` of a URL, or `<invalid url>`.
struct RedactedUrl<'a>(&'a str);

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Url::parse(self.0) {
            Ok(url) => write!(f, "\"{}://{}/…\"", url.scheme(), host_of(&url)),
            Err(_) => f.write_str("<invalid url>"),
        }
    }
}

/// `host[:port]` of a URL, the only part of a webhook URL that may be logged.
pub(crate) fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// A secret value; its `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A validated hook with its secret resolved.
#[derive(Clone)]
pub(crate) struct Hook {
    pub(crate) name: String,
    pub(crate) url: Url,
    pub(crate) host: String,
    pub(crate) format: Format,
    pub(crate) secret: Option<Secret>,
    pub(crate) secret_header: reqwest::header::HeaderName,
    pub(crate) timeout: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) min_level: Option<Level>,
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hook")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("format", &self.format)
            .field("signed", &self.secret.is_some())
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("min_level", &self.min_level)
            .finish()
    }
}

impl WebhookConfig {
    /// Checks this entry without looking at the environment: name, URL scheme and host,
    /// options that do not apply to the format, ranges.
    pub fn validate(&self) -> Result<(), NotifyError> {
        self.check().map(|_| ())
    }

    fn invalid(&self, reason: impl Into<String>) -> NotifyError {
        NotifyError::InvalidConfig {
            hook: self.name.clone(),
            reason: reason.into(),
        }
    }

    /// Validates and returns the parsed URL and header name.
    fn check(&self) -> Result<(Url, reqwest::header::HeaderName), NotifyError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(self.invalid("`name` is empty"));
        }
        if name != self.name || self.name.chars().any(char::is_control) {
            return Err(self.invalid("`name` has leading/trailing spaces or control characters"));
        }
        // The URL is a credential: describe what is wrong without echoing it.
        let url = Url::parse(self.url.trim())
            .map_err(|e| self.invalid(format!("`url` is not a valid URL ({e})")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(self.invalid(format!(
                "`url` must start with http:// or https://, not {}://",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(self.invalid("`url` has no host"));
        }
        if let Some(var) = &self.secret_env {
            if !self.format.uses_secret() {
                return Err(self.invalid(format!(
                    "`secret_env` is not used by format \"{}\" (its token is part of the URL)",
                    self.format
                )));
            }
            if var.is_empty() || var.contains('=') || var.contains('\0') {
                return Err(self.invalid(
                    "`secret_env` must be the NAME of an environment variable, e.g. \
                     \"MINDPULSE_FEISHU_SECRET\" (not the secret itself)",
                ));
            }
        }
        if self.secret_header.is_some() {
            if self.format != Format::Json {
                return Err(self.invalid(format!(
                    "`secret_header` applies to format \"json\" only, not \"{}\"",
                    self.format
                )));
            }
            if self.secret_env.is_none() {
                return Err(self.invalid("`secret_header` is set but `secret_env` is not"));
            }
        }
        let header_name = self
            .secret_header
            .as_deref()
            .unwrap_or(DEFAULT_SECRET_HEADER);
        let header =
            reqwest::header::HeaderName::from_bytes(header_name.as_bytes()).map_err(|_| {
                self.invalid(format!(
                    "`secret_header` {header_name:?} is not a valid HTTP header name"
                ))
            })?;
        if let Some(t) = self.timeout_secs {
            if !(1..=MAX_TIMEOUT_SECS).contains(&t) {
                return Err(self.invalid(format!(
                    "`timeout_secs` must be between 1 and {MAX_TIMEOUT_SECS}, not {t}"
                )));
            }
        }
        if let Some(n) = self.max_attempts {
            if !(1..=MAX_ATTEMPTS_LIMIT).contains(&n) {
                return Err(self.invalid(format!(
                    "`max_attempts` must be between 1 and {MAX_ATTEMPTS_LIMIT}, not {n}"
                )));
            }
        }
        Ok((url, header))
    }

    /// Validates and resolves the secret through `lookup` (normally the environment).
    pub(crate) fn resolve(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Hook, NotifyError> {
        let (url, secret_header) = self.check()?;
        let secret = match &self.secret_env {
            None => None,
            Some(var) => match lookup(var) {
                Some(value) if !value.is_empty() => Some(Secret(value)),
                _ => {
                    return Err(NotifyError::MissingSecret {
                        hook: self.name.clone(),
                        var: var.clone(),
                    })
                }
            },
        };
        Ok(Hook {
            name: self.name.clone(),
            host: host_of(&url),
            url,
            format: self.format,
            secret,
            secret_header,
            timeout: Duration::from_secs(self.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)),
            max_attempts: self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS),
            min_level: self.min_level,
        })
    }
}
