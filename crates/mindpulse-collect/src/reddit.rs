//! The `reddit` format: Pushshift / Arctic Shift NDJSON dumps of submissions and
//! comments, plain or zstd-compressed (`RS_2023-01.zst`, `RC_2023-01.zst`).
//!
//! Submissions (records with `title`) become posts whose text is the title, a blank line
//! and the self text (unless it is `[removed]`/`[deleted]`); comments (records with
//! `body`) become comments whose parent and root are `parent_id`/`link_id` without their
//! `t1_`/`t3_` prefixes. Comments whose body is `[removed]`/`[deleted]` have nothing to
//! import and are rejected with that reason.

use crate::json::{self, empty_slots, extract, RootKey, Slot, Slots, Val};
use crate::line_source::LineParser;
use crate::mapping::{as_count, as_id, as_string, as_text};
use crate::weibo::{from_epoch, from_epoch_f64};
use chrono::{DateTime, Utc};
use mindpulse_core::{PostKind, RawAuthor, RawPost};

/// The keys read from each record, in slot order.
const KEYS: [&str; 12] = [
    "id",
    "name",
    "title",
    "selftext",
    "body",
    "author",
    "created_utc",
    "subreddit",
    "score",
    "num_comments",
    "parent_id",
    "link_id",
];

#[derive(Clone, Copy)]
enum Key {
    Id,
    Name,
    Title,
    Selftext,
    Body,
    Author,
    CreatedUtc,
    Subreddit,
    Score,
    NumComments,
    ParentId,
    LinkId,
}

/// Parses Reddit dump lines.
pub(crate) struct RedditParser {
    keys: Vec<RootKey>,
    keep_raw: bool,
}

impl RedditParser {
    pub(crate) fn new(keep_raw: bool) -> Self {
        RedditParser {
            keys: KEYS
                .iter()
                .map(|k| RootKey {
                    name: k.to_string(),
                    raw: false,
                })
                .collect(),
            keep_raw,
        }
    }
}

/// Taking fields out of the slots, with errors naming the key.
struct Fields<'a> {
    slots: Slots<'a>,
}

impl<'a> Fields<'a> {
    fn take(&mut self, key: Key) -> Option<Val<'a>> {
        match self.slots[key as usize].take() {
            Some(Slot::Val(Val::Null)) | None => None,
            Some(Slot::Val(v)) => Some(v),
            Some(Slot::Raw(_)) => None,
        }
    }

    fn conv<T>(
        &mut self,
        key: Key,
        f: impl FnOnce(Val<'a>) -> Result<Option<T>, String>,
    ) -> Result<Option<T>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => f(v).map_err(|e| format!("field \"{}\": {e}", KEYS[key as usize])),
        }
    }
}

/// `t3_abc` → `abc`.
fn strip_type_prefix(id: String) -> String {
    let b = id.as_bytes();
    if b.len() > 3 && b[0] == b't' && b[1].is_ascii_digit() && b[2] == b'_' {
        id[3..].to_string()
    } else {
        id
    }
}

fn is_gone(text: &str) -> bool {
    matches!(text.trim(), "[removed]" | "[deleted]")
}

/// `created_utc` as an integer, a float or a numeric string.
fn as_created(v: Val) -> Result<Option<DateTime<Utc>>, String> {
    let bad = || "expected Unix seconds".to_string();
    match v {
        Val::Int(n) => from_epoch(n).map(Some).ok_or_else(bad),
        Val::Float(f) => from_epoch_f64(f).map(Some).ok_or_else(bad),
        Val::Str(s) => {
            let x: f64 = s.trim().parse().map_err(|_| {
                format!(
                    "expected Unix seconds, found text of {} characters",
                    s.chars().count()
                )
            })?;
            from_epoch_f64(x).map(Some).ok_or_else(bad)
        }
        other => Err(format!("expected Unix seconds, found {}", other.kind())),
    }
}

impl LineParser for RedditParser {
    fn parse(&mut self, line: &str) -> Result<RawPost, String> {
        let mut f = Fields {
            slots: empty_slots(),
        };
        extract(line, &self.keys, &mut f.slots).map_err(|e| json::describe_error(&e))?;
        let title = f.conv(Key::Title, |v| as_text(v).map(Some))?;
        let selftext = f.conv(Key::Selftext, |v| as_text(v).map(Some))?;
        let body = f.conv(Key::Body, |v| as_text(v).map(Some))?;
        let (kind, text) = match (title, body) {
            (Some(mut title), _) => {
                if let Some(s) = selftext.filter(|s| !s.trim().is_empty() && !is_gone(s)) {
                    title.push_str("\n\n");
                    title.push_str(&s);
                }
                (PostKind::Post, title)
            }
            (None, Some(body)) if is_gone(&body) => {
                return Err(format!(
                    "comment body is {:?}: nothing to import",
                    body.trim()
                ));
            }
            (None, Some(body)) => (PostKind::Comment, body),
            (None, None) => {
                return Err("missing field \"title\" (submission) or \"body\" (comment)".into())
            }
        };
        let id = match f.conv(Key::Id, as_id)? {
            Some(id) => Some(id),
            None => f.conv(Key::Name, as_id)?.map(strip_type_prefix),
        };
        let author = f
            .conv(Key::Author, as_string)?
            .filter(|a| a != "[deleted]")
            .map(|id| RawAuthor {
                id,
                ..Default::default()
            });
        let (parent_id, root_id) = match kind {
            PostKind::Comment => (
                f.conv(Key::ParentId, as_id)?.map(strip_type_prefix),
                f.conv(Key::LinkId, as_id)?.map(strip_type_prefix),
            ),
            _ => (None, None),
        };
        let mut post = RawPost {
            platform: "reddit".to_string(),
            platform_id: id,
            kind,
            parent_id,
            root_id,
            author,
            text,
            created_at: f.conv(Key::CreatedUtc, as_created)?,
            // `u_<name>` is a user's profile, not a community: it names the user.
            topics: f
                .conv(Key::Subreddit, as_string)?
                .filter(|s| !is_profile_subreddit(s))
                .into_iter()
                .collect(),
            like_count: f.conv(Key::Score, as_count)?,
            comment_count: f.conv(Key::NumComments, as_count)?,
            ..Default::default()
        };
        if self.keep_raw {
            post.raw = serde_json::from_str(line).ok();
            if let Some(serde_json::Value::Object(map)) = post.raw.as_mut() {
                if map
                    .get("subreddit")
                    .and_then(|v| v.as_str())
                    .is_some_and(is_profile_subreddit)
                {
                    map.remove("subreddit");
                }
            }
        }
        Ok(post)
    }

    fn format_name(&self) -> &'static str {
        "reddit"
    }
}

/// A user's profile "subreddit" (`u_<name>`).
fn is_profile_subreddit(s: &str) -> bool {
    s.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("u_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_subreddit_is_no_topic() {
        let p = parse(r#"{"id":"p9","title":"hi","selftext":"x","author":"Jane_Doe","created_utc":1700000000,"subreddit":"u_Jane_Doe"}"#).unwrap();
        assert!(p.topics.is_empty(), "{:?}", p.topics);
    }

    fn parse(line: &str) -> Result<RawPost, String> {
        RedditParser::new(false).parse(line)
    }

    #[test]
    fn submission() {
        let p = parse(r#"{"id":"abc","title":"Feeling low","selftext":"Long week.","author":"u1","created_utc":1700000000,"subreddit":"depression","score":12,"num_comments":3}"#).unwrap();
        assert_eq!(p.kind, PostKind::Post);
        assert_eq!(p.text, "Feeling low\n\nLong week.");
        assert_eq!(p.platform, "reddit");
        assert_eq!(p.platform_id.as_deref(), Some("abc"));
        assert_eq!(p.author.unwrap().id, "u1");
        assert_eq!(p.topics, vec!["depression"]);
        assert_eq!((p.like_count, p.comment_count), (Some(12), Some(3)));
        assert_eq!(p.created_at.unwrap().timestamp(), 1_700_000_000);
        assert!(p.parent_id.is_none() && p.root_id.is_none());
    }

    #[test]
    fn submission_with_removed_selftext_keeps_title() {
        let p = parse(r#"{"id":"a","title":"T","selftext":"[removed]","author":"[deleted]","created_utc":"1700000000"}"#).unwrap();
        assert_eq!(p.text, "T");
        assert!(p.author.is_none());
        assert_eq!(p.created_at.unwrap().timestamp(), 1_700_000_000);
    }

    #[test]
    fn comment() {
        let p = parse(r#"{"id":"c1","body":"hang in there","author":"AutoModerator","created_utc":1700000000.0,"subreddit":"x","score":-2,"parent_id":"t1_p1","link_id":"t3_abc"}"#).unwrap();
        assert_eq!(p.kind, PostKind::Comment);
        assert_eq!(p.text, "hang in there");
        assert_eq!(p.author.unwrap().id, "AutoModerator");
        assert_eq!(p.parent_id.as_deref(), Some("p1"));
        assert_eq!(p.root_id.as_deref(), Some("abc"));
        assert_eq!(p.like_count, Some(-2));
    }

    #[test]
    fn rejects() {
        let err = parse(r#"{"id":"c1","body":"[deleted]"}"#).unwrap_err();
        assert!(err.contains("[deleted]"), "{err}");
        let err = parse(r#"{"id":"c1"}"#).unwrap_err();
        assert!(err.contains("missing field \"title\""), "{err}");
        let err = parse(r#"{"id":"c1","body":"x","created_utc":"yesterday"}"#).unwrap_err();
        assert!(err.contains("field \"created_utc\""), "{err}");
        assert!(!err.contains("yesterday"), "the value is not echoed: {err}");
    }

    #[test]
    fn id_from_name() {
        let p = parse(r#"{"name":"t3_zz","title":"T"}"#).unwrap();
        assert_eq!(p.platform_id.as_deref(), Some("zz"));
    }
}
