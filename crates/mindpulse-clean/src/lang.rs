//! Language identification for posts, tuned for short social-media text and for speed
//! (it runs on every post).
//!
//! A cheap pass over the characters settles CJK text (by far the most common case for
//! Weibo) by script alone. Latin-script text is scored on function words and telltale
//! letters (module `latin`), Cyrillic and Arabic script on telltale letters; only what remains
//! undecided goes to `whatlang`, which is accurate on longer text but costs ~0.5 µs per
//! character. URLs, @mentions, hashtags and digits are ignored throughout, since they say
//! nothing about the language of the post.

mod latin;

use std::sync::LazyLock;

use crate::chars::{is_common_han, is_han, is_hangul, is_kana, is_letter};
use whatlang::{Detector, Lang};

/// Minimum whatlang confidence accepted when its answer is not flagged reliable.
const MIN_CONFIDENCE: f64 = 0.5;
/// Letters needed before any answer is given.
const MIN_LETTERS: u32 = 3;
/// Letters needed before whatlang is asked about Latin text (it is slow, ~0.5 µs per
/// character, and unreliable on shorter text).
const MIN_LETTERS_FOR_WHATLANG: u32 = 20;

static DETECTOR: LazyLock<Detector> = LazyLock::new(Detector::new);

/// Detects the language of `text`; ISO 639-1 code (`zh`, `en`, `ja`, …), or whatlang's
/// ISO 639-3 code for the few languages without one, or `None` when unsure.
///
/// Script rules come first: kana → `ja`; Han ≥ 30 % of letters → `zh`; Hangul ≥ 30 % →
/// `ko`; fewer than 3 letters → `None`. (A lone `の` in Chinese text, common as slang,
/// does not make it Japanese: two or more kana making up 10 % of the CJK characters, or
/// half of them, do.) Latin-script text is scored on function words and telltale letters
/// for en, es, fr, de, pt, it, nl, id, tr, pl, sv and vi; Cyrillic and Arabic script by
/// telltale letters. Only what remains undecided goes to
/// whatlang, whose answer is kept when reliable or at least 0.5 confident. Short,
/// mostly-ASCII text nobody could decide is `en` when it has English function words.
pub fn detect_lang(text: &str) -> Option<&'static str> {
    let scan = Scan::new(text);
    let c = &scan.counts;
    if c.letters < MIN_LETTERS {
        return None;
    }
    if japanese_by_kana(c.kana, c.han) {
        return Some("ja");
    }
    if c.han * 10 >= c.letters * 3 && c.han >= c.hangul {
        return Some("zh");
    }
    if c.hangul * 10 >= c.letters * 3 {
        return Some("ko");
    }
    if c.latin * 2 >= c.letters {
        return latin_lang(&scan);
    }
    let text = scan.text();
    if c.cyrillic * 2 >= c.letters {
        if let Some(lang) = cyrillic_by_letters(&text) {
            return Some(lang);
        }
    } else if c.arabic * 2 >= c.letters {
        return Some(arabic_by_letters(&text));
    }
    whatlang_lang(&text)
}

/// Japanese when kana make up at least 10 % of the CJK characters and there are two or
/// more, or when kana are at least half of them.
fn japanese_by_kana(kana: u32, han: u32) -> bool {
    let cjk = kana + han;
    kana > 0 && ((kana >= 2 && kana * 10 >= cjk) || kana * 2 >= cjk)
}

fn latin_lang(scan: &Scan<'_>) -> Option<&'static str> {
    let c = &scan.counts;
    let text = scan.text();
    let guess = latin::guess(&text);
    if guess.lang.is_some() {
        return guess.lang;
    }
    if c.letters >= MIN_LETTERS_FOR_WHATLANG {
        if let Some(lang) = whatlang_lang(&text) {
            return Some(lang);
        }
    }
    let mostly_ascii = c.ascii * 10 >= c.letters * 9;
    (mostly_ascii && guess.english >= 1.0 && guess.english * 5.0 >= guess.words as f32)
        .then_some("en")
}

fn whatlang_lang(text: &str) -> Option<&'static str> {
    let info = DETECTOR.detect(text)?;
    (info.is_reliable() || info.confidence() >= MIN_CONFIDENCE).then(|| iso639_1(info.lang()))
}

/// Russian, Ukrainian, Belarusian, Serbian or Macedonian from letters only one of them
/// uses; `None` (for whatlang) when there are none, e.g. Bulgarian.
fn cyrillic_by_letters(text: &str) -> Option<&'static str> {
    let (mut ru, mut uk, mut be, mut sr, mut mk) = (0, 0, 0, 0, 0);
    for c in text.chars() {
        match c {
            'ы' | 'Ы' | 'э' | 'Э' | 'ё' | 'Ё' => ru += 1,
            'і' | 'І' => {
                uk += 1;
                be += 1;
            }
            'ї' | 'Ї' | 'є' | 'Є' | 'ґ' | 'Ґ' => uk += 2,
            'ў' | 'Ў' => be += 2,
            'ђ' | 'Ђ' | 'ћ' | 'Ћ' => sr += 2,
            'ѓ' | 'Ѓ' | 'ќ' | 'Ќ' | 'ѕ' | 'Ѕ' => mk += 2,
            'ј' | 'Ј' | 'љ' | 'Љ' | 'њ' | 'Њ' | 'џ' | 'Џ' => {
                sr += 1;
                mk += 1;
            }
            _ => {}
        }
    }
    // Russian only when nothing else shows; ы and э also occur in Belarusian.
    if uk + be + sr + mk == 0 {
        return (ru > 0).then_some("ru");
    }
    let best = [("uk", uk), ("be", be), ("sr", sr), ("mk", mk)]
        .into_iter()
        .max_by_key(|&(_, n)| n)?;
    let tied = [uk, be, sr, mk].iter().filter(|&&n| n == best.1).count() > 1;
    (!tied).then_some(best.0)
}

/// Persian and Urdu from their extra letters, else Arabic.
fn arabic_by_letters(text: &str) -> &'static str {
    let (mut fa, mut ur) = (0, 0);
    for c in text.chars() {
        match c {
            'ٹ' | 'ڈ' | 'ڑ' | 'ں' | 'ے' | 'ہ' | 'ھ' => ur += 1,
            'پ' | 'چ' | 'ژ' | 'گ' => {
                fa += 1;
                ur += 1;
            }
            'ی' | 'ک' => fa += 1,
            _ => {}
        }
    }
    if ur > fa {
        "ur"
    } else if fa > 0 {
        "fa"
    } else {
        "ar"
    }
}

/// Letter counts by script.
#[derive(Default, Debug)]
struct Counts {
    letters: u32,
    ascii: u32,
    latin: u32,
    cyrillic: u32,
    arabic: u32,
    han: u32,
    kana: u32,
    hangul: u32,
}

/// Letter counts of a text with URLs, mentions and hashtags skipped.
struct Scan<'a> {
    counts: Counts,
    source: &'a str,
    skipped: bool,
}

impl<'a> Scan<'a> {
    fn new(source: &'a str) -> Self {
        let mut counts = Counts::default();
        let mut skipped = false;
        scan_spans(
            source,
            |c| count_char(&mut counts, c),
            |_, _| skipped = true,
        );
        Scan {
            counts,
            source,
            skipped,
        }
    }

    /// The text without the skipped spans (each replaced by a space).
    fn text(&self) -> std::borrow::Cow<'a, str> {
        if !self.skipped {
            return std::borrow::Cow::Borrowed(self.source);
        }
        let mut kept = String::with_capacity(self.source.len());
        let mut from = 0;
        scan_spans(
            self.source,
            |_| {},
            |start, end| {
                kept.push_str(&self.source[from..start]);
                kept.push(' ');
                from = end;
            },
        );
        kept.push_str(&self.source[from..]);
        std::borrow::Cow::Owned(kept)
    }
}

/// Calls `on_char` for each character outside URLs, @mentions and hashtags, and
/// `on_skip(start, end)` for each of those spans.
fn scan_spans(text: &str, mut on_char: impl FnMut(char), mut on_skip: impl FnMut(usize, usize)) {
    let b = text.as_bytes();
    let mut skip_to = 0;
    for (i, c) in text.char_indices() {
        if i < skip_to {
            continue;
        }
        let end = match c {
            '@' => Some(skip_mention(text, i)),
            '#' => Some(skip_hashtag(text, i)),
            'h' | 'H' | 'w' | 'W' if at_word_start(b, i) => url_end(text, i),
            _ => None,
        };
        match end {
            Some(end) => {
                on_skip(i, end);
                skip_to = end;
            }
            None => on_char(c),
        }
    }
}

fn count_char(counts: &mut Counts, c: char) {
    if c.is_ascii() {
        if c.is_ascii_alphabetic() {
            counts.letters += 1;
            counts.ascii += 1;
            counts.latin += 1;
        }
        return;
    }
    if is_common_han(c) {
        counts.han += 1;
        counts.letters += 1;
    } else if is_kana(c) {
        counts.kana += 1;
        counts.letters += 1;
    } else if is_han(c) {
        counts.han += 1;
        counts.letters += 1;
    } else if is_hangul(c) {
        counts.hangul += 1;
        counts.letters += 1;
    } else if is_letter(c) {
        counts.letters += 1;
        match c {
            '\u{400}'..='\u{52F}' => counts.cyrillic += 1,
            '\u{600}'..='\u{6FF}' | '\u{750}'..='\u{77F}' => counts.arabic += 1,
            c if latin::is_latin(c) => counts.latin += 1,
            _ => {}
        }
    }
}

fn at_word_start(b: &[u8], i: usize) -> bool {
    i == 0 || !b[i - 1].is_ascii_alphanumeric()
}

/// End of the URL starting at `i` (`http://`, `https://`, `www.`), if one starts there.
pub(crate) fn url_end(text: &str, i: usize) -> Option<usize> {
    let rest = &text.as_bytes()[i..];
    let prefix = |p: &[u8]| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p);
    if !(prefix(b"http://") || prefix(b"https://") || prefix(b"www.")) {
        return None;
    }
    let len = rest
        .iter()
        .position(|&c| !c.is_ascii_graphic())
        .unwrap_or(rest.len());
    Some(i + len)
}

/// End of the @mention starting at `i`: up to 30 name characters (as the redactor
/// reads them), plus a Mastodon `@instance.tld`.
fn skip_mention(text: &str, i: usize) -> usize {
    let mut end = i + 1;
    for (n, c) in text[i + 1..].chars().enumerate() {
        let name_char = is_letter(c) || c.is_ascii_digit() || c == '_' || c == '-';
        if (name_char && n < 30) || (c.is_ascii_alphanumeric() || c == '@' || c == '.') {
            end += c.len_utf8();
        } else {
            break;
        }
    }
    end
}

/// End of the hashtag starting at `i`: Weibo `#topic#` when closed on the same line within
/// 64 bytes, else `#tag` up to the next blank.
fn skip_hashtag(text: &str, i: usize) -> usize {
    let rest = &text.as_bytes()[i + 1..];
    let window = &rest[..rest.len().min(64)];
    for (j, &c) in window.iter().enumerate() {
        match c {
            b'#' => return i + 2 + j,
            b'\n' => break,
            _ => {}
        }
    }
    let len = text[i + 1..]
        .char_indices()
        .find(|&(_, c)| c.is_whitespace())
        .map_or(text.len() - i - 1, |(j, _)| j);
    i + 1 + len
}

/// Normalizes a language code given by the source to lowercase ISO 639-1 (`zh-CN` → `zh`,
/// `eng` → `en`, `cmn` → `zh`); `None` when it is not a plausible code (`und`, `unknown`, …).
pub fn normalize_lang_code(code: &str) -> Option<String> {
    let primary = code.trim().split(['-', '_']).next().unwrap_or("");
    if !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let lower = primary.to_ascii_lowercase();
    match lower.len() {
        2 => Some(match lower.as_str() {
            // Withdrawn codes still found in old data.
            "iw" => "he".to_string(),
            "in" => "id".to_string(),
            "ji" => "yi".to_string(),
            _ => lower,
        }),
        3 => match lower.as_str() {
            "und" | "mul" | "zxx" | "mis" => None,
            "chi" | "zho" | "yue" | "wuu" => Some("zh".to_string()),
            "fre" => Some("fr".to_string()),
            "ger" => Some("de".to_string()),
            "per" | "fas" => Some("fa".to_string()),
            "dut" => Some("nl".to_string()),
            "cze" => Some("cs".to_string()),
            "gre" => Some("el".to_string()),
            "rum" => Some("ro".to_string()),
            "slo" => Some("sk".to_string()),
            "arm" => Some("hy".to_string()),
            "geo" => Some("ka".to_string()),
            "msa" | "may" => Some("ms".to_string()),
            "nor" | "nno" => Some("no".to_string()),
            other => Lang::from_code(other).map(|l| iso639_1(l).to_string()),
        },
        _ => None,
    }
}

/// ISO 639-1 code of a whatlang language, or its ISO 639-3 code when there is none.
fn iso639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_by_script() {
        assert_eq!(detect_lang("今天心情很不好，不想说话"), Some("zh"));
        assert_eq!(detect_lang("今日はとても疲れました"), Some("ja"));
        assert_eq!(detect_lang("오늘은 정말 힘들었어요"), Some("ko"));
        assert_eq!(
            detect_lang("我の天啊今天真的太累了我想睡觉了明天见"),
            Some("zh")
        );
        assert_eq!(
            detect_lang("抑郁症 depression 焦虑失眠 anxiety 好难受"),
            Some("zh")
        );
    }

    #[test]
    fn ignores_mentions_urls_hashtags_and_digits() {
        assert_eq!(
            detect_lang("@someEnglishName http://example.com/abc 12345"),
            None
        );
        assert_eq!(
            detect_lang("#mentalhealth# @bob_smith 今天很难过 https://t.cn/A6xyz"),
            Some("zh")
        );
        assert_eq!(
            detect_lang("#抑郁症超话# I really feel so tired today"),
            Some("en")
        );
        assert_eq!(detect_lang("2025 11 22 ..."), None);
    }

    #[test]
    fn latin_languages() {
        assert_eq!(
            detect_lang("I can't sleep again and I feel like nobody cares"),
            Some("en")
        );
        assert_eq!(
            detect_lang("No puedo dormir otra vez y siento que a nadie le importa"),
            Some("es")
        );
        assert_eq!(
            detect_lang("Je n'arrive pas à dormir et personne ne s'en soucie vraiment"),
            Some("fr")
        );
        assert_eq!(
            detect_lang("Ich kann wieder nicht schlafen und niemand interessiert sich dafür"),
            Some("de")
        );
        assert_eq!(
            detect_lang("Я снова не могу уснуть, и никому нет до этого дела"),
            Some("ru")
        );
        assert_eq!(
            detect_lang("لا أستطيع النوم مرة أخرى ولا أحد يهتم"),
            Some("ar")
        );
        assert_eq!(
            detect_lang("دوباره نمی‌توانم بخوابم و هیچ‌کس اهمیتی نمی‌دهد"),
            Some("fa")
        );
        assert_eq!(
            detect_lang("Я знову не можу заснути, і нікому немає діла"),
            Some("uk")
        );
        assert_eq!(detect_lang("Δεν μπορώ να κοιμηθώ ξανά"), Some("el"));
        assert_eq!(
            detect_lang("Não consigo dormir de novo e sinto que ninguém se importa"),
            Some("pt")
        );
        assert_eq!(
            detect_lang("Had a rough day at work, my boss yelled at me again"),
            Some("en")
        );
        // Long Latin text in a language without a word list goes to whatlang.
        assert_eq!(
            detect_lang("Nemůžu zase spát a nikoho to nezajímá, jsem z toho úplně vyčerpaný"),
            Some("cs")
        );
    }

    #[test]
    fn short_text() {
        assert_eq!(detect_lang("ok"), None);
        assert_eq!(detect_lang("so tired"), Some("en"));
        assert_eq!(detect_lang("lol xd"), None);
        assert_eq!(detect_lang("好"), None);
        assert_eq!(detect_lang("好累啊"), Some("zh"));
    }

    #[test]
    fn source_codes_are_normalized() {
        assert_eq!(normalize_lang_code("zh-CN").as_deref(), Some("zh"));
        assert_eq!(normalize_lang_code("zh_Hans").as_deref(), Some("zh"));
        assert_eq!(normalize_lang_code("EN").as_deref(), Some("en"));
        assert_eq!(normalize_lang_code("eng").as_deref(), Some("en"));
        assert_eq!(normalize_lang_code("cmn").as_deref(), Some("zh"));
        assert_eq!(normalize_lang_code("ger").as_deref(), Some("de"));
        assert_eq!(normalize_lang_code("und"), None);
        assert_eq!(normalize_lang_code("unknown"), None);
        assert_eq!(normalize_lang_code(""), None);
        assert_eq!(normalize_lang_code("12"), None);
    }
}
