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
}
