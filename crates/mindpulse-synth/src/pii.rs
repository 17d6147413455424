//! Personal data the generator plants in texts: e-mail addresses (RFC 2606 `example.*`
//! domains only), mainland mobile numbers in the usual spellings (`13812345678`,
//! `138 1234 5678`, `+86 139-1234-5678`, `0086 13912345678`), international numbers from
//! ranges reserved for fiction (`+1 415 555 01xx`, `+44 20 7946 0xxx`) and 18-character
//! resident ID-card numbers with a valid birth date and ISO 7064 MOD 11-2 check character.
//!
//! Every pool starts with the fixed [`pii_samples`], so those strings can appear in any
//! generated stream; the rest of the pool is drawn from the seed.

use crate::rng::Rng;
use std::collections::HashSet;
use std::ops::Range;

/// Fixed PII strings, part of every generator's pool (see [`crate::Generator::pii_pool`]).
pub fn pii_samples() -> &'static [&'static str] {
    SAMPLES
}

const SAMPLES: &[&str] = &[
    "zhang.wei88@example.com",
    "13812345678",
    "+86 139-1234-5678",
    "+1 415 555 0134",
    "11010519491231002X",
];

/// Kinds of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PiiKind {
    Email,
    CnPhone,
    IntlPhone,
    IdCard,
}

/// ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID.
pub fn id_card_check_char(first17: &[u8; 17]) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d.wrapping_sub(b'0')) * w)
        .sum();
    CHECK[(sum % 11) as usize] as char
}

const AREAS: &[&str] = &[
    "110101", "110105", "110108", "310101", "310115", "440103", "440305", "330106", "320102",
    "510104", "420102", "500103", "610113", "210102", "370102", "350203", "430104", "410105",
];

const GIVEN: &[&str] = &[
    "zhang.wei",
    "li.na",
    "wang.fang",
    "liu.yang",
    "chen.jing",
    "yang.li",
    "zhao.lei",
    "huang.min",
    "zhou.jie",
    "wu.xiaoming",
    "xu.ting",
    "sun.hao",
    "jess.t",
    "mike.rowe",
    "sarah_k",
    "dan.h",
    "emily.r",
    "alex.p",
    "kim.lee",
    "j.martinez",
    "olivia.b",
    "sam.w",
];

const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
];

/// The pool of PII strings of one generator, by kind, with a record of which were emitted.
#[derive(Debug, Clone)]
pub(crate) struct PiiPool {
    pub items: Vec<String>,
    pub used: Vec<bool>,
    ranges: [Range<usize>; 4],
}

impl PiiPool {
    pub(crate) fn new(rng: &mut Rng) -> PiiPool {
        let mut items: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut ranges: [Range<usize>; 4] = Default::default();
        let kinds = [
            PiiKind::Email,
            PiiKind::CnPhone,
            PiiKind::IntlPhone,
            PiiKind::IdCard,
        ];
        for (k, kind) in kinds.into_iter().enumerate() {
            let begin = items.len();
            for s in SAMPLES.iter().filter(|s| classify_sample(s) == kind) {
                seen.insert(s.to_string());
                items.push(s.to_string());
            }
            let want = match kind {
                PiiKind::Email => 40,
                PiiKind::CnPhone => 40,
                PiiKind::IntlPhone => 16,
                PiiKind::IdCard => 30,
            };
            while items.len() - begin < want {
                let s = make(kind, rng);
                if seen.insert(s.clone()) {
                    items.push(s);
                }
            }
            ranges[k] = begin..items.len();
        }
        let used = vec![false; items.len()];
        PiiPool {
            items,
            used,
            ranges,
        }
    }

    /// Index of a random item of `kind` (the caller marks it used once it is written).
    pub(crate) fn pick(&self, kind: PiiKind, rng: &mut Rng) -> usize {
        let r = &self.ranges[kind as usize];
        r.start + rng.index(r.len())
    }
}

fn classify_sample(s: &str) -> PiiKind {
    if s.contains('@') {
        PiiKind::Email
    } else if s.starts_with("+86") || s.starts_with('1') && s.len() == 11 {
        PiiKind::CnPhone
    } else if s.starts_with('+') {
        PiiKind::IntlPhone
    } else {
        PiiKind::IdCard
    }
}

fn make(kind: PiiKind, rng: &mut Rng) -> String {
    match kind {
        PiiKind::Email => {
            let mut s = rng.pick(GIVEN).to_string();
            match rng.below(3) {
                0 => s.push_str(&rng.range(1, 99).to_string()),
                1 => s.push_str(&rng.range(1975, 2006).to_string()),
                _ => {}
            }
            s.push('@');
            s.push_str(rng.pick(DOMAINS));
            s
        }
        PiiKind::CnPhone => {
            let prefix = rng.pick(&[
                "130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "155", "157",
                "158", "159", "166", "177", "180", "186", "187", "188", "189", "199",
            ]);
            let (a, b) = (rng.below(10_000), rng.below(10_000));
            match rng.below(5) {
                0 | 1 => format!("{prefix}{a:04}{b:04}"),
                2 => format!("{prefix} {a:04} {b:04}"),
                3 => format!("+86 {prefix}-{a:04}-{b:04}"),
                _ => format!("+86{prefix}{a:04}{b:04}"),
            }
        }
        PiiKind::IntlPhone => {
            // 555-0100..0199 (North America) and 020 7946 0000..0999 (UK) are reserved for
            // fiction.
            let n = rng.below(100);
            match rng.below(3) {
                0 => format!(
                    "+1 {} 555 01{n:02}",
                    rng.pick(&["415", "212", "617", "206", "312"])
                ),
                1 => format!("+1-{}-555-01{n:02}", rng.pick(&["646", "510", "773"])),
                _ => format!("+44 20 7946 0{:03}", rng.below(1000)),
            }
        }
        PiiKind::IdCard => {
            let area = rng.pick(AREAS);
            let (y, m, d) = (rng.range(1965, 2006), rng.range(1, 12), rng.range(1, 28));
            let seq = rng.range(1, 999);
            let head = format!("{area}{y:04}{m:02}{d:02}{seq:03}");
            let mut first17 = [0u8; 17];
            first17.copy_from_slice(head.as_bytes());
            let mut s = head;
            s.push(id_card_check_char(&first17));
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent ISO 7064 MOD 11-2 check: Σ aᵢ·2^(18−i) over all 18 characters
    /// (X = 10) must be ≡ 1 (mod 11).
    fn mod11_2_ok(id: &str) -> bool {
        let b = id.as_bytes();
        b.len() == 18
            && b.iter()
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || (i == 17 && *c == b'X'))
            && b.iter().enumerate().fold(0u64, |acc, (i, &c)| {
                let v = if c == b'X' { 10 } else { u64::from(c - b'0') };
                (acc + v * (1u64 << (17 - i))) % 11
            }) == 1
    }

    #[test]
    fn samples_and_generated_ids_pass_the_checksum() {
        assert!(mod11_2_ok("11010519491231002X"));
        assert!(!mod11_2_ok("110105194912310021"));
        let pool = PiiPool::new(&mut Rng::new(3, 9));
        let ids: Vec<&String> = pool.items[pool.ranges[PiiKind::IdCard as usize].clone()]
            .iter()
            .collect();
        assert_eq!(ids.len(), 30);
        for id in ids {
            assert!(mod11_2_ok(id), "{id}");
            let (m, d): (u32, u32) = (id[10..12].parse().unwrap(), id[12..14].parse().unwrap());
            assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{id}");
        }
    }

    #[test]
    fn pool_has_every_kind_and_the_samples() {
        let pool = PiiPool::new(&mut Rng::new(3, 9));
        for s in pii_samples() {
            assert!(pool.items.iter().any(|i| i == s), "{s}");
        }
        let emails = &pool.items[pool.ranges[0].clone()];
        assert!(emails
            .iter()
            .all(|e| e.contains("@") && e.contains("example.")));
        let phones = &pool.items[pool.ranges[1].clone()];
        for p in phones {
            let digits: String = p.chars().filter(char::is_ascii_digit).collect();
            let national = digits
                .strip_prefix("86")
                .filter(|_| p.starts_with('+'))
                .unwrap_or(&digits);
            assert!(national.len() == 11 && national.starts_with('1'), "{p}");
        }
        let intl = &pool.items[pool.ranges[2].clone()];
        assert!(intl
            .iter()
            .all(|p| p.starts_with('+') && (p.contains("555") || p.contains("7946"))));
        let mut sorted = pool.items.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), pool.items.len());
    }
}
