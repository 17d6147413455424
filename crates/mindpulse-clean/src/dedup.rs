//! Duplicate detection: 64-bit text fingerprints ("simhash" throughout mindpulse) and an
//! in-memory index that finds exact duplicates (same content hash) and near duplicates
//! (fingerprints within Hamming distance 3) among everything seen in a run plus what the
//! caller seeds from the database.
//!
//! The fingerprint is compared like a SimHash but computed as a 1-bit one-permutation
//! MinHash: at the same 64 bits and distance ≤ 3 it finds two to four times more of the
//! near duplicates that matter on social media (one word changed, a few words added) than
//! a classic SimHash, because a bit flips with probability (1 − Jaccard) / 2 instead of
//! angle / π; unrelated texts stay ~32 bits apart either way.
//!
//! The index is sized for millions of posts: per indexed post it keeps the fingerprint,
//! the 16-byte group id and four 5-byte band entries, plus an 8-byte exact key in an
//! open-addressing set: about 60 bytes per post with growth slack.

use crate::chars::{is_alnum, is_cjk, is_letter, lowercase};

/// Fewer features than this and the text is too short for a meaningful fingerprint.
const MIN_FEATURES: u32 = 8;
/// Largest Hamming distance reported as a near duplicate.
pub const MAX_NEAR_DISTANCE: u32 = 3;

/// 64-bit near-duplicate fingerprint of normalized (and redacted) text, compared by
/// Hamming distance; `None` when the text has fewer than 8 features.
///
/// Features: for text that is mostly CJK, bigrams of its Han/kana/Hangul characters
/// (other characters skipped, so punctuation changes nothing); otherwise lowercased
/// unigrams and bigrams of alphanumeric words. @mentions, URLs, redaction placeholders
/// (`[EMAIL]`…) and numbers are ignored. Feature hashes are FNV-1a with a 64-bit
/// finalizer, combined by a 64-bin one-permutation MinHash (see the module doc): stable
/// across runs, versions and platforms.
pub fn simhash(normalized: &str) -> Option<u64> {
    // CJK characters are 3- or 4-byte UTF-8 sequences with lead bytes from 0xE1.
    if normalized.bytes().any(|b| b >= 0xE1) {
        let mut sketch = Sketch::default();
        let (mut cjk, mut other) = (0u32, 0u32);
        let mut prev: Option<char> = None;
        for_each_kept_char(normalized, |c| {
            if is_cjk(c) {
                cjk += 1;
                if let Some(p) = prev {
                    sketch.add(fmix64(
                        ((p as u64) << 32 | c as u64) ^ 0x9e37_79b9_7f4a_7c15,
                    ));
                }
                prev = Some(c);
            } else if is_letter(c) {
                other += 1;
            }
        });
        if cjk > 0 && cjk >= other {
            return sketch.finish();
        }
    }
    let mut sketch = Sketch::default();
    let mut word = Word::default();
    let mut prev: Option<u64> = None;
    let mut end_word = |word: &mut Word, sketch: &mut Sketch| {
        if let Some(h) = word.take() {
            sketch.add(fmix64(h));
            if let Some(p) = prev {
                sketch.add(fmix64(
                    p.rotate_left(23) ^ h.wrapping_mul(0xff51_afd7_ed55_8ccd),
                ));
            }
            prev = Some(h);
        }
    };
    for_each_kept_char(normalized, |c| {
        if is_alnum(c) {
            word.push(c);
        } else {
            end_word(&mut word, &mut sketch);
        }
    });
    end_word(&mut word, &mut sketch);
    sketch.finish()
}

/// Calls `f` with every character of `text` outside @mentions, URLs and redaction
/// placeholders; each skipped span is reported as one space.
fn for_each_kept_char(text: &str, mut f: impl FnMut(char)) {
    let b = text.as_bytes();
    let mut skip_to = 0;
    for (i, c) in text.char_indices() {
        if i < skip_to {
            continue;
        }
        let skip = match c {
            '@' => Some(i + 1 + mention_len(&b[i + 1..])),
            '[' => PLACEHOLDERS
                .iter()
                .find(|p| b[i..].starts_with(p.as_bytes()))
                .map(|p| i + p.len()),
            'h' | 'H' | 'w' | 'W' if i == 0 || !b[i - 1].is_ascii_alphanumeric() => {
                crate::lang::url_end(text, i)
            }
            _ => None,
        };
        match skip {
            Some(end) => {
                skip_to = end;
                f(' ');
            }
            None => f(c),
        }
    }
}

const PLACEHOLDERS: [&str; 4] = ["[EMAIL]", "[PHONE]", "[ID_CARD]", "[URL]"];

/// Length of the (ASCII) mention name after an `@`: pseudonyms, or `user@instance.tld`.
fn mention_len(b: &[u8]) -> usize {
    b.iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'@' | b'.')))
        .unwrap_or(b.len())
}

/// A word being hashed: FNV-1a over its lowercased UTF-8.
struct Word {
    hash: u64,
    len: u32,
    digits_only: bool,
}

impl Default for Word {
    fn default() -> Self {
        Word {
            hash: 0xcbf2_9ce4_8422_2325,
            len: 0,
            digits_only: true,
        }
    }
}

impl Word {
    fn push(&mut self, c: char) {
        self.len += 1;
        self.digits_only &= c.is_ascii_digit();
        let mut eat = |b: u8| {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        };
        if c.is_ascii() {
            eat(c.to_ascii_lowercase() as u8);
        } else {
            let mut buf = [0u8; 4];
            lowercase(c, |l| l.encode_utf8(&mut buf).bytes().for_each(&mut eat));
        }
    }

    /// The finished word's hash (`None` for an empty or all-digit word); resets.
    fn take(&mut self) -> Option<u64> {
        let w = std::mem::take(self);
        (w.len > 0 && !w.digits_only).then_some(w.hash)
    }
}

/// MurmurHash3's 64-bit finalizer: spreads every input bit over the output.
const fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// One-permutation MinHash with 64 bins: each feature hash falls into the bin named by its
/// top 6 bits, and each bin keeps the smallest hash it saw. Empty bins borrow the value of
/// another bin chosen by a fixed pseudo-random probe sequence ("optimal densification").
/// Bit `i` of the fingerprint is one bit of a hash of bin `i`'s value, so two texts
/// disagree on a bit with probability (1 − J) / 2, J being the Jaccard similarity of their
/// feature sets.
struct Sketch {
    bins: [u64; 64],
    features: u32,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            bins: [u64::MAX; 64],
            features: 0,
        }
    }
}

impl Sketch {
    /// Adds a feature; `h` must already be well mixed.
    fn add(&mut self, h: u64) {
        let bin = &mut self.bins[(h >> 58) as usize];
        *bin = (*bin).min(h);
        self.features += 1;
    }

    fn finish(self) -> Option<u64> {
        if self.features < MIN_FEATURES {
            return None;
        }
        let mut out = 0u64;
        for i in 0..64 {
            // Bits 0..58 of a bin value are uniformly random; a densified bin reads a
            // different bit of the value it borrowed than that value's own bin does.
            out |= ((self.value_for(i) >> (i % 58)) & 1) << i;
        }
        Some(out)
    }

    /// Bin `i`'s value, or the densified value for an empty bin.
    fn value_for(&self, i: usize) -> u64 {
        let own = self.bins[i];
        if own != u64::MAX {
            return own;
        }
        for &j in &PROBES[i] {
            let v = self.bins[usize::from(j)];
            if v != u64::MAX {
                return v;
            }
        }
        // All 16 probes empty (a very sparse sketch): first filled bin, deterministically.
        self.bins
            .iter()
            .copied()
            .find(|&v| v != u64::MAX)
            .unwrap_or(0)
    }
}

/// For each bin, the bins an empty one borrows from, in order: a fixed pseudo-random
/// sequence (part of the fingerprint definition; do not change).
const PROBES: [[u8; 16]; 64] = probe_table();

const fn probe_table() -> [[u8; 16]; 64] {
    let mut t = [[0u8; 16]; 64];
    let mut i = 0;
    while i < 64 {
        let mut a = 0;
        while a < 16 {
            t[i][a] = (fmix64((i as u64) << 32 | (a as u64 + 1)) >> 58) as u8;
            a += 1;
        }
        i += 1;
    }
    t
}

/// What [`DupIndex::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DupVerdict {
    /// Nothing like it seen before.
    New,
    /// Same content hash as an earlier item; `group` is that content hash.
    Exact { group: [u8; 16] },
    /// Fingerprint within `distance` (≤ 3) bits of an earlier item; `group` is that item's
    /// group representative (the first item of its near-duplicate group).
    Near { group: [u8; 16], distance: u32 },
}

const BANDS: usize = 4;
/// Entries of one band bucket examined per check, newest first.
const MAX_SCAN: usize = 4096;
const BUCKETS: usize = 1 << 16;

/// In-memory duplicate index for one run, optionally seeded from the database.
///
/// Near-duplicate search splits each fingerprint into four 16-bit bands: two hashes within
/// distance 3 agree on at least one band (pigeonhole), so only items sharing a band are
/// compared. Items whose fingerprint is already in the index (distance 0) are not indexed
/// again: they would find nothing their twin does not. Near duplicates are indexed, so a
/// group can grow by chains of small edits (its id stays the first item's).
///
/// Costs, measured with random fingerprints: about 1 µs per `check` and 60 bytes per
/// indexed item at one to two million items (117 MB of heap at two million). Exact keys
/// are the first 8 bytes of the content hash; up to 16.7 million items are indexed for
/// near-duplicate search, items beyond that are still checked.
pub struct DupIndex {
    exact: U64Set,
    /// Fingerprint of each indexed item.
    sims: Chunked<u64>,
    /// Group representative of each indexed item.
    groups: Chunked<[u8; 16]>,
    /// `BANDS * BUCKETS` buckets of entries, created on first use.
    bands: Vec<Vec<Entry>>,
}

impl Default for DupIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for DupIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DupIndex")
            .field("exact", &self.exact.len())
            .field("indexed", &self.sims.len())
            .finish()
    }
}

impl DupIndex {
    pub fn new() -> Self {
        DupIndex {
            exact: U64Set::default(),
            sims: Chunked::default(),
            groups: Chunked::default(),
            bands: Vec::new(),
        }
    }

    /// Number of distinct content hashes seen.
    pub fn len(&self) -> usize {
        self.exact.len()
    }

    pub fn is_empty(&self) -> bool {
        self.exact.len() == 0
    }

    /// Adds an item already stored (from the database) without judging it. `group` is its
    /// stored group, or `None` when it is its own representative.
    pub fn seed(&mut self, content_hash: [u8; 16], simhash: Option<u64>, group: Option<[u8; 16]>) {
        if !self.exact.insert(exact_key(&content_hash)) {
            return;
        }
        if let Some(sim) = simhash {
            self.index(sim, group.unwrap_or(content_hash));
        }
    }

    /// Judges an item against everything seen so far, then adds it.
    ///
    /// `Exact` when the content hash was seen (seeded or checked) before; otherwise `Near`
    /// when an indexed fingerprint is within distance 3 (the most recent such item sharing
    /// a band, among the newest 4096 per band bucket), `New` otherwise.
    pub fn check(&mut self, content_hash: [u8; 16], simhash: Option<u64>) -> DupVerdict {
        if !self.exact.insert(exact_key(&content_hash)) {
            return DupVerdict::Exact {
                group: content_hash,
            };
        }
        let Some(sim) = simhash else {
            return DupVerdict::New;
        };
        match self.nearest(sim) {
            Some((item, distance)) => {
                let group = self.groups.get(item);
                if distance > 0 {
                    self.index(sim, group);
                }
                DupVerdict::Near { group, distance }
            }
            None => {
                self.index(sim, content_hash);
                DupVerdict::New
            }
        }
    }

    /// An indexed item within [`MAX_NEAR_DISTANCE`]: the first found, looking at the newest
    /// [`MAX_SCAN`] entries of each band bucket. A bucket crowded by a viral post's
    /// thousands of variants must not make every check scan them all, and within such a
    /// crowd every candidate leads to the same group.
    fn nearest(&self, sim: u64) -> Option<(u32, u32)> {
        if self.bands.is_empty() {
            return None;
        }
        // Fetch the four buckets, and their newest entries, before scanning any: the cache
        // misses then overlap instead of following one another.
        let buckets: [&[Entry]; BANDS] =
            std::array::from_fn(|band| self.bands[bucket_of(sim, band)].as_slice());
        let warm = buckets
            .iter()
            .fold(0u16, |acc, b| acc ^ b.last().map_or(0, |e| e.next_band()));
        std::hint::black_box(warm);
        for (band, bucket) in buckets.iter().enumerate() {
            let probe = band_bits(sim, (band + 1) % BANDS);
            for entry in bucket.iter().rev().take(MAX_SCAN) {
                // The next band's bits alone rule out almost every candidate without a
                // random access to `sims`.
                if u32::from(entry.next_band() ^ probe).count_ones() > MAX_NEAR_DISTANCE {
                    continue;
                }
                let item = entry.item();
                let d = (self.sims.get(item) ^ sim).count_ones();
                if d <= MAX_NEAR_DISTANCE {
                    return Some((item, d));
                }
            }
        }
        None
    }

    fn index(&mut self, sim: u64, group: [u8; 16]) {
        if self.bands.is_empty() {
            self.bands.resize_with(BANDS * BUCKETS, Vec::new);
        }
        let item = self.sims.len();
        if item > Entry::MAX_ITEM {
            if item == Entry::MAX_ITEM + 1 {
                tracing::warn!(
                    items = item,
                    "duplicate index full; items from here on are checked but not indexed"
                );
            }
            return;
        }
        self.sims.push(sim);
        self.groups.push(group);
        for band in 0..BANDS {
            let entry = Entry::new(item, band_bits(sim, (band + 1) % BANDS));
            push_lean(&mut self.bands[bucket_of(sim, band)], entry);
        }
    }

    /// Heap bytes held by the index (capacity, not length; allocator overhead excluded).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.exact.heap_bytes()
            + self.sims.heap_bytes()
            + self.groups.heap_bytes()
            + self.bands.capacity() * size_of::<Vec<Entry>>()
            + self
                .bands
                .iter()
                .map(|b| b.capacity() * size_of::<Entry>())
                .sum::<usize>()
    }
}

fn exact_key(content_hash: &[u8; 16]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&content_hash[..8]);
    u64::from_le_bytes(k)
}

fn band_bits(sim: u64, band: usize) -> u16 {
    (sim >> (16 * band)) as u16
}

fn bucket_of(sim: u64, band: usize) -> usize {
    band * BUCKETS + usize::from(band_bits(sim, band))
}

/// A band bucket entry, five bytes: the item number (24 bits) and the item's bits of the
/// next band (16 bits), which rule out almost every candidate without a random access to
/// the item's fingerprint.
#[derive(Debug, Clone, Copy)]
struct Entry([u8; 5]);

impl Entry {
    /// Items beyond this are still checked but no longer indexed (16.7 million).
    const MAX_ITEM: u32 = (1 << 24) - 1;

    fn new(item: u32, next_band: u16) -> Self {
        let i = item.to_le_bytes();
        let n = next_band.to_le_bytes();
        Entry([i[0], i[1], i[2], n[0], n[1]])
    }

    fn item(&self) -> u32 {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], 0])
    }

    fn next_band(&self) -> u16 {
        u16::from_le_bytes([self.0[3], self.0[4]])
    }
}

/// Append-only array in fixed 64Ki-element chunks: no growth slack beyond the last chunk
/// and no copy of everything (and momentary double memory) when it grows.
struct Chunked<T> {
    chunks: Vec<Box<[T]>>,
    len: u32,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;

impl<T: Copy + Default> Chunked<T> {
    fn len(&self) -> u32 {
        self.len
    }

    fn push(&mut self, x: T) {
        let (chunk, at) = Self::split(self.len);
        if chunk == self.chunks.len() {
            self.chunks
                .push(vec![T::default(); CHUNK].into_boxed_slice());
        }
        self.chunks[chunk][at] = x;
        self.len += 1;
    }

    /// The element at `i`, which must be below `len()`.
    fn get(&self, i: u32) -> T {
        let (chunk, at) = Self::split(i);
        self.chunks[chunk][at]
    }

    fn split(i: u32) -> (usize, usize) {
        ((i >> CHUNK_BITS) as usize, i as usize & (CHUNK - 1))
    }

    fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Box<[T]>>()
            + self.chunks.len() * CHUNK * std::mem::size_of::<T>()
    }
}

/// Pushes with 1.5× growth instead of doubling, to keep slack low in large vectors.
fn push_lean<T>(v: &mut Vec<T>, x: T) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.capacity() / 2).max(4));
    }
    v.push(x);
}

/// Open-addressing set of `u64` keys (hash prefixes):
/// linear probing, no stored hashes, 1.5× growth, at most 90 % full.
#[derive(Default)]
struct U64Set {
    slots: Vec<u64>,
    len: usize,
    /// `0` marks an empty slot, so the key `0` is tracked apart.
    has_zero: bool,
}

impl U64Set {
    fn len(&self) -> usize {
        self.len + usize::from(self.has_zero)
    }

    /// Inserts `k`; false when it was already there.
    fn insert(&mut self, k: u64) -> bool {
        if k == 0 {
            return !std::mem::replace(&mut self.has_zero, true);
        }
        if (self.len + 1) * 10 > self.slots.len() * 9 {
            self.grow();
        }
        let inserted = Self::insert_into(&mut self.slots, k);
        self.len += usize::from(inserted);
        inserted
    }

    fn insert_into(slots: &mut [u64], k: u64) -> bool {
        let n = slots.len();
        // Keys are hash prefixes, but one multiply keeps the table sound for any keys.
        let spread = (k ^ (k >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut i = ((u128::from(spread) * n as u128) >> 64) as usize;
        loop {
            match slots[i] {
                0 => {
                    slots[i] = k;
                    return true;
                }
                s if s == k => return false,
                _ => i = if i + 1 == n { 0 } else { i + 1 },
            }
        }
    }

    fn grow(&mut self) {
        let cap = (self.slots.len() + self.slots.len() / 2).max(64);
        let mut slots = vec![0u64; cap];
        for &k in self.slots.iter().filter(|&&k| k != 0) {
            Self::insert_into(&mut slots, k);
        }
        self.slots = slots;
    }

    fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::content_hash;

    fn verdict(idx: &mut DupIndex, text: &str) -> DupVerdict {
        idx.check(content_hash(text), simhash(text))
    }

    #[test]
    fn simhash_needs_enough_features() {
        assert_eq!(simhash("太短了"), None);
        assert_eq!(simhash("too short here"), None);
        assert_eq!(simhash("12345 67890 @u_abcdef https://x.com [URL]"), None);
        assert!(simhash("今天的心情真的很不好想哭").is_some());
        assert!(simhash("i really do not want to get up today").is_some());
    }

    #[test]
    fn simhash_is_stable() {
        let a = simhash("i really do not want to get up today").unwrap();
        let b = simhash("今天的心情真的很不好想哭").unwrap();
        assert_eq!(a, simhash("I really do NOT want to get up today!").unwrap());
        assert_eq!(b, simhash("今天的心情，真的很不好。想哭！").unwrap());
        // Fixed values: if these change, every stored fingerprint is invalidated.
        assert_eq!(format!("{a:016x}"), STABLE_EN);
        assert_eq!(format!("{b:016x}"), STABLE_ZH);
    }

    const STABLE_EN: &str = "0adc16d5cdc0d734";
    const STABLE_ZH: &str = "132758d6a36185e1";

    /// Asserts that every variant groups with `base` (near, or exact when only
    /// punctuation/case differ) and returns the distances.
    fn assert_grouped(base: &str, variants: &[&str]) -> Vec<u32> {
        let mut idx = DupIndex::new();
        let g = content_hash(base);
        assert_eq!(verdict(&mut idx, base), DupVerdict::New);
        variants
            .iter()
            .map(|v| match verdict(&mut idx, v) {
                DupVerdict::Near { group, distance } => {
                    assert_eq!(group, g, "{v}");
                    distance
                }
                DupVerdict::Exact { group } => {
                    assert_eq!(group, content_hash(v), "{v}");
                    0
                }
                DupVerdict::New => panic!("not grouped: {v}"),
            })
            .collect()
    }

    const WEIBO: &str = "最近工作压力特别大，每天加班到很晚，回家之后什么都不想做，躺在床上刷手机到凌晨两三点，第二天又要早起上班，感觉自己像一台机器一样在运转，不知道这样的日子什么时候才是个头，有没有人和我一样";

    #[test]
    fn chinese_near_duplicates_group_together() {
        let one_word = WEIBO.replace("早起上班", "早起上课");
        let punct = WEIBO.replace('，', "！！").replace("有没有", "...有没有");
        let suffix = format!("{WEIBO}，求安慰");
        let hashtag = format!("{WEIBO} #打工人#");
        let mention = format!("{WEIBO} //@u_0123456789abcdef0123: 转发");
        let d = assert_grouped(WEIBO, &[&one_word, &punct, &suffix, &hashtag, &mention]);
        assert_eq!(d[1], 0, "punctuation only: same content hash");
        // A short post: punctuation, mentions, links and numbers do not count.
        let short = "今天又失眠了，凌晨3点还睡不着，感觉整个人都快崩溃了";
        assert_grouped(
            short,
            &[
                "今天又失眠了!凌晨4点还睡不着...感觉整个人都快崩溃了",
                "今天又失眠了，凌晨3点还睡不着，感觉整个人都快崩溃了 @u_0123456789abcdef0123 [URL]",
            ],
        );
    }

    #[test]
    fn english_near_duplicates_group_and_unrelated_do_not() {
        let base = "Does anyone else feel completely exhausted after social events? I love my friends but after a few hours I just need to be alone for the rest of the weekend to recharge, and then I feel guilty about it";
        assert_grouped(
            base,
            &[
                &base.replace("weekend", "week"),
                &base.replace('?', "??").replace(',', ""),
                &format!("{base} lol"),
                &format!("{base} https://t.co/abc123 #introvert"),
            ],
        );
        let mut idx = DupIndex::new();
        verdict(&mut idx, base);
        for unrelated in [
            "Does anyone else feel exhausted after work? I love my job but after a few hours of meetings I just need to be alone",
            "Social events used to exhaust me completely, but therapy helped and now I enjoy seeing my friends on the weekend",
            "I have not been able to sleep properly for weeks and my anxiety keeps getting worse every single night",
        ] {
            assert_eq!(verdict(&mut idx, unrelated), DupVerdict::New, "{unrelated}");
        }
    }

    #[test]
    fn unrelated_same_topic_chinese_texts_are_new() {
        let mut idx = DupIndex::new();
        for t in [
            "最近抑郁症越来越严重了，每天都不想起床，也不想和任何人说话",
            "抑郁症患者真的需要家人的理解和支持，而不是一句想开点就好",
            "今天去医院复查抑郁症，医生说恢复得不错，继续坚持吃药",
            "有没有人和我一样，抑郁的时候什么都不想做，只想一个人待着",
        ] {
            assert_eq!(verdict(&mut idx, t), DupVerdict::New, "{t}");
        }
    }

    #[test]
    fn group_is_the_first_item_of_a_chain() {
        let mut idx = DupIndex::new();
        let x = [1u8; 16];
        let y = [2u8; 16];
        let z = [3u8; 16];
        let sx = 0u64;
        assert_eq!(idx.check(x, Some(sx)), DupVerdict::New);
        assert_eq!(
            idx.check(y, Some(sx ^ 0b111)),
            DupVerdict::Near {
                group: x,
                distance: 3
            }
        );
        // z is 5 bits from x but 2 from y: still x's group.
        assert_eq!(
            idx.check(z, Some(sx ^ 0b111 ^ 0b11000)),
            DupVerdict::Near {
                group: x,
                distance: 2
            }
        );
        assert_eq!(idx.check([4u8; 16], Some(!0)), DupVerdict::New);
        assert_eq!(idx.check([5u8; 16], None), DupVerdict::New);
        assert_eq!(
            idx.check([5u8; 16], None),
            DupVerdict::Exact { group: [5u8; 16] }
        );
    }

    #[test]
    fn seeded_items_are_found_with_their_group() {
        let mut idx = DupIndex::new();
        let rep = [9u8; 16];
        idx.seed([7u8; 16], Some(0xdead_beef), Some(rep));
        idx.seed([8u8; 16], None, None);
        assert_eq!(
            idx.check([7u8; 16], Some(0xdead_beef)),
            DupVerdict::Exact { group: [7u8; 16] }
        );
        assert_eq!(
            idx.check([8u8; 16], None),
            DupVerdict::Exact { group: [8u8; 16] }
        );
        assert_eq!(
            idx.check([6u8; 16], Some(0xdead_beef ^ 1 << 40)),
            DupVerdict::Near {
                group: rep,
                distance: 1
            }
        );
        assert_eq!(idx.len(), 3);
    }

    #[test]
    fn crowded_buckets_stay_fast_and_grouped() {
        let mut idx = DupIndex::new();
        let base = 0x0123_4567_89ab_cdefu64;
        assert_eq!(idx.check([1; 16], Some(base)), DupVerdict::New);
        let start = std::time::Instant::now();
        for i in 0..50_000u64 {
            let mut h = [0u8; 16];
            h[..8].copy_from_slice(&(i + 2).to_le_bytes());
            let sim = base ^ (1 << (i % 64)) ^ (1 << ((i / 64) % 64)) ^ (1 << ((i / 4096) % 64));
            match idx.check(h, Some(sim)) {
                DupVerdict::Near { group, .. } => assert_eq!(group, [1; 16]),
                other => panic!("{other:?}"),
            }
        }
        // Bounded work per check even though every item shares the same four buckets
        // (generous bound for unoptimized test builds).
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }

    #[test]
    fn u64_set_grows_and_handles_zero() {
        let mut s = U64Set::default();
        assert!(s.insert(0));
        assert!(!s.insert(0));
        for i in 1..10_000u64 {
            assert!(s.insert(fmix64(i)));
        }
        for i in 1..10_000u64 {
            assert!(!s.insert(fmix64(i)));
        }
        assert_eq!(s.len(), 10_000);
    }
}
