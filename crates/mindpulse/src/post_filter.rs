//! The post-selection flags `export` and `stats` share, so that the same flags select the
//! same posts: a time window read in one time zone, platform, language, kind, topic
//! (with or without `#…#`) and duplicates.

use crate::zone::Zone;
use clap::{Args, ValueEnum};
use mindpulse_store::PostFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Post,
    Comment,
    Repost,
}

#[derive(Debug, Default, Args)]
pub struct PostFilterArgs {
    /// Only posts created at or after this day (YYYY-MM-DD, midnight in --tz), local time
    /// (YYYY-MM-DDTHH:MM in --tz) or RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only posts created before this day or time (exclusive; same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Time zone of --since/--until and of days (IANA name; default [time] zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Only posts of this platform (weibo, reddit, mastodon, …).
    #[arg(long)]
    pub platform: Option<String>,
    /// Only posts in this language (zh, en, …).
    #[arg(long)]
    pub lang: Option<String>,
    /// Only posts of this kind.
    #[arg(long, value_enum, ignore_case = true)]
    pub kind: Option<KindArg>,
    /// Only posts linked to this topic ('#失眠#', '#insomnia' or 失眠: the same topic).
    #[arg(long)]
    pub topic: Option<String>,
    /// Leave out posts flagged as exact or near duplicates of an earlier post.
    #[arg(long)]
    pub no_duplicates: bool,
}

impl PostFilterArgs {
    /// The zone and the store filter the flags describe.
    pub fn resolve(&self, config: &crate::config::Config) -> anyhow::Result<(Zone, PostFilter)> {
        let zone = Zone::resolve(self.tz.as_deref(), config)?;
        let bound = |flag: &str, v: &Option<String>| {
            v.as_deref().map(|s| zone.parse_bound(flag, s)).transpose()
        };
        let since = bound("--since", &self.since)?;
        let until = bound("--until", &self.until)?;
        if let (Some(s), Some(u)) = (since, until) {
            anyhow::ensure!(
                s < u,
                "--since {} is not before --until {}: the window is empty",
                self.since.as_deref().unwrap_or_default(),
                self.until.as_deref().unwrap_or_default()
            );
        }
        let topic = match self.topic.as_deref() {
            Some(t) => {
                let key = mindpulse_clean::topic_key(t);
                anyhow::ensure!(!key.is_empty(), "--topic {t:?} names no topic");
                Some(key.to_string())
            }
            None => None,
        };
        let filter = PostFilter {
            since,
            until,
            platform: self.platform.as_deref().map(|p| p.trim().to_string()),
            lang: self.lang.as_deref().map(|l| l.trim().to_ascii_lowercase()),
            region: None,
            kind: self.kind.map(|k| {
                match k {
                    KindArg::Post => "post",
                    KindArg::Comment => "comment",
                    KindArg::Repost => "repost",
                }
                .to_string()
            }),
            topic,
            discovered: None,
            no_duplicates: self.no_duplicates,
        };
        Ok((zone, filter))
    }

    /// The flags in use, as a command line would repeat them (`--platform weibo --lang zh`),
    /// for messages such as "no posts match".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut flag = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                parts.push(format!("--{name} {v}"));
            }
        };
        flag("since", &self.since);
        flag("until", &self.until);
        flag("platform", &self.platform);
        flag("lang", &self.lang);
        flag("topic", &self.topic);
        if let Some(k) = self.kind {
            parts.push(format!("--kind {}", format!("{k:?}").to_lowercase()));
        }
        if self.no_duplicates {
            parts.push("--no-duplicates".to_string());
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_match_with_or_without_hashes_and_windows_must_be_open() {
        let cfg = crate::config::Config::parse("").unwrap();
        for t in ["#失眠#", "失眠", " ＃失眠＃ "] {
            let args = PostFilterArgs {
                topic: Some(t.into()),
                ..Default::default()
            };
            assert_eq!(args.resolve(&cfg).unwrap().1.topic.as_deref(), Some("失眠"));
        }
        let args = PostFilterArgs {
            since: Some("2025-11-21".into()),
            until: Some("2025-11-21".into()),
            ..Default::default()
        };
        let e = args.resolve(&cfg).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let args = PostFilterArgs {
            topic: Some("##".into()),
            ..Default::default()
        };
        assert!(args.resolve(&cfg).is_err());
    }
}

/// The window flags of the commands that analyse a slice of the posts (`topics build`,
/// `search`, `ask`, `network build`): a time window read in one time zone, a platform and
/// a language. Flattened into each command's arguments.
#[derive(Debug, Default, Args)]
pub struct WindowArgs {
    /// First day (YYYY-MM-DD, midnight in --tz), local time or RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// End (exclusive; same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Time zone of --since/--until (IANA name; default [time] zone, else UTC).
    #[arg(long)]
    pub tz: Option<String>,
    /// Only posts of this platform (weibo, reddit, mastodon, …).
    #[arg(long)]
    pub platform: Option<String>,
    /// Only posts in this language (zh, en, …).
    #[arg(long)]
    pub lang: Option<String>,
}

impl WindowArgs {
    /// The zone and the store filter the flags describe (window, platform, language).
    pub fn resolve(&self, config: &crate::config::Config) -> anyhow::Result<(Zone, PostFilter)> {
        let zone = Zone::resolve(self.tz.as_deref(), config)?;
        let (since, until) = zone.window(self.since.as_deref(), self.until.as_deref())?;
        let filter = PostFilter {
            since,
            until,
            platform: self.platform.as_deref().map(|p| p.trim().to_string()),
            lang: self.lang.as_deref().map(|l| l.trim().to_ascii_lowercase()),
            ..PostFilter::default()
        };
        Ok((zone, filter))
    }
}
