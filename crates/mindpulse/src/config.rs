//! The configuration file (`mindpulse.toml`) and how it combines with flags and env.
//!
//! Precedence: command-line flag > `MINDPULSE_*` environment variable > config file >
//! built-in default. Unknown keys are an error, so a typo does not silently do nothing.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

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
}

/// `[trends]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendsConfig {
    /// Cells with fewer posts are suppressed (default 10).
    pub min_cell: Option<u64>,
    /// Time zone of buckets and dates (IANA name; default UTC).
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

impl Config {
    /// Loads `path`, or `./mindpulse.toml` when no path is given and it exists.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG), false),
        };
        if !required && !path.exists() {
            return Ok(Config::default());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let config: Config = toml::from_str(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        Ok(config)
    }
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
