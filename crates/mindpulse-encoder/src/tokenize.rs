//! Tokenization with the model's own `tokenizer.json` (HF `tokenizers`), with its padding
//! switched off and truncation done here, so every text keeps its true length and the
//! number of tokens cut is known. Truncation keeps the special tokens and drops content
//! tokens from the end, which is what HF's `LongestFirst` truncation yields for one sequence.

use crate::error::{EncoderError, Result};
use std::path::Path;
use tokenizers::Tokenizer;

/// One tokenized text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// Content tokens cut to fit the maximum length.
    pub truncated: u32,
}

/// The model's tokenizer.
pub struct TextTokenizer {
    inner: Tokenizer,
    max_length: usize,
}

impl TextTokenizer {
    /// Loads `dir/tokenizer.json`; `max_length` counts special tokens.
    pub fn load(dir: &Path, max_length: usize) -> Result<TextTokenizer> {
        let path = dir.join("tokenizer.json");
        if !path.exists() {
            return Err(EncoderError::Tokenizer {
                path,
                reason: "missing (only tokenizer.json is supported)".into(),
            });
        }
        let mut inner = Tokenizer::from_file(&path).map_err(|e| EncoderError::Tokenizer {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| EncoderError::Tokenizer {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        Ok(TextTokenizer {
            inner,
            max_length: max_length.max(1),
        })
    }

    /// Maximum tokens per text, special tokens included.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Tokenizes one text (special tokens added, truncated to `max_length`).
    pub fn tokenize(&self, text: &str) -> std::result::Result<Tokens, String> {
        let enc = self
            .inner
            .encode_fast(text, true)
            .map_err(|e| e.to_string())?;
        Ok(truncate(
            enc.get_ids(),
            enc.get_type_ids(),
            enc.get_special_tokens_mask(),
            self.max_length,
        ))
    }

    /// Tokenizes many texts on up to `threads` threads.
    pub fn tokenize_all<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        threads: usize,
    ) -> Result<Vec<Tokens>> {
        let threads = threads.clamp(1, texts.len().max(1));
        let chunk = texts.len().div_ceil(threads).max(1);
        let mut out: Vec<Result<Vec<Tokens>>> = Vec::new();
        std::thread::scope(|s| {
            let handles: Vec<_> = texts
                .chunks(chunk)
                .enumerate()
                .map(|(c, part)| {
                    s.spawn(move || {
                        part.iter()
                            .enumerate()
                            .map(|(i, t)| {
                                self.tokenize(t.as_ref())
                                    .map_err(|reason| EncoderError::Tokenize {
                                        index: c * chunk + i,
                                        reason,
                                    })
                            })
                            .collect::<Result<Vec<Tokens>>>()
                    })
                })
                .collect();
            for h in handles {
                out.push(h.join().unwrap_or_else(|_| {
                    Err(EncoderError::Worker("tokenizer thread panicked".into()))
                }));
            }
        });
        let mut all = Vec::with_capacity(texts.len());
        for part in out {
            all.extend(part?);
        }
        Ok(all)
    }
}

/// Cuts content tokens (special mask 0) from the end until `ids` fits `max`.
pub(crate) fn truncate(ids: &[u32], types: &[u32], special: &[u32], max: usize) -> Tokens {
    let n = ids.len();
    if n <= max {
        return Tokens {
            ids: ids.to_vec(),
            type_ids: types.to_vec(),
            truncated: 0,
        };
    }
    let mut drop = n - max;
    let cut = drop as u32;
    let mut keep = vec![true; n];
    for i in (0..n).rev() {
        if drop == 0 {
            break;
        }
        if special.get(i).copied().unwrap_or(0) == 0 {
            keep[i] = false;
            drop -= 1;
        }
    }
    let mut out_ids = Vec::with_capacity(max);
    let mut out_types = Vec::with_capacity(max);
    for i in 0..n {
        if keep[i] && out_ids.len() < max {
            out_ids.push(ids[i]);
            out_types.push(types.get(i).copied().unwrap_or(0));
        }
    }
    Tokens {
        ids: out_ids,
        type_ids: out_types,
        truncated: cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_special_tokens() {
        let ids = [101, 1, 2, 3, 4, 5, 102];
        let special = [1, 0, 0, 0, 0, 0, 1];
        let types = [0; 7];
        let t = truncate(&ids, &types, &special, 4);
        assert_eq!(t.ids, vec![101, 1, 2, 102]);
        assert_eq!(t.truncated, 3);
        let t = truncate(&ids, &types, &special, 7);
        assert_eq!((t.ids.len(), t.truncated), (7, 0));
        // Fewer slots than special tokens: hard cut.
        let t = truncate(&ids, &types, &special, 1);
        assert_eq!(t.ids, vec![101]);
    }
}
