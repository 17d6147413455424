//! The cleaning stage: turns a [`RawPost`] into a [`CleanPost`].
//!
//! [`Cleaner::clean`] normalizes the text ([`normalize`]), redacts personal data and
//! pseudonymizes @mentions ([`pii`], [`pseudonym`]), detects the language ([`lang`]),
//! computes the exact and near-duplicate fingerprints ([`normalize::content_hash`],
//! [`dedup::simhash`]), pseudonymizes the author and scrubs the optional raw payload.
//! Duplicate *decisions* are left to the caller, which owns a [`DupIndex`] for the run.
//!
//! Run `cargo run --release -p mindpulse-clean --example clean_speed` for the cost per
//! post.

mod chars;
pub mod dedup;
pub mod lang;
pub mod normalize;
pub mod pii;
pub mod pseudonym;
mod raw;

use chrono::{DateTime, Utc};

pub use dedup::{simhash, DupIndex, DupVerdict};
pub use lang::{detect_lang, normalize_lang_code};
pub use mindpulse_core::{CleanAuthor, CleanPost, RawAuthor, RawPost};
pub use normalize::{content_hash, hash_key, hex16, normalize_text};
pub use pii::{PiiCounts, RedactOptions, Redacted, Redactor};
pub use pseudonym::{default_key_path, KeyError, PseudonymKey, Pseudonymizer};

/// Longest accepted post text, in bytes after normalization.
pub const MAX_TEXT_BYTES: usize = 1 << 20;
/// Longest kept topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 100;

/// Why a post could not be cleaned.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error("{field} is negative ({value})")]
    NegativeCount { field: &'static str, value: i64 },
    #[error("text is {bytes} bytes after normalization, over the {max}-byte limit")]
    TextTooLong { bytes: usize, max: usize },
    #[error("platform is empty")]
    EmptyPlatform,
    #[error("cannot serialize the raw payload: {0}")]
    RawPayload(#[from] serde_json::Error),
}

/// Choices for [`Cleaner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanOptions {
    /// Replace URLs in text with `[URL]` (profile links identify people). Default: true.
    pub redact_urls: bool,
    /// Keep the (scrubbed) raw source record in `CleanPost::raw`. Default: false.
    pub keep_raw: bool,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions {
            redact_urls: true,
            keep_raw: false,
        }
    }
}

/// A cleaned post and the fingerprints the caller needs for duplicate detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    pub post: CleanPost,
    /// Exact-duplicate key of the redacted text (`post.content_hash` in binary).
    pub content_hash: [u8; 16],
    /// SimHash of the redacted text (`post.simhash` as unsigned).
    pub simhash: Option<u64>,
    /// What was redacted from the text.
    pub pii: PiiCounts,
}

/// Cleans raw posts. Holds the pseudonym key and the compiled redaction patterns; share one
/// per run (it is `Send + Sync`; `clean` takes `&self`).
#[derive(Debug, Clone)]
pub struct Cleaner {
    pseudo: Pseudonymizer,
    redactor: Redactor,
    opts: CleanOptions,
}

impl Cleaner {
    pub fn new(key: PseudonymKey, opts: CleanOptions) -> Cleaner {
        Cleaner {
            pseudo: Pseudonymizer::new(key),
            redactor: Redactor::new(RedactOptions {
                redact_urls: opts.redact_urls,
            }),
            opts,
        }
    }

    pub fn options(&self) -> CleanOptions {
        self.opts
    }

    pub fn pseudonymizer(&self) -> &Pseudonymizer {
        &self.pseudo
    }

    /// Cleans one post.
    ///
    /// Mentions of the post's own author (by screen name) get the author's pseudonym; any
    /// other mentioned name gets the pseudonym of that name on the same platform. A missing
    /// `platform_id` is derived from a keyed hash of platform, author, time and text, so
    /// re-importing the same file yields the same ids (with the same key).
    pub fn clean(&self, raw: RawPost, collected_at: DateTime<Utc>) -> Result<Cleaned, CleanError> {
        let repost_count = count("repost_count", raw.repost_count)?;
        let comment_count = count("comment_count", raw.comment_count)?;
        let like_count = count("like_count", raw.like_count)?;
        let platform = trimmed(raw.platform).ok_or(CleanError::EmptyPlatform)?;

        let text = normalize_text(&raw.text);
        if text.len() > MAX_TEXT_BYTES {
            return Err(CleanError::TextTooLong {
                bytes: text.len(),
                max: MAX_TEXT_BYTES,
            });
        }
        let lang = stated_or_detected_lang(raw.lang.as_deref(), &text);
        let author = AuthorIds::new(&self.pseudo, &platform, raw.author.as_ref());
        let mut mention = |name: &str| author.mention(&self.pseudo, &platform, name);

        let platform_id = match raw.platform_id.and_then(trimmed) {
            Some(id) => id,
            None => self.derive_platform_id(&platform, author.id, raw.created_at, &text),
        };
        let mut redacted = self.redactor.redact_owned(text, &mut mention);
        // The author's own id written out without `@` ("my uid is 5712340001").
        if let (Some(id), Some(pseudonym)) = (author.id, author.pseudonym.as_deref()) {
            if id.chars().count() >= 5 && redacted.text.contains(id) {
                let replaced = raw::replace_tokens(&redacted.text, id, pseudonym);
                if replaced != redacted.text {
                    redacted.counts.handles += 1;
                    redacted.text = replaced;
                }
            }
        }
        let content_hash = content_hash(&redacted.text);
        let simhash = dedup::simhash(&redacted.text);
        let post_raw = match (self.opts.keep_raw, raw.raw) {
            (true, Some(value)) => Some(self.scrub_raw(value, &author, &mut mention)?),
            _ => None,
        };
        let author_info = match (raw.author.as_ref(), &author.pseudonym) {
            (Some(a), Some(p)) => Some(clean_author(a, p)),
            _ => None,
        };

        let post = CleanPost {
            platform,
            platform_id,
            kind: raw.kind,
            parent_id: raw.parent_id.and_then(trimmed),
            root_id: raw.root_id.and_then(trimmed),
            author: author.pseudonym,
            text: redacted.text,
            lang,
            created_at: raw.created_at,
            collected_at,
            topics: clean_topics(raw.topics),
            repost_count,
            comment_count,
            like_count,
            region: raw.region.and_then(trimmed),
            content_hash: hex16(&content_hash),
            simhash: simhash.map(|s| s as i64),
            raw: post_raw,
            author_info,
        };
        Ok(Cleaned {
            post,
            content_hash,
            simhash,
            pii: redacted.counts,
        })
    }

    /// The raw payload without author fields, redacted, as compact JSON.
    fn scrub_raw(
        &self,
        mut value: serde_json::Value,
        author: &AuthorIds<'_>,
        mention: &mut dyn FnMut(&str) -> String,
    ) -> Result<String, CleanError> {
        let secrets = raw::AuthorSecrets::new(
            author.id,
            author.screen_name,
            author.pseudonym.as_deref().unwrap_or("u_unknown"),
        );
        raw::scrub(&mut value, &self.redactor, mention, &secrets);
        Ok(serde_json::to_string(&value)?)
    }

    /// `h_` + 24 hex characters of a keyed hash over platform, author id, creation time and
    /// normalized text. Keyed, because an unkeyed hash of the pre-redaction text would let
    /// anyone confirm guesses of a redacted phone number or of the author's id.
    fn derive_platform_id(
        &self,
        platform: &str,
        author_id: Option<&str>,
        created_at: Option<DateTime<Utc>>,
        text: &str,
    ) -> String {
        let platform = platform.to_ascii_lowercase();
        let time = created_at.map(|t| t.timestamp_micros().to_le_bytes());
        let digest = self.pseudo.keyed_digest(
            "mindpulse post id v1",
            &[
                platform.as_bytes(),
                author_id.unwrap_or("").as_bytes(),
                time.as_ref().map_or(&[][..], |t| &t[..]),
                text.as_bytes(),
            ],
        );
        let mut id = String::with_capacity(26);
        id.push_str("h_");
        id.push_str(&normalize::hex(&digest.as_bytes()[..12]));
        id
    }
}

/// The post author's raw ids (borrowed, never stored) and pseudonym.
struct AuthorIds<'a> {
    /// Canonical raw id; `None` when the post has no (non-blank) author id.
    id: Option<&'a str>,
    screen_name: Option<&'a str>,
    pseudonym: Option<String>,
}

impl<'a> AuthorIds<'a> {
    fn new(pseudo: &Pseudonymizer, platform: &str, author: Option<&'a RawAuthor>) -> Self {
        let author = author.filter(|a| !a.id.trim().is_empty());
        let id = author.map(|a| pseudonym::canonical_id(&a.id));
        AuthorIds {
            id,
            screen_name: author
                .and_then(|a| a.screen_name.as_deref())
                .map(pseudonym::canonical_id)
                .filter(|s| !s.is_empty()),
            pseudonym: id.map(|id| pseudo.pseudonym(platform, id)),
        }
    }

    /// Pseudonym for a mentioned name: the author's own when it is their screen name.
    fn mention(&self, pseudo: &Pseudonymizer, platform: &str, name: &str) -> String {
        match (&self.pseudonym, self.screen_name) {
            (Some(p), Some(own)) if name == own => p.clone(),
            _ => pseudo.pseudonym(platform, name),
        }
    }
}

/// The source's language code when plausible, else the detected language.
fn stated_or_detected_lang(stated: Option<&str>, text: &str) -> Option<String> {
    stated
        .and_then(normalize_lang_code)
        .or_else(|| detect_lang(text).map(str::to_string))
}

fn clean_author(a: &RawAuthor, pseudonym: &str) -> CleanAuthor {
    CleanAuthor {
        pseudonym: pseudonym.to_string(),
        verified_type: a.verified_type,
        follower_bucket: a.followers.and_then(follower_bucket).map(str::to_string),
        region: a.region.as_deref().and_then(trimmed_str),
    }
}

fn count(field: &'static str, value: Option<i64>) -> Result<i64, CleanError> {
    match value {
        Some(v) if v < 0 => Err(CleanError::NegativeCount { field, value: v }),
        Some(v) => Ok(v),
        None => Ok(0),
    }
}

/// The string trimmed, reusing it when already trimmed; `None` when empty.
fn trimmed(s: String) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_string())
    }
}

fn trimmed_str(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Follower count bucket by order of magnitude: `0`, `1-9`, `10-99`, `100-999`, `1k-10k`,
/// `10k-100k`, `100k-1M`, `1M-10M`, `10M+`; `None` for a negative count.
pub fn follower_bucket(followers: i64) -> Option<&'static str> {
    Some(match followers {
        i64::MIN..=-1 => return None,
        0 => "0",
        1..=9 => "1-9",
        10..=99 => "10-99",
        100..=999 => "100-999",
        1_000..=9_999 => "1k-10k",
        10_000..=99_999 => "10k-100k",
        100_000..=999_999 => "100k-1M",
        1_000_000..=9_999_999 => "1M-10M",
        _ => "10M+",
    })
}

/// A topic as it is stored: trimmed, without surrounding `#` (Weibo `#话题#`, `#tag`),
/// capped at [`MAX_TOPIC_CHARS`]. Filters on a topic (`export --topic '#失眠#'`) use it too.
pub fn topic_key(topic: &str) -> &str {
    let t = topic.trim().trim_matches(['#', '＃']).trim();
    match t.char_indices().nth(MAX_TOPIC_CHARS) {
        Some((cut, _)) => t[..cut].trim_end(),
        None => t,
    }
}

/// Topics as [`topic_key`] writes them, empty ones dropped, first occurrence kept.
fn clean_topics(topics: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(topics.len());
    let mut seen = std::collections::HashSet::new(); // only used for long lists
    for t in &topics {
        let t = topic_key(t);
        let dup = if topics.len() <= 16 {
            out.iter().any(|o| o == t)
        } else {
            !seen.insert(t)
        };
        if !t.is_empty() && !dup {
            out.push(t.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests;
