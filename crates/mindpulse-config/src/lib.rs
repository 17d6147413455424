//! The configuration file, `mindpulse.toml`: its sections, how it is read, and what makes
//! it invalid.
//!
//! Precedence (applied by the binary): command-line flag > `MINDPULSE_*` environment
//! variable > config file > built-in default. Unknown keys are an error, so a typo does not
//! silently do nothing, and every value is checked when the file is loaded — a negative
//! delay, a time zone that does not exist or a cron expression that does not parse is reported
//! with the file and the setting's name before any command starts its work. The crawler
//! sections (`[crawl]`, `[weibo]`, `[mastodon]`, `[schedule]`) are defined next to the code
//! that runs them, in `mindpulse-crawl`; the scoring ones here, with the LLM settings they
//! turn into.
//!
//! [`Config::parse`] is also a fuzz target (`mindpulse-fuzz`): no file makes it panic.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The I/O error is part of the message, not a `source`, so a report prints it once.
    #[error("cannot read config file {path}: {reason}")]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("invalid config file {path}: {setting}: {reason}")]
    Invalid {
        path: PathBuf,
        setting: String,
        reason: String,
    },
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub db: DbConfig,
    #[serde(default)]
    pub pseudonym: PseudonymConfig,
    #[serde(default)]
    pub import: ImportConfig,
    /// Crawler politeness (`[crawl]`), sites (`[weibo]`, `[mastodon]`) and jobs (`[schedule]`).
    #[serde(default)]
    pub crawl: mindpulse_crawl::Politeness,
    #[serde(default)]
    pub weibo: mindpulse_crawl::WeiboConfig,
    #[serde(default)]
    pub mastodon: mindpulse_crawl::MastodonConfig,
    #[serde(default)]
    pub schedule: mindpulse_crawl::ScheduleConfig,
    /// Scoring: defaults of `mindpulse score`, and what crawls and `schedule` score new posts
    /// with (`[score]`, `[score.llm]`).
    #[serde(default)]
    pub score: ScoreConfig,
    /// `mindpulse trends` defaults (`[trends]`).
    #[serde(default)]
    pub trends: TrendsConfig,
    /// The time zone of dates on the command line and of by-day views (`[time]`).
    #[serde(default)]
    pub time: TimeConfig,
    /// Alert rules and webhooks (`[alerts]`, `[[alerts.rules]]`, `[[alerts.webhooks]]`).
    #[serde(default)]
    pub alerts: AlertsConfig,
}

/// `[alerts]`: what `mindpulse alerts scan` watches and whom it tells. The rules are defined
/// next to the detectors (`mindpulse-detect`), the webhooks next to their delivery
/// (`mindpulse-notify`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Example posts stored with each alert (default 5; 0 for none).
    pub examples: Option<u32>,
    /// Without rules, volume and every population dimension are watched with the EWMA by day.
    #[serde(default)]
    pub rules: Vec<mindpulse_detect::Rule>,
    #[serde(default)]
    pub webhooks: Vec<mindpulse_notify::WebhookConfig>,
}

/// `[time]`: one rule for dates. Times are stored in UTC; every `--since`/`--until` day
/// and every by-day view (trends, stats) is read in `zone`, printed in each header.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeConfig {
    /// IANA time zone name (default UTC; a Weibo-first setup uses `Asia/Shanghai`).
    pub zone: Option<String>,
}

impl Config {
    /// The configured time zone name: `[time] zone`, else the older `[trends] tz`, else
    /// `UTC`. Validated at load, so it parses.
    pub fn time_zone(&self) -> &str {
        self.time
            .zone
            .as_deref()
            .or(self.trends.tz.as_deref())
            .unwrap_or("UTC")
    }
}

/// `[trends]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendsConfig {
    /// Cells with fewer posts are suppressed (default 10).
    pub min_cell: Option<u64>,
    /// Older name of `[time] zone`, still read when `[time] zone` is not set.
    pub tz: Option<String>,
    /// `acc` (default) or `pacc`.
    pub method: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbConfig {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymConfig {
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    pub batch_size: Option<usize>,
    pub redact_urls: Option<bool>,
    pub keep_raw: Option<bool>,
}

/// `[score]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreConfig {
    /// The scorers crawls and `schedule` run on the posts they collect: `heads`, `llm`
    /// (`[]`: store them unscored). Default `["heads"]`.
    #[serde(default = "default_scorers")]
    pub scorers: Vec<String>,
    /// Posts per claimed batch (default 256 for the heads, 16 for the LLM).
    pub batch_size: Option<usize>,
    /// Encoder threads of the heads (0: all cores).
    pub threads: Option<usize>,
    /// How long a claimed batch stays a worker's without a renewal (default 300 s).
    pub lease_secs: Option<f64>,
    /// Heads directory (default: the heads built into the binary).
    pub heads: Option<PathBuf>,
    #[serde(default)]
    pub llm: LlmConfig,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            scorers: default_scorers(),
            batch_size: None,
            threads: None,
            lease_secs: None,
            heads: None,
            llm: LlmConfig::default(),
        }
    }
}

fn default_scorers() -> Vec<String> {
    vec!["heads".into()]
}

/// `[score.llm]`: the LLM scorer the crawler runs when `scorers` names `llm` (the flags of
/// `mindpulse score --scorer llm` have the same names).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    pub backend: Option<mindpulse_llm_scorer::BackendKind>,
    pub model: Option<String>,
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key (default MINDPULSE_LLM_API_KEY).
    pub api_key_env: Option<String>,
    pub concurrency: Option<usize>,
    pub timeout_secs: Option<f64>,
    pub retries: Option<u32>,
    pub parse_retries: Option<u32>,
    pub fast: Option<bool>,
    pub threads: Option<usize>,
    pub max_tokens: Option<u32>,
    pub prompt_version: Option<String>,
}

impl LlmConfig {
    /// The settings this section describes, the defaults filling the rest.
    pub fn settings(&self) -> mindpulse_llm_scorer::LlmSettings {
        let d = mindpulse_llm_scorer::LlmSettings::default();
        let api_key_env = self.api_key_env.clone().unwrap_or(d.api_key_env);
        mindpulse_llm_scorer::LlmSettings {
            backend: self.backend.unwrap_or(d.backend),
            model: self.model.clone().or(d.model),
            base_url: self.base_url.clone().or(d.base_url),
            api_key: std::env::var(&api_key_env)
                .ok()
                .filter(|k| !k.trim().is_empty()),
            api_key_env,
            concurrency: self.concurrency.unwrap_or(d.concurrency).max(1),
            timeout: self
                .timeout_secs
                .map(|s| std::time::Duration::from_secs_f64(s.max(0.1)))
                .unwrap_or(d.timeout),
            retries: self.retries.unwrap_or(d.retries),
            parse_retries: self.parse_retries.unwrap_or(d.parse_retries),
            response_format: d.response_format,
            fast: self.fast.unwrap_or(d.fast),
            threads: self.threads.unwrap_or(d.threads),
            max_tokens: self.max_tokens.unwrap_or(d.max_tokens),
            prompt_version: self.prompt_version.clone().unwrap_or(d.prompt_version),
        }
    }
}

/// Default config file looked for in the working directory.
pub const DEFAULT_CONFIG: &str = "mindpulse.toml";

/// A setting that is out of range: its name as written in the file, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSetting {
    pub setting: String,
    pub reason: String,
}

fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> InvalidSetting {
    InvalidSetting {
        setting: setting.into(),
        reason: reason.into(),
    }
}

/// A number of seconds or minutes that must be finite and above zero.
fn positive(setting: &str, value: Option<f64>) -> Result<(), InvalidSetting> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0) => {
            Err(invalid(setting, format!("{v} is not a positive number")))
        }
        _ => Ok(()),
    }
}

/// A count that must be at least 1.
fn at_least_one(setting: &str, value: Option<usize>) -> Result<(), InvalidSetting> {
    match value {
        Some(0) => Err(invalid(setting, "must be at least 1")),
        _ => Ok(()),
    }
}

impl Config {
    /// Loads `path`, or `./mindpulse.toml` when no path is given and it exists, and checks
    /// every value ([`Config::validate`]).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG), false),
        };
        if !required && !path.exists() {
            return Ok(Config::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|reason| ConfigError::Read {
            path: path.clone(),
            reason,
        })?;
        Config::parse(&text).map_err(|e| match e {
            ParseError::Syntax(message) => ConfigError::Syntax { path, message },
            ParseError::Invalid(InvalidSetting { setting, reason }) => ConfigError::Invalid {
                path,
                setting,
                reason,
            },
        })
    }

    /// Parses the text of a config file and checks every value.
    pub fn parse(text: &str) -> Result<Config, ParseError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ParseError::Syntax(e.message().to_string()))?;
        config.validate().map_err(ParseError::Invalid)?;
        Ok(config)
    }

    /// Checks the values serde cannot: ranges, names, time zones, cron expressions.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        self.crawl
            .validate()
            .map_err(|reason| invalid("[crawl]", reason))?;
        positive("[weibo] budget_minutes", Some(self.weibo.budget_minutes))?;
        positive(
            "[mastodon] budget_minutes",
            Some(self.mastodon.budget_minutes),
        )?;
        for (i, job) in self.schedule.jobs.iter().enumerate() {
            let name = format!("[[schedule.jobs]] #{} ({:?})", i + 1, job.name);
            mindpulse_crawl::cron::Cron::parse(&job.cron)
                .map_err(|e| invalid(format!("{name} cron"), e.to_string()))?;
            match job.kind.as_str() {
                "weibo" => {}
                "mastodon" if job.tag.is_some() => {}
                "mastodon" => {
                    return Err(invalid(
                        format!("{name} tag"),
                        "a mastodon job needs a tag (and an instance)",
                    ))
                }
                other => {
                    return Err(invalid(
                        format!("{name} kind"),
                        format!("{other:?}: expected \"weibo\" or \"mastodon\""),
                    ))
                }
            }
            positive(&format!("{name} max_minutes"), job.max_minutes)?;
        }
        at_least_one("[import] batch_size", self.import.batch_size)?;
        for name in &self.score.scorers {
            if !matches!(name.trim().to_ascii_lowercase().as_str(), "heads" | "llm") {
                return Err(invalid(
                    "[score] scorers",
                    format!("unknown scorer {name:?} (expected \"heads\" or \"llm\")"),
                ));
            }
        }
        at_least_one("[score] batch_size", self.score.batch_size)?;
        positive("[score] lease_secs", self.score.lease_secs)?;
        positive("[score.llm] timeout_secs", self.score.llm.timeout_secs)?;
        at_least_one("[score.llm] concurrency", self.score.llm.concurrency)?;
        if let Some(tz) = &self.trends.tz {
            tz.parse::<chrono_tz::Tz>().map_err(|_| {
                invalid(
                    "[trends] tz",
                    format!("{tz:?} is not an IANA time zone name (e.g. UTC, Asia/Shanghai)"),
                )
            })?;
        }
        if let Some(tz) = &self.time.zone {
            tz.parse::<chrono_tz::Tz>().map_err(|_| {
                invalid(
                    "[time] zone",
                    format!("{tz:?} is not an IANA time zone name (e.g. UTC, Asia/Shanghai)"),
                )
            })?;
        }
        mindpulse_detect::check_rules(&self.alerts.rules)
            .map_err(|(setting, reason)| invalid(setting, reason))?;
        let mut hooks = std::collections::BTreeSet::new();
        for (i, hook) in self.alerts.webhooks.iter().enumerate() {
            let at = format!("[[alerts.webhooks]] #{} ({:?})", i + 1, hook.name);
            hook.validate()
                .map_err(|e| invalid(at.clone(), e.to_string()))?;
            if !hooks.insert(hook.name.as_str()) {
                return Err(invalid(
                    format!("{at} name"),
                    "another webhook has this name",
                ));
            }
        }
        if let Some(m) = &self.trends.method {
            if m != "acc" && m != "pacc" {
                return Err(invalid(
                    "[trends] method",
                    format!("{m:?}: expected \"acc\" or \"pacc\""),
                ));
            }
        }
        if self.trends.min_cell == Some(0) {
            return Err(invalid("[trends] min_cell", "must be at least 1"));
        }
        Ok(())
    }
}

/// Why a config text cannot be used (without the file's name: see [`ConfigError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not TOML, an unknown key, or a value of the wrong type.
    Syntax(String),
    Invalid(InvalidSetting),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_unknown_keys() {
        let c: Config =
            toml::from_str("[db]\nurl = \"postgres://u@h/db\"\n[import]\nbatch_size = 10\n")
                .unwrap();
        assert_eq!(c.db.url.as_deref(), Some("postgres://u@h/db"));
        assert_eq!(c.import.batch_size, Some(10));
        assert!(toml::from_str::<Config>("[db]\nurll = 1\n").is_err());
    }

    #[test]
    fn values_out_of_range_name_their_setting() {
        let bad = [
            ("[crawl]\ndelay_secs = -5\n", "[crawl]"),
            ("[trends]\ntz = \"Mars/Olympus\"\n", "[trends] tz"),
            ("[time]\nzone = \"Asia/Pyongyang2\"\n", "[time] zone"),
            ("[trends]\nmethod = \"magic\"\n", "[trends] method"),
            (
                "[score]\nscorers = [\"heads\", \"oracle\"]\n",
                "[score] scorers",
            ),
            ("[score]\nlease_secs = 0\n", "[score] lease_secs"),
            (
                "[score.llm]\ntimeout_secs = nan\n",
                "[score.llm] timeout_secs",
            ),
            ("[import]\nbatch_size = 0\n", "[import] batch_size"),
            (
                "[[schedule.jobs]]\ncron = \"61 * * * *\"\n",
                "#1 (\"weibo\") cron",
            ),
            ("[[schedule.jobs]]\nkind = \"mastodon\"\n", "tag"),
            ("[[schedule.jobs]]\nkind = \"twitter\"\n", "kind"),
        ];
        for (text, setting) in bad {
            match Config::parse(text) {
                Err(ParseError::Invalid(e)) => {
                    assert!(e.setting.contains(setting), "{text:?} -> {e:?}")
                }
                other => panic!("{text:?} -> {other:?}"),
            }
        }
        assert!(Config::parse("[trends]\ntz = \"Asia/Shanghai\"\nmethod = \"pacc\"\n").is_ok());
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, "[crawl]\ntimeout_secs = -1\n").unwrap();
        let e = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(e.contains("m.toml") && e.contains("timeout"), "{e}");
        std::fs::write(&path, "[db]\nurll = 1\n").unwrap();
        let e = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(e.contains("m.toml") && e.contains("urll"), "{e}");
        let e = Config::load(Some(&dir.path().join("none.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read config file"), "{e}");
        // The cause is printed once, in the message.
        let e = Config::load(Some(&dir.path().join("none.toml"))).unwrap_err();
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn score_section_defaults_to_the_heads() {
        let c: Config = toml::from_str("").unwrap();
        assert_eq!(c.score.scorers, vec!["heads".to_string()]);
        let c: Config = toml::from_str(
            "[score]\nscorers = [\"heads\", \"llm\"]\nlease_secs = 60\n[score.llm]\nbackend = \"openai\"\nmodel = \"qwen\"\nbase_url = \"http://127.0.0.1:8000/v1\"\n",
        )
        .unwrap();
        assert_eq!(c.score.scorers.len(), 2);
        let s = c.score.llm.settings();
        assert_eq!(s.backend, mindpulse_llm_scorer::BackendKind::Openai);
        assert_eq!(s.model.as_deref(), Some("qwen"));
        assert!(toml::from_str::<Config>("[score]\nscorer = []\n").is_err());
    }
}
