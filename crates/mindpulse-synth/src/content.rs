//! Themes, lexicons and text composition.
//!
//! A text is built from whole sentences: [`compose`] draws a target length, then renders
//! sentence templates of the record's [`Theme`] (with an occasional generic filler such as
//! `Anyway.` / `算了。`) until the target is reached, never going past the maximum. Slots
//! (`{food}`, `{person}`, …) are filled from per-language lists, so a few hundred
//! templates yield a very large number of distinct texts.
//!
//! Lengths are counted in words (whitespace-separated tokens) for English and in
//! characters for Chinese.

use crate::rng::Rng;

/// Number of [`Theme`]s.
pub(crate) const THEME_COUNT: usize = 10;

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Theme {
    Daily,
    Work,
    Study,
    Sleep,
    Lonely,
    Happy,
    Sports,
    Food,
    /// Hopelessness, not wanting to go on, self-harm hints (non-graphic).
    Distress,
    /// Alcohol, cannabis, sleeping pills, smoking.
    Substance,
}

impl Theme {
    pub(crate) const ALL: [Theme; THEME_COUNT] = [
        Theme::Daily,
        Theme::Work,
        Theme::Study,
        Theme::Sleep,
        Theme::Lonely,
        Theme::Happy,
        Theme::Sports,
        Theme::Food,
        Theme::Distress,
        Theme::Substance,
    ];

    /// Shares in percent: distress 8 %, substance use 3 %.
    pub(crate) const WEIGHTS: [u32; THEME_COUNT] = [16, 14, 12, 11, 9, 10, 8, 9, 8, 3];

    pub(crate) fn sample(rng: &mut Rng) -> Theme {
        Theme::ALL[rng.weighted(&Theme::WEIGHTS)]
    }

    /// Themes whose posts cluster in the small hours.
    pub(crate) fn is_nocturnal(self) -> bool {
        matches!(
            self,
            Theme::Sleep | Theme::Distress | Theme::Substance | Theme::Lonely
        )
    }
}

/// Templates and topics of one theme in one language.
pub(crate) struct ThemeText {
    pub templates: &'static [&'static str],
    pub topics: &'static [&'static str],
}

/// Everything language-specific the generator draws from.
pub(crate) struct Lexicon {
    pub themes: [ThemeText; THEME_COUNT],
    /// Sentence openers (`Honestly,`, `说真的，`), prepended to some first sentences.
    pub openers: &'static [&'static str],
    /// Short generic sentences that fit any theme.
    pub fillers: &'static [&'static str],
    /// Comment openers (`Same here.`, `抱抱`).
    pub replies: &'static [&'static str],
    pub emoji: &'static [&'static str],
    /// Appended to make a near duplicate.
    pub near_suffixes: &'static [&'static str],
    /// One-word substitutions that make a near duplicate.
    pub swaps: &'static [(&'static str, &'static str)],
    pub slot: fn(&str) -> Option<&'static [&'static str]>,
}

/// A record's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Zh,
    En,
}

impl Lang {
    pub(crate) fn lexicon(self) -> &'static Lexicon {
        match self {
            Lang::Zh => &crate::zh::LEXICON,
            Lang::En => &crate::en::LEXICON,
        }
    }

    /// Length of `s` in this language's unit: words for English, characters for Chinese.
    pub(crate) fn units(self, s: &str) -> usize {
        match self {
            Lang::En => s.split_ascii_whitespace().count(),
            Lang::Zh => s.chars().count(),
        }
    }

    /// Separator between sentences and decorations.
    pub(crate) fn sep(self) -> &'static str {
        match self {
            Lang::En => " ",
            Lang::Zh => "",
        }
    }

    /// Index into per-language arrays.
    pub(crate) fn idx(self) -> usize {
        match self {
            Lang::Zh => 0,
            Lang::En => 1,
        }
    }
}

/// Appends `tpl` to `out` with every `{slot}` filled.
pub(crate) fn render(tpl: &str, lex: &Lexicon, rng: &mut Rng, out: &mut String) {
    let mut rest = tpl;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let name = &rest[open + 1..close];
        match (lex.slot)(name) {
            Some(fill) => out.push_str(rng.pick(fill)),
            None => {
                debug_assert!(false, "unknown slot {{{name}}}");
                out.push_str(name);
            }
        }
        rest = rest.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
}

/// Appends a text about `theme` of `min..=max` units (see [`Lang::units`]) to `out`,
/// using `scratch` as a buffer; returns the units appended. `casual` lower-cases English.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compose(
    rng: &mut Rng,
    lang: Lang,
    theme: Theme,
    min: usize,
    max: usize,
    casual: bool,
    out: &mut String,
    scratch: &mut String,
) -> usize {
    let max = max.max(1);
    let min = min.clamp(1, max);
    let lex = lang.lexicon();
    let templates = lex.themes[theme as usize].templates;
    // Skewed towards short texts, as on real platforms.
    let skew = rng.f64();
    let target = min + ((max - min) as f64 * skew * skew) as usize;
    let start = out.len();
    let mut units = 0;
    let mut misses = 0;
    // Templates already in this text (by address), so no sentence appears twice.
    let mut used: [*const u8; 24] = [std::ptr::null(); 24];
    let mut n_used = 0;
    // Most texts get at least two sentences, so that a long template alone does not
    // become a text that recurs verbatim.
    let min_pieces = if rng.chance(0.9) { 2 } else { 1 };
    let mut pieces = 0;
    while (units < target || pieces < min_pieces) && misses < 12 {
        let tpl: &str = if units > 0 && rng.chance(0.12) {
            rng.pick(lex.fillers)
        } else {
            rng.pick(templates)
        };
        if used[..n_used].contains(&tpl.as_ptr()) {
            misses += 1;
            continue;
        }
        scratch.clear();
        let opener = (units == 0 && rng.chance(0.4)).then(|| rng.pick(lex.openers));
        if let Some(opener) = opener {
            scratch.push_str(opener);
            scratch.push_str(lang.sep());
        }
        let at = scratch.len();
        render(tpl, lex, rng, scratch);
        if lang == Lang::En && scratch.len() > at {
            let b = scratch.as_bytes();
            // A sentence that starts with a slot (`{person} called …`) starts with a
            // capital; after an opener, only `I` and proper names do (`Honestly, my cat
            // …`, `Honestly, I …`, `Update: My cat …`).
            let lower = match opener {
                Some(o) => {
                    let keep = o.ends_with(':')
                        || (b[at] == b'I' && matches!(b.get(at + 1), Some(b' ' | b'\'')))
                        || b.get(at + 1).is_some_and(u8::is_ascii_uppercase);
                    !keep
                }
                None => false,
            };
            if lower {
                scratch[at..at + 1].make_ascii_lowercase();
            } else if tpl.starts_with('{') {
                scratch[at..at + 1].make_ascii_uppercase();
            }
        }
        let u = lang.units(scratch);
        if units + u > max {
            misses += 1;
            continue;
        }
        if out.len() > start {
            out.push_str(lang.sep());
        }
        out.push_str(scratch);
        units += u;
        pieces += 1;
        if n_used < used.len() {
            used[n_used] = tpl.as_ptr();
            n_used += 1;
        }
    }
    // A closing filler now and then.
    if units > 0 && rng.chance(0.15) {
        let filler = rng.pick(lex.fillers);
        let u = lang.units(filler);
        if units + u <= max {
            out.push_str(lang.sep());
            out.push_str(filler);
            units += u;
        }
    }
    // Too short (a narrow range, or long templates against a small maximum): pad with
    // fillers that fit, then with single words.
    let mut tries = 0;
    while units < min && tries < 20 {
        tries += 1;
        let filler = rng.pick(lex.fillers);
        let u = lang.units(filler);
        if units + u <= max {
            if out.len() > start {
                out.push_str(lang.sep());
            }
            out.push_str(filler);
            units += u;
        }
    }
    while units < min {
        match lang {
            Lang::En => {
                if out.len() > start {
                    out.push(' ');
                }
                out.push_str("ugh");
            }
            Lang::Zh => out.push('唉'),
        }
        units += 1;
    }
    if casual && lang == Lang::En {
        out[start..].make_ascii_lowercase();
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_resolves_and_templates_are_nonempty() {
        for lang in [Lang::Zh, Lang::En] {
            let lex = lang.lexicon();
            let all = lex
                .themes
                .iter()
                .flat_map(|t| t.templates.iter())
                .chain(lex.fillers);
            for tpl in all {
                let mut rest = *tpl;
                while let Some(open) = rest.find('{') {
                    let close = open + rest[open..].find('}').expect("closed slot");
                    let name = &rest[open + 1..close];
                    assert!(
                        (lex.slot)(name).is_some(),
                        "{lang:?}: unknown slot {name} in {tpl}"
                    );
                    rest = &rest[close + 1..];
                }
                assert!(!tpl.contains('"') && !tpl.contains('\\'), "{tpl}");
            }
            for t in &lex.themes {
                assert!(t.templates.len() >= 7 && !t.topics.is_empty());
            }
        }
    }

    #[test]
    fn compose_respects_bounds() {
        let mut rng = Rng::new(1, 0);
        let (mut out, mut scratch) = (String::new(), String::new());
        for i in 0..3_000 {
            let theme = Theme::ALL[i % THEME_COUNT];
            for (lang, min, max) in [
                (Lang::En, 10, 60),
                (Lang::Zh, 15, 120),
                (Lang::En, 3, 4),
                (Lang::Zh, 2, 3),
            ] {
                out.clear();
                let u = compose(
                    &mut rng,
                    lang,
                    theme,
                    min,
                    max,
                    i % 3 == 0,
                    &mut out,
                    &mut scratch,
                );
                assert_eq!(u, lang.units(&out), "{out}");
                assert!(
                    (min..=max).contains(&u),
                    "{lang:?} {min}..={max}: {u} in {out}"
                );
            }
        }
    }

    #[test]
    fn weights_sum_to_100() {
        assert_eq!(Theme::WEIGHTS.iter().sum::<u32>(), 100);
        assert_eq!(Theme::WEIGHTS[Theme::Distress as usize], 8);
        assert_eq!(Theme::WEIGHTS[Theme::Substance as usize], 3);
    }
}
