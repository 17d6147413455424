//! The record generator: [`SynthOptions`], [`Generator`] and its JSONL writer.
//!
//! Each call produces one record; records written to JSONL are built directly into a
//! reusable `String` (no `serde_json::Value` in the hot path). Per record the generator
//! draws, in a fixed order from one seeded stream:
//!
//! * the language (`zh_share` Chinese on platform `weibo`, the rest English on platform
//!   `forum`, a Reddit-like forum whose `topic` works like a subreddit name);
//! * post or comment (`comment_share`; a comment's `parent_id` is a recent earlier record
//!   of the same platform, its time is a few minutes to a few days after its parent's, and
//!   it inherits the parent's topics and, half the time, its theme);
//! * the theme (everyday life, work, study, sleep, loneliness, good news, sports, food;
//!   distress 8 %, substance use 3 %) and the text: 2 % exact copies of a recent text
//!   under a new id, 2 % near copies (one word swapped or `转发` / `+1` appended), the
//!   rest composed fresh with optional decorations (comment opener, @mentions ~15 %,
//!   hashtag, PII ~3 %, URL ~5 %, emoji, rarely an HTML entity or a zero-width space);
//! * the author (a 10-digit Weibo uid or a forum user name, Zipf-like activity), the
//!   time (diurnal, night-heavy for sleep and distress posts, local time UTC+8 for Weibo
//!   and UTC−5 for the forum, written in UTC), engagement counts (heavy-tailed; Weibo-style
//!   strings such as `"1.2万"`, `"100万+"`, `"赞"` when `weibo_style_counts`) and, for
//!   Weibo, the author's province.

use crate::content::{compose, Lang, Theme};
use crate::json;
use crate::pii::{PiiKind, PiiPool};
use crate::rng::Rng;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashSet;
use std::io::{self, Write};

/// Options of a [`Generator`].
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    /// Same seed and options ⇒ byte-identical output.
    pub seed: u64,
    /// Share of Chinese (Weibo) records; the rest are English (forum). Default 0.55.
    pub zh_share: f64,
    /// Share of comments (records with a `parent_id`). Default 0.35.
    pub comment_share: f64,
    /// Write some Chinese counts as Weibo shows them (`"1.2万"`, `"100万+"`, `"赞"`).
    /// Default true.
    pub weibo_style_counts: bool,
    /// Start of the time window. Default 2025-10-23T00:00:00Z.
    pub start: DateTime<Utc>,
    /// Length of the time window in days (at least 1). Default 30, so the default window
    /// is the 30 days before 2025-11-22.
    pub days: u32,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 42,
            zh_share: 0.55,
            comment_share: 0.35,
            weibo_style_counts: true,
            start: Utc
                .with_ymd_and_hms(2025, 10, 23, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            days: 30,
        }
    }
}

/// What a generator has emitted so far, by category (intended features, not detections:
/// fresh texts can coincide by chance, so a deduplicator may find a few more duplicates).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthStats {
    pub records: u64,
    pub zh: u64,
    pub en: u64,
    pub comments: u64,
    /// Records whose theme is distress (hopelessness, self-harm hints).
    pub distress: u64,
    pub substance: u64,
    /// Records whose text mentions at least one user.
    pub with_mentions: u64,
    /// Records whose text contains an e-mail, phone or ID-card number.
    pub with_pii: u64,
    pub with_urls: u64,
    /// Records whose text is an exact copy of an earlier record's text.
    pub exact_duplicates: u64,
    /// Records whose text is an earlier record's text with one small edit.
    pub near_duplicates: u64,
    /// Records with at least one count written as a Weibo-style string.
    pub weibo_style_counts: u64,
}

/// Raw names with a record of which were emitted.
#[derive(Debug, Clone)]
struct Pool {
    items: Vec<String>,
    used: Vec<bool>,
}

impl Pool {
    fn new(items: Vec<String>) -> Pool {
        let used = vec![false; items.len()];
        Pool { items, used }
    }

    /// A Zipf-like pick: a few very active accounts, a long tail. Not marked as used.
    fn pick_skewed(&self, rng: &mut Rng) -> usize {
        let u = rng.f64();
        let i = ((u * u) * self.items.len() as f64) as usize;
        i.min(self.items.len() - 1)
    }

    fn emitted(&self) -> Vec<&str> {
        self.items
            .iter()
            .zip(&self.used)
            .filter(|(_, &u)| u)
            .map(|(s, _)| s.as_str())
            .collect()
    }
}

/// Topics of a record: up to two entries of one theme's topic list.
#[derive(Debug, Clone, Copy)]
struct Topics {
    theme: Theme,
    n: u8,
    idx: [u8; 2],
    /// Written as an array even when there is one.
    array: bool,
}

/// A recent fresh text, kept for duplicates.
#[derive(Debug, Clone)]
struct Recent {
    text: String,
    theme: Theme,
    flags: u8,
}

const HAS_MENTION: u8 = 1;
const HAS_PII: u8 = 2;
const HAS_URL: u8 = 4;

/// What a comment needs to know about its parent.
#[derive(Debug, Clone, Copy)]
struct Parent {
    num: u64,
    comment: bool,
    ts: i64,
    theme: Theme,
    topics: Topics,
}

/// A fixed-capacity ring of the most recent items.
#[derive(Debug, Clone)]
struct Ring<T> {
    items: Vec<T>,
    next: usize,
    cap: usize,
}

impl<T> Ring<T> {
    fn new(cap: usize) -> Ring<T> {
        Ring {
            items: Vec::with_capacity(cap),
            next: 0,
            cap,
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// Slot for the next item: a fresh one while filling, else the oldest, to overwrite.
    fn push_with(&mut self, fresh: impl FnOnce() -> T) -> &mut T {
        if self.items.len() < self.cap {
            self.items.push(fresh());
            self.items.last_mut().unwrap_or_else(|| unreachable!())
        } else {
            let i = self.next;
            self.next = (self.next + 1) % self.cap;
            &mut self.items[i]
        }
    }

    fn push(&mut self, item: T)
    where
        T: Copy,
    {
        *self.push_with(|| item) = item;
    }

    /// The `k`-th newest item (`k < len`).
    fn newest(&self, k: usize) -> &T {
        let len = self.items.len();
        let pos = if len < self.cap {
            len - 1 - k
        } else {
            (self.next + self.cap - 1 - k) % self.cap
        };
        &self.items[pos]
    }
}

const AUTHORS_PER_LANG: usize = 20_000;
const EXACT_DUP_SHARE: f64 = 0.02;
const NEAR_DUP_SHARE: f64 = 0.02;
const MENTION_SHARE: f64 = 0.15;
const PII_SHARE: f64 = 0.03;
const URL_SHARE: f64 = 0.05;

/// Weibo mids and forum ids are derived from the record's sequence number, so they are
/// unique within a stream.
const WEIBO_ID_BASE: u64 = 5_230_000_000_000_000;
const FORUM_ID_BASE: u64 = 2_000_000_000;

/// Relative activity per local hour.
const HOURS_DAY: [u32; 24] = [
    4, 2, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 9, 8, 6, 6, 6, 7, 8, 9, 10, 11, 10, 7,
];
const HOURS_NIGHT: [u32; 24] = [
    9, 9, 8, 6, 4, 2, 2, 3, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 5, 6, 7, 9, 10, 10,
];

const PROVINCES: &[&str] = &[
    "北京",
    "上海",
    "广东",
    "浙江",
    "江苏",
    "四川",
    "湖北",
    "山东",
    "河南",
    "湖南",
    "福建",
    "陕西",
    "重庆",
    "天津",
    "辽宁",
    "黑龙江",
    "吉林",
    "河北",
    "山西",
    "安徽",
    "江西",
    "广西",
    "云南",
    "贵州",
    "海南",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "西藏",
    "内蒙古",
    "香港",
    "台湾",
    "澳门",
];

const EN_ADJ: &[&str] = &[
    "night", "quiet", "sleepy", "tired", "lazy", "happy", "anxious", "little", "cosmic", "rainy",
    "salty", "sunny", "lost", "gentle", "wild", "silent", "dusty", "midnight", "coffee", "paper",
    "velvet", "lucky", "broken", "hidden", "bright", "cold", "neon", "rusty", "soft", "tiny",
    "stormy", "honest", "curious", "awkward", "random", "cozy", "spicy", "frozen", "golden",
    "grumpy",
];
const EN_NOUN: &[&str] = &[
    "owl", "river", "panda", "otter", "fox", "cloud", "moon", "raccoon", "potato", "cactus",
    "wanderer", "reader", "coder", "nurse", "student", "teacher", "runner", "gamer", "artist",
    "dreamer", "penguin", "sparrow", "bear", "wolf", "turtle", "noodle", "pickle", "bagel",
    "lantern", "comet", "maple", "willow", "pebble", "kettle", "badger", "heron", "moth", "llama",
];
const ZH_NICK_HEAD: &[&str] = &[
    "小鹿", "橘子", "咸鱼", "奶茶", "月亮", "阿狸", "星星", "木木", "柠檬", "南风", "糖糖", "小熊",
];
const ZH_NICK_TAIL: &[&str] = &[
    "乱撞",
    "不想上班",
    "今天吃什么",
    "爱睡觉",
    "的日常",
    "酱",
    "同学",
    "呀",
    "不加糖",
    "在路上",
];

/// Deterministic generator of synthetic posts and comments.
///
/// ```
/// use mindpulse_synth::{Generator, SynthOptions};
/// let mut g = Generator::new(SynthOptions { seed: 7, ..Default::default() });
/// let rec = g.next_record();
/// assert!(rec["text"].is_string());
/// let mut out = Vec::new();
/// let bytes = g.write_jsonl(&mut out, 100).unwrap();
/// assert_eq!(bytes as usize, out.len());
/// ```
#[derive(Debug, Clone)]
pub struct Generator {
    opts: SynthOptions,
    rng: Rng,
    start: i64,
    span: i64,
    seq: u64,
    /// `[zh, en]` author pools: Weibo uids, forum user names.
    authors: [Pool; 2],
    /// Chinese screen names used in @mentions (English mentions use forum user names).
    nicks: Pool,
    /// Which forum user names were @mentioned (they are drawn from `authors[1]`).
    mentioned_en: Vec<bool>,
    pii: PiiPool,
    parents: [Ring<Parent>; 2],
    /// Recent fresh texts per language, with their themes, for duplicates.
    recent: [Ring<Recent>; 2],
    text: String,
    prefix: String,
    suffix: String,
    part: String,
    scratch: String,
    stats: SynthStats,
}

impl Generator {
    pub fn new(opts: SynthOptions) -> Generator {
        let mut setup = Rng::new(opts.seed, 1);
        let authors = [
            Pool::new(weibo_uids(&mut setup)),
            Pool::new(forum_names(&mut setup)),
        ];
        let nicks = Pool::new(
            ZH_NICK_HEAD
                .iter()
                .flat_map(|h| ZH_NICK_TAIL.iter().map(move |t| format!("{h}{t}")))
                .collect(),
        );
        let pii = PiiPool::new(&mut setup);
        let days = i64::from(opts.days.max(1));
        Generator {
            rng: Rng::new(opts.seed, 0),
            start: opts.start.timestamp(),
            span: days * 86_400,
            seq: 0,
            authors,
            nicks,
            mentioned_en: vec![false; AUTHORS_PER_LANG],
            pii,
            parents: [Ring::new(2048), Ring::new(2048)],
            recent: [Ring::new(512), Ring::new(512)],
            text: String::with_capacity(512),
            prefix: String::with_capacity(128),
            suffix: String::with_capacity(256),
            part: String::with_capacity(128),
            scratch: String::with_capacity(256),
            stats: SynthStats::default(),
            opts,
        }
    }

    pub fn options(&self) -> &SynthOptions {
        &self.opts
    }

    /// Counts of what was emitted so far.
    pub fn stats(&self) -> &SynthStats {
        &self.stats
    }

    /// The next record as a JSON value (the same record [`Generator::write_jsonl`] would
    /// have written next).
    pub fn next_record(&mut self) -> serde_json::Value {
        let mut line = String::with_capacity(768);
        self.push_line(&mut line);
        serde_json::from_str(&line)
            .unwrap_or_else(|e| unreachable!("generated invalid JSON ({e}): {line}"))
    }

    /// Appends the next record to `out` as one JSON line, `\n` included.
    pub fn push_line(&mut self, out: &mut String) {
        let lang = if self.rng.chance(self.opts.zh_share) {
            Lang::Zh
        } else {
            Lang::En
        };
        let li = lang.idx();
        let parent =
            (self.parents[li].len() > 0 && self.rng.chance(self.opts.comment_share)).then(|| {
                let len = self.parents[li].len();
                let u = self.rng.f64();
                let k = ((u * u * u) * len as f64) as usize;
                *self.parents[li].newest(k.min(len - 1))
            });
        let theme = match parent {
            Some(p) if self.rng.chance(0.5) => p.theme,
            _ => Theme::sample(&mut self.rng),
        };
        let topics = match parent {
            Some(p) => p.topics,
            None => self.pick_topics(lang, theme),
        };
        let theme = self.make_text(lang, theme, parent.is_some(), topics);
        let author = self.authors[li].pick_skewed(&mut self.rng);
        self.authors[li].used[author] = true;
        let ts = match parent {
            Some(p) => self.reply_time(p.ts),
            None => self.post_time(lang, theme),
        };
        let seq = self.seq;
        self.seq += 1;
        let num = match lang {
            Lang::Zh => WEIBO_ID_BASE + seq * 1000 + self.rng.below(1000),
            Lang::En => FORUM_ID_BASE + seq * 37 + self.rng.below(37),
        };
        let comment = parent.is_some();

        out.push_str("{\"id\":");
        push_id(out, lang, num, comment);
        out.push_str(match lang {
            Lang::Zh => ",\"platform\":\"weibo\"",
            Lang::En => ",\"platform\":\"forum\"",
        });
        if let Some(p) = parent {
            out.push_str(",\"kind\":\"comment\",\"parent_id\":");
            push_id(out, lang, p.num, p.comment);
        } else {
            out.push_str(",\"kind\":\"post\"");
        }
        out.push_str(",\"author\":");
        let name = &self.authors[li].items[author];
        if lang == Lang::Zh && self.rng.chance(0.3) {
            out.push_str(name); // a bare number, as in some Weibo exports
        } else {
            json::push_str(out, name);
        }
        out.push_str(",\"created_at\":");
        json::push_rfc3339(out, ts);
        out.push_str(",\"text\":");
        json::push_str(out, &self.text);
        if topics.n > 0 {
            out.push_str(",\"topic\":");
            let list = lang.lexicon().themes[topics.theme as usize].topics;
            if topics.array {
                out.push('[');
                for (i, &t) in topics.idx[..usize::from(topics.n)].iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json::push_str(out, list[usize::from(t)]);
                }
                out.push(']');
            } else {
                json::push_str(out, list[usize::from(topics.idx[0])]);
            }
        }
        self.push_counts(out, lang, comment);
        if lang == Lang::Zh {
            let h = (author as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
            let slots = PROVINCES.len() as u64 * 100 / 85; // ~15 % of authors hide it
            if let Some(p) = PROVINCES.get((h % slots) as usize) {
                out.push_str(",\"region\":");
                json::push_str(out, p);
            }
        }
        out.push_str("}\n");

        self.parents[li].push(Parent {
            num,
            comment,
            ts,
            theme,
            topics,
        });
        let s = &mut self.stats;
        s.records += 1;
        match lang {
            Lang::Zh => s.zh += 1,
            Lang::En => s.en += 1,
        }
        s.comments += u64::from(comment);
        s.distress += u64::from(theme == Theme::Distress);
        s.substance += u64::from(theme == Theme::Substance);
    }

    /// Writes `n` records as JSON lines to `out`; returns the bytes written.
    pub fn write_jsonl<W: Write>(&mut self, mut out: W, n: u64) -> io::Result<u64> {
        const CHUNK: usize = 1 << 16;
        let mut buf = String::with_capacity(CHUNK + 4096);
        let mut total = 0u64;
        for _ in 0..n {
            self.push_line(&mut buf);
            if buf.len() >= CHUNK {
                out.write_all(buf.as_bytes())?;
                total += buf.len() as u64;
                buf.clear();
            }
        }
        out.write_all(buf.as_bytes())?;
        total += buf.len() as u64;
        out.flush()?;
        Ok(total)
    }

    /// Raw author ids and user names written in `author` so far.
    pub fn emitted_authors(&self) -> Vec<&str> {
        let mut v = self.authors[0].emitted();
        v.extend(self.authors[1].emitted());
        v
    }

    /// Raw names written after `@` in texts so far (forum user names and Weibo screen
    /// names).
    pub fn emitted_mentions(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.nicks.emitted();
        let en = &self.authors[1].items;
        v.extend(
            en.iter()
                .zip(&self.mentioned_en)
                .filter(|(_, &m)| m)
                .map(|(s, _)| s.as_str()),
        );
        v
    }

    /// PII strings (e-mails, phone numbers, ID-card numbers) written in texts so far,
    /// exactly as they appear there.
    pub fn emitted_pii(&self) -> Vec<&str> {
        self.pii
            .items
            .iter()
            .zip(&self.pii.used)
            .filter(|(_, &u)| u)
            .map(|(s, _)| s.as_str())
            .collect()
    }

    /// Every PII string this generator can emit (a superset of [`Generator::emitted_pii`]).
    pub fn pii_pool(&self) -> &[String] {
        &self.pii.items
    }
}

/// Appends `part` to `target` if the decorations stay within `room` units.
fn try_add(lang: Lang, target: &mut String, part: &str, deco: &mut usize, room: usize) -> bool {
    add_at(lang, target, part, deco, room, false)
}

/// [`try_add`], at the front of `target` when `front`.
fn add_at(
    lang: Lang,
    target: &mut String,
    part: &str,
    deco: &mut usize,
    room: usize,
    front: bool,
) -> bool {
    let u = lang.units(part);
    if part.is_empty() || *deco + u > room {
        return false;
    }
    let sep = if lang == Lang::En && !target.is_empty() {
        " "
    } else {
        ""
    };
    if front {
        target.insert_str(0, sep);
        target.insert_str(0, part);
    } else {
        target.push_str(sep);
        target.push_str(part);
    }
    *deco += u;
    true
}

fn push_id(out: &mut String, lang: Lang, num: u64, comment: bool) {
    out.push('"');
    match lang {
        Lang::Zh => json::push_u64(out, num),
        Lang::En => {
            out.push_str(if comment { "t1_" } else { "t3_" });
            json::push_base36(out, num);
        }
    }
    out.push('"');
}

fn push_alnum(out: &mut String, rng: &mut Rng, n: usize) {
    const CHARS: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for _ in 0..n {
        out.push(CHARS[rng.index(CHARS.len())] as char);
    }
}

/// The first occurrence of `word` in `text` as a whole word (for English) or anywhere,
/// outside @mentions, URLs and e-mail addresses (whose raw form must stay as emitted).
fn find_word(text: &str, word: &str, whole: bool) -> Option<usize> {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '\'' || c == '_');
    let mut from = 0;
    while let Some(i) = text[from..].find(word) {
        let at = from + i;
        let end = at + word.len();
        let token_start = text[..at]
            .char_indices()
            .rev()
            .find(|&(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        let token_end = text[end..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| end + i);
        let token = &text[token_start..token_end];
        let protected = token.contains('@') || token.contains("://");
        if !protected
            && (!whole
                || (!is_word(text[..at].chars().next_back())
                    && !is_word(text[end..].chars().next())))
        {
            return Some(at);
        }
        from = end;
    }
    None
}

const PII_EN_EMAIL: &[&str] = &[
    "If anyone wants to talk, email me at {pii}.",
    "DM me or write to {pii}.",
    "My inbox is open: {pii}",
];
const PII_EN_PHONE: &[&str] = &[
    "You can text me at {pii}.",
    "My number is {pii} if anyone needs to talk.",
    "Call or text {pii} anytime.",
];
const PII_ZH_EMAIL: &[&str] = &[
    "有需要的可以发邮件到{pii}。",
    "简历发我邮箱{pii}，谢谢！",
    "邮箱{pii}，欢迎交流。",
];
const PII_ZH_PHONE: &[&str] = &[
    "急！有事请打{pii}。",
    "联系电话：{pii}",
    "需要的加我电话{pii}，备注微博。",
];
const PII_ZH_ID: &[&str] = &[
    "身份证号{pii}，这个格式填对了吗？",
    "捡到一张身份证，号码{pii}，失主请联系我。",
    "帮我妈挂号，身份证{pii}，为什么一直提示错误？",
];

const URL_EN: &[(&str, usize)] = &[
    ("https://www.youtube.com/watch?v=", 11),
    ("https://imgur.com/a/", 7),
    ("https://open.spotify.com/track/", 22),
    ("https://www.reddit.com/r/CasualConversation/comments/", 6),
    ("https://en.wikipedia.org/wiki/Sleep_hygiene", 0),
    ("https://www.nami.org/help", 0),
];
const URL_ZH: &[(&str, usize)] = &[
    ("http://t.cn/A6", 6),
    ("https://m.weibo.cn/status/", 9),
    ("https://b23.tv/", 7),
    ("https://www.xiaohongshu.com/explore/", 12),
];

impl Generator {
    fn pick_topics(&mut self, lang: Lang, theme: Theme) -> Topics {
        let len = lang.lexicon().themes[theme as usize].topics.len();
        let r = self.rng.f64();
        let (n, array) = match lang {
            Lang::Zh if r < 0.2 => (0, false),
            Lang::Zh if r < 0.8 => (1, self.rng.chance(0.3)),
            Lang::Zh => (2, true),
            Lang::En if r < 0.85 => (1, false),
            Lang::En => (2, true),
        };
        let first = self.rng.index(len);
        let (n, second) = if n == 2 && len > 1 {
            (2, (first + 1 + self.rng.index(len - 1)) % len)
        } else {
            (n.min(1), first)
        };
        Topics {
            theme,
            n,
            idx: [first as u8, second as u8],
            array,
        }
    }

    /// Builds the record's text in `self.text`; returns its theme (a copied text keeps the
    /// theme of its source).
    fn make_text(&mut self, lang: Lang, theme: Theme, comment: bool, topics: Topics) -> Theme {
        self.text.clear();
        let li = lang.idx();
        let r = self.rng.f64();
        let ring_len = self.recent[li].len();
        if ring_len > 0 && r < EXACT_DUP_SHARE + NEAR_DUP_SHARE {
            let k = self.rng.index(ring_len);
            let src = self.recent[li].newest(k);
            self.text.push_str(&src.text);
            let (src_theme, flags) = (src.theme, src.flags);
            if r < EXACT_DUP_SHARE {
                self.stats.exact_duplicates += 1;
            } else {
                self.near_edit(lang);
                self.stats.near_duplicates += 1;
            }
            self.count_flags(flags);
            return src_theme;
        }

        let lex = lang.lexicon();
        // Units: words (English) or characters (Chinese). `reserve` leaves room for a
        // near-duplicate edit of this text; Chinese asks for 16 so that a one-character
        // shorter near duplicate still has 15.
        let (min, max, reserve, min_body, body_room): (usize, usize, usize, usize, usize) =
            match lang {
                Lang::En => (10, 60, 1, 5, 4),
                Lang::Zh => (16, 120, 5, 8, 12),
            };
        let room = max - reserve - min_body - body_room;
        let (mut deco, mut flags) = (0usize, 0u8);
        let (prefix, suffix, part) = (&mut self.prefix, &mut self.suffix, &mut self.part);
        prefix.clear();
        suffix.clear();
        let rng = &mut self.rng;

        if comment && rng.chance(0.6) {
            let reply = rng.pick(lex.replies);
            part.clear();
            part.push_str(reply);
            if lang == Lang::Zh && !reply.ends_with(['！', '？']) {
                part.push('，');
            }
            try_add(lang, prefix, part, &mut deco, room);
        }
        if rng.chance(MENTION_SHARE) {
            let count = if rng.chance(0.15) { 2 } else { 1 };
            let mut picked = [0usize; 2];
            part.clear();
            let style = rng.below(3);
            let mut to_prefix = style < 2;
            for (i, slot) in picked.iter_mut().take(count).enumerate() {
                match lang {
                    Lang::En => {
                        *slot = self.authors[1].pick_skewed(rng);
                        if i == 0 && !to_prefix {
                            part.push_str("cc ");
                        } else if i > 0 {
                            part.push(' ');
                        }
                        part.push('@');
                        part.push_str(&self.authors[1].items[*slot]);
                    }
                    Lang::Zh => {
                        *slot = rng.index(self.nicks.items.len());
                        let nick = &self.nicks.items[*slot];
                        match style {
                            0 => {
                                part.push('@');
                                part.push_str(nick);
                                part.push(' ');
                            }
                            1 if comment && i == 0 => {
                                part.push_str("回复@");
                                part.push_str(nick);
                                part.push(':');
                            }
                            1 => {
                                part.push('@');
                                part.push_str(nick);
                                part.push(' ');
                            }
                            _ => {
                                to_prefix = false;
                                part.push_str("//@");
                                part.push_str(nick);
                                part.push(':');
                                part.push_str(rng.pick(lex.replies));
                            }
                        }
                    }
                }
            }
            // Mentions lead (`@name Same here. …`, `回复@name:抱抱，…`) or close the text.
            let target = if to_prefix {
                &mut *prefix
            } else {
                &mut *suffix
            };
            if add_at(lang, target, part, &mut deco, room, to_prefix) {
                flags |= HAS_MENTION;
                for &i in &picked[..count] {
                    match lang {
                        Lang::En => self.mentioned_en[i] = true,
                        Lang::Zh => self.nicks.used[i] = true,
                    }
                }
            }
        }
        if lang == Lang::Zh && !comment && topics.n > 0 && rng.chance(0.5) {
            let tag = lex.themes[topics.theme as usize].topics[usize::from(topics.idx[0])];
            try_add(lang, prefix, tag, &mut deco, room);
        }
        if rng.chance(PII_SHARE) {
            let kind = match lang {
                Lang::En if rng.chance(0.55) => PiiKind::Email,
                Lang::En => PiiKind::IntlPhone,
                Lang::Zh => {
                    [PiiKind::Email, PiiKind::CnPhone, PiiKind::IdCard][rng.weighted(&[30, 45, 25])]
                }
            };
            let tpl = match (lang, kind) {
                (Lang::En, PiiKind::Email) => rng.pick(PII_EN_EMAIL),
                (Lang::En, _) => rng.pick(PII_EN_PHONE),
                (Lang::Zh, PiiKind::Email) => rng.pick(PII_ZH_EMAIL),
                (Lang::Zh, PiiKind::IdCard) => rng.pick(PII_ZH_ID),
                (Lang::Zh, _) => rng.pick(PII_ZH_PHONE),
            };
            let i = self.pii.pick(kind, rng);
            let (before, after) = tpl.split_once("{pii}").unwrap_or((tpl, ""));
            part.clear();
            part.push_str(before);
            part.push_str(&self.pii.items[i]);
            part.push_str(after);
            if try_add(lang, suffix, part, &mut deco, room) {
                self.pii.used[i] = true;
                flags |= HAS_PII;
            }
        }
        if rng.chance(URL_SHARE) {
            part.clear();
            let (base, n) = rng.pick(if lang == Lang::En { URL_EN } else { URL_ZH });
            if lang == Lang::Zh {
                part.push(' ');
            }
            part.push_str(base);
            push_alnum(part, rng, n);
            if base.contains("/comments/") {
                part.push('/');
            }
            if lang == Lang::Zh {
                part.push(' ');
            }
            if try_add(lang, suffix, part, &mut deco, room) {
                flags |= HAS_URL;
            }
        }
        if rng.chance(if lang == Lang::En { 0.2 } else { 0.3 }) {
            part.clear();
            let e = rng.pick(lex.emoji);
            for _ in 0..rng.range(1, 3) {
                part.push_str(e);
            }
            try_add(lang, suffix, part, &mut deco, room);
        }

        let body_min = min.saturating_sub(deco).max(min_body);
        let body_max = max - reserve - deco;
        let casual = lang == Lang::En && rng.chance(0.25);
        let text = &mut self.text;
        text.push_str(prefix);
        if lang == Lang::En && !prefix.is_empty() {
            text.push(' ');
        }
        let body_start = text.len();
        compose(
            rng,
            lang,
            theme,
            body_min,
            body_max,
            casual,
            text,
            &mut self.scratch,
        );
        // Scraped text is not always clean: a few HTML entities and zero-width spaces.
        if rng.chance(0.01) {
            match lang {
                Lang::En => {
                    if let Some(at) = find_word(&text[body_start..], "and", true) {
                        text.replace_range(body_start + at..body_start + at + 3, "&amp;");
                    }
                }
                Lang::Zh => {
                    let at = text[body_start..].chars().next().map_or(0, char::len_utf8);
                    text.insert(body_start + at, '\u{200b}');
                }
            }
        }
        if !suffix.is_empty() {
            if lang == Lang::En {
                text.push(' ');
            }
            text.push_str(suffix);
        }

        let slot = self.recent[li].push_with(|| Recent {
            text: String::new(),
            theme,
            flags: 0,
        });
        slot.text.clear();
        slot.text.push_str(&self.text);
        slot.theme = theme;
        slot.flags = flags;
        self.count_flags(flags);
        theme
    }

    fn count_flags(&mut self, flags: u8) {
        self.stats.with_mentions += u64::from(flags & HAS_MENTION != 0);
        self.stats.with_pii += u64::from(flags & HAS_PII != 0);
        self.stats.with_urls += u64::from(flags & HAS_URL != 0);
    }

    /// Turns the copied text in `self.text` into a near duplicate: one word swapped, or a
    /// short suffix (`+1`, `转发`) appended.
    fn near_edit(&mut self, lang: Lang) {
        let lex = lang.lexicon();
        if self.rng.chance(0.5) {
            let n = lex.swaps.len();
            let first = self.rng.index(n);
            for k in 0..n {
                let (from, to) = lex.swaps[(first + k) % n];
                if let Some(at) = find_word(&self.text, from, lang == Lang::En) {
                    self.text.replace_range(at..at + from.len(), to);
                    return;
                }
            }
        }
        if lang == Lang::En {
            self.text.push(' ');
        }
        self.text.push_str(self.rng.pick(lex.near_suffixes));
    }

    fn post_time(&mut self, lang: Lang, theme: Theme) -> i64 {
        let day = self.rng.below((self.span / 86_400) as u64) as i64;
        let hours = if theme.is_nocturnal() && self.rng.chance(0.6) {
            &HOURS_NIGHT
        } else {
            &HOURS_DAY
        };
        let hour = self.rng.weighted(hours) as i64;
        let local = day * 86_400 + hour * 3600 + self.rng.below(3600) as i64;
        let utc_offset = match lang {
            Lang::Zh => 8 * 3600,
            Lang::En => -5 * 3600,
        };
        self.start + (local - utc_offset).rem_euclid(self.span)
    }

    fn reply_time(&mut self, parent_ts: i64) -> i64 {
        let r = self.rng.f64();
        let delay = if r < 0.7 {
            self.rng.range(30, 3 * 3600)
        } else if r < 0.95 {
            self.rng.range(3 * 3600, 86_400)
        } else {
            self.rng.range(86_400, 3 * 86_400)
        };
        (parent_ts + delay as i64).min(self.start + self.span - 1)
    }

    fn log_uniform(&mut self, lo: f64, hi: f64) -> u64 {
        (lo * (hi / lo).powf(self.rng.f64())) as u64
    }

    fn push_counts(&mut self, out: &mut String, lang: Lang, comment: bool) {
        let weibo = lang == Lang::Zh && self.opts.weibo_style_counts;
        let mut styled = false;
        let r = self.rng.f64();
        if comment {
            let like = if r < 0.7 {
                self.rng.below(6)
            } else if r < 0.95 {
                self.log_uniform(5.0, 300.0)
            } else {
                self.log_uniform(300.0, 20_000.0)
            };
            let replies = if self.rng.chance(0.8) {
                self.rng.below(3)
            } else {
                self.rng.range(3, 40)
            };
            out.push_str(",\"like_count\":");
            self.push_count(out, like, weibo, "赞", &mut styled);
            out.push_str(",\"comment_count\":");
            self.push_count(out, replies, weibo, "评论", &mut styled);
        } else {
            let like = if r < 0.5 {
                self.rng.below(11)
            } else if r < 0.8 {
                self.log_uniform(10.0, 1_000.0)
            } else if r < 0.95 {
                self.log_uniform(1_000.0, 20_000.0)
            } else if r < 0.99 {
                self.log_uniform(20_000.0, 300_000.0)
            } else {
                self.log_uniform(300_000.0, 3_000_000.0)
            };
            let reposts = (like as f64 * 0.3 * self.rng.f64()) as u64;
            let comments = (like as f64 * (0.02 + 0.2 * self.rng.f64())) as u64 + self.rng.below(3);
            out.push_str(",\"like_count\":");
            self.push_count(out, like, weibo, "赞", &mut styled);
            out.push_str(",\"repost_count\":");
            self.push_count(out, reposts, weibo, "转发", &mut styled);
            out.push_str(",\"comment_count\":");
            self.push_count(out, comments, weibo, "评论", &mut styled);
        }
        self.stats.weibo_style_counts += u64::from(styled);
    }

    /// A count, as a number or (Weibo style) as `"赞"` for zero, `"1.2万"`, `"100万+"` or
    /// a quoted number.
    fn push_count(
        &mut self,
        out: &mut String,
        v: u64,
        weibo: bool,
        zero_word: &str,
        styled: &mut bool,
    ) {
        if !weibo {
            json::push_u64(out, v);
            return;
        }
        let r = self.rng.f64();
        *styled = true;
        if v == 0 && r < 0.4 {
            json::push_str(out, zero_word);
        } else if v >= 1_000_000 && r < 0.7 {
            out.push_str("\"100万+\"");
        } else if v >= 10_000 && r < 0.8 {
            let tenths = v / 1000;
            out.push('"');
            json::push_u64(out, tenths / 10);
            let frac = tenths % 10;
            if frac > 0 {
                out.push('.');
                json::push_u64(out, frac);
            }
            out.push_str("万\"");
        } else if r > 0.96 {
            out.push('"');
            json::push_u64(out, v);
            out.push('"');
        } else {
            *styled = false;
            json::push_u64(out, v);
        }
    }
}

/// 10-digit Weibo uids, the first one fixed.
fn weibo_uids(rng: &mut Rng) -> Vec<String> {
    let mut seen = HashSet::with_capacity(AUTHORS_PER_LANG);
    let mut out = Vec::with_capacity(AUTHORS_PER_LANG);
    let mut next = "5123456789".to_string();
    while out.len() < AUTHORS_PER_LANG {
        if seen.insert(next.clone()) {
            out.push(next);
        }
        next = rng.range(1_000_000_000, 7_999_999_999).to_string();
    }
    out
}

/// Forum user names (`night_owl_92`, `SleepyOtter1994`, `throwaway_48213`), the first one
/// fixed; every name has a `_`, `-` or digit, so none is an ordinary word.
fn forum_names(rng: &mut Rng) -> Vec<String> {
    let mut seen = HashSet::with_capacity(AUTHORS_PER_LANG);
    let mut out = Vec::with_capacity(AUTHORS_PER_LANG);
    let mut next = "night_owl_92".to_string();
    let capital = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    };
    while out.len() < AUTHORS_PER_LANG {
        if seen.insert(next.clone()) {
            out.push(next);
        }
        let (adj, noun) = (rng.pick(EN_ADJ), rng.pick(EN_NOUN));
        next = match rng.below(6) {
            0 => format!("{adj}_{noun}"),
            1 => format!("{adj}_{noun}_{}", rng.range(10, 99)),
            2 => format!("{}{}{}", capital(adj), capital(noun), rng.range(1985, 2006)),
            3 => format!("throwaway_{}", rng.range(10_000, 99_999)),
            4 => format!("{adj}-{noun}-{}", rng.range(100, 9999)),
            _ => format!("{adj}{noun}_{}", rng.range(1, 999)),
        };
    }
    out
}

/// `n` deterministic English social-media-like texts of `min_words..=max_words` words
/// (whitespace-separated tokens), for embedding benchmarks: the generator's themes and
/// templates, no mentions, URLs or PII.
pub fn texts(seed: u64, n: usize, min_words: usize, max_words: usize) -> Vec<String> {
    let mut rng = Rng::new(seed, 2);
    let mut scratch = String::new();
    let max_words = max_words.max(1);
    let min_words = min_words.clamp(1, max_words);
    let emoji = crate::en::LEXICON.emoji;
    (0..n)
        .map(|_| {
            let theme = Theme::sample(&mut rng);
            let with_emoji = max_words > min_words && rng.chance(0.15);
            let casual = rng.chance(0.25);
            let mut s = String::with_capacity(max_words * 7);
            let (lo, hi) = if with_emoji {
                (min_words.saturating_sub(1), max_words - 1)
            } else {
                (min_words, max_words)
            };
            compose(
                &mut rng,
                Lang::En,
                theme,
                lo,
                hi,
                casual,
                &mut s,
                &mut scratch,
            );
            if with_emoji {
                s.push(' ');
                s.push_str(rng.pick(emoji));
            }
            s
        })
        .collect()
}
