//! The word tokenizer shared by topic keywords and (later) BM25 search: Chinese and
//! English text in, lowercase content words out.
//!
//! Rules, in the order they apply while scanning the text once:
//!
//! - URLs (`http://…`, `https://…`, `www.…`, up to the next whitespace or non-ASCII
//!   character) are dropped;
//! - mentions (`@u_3fa9`, `@name`, `@user@instance.social`, `@张三`: the `@` and the run
//!   of letters, digits, `_`, `-`, `.` and `@` after it) are dropped;
//! - Han runs (CJK unified ideographs, extensions and compatibility ideographs) are
//!   segmented with jieba in precise mode with the HMM for unknown words (what Python's
//!   `jieba.cut(s)` does); tokens that are stopwords or only Han numerals are dropped,
//!   single-character tokens that are not stopwords are kept (累, 烦, 哭 carry meaning);
//! - other letter/digit runs (Latin, Cyrillic, …) are lowercased and split on everything
//!   that is not a letter or a digit, except an apostrophe (`'` or `’`) between two
//!   letters, so "don't" stays one token (and is a stopword) and "mom's" becomes "mom";
//!   tokens of one character, tokens without a letter (numbers) and stopwords are dropped;
//! - everything else (`#`, punctuation, emoji, symbols, whitespace) separates tokens.
//!
//! The stopword lists are in [`crate::stopwords`]; [`is_stopword`] checks both.

use std::collections::HashSet;
use std::sync::OnceLock;

use jieba_rs::Jieba;

use crate::stopwords::{CHINESE, ENGLISH};

/// The tokenizer: holds the jieba segmenter with its embedded dictionary. Building one
/// loads the dictionary (a fraction of a second); build it once and share it.
pub struct Words {
    jieba: Jieba,
}

impl std::fmt::Debug for Words {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Words { jieba }")
    }
}

impl Default for Words {
    fn default() -> Self {
        Self::new()
    }
}

fn stopwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| ENGLISH.iter().chain(CHINESE.iter()).copied().collect())
}

/// Whether `word` (lowercase) is on the English or the Chinese stopword list.
pub fn is_stopword(word: &str) -> bool {
    stopwords().contains(word)
}

/// Whether `c` is a Han ideograph (CJK unified ideographs, extensions A–F, compatibility).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF | 0x30000..=0x3134F)
}

fn is_han_numeral(c: char) -> bool {
    "〇零一二三四五六七八九十百千万亿两".contains(c)
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

fn starts_url(rest: &str) -> bool {
    let head: String = rest.chars().take(8).flat_map(char::to_lowercase).collect();
    head.starts_with("http://") || head.starts_with("https://") || head.starts_with("www.")
}

impl Words {
    /// A tokenizer with jieba's default dictionary.
    pub fn new() -> Self {
        Self {
            jieba: Jieba::new(),
        }
    }

    /// The content words of `text`, in order, lowercase (see the module doc for the rules).
    pub fn words(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (pos, c) = chars[i];
            if c == '@' {
                i += 1;
                while i < chars.len() {
                    let c = chars[i].1;
                    if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@') {
                        i += 1;
                    } else {
                        break;
                    }
                }
            } else if is_han(c) {
                let start = pos;
                while i < chars.len() && is_han(chars[i].1) {
                    i += 1;
                }
                let end = chars.get(i).map_or(text.len(), |&(p, _)| p);
                self.push_han(&text[start..end], &mut out);
            } else if c.is_alphanumeric() {
                if starts_url(&text[pos..]) {
                    while i < chars.len() && chars[i].1.is_ascii() && !chars[i].1.is_whitespace() {
                        i += 1;
                    }
                    continue;
                }
                let mut token = String::new();
                while i < chars.len() {
                    let c = chars[i].1;
                    if c.is_alphanumeric() && !is_han(c) {
                        token.extend(c.to_lowercase());
                        i += 1;
                    } else if is_apostrophe(c)
                        && token.chars().last().is_some_and(char::is_alphabetic)
                        && chars
                            .get(i + 1)
                            .is_some_and(|&(_, n)| n.is_alphabetic() && !is_han(n))
                    {
                        token.push('\'');
                        i += 1;
                    } else {
                        break;
                    }
                }
                push_latin(token, &mut out);
            } else {
                i += 1;
            }
        }
        out
    }

    fn push_han(&self, run: &str, out: &mut Vec<String>) {
        for token in self.jieba.cut(run, true) {
            let w = token.word;
            if w.chars().all(is_han_numeral) || is_stopword(w) {
                continue;
            }
            out.push(w.to_string());
        }
    }
}

fn push_latin(mut token: String, out: &mut Vec<String>) {
    if is_stopword(&token) {
        return;
    }
    if let Some(stem) = token.strip_suffix("'s") {
        token = stem.to_string();
    }
    if token.chars().count() < 2 || !token.chars().any(char::is_alphabetic) || is_stopword(&token) {
        return;
    }
    out.push(token);
}

#[cfg(test)]
pub(crate) fn shared() -> &'static Words {
    static W: OnceLock<Words> = OnceLock::new();
    W.get_or_init(Words::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_sentence_keeps_content_words() {
        let w = shared().words("最近压力很大，每天失眠焦虑的");
        for want in ["压力", "失眠", "焦虑"] {
            assert!(w.iter().any(|t| t == want), "{want} missing in {w:?}");
        }
        for not in ["的", "很", "，"] {
            assert!(!w.iter().any(|t| t == not), "{not} kept in {w:?}");
        }
    }

    #[test]
    fn english_sentence_lowercases_and_drops_noise() {
        let w = shared().words(
            "I don't know... Can't SLEEP before my exams!!! 😭 #Anxiety @u_3fa9c @bob \
             https://t.co/xyz 2024 3 times, Mom's worried",
        );
        assert_eq!(
            w,
            ["know", "sleep", "exams", "anxiety", "times", "mom", "worried"]
        );
    }

    #[test]
    fn mixed_text_and_mentions() {
        let w = shared().words("@张三：今天又加班到12点，好累 burnout http://t.cn/A6x很好");
        assert!(w.contains(&"加班".to_string()), "{w:?}");
        assert!(w.contains(&"累".to_string()), "{w:?}");
        assert!(w.contains(&"burnout".to_string()), "{w:?}");
        assert!(!w
            .iter()
            .any(|t| t.contains("张三") || t.contains("12") || t.contains("t.cn")));
        assert!(
            !w.iter().any(|t| t.chars().any(|c| c.is_ascii_digit())),
            "{w:?}"
        );
    }

    #[test]
    fn stopwords_of_both_languages() {
        for w in ["the", "don't", "i'm", "的", "了", "我们", "什么"] {
            assert!(is_stopword(w), "{w}");
        }
        for w in ["anxiety", "焦虑"] {
            assert!(!is_stopword(w), "{w}");
        }
        assert!(shared().words("the of 的 了 一个 三 !!").is_empty());
    }
}
