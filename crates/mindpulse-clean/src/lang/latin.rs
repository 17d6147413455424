//! Fast identification of the common Latin-script languages from function words and
//! language-specific letters. Function words make up a third or more of any running text,
//! so a tweet-length post usually has several; this is both faster and, on short text,
//! more accurate than trigram statistics.

use std::collections::HashMap;

use crate::chars::{is_letter, lowercase};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

/// Languages scored here, by bit position in a word's language mask.
const LANGS: [&str; 12] = [
    "en", "es", "fr", "de", "pt", "it", "nl", "id", "tr", "pl", "sv", "vi",
];
const EN: usize = 0;

/// Function words per language (lowercase; `'` for apostrophes).
const WORDS: [(&str, &[&str]); 11] = [
    (
        "en",
        &[
            "the", "and", "is", "are", "was", "were", "be", "been", "being", "am", "to", "of",
            "for", "with", "this", "that", "it", "its", "you", "your", "my", "me", "i", "im",
            "i'm", "we", "they", "he", "she", "have", "has", "had", "not", "just", "what", "but",
            "at", "from", "will", "would", "can", "do", "does", "don't", "dont", "can't", "cant",
            "it's", "so", "all", "about", "if", "feel", "like", "get", "when", "how", "who", "why",
            "there", "their", "our", "them", "him", "her", "really", "want", "know", "think",
            "because", "an", "in", "no", "or", "by", "out", "up", "any", "much", "even", "never",
            "still", "every", "today", "tonight", "anyone", "nobody", "myself", "again", "help",
            "tired", "sad",
        ],
    ),
    (
        "es",
        &[
            "el", "la", "los", "las", "que", "de", "y", "en", "un", "una", "no", "es", "por",
            "para", "con", "se", "lo", "me", "mi", "mis", "pero", "más", "mas", "muy", "yo", "tu",
            "tú", "te", "le", "les", "del", "al", "este", "esta", "esto", "todo", "todos", "nada",
            "porque", "cuando", "como", "cómo", "estoy", "está", "estar", "hoy", "vez", "otra",
            "otro", "quiero", "siento", "nadie", "también", "ya", "hay", "eso", "ser", "sin",
            "sobre", "tengo", "tiene", "puedo", "nunca", "siempre", "qué", "él", "ella", "su",
            "sus", "fue", "era", "solo", "donde", "a", "o", "ni",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "de", "des", "et", "un", "une", "est", "je", "tu", "il", "elle",
            "nous", "vous", "pas", "ne", "que", "qui", "pour", "dans", "sur", "avec", "ce",
            "cette", "ces", "mais", "ou", "où", "mon", "ma", "mes", "du", "au", "aux", "suis",
            "c'est", "j'ai", "n'est", "très", "plus", "tout", "tous", "rien", "personne", "aussi",
            "toujours", "être", "avoir", "fait", "veux", "ai", "sont", "on", "se", "en", "lui",
            "leur", "y", "a", "moi", "toi", "ça", "si", "bien", "comme", "quand", "jamais", "l'",
            "d'", "j'", "n'", "qu'", "c'", "s'", "m'",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "ich", "nicht", "du", "er", "sie", "es", "wir",
            "ihr", "ein", "eine", "einen", "einem", "einer", "zu", "mit", "auf", "für", "von",
            "den", "dem", "des", "im", "auch", "aber", "so", "wie", "was", "noch", "nur", "schon",
            "mein", "meine", "mir", "mich", "kann", "bin", "hab", "habe", "hat", "sich", "dass",
            "daß", "wenn", "oder", "niemand", "wieder", "heute", "sehr", "immer", "nie", "kein",
            "keine", "nichts", "bei", "aus", "um", "am", "an", "in", "will", "weil", "sind", "war",
            "doch", "mal", "jetzt", "hier", "dich", "dir",
        ],
    ),
    (
        "pt",
        &[
            "o", "a", "os", "as", "que", "de", "e", "do", "da", "dos", "das", "em", "um", "uma",
            "não", "nao", "é", "eu", "você", "voce", "para", "com", "por", "mais", "muito", "meu",
            "minha", "se", "na", "no", "nos", "mas", "tudo", "nada", "ninguém", "ninguem",
            "também", "já", "hoje", "estou", "está", "sou", "quero", "sinto", "isso", "isto",
            "ele", "ela", "me", "te", "ao", "pra", "tá", "vou", "sempre", "nunca", "porque",
            "quando", "como", "ser", "foi", "tem", "só",
        ],
    ),
    (
        "it",
        &[
            "il", "lo", "la", "gli", "le", "di", "e", "che", "un", "una", "uno", "non", "è", "per",
            "con", "mi", "ti", "si", "ma", "sono", "ho", "io", "tu", "lui", "lei", "del", "della",
            "dei", "delle", "nel", "nella", "alla", "al", "anche", "più", "molto", "tutto",
            "tutti", "niente", "nessuno", "oggi", "sempre", "voglio", "questo", "questa", "perché",
            "perche", "come", "cosa", "sei", "ha", "hai", "mai", "ancora", "solo", "mio", "mia",
            "ci", "da", "in", "a", "l'", "d'", "c'", "un'", "dell'", "c'è", "i",
        ],
    ),
    (
        "nl",
        &[
            "de", "het", "een", "en", "van", "is", "ik", "je", "niet", "dat", "die", "op", "te",
            "met", "voor", "zijn", "maar", "ook", "wat", "er", "heb", "ben", "mijn", "naar", "nog",
            "wel", "geen", "kan", "dit", "om", "als", "bij", "zo", "hij", "zij", "we", "ze", "jij",
            "niks", "niemand", "vandaag", "altijd", "nooit", "echt", "heel", "moet", "wil", "in",
            "aan", "uit", "hoe",
        ],
    ),
    (
        "id",
        &[
            "yang", "dan", "di", "ke", "dari", "ini", "itu", "aku", "saya", "kamu", "tidak", "gak",
            "ga", "nggak", "enggak", "ada", "untuk", "dengan", "juga", "sudah", "udah", "akan",
            "bisa", "lagi", "banget", "karena", "tapi", "apa", "mau", "sama", "jadi", "aja",
            "kalau", "kalo", "kita", "mereka", "dia", "hari", "sangat", "sekali", "belum", "harus",
            "masih",
        ],
    ),
    (
        "tr",
        &[
            "ve", "bir", "bu", "da", "de", "ne", "için", "icin", "ben", "sen", "çok", "cok", "ama",
            "gibi", "daha", "değil", "degil", "var", "yok", "mi", "mı", "mu", "mü", "ile", "o",
            "şey", "kadar", "her", "bana", "beni", "benim", "sana", "seni", "artık", "hiç", "hep",
            "bugün", "neden", "nasıl", "diye", "olan", "oldu", "olarak",
        ],
    ),
    (
        "pl",
        &[
            "i", "w", "z", "na", "nie", "się", "sie", "to", "że", "ze", "jest", "do", "jak", "co",
            "ale", "mnie", "ja", "już", "juz", "tak", "od", "po", "za", "mi", "czy", "jestem",
            "bardzo", "tylko", "mam", "ma", "tego", "jego", "jej", "bo", "ten", "ta", "być", "byc",
            "dzisiaj", "nikt", "nigdy", "zawsze", "wszystko", "nic",
        ],
    ),
    (
        "sv",
        &[
            "och", "att", "det", "som", "en", "är", "jag", "inte", "på", "med", "för", "har", "de",
            "av", "om", "så", "men", "var", "till", "den", "mig", "kan", "vill", "bara", "ett",
            "du", "vi", "han", "hon", "min", "mitt", "nu", "ingen", "aldrig", "alltid", "idag",
            "också", "mycket", "hur", "vad",
        ],
    ),
];

/// Hasher for keys that are packed words: one multiply spreads them well enough.
#[derive(Default)]
struct PackedHasher(u64);

impl Hasher for PackedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, k: u64) {
        self.0 = (k ^ (k >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type WordTable = HashMap<u64, u16, BuildHasherDefault<PackedHasher>>;

/// A word of at most 8 UTF-8 bytes packed into a `u64` (function words are short).
fn pack(word: &str) -> Option<u64> {
    let b = word.as_bytes();
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut k = [0u8; 8];
    k[..b.len()].copy_from_slice(b);
    Some(u64::from_le_bytes(k))
}

/// Like [`pack`], for the lowercase form of `word` (`’` read as `'`).
fn pack_lower(word: &str) -> Option<u64> {
    let mut k = [0u8; 8];
    let mut n = 0;
    let mut fits = true;
    for c in word.chars() {
        let c = if c == '’' { '\'' } else { c };
        lowercase(c, |l| {
            let len = l.len_utf8();
            if n + len > 8 {
                fits = false;
            } else {
                l.encode_utf8(&mut k[n..]);
                n += len;
            }
        });
        if !fits {
            return None;
        }
    }
    (n > 0).then(|| u64::from_le_bytes(k))
}

/// Packed word → bit mask of the languages that use it.
static TABLE: LazyLock<WordTable> = LazyLock::new(|| {
    let mut t = WordTable::default();
    for (code, words) in WORDS {
        let bit = LANGS.iter().position(|l| *l == code).unwrap_or(0);
        for key in words.iter().filter_map(|w| pack(w)) {
            *t.entry(key).or_insert(0) |= 1 << bit;
        }
    }
    t
});

/// Result of scoring a text.
#[derive(Debug, Default)]
pub(super) struct Guess {
    /// The language, when the evidence is clear.
    pub lang: Option<&'static str>,
    /// Words that are English function words (weighted by how many languages share them).
    pub english: f32,
    /// Latin-script words seen.
    pub words: u32,
}

/// Scores `text` (already stripped of URLs, mentions and hashtags).
pub(super) fn guess(text: &str) -> Guess {
    let table = &*TABLE;
    let mut scores = [0f32; LANGS.len()];
    let mut words = 0u32;
    let is_apostrophe = |c: char| c == '\'' || c == '’';
    for raw in text.split(|c: char| !(is_letter(c) || is_apostrophe(c))) {
        let word = raw.trim_matches(is_apostrophe);
        if word.is_empty() || !word.chars().next().is_some_and(is_latin) {
            continue;
        }
        words += 1;
        if !word.is_ascii() {
            word.chars().for_each(|c| letter_cue(c, &mut scores));
        }
        if word == "I" {
            scores[EN] += 1.0;
            continue;
        }
        let mask = pack_lower(word)
            .and_then(|k| table.get(&k).copied())
            .or_else(|| {
                // French/Italian elision: l'amour, j'ai, dell'anno.
                let cut = word.find(is_apostrophe)?;
                let apostrophe = word[cut..].chars().next()?.len_utf8();
                table.get(&pack_lower(&word[..cut + apostrophe])?).copied()
            });
        if let Some(mask) = mask {
            let share = 1.0 / mask.count_ones() as f32;
            for (i, s) in scores.iter_mut().enumerate() {
                if mask & (1 << i) != 0 {
                    *s += share;
                }
            }
        }
    }
    Guess {
        lang: decide(&scores, words),
        english: scores[EN],
        words,
    }
}

/// Best language when it scores at least 1.5, twice the runner-up, and 15 % of the words.
fn decide(scores: &[f32; LANGS.len()], words: u32) -> Option<&'static str> {
    let mut best = 0;
    let mut second = 0f32;
    for i in 1..scores.len() {
        if scores[i] > scores[best] {
            second = scores[best];
            best = i;
        } else if scores[i] > second {
            second = scores[i];
        }
    }
    let top = scores[best];
    (top >= 1.5 && top >= 2.0 * second && top >= 0.15 * words as f32).then_some(LANGS[best])
}

pub(super) fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || matches!(c, '\u{C0}'..='\u{24F}' | '\u{1E00}'..='\u{1EFF}')
            && c != '\u{D7}'
            && c != '\u{F7}'
}

/// Letters that point at particular languages.
fn letter_cue(c: char, scores: &mut [f32; LANGS.len()]) {
    const ES: usize = 1;
    const FR: usize = 2;
    const DE: usize = 3;
    const PT: usize = 4;
    const IT: usize = 5;
    const TR: usize = 8;
    const PL: usize = 9;
    const SV: usize = 10;
    const VI: usize = 11;
    if c.is_ascii() {
        return;
    }
    let (langs, weight): (&[usize], f32) = match c.to_lowercase().next().unwrap_or(c) {
        'ñ' | '¿' | '¡' => (&[ES], 1.0),
        'ã' | 'õ' => (&[PT], 1.0),
        'ç' => (&[FR, PT, TR], 0.34),
        'ß' => (&[DE], 1.0),
        'ä' => (&[DE, SV], 0.5),
        'ö' => (&[DE, SV, TR], 0.34),
        'ü' => (&[DE, TR], 0.5),
        'å' => (&[SV], 1.0),
        'ğ' | 'ş' | 'ı' => (&[TR], 1.0),
        'ł' | 'ą' | 'ę' | 'ż' | 'ź' | 'ś' | 'ć' | 'ń' => (&[PL], 1.0),
        'è' => (&[FR, IT], 0.5),
        'à' => (&[FR, IT, PT], 0.34),
        'ê' | 'â' | 'ô' => (&[FR, PT], 0.5),
        'ù' | 'î' | 'û' | 'ë' | 'ï' | 'œ' => (&[FR], 1.0),
        'ì' | 'ò' => (&[IT], 1.0),
        'ơ' | 'ư' | 'đ' | 'ă' | '\u{1EA0}'..='\u{1EF9}' => (&[VI], 1.0),
        _ => return,
    };
    for &l in langs {
        scores[l] += weight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_language_is_known_and_every_word_fits_a_key() {
        for (code, words) in WORDS {
            assert!(LANGS.contains(&code), "{code}");
            for w in words {
                assert!(pack(w).is_some(), "{w} is longer than 8 bytes");
            }
        }
    }

    #[test]
    fn clear_cases() {
        let g = |t: &str| guess(t).lang;
        assert_eq!(g("I don't know what to do anymore"), Some("en"));
        assert_eq!(
            g("No puedo dormir otra vez y siento que a nadie le importa"),
            Some("es")
        );
        assert_eq!(
            g("Não consigo dormir de novo e sinto que ninguém se importa"),
            Some("pt")
        );
        assert_eq!(
            g("Non riesco a dormire di nuovo e sento che a nessuno importa"),
            Some("it")
        );
        assert_eq!(
            g("Je n'arrive pas à dormir et personne ne s'en soucie"),
            Some("fr")
        );
        assert_eq!(
            g("Ich kann wieder nicht schlafen und niemand interessiert sich dafür"),
            Some("de")
        );
        assert_eq!(
            g("Ik kan weer niet slapen en niemand geeft er om"),
            Some("nl")
        );
        assert_eq!(
            g("Aku tidak bisa tidur lagi dan tidak ada yang peduli"),
            Some("id")
        );
        assert_eq!(g("Jag kan inte sova igen och ingen bryr sig"), Some("sv"));
        assert_eq!(
            g("Nie mogę znowu spać i nikogo to nie obchodzi"),
            Some("pl")
        );
        assert_eq!(
            g("Yine uyuyamıyorum ve kimse umursamıyor bile, çok yorgunum"),
            Some("tr")
        );
        assert_eq!(g("Tôi lại không ngủ được và chẳng ai quan tâm"), Some("vi"));
    }

    #[test]
    fn unclear_cases() {
        assert_eq!(guess("lol xd").lang, None);
        assert_eq!(guess("Kalevala kantele sauna").lang, None);
        assert!(guess("so tired").english > 0.0);
    }
}
