//! Fast CPU inference for BERT-family sentence encoders (MiniLM, bge, e5 / XLM-RoBERTa).
//!
//! ```no_run
//! use mindpulse_encoder::{Encoder, EncoderOptions};
//! let enc = Encoder::load("models/minilm-l6-v2".as_ref(), &EncoderOptions::default())?;
//! let e = enc.encode(&["I can't sleep again", "great run this morning"])?;
//! assert_eq!(e.row(0).len(), enc.dim());
//! # Ok::<(), mindpulse_encoder::EncoderError>(())
//! ```
//!
//! The forward pass is written here on plain slices: texts are sorted by length and packed
//! (all tokens of a batch concatenated, no padding), linear layers run on a packed AVX2/FMA
//! GEMM with bias / residual / GELU fused into its epilogue, attention runs per sequence,
//! and each worker thread owns whole batches.

pub mod attention;
pub mod config;
pub mod encoder;
pub mod error;
pub mod gemm;
pub mod kernels;
pub mod model;
pub mod npy;
pub mod safetensors;
pub mod simd;
pub mod tokenize;

pub use config::{Family, ModelConfig, Pooling};
pub use encoder::{Embeddings, Encoder, EncoderOptions, DEFAULT_MAX_LENGTH};
pub use error::EncoderError;
pub use model::OpTimes;
pub use tokenize::Tokens;
