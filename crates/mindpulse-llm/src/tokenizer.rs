//! The tokenizer stored in the GGUF metadata (`tokenizer.ggml.*`): byte-level BPE ("gpt2"
//! model) with the pre-tokenizer named by `tokenizer.ggml.pre`, as llama.cpp builds it.
//!
//! Special tokens (types CONTROL and USER_DEFINED, e.g. `<|im_start|>`) are matched in the
//! text only when asked (`parse_special`); everything between them goes through the
//! pre-tokenizer and the BPE merges of the `tokenizers` crate.

use crate::gguf::{Gguf, Value};
use crate::LlmError;
use std::collections::HashMap;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::SplitDelimiterBehavior;

/// llama.cpp token types.
const TYPE_NORMAL: i64 = 1;
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;
const TYPE_UNUSED: i64 = 5;
const TYPE_BYTE: i64 = 6;

/// Qwen2's pre-tokenizer (llama.cpp `LLAMA_VOCAB_PRE_TYPE_QWEN2`, HF tokenizer.json).
const QWEN2_PATTERN: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's pre-tokenizer (`llama-bpe`): like Qwen2's but digits in groups of up to three.
const LLAMA3_PATTERN: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

pub struct Tokenizer {
    tokens: Vec<String>,
    types: Vec<i64>,
    token_to_id: HashMap<String, u32>,
    /// Special tokens matched by `parse_special`, longest first.
    specials: Vec<(String, u32)>,
    bpe: tokenizers::Tokenizer,
    byte_decoder: HashMap<char, u8>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub add_bos: bool,
    pub eog: Vec<u32>,
}

/// GPT-2's reversible byte → printable character map.
fn bytes_to_unicode() -> Vec<(u8, char)> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xa1..=0xac)
        .chain(0xae..=0xff)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.into_iter()
        .zip(cs)
        .filter_map(|(b, c)| char::from_u32(c).map(|c| (b as u8, c)))
        .collect()
}

fn string_array<'g>(g: &'g Gguf, key: &str) -> Result<Vec<&'g str>, LlmError> {
    let arr = g
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| LlmError::Tokenizer(format!("metadata {key} is missing or not an array")))?;
    arr.iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| LlmError::Tokenizer(format!("{key} holds a non-string value")))
        })
        .collect()
}

impl Tokenizer {
    pub fn from_gguf(g: &Gguf) -> Result<Tokenizer, LlmError> {
        let model = g.get_str("tokenizer.ggml.model").unwrap_or("");
        if model != "gpt2" {
            return Err(LlmError::Unsupported(format!(
                "tokenizer model {model:?} (supported: gpt2 byte-level BPE)"
            )));
        }
        let tokens: Vec<String> = string_array(g, "tokenizer.ggml.tokens")?
            .into_iter()
            .map(str::to_string)
            .collect();
        let n = tokens.len();
        let types: Vec<i64> = match g.get("tokenizer.ggml.token_type").and_then(Value::as_array) {
            Some(a) if a.len() == n => a
                .iter()
                .map(|v| v.as_i64().unwrap_or(TYPE_NORMAL))
                .collect(),
            Some(a) => {
                return Err(LlmError::Tokenizer(format!(
                    "tokenizer.ggml.token_type has {} entries for {n} tokens",
                    a.len()
                )))
            }
            None => vec![TYPE_NORMAL; n],
        };
        let merges: Vec<(String, String)> = string_array(g, "tokenizer.ggml.merges")?
            .into_iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| LlmError::Tokenizer(format!("malformed merge {m:?}")))
            })
            .collect::<Result<_, _>>()?;

        let mut token_to_id = HashMap::with_capacity(n);
        for (i, t) in tokens.iter().enumerate() {
            token_to_id.entry(t.clone()).or_insert(i as u32);
        }
        let mut vocab = tokenizers::models::bpe::Vocab::default();
        for (i, t) in tokens.iter().enumerate() {
            if types[i] != TYPE_UNUSED {
                vocab.entry(t.clone()).or_insert(i as u32);
            }
        }
        let bpe_model = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| LlmError::Tokenizer(format!("BPE from the GGUF vocabulary: {e}")))?;
        let mut bpe = tokenizers::Tokenizer::new(bpe_model);
        let pre = g.get_str("tokenizer.ggml.pre").unwrap_or("default");
        let split = |pattern: &str| -> Result<PreTokenizerWrapper, LlmError> {
            let s = Split::new(
                SplitPattern::Regex(pattern.to_string()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| LlmError::Tokenizer(format!("pre-tokenizer regex: {e}")))?;
            Ok(PreTokenizerWrapper::Split(s))
        };
        let byte_level =
            |use_regex| PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, use_regex));
        let pre_tokenizer = match pre {
            "qwen2" | "deepseek-r1-qwen" => {
                Sequence::new(vec![split(QWEN2_PATTERN)?, byte_level(false)])
            }
            "llama-bpe" | "llama3" | "smaug-bpe" => {
                Sequence::new(vec![split(LLAMA3_PATTERN)?, byte_level(false)])
            }
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone"
            | "minerva" => Sequence::new(vec![
                PreTokenizerWrapper::Digits(Digits::new(true)),
                byte_level(true),
            ]),
            other => {
                if other != "gpt-2" && other != "gpt2" {
                    tracing::warn!(
                        pre = other,
                        "unknown tokenizer.ggml.pre; using the GPT-2 pre-tokenizer"
                    );
                }
                Sequence::new(vec![byte_level(true)])
            }
        };
        bpe.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(pre_tokenizer)));

        let mut specials: Vec<(String, u32)> = tokens
            .iter()
            .enumerate()
            .filter(|(i, t)| matches!(types[*i], TYPE_CONTROL | TYPE_USER_DEFINED) && !t.is_empty())
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));

        let id = |key: &str| -> Option<u32> {
            g.get_u64(key)
                .and_then(|v| u32::try_from(v).ok())
                .filter(|&v| (v as usize) < n)
        };
        let bos = id("tokenizer.ggml.bos_token_id");
        let eos = id("tokenizer.ggml.eos_token_id");
        let add_bos = g.get_bool("tokenizer.ggml.add_bos_token").unwrap_or(false);
        let mut eog: Vec<u32> = [
            eos,
            id("tokenizer.ggml.eot_token_id"),
            id("tokenizer.ggml.eom_token_id"),
        ]
        .into_iter()
        .flatten()
        .collect();
        // As llama.cpp: the usual end-of-turn/end-of-text control tokens end generation too.
        for text in [
            "<|im_end|>",
            "<|eot_id|>",
            "<|eom_id|>",
            "<|endoftext|>",
            "<|end|>",
            "<end_of_turn>",
            "<|end_of_text|>",
            "</s>",
        ] {
            if let Some(&i) = token_to_id.get(text) {
                if types[i as usize] == TYPE_CONTROL || Some(i) == eos {
                    eog.push(i);
                }
            }
        }
        eog.sort_unstable();
        eog.dedup();
        let byte_decoder = bytes_to_unicode()
            .into_iter()
            .map(|(b, c)| (c, b))
            .collect();
        Ok(Tokenizer {
            tokens,
            types,
            token_to_id,
            specials,
            bpe,
            byte_decoder,
            bos,
            eos,
            add_bos,
            eog,
        })
    }

    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// The id of a token given as text: the stored form (`Ġthe`), a special token
    /// (`<|im_end|>`), or plain text that is exactly one token (`0`, ` the`).
    pub fn token_id(&self, text: &str) -> Option<u32> {
        if let Some(&id) = self.token_to_id.get(text) {
            return Some(id);
        }
        match self.encode_plain(text) {
            Ok(ids) if ids.len() == 1 => Some(ids[0]),
            _ => None,
        }
    }

    fn encode_plain(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .bpe
            .encode_fast(text, false)
            .map_err(|e| LlmError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    pub fn encode(&self, text: &str, parse_special: bool) -> Result<Vec<u32>, LlmError> {
        if !parse_special || self.specials.is_empty() {
            return self.encode_plain(text);
        }
        let mut out = Vec::new();
        let mut start = 0; // start of the pending plain-text segment
        let mut i = 0;
        let bytes = text.as_bytes();
        while i < bytes.len() {
            let rest = &text[i..];
            let hit = self
                .specials
                .iter()
                .find(|(s, _)| s.as_bytes()[0] == bytes[i] && rest.starts_with(s.as_str()));
            match hit {
                Some((s, id)) => {
                    out.extend(self.encode_plain(&text[start..i])?);
                    out.push(*id);
                    i += s.len();
                    start = i;
                }
                None => {
                    i += rest.chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        out.extend(self.encode_plain(&text[start..])?);
        Ok(out)
    }

    /// The bytes a token stands for (control tokens: their text; unused: nothing).
    fn token_bytes(&self, id: u32, out: &mut Vec<u8>) {
        let Some(t) = self.tokens.get(id as usize) else {
            return;
        };
        match self.types[id as usize] {
            TYPE_CONTROL | TYPE_USER_DEFINED => out.extend_from_slice(t.as_bytes()),
            TYPE_UNUSED => {}
            TYPE_BYTE => {
                // "<0xAB>"
                if let Some(b) = t
                    .strip_prefix("<0x")
                    .and_then(|h| h.strip_suffix('>'))
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(b);
                }
            }
            _ => {
                for c in t.chars() {
                    match self.byte_decoder.get(&c) {
                        Some(&b) => out.push(b),
                        None => {
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
            }
        }
    }

    /// Text of `ids` (invalid UTF-8, e.g. half of a character, becomes U+FFFD).
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            self.token_bytes(id, &mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn is_special(&self, id: u32) -> bool {
        self.types
            .get(id as usize)
            .is_some_and(|&t| t == TYPE_CONTROL || t == TYPE_USER_DEFINED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_a_bijection() {
        let m = bytes_to_unicode();
        assert_eq!(m.len(), 256);
        let mut chars: Vec<char> = m.iter().map(|p| p.1).collect();
        chars.sort_unstable();
        chars.dedup();
        assert_eq!(chars.len(), 256);
        assert!(m.contains(&(b' ', 'Ġ')));
        assert!(m.contains(&(b'\n', 'Ċ')));
        assert!(m.contains(&(b'a', 'a')));
    }
}
