//! Embedding texts for training and evaluation through the encoder runtime, with the on-disk
//! cache in front of it.

use crate::cache::{cache_key, EmbeddingCache};
use crate::error::Result;
use crate::tasks::encoder_prefix;
use mindpulse_encoder::{Encoder, EncoderOptions};
use std::path::{Path, PathBuf};

/// Texts embedded per encoder call (and per cache append).
const CHUNK: usize = 1024;

/// A loaded encoder plus its identity and cache.
pub struct Embedder {
    pub name: String,
    pub sha256: String,
    pub prefix: &'static str,
    pub encoder: Encoder,
    cache: Option<EmbeddingCache>,
}

/// Row-major `rows × dim` features.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Features {
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
    /// The rows at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Features {
        let mut data = Vec::with_capacity(idx.len() * self.dim);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Features {
            dim: self.dim,
            data,
        }
    }
}

/// The default cache directory: `$MINDPULSE_CACHE/embeddings` or `~/.cache/mindpulse/embeddings`.
pub fn default_cache_dir() -> PathBuf {
    mindpulse_models::cache_dir().join("embeddings")
}

impl Embedder {
    /// Resolves and loads an encoder by registry name or path; `cache_dir` None disables caching.
    pub fn load(name: &str, threads: usize, cache_dir: Option<&Path>) -> Result<Embedder> {
        let resolved = mindpulse_models::resolve(name)?;
        let opts = EncoderOptions {
            threads,
            ..EncoderOptions::default()
        };
        let encoder = Encoder::load(&resolved.path, &opts)?;
        let cache = match cache_dir {
            Some(d) => Some(EmbeddingCache::open(d, &resolved.sha256, encoder.dim())?),
            None => None,
        };
        Ok(Embedder {
            name: resolved.id,
            sha256: resolved.sha256,
            prefix: encoder_prefix(name),
            encoder,
            cache,
        })
    }

    pub fn dim(&self) -> usize {
        self.encoder.dim()
    }

    /// Embeds texts (prefix added here), using and filling the cache; `progress(done, total)`
    /// is called after every chunk that needed the encoder.
    pub fn embed(
        &mut self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Features> {
        let dim = self.dim();
        let max_len = self.encoder.max_length();
        let prefixed: Vec<String> = texts
            .iter()
            .map(|t| format!("{}{t}", self.prefix))
            .collect();
        let keys: Vec<[u8; 32]> = prefixed.iter().map(|t| cache_key(max_len, t)).collect();
        let mut missing: Vec<usize> = match &self.cache {
            Some(c) => (0..texts.len())
                .filter(|&i| c.get(&keys[i]).is_none())
                .collect(),
            None => (0..texts.len()).collect(),
        };
        // Embed each distinct missing text once.
        let mut seen = std::collections::HashSet::new();
        missing.retain(|&i| seen.insert(keys[i]));
        let mut fresh: std::collections::HashMap<[u8; 32], Vec<f32>> = Default::default();
        let total = missing.len();
        for (done, chunk) in missing.chunks(CHUNK).enumerate() {
            let batch: Vec<&str> = chunk.iter().map(|&i| prefixed[i].as_str()).collect();
            let emb = self.encoder.encode(&batch)?;
            let chunk_keys: Vec<[u8; 32]> = chunk.iter().map(|&i| keys[i]).collect();
            match &mut self.cache {
                Some(c) => c.append(&chunk_keys, &emb.data)?,
                None => {
                    for (k, v) in chunk_keys.iter().zip(emb.data.chunks_exact(dim)) {
                        fresh.insert(*k, v.to_vec());
                    }
                }
            }
            progress((done * CHUNK + chunk.len()).min(total), total);
        }
        let mut data = Vec::with_capacity(texts.len() * dim);
        for k in &keys {
            let v = match &self.cache {
                Some(c) => c.get(k),
                None => fresh.get(k).map(Vec::as_slice),
            };
            match v {
                Some(v) => data.extend_from_slice(v),
                None => {
                    return Err(crate::error::HeadsError::Other(
                        "embedding cache lost a vector it just wrote".into(),
                    ))
                }
            }
        }
        Ok(Features { dim, data })
    }
}
