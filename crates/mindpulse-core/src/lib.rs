//! Shared data types that flow between the stages of mindpulse.
//!
//! `collect` produces [`RawPost`]s (straight from outside: raw author ids, raw text) or
//! [`Reject`]s; `clean` turns a `RawPost` into a [`CleanPost`] (normalized, redacted,
//! pseudonymized); `store` only ever sees `CleanPost`s. Keeping the raw and clean types
//! apart means a raw user id cannot reach the database by accident: the store has no
//! field to put it in.
//!
//! [`score`] is the scoring boundary: the posts a scorer gets, the scores it returns and
//! the [`PostScorer`] trait every scorer implements.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

pub mod process;
pub mod score;
pub use score::{
    dequantize_i8, quantize_i8, EncoderRef, PostEmbedding, PostScorer, PostToScore, Score,
    ScoreFuture, ScoredPage, ScorerInfo,
};

/// What a stored item is: an original post, a comment on one, or a repost of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PostKind {
    #[default]
    Post,
    Comment,
    Repost,
}

impl PostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Post => "post",
            PostKind::Comment => "comment",
            PostKind::Repost => "repost",
        }
    }
}

impl fmt::Display for PostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a post kind string that is none of `post`, `comment`, `repost`.
#[derive(Debug, thiserror::Error)]
#[error("unknown post kind {0:?} (expected post, comment or repost)")]
pub struct UnknownKind(pub String);

impl std::str::FromStr for PostKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "post" | "submission" | "status" | "original" | "" => Ok(PostKind::Post),
            "comment" | "reply" => Ok(PostKind::Comment),
            "repost" | "retweet" | "share" => Ok(PostKind::Repost),
            other => Err(UnknownKind(other.to_string())),
        }
    }
}

/// Where a record came from, for error messages and rejects files.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Origin {
    /// File name or URL.
    pub file: String,
    /// 1-based line (JSONL) or record (CSV) number; 0 when not line-based.
    pub line: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.file, self.line)
        } else {
            f.write_str(&self.file)
        }
    }
}

/// Author facts as they arrive from outside (the raw id is only used to derive a pseudonym).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawAuthor {
    /// Platform user id or user name, raw. Never stored.
    pub id: String,
    /// Screen name, raw. Never stored; used to pseudonymize @mentions of this author consistently.
    pub screen_name: Option<String>,
    /// Platform verification type (Weibo `verified_type`, e.g. -1, 0, 1…7, 200, 220).
    pub verified_type: Option<i64>,
    pub followers: Option<i64>,
    pub region: Option<String>,
}

/// A post as read from an import file or a crawler, before cleaning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawPost {
    /// `weibo`, `reddit`, `mastodon`, or the platform named in the import.
    pub platform: String,
    /// The platform's own id. When absent, cleaning derives a stable id from the content.
    pub platform_id: Option<String>,
    pub kind: PostKind,
    /// Platform id of the item this one answers or reposts.
    pub parent_id: Option<String>,
    /// Platform id of the original post at the root of the conversation.
    pub root_id: Option<String>,
    pub author: Option<RawAuthor>,
    pub text: String,
    /// Language code if the source states one (ISO 639-1); detected otherwise.
    pub lang: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// Topics, hashtags, subreddits: stored as topic links.
    pub topics: Vec<String>,
    pub repost_count: Option<i64>,
    pub comment_count: Option<i64>,
    pub like_count: Option<i64>,
    /// Region as the platform reports it (e.g. Weibo's IP region).
    pub region: Option<String>,
    /// The source record, kept only when the user asks for raw payloads; it is redacted
    /// before storage (author fields dropped, strings passed through PII redaction).
    pub raw: Option<serde_json::Value>,
    pub origin: Origin,
}

/// Author facts as stored: pseudonym only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanAuthor {
    pub pseudonym: String,
    pub verified_type: Option<i64>,
    /// Follower count bucketed by order of magnitude (`0`, `1-9`, `10-99`, … `10M+`).
    pub follower_bucket: Option<String>,
    pub region: Option<String>,
}

/// A post after cleaning: the only shape the store accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanPost {
    pub platform: String,
    pub platform_id: String,
    pub kind: PostKind,
    pub parent_id: Option<String>,
    pub root_id: Option<String>,
    /// Author pseudonym (keyed BLAKE3), never the raw id.
    pub author: Option<String>,
    /// Normalized, PII-redacted text with @mentions pseudonymized.
    pub text: String,
    pub lang: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub collected_at: DateTime<Utc>,
    pub topics: Vec<String>,
    pub repost_count: i64,
    pub comment_count: i64,
    pub like_count: i64,
    pub region: Option<String>,
    /// Hex BLAKE3 of the normalized text (exact-duplicate key).
    pub content_hash: String,
    /// 64-bit SimHash of the text, when it is long enough to compare.
    pub simhash: Option<i64>,
    /// Redacted raw payload (JSON text) when kept.
    pub raw: Option<String>,
    /// Author facts to upsert alongside the post.
    pub author_info: Option<CleanAuthor>,
}

/// A record that could not be accepted, with where it was and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub reason: String,
    /// The offending input (lossy UTF-8, capped), for the `<file>.rejects.jsonl` file only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl Reject {
    pub fn new(origin: &Origin, reason: impl Into<String>) -> Self {
        Reject {
            file: origin.file.clone(),
            line: origin.line,
            reason: reason.into(),
            raw: None,
        }
    }

    pub fn with_raw(mut self, raw: impl Into<String>) -> Self {
        let mut raw: String = raw.into();
        if raw.len() > MAX_REJECT_RAW {
            let mut cut = MAX_REJECT_RAW;
            while !raw.is_char_boundary(cut) {
                cut -= 1;
            }
            raw.truncate(cut);
            raw.push_str("…[truncated]");
        }
        self.raw = Some(raw);
        self
    }
}

/// How much of an offending record a rejects file keeps.
pub const MAX_REJECT_RAW: usize = 4096;

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        } else {
            write!(f, "{}: {}", self.file, self.reason)
        }
    }
}

/// One item a [`Source`] yields: an accepted raw post or a reject.
pub type SourceItem = Result<RawPost, Reject>;

/// Anything that yields raw posts: import files, crawlers, APIs.
///
/// A source never stops at a bad record: it yields a [`Reject`] and goes on. It returns
/// `None` when exhausted; an unrecoverable read error is yielded as a final `Reject`.
pub trait Source: Iterator<Item = SourceItem> + Send {
    /// Short description for logs and the `runs` table (e.g. the file name).
    fn describe(&self) -> String;
    /// Bytes consumed so far and the total when known, for progress bars.
    fn progress(&self) -> (u64, Option<u64>) {
        (0, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_parses_synonyms_and_rejects_unknown() {
        assert_eq!("Reply".parse::<PostKind>().unwrap(), PostKind::Comment);
        assert_eq!("retweet".parse::<PostKind>().unwrap(), PostKind::Repost);
        assert!("video".parse::<PostKind>().is_err());
    }

    #[test]
    fn reject_raw_is_capped_on_a_char_boundary() {
        let r = Reject::new(
            &Origin {
                file: "a".into(),
                line: 3,
            },
            "bad",
        )
        .with_raw("好".repeat(5000));
        assert_eq!(r.to_string(), "a:3: bad");
        let raw = r.raw.unwrap();
        assert!(raw.len() < MAX_REJECT_RAW + 20);
        assert!(raw.ends_with("[truncated]"));
    }
}
