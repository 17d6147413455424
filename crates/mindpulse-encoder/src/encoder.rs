//! The public [`Encoder`]: loads a model directory, tokenizes, batches texts by length
//! (longest first, so batches hold texts of nearly equal length and the last, shortest
//! batches balance the threads), runs the batches on worker threads — each worker owns
//! whole batches, so the threads never wait on each other inside a layer — then pools and
//! L2-normalizes. Memory is bounded by the batch: weights plus one workspace per thread.

use crate::config::{ModelConfig, Pooling, SentenceConfig};
use crate::error::{EncoderError, Result};
use crate::kernels::{l2_normalize, mean_rows};
use crate::model::{Model, OpTimes, Workspace};
use crate::safetensors::sha256_file;
use crate::simd::Isa;
use crate::tokenize::{TextTokenizer, Tokens};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// What one worker thread returns: (text index, vector) pairs and its operation times.
type WorkerOutput = (Vec<(usize, Vec<f32>)>, OpTimes);

/// Maximum sequence length when neither the options nor `sentence_bert_config.json` say.
pub const DEFAULT_MAX_LENGTH: usize = 256;

/// How to load and run the encoder.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Worker threads (0: all available cores).
    pub threads: usize,
    /// Maximum tokens per text, special tokens included (None: the model's
    /// `max_seq_length`, else 256; never more than the position table allows).
    pub max_length: Option<usize>,
    /// Texts per batch.
    pub batch_size: usize,
    /// L2-normalize the output vectors.
    pub normalize: bool,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            threads: 0,
            max_length: None,
            batch_size: 32,
            normalize: true,
        }
    }
}

/// Embeddings of a list of texts, in input order.
#[derive(Debug, Clone, Default)]
pub struct Embeddings {
    /// Vector width.
    pub dim: usize,
    /// Row-major `texts × dim`.
    pub data: Vec<f32>,
    /// Per text: tokens cut by truncation (0 when it fit).
    pub truncated: Vec<u32>,
    /// Per text: tokens encoded (special tokens included).
    pub tokens: Vec<u32>,
}

impl Embeddings {
    /// Number of texts.
    pub fn len(&self) -> usize {
        self.truncated.len()
    }

    pub fn is_empty(&self) -> bool {
        self.truncated.is_empty()
    }

    /// The vector of text `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// Rows as separate vectors.
    pub fn to_vecs(&self) -> Vec<Vec<f32>> {
        self.data
            .chunks(self.dim.max(1))
            .map(|r| r.to_vec())
            .collect()
    }
}

/// A loaded sentence encoder.
pub struct Encoder {
    dir: PathBuf,
    model: Model,
    tokenizer: TextTokenizer,
    pooling: Pooling,
    normalize: bool,
    threads: usize,
    batch_size: usize,
    sha256: String,
    isa: Isa,
    pool: Mutex<Vec<Workspace>>,
}

impl Encoder {
    /// Loads a sentence-transformers / HF model directory: `config.json`,
    /// `model.safetensors`, `tokenizer.json`, optional `modules.json`, `1_Pooling/config.json`,
    /// `sentence_bert_config.json`.
    pub fn load(dir: &Path, opts: &EncoderOptions) -> Result<Encoder> {
        let cfg = ModelConfig::load(dir)?;
        let st = SentenceConfig::load(dir)?;
        let max_length = opts
            .max_length
            .or(st.max_seq_length)
            .unwrap_or(DEFAULT_MAX_LENGTH)
            .clamp(1, cfg.max_sequence());
        let weights = dir.join("model.safetensors");
        if !weights.exists() {
            return Err(EncoderError::io(
                &weights,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "missing (safetensors weights are required)",
                ),
            ));
        }
        let sha256 = sha256_file(&weights)?;
        let tokenizer = TextTokenizer::load(dir, max_length)?;
        let model = Model::load(cfg, &weights)?;
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            opts.threads
        };
        let isa = Isa::detect();
        tracing::info!(
            dir = %dir.display(),
            model_type = %model.cfg.model_type,
            layers = model.cfg.layers,
            hidden = model.cfg.hidden,
            max_length,
            pooling = ?st.pooling,
            isa = ?isa,
            weights_mib = model.weight_bytes() >> 20,
            "encoder loaded"
        );
        Ok(Encoder {
            dir: dir.to_path_buf(),
            model,
            tokenizer,
            pooling: st.pooling,
            normalize: opts.normalize,
            threads,
            batch_size: opts.batch_size.max(1),
            sha256,
            isa,
            pool: Mutex::new(Vec::new()),
        })
    }

    /// Output vector width.
    pub fn dim(&self) -> usize {
        self.model.cfg.hidden
    }

    /// Hex SHA-256 of `model.safetensors`.
    pub fn model_sha256(&self) -> &str {
        &self.sha256
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Maximum tokens per text (special tokens included).
    pub fn max_length(&self) -> usize {
        self.tokenizer.max_length()
    }

    /// The pooling in use.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The model's architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.model.cfg
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Tokenizes one text as the encoder would.
    pub fn tokenize(&self, text: &str) -> Result<Tokens> {
        self.tokenizer
            .tokenize(text)
            .map_err(|reason| EncoderError::Tokenize { index: 0, reason })
    }

    /// Embeds `texts` (in order).
    pub fn encode<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Embeddings> {
        self.encode_inner(texts, None)
    }

    /// Embeds `texts` and reports the time spent per operation (summed over threads).
    pub fn encode_profiled<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
    ) -> Result<(Embeddings, OpTimes)> {
        let mut times = OpTimes::default();
        let e = self.encode_inner(texts, Some(&mut times))?;
        Ok((e, times))
    }

    fn encode_inner<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        times: Option<&mut OpTimes>,
    ) -> Result<Embeddings> {
        let tokens = self.tokenizer.tokenize_all(texts, self.threads)?;
        self.encode_tokens(&tokens, times)
    }

    /// Embeds already tokenized texts.
    pub fn encode_tokens(
        &self,
        tokens: &[Tokens],
        times: Option<&mut OpTimes>,
    ) -> Result<Embeddings> {
        let n = tokens.len();
        let dim = self.dim();
        let mut out = Embeddings {
            dim,
            data: vec![0.0; n * dim],
            truncated: tokens.iter().map(|t| t.truncated).collect(),
            tokens: tokens.iter().map(|t| t.ids.len() as u32).collect(),
        };
        if n == 0 {
            return Ok(out);
        }
        // Longest first; equal lengths keep input order.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].ids.len()));
        // Enough batches for every thread, none larger than batch_size.
        let per = self.batch_size.min(n.div_ceil(self.threads)).max(1);
        let batches: Vec<&[usize]> = order.chunks(per).collect();
        let workers = self.threads.min(batches.len()).max(1);
        let next = AtomicUsize::new(0);
        let profile = times.is_some();
        let results: Vec<Result<WorkerOutput>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    s.spawn(|| -> Result<WorkerOutput> {
                        let mut ws = self
                            .pool
                            .lock()
                            .ok()
                            .and_then(|mut p| p.pop())
                            .unwrap_or_default();
                        let mut local = OpTimes::default();
                        let mut rows = Vec::new();
                        let r = (|| -> Result<()> {
                            loop {
                                let b = next.fetch_add(1, Ordering::Relaxed);
                                let Some(batch) = batches.get(b) else {
                                    return Ok(());
                                };
                                self.run_batch(
                                    tokens,
                                    batch,
                                    &mut ws,
                                    profile.then_some(&mut local),
                                    &mut rows,
                                )?;
                            }
                        })();
                        if let Ok(mut p) = self.pool.lock() {
                            p.push(ws);
                        }
                        r.map(|_| (rows, local))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(EncoderError::Worker("encoder thread panicked".into()))
                    })
                })
                .collect()
        });
        let mut total = OpTimes::default();
        for r in results {
            let (rows, t) = r?;
            total.add(&t);
            for (i, v) in rows {
                out.data[i * dim..(i + 1) * dim].copy_from_slice(&v);
            }
        }
        if let Some(t) = times {
            t.add(&total);
        }
        Ok(out)
    }

    fn run_batch(
        &self,
        tokens: &[Tokens],
        batch: &[usize],
        ws: &mut Workspace,
        times: Option<&mut OpTimes>,
        rows: &mut Vec<(usize, Vec<f32>)>,
    ) -> Result<()> {
        let total: usize = batch.iter().map(|&i| tokens[i].ids.len()).sum();
        let mut ids = Vec::with_capacity(total);
        let mut types = Vec::with_capacity(total);
        let mut seqs = Vec::with_capacity(batch.len());
        for &i in batch {
            seqs.push((ids.len(), tokens[i].ids.len()));
            ids.extend_from_slice(&tokens[i].ids);
            types.extend_from_slice(&tokens[i].type_ids);
        }
        let hidden = self
            .model
            .forward(self.isa, &ids, &types, &seqs, ws, times)?;
        let dim = self.dim();
        for (&i, &(start, len)) in batch.iter().zip(&seqs) {
            let mut v = vec![0f32; dim];
            let x = &hidden[start * dim..(start + len) * dim];
            if len > 0 {
                match self.pooling {
                    Pooling::Mean => mean_rows(x, dim, &mut v),
                    Pooling::Cls => v.copy_from_slice(&x[..dim]),
                    Pooling::Max => {
                        v.copy_from_slice(&x[..dim]);
                        for row in x.chunks_exact(dim).skip(1) {
                            for (a, b) in v.iter_mut().zip(row) {
                                *a = a.max(*b);
                            }
                        }
                    }
                    Pooling::MeanSqrtLen => {
                        mean_rows(x, dim, &mut v);
                        let f = (len as f32).sqrt();
                        v.iter_mut().for_each(|a| *a *= f);
                    }
                }
            }
            if self.normalize {
                l2_normalize(&mut v);
            }
            rows.push((i, v));
        }
        Ok(())
    }
}
