//! On-disk embedding cache keyed by (encoder sha256, max length, text), so re-training and
//! re-evaluating never embed the same text twice.
//!
//! One append-only file per encoder: a 16-byte header (`MPEMB001`, dimension, 0) followed by
//! records of a 32-byte BLAKE3 key and `dim` little-endian f32 values. A torn last record
//! (a crash while appending) is ignored and cut off by the next append. Appends hold an
//! exclusive file lock and go to the current end of the file, so several processes may share
//! one cache.

use crate::error::{io_err, HeadsError, Result};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"MPEMB001";
const HEADER: usize = 16;

/// The cache key of one text for one encoder configuration.
pub fn cache_key(max_length: usize, prefixed_text: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&(max_length as u64).to_le_bytes());
    h.update(prefixed_text.as_bytes());
    *h.finalize().as_bytes()
}

/// An open cache file with its index in memory.
pub struct EmbeddingCache {
    path: PathBuf,
    dim: usize,
    file: File,
    index: HashMap<[u8; 32], usize>,
    vectors: Vec<f32>,
}

impl EmbeddingCache {
    /// Opens (or creates) the cache for an encoder in `dir`.
    pub fn open(dir: &Path, encoder_sha256: &str, dim: usize) -> Result<EmbeddingCache> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let path = dir.join(format!("{encoder_sha256}.emb"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(&path))?;
        let mut cache = EmbeddingCache {
            path: path.clone(),
            dim,
            file,
            index: HashMap::new(),
            vectors: Vec::new(),
        };
        if bytes.len() < HEADER {
            let mut header = Vec::with_capacity(HEADER);
            header.extend_from_slice(MAGIC);
            header.extend_from_slice(&(dim as u32).to_le_bytes());
            header.extend_from_slice(&0u32.to_le_bytes());
            cache.file.set_len(0).map_err(io_err(&path))?;
            cache.file.seek(SeekFrom::Start(0)).map_err(io_err(&path))?;
            cache.file.write_all(&header).map_err(io_err(&path))?;
            return Ok(cache);
        }
        let file_dim = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        if &bytes[..8] != MAGIC || file_dim != dim {
            return Err(HeadsError::Other(format!(
                "{}: not an embedding cache of dimension {dim} (delete it to rebuild)",
                path.display()
            )));
        }
        let record = 32 + 4 * dim;
        let n = (bytes.len() - HEADER) / record;
        cache.vectors.reserve(n * dim);
        for r in 0..n {
            let at = HEADER + r * record;
            let mut key = [0u8; 32];
            key.copy_from_slice(&bytes[at..at + 32]);
            let start = cache.vectors.len();
            cache.vectors.extend(
                bytes[at + 32..at + record]
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
            cache.index.insert(key, start / dim);
        }
        Ok(cache)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<&[f32]> {
        self.index
            .get(key)
            .map(|&i| &self.vectors[i * self.dim..(i + 1) * self.dim])
    }

    /// Appends vectors (row-major, `keys.len() × dim`) and makes them visible to `get`.
    pub fn append(&mut self, keys: &[[u8; 32]], vectors: &[f32]) -> Result<()> {
        debug_assert_eq!(keys.len() * self.dim, vectors.len());
        let mut buf = Vec::with_capacity(keys.len() * (32 + 4 * self.dim));
        for (k, v) in keys.iter().zip(vectors.chunks_exact(self.dim)) {
            if self.index.contains_key(k) {
                continue;
            }
            buf.extend_from_slice(k);
            for x in v {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            self.index.insert(*k, self.vectors.len() / self.dim);
            self.vectors.extend_from_slice(v);
        }
        let path = self.path.clone();
        self.file.lock().map_err(io_err(&path))?;
        let result = (|| {
            let len = self.file.metadata()?.len().max(HEADER as u64);
            let record = (32 + 4 * self.dim) as u64;
            let aligned = HEADER as u64 + (len - HEADER as u64) / record * record;
            if aligned != len {
                self.file.set_len(aligned)?;
            }
            self.file.seek(SeekFrom::Start(aligned))?;
            self.file.write_all(&buf)?;
            self.file.flush()?;
            Ok(())
        })();
        let _ = self.file.unlock();
        result.map_err(io_err(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let k1 = cache_key(256, "a");
        let k2 = cache_key(256, "b");
        assert_ne!(k1, cache_key(128, "a"));
        {
            let mut c = EmbeddingCache::open(dir.path(), "abc", 2).unwrap();
            c.append(&[k1, k2], &[1.0, 2.0, 3.0, 4.0]).unwrap();
            assert_eq!(c.get(&k2), Some(&[3.0f32, 4.0][..]));
        }
        let path = dir.path().join("abc.emb");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[7u8; 20]).unwrap();
        drop(f);
        let mut c = EmbeddingCache::open(dir.path(), "abc", 2).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&k1), Some(&[1.0f32, 2.0][..]));
        let k3 = cache_key(256, "c");
        c.append(&[k3], &[5.0, 6.0]).unwrap();
        let c = EmbeddingCache::open(dir.path(), "abc", 2).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&k3), Some(&[5.0f32, 6.0][..]));
        assert!(EmbeddingCache::open(dir.path(), "abc", 3).is_err());
    }
}
