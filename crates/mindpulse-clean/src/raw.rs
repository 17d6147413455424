//! Scrubbing of the raw source payload kept with `--keep-raw`: only fields on an
//! allow-list of content, thread, time, count and context keys are kept, at any depth;
//! every string kept goes through PII redaction (mentions pseudonymized), with the author's
//! raw id and screen name replaced by their pseudonym.
//!
//! An allow-list, because the fields that identify someone have no common name: Weibo's
//! `艾特用户` lists mentioned nicknames, `发布位置` a place, a JSONL dump may carry `handle` or
//! `friends`. A field not listed here is dropped, whatever it holds.

use serde_json::{Map, Value};

use crate::pii::Redactor;

/// Keys kept in a raw payload (compared case-insensitively): content, ids of the post and
/// its thread, times, counts, and context that says nothing about who wrote it.
const KEPT: &[&str] = &[
    // content
    "text",
    "text_raw",
    "longtext",
    "long_text",
    "content",
    "title",
    "selftext",
    "body",
    "spoiler_text",
    "微博正文",
    "内容",
    "头条文章url",
    // the post and its thread
    "id",
    "idstr",
    "mid",
    "bid",
    "mblogid",
    "platform_id",
    "parent_id",
    "link_id",
    "root_id",
    "in_reply_to_id",
    "conversation_id",
    "kind",
    "type",
    "retweeted_status",
    "reblog",
    "status",
    // time
    "created_at",
    "created_utc",
    "edited",
    "edited_at",
    "date",
    "日期",
    "发布时间",
    // counts
    "reposts_count",
    "comments_count",
    "attitudes_count",
    "repost_count",
    "comment_count",
    "like_count",
    "likes",
    "score",
    "ups",
    "downs",
    "num_comments",
    "reblogs_count",
    "replies_count",
    "favourites_count",
    "点赞数",
    "评论数",
    "转发数",
    // context
    "lang",
    "language",
    "source",
    "工具",
    "subreddit",
    "topic",
    "topics",
    "tags",
    "hashtags",
    "话题",
    "region",
    "region_name",
    "ip",
    "sensitive",
    "visibility",
    "islongtext",
    "is_long_text",
    "pic_num",
];

/// Raw values of the post's author, replaced wherever they still occur.
pub(crate) struct AuthorSecrets<'a> {
    /// `(raw value, pseudonym)` pairs, longest value first.
    pub pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> AuthorSecrets<'a> {
    /// Secrets for an author id (at least 3 characters) and screen name (at least 2).
    pub fn new(id: Option<&'a str>, screen_name: Option<&'a str>, pseudonym: &'a str) -> Self {
        let mut pairs = Vec::new();
        if let Some(id) = id.filter(|s| s.chars().count() >= 3) {
            pairs.push((id, pseudonym));
        }
        if let Some(name) = screen_name.filter(|s| s.chars().count() >= 2) {
            pairs.push((name, pseudonym));
        }
        pairs.sort_by_key(|(raw, _)| std::cmp::Reverse(raw.len()));
        AuthorSecrets { pairs }
    }

    /// Replaces whole-token occurrences of the secrets: an occurrence glued to an ASCII
    /// letter, digit or `_` (a longer number or name) is left alone.
    fn scrub_str(&self, s: String) -> String {
        let mut s = s;
        for (raw, pseudo) in &self.pairs {
            if s.contains(raw) {
                s = replace_tokens(&s, raw, pseudo);
            }
        }
        s
    }

    fn matches_number(&self, n: &serde_json::Number) -> Option<&'a str> {
        let text = n.to_string();
        self.pairs
            .iter()
            .find(|(raw, _)| *raw == text)
            .map(|(_, pseudo)| *pseudo)
    }
}

pub(crate) fn replace_tokens(s: &str, raw: &str, with: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let glued_start = word(raw.chars().next());
    let glued_end = word(raw.chars().next_back());
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    for (at, _) in s.match_indices(raw) {
        let end = at + raw.len();
        if at < copied
            || (glued_start && word(s[..at].chars().next_back()))
            || (glued_end && word(s[end..].chars().next()))
        {
            continue;
        }
        out.push_str(&s[copied..at]);
        out.push_str(with);
        copied = end;
    }
    out.push_str(&s[copied..]);
    out
}

/// Scrubs a raw payload in place (see the module doc).
pub(crate) fn scrub(
    value: &mut Value,
    redactor: &Redactor,
    mention: &mut dyn FnMut(&str) -> String,
    secrets: &AuthorSecrets<'_>,
) {
    match value {
        Value::Object(map) => scrub_map(map, redactor, mention, secrets),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| scrub(v, redactor, mention, secrets)),
        Value::String(s) => {
            let redacted = redactor.redact(s, mention).text;
            *s = secrets.scrub_str(redacted);
        }
        Value::Number(n) => {
            if let Some(pseudo) = secrets.matches_number(n) {
                *value = Value::String(pseudo.to_string());
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

fn scrub_map(
    map: &mut Map<String, Value>,
    redactor: &Redactor,
    mention: &mut dyn FnMut(&str) -> String,
    secrets: &AuthorSecrets<'_>,
) {
    map.retain(|k, _| is_kept(k));
    for v in map.values_mut() {
        scrub(v, redactor, mention, secrets);
    }
}

/// Whether a raw payload keeps the field `key`.
pub(crate) fn is_kept(key: &str) -> bool {
    KEPT.iter().any(|k| k.eq_ignore_ascii_case(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::RedactOptions;
    use serde_json::json;

    #[test]
    fn only_listed_fields_are_kept() {
        for k in [
            "user",
            "User",
            "author_fullname",
            "uid",
            "screen_name",
            "nickName",
            "email",
            "phone_no",
            "mobile",
            "profile_image_url",
            "avatar_hd",
            "name",
            "remark_name",
            "in_reply_to_user_id",
            "handle",
            "friends",
            "艾特用户",
            "发布位置",
            "permalink",
            "url",
        ] {
            assert!(!is_kept(k), "{k}");
        }
        for k in [
            "id",
            "text",
            "Text",
            "created_at",
            "reposts_count",
            "mid",
            "source",
            "微博正文",
        ] {
            assert!(is_kept(k), "{k}");
        }
    }

    #[test]
    fn scrubs_nested_payload() {
        let mut v = json!({
            "id": "P1",
            "text": "@bob call 13812345678 or mail a@b.com, I am 1234567890",
            "user": {"id": 1234567890u64, "screen_name": "Alice"},
            "retweeted_status": {
                "text": "hi Alice",
                "User": {"id": 5},
                "owner": 1234567890u64,
                "tags": [{"name": "x", "display_name": "y", "n": 1}]
            },
            "source": "Alice's iPhone"
        });
        let r = Redactor::new(RedactOptions::default());
        let secrets = AuthorSecrets::new(Some("1234567890"), Some("Alice"), "u_P");
        scrub(&mut v, &r, &mut |n: &str| format!("M({n})"), &secrets);
        let out = serde_json::to_string(&v).unwrap();
        assert!(!out.contains("1234567890"), "{out}");
        assert!(!out.contains("Alice"), "{out}");
        assert!(!out.contains("13812345678"), "{out}");
        assert!(!out.contains("a@b.com"), "{out}");
        assert!(out.contains("@M(bob)"), "{out}");
        assert!(v["retweeted_status"].get("owner").is_none());
        assert_eq!(v["retweeted_status"]["tags"][0], json!({}));
        assert_eq!(v["source"], json!("u_P's iPhone"));
        assert!(v.get("user").is_none());
        assert_eq!(v["id"], json!("P1"));
    }

    #[test]
    fn secrets_are_replaced_as_whole_tokens() {
        assert_eq!(replace_tokens("a 123 b", "123", "P"), "a P b");
        assert_eq!(replace_tokens("51234", "123", "P"), "51234");
        assert_eq!(replace_tokens("/u/123/x", "123", "P"), "/u/P/x");
        assert_eq!(
            replace_tokens("小明同学的iPhone", "小明同学", "P"),
            "P的iPhone"
        );
        assert_eq!(replace_tokens("bob_2 bob", "bob", "P"), "bob_2 P");
    }
}
