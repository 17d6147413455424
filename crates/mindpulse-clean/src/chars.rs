//! Character classification with fast paths for the scripts posts are written in.
//!
//! `char::is_alphabetic` and `char::to_lowercase` fall back to a table search (~20 ns) for
//! every non-ASCII character; on Chinese or Cyrillic text that dominated the cost of
//! cleaning. The common blocks are decided here by range checks, the rest by the standard
//! library.

/// CJK unified ideographs (main block and extension A): the bulk of Chinese text.
#[inline]
pub(crate) fn is_common_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

pub(crate) fn is_han(c: char) -> bool {
    is_common_han(c) || matches!(c, '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
}

pub(crate) fn is_kana(c: char) -> bool {
    matches!(c,
        '\u{3041}'..='\u{309F}'
        | '\u{30A0}'..='\u{30FA}'
        | '\u{30FC}'..='\u{30FF}'
        | '\u{31F0}'..='\u{31FF}'
        | '\u{FF66}'..='\u{FF9D}')
}

pub(crate) fn is_hangul(c: char) -> bool {
    matches!(c,
        '\u{AC00}'..='\u{D7AF}'
        | '\u{1100}'..='\u{11FF}'
        | '\u{3130}'..='\u{318F}')
}

/// Han, kana or Hangul.
#[inline]
pub(crate) fn is_cjk(c: char) -> bool {
    is_common_han(c) || (!c.is_ascii() && (is_kana(c) || is_hangul(c) || is_han(c)))
}

/// `char::is_alphabetic`, with range checks for Latin, Greek, Cyrillic and CJK.
#[inline]
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    match c {
        '\u{D7}' | '\u{F7}' => false,
        '\u{C0}'..='\u{24F}' => true,
        '\u{391}'..='\u{3A1}' | '\u{3A3}'..='\u{3CE}' => true,
        '\u{400}'..='\u{481}' | '\u{48A}'..='\u{52F}' => true,
        '\u{1E00}'..='\u{1EFF}' => true,
        // CJK and full-width punctuation
        '\u{3000}'..='\u{3004}' | '\u{3008}'..='\u{3020}' | '\u{FF01}'..='\u{FF20}' => false,
        '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | '\u{AC00}'..='\u{D7A3}' => true,
        c if is_common_han(c) => true,
        c => c.is_alphabetic(),
    }
}

/// `char::is_alphanumeric` with the same fast paths.
#[inline]
pub(crate) fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        is_letter(c) || (!is_cjk(c) && c.is_numeric())
    }
}

/// Calls `f` with the lowercase form of `c` (one or, rarely, more characters).
#[inline]
pub(crate) fn lowercase(c: char, mut f: impl FnMut(char)) {
    let simple = match c {
        'A'..='Z'
        | '\u{C0}'..='\u{D6}'
        | '\u{D8}'..='\u{DE}'
        | '\u{391}'..='\u{3A1}'
        | '\u{3A3}'..='\u{3AB}'
        | '\u{410}'..='\u{42F}' => char::from_u32(c as u32 + 0x20),
        '\u{400}'..='\u{40F}' => char::from_u32(c as u32 + 0x50),
        c if c.is_ascii() || is_cjk(c) => Some(c),
        '\u{DF}'..='\u{FF}' | '\u{3AC}'..='\u{3CE}' | '\u{430}'..='\u{45F}' => Some(c),
        _ => None,
    };
    match simple {
        Some(l) => f(l),
        None => c.to_lowercase().for_each(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_agree_with_std() {
        let ranges = [
            0u32..0x800,
            0x1E00..0x2100,
            0x3000..0xA000,
            0xAC00..0xD800,
            0xFF00..0xFFF0,
        ];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            assert_eq!(
                is_letter(c),
                c.is_alphabetic(),
                "is_letter {c:?} U+{:04X}",
                c as u32
            );
            assert_eq!(
                is_alnum(c),
                c.is_alphanumeric(),
                "is_alnum {c:?} U+{:04X}",
                c as u32
            );
            let mut ours = String::new();
            lowercase(c, |l| ours.push(l));
            assert_eq!(
                ours,
                c.to_lowercase().collect::<String>(),
                "lowercase U+{:04X}",
                c as u32
            );
        }
    }
}
