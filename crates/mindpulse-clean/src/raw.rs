//! Scrubbing of the raw source payload kept with `--keep-raw`: author-identifying keys are
//! dropped at any depth, and every remaining string goes through PII redaction (mentions
//! pseudonymized), with the author's raw id and screen name replaced by their pseudonym.

use serde_json::{Map, Value};

use crate::pii::Redactor;

/// Key fragments that mark author-identifying fields (compared case-insensitively).
const IDENTIFYING: [&str; 10] = [
    "author",
    "user",
    "uid",
    "screen_name",
    "nick",
    "email",
    "phone",
    "mobile",
    "profile",
    "avatar",
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

fn replace_tokens(s: &str, raw: &str, with: &str) -> String {
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
    map.retain(|k, v| !is_identifying(k, v));
    for v in map.values_mut() {
        scrub(v, redactor, mention, secrets);
    }
}

/// Whether a key names author-identifying data.
pub(crate) fn is_identifying(key: &str, value: &Value) -> bool {
    IDENTIFYING.iter().any(|frag| contains_ci(key, frag))
        || (value.is_string() && contains_ci(key, "name"))
}

/// ASCII case-insensitive substring test.
fn contains_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::RedactOptions;
    use serde_json::json;

    #[test]
    fn identifying_keys() {
        let s = json!("x");
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
        ] {
            assert!(is_identifying(k, &s), "{k}");
        }
        for k in ["id", "text", "created_at", "reposts_count", "mid", "source"] {
            assert!(!is_identifying(k, &s), "{k}");
        }
        assert!(!is_identifying("name", &json!({"a": 1})));
        assert!(is_identifying("user", &json!({"id": 1})));
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
        assert_eq!(v["retweeted_status"]["owner"], json!("u_P"));
        assert_eq!(v["retweeted_status"]["tags"][0], json!({"n": 1}));
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
