//! GGUF LLM inference on the CPU for the llama and qwen2 families, in pure Rust.
//!
//! * [`Llm::load`] reads a GGUF file (weights stay in their quantized encoding: Q4_0, Q4_1,
//!   Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, F16, BF16, F32), the tokenizer (byte-level BPE from
//!   `tokenizer.ggml.*`) and the chat template (`tokenizer.chat_template`, rendered with
//!   minijinja).
//! * A [`Session`] owns a KV cache: [`Session::feed`] processes tokens in batches and returns
//!   the next-token logits; [`Session::fork`] copies the cache (compute a shared prompt prefix
//!   once, fork it per post); [`Session::truncate`] rolls back to a prefix;
//!   [`Session::generate`] decodes greedily until an end-of-generation token, a stop string
//!   or `max_tokens`.
//! * Matrix products quantize the activations once per row (q8) and run AVX2 integer dot
//!   kernels over output-row tiles on a rayon pool of [`LlmOptions::threads`] threads.
//! * Attention is a tiled kernel with an online softmax over an f16 KV cache kept per KV
//!   head (`attention`).
//!
//! Results are deterministic and do not depend on how a prompt is split into `feed` calls.

mod attention;
mod chat;
pub mod gguf;
mod matmul;
mod model;
pub mod quant;
mod tokenizer;

use chat::ChatFormat;
use model::{KvCache, Model};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokenizer::Tokenizer;

/// Tokens per forward batch when feeding a long prompt (bounds the activation memory).
const UBATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid GGUF: {0}")]
    Gguf(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("the GGUF has no tensor {0:?}")]
    MissingTensor(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat prompt: {0}")]
    Template(String),
    #[error(
        "context full: {needed} tokens needed, the context holds {max} (LlmOptions::max_context)"
    )]
    ContextFull { needed: usize, max: usize },
    #[error("token id {id} is outside the vocabulary ({vocab} tokens)")]
    InvalidToken { id: u32, vocab: usize },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("thread pool: {0}")]
    ThreadPool(String),
}

/// How to load a model.
#[derive(Debug, Clone, Default)]
pub struct LlmOptions {
    /// Worker threads; 0 = all cores.
    pub threads: usize,
    /// Most tokens a session may hold; 0 = the model's trained context length (the cache
    /// grows as needed, so a large value costs nothing until it is used).
    pub max_context: usize,
}

/// One chat message (`role`: system, user or assistant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// Decoding limits for [`Session::generate`].
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Generation stops when the text contains one of these; the text is cut before it.
    pub stop: Vec<String>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_tokens: 256,
            stop: Vec::new(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// An end-of-generation token (EOS, `<|im_end|>`, …).
    Eos,
    /// A stop string appeared.
    StopString,
    /// `max_tokens` were generated.
    MaxTokens,
    /// The session reached `max_context`.
    ContextFull,
}

/// Wall-clock time of the prompt (the `feed` calls since the session's last `generate`) and
/// of the generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Tokens computed by those `feed` calls (a forked, cached prefix is not counted).
    pub prompt_tokens: usize,
    pub prompt_ms: f64,
    pub generated_tokens: usize,
    pub generation_ms: f64,
}

impl Timings {
    pub fn prompt_tokens_per_s(&self) -> f64 {
        per_second(self.prompt_tokens, self.prompt_ms)
    }

    /// Generated tokens per second (each but the last one is fed back through the model).
    pub fn generation_tokens_per_s(&self) -> f64 {
        per_second(self.generated_tokens, self.generation_ms)
    }
}

fn per_second(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 * 1000.0 / ms
    } else {
        0.0
    }
}

/// The result of [`Session::generate`].
#[derive(Debug, Clone, Serialize)]
pub struct Generation {
    /// The generated text (without the end token; cut before a stop string).
    pub text: String,
    /// The generated tokens (without the end-of-generation token).
    pub tokens: Vec<u32>,
    pub stop_reason: StopReason,
    /// Tokens in the session when generation started (the whole prompt, cached prefix included).
    pub prompt_tokens: usize,
    pub timings: Timings,
}

/// A loaded model; share it across threads with `Arc` (sessions borrow it).
pub struct Llm {
    data: Vec<u8>,
    model: Model,
    tokenizer: Tokenizer,
    chat: Option<ChatFormat>,
    pool: rayon::ThreadPool,
    name: String,
    max_context: usize,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("name", &self.name)
            .field("architecture", &self.model.cfg.arch_name)
            .field("threads", &self.pool.current_num_threads())
            .finish_non_exhaustive()
    }
}

impl Llm {
    /// Loads a GGUF file (the whole file is read into memory).
    pub fn load(path: &Path, opts: &LlmOptions) -> Result<Llm, LlmError> {
        let t0 = Instant::now();
        let data = std::fs::read(path).map_err(|source| LlmError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let g = gguf::Gguf::parse(&data)?;
        let simd = quant::simd_available();
        let model = Model::load(&g, &data, simd)?;
        let tokenizer = Tokenizer::from_gguf(&g)?;
        let chat = match g.get_str("tokenizer.chat_template") {
            Some(t) if !t.trim().is_empty() => Some(ChatFormat::Template(t.to_string())),
            _ if tokenizer.token_id("<|im_start|>").is_some() => Some(ChatFormat::ChatMl),
            _ if tokenizer.token_id("<|start_header_id|>").is_some() => Some(ChatFormat::Llama3),
            _ => None,
        };
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            opts.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mindpulse-llm-{i}"))
            .build()
            .map_err(|e| LlmError::ThreadPool(e.to_string()))?;
        let ctx = model.cfg.context_length;
        let max_context = if opts.max_context == 0 {
            ctx
        } else {
            if opts.max_context > ctx {
                tracing::warn!(
                    requested = opts.max_context,
                    trained = ctx,
                    "max_context is beyond the model's trained context; quality will degrade"
                );
            }
            opts.max_context
        };
        let name = g
            .get_str("general.name")
            .map(str::to_string)
            .or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default();
        tracing::info!(
            model = %name,
            arch = %model.cfg.arch_name,
            layers = model.cfg.n_layer,
            vocab = model.cfg.vocab,
            threads,
            simd,
            types = ?model.weight_types(),
            ms = t0.elapsed().as_millis() as u64,
            "loaded GGUF model"
        );
        Ok(Llm {
            data,
            model,
            tokenizer,
            chat,
            pool,
            name,
            max_context,
        })
    }

    /// `general.architecture` (`llama`, `qwen2`).
    pub fn architecture(&self) -> &str {
        &self.model.cfg.arch_name
    }

    /// `general.name`, else the file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn vocab_size(&self) -> usize {
        self.model.cfg.vocab
    }

    /// The trained context length (`<arch>.context_length`).
    pub fn context_length(&self) -> usize {
        self.model.cfg.context_length
    }

    /// Most tokens a session may hold.
    pub fn max_context(&self) -> usize {
        self.max_context
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Tokens of `text`. With `parse_special`, special tokens written in the text
    /// (`<|im_start|>`) become their ids; without, they are tokenized as plain text.
    /// No BOS is added (see [`Llm::bos_token`] and [`Llm::add_bos`]).
    pub fn tokenize(&self, text: &str, parse_special: bool) -> Result<Vec<u32>, LlmError> {
        self.tokenizer.encode(text, parse_special)
    }

    /// Text of `ids` (special tokens as their text; invalid ids are skipped).
    pub fn detokenize(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids)
    }

    /// The stored form of a token (`Ġthe` for " the").
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.tokenizer.token_text(id)
    }

    /// The id of a token: its stored form, a special token, or text that is one token (`"3"`).
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.tokenizer.token_id(text)
    }

    /// Whether `id` is a special (control or user-defined) token.
    pub fn is_special(&self, id: u32) -> bool {
        self.tokenizer.is_special(id)
    }

    /// Tokens that end generation: EOS, EOT and the usual end-of-turn tokens of the file.
    pub fn eos_tokens(&self) -> &[u32] {
        &self.tokenizer.eog
    }

    pub fn bos_token(&self) -> Option<u32> {
        self.tokenizer.bos
    }

    /// Whether the file asks for a BOS token before a raw prompt (chat templates add their own).
    pub fn add_bos(&self) -> bool {
        self.tokenizer.add_bos
    }

    /// The chat prompt for `messages`, from the file's template (or the ChatML / Llama 3
    /// format when the file has none but uses those tokens). Tokenize it with
    /// `parse_special = true`.
    pub fn chat_prompt(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, LlmError> {
        let format = self.chat.as_ref().ok_or_else(|| {
            LlmError::Template("the model has no chat template (use a raw prompt)".into())
        })?;
        let text = |id: Option<u32>| {
            id.and_then(|i| self.tokenizer.token_text(i))
                .unwrap_or("")
                .to_string()
        };
        chat::render(
            format,
            messages,
            add_generation_prompt,
            &text(self.tokenizer.bos),
            &text(self.tokenizer.eos),
        )
    }

    /// A new session with an empty KV cache.
    pub fn session(&self) -> Session<'_> {
        Session {
            llm: self,
            cache: KvCache::new(
                self.model.cfg.n_layer,
                self.model.cfg.n_head_kv,
                self.model.cfg.head_dim,
            ),
            tokens: Vec::new(),
            fed_tokens: 0,
            fed_ms: 0.0,
        }
    }
}

/// A KV cache over one model: the tokens processed so far.
#[derive(Clone)]
pub struct Session<'a> {
    llm: &'a Llm,
    cache: KvCache,
    tokens: Vec<u32>,
    fed_tokens: usize,
    fed_ms: f64,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Session<'a> {
    /// Processes `tokens` after those already in the cache (batched) and returns the logits
    /// for the token after the last one (`vocab_size` values).
    pub fn feed(&mut self, tokens: &[u32]) -> Result<Vec<f32>, LlmError> {
        let t0 = Instant::now();
        let logits = self.feed_inner(tokens)?;
        self.fed_tokens += tokens.len();
        self.fed_ms += t0.elapsed().as_secs_f64() * 1000.0;
        Ok(logits)
    }

    fn feed_inner(&mut self, tokens: &[u32]) -> Result<Vec<f32>, LlmError> {
        if tokens.is_empty() {
            return Err(LlmError::InvalidInput("feed: no tokens".into()));
        }
        let vocab = self.llm.vocab_size();
        if let Some(&id) = tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(LlmError::InvalidToken { id, vocab });
        }
        let needed = self.len() + tokens.len();
        if needed > self.llm.max_context {
            return Err(LlmError::ContextFull {
                needed,
                max: self.llm.max_context,
            });
        }
        let llm = self.llm;
        let cache = &mut self.cache;
        let logits = llm.pool.install(|| {
            let mut last = None;
            let n_chunks = tokens.len().div_ceil(UBATCH);
            for (i, chunk) in tokens.chunks(UBATCH).enumerate() {
                last = llm
                    .model
                    .forward(&llm.data, cache, chunk, i + 1 == n_chunks);
            }
            last
        });
        self.tokens.extend_from_slice(tokens);
        logits.ok_or_else(|| LlmError::InvalidInput("feed: no logits computed".into()))
    }

    /// Tokens in the cache.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tokens in the cache, in order.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Rolls the cache back to its first `n_tokens` tokens (no-op when it holds fewer).
    pub fn truncate(&mut self, n_tokens: usize) {
        self.cache.truncate(n_tokens);
        self.tokens.truncate(n_tokens);
    }

    /// An independent copy of this session (the cache is copied).
    pub fn fork(&self) -> Session<'a> {
        Session {
            fed_tokens: 0,
            fed_ms: 0.0,
            ..self.clone()
        }
    }

    /// Greedy decoding from `first_logits` (the result of the last `feed`): argmax, ties to
    /// the lowest id, until an end-of-generation token, a stop string or `max_tokens`.
    /// The cache then holds the generated tokens too, except the last one when generation
    /// ended on a stop string, `max_tokens` or a full context (the end token is never fed).
    pub fn generate(
        &mut self,
        first_logits: Vec<f32>,
        opts: &GenerateOptions,
    ) -> Result<Generation, LlmError> {
        let llm = self.llm;
        if first_logits.len() != llm.vocab_size() {
            return Err(LlmError::InvalidInput(format!(
                "generate: {} logits for a vocabulary of {}",
                first_logits.len(),
                llm.vocab_size()
            )));
        }
        let prompt_tokens = self.len();
        let mut timings = Timings {
            prompt_tokens: std::mem::take(&mut self.fed_tokens),
            prompt_ms: std::mem::take(&mut self.fed_ms),
            ..Timings::default()
        };
        let t0 = Instant::now();
        let mut logits = first_logits;
        let mut tokens = Vec::new();
        let mut text = String::new();
        let stop_reason = loop {
            if tokens.len() >= opts.max_tokens {
                break StopReason::MaxTokens;
            }
            let next = argmax(&logits);
            if llm.eos_tokens().contains(&next) {
                break StopReason::Eos;
            }
            tokens.push(next);
            text = llm.detokenize(&tokens);
            if let Some(cut) = opts
                .stop
                .iter()
                .filter(|s| !s.is_empty())
                .filter_map(|s| text.find(s.as_str()))
                .min()
            {
                text.truncate(cut);
                break StopReason::StopString;
            }
            if tokens.len() >= opts.max_tokens {
                break StopReason::MaxTokens;
            }
            if self.len() + 1 > llm.max_context {
                break StopReason::ContextFull;
            }
            logits = self.feed_inner(&[next])?;
        };
        timings.generated_tokens = tokens.len();
        timings.generation_ms = t0.elapsed().as_secs_f64() * 1000.0;
        Ok(Generation {
            text,
            tokens,
            stop_reason,
            prompt_tokens,
            timings,
        })
    }
}

/// Index of the largest value; ties go to the lowest index (NaN never wins).
pub fn argmax(v: &[f32]) -> u32 {
    let mut best = 0usize;
    let mut best_v = f32::NEG_INFINITY;
    for (i, &x) in v.iter().enumerate() {
        if x > best_v {
            best = i;
            best_v = x;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_ties_go_to_the_lowest_id() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 0.5, 0.5]), 1);
        assert_eq!(argmax(&[-1.0, -1.0]), 0);
    }

    #[test]
    fn llm_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Llm>();
        check::<Session<'static>>();
    }

    #[test]
    fn missing_and_corrupt_files_are_clear_errors() {
        let e =
            Llm::load(Path::new("/nonexistent/model.gguf"), &LlmOptions::default()).unwrap_err();
        assert!(matches!(e, LlmError::Io { .. }), "{e}");
        let dir = std::env::temp_dir().join(format!("mindpulse-llm-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let p = dir.join("bad.gguf");
        std::fs::write(&p, b"GGUF\x03\x00\x00\x00garbage").expect("write");
        let e = Llm::load(&p, &LlmOptions::default()).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        std::fs::write(&p, b"PK\x03\x04 not a gguf at all").expect("write");
        let e = Llm::load(&p, &LlmOptions::default()).unwrap_err();
        assert!(e.to_string().contains("not a GGUF"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
