//! Redaction of personal data in post text: e-mail addresses, phone numbers, Chinese
//! resident ID-card numbers, URLs (optionally), and @mentions (pseudonymized by the caller).
//!
//! One precompiled regex finds every candidate in a single left-to-right pass; candidates
//! are then checked by code that a regex cannot express (digit boundaries, ID-card regions
//! and birth dates). Text with no `@`, fewer than 8 digits, no `://`, `www.` or `u/` cannot
//! contain anything to redact and is returned without running the regex at all (nor can
//! text without a QQ/WeChat label or a weibo.com/reddit.com link to a user).
//!
//! QQ numbers and WeChat ids after their label, and links to a user's profile (or to a post
//! under the user's numeric id) are redacted even when URLs are kept.
//!
//! What is not caught: phone numbers written with unusual separators or spelled out,
//! landlines without a `+` country code (North American numbers excepted), e-mail addresses obfuscated as `a at b dot com`,
//! and names written without `@`.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

/// Candidate spans. Order matters where two alternatives can match at the same position:
/// e-mails before mentions, ID cards before phone numbers.
const PATTERN: &str = r"(?x)
    # e-mail
    [A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?
        (?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}
    # URL (ASCII only, so it stops at CJK text glued to it)
    | (?i:https?://|www\.)[A-Za-z0-9\-._~:/?\#\[\]@!$&'()*+,;=%]+
    # bare profile and post links that name a user: weibo.com/u/…, weibo.com/<uid>/…, reddit.com/user/…
    | (?i:(?:[a-z0-9\-]+\.)*(?:weibo\.com|weibo\.cn|reddit\.com))/[A-Za-z0-9_\-./@%]+
    # a QQ number or WeChat id after its label: QQ: 12345678, 微信：wxid_abc1, vx abc_123
    | (?i:qq|扣扣|微信|威信|薇信|v信|vx|wx|weixin|wechat)(?:号|id)?\ {0,2}[:：]?\ {0,2}
        (?:[A-Za-z][A-Za-z0-9_\-]{5,19}|[1-9][0-9]{4,11})
    # @mention (the whole name, however long), optionally Mastodon @user@instance.tld
    | @[\p{L}\p{M}\p{N}_\-]+(?:@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)?
    # Reddit u/name, /u/name
    | /?u/[A-Za-z0-9_\-]{3,20}
    # ID card: 18 (last may be X) or 15 digits
    | [0-9]{17}[0-9Xx] | [0-9]{15}
    # mainland mobile, optional +86/86/0086, optional 3-4-4 grouping
    | (?:(?:\+|00)?86[\ \-]?)?1[3-9][0-9](?:[0-9]{8}|[\ \-][0-9]{4}[\ \-][0-9]{4})
    # international: + then 8-15 digits with separators
    | \+[0-9](?:[\ \-.()]{0,2}[0-9]){7,14}
    # North American without +: (555) 123-4567, 555-123-4567, 1-555-123-4567
    | (?:1[\ \-.])?(?:\([2-9][0-9]{2}\)\ ?|[2-9][0-9]{2}[\ \-.])[0-9]{3}[\ \-.][0-9]{4}
";

/// Labels a QQ number or WeChat id follows (lowercase).
const CONTACT_LABELS: [&str; 10] = [
    "qq", "扣扣", "微信", "威信", "薇信", "v信", "vx", "wx", "weixin", "wechat",
];

// The pattern is a compile-time constant covered by tests, so building it cannot fail.
static CANDIDATES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(PATTERN).expect("constant PII regex is valid"));

/// What to redact besides the always-redacted kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedactOptions {
    /// Replace URLs with `[URL]`. When false, URLs are kept verbatim, including anything
    /// inside them (a profile URL keeps its user name).
    pub redact_urls: bool,
}

/// How many items of each kind were redacted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PiiCounts {
    pub emails: u32,
    pub phones: u32,
    pub id_cards: u32,
    pub urls: u32,
    pub mentions: u32,
    /// QQ numbers, WeChat ids and links to a user's profile (always redacted).
    pub handles: u32,
}

impl PiiCounts {
    pub fn total(&self) -> u32 {
        self.emails + self.phones + self.id_cards + self.urls + self.mentions + self.handles
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &PiiCounts) {
        self.emails += other.emails;
        self.phones += other.phones;
        self.id_cards += other.id_cards;
        self.urls += other.urls;
        self.mentions += other.mentions;
        self.handles += other.handles;
    }
}

/// Redacted text and what was redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub counts: PiiCounts,
}

/// Finds and replaces personal data in text. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Redactor {
    re: Regex,
    opts: RedactOptions,
}

/// Kind of a confirmed candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Email,
    Url,
    /// Mention; the name starts this many bytes into the match.
    Mention(usize),
    Phone,
    IdCard,
    /// A QQ number or WeChat id; the handle starts this many bytes into the match.
    Contact(usize),
    /// A link to a user's profile (or to a post under the user's id).
    Profile,
}

impl Redactor {
    pub fn new(opts: RedactOptions) -> Self {
        Redactor {
            re: CANDIDATES.clone(),
            opts,
        }
    }

    pub fn options(&self) -> RedactOptions {
        self.opts
    }

    /// Like [`Redactor::redact`], but returns `text` itself, without copying, when it
    /// cannot contain anything to redact.
    pub fn redact_owned(&self, text: String, mention: &mut dyn FnMut(&str) -> String) -> Redacted {
        if may_contain_pii(&text) {
            self.redact(&text, mention)
        } else {
            Redacted {
                text,
                counts: PiiCounts::default(),
            }
        }
    }

    /// Redacts `text`. `mention` maps a mentioned name (without `@`, `u/`; Mastodon names
    /// as `user@instance`) to its replacement, which is written after an `@`.
    pub fn redact(&self, text: &str, mention: &mut dyn FnMut(&str) -> String) -> Redacted {
        let mut counts = PiiCounts::default();
        if !may_contain_pii(text) {
            return Redacted {
                text: text.to_string(),
                counts,
            };
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut copied = 0;
        for m in self.re.find_iter(text) {
            let (start, mut end) = (m.start(), m.end());
            let Some(kind) = classify(text, start, end) else {
                continue;
            };
            let replacement: Option<String> = match kind {
                Kind::Email => {
                    counts.emails += 1;
                    Some("[EMAIL]".into())
                }
                Kind::Phone => {
                    counts.phones += 1;
                    Some("[PHONE]".into())
                }
                Kind::IdCard => {
                    counts.id_cards += 1;
                    Some("[ID_CARD]".into())
                }
                Kind::Url | Kind::Profile => {
                    end = start + url_len(&text[start..end]);
                    if names_a_user(&text[start..end]) {
                        counts.handles += 1;
                        Some("[PROFILE_URL]".into())
                    } else {
                        self.opts.redact_urls.then(|| {
                            counts.urls += 1;
                            "[URL]".to_string()
                        })
                    }
                }
                Kind::Contact(handle_at) => {
                    counts.handles += 1;
                    Some(format!("{}[CONTACT]", &text[start..start + handle_at]))
                }
                Kind::Mention(name_at) => {
                    counts.mentions += 1;
                    let mut r = String::from("@");
                    r.push_str(&mention(&text[start + name_at..end]));
                    Some(r)
                }
            };
            if let Some(r) = replacement {
                out.push_str(&text[copied..start]);
                out.push_str(&r);
                copied = end;
            }
        }
        out.push_str(&text[copied..]);
        Redacted { text: out, counts }
    }
}

/// Cheap test: could `text` contain anything the regex would act on? That needs an `@`,
/// a `u/`, an `http`/`www.`, at least 8 digits (the shortest phone number), a link to a
/// user's page, or a QQ/WeChat label.
fn may_contain_pii(text: &str) -> bool {
    // A few whole-text scans that the standard library vectorizes beat one byte loop.
    let b = text.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    b.contains(&b'@')
        || digits >= 8
        || text.contains("u/")
        || text.contains("://")
        || text
            .match_indices('.')
            .any(|(i, _)| i >= 3 && b[i - 3..i].eq_ignore_ascii_case(b"www"))
        || (text.contains(".com/") || text.contains(".cn/")) && names_a_user(text)
        || has_contact_label(text) && b.iter().any(|c| c.is_ascii_alphanumeric())
}

/// Whether `text` holds a QQ or WeChat label (any case).
fn has_contact_label(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(2).any(|w| {
        let w = [w[0].to_ascii_lowercase(), w[1]];
        matches!(
            &w,
            [b'q', b'q' | b'Q'] | [b'v', b'x' | b'X'] | [b'w', b'x' | b'X']
        )
    }) || [
        "扣扣", "微信", "威信", "薇信", "v信", "V信", "weixin", "Weixin", "WeChat", "wechat",
    ]
    .iter()
    .any(|l| text.contains(l))
}

/// Whether a link names a user: a Weibo profile (`/u/…`, `/n/…`, `/profile/…`) or a post
/// under the author's numeric id (`weibo.com/5712340001/…`), a Reddit `/user/…` or `/u/…`,
/// or a `/@name` path (Mastodon and others).
fn names_a_user(link: &str) -> bool {
    let lower = link.to_ascii_lowercase();
    let hosts = ["weibo.com/", "weibo.cn/", "reddit.com/"];
    for host in hosts {
        let mut from = 0;
        while let Some(i) = lower[from..].find(host) {
            let path = &lower[from + i + host.len()..];
            let first = path.split(['/', '?', '#']).next().unwrap_or("");
            let user_path = matches!(first, "u" | "n" | "user" | "profile");
            let uid = first.len() >= 5 && first.bytes().all(|c| c.is_ascii_digit());
            if user_path || uid {
                return true;
            }
            from += i + host.len();
        }
    }
    lower.contains("/@")
}

fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Decides what the match `text[start..end]` is, or `None` when it is a false positive.
fn classify(text: &str, start: usize, end: usize) -> Option<Kind> {
    let s = &text[start..end];
    let b = s.as_bytes();
    let mut preceding = text[..start].chars().rev();
    let before = preceding.next();
    let before2 = preceding.next();
    let after = text[end..].chars().next();
    if let Some(label) = contact_label(s) {
        return classify_contact(s, label, before);
    }
    match b[0] {
        b'@' => {
            let ok = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            ok.then_some(Kind::Mention(1))
        }
        b'/' | b'u' if s.starts_with("u/") || s.starts_with("/u/") => {
            let bad_before = before.is_some_and(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '@')
            });
            let bad_after = after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let name_at = if b[0] == b'/' { 3 } else { 2 };
            (!bad_before && !bad_after).then_some(Kind::Mention(name_at))
        }
        _ if starts_with_ci(b, b"http://") || starts_with_ci(b, b"https://") => Some(Kind::Url),
        _ if b.contains(&b'@') && !s.contains('/') => Some(Kind::Email),
        _ if starts_with_ci(b, b"www.") => Some(Kind::Url),
        _ if s.contains('/') && !b[0].is_ascii_digit() && b[0] != b'(' => {
            // A bare weibo.com / reddit.com link, not inside a longer name or link.
            let inside = before
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '@'));
            (!inside).then_some(Kind::Profile)
        }
        _ => classify_number(s, [before2, before], [after, text[end..].chars().nth(1)]),
    }
}

/// The contact label `s` starts with, if any.
fn contact_label(s: &str) -> Option<&'static str> {
    let lower = s.to_lowercase();
    CONTACT_LABELS
        .iter()
        .copied()
        .find(|l| lower.starts_with(l))
}

/// A QQ number or WeChat id after its label; `before` is the character before the label.
/// A letter handle needs a colon or a digit or `_` in it (`WeChat everyday` is words).
fn classify_contact(s: &str, label: &str, before: Option<char>) -> Option<Kind> {
    if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let handle_at = s
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .last()
        .map(|(i, _)| i)?;
    // The handle is what follows the label and its separators.
    let label_end = s
        .char_indices()
        .nth(label.chars().count())
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let handle_at = handle_at.max(label_end);
    let handle = &s[handle_at..];
    let separated = s[label_end..handle_at].contains([':', '：']);
    let letters_only = handle.bytes().all(|c| c.is_ascii_alphabetic());
    if handle.is_empty() || (letters_only && !separated) {
        return None;
    }
    Some(Kind::Contact(handle_at))
}

/// Phone or ID-card number, checked against its surroundings.
/// `before` and `after` are the two characters on each side, nearest in the middle.
fn classify_number(
    s: &str,
    [before2, before]: [Option<char>; 2],
    [after, after2]: [Option<char>; 2],
) -> Option<Kind> {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let point = |c: Option<char>| matches!(c, Some('.' | ','));
    if digit(before) || digit(after) {
        return None;
    }
    // `3.13812345678`, `13812345678.5`: part of a decimal number.
    if (point(before) && digit(before2)) || (point(after) && digit(after2)) {
        return None;
    }
    if s.starts_with('+') && before.is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let b = s.as_bytes();
    let all_digits = b.iter().all(u8::is_ascii_digit);
    match b.len() {
        18 if b[..17].iter().all(u8::is_ascii_digit) => id18_shape(b).then_some(Kind::IdCard),
        15 if all_digits && !s.starts_with("0086") => valid_id15(b).then_some(Kind::IdCard),
        _ => {
            let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
            (8..=15).contains(&digits).then_some(Kind::Phone)
        }
    }
}

fn digits_value(b: &[u8]) -> u32 {
    b.iter()
        .fold(0, |acc, &d| acc * 10 + u32::from(d.wrapping_sub(b'0')))
}

fn valid_date(year: u32, month: u32, day: u32) -> bool {
    let Ok(year) = i32::try_from(year) else {
        return false;
    };
    NaiveDate::from_ymd_opt(year, month, day).is_some()
}

/// Province-level area codes (the first two digits of a resident ID).
const ID_REGIONS: [u32; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// An 18-character resident ID's shape: a province code, a real birth date, and a check
/// character whether or not it is right (a mistyped ID still identifies a person).
pub(crate) fn id18_shape(b: &[u8]) -> bool {
    if b.len() != 18
        || !b[..17].iter().all(u8::is_ascii_digit)
        || !(b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
    {
        return false;
    }
    let year = digits_value(&b[6..10]);
    ID_REGIONS.contains(&digits_value(&b[..2]))
        && (1900..=2100).contains(&year)
        && valid_date(year, digits_value(&b[10..12]), digits_value(&b[12..14]))
}

/// Old 15-digit resident ID: area code, birth date YYMMDD (19YY), sequence.
pub(crate) fn valid_id15(b: &[u8]) -> bool {
    b.len() == 15
        && (b'1'..=b'8').contains(&b[0])
        && b.iter().all(u8::is_ascii_digit)
        && valid_date(
            1900 + digits_value(&b[6..8]),
            digits_value(&b[8..10]),
            digits_value(&b[10..12]),
        )
}

/// Length of a URL match without trailing sentence punctuation.
fn url_len(url: &str) -> usize {
    let opens = url.bytes().filter(|&c| c == b'(').count();
    let mut closes = url.bytes().filter(|&c| c == b')').count();
    let mut len = url.len();
    while len > 0 {
        match url.as_bytes()[len - 1] {
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'"' | b']' => len -= 1,
            b')' if closes > opens => {
                closes -= 1;
                len -= 1;
            }
            _ => break,
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact_with(text: &str, urls: bool) -> Redacted {
        let r = Redactor::new(RedactOptions { redact_urls: urls });
        r.redact(text, &mut |name: &str| format!("<{name}>"))
    }

    fn redact(text: &str) -> String {
        redact_with(text, true).text
    }

    #[test]
    fn emails() {
        assert_eq!(
            redact("mail me: john.doe+x@example.co.uk."),
            "mail me: [EMAIL]."
        );
        assert_eq!(redact("联系邮箱abc123@qq.com谢谢"), "联系邮箱[EMAIL]谢谢");
        assert_eq!(redact("13812345678@163.com"), "[EMAIL]");
        let r = redact_with("a@b.com and c@d.org", false);
        assert_eq!(r.text, "[EMAIL] and [EMAIL]");
        assert_eq!(r.counts.emails, 2);
        assert_eq!(r.counts.mentions, 0);
    }

    #[test]
    fn mainland_phones() {
        for p in [
            "13812345678",
            "+8613812345678",
            "+86 138 1234 5678",
            "86-138-1234-5678",
            "0086 13812345678",
            "008613812345678",
            "138-1234-5678",
            "199 1234 5678",
        ] {
            let text = format!("电话{p}，谢谢");
            assert_eq!(redact(&text), "电话[PHONE]，谢谢", "{p}");
        }
    }

    #[test]
    fn international_phones() {
        assert_eq!(redact("call +1 (555) 123-4567 now"), "call [PHONE] now");
        assert_eq!(redact("UK +44 20 7946 0958."), "UK [PHONE].");
        assert_eq!(redact("+49-30-1234567"), "[PHONE]");
    }

    #[test]
    fn ordinary_numbers_are_kept() {
        for s in [
            "2025-11-22",
            "¥12800",
            "转发 1234567",
            "QQ群 123456",
            "验证码 654321",
            "12345678901",
            "2025年11月22日 10:30",
            "电话 1381234567",
            "138123456789",
            "订单号 20251122123456789012",
            "mid 5012345678901234",
            "3.13812345678",
            "13812345678.5",
            "price +100",
            "+12345",
            "score 3+4",
            "1999-2025",
            "1,380,000,000 people",
            "a1b2c3 version 2.0.1",
            "粉丝 1,234,567 人",
            "WeChat everyday",
            "wechat is great",
            "QQ群 123456",
            "wxyz 1234567",
            "2025-11-22 10:30:00",
        ] {
            let r = redact_with(s, true);
            assert_eq!(r.text, s, "{s}");
            assert_eq!(r.counts.total(), 0, "{s}");
        }
    }

    #[test]
    fn id_cards() {
        assert!(id18_shape(b"11010519491231002X"));
        assert!(id18_shape(b"11010519491231002x"));
        assert!(id18_shape(b"110105194912310021")); // wrong check digit
        assert!(!id18_shape(b"110105194913310028")); // month 13
        assert!(!id18_shape(b"990105194912310028")); // no province 99
        assert!(!id18_shape(b"11010519491231002Y"));
        assert_eq!(redact("身份证11010519491231002X。"), "身份证[ID_CARD]。");
        // A wrong check digit still identifies a person: the shape is enough.
        assert_eq!(redact("身份证 110105194912310021"), "身份证 [ID_CARD]");
        // No province 99, no 13th month.
        assert_eq!(redact("单号 990105194912310021"), "单号 990105194912310021");
        assert_eq!(redact("单号 110105194913310021"), "单号 110105194913310021");
        assert_eq!(redact("旧证 110105491231002 号"), "旧证 [ID_CARD] 号");
        assert_eq!(redact("旧证 110105491331002 号"), "旧证 110105491331002 号");
        assert_eq!(redact("ID 11010519491231002X9"), "ID 11010519491231002X9");
        let r = redact_with("11010519491231002X", false);
        assert_eq!(r.counts.id_cards, 1);
    }

    #[test]
    fn urls() {
        assert_eq!(
            redact("see https://example.com/a?b=1&c=2. ok"),
            "see [URL]. ok"
        );
        assert_eq!(
            redact("链接http://t.cn/A6abcD网页链接"),
            "链接[URL]网页链接"
        );
        assert_eq!(redact("(www.example.com)"), "([URL])");
        assert_eq!(
            redact("https://en.wikipedia.org/wiki/Foo_(bar) x"),
            "[URL] x"
        );
        let kept = redact_with("see https://mastodon.social/tags/x and www.x.com", false);
        assert_eq!(
            kept.text,
            "see https://mastodon.social/tags/x and www.x.com"
        );
        assert_eq!(kept.counts.total(), 0);
        assert_eq!(redact("http://user@host.com/x"), "[URL]");
    }

    #[test]
    fn mentions() {
        assert_eq!(redact("回复@张三:你好"), "回复@<张三>:你好");
        assert_eq!(redact("//@小明_01: 转发微博"), "//@<小明_01>: 转发微博");
        assert_eq!(redact("hi @bob-smith!"), "hi @<bob-smith>!");
        assert_eq!(
            redact("cc @alice@mastodon.social please"),
            "cc @<alice@mastodon.social> please"
        );
        assert_eq!(
            redact("thanks u/spez and /u/Some_User."),
            "thanks @<spez> and @<Some_User>."
        );
        assert_eq!(
            redact("menu/item reddit.com/u/xyz"),
            "menu/item [PROFILE_URL]"
        );
        // A name longer than any platform allows is pseudonymized whole, not cut.
        let long = format!("@{} hi", "x".repeat(40));
        assert_eq!(redact(&long), format!("@<{}> hi", "x".repeat(40)));
        assert_eq!(redact("foo@bar"), "foo@bar");
        assert_eq!(redact("a@b.com"), "[EMAIL]");
        assert_eq!(redact("@ alone"), "@ alone");
        let r = redact_with("@a @b @c", false);
        assert_eq!(r.counts.mentions, 3);
    }

    #[test]
    fn contact_handles_north_american_phones_and_profile_links() {
        for (text, want) in [
            ("加我QQ: 12345678 聊", "加我QQ: [CONTACT] 聊"),
            ("QQ 12345678", "QQ [CONTACT]"),
            ("qq号：987654321", "qq号：[CONTACT]"),
            ("微信: wxid_abc123", "微信: [CONTACT]"),
            ("微信号 zhang_san88", "微信号 [CONTACT]"),
            ("vx：helpme2025", "vx：[CONTACT]"),
            ("WeChat: lonelyheart", "WeChat: [CONTACT]"),
            (
                "call (555) 123-4567 or 555-123-4567 or 1-555-123-4567.",
                "call [PHONE] or [PHONE] or [PHONE].",
            ),
            (
                "我的主页 weibo.com/u/5712340001 欢迎",
                "我的主页 [PROFILE_URL] 欢迎",
            ),
            (
                "见 https://weibo.com/5712340001/RsxBkrdmU",
                "见 [PROFILE_URL]",
            ),
            ("https://m.weibo.cn/profile/5712340001", "[PROFILE_URL]"),
            ("https://www.reddit.com/user/Some_User/", "[PROFILE_URL]"),
            ("https://mastodon.social/@alice/1", "[PROFILE_URL]"),
        ] {
            // Profile links and handles go even when URLs are kept.
            let r = redact_with(text, false);
            assert_eq!(r.text, want, "{text}");
            assert!(r.counts.total() > 0, "{text}");
        }
        for kept in ["https://weibo.com/hot/list", "see reddit.com/r/depression"] {
            assert_eq!(redact_with(kept, false).text, kept, "not a user's link");
        }
        assert!(may_contain_pii("QQ 12345"));
        assert!(may_contain_pii("见 weibo.com/u/5712340001"));
    }

    #[test]
    fn mixed_text_left_to_right() {
        let r = redact_with(
            "@李四 我的电话是13912345678，邮箱li.si@example.com，身份证11010519491231002X，详见https://x.cn/abc",
            true,
        );
        assert_eq!(
            r.text,
            "@<李四> 我的电话是[PHONE]，邮箱[EMAIL]，身份证[ID_CARD]，详见[URL]"
        );
        assert_eq!(
            r.counts,
            PiiCounts {
                emails: 1,
                phones: 1,
                id_cards: 1,
                urls: 1,
                mentions: 1,
                handles: 0
            }
        );
    }

    #[test]
    fn prefilter_skips_plain_text() {
        assert!(!may_contain_pii("今天天气很好，心情不错"));
        assert!(!may_contain_pii("Nothing here, just words."));
        assert!(may_contain_pii("see u/x"));
        assert!(may_contain_pii("WWW.x"));
        assert!(may_contain_pii("see Www.example.com"));
        assert!(may_contain_pii("ftp://x"));
        assert!(!may_contain_pii("11月22日 转发 123"));
        assert!(may_contain_pii("电话 138 1234 5678"));
        let r = redact_with("plain words", true);
        assert_eq!(r.text, "plain words");
    }
}
