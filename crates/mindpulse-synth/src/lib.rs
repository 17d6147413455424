//! Deterministic synthetic social-media data for mindpulse's tests, quickstart sample and
//! benchmarks.
//!
//! [`Generator`] writes posts and comments in the JSONL shape `mindpulse import --format
//! jsonl` reads with its default field map, one object per line:
//!
//! | key | value |
//! |---|---|
//! | `id` | unique per record: a 16-digit Weibo mid (`"5230000000012345"`) or a Reddit-style fullname (`"t3_x1y2z3"` for posts, `"t1_…"` for comments) |
//! | `platform` | `"weibo"` for Chinese records, `"forum"` (a Reddit-like forum) for English ones |
//! | `kind` | `"post"` or `"comment"` |
//! | `parent_id` | comments only: the id of an earlier record of the same platform |
//! | `author` | raw account id: a 10-digit Weibo uid (a string, or sometimes a bare number) or a forum user name (`"night_owl_92"`) |
//! | `created_at` | RFC 3339 UTC (`"2025-11-03T14:05:09Z"`) within the options' window (default: the 30 days before 2025-11-22) |
//! | `text` | 10–60 words (English) or 15–120 characters (Chinese) |
//! | `topic` | optional; a string or an array of strings: Weibo hashtags (`"#考研#"`) or forum topics used like subreddit names (`"anxiety"`) |
//! | `like_count`, `repost_count`, `comment_count` | integers; for Chinese records sometimes Weibo-style strings (`"1.2万"`, `"100万+"`, `"赞"`, `"转发"`) that mindpulse parses. Comments have no `repost_count`. |
//! | `region` | Weibo only, optional: the author's province (`"广东"`) |
//!
//! `lang` is never written: mindpulse detects it.
//!
//! Content: ~55 % Chinese, ~35 % comments; themes of everyday life, work and study
//! stress, sleep problems, loneliness, good news, sports and food, plus ~8 % distress
//! language (hopelessness, not wanting to go on, non-graphic self-harm hints) and ~3 %
//! substance use. About 15 % of texts @mention other users, ~3 % contain PII (e-mails,
//! Chinese and international phone numbers, Chinese ID-card numbers with a valid
//! checksum; see [`pii`]), ~5 % URLs, ~2 % are exact copies of an earlier text and ~2 %
//! near copies. Raw ids, mentioned names and PII strings actually emitted are available
//! from [`Generator::emitted_authors`], [`Generator::emitted_mentions`] and
//! [`Generator::emitted_pii`], so tests can check that none reaches a database.
//!
//! Output depends only on [`SynthOptions`]: the crate has its own fixed PRNG, so the same
//! seed gives byte-identical output on every platform and build.

mod content;
mod en;
pub mod generator;
mod json;
pub mod pii;
mod rng;
mod zh;

pub use generator::{texts, Generator, SynthOptions, SynthStats};
pub use pii::{id_card_check_char, pii_samples};

#[cfg(test)]
mod tests;
