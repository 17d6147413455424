//! # mindpulse-notify: alert notifications over webhooks
//!
//! When `mindpulse alerts scan` finds a new alert, the monitoring team should hear about it
//! where they already are: a Feishu/Lark or DingTalk group, a Slack channel, or their own
//! service. This crate does the delivery. It knows nothing of the database or of the
//! scanner: the caller turns an alert into an [`AlertMessage`], asks a [`Notifier`] to
//! deliver it, and records the per-hook outcome in its outbox (undelivered notifications
//! are retried on the next scan).
//!
//! ## Configuration
//!
//! Webhooks are `[[alerts.webhooks]]` entries of mindpulse.toml; each deserializes into a
//! [`WebhookConfig`] (unknown keys are rejected):
//!
//! ```toml
//! [[alerts.webhooks]]
//! name = "oncall-feishu"                 # unique; used in logs and errors
//! url = "https://open.feishu.cn/open-apis/bot/v2/hook/xxxxxxxx-xxxx"
//! format = "feishu"                      # "json" | "feishu" | "dingtalk" | "slack"
//! secret_env = "MINDPULSE_FEISHU_SECRET" # NAME of the env var holding the signing secret
//! min_level = "alert"                    # "warning" | "alert"; default: every level
//!
//! [[alerts.webhooks]]
//! name = "ops-dingtalk"
//! url = "https://oapi.dingtalk.com/robot/send?access_token=xxxxxxxx"
//! format = "dingtalk"
//! secret_env = "MINDPULSE_DINGTALK_SECRET" # the robot's "加签" secret (SEC…)
//! timeout_secs = 5                       # per attempt, 1–300 (default 10)
//! max_attempts = 4                       # attempts in all, 1–10 (default 3)
//!
//! [[alerts.webhooks]]
//! name = "research-slack"
//! url = "https://hooks.slack.com/services/T000/B000/xxxxxxxx"
//! format = "slack"                       # no secret: the token is the URL
//!
//! [[alerts.webhooks]]
//! name = "internal"
//! url = "https://alerts.example.org/mindpulse"
//! format = "json"
//! secret_env = "MINDPULSE_WEBHOOK_SECRET"
//! secret_header = "X-Mindpulse-Secret"   # the default; json only
//! ```
//!
//! Secrets never go in the file: `secret_env` names the environment variable that holds
//! one. The URLs of Slack, Feishu and DingTalk hooks contain access tokens too, so treat
//! the file as sensitive; this crate never logs more of a URL than its host, and the
//! `Debug` output of its configuration types never shows a URL's path or a secret.
//!
//! | format     | body                                              | with a secret                                                   |
//! |------------|---------------------------------------------------|-----------------------------------------------------------------|
//! | `json`     | the [`AlertMessage`] fields + `"kind": "mindpulse.alert"`, `"version": 1` | `X-Mindpulse-Secret: <secret>`, `X-Mindpulse-Timestamp`, `X-Mindpulse-Signature: sha256=<hex HMAC of "{ts}.{body}">` |
//! | `feishu`   | `msg_type = "post"` rich text                     | `timestamp` + `sign` in the body (Feishu's signing)             |
//! | `dingtalk` | `msgtype = "markdown"`                            | `timestamp` + `sign` in the query (DingTalk's signing)          |
//! | `slack`    | `{"text": …}` in mrkdwn                           | not used                                                        |
//!
//! The platform rules and their sources are in [`format`](mod@crate::format) and
//! [`sign`](mod@crate::sign).
//!
//! ## Delivery
//!
//! ```no_run
//! # async fn run(configs: Vec<mindpulse_notify::WebhookConfig>, msg: mindpulse_notify::AlertMessage)
//! # -> Result<(), mindpulse_notify::NotifyError> {
//! use mindpulse_notify::Notifier;
//!
//! let notifier = Notifier::new(configs)?; // validates, reads the secrets from the environment
//! for outcome in notifier.deliver_all(&msg).await {
//!     match outcome.result {
//!         Ok(delivery) => println!("{}: delivered in {} attempt(s)", outcome.hook, delivery.attempts),
//!         Err(e) if e.is_transient() => println!("{}: keep in the outbox: {e}", outcome.hook),
//!         Err(e) => println!("{}: will not succeed as configured: {e}", outcome.hook),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Each attempt is bounded by the hook's `timeout_secs`; timeouts, connection errors,
//! 408, 429 and 5xx are retried with exponential backoff and jitter (1 s, 2 s, … capped at
//! 30 s, see [`NotifyOptions`]), honouring `Retry-After` up to the cap. Other 4xx and a
//! Feishu/DingTalk error code inside an HTTP 200 are failures at once. Nothing panics, and
//! every call finishes.

pub mod config;
pub mod deliver;
pub mod error;
pub mod format;
pub mod message;
pub mod sign;

pub use config::{Format, Level, WebhookConfig};
pub use deliver::{Delivery, HookOutcome, Notifier, NotifyOptions};
pub use error::NotifyError;
pub use message::AlertMessage;
