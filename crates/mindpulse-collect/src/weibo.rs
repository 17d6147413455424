//! Parsers for values as Weibo shows them: counts (`1.2万`, `100万+`, `转发`) and times
//! (`刚刚`, `5分钟前`, `昨天 12:30`, `11月22日 10:12`, `Sat Nov 22 10:12:33 +0800 2025`, …).
//!
//! This is the one shared, tested implementation: the file importers use it for every
//! count and time they read, and the Weibo crawler reuses it.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use std::borrow::Cow;

/// What the time parser accepts, for error messages.
pub const TIME_FORMS: &str = "刚刚, N秒前/N分钟前/N小时前/N天前, 今天/昨天/前天 HH:MM, \
MM月DD日 HH:MM, YYYY年MM月DD日 HH:MM, YYYY-MM-DD[ HH:MM[:SS]], MM-DD[ HH:MM], \
RFC 3339 (2025-11-22T10:12:33Z or +08:00), \"Sat Nov 22 10:12:33 +0800 2025\", \
or Unix seconds/milliseconds";

/// What the count parser accepts, for error messages.
pub const COUNT_FORMS: &str =
    "a whole number such as 1234, 1,234, 1.2万, 100万+, 3亿, 10w, 999+, or 转发/评论/赞 for zero";

/// A Weibo-style value that could not be parsed. The message says what was expected, not
/// what was found: a misplaced column can put post text (and whatever PII it holds) into a
/// count or time field, and messages end up in logs. The input is kept for callers; the
/// rejects file holds the whole record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("invalid count ({} characters): {problem}; expected {COUNT_FORMS}", input.chars().count())]
    Count { input: String, problem: String },
    #[error("invalid time ({} characters): {problem}; expected {TIME_FORMS}", input.chars().count())]
    Time { input: String, problem: String },
}

fn count_error(input: &str, problem: impl Into<String>) -> ValueError {
    ValueError::Count {
        input: input.to_string(),
        problem: problem.into(),
    }
}

fn time_error(input: &str, problem: impl Into<String>) -> ValueError {
    ValueError::Time {
        input: input.to_string(),
        problem: problem.into(),
    }
}

/// Maps full-width ASCII forms (`１２`, `：`, `，`, ideographic space) to ASCII.
pub fn normalize_width(s: &str) -> Cow<'_, str> {
    let needs = !s.is_ascii()
        && s.chars()
            .any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3000}');
    if !needs {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                '\u{3000}' => ' ',
                other => other,
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// Counts
// ---------------------------------------------------------------------------------------

/// Words Weibo (and some exports) show in place of a zero count, longest first so that
/// `Likes` is tried before `Like`.
const COUNT_WORDS: [&str; 10] = [
    "Comments", "Reposts", "Comment", "Repost", "Likes", "Like", "转发", "评论", "点赞", "赞",
];

/// Parses a count as Weibo displays it.
///
/// `""` → 0, `"1,234"` → 1234, `"1.2万"` → 12000, `"100万+"` → 1000000, `"3亿"`,
/// `"999+"` → 999, `"10w"` → 100000, full-width digits; the bare words Weibo shows
/// instead of zero (`转发`, `评论`, `赞`, `点赞`, `Like`, `Repost`, `Comment`) → 0, and a
/// number next to such a word (`"转发 12"`, `"评论 1.2万"`) → the number.
pub fn parse_count(s: &str) -> Result<i64, ValueError> {
    let norm = normalize_width(s);
    let t = strip_count_word(norm.trim());
    if t.is_empty() {
        return Ok(0);
    }
    parse_scaled_number(t).map_err(|problem| count_error(s, problem))
}

fn strip_count_word(t: &str) -> &str {
    for word in COUNT_WORDS {
        if let Some(rest) = strip_prefix_ignore_case(t, word) {
            return rest.trim_start_matches([':', ' ', '\t']).trim();
        }
        if let Some(rest) = strip_suffix_ignore_case(t, word) {
            return rest.trim_end_matches([':', ' ', '\t']).trim();
        }
    }
    t
}

fn strip_prefix_ignore_case<'a>(t: &'a str, word: &str) -> Option<&'a str> {
    let head = t.get(..word.len())?;
    head.eq_ignore_ascii_case(word).then(|| &t[word.len()..])
}

fn strip_suffix_ignore_case<'a>(t: &'a str, word: &str) -> Option<&'a str> {
    let cut = t.len().checked_sub(word.len())?;
    let tail = t.get(cut..)?;
    tail.eq_ignore_ascii_case(word).then(|| &t[..cut])
}

/// `1.2万+` and friends; the error is a short problem description.
fn parse_scaled_number(t: &str) -> Result<i64, String> {
    let t = t.strip_suffix('+').unwrap_or(t).trim_end();
    let (number, unit) = split_unit(t);
    let number = number.trim_end();
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    let int_digits: String = int_part.chars().filter(|&c| c != ',').collect();
    if int_digits.is_empty() && frac_part.is_empty() {
        return Err("no digits".into());
    }
    if !int_digits.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
        || int_part.starts_with(',')
    {
        return Err("not a number".into());
    }
    let overflow = || "number is too large".to_string();
    let int: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().map_err(|_| overflow())?
    };
    let mut value = int.checked_mul(unit).ok_or_else(overflow)?;
    // Exact decimal scaling: 1.15万 is 11500, not 11499.999….
    let mut scale = unit;
    for d in frac_part.bytes() {
        scale /= 10;
        if scale == 0 {
            if d != b'0' {
                return Err("a count cannot have a fraction".into());
            }
            continue;
        }
        value = value
            .checked_add(i64::from(d - b'0') * scale)
            .ok_or_else(overflow)?;
    }
    Ok(value)
}

fn split_unit(t: &str) -> (&str, i64) {
    const UNITS: [(&str, i64); 7] = [
        ("万", 10_000),
        ("亿", 100_000_000),
        ("千", 1_000),
        ("w", 10_000),
        ("W", 10_000),
        ("k", 1_000),
        ("K", 1_000),
    ];
    for (suffix, unit) in UNITS {
        if let Some(rest) = t.strip_suffix(suffix) {
            return (rest, unit);
        }
    }
    (t, 1)
}

// ---------------------------------------------------------------------------------------
// Verification labels
// ---------------------------------------------------------------------------------------

/// Maps a Weibo verification label (as written by weibo-search's `user_authentication`
/// column) or a numeric `verified_type` string to Weibo's `verified_type` number.
///
/// Weibo's scheme: -1 not verified; 0 a verified person; 1–7 organisations (government,
/// company, media, campus, website, app, group); 200/220 "达人". The labels map as
/// `普通用户` → -1, `黄V` → 0, `红V` (the orange V of high-influence people) → 0,
/// `金V` → 0 (both are people; Weibo tells them apart only in `verified_type_ext`),
/// `蓝V` → 1. A blue V only says "an organisation", not which kind, so 1 stands for
/// "some organisation" here: read 1–7 together, never 1 alone as "government".
/// Returns `None` for anything else.
pub fn verified_type_from_label(label: &str) -> Option<i64> {
    let t = label.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    match t {
        "普通用户" | "未认证" | "无" => Some(-1),
        "黄V" | "黄v" | "红V" | "红v" | "橙V" | "橙v" | "金V" | "金v" => Some(0),
        "蓝V" | "蓝v" => Some(1),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Times
// ---------------------------------------------------------------------------------------

/// A form matched but its values are impossible (e.g. month 13): the problem.
type FormResult = Result<Option<DateTime<Utc>>, String>;

/// Parses a time as Weibo (or a common export) writes it.
///
/// `now` anchors the relative forms; `local` is the timezone of local-time forms (Weibo:
/// UTC+8). See [`TIME_FORMS`] for the accepted forms. `MM月DD日` and `MM-DD` take the
/// current year in `local`, or the previous one if that would be more than a day in the
/// future. Digits alone are Unix seconds, or milliseconds from 10^11 on.
pub fn parse_time<Z: TimeZone + Copy>(
    s: &str,
    now: DateTime<Utc>,
    local: Z,
) -> Result<DateTime<Utc>, ValueError> {
    let norm = normalize_width(s);
    let t = norm.trim();
    if t.is_empty() {
        return Err(time_error(s, "empty"));
    }
    if let Some(t) = rfc3339_fast(t) {
        return Ok(t);
    }
    let forms: [&dyn Fn(&str) -> FormResult; 6] = [
        &|t| Ok(epoch_digits(t)),
        &|t| numeric_date(t, now, local),
        &|t| chinese_forms(t, now, local),
        &|t| Ok(weibo_api_form(t)),
        &|t| month_day_dash(t, now, local),
        &|t| Ok(rfc2822_form(t)),
    ];
    for form in forms {
        match form(t) {
            Ok(Some(time)) => return Ok(time),
            Ok(None) => continue,
            Err(problem) => return Err(time_error(s, problem)),
        }
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(time_error(
            s,
            "too few digits for a Unix timestamp (need at least 9)",
        ));
    }
    Err(time_error(s, "unrecognized form"))
}

/// The common exact RFC 3339 form (`2025-11-22T10:12:33Z`), via chrono's fast parser.
fn rfc3339_fast(t: &str) -> Option<DateTime<Utc>> {
    if t.len() < 20 || t.as_bytes()[10] != b'T' {
        return None;
    }
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Turns a Unix timestamp into a time: seconds, or milliseconds from 10^11 on.
pub fn from_epoch(n: i64) -> Option<DateTime<Utc>> {
    if n.unsigned_abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

/// Like [`from_epoch`] for a fractional number of seconds (Reddit's `1700000000.0`).
pub fn from_epoch_f64(x: f64) -> Option<DateTime<Utc>> {
    if !x.is_finite() || x.abs() >= 1e16 {
        return None;
    }
    if x.abs() >= 1e11 {
        return DateTime::from_timestamp_millis(x as i64);
    }
    let secs = x.floor();
    let nanos = ((x - secs) * 1e9).round().min(999_999_999.0) as u32;
    DateTime::from_timestamp(secs as i64, nanos)
}

/// `1763777553`, `1763777553123`, `1763777553.5`.
fn epoch_digits(t: &str) -> Option<DateTime<Utc>> {
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    let all_digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || int.len() < 9 || int.len() > 16 {
        return None;
    }
    match frac {
        None => from_epoch(int.parse().ok()?),
        Some(f) if all_digits(f) => from_epoch_f64(t.parse().ok()?),
        Some(_) => None,
    }
}

/// A tiny byte cursor for the hand-written forms (faster and clearer than regexes here).
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos == self.s.len()
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn eat_any(&mut self, lits: &[&str]) -> Option<usize> {
        lits.iter().position(|lit| self.eat(lit))
    }

    /// `min..=max` ASCII digits.
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let mut n: u32 = 0;
        let mut digits = 0;
        for &b in self.rest().as_bytes().iter().take(max.min(9)) {
            if !b.is_ascii_digit() {
                break;
            }
            n = n * 10 + u32::from(b - b'0');
            digits += 1;
        }
        if digits < min {
            return None;
        }
        self.pos += digits;
        Some(n)
    }

    /// Optional `[ ]HH:MM[:SS[.fff]]`; `Ok(None)` when absent, `Err` when malformed.
    fn time_of_day(&mut self) -> Result<Option<NaiveTime>, String> {
        let save = self.pos;
        self.skip_ws();
        if self.at_end() {
            self.pos = save;
            return Ok(None);
        }
        let Some(h) = self.number(1, 2) else {
            self.pos = save;
            return Ok(None);
        };
        if !self.eat(":") {
            self.pos = save;
            return Ok(None);
        }
        let m = self.number(2, 2).ok_or("minutes need two digits")?;
        let mut sec = 0;
        let mut nanos = 0;
        if self.eat(":") {
            sec = self.number(2, 2).ok_or("seconds need two digits")?;
            if self.eat(".") || self.eat(",") {
                let start = self.pos;
                let digits = self.number(1, 9).ok_or("empty fraction of a second")?;
                let len = (self.pos - start) as u32;
                nanos = digits * 10u32.pow(9 - len);
                // Ignore sub-nanosecond digits.
                while self.rest().starts_with(|c: char| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        NaiveTime::from_hms_nano_opt(h, m, sec, nanos)
            .map(Some)
            .ok_or_else(|| format!("{h:02}:{m:02}:{sec:02} is not a valid time of day"))
    }

    /// Optional `Z`, `+08:00`, `+0800`, `+08`, possibly after a space.
    fn offset(&mut self) -> Result<Option<FixedOffset>, String> {
        let save = self.pos;
        self.skip_ws();
        if self.eat("Z") || self.eat("z") || self.eat("UTC") || self.eat("GMT") {
            return Ok(FixedOffset::east_opt(0));
        }
        let sign = if self.eat("+") {
            1
        } else if self.eat("-") {
            -1
        } else {
            self.pos = save;
            return Ok(None);
        };
        let h = self.number(2, 2).ok_or("offset hours need two digits")?;
        self.eat(":");
        let m = self.number(2, 2).unwrap_or(0);
        FixedOffset::east_opt(sign * (h as i32 * 3600 + m as i32 * 60))
            .map(Some)
            .ok_or_else(|| "offset out of range".to_string())
    }
}

fn make_date(y: i32, m: u32, d: u32) -> Result<NaiveDate, String> {
    if !(1..=12).contains(&m) {
        return Err(format!("month {m} is out of range"));
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("{y:04}-{m:02}-{d:02} is not a date"))
}

/// A local time in `tz` as UTC; of the two readings of a time that repeats when clocks go
/// back, the earlier.
fn to_utc<Z: TimeZone>(ndt: NaiveDateTime, tz: Z) -> Result<DateTime<Utc>, String> {
    tz.from_local_datetime(&ndt)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("{ndt} does not exist in the time zone (clocks went forward)"))
}

/// `MM-DD` style dates have no year: the current year in `local`, unless that is more
/// than a day ahead of `now` (a post from last December read in January).
fn infer_year(
    m: u32,
    d: u32,
    time: NaiveTime,
    now: DateTime<Utc>,
    local: impl TimeZone + Copy,
) -> Result<DateTime<Utc>, String> {
    let year = now.with_timezone(&local).year();
    let this_year = make_date(year, m, d).and_then(|date| to_utc(date.and_time(time), local));
    match this_year {
        Ok(t) if t <= now + Duration::days(1) => Ok(t),
        _ => make_date(year - 1, m, d).and_then(|date| to_utc(date.and_time(time), local)),
    }
}

/// `YYYY-MM-DD`, `YYYY/MM/DD`, with optional `[ T]HH:MM[:SS[.f]]` and offset (RFC 3339
/// and most of ISO 8601). Without an offset the time is in `local`.
fn numeric_date(t: &str, _now: DateTime<Utc>, local: impl TimeZone + Copy) -> FormResult {
    let mut c = Cursor::new(t);
    let Some(y) = c.number(4, 4) else {
        return Ok(None);
    };
    let Some(sep) = c.eat_any(&["-", "/", "."]) else {
        return Ok(None);
    };
    let Some(m) = c.number(1, 2) else {
        return Ok(None);
    };
    if !c.eat(["-", "/", "."][sep]) {
        return Ok(None);
    }
    let Some(d) = c.number(1, 2) else {
        return Ok(None);
    };
    let date = make_date(y as i32, m, d)?;
    let _ = c.eat("T") || c.eat("t");
    let time = c.time_of_day()?.unwrap_or(NaiveTime::MIN);
    let offset = c.offset()?;
    c.skip_ws();
    if !c.at_end() {
        return Ok(None);
    }
    match offset {
        Some(offset) => to_utc(date.and_time(time), offset).map(Some),
        None => to_utc(date.and_time(time), local).map(Some),
    }
}

/// `MM-DD` and `MM-DD HH:MM` (Weibo mobile).
fn month_day_dash(t: &str, now: DateTime<Utc>, local: impl TimeZone + Copy) -> FormResult {
    let mut c = Cursor::new(t);
    let Some(m) = c.number(1, 2) else {
        return Ok(None);
    };
    if !c.eat("-") {
        return Ok(None);
    }
    let Some(d) = c.number(1, 2) else {
        return Ok(None);
    };
    let time = c.time_of_day()?.unwrap_or(NaiveTime::MIN);
    c.skip_ws();
    if !c.at_end() {
        return Ok(None);
    }
    infer_year(m, d, time, now, local).map(Some)
}

/// The forms with Chinese words: `刚刚`, `N分钟前`, `昨天 HH:MM`, `MM月DD日 HH:MM`,
/// `YYYY年MM月DD日 HH:MM`.
fn chinese_forms(t: &str, now: DateTime<Utc>, local: impl TimeZone + Copy) -> FormResult {
    if t == "刚刚" {
        return Ok(Some(now));
    }
    let mut c = Cursor::new(t);
    if let Some(day) = c.eat_any(&["今天", "昨天", "前天"]) {
        let time = c.time_of_day()?.unwrap_or(NaiveTime::MIN);
        c.skip_ws();
        if !c.at_end() {
            return Ok(None);
        }
        let date = now.with_timezone(&local).date_naive() - Duration::days(day as i64);
        return to_utc(date.and_time(time), local).map(Some);
    }
    let Some(first) = c.number(1, 4) else {
        return Ok(None);
    };
    c.skip_ws();
    if let Some(unit) = c.eat_any(&["秒", "分钟", "分", "小时", "天"]) {
        c.skip_ws();
        c.eat("前");
        if !c.at_end() {
            return Ok(None);
        }
        let n = i64::from(first);
        let ago = [
            Duration::seconds(n),
            Duration::minutes(n),
            Duration::minutes(n),
            Duration::hours(n),
            Duration::days(n),
        ][unit];
        return Ok(Some(now - ago));
    }
    let (year, month) = if c.eat("年") {
        c.skip_ws();
        let Some(m) = c.number(1, 2) else {
            return Ok(None);
        };
        (Some(first as i32), m)
    } else {
        (None, first)
    };
    c.skip_ws();
    if !c.eat("月") {
        return Ok(None);
    }
    c.skip_ws();
    let Some(d) = c.number(1, 2) else {
        return Ok(None);
    };
    if !(c.eat("日") || c.eat("号")) {
        return Ok(None);
    }
    let time = c.time_of_day()?.unwrap_or(NaiveTime::MIN);
    c.skip_ws();
    if !c.at_end() {
        return Ok(None);
    }
    match year {
        Some(y) => to_utc(make_date(y, month, d)?.and_time(time), local).map(Some),
        None => infer_year(month, d, time, now, local).map(Some),
    }
}

/// The Weibo API form `Sat Nov 22 10:12:33 +0800 2025`.
fn weibo_api_form(t: &str) -> Option<DateTime<Utc>> {
    if !t.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    DateTime::parse_from_str(t, "%a %b %d %H:%M:%S %z %Y")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// RFC 2822 (`Sat, 22 Nov 2025 10:12:33 +0800`), which some exports use.
fn rfc2822_form(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(t)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cst() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    /// 2025-11-22 10:00:00 in UTC+8.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 22, 2, 0, 0).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        cst()
            .with_ymd_and_hms(y, m, d, h, min, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn p(s: &str) -> DateTime<Utc> {
        parse_time(s, now(), cst()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn counts_plain_grouped_and_empty() {
        assert_eq!(parse_count("").unwrap(), 0);
        assert_eq!(parse_count("   ").unwrap(), 0);
        assert_eq!(parse_count("0").unwrap(), 0);
        assert_eq!(parse_count("42").unwrap(), 42);
        assert_eq!(parse_count("1,234").unwrap(), 1234);
        assert_eq!(parse_count("1,234,567").unwrap(), 1_234_567);
        assert_eq!(parse_count(" 17 ").unwrap(), 17);
        assert_eq!(parse_count("12.0").unwrap(), 12);
    }

    #[test]
    fn counts_with_units_and_plus() {
        assert_eq!(parse_count("1.2万").unwrap(), 12_000);
        assert_eq!(parse_count("1.15万").unwrap(), 11_500);
        assert_eq!(parse_count("100万+").unwrap(), 1_000_000);
        assert_eq!(parse_count("3亿").unwrap(), 300_000_000);
        assert_eq!(parse_count("1.5亿").unwrap(), 150_000_000);
        assert_eq!(parse_count("999+").unwrap(), 999);
        assert_eq!(parse_count("10w").unwrap(), 100_000);
        assert_eq!(parse_count("10W").unwrap(), 100_000);
        assert_eq!(parse_count("2.5k").unwrap(), 2_500);
        assert_eq!(parse_count("1.2 万").unwrap(), 12_000);
    }

    #[test]
    fn counts_full_width() {
        assert_eq!(parse_count("１２３").unwrap(), 123);
        assert_eq!(parse_count("１．２万").unwrap(), 12_000);
        assert_eq!(parse_count("\u{3000}１，２３４\u{3000}").unwrap(), 1234);
    }

    #[test]
    fn counts_words_mean_zero_or_label_a_number() {
        for w in [
            "转发", "评论", "赞", "点赞", "Like", "Repost", "Comment", "like", "Likes",
        ] {
            assert_eq!(parse_count(w).unwrap(), 0, "{w}");
        }
        assert_eq!(parse_count("转发 12").unwrap(), 12);
        assert_eq!(parse_count("评论 1.2万").unwrap(), 12_000);
        assert_eq!(parse_count("赞 3").unwrap(), 3);
        assert_eq!(parse_count("12 转发").unwrap(), 12);
        assert_eq!(parse_count("Like: 7").unwrap(), 7);
    }

    #[test]
    fn counts_reject_garbage_without_echoing_it() {
        for bad in [
            "abc",
            "12abc",
            "1.5",
            "--3",
            "-",
            "1.2.3万",
            ",12",
            "99999999999999999999",
        ] {
            let err = parse_count(bad).unwrap_err();
            let msg = err.to_string();
            assert!(!msg.contains(&format!("{bad:?}")), "{msg}");
            assert!(matches!(&err, ValueError::Count { input, .. } if input == bad));
            assert!(msg.contains("expected"), "{msg}");
        }
    }

    #[test]
    fn times_relative() {
        assert_eq!(p("刚刚"), now());
        assert_eq!(p("30秒前"), now() - Duration::seconds(30));
        assert_eq!(p("5分钟前"), now() - Duration::minutes(5));
        assert_eq!(p("5 分钟前"), now() - Duration::minutes(5));
        assert_eq!(p("5分钟"), now() - Duration::minutes(5));
        assert_eq!(p("3小时前"), now() - Duration::hours(3));
        assert_eq!(p("2天前"), now() - Duration::days(2));
        assert_eq!(p("１０分钟前"), now() - Duration::minutes(10));
    }

    #[test]
    fn times_day_words() {
        assert_eq!(p("今天 08:15"), at(2025, 11, 22, 8, 15, 0));
        assert_eq!(p("今天08:15"), at(2025, 11, 22, 8, 15, 0));
        assert_eq!(p("昨天 23:59"), at(2025, 11, 21, 23, 59, 0));
        assert_eq!(p("前天 00:01"), at(2025, 11, 20, 0, 1, 0));
        assert_eq!(p("昨天 9:05"), at(2025, 11, 21, 9, 5, 0));
    }

    #[test]
    fn times_day_words_use_the_local_date() {
        // 2025-11-22 20:00 UTC is already 11-23 in UTC+8.
        let late = Utc.with_ymd_and_hms(2025, 11, 22, 20, 0, 0).unwrap();
        let t = parse_time("昨天 12:00", late, cst()).unwrap();
        assert_eq!(t, at(2025, 11, 22, 12, 0, 0));
    }

    #[test]
    fn times_chinese_dates() {
        assert_eq!(p("11月20日 10:12"), at(2025, 11, 20, 10, 12, 0));
        assert_eq!(p("11月20日10:12"), at(2025, 11, 20, 10, 12, 0));
        // Tomorrow is still this year (within a day); far ahead means last year.
        assert_eq!(p("11月23日 09:00"), at(2025, 11, 23, 9, 0, 0));
        assert_eq!(p("12月31日 23:00"), at(2024, 12, 31, 23, 0, 0));
        assert_eq!(p("2024年01月05日 08:30"), at(2024, 1, 5, 8, 30, 0));
        assert_eq!(p("2024年1月5日"), at(2024, 1, 5, 0, 0, 0));
        assert_eq!(p("２０２４年１月５日 ０８：３０"), at(2024, 1, 5, 8, 30, 0));
    }

    #[test]
    fn times_numeric_local_forms() {
        assert_eq!(p("2025-11-22"), at(2025, 11, 22, 0, 0, 0));
        assert_eq!(p("2025-11-22 10:12"), at(2025, 11, 22, 10, 12, 0));
        assert_eq!(p("2025-11-22 10:12:33"), at(2025, 11, 22, 10, 12, 33));
        assert_eq!(p("2025/11/22 10:12"), at(2025, 11, 22, 10, 12, 0));
        assert_eq!(p("11-20"), at(2025, 11, 20, 0, 0, 0));
        assert_eq!(p("11-20 10:12"), at(2025, 11, 20, 10, 12, 0));
        assert_eq!(p("12-30 10:12"), at(2024, 12, 30, 10, 12, 0));
    }

    #[test]
    fn times_local_forms_follow_the_given_zone() {
        let utc = FixedOffset::east_opt(0).unwrap();
        let t = parse_time("2025-11-22 10:12", now(), utc).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2025, 11, 22, 10, 12, 0).unwrap());
    }

    #[test]
    fn times_rfc3339_and_iso() {
        let want = Utc.with_ymd_and_hms(2025, 11, 22, 2, 12, 33).unwrap();
        assert_eq!(p("2025-11-22T02:12:33Z"), want);
        assert_eq!(p("2025-11-22T10:12:33+08:00"), want);
        assert_eq!(p("2025-11-22T10:12:33+0800"), want);
        assert_eq!(p("2025-11-22 10:12:33 +08:00"), want);
        assert_eq!(p("2025-11-21T21:12:33-05:00"), want);
        assert_eq!(
            p("2025-11-22T02:12:33.250Z"),
            want + Duration::milliseconds(250)
        );
        // No offset: local time.
        assert_eq!(p("2025-11-22T10:12:33"), want);
    }

    #[test]
    fn times_weibo_api_and_rfc2822() {
        let want = Utc.with_ymd_and_hms(2025, 11, 22, 2, 12, 33).unwrap();
        assert_eq!(p("Sat Nov 22 10:12:33 +0800 2025"), want);
        assert_eq!(p("Sat, 22 Nov 2025 10:12:33 +0800"), want);
    }

    #[test]
    fn times_epoch_seconds_and_millis() {
        let want = Utc.with_ymd_and_hms(2025, 11, 22, 2, 12, 33).unwrap();
        let secs = want.timestamp();
        assert_eq!(p(&secs.to_string()), want);
        assert_eq!(p(&(secs * 1000).to_string()), want);
        assert_eq!(p(&format!("{secs}.5")), want + Duration::milliseconds(500));
        assert_eq!(from_epoch(secs), Some(want));
        assert_eq!(
            from_epoch(secs * 1000 + 7),
            Some(want + Duration::milliseconds(7))
        );
        assert_eq!(from_epoch_f64(secs as f64), Some(want));
    }

    #[test]
    fn times_reject_with_the_expected_forms_without_echoing_the_input() {
        for bad in [
            "yesterday",
            "2025-13-01",
            "2025-02-30",
            "13月01日 10:00",
            "2025-11-22 25:00",
            "12345",
            "刚刚好",
            "",
            "2025-11-22 10:12 extra",
        ] {
            let err = parse_time(bad, now(), cst()).unwrap_err();
            let msg = err.to_string();
            assert!(
                bad.is_empty() || !msg.contains(&format!("{bad:?}")),
                "{msg}"
            );
            assert!(msg.contains("YYYY-MM-DD"), "{msg}");
        }
        let msg = parse_time("2025-13-01", now(), cst())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("month 13"), "{msg}");
    }

    #[test]
    fn verified_labels() {
        assert_eq!(verified_type_from_label("普通用户"), Some(-1));
        assert_eq!(verified_type_from_label("黄V"), Some(0));
        assert_eq!(verified_type_from_label("红V"), Some(0));
        assert_eq!(verified_type_from_label("金V"), Some(0));
        assert_eq!(verified_type_from_label("蓝V"), Some(1));
        assert_eq!(verified_type_from_label(" 220 "), Some(220));
        assert_eq!(verified_type_from_label("紫V"), None);
    }
}
