//! Text normalization and exact-duplicate hashing.
//!
//! [`normalize_text`] turns text as it arrives from a platform (HTML entities, `<br />`,
//! zero-width characters, CRLF, runs of blanks) into one canonical form, so the same post
//! imported twice, or from two sources, yields the same string. [`hash_key`] and
//! [`content_hash`] go further for duplicate detection: case, blanks and punctuation are
//! dropped, so `Hello, world!` and `hello world` share a hash.

use std::borrow::Cow;

/// Normalizes post text.
///
/// * decodes HTML entities (named and numeric, `;`-terminated); `&nbsp;` and other Unicode
///   blanks (U+00A0, U+2000–U+200A, U+202F, U+205F, U+3000) become ordinary spaces;
/// * `<br>`, `<br/>`, `<br />` (any case) become a newline;
/// * removes zero-width and invisible format characters (U+200B–U+200F, U+202A–U+202E,
///   U+2060–U+2064, U+2066–U+2069, U+FEFF, U+00AD) and control characters other than
///   `\n` and `\t`, without leaving a gap (`a\u{200B}b` → `ab`); vertical tab and form
///   feed count as blanks;
/// * `\r\n`, `\r`, U+2028 and U+2029 become `\n`;
/// * every run of spaces/tabs becomes one space, blanks next to a line break are dropped,
///   runs of three or more line breaks become two; the result is trimmed.
///
/// Text that needs none of this is copied once into the returned `String`.
pub fn normalize_text(s: &str) -> String {
    let decoded: Cow<'_, str> = if s.as_bytes().contains(&b'&') {
        html_escape::decode_html_entities(s)
    } else {
        Cow::Borrowed(s)
    };
    let s = decoded.as_ref();
    let mut out = String::with_capacity(s.len());
    let mut ws = Blanks::default();
    // Visible characters are copied in runs: `run` is where the current run started.
    let mut run: Option<usize> = None;
    let mut skip_to = 0;
    for (i, c) in s.char_indices() {
        if i < skip_to {
            continue;
        }
        let mut class = classify(c);
        if class == Class::Lt {
            match br_tag_len(&s[i..]) {
                Some(n) => {
                    class = Class::Newline;
                    skip_to = i + n;
                }
                None => class = Class::Visible,
            }
        }
        if class == Class::Visible {
            if run.is_none() {
                ws.flush(&mut out);
                run = Some(i);
            }
            continue;
        }
        if let Some(start) = run.take() {
            out.push_str(&s[start..i]);
        }
        match class {
            Class::Blank => ws.space(),
            Class::Newline => ws.newline(),
            Class::Cr => {
                ws.newline();
                if s.as_bytes().get(i + 1) == Some(&b'\n') {
                    skip_to = i + 2;
                }
            }
            Class::Removed | Class::Visible | Class::Lt => {}
        }
    }
    if let Some(start) = run {
        out.push_str(&s[start..]);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Visible,
    Blank,
    Newline,
    Cr,
    /// `<`, maybe the start of a `<br>`.
    Lt,
    Removed,
}

#[inline]
fn classify(c: char) -> Class {
    if c.is_ascii() {
        return match c as u8 {
            b' ' | b'\t' | 0x0b | 0x0c => Class::Blank,
            b'\n' => Class::Newline,
            b'\r' => Class::Cr,
            b'<' => Class::Lt,
            0..=0x1f | 0x7f => Class::Removed,
            _ => Class::Visible,
        };
    }
    if crate::chars::is_common_han(c) {
        Class::Visible // CJK ideographs: the common case, decided without table lookups
    } else if matches!(c, '\u{2028}' | '\u{2029}') {
        Class::Newline
    } else if is_blank(c) {
        Class::Blank
    } else if is_removed(c) {
        Class::Removed
    } else {
        Class::Visible
    }
}

/// Pending blanks between two visible characters.
#[derive(Default)]
struct Blanks {
    space: bool,
    newlines: u8,
}

impl Blanks {
    fn space(&mut self) {
        self.space = true;
    }

    fn newline(&mut self) {
        self.newlines = self.newlines.saturating_add(1);
    }

    /// Writes the pending separator (nothing at the start of the text).
    fn flush(&mut self, out: &mut String) {
        if !out.is_empty() {
            if self.newlines > 0 {
                out.push('\n');
                if self.newlines > 1 {
                    out.push('\n');
                }
            } else if self.space {
                out.push(' ');
            }
        }
        self.space = false;
        self.newlines = 0;
    }
}

/// Length in bytes of a `<br>`, `<br/>` or `<br />` tag (any case) at the start of `s`.
fn br_tag_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 4 || !b[1].eq_ignore_ascii_case(&b'b') || !b[2].eq_ignore_ascii_case(&b'r') {
        return None;
    }
    let mut i = 3;
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    if b.get(i) == Some(&b'/') {
        i += 1;
    }
    (b.get(i) == Some(&b'>')).then_some(i + 1)
}

/// Spaces and tabs, and the Unicode blanks that should read as one.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    ) || (c.is_whitespace() && !matches!(c, '\n' | '\r'))
}

/// Invisible characters that are dropped without a trace.
fn is_removed(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{AD}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Duplicate key of normalized text: lowercase, without whitespace and punctuation.
///
/// Letters, digits, emoji and other symbols are kept; ASCII punctuation, general and
/// CJK/full-width punctuation are dropped.
pub fn hash_key(normalized: &str) -> String {
    let mut out = String::with_capacity(normalized.len());
    for_each_key_piece(normalized, |piece| out.push_str(piece));
    out
}

/// First 16 bytes of BLAKE3 over [`hash_key`] of the text (computed without building the key).
pub fn content_hash(normalized: &str) -> [u8; 16] {
    const BUF: usize = 512;
    let mut hasher = blake3::Hasher::new();
    let mut buf = [0u8; BUF];
    let mut len = 0;
    for_each_key_piece(normalized, |piece| {
        let p = piece.as_bytes();
        if len + p.len() > BUF {
            hasher.update(&buf[..len]);
            len = 0;
        }
        if p.len() > BUF {
            hasher.update(p);
        } else {
            buf[len..len + p.len()].copy_from_slice(p);
            len += p.len();
        }
    });
    hasher.update(&buf[..len]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    out
}

/// 32 lowercase hex characters.
pub fn hex16(bytes: &[u8; 16]) -> String {
    hex(bytes)
}

/// Lowercase hex of any byte slice.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Calls `f` with the pieces of the duplicate key of `s`, in order: runs of `s` that are
/// kept as they are, and lowercased characters.
fn for_each_key_piece(s: &str, mut f: impl FnMut(&str)) {
    let mut run = 0; // start of the run of unchanged characters
    for (i, c) in s.char_indices() {
        let unchanged = if c.is_ascii() {
            c.is_ascii_lowercase() || c.is_ascii_digit()
        } else {
            crate::chars::is_common_han(c) || (is_key_char(c) && is_own_lowercase(c))
        };
        if unchanged {
            continue;
        }
        if run < i {
            f(&s[run..i]);
        }
        run = i + c.len_utf8();
        if c.is_ascii_uppercase() || (!c.is_ascii() && is_key_char(c)) {
            let mut buf = [0u8; 16];
            let mut n = 0;
            crate::chars::lowercase(c, |l| {
                if n + l.len_utf8() <= buf.len() {
                    n += l.encode_utf8(&mut buf[n..]).len();
                }
            });
            if let Ok(piece) = std::str::from_utf8(&buf[..n]) {
                f(piece);
            }
        }
    }
    if run < s.len() {
        f(&s[run..]);
    }
}

/// A non-ASCII character that belongs in the duplicate key.
fn is_key_char(c: char) -> bool {
    !c.is_whitespace() && !is_punctuation(c) && !is_removed(c)
}

fn is_own_lowercase(c: char) -> bool {
    let mut same = true;
    let mut n = 0;
    crate::chars::lowercase(c, |l| {
        same &= l == c;
        n += 1;
    });
    same && n == 1
}

/// Non-ASCII punctuation: Latin-1, general punctuation, CJK and full-width forms.
pub(crate) fn is_punctuation(c: char) -> bool {
    matches!(
        c,
        '\u{A1}' | '\u{A7}' | '\u{AB}' | '\u{B6}' | '\u{B7}' | '\u{BB}' | '\u{BF}'
            | '\u{2010}'..='\u{2027}'
            | '\u{2030}'..='\u{205E}'
            | '\u{3001}'..='\u{3003}'
            | '\u{3008}'..='\u{3011}'
            | '\u{3014}'..='\u{301F}'
            | '\u{30FB}'
            | '\u{FE10}'..='\u{FE19}'
            | '\u{FE30}'..='\u{FE6B}'
            | '\u{FF01}'..='\u{FF0F}'
            | '\u{FF1A}'..='\u{FF20}'
            | '\u{FF3B}'..='\u{FF40}'
            | '\u{FF5B}'..='\u{FF65}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_entities_and_breaks() {
        assert_eq!(normalize_text("a &amp; b &lt;3"), "a & b <3");
        assert_eq!(normalize_text("&#x4e2d;&#25991;"), "中文");
        assert_eq!(normalize_text("a&nbsp;&nbsp;b"), "a b");
        assert_eq!(
            normalize_text("one<br>two<br />three<BR/>four"),
            "one\ntwo\nthree\nfour"
        );
        assert_eq!(normalize_text("a <b>bold</b> <brx>"), "a <b>bold</b> <brx>");
        assert_eq!(normalize_text("&unknown; & AT&T"), "&unknown; & AT&T");
    }

    #[test]
    fn removes_invisible_and_control_characters() {
        assert_eq!(
            normalize_text("he\u{200B}llo\u{FEFF} wor\u{AD}ld"),
            "hello world"
        );
        assert_eq!(normalize_text("\u{202E}abc\u{202C}\u{2060}"), "abc");
        assert_eq!(normalize_text("a\u{0007}b\u{0000}c\u{007F}"), "abc");
    }

    #[test]
    fn collapses_blanks_and_line_breaks() {
        assert_eq!(normalize_text("  a \t\t b  "), "a b");
        assert_eq!(normalize_text("a\r\nb\rc"), "a\nb\nc");
        assert_eq!(normalize_text("a\n\n\n\n\nb"), "a\n\nb");
        assert_eq!(normalize_text("a  \n \n  b"), "a\n\nb");
        assert_eq!(normalize_text("a\u{3000}\u{3000}b"), "a b");
        assert_eq!(normalize_text("\n\n  \t"), "");
        assert_eq!(normalize_text("今天 心情\t不好"), "今天 心情 不好");
    }

    #[test]
    fn clean_text_is_unchanged() {
        let s = "Just a normal post, nothing to fix. 没问题！";
        assert_eq!(normalize_text(s), s);
    }

    #[test]
    fn hash_key_ignores_case_blanks_and_punctuation() {
        assert_eq!(hash_key("Hello, world!"), "helloworld");
        assert_eq!(hash_key("hello world"), "helloworld");
        assert_eq!(hash_key("今天，很好！「真的」"), "今天很好真的");
        assert_eq!(hash_key("ÀB 😀"), "àb😀");
        assert_eq!(content_hash("Hello, world!"), content_hash("hello world"));
        assert_ne!(content_hash("hello world"), content_hash("hello word"));
    }

    #[test]
    fn content_hash_matches_blake3_of_key_for_long_text() {
        let text = "长文本 Long Text, ".repeat(100);
        let full = blake3::hash(hash_key(&text).as_bytes());
        assert_eq!(&content_hash(&text)[..], &full.as_bytes()[..16]);
    }

    #[test]
    fn hex16_is_lowercase() {
        let h = hex16(&[0xAB; 16]);
        assert_eq!(h.len(), 32);
        assert_eq!(h, "ab".repeat(16));
    }
}
