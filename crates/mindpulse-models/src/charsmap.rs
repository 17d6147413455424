//! Builds a SentencePiece `precompiled_charsmap` (the normalizer blob that XLM-R's
//! `tokenizer.json` carries in its `Precompiled` normalizer) from a per-code-point
//! replacement table.
//!
//! The blob is `u32 LE trie_size_in_bytes`, the trie (a darts-clone double array of `u32`
//! units, keyed by the UTF-8 bytes of the source text), then the replacement strings, each
//! ending in NUL; a key's value is the offset of its replacement. Unit layout (darts-clone):
//! bits 0–7 the label of the edge into the unit, bit 8 "has a value", bits 10–31 the offset
//! to the unit's children (`child = pos ^ offset ^ label`); a value unit has bit 31 set and
//! the value in bits 0–30 and sits at the label-0 child slot.
//!
//! Readers index the array without bounds checks for any byte label, so the array is kept a
//! whole number of 256-unit blocks and every children base lies inside it.

use std::collections::{BTreeMap, HashMap};

const BLOCK: usize = 256;

#[derive(Default)]
struct Node {
    children: BTreeMap<u8, usize>,
    value: Option<u32>,
}

/// Builds the blob. `map` pairs a source code point with its replacement (possibly empty =
/// delete). Fails on invalid code points or an oversized table.
pub fn build(map: &[(u32, Vec<u32>)]) -> Result<Vec<u8>, String> {
    // Replacement strings, deduplicated, NUL-terminated.
    let mut normalized: Vec<u8> = Vec::new();
    let mut offsets: HashMap<String, u32> = HashMap::new();
    let mut keys: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    for (cp, out) in map {
        let key = char::from_u32(*cp).ok_or_else(|| format!("invalid code point U+{cp:04X}"))?;
        let mut rep = String::new();
        for o in out {
            let c = char::from_u32(*o).ok_or_else(|| {
                format!("invalid replacement code point U+{o:04X} for U+{cp:04X}")
            })?;
            if c == '\0' {
                return Err(format!("replacement for U+{cp:04X} contains NUL"));
            }
            rep.push(c);
        }
        if key == '\0' {
            return Err("U+0000 cannot be a key".to_string());
        }
        let off = match offsets.get(&rep) {
            Some(&o) => o,
            None => {
                let o = u32::try_from(normalized.len())
                    .map_err(|_| "replacement table too large".to_string())?;
                normalized.extend_from_slice(rep.as_bytes());
                normalized.push(0);
                offsets.insert(rep, o);
                o
            }
        };
        if off >= 1 << 31 {
            return Err("replacement table too large".to_string());
        }
        let mut buf = [0u8; 4];
        keys.insert(key.encode_utf8(&mut buf).as_bytes().to_vec(), off);
    }

    // Plain trie.
    let mut nodes = vec![Node::default()];
    for (key, value) in &keys {
        let mut n = 0;
        for &b in key {
            let next = nodes.len();
            let child = *nodes[n].children.entry(b).or_insert(next);
            if child == next {
                nodes.push(Node::default());
            }
            n = child;
        }
        nodes[n].value = Some(*value);
    }

    // Double array, breadth first.
    let mut units: Vec<u32> = vec![0; BLOCK];
    let mut used_pos: Vec<bool> = vec![false; BLOCK];
    let mut used_base: Vec<bool> = vec![false; BLOCK];
    used_pos[0] = true; // the root
    let mut pos_of = vec![0usize; nodes.len()];
    let mut queue = std::collections::VecDeque::from([0usize]);
    let mut scan_from = 1usize;
    while let Some(n) = queue.pop_front() {
        let node = &nodes[n];
        let mut labels: Vec<u8> = Vec::with_capacity(node.children.len() + 1);
        if node.value.is_some() {
            labels.push(0);
        }
        labels.extend(node.children.keys().copied());
        if labels.is_empty() {
            continue; // only the root of an empty map
        }
        // Find a base: unused as a base, all label slots free.
        let mut p = scan_from;
        let base = loop {
            if p >= used_pos.len() {
                units.resize(units.len() + BLOCK, 0);
                used_pos.resize(used_pos.len() + BLOCK, false);
                used_base.resize(used_base.len() + BLOCK, false);
            }
            if !used_pos[p] {
                let b = p ^ labels[0] as usize;
                if !used_base[b] && labels.iter().all(|&c| !used_pos[b ^ c as usize]) {
                    break b;
                }
            }
            p += 1;
        };
        while scan_from < used_pos.len() && used_pos[scan_from] {
            scan_from += 1;
        }
        used_base[base] = true;
        let here = pos_of[n];
        let offset = here ^ base;
        if offset >= 1 << 21 {
            return Err("normalization table too large for the double array".to_string());
        }
        units[here] |= (offset as u32) << 10;
        if let Some(v) = node.value {
            units[here] |= 1 << 8;
            units[base] = v | (1 << 31);
            used_pos[base] = true;
        }
        for (&c, &child) in &node.children {
            let cpos = base ^ c as usize;
            used_pos[cpos] = true;
            units[cpos] = c as u32;
            pos_of[child] = cpos;
            queue.push_back(child);
        }
    }

    let trie_bytes = u32::try_from(units.len() * 4).map_err(|_| "trie too large".to_string())?;
    let mut blob = Vec::with_capacity(4 + units.len() * 4 + normalized.len());
    blob.extend_from_slice(&trie_bytes.to_le_bytes());
    for u in &units {
        blob.extend_from_slice(&u.to_le_bytes());
    }
    blob.extend_from_slice(&normalized);
    Ok(blob)
}

/// Looks `text`'s first code point up in a blob made by [`build`] the way SentencePiece
/// readers do (shortest matching prefix); `None` when it has no entry.
pub fn lookup(blob: &[u8], text: &str) -> Option<String> {
    let size = u32::from_le_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let trie: Vec<u32> = blob
        .get(4..4 + size)?
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let normalized = blob.get(4 + size..)?;
    let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
    let mut pos = offset(*trie.first()?);
    for &c in text.as_bytes() {
        if c == 0 {
            break;
        }
        pos ^= c as usize;
        let unit = *trie.get(pos)?;
        if unit & ((1 << 31) | 0xFF) != c as u32 {
            return None;
        }
        pos ^= offset(unit);
        if (unit >> 8) & 1 == 1 {
            let v = (*trie.get(pos)? & ((1 << 31) - 1)) as usize;
            let end = normalized.get(v..)?.iter().position(|&b| b == 0)? + v;
            return String::from_utf8(normalized[v..end].to_vec()).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cps(s: &str) -> Vec<u32> {
        s.chars().map(|c| c as u32).collect()
    }

    #[test]
    fn lookups_find_every_key_and_nothing_else() {
        let map: Vec<(u32, Vec<u32>)> = vec![
            (0x09, cps(" ")),
            (0x01, vec![]),
            ('Ａ' as u32, cps("A")),
            ('ｂ' as u32, cps("b")),
            ('①' as u32, cps("1")),
            ('㍻' as u32, cps("平成")),
            (0x1F110, cps("(A)")),
            ('ﬁ' as u32, cps("fi")),
        ];
        let blob = build(&map).unwrap();
        let trie = u32::from_le_bytes(blob[..4].try_into().unwrap()) as usize;
        assert_eq!(trie % (BLOCK * 4), 0);
        for (cp, out) in &map {
            let c = char::from_u32(*cp).unwrap().to_string();
            let want: String = out.iter().map(|&o| char::from_u32(o).unwrap()).collect();
            assert_eq!(
                lookup(&blob, &c).as_deref(),
                Some(want.as_str()),
                "U+{cp:04X}"
            );
        }
        for s in ["a", "A", "Ｂ", "②", "中", "🙂", " "] {
            assert_eq!(lookup(&blob, s), None, "{s}");
        }
    }

    #[test]
    fn tokenizers_reads_the_blob() {
        use tokenizers::normalizers::Precompiled;
        use tokenizers::{NormalizedString, Normalizer};
        let map: Vec<(u32, Vec<u32>)> = vec![
            (0x09, cps(" ")),
            (0x01, vec![]),
            ('Ａ' as u32, cps("A")),
            ('，' as u32, cps(",")),
            ('㍻' as u32, cps("平成")),
        ];
        let blob = build(&map).unwrap();
        let p = Precompiled::from(&blob).unwrap();
        let mut n = NormalizedString::from("Ａ\tb，\u{1}㍻ 中文");
        p.normalize(&mut n).unwrap();
        assert_eq!(n.get(), "A b,平成 中文");
    }

    #[test]
    fn large_tables_fit() {
        // every CJK compatibility ideograph and fullwidth form → something
        let mut map = Vec::new();
        for cp in 0xF900u32..0xFAD9 {
            map.push((cp, vec![0x4E00 + (cp - 0xF900)]));
        }
        for cp in 0xFF01u32..0xFF5E {
            map.push((cp, vec![cp - 0xFEE0]));
        }
        let blob = build(&map).unwrap();
        for (cp, out) in &map {
            let c = char::from_u32(*cp).unwrap().to_string();
            let want = char::from_u32(out[0]).unwrap().to_string();
            assert_eq!(lookup(&blob, &c), Some(want));
        }
    }
}
