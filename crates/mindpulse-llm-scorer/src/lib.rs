//! The LLM scorer: ICD-10 chapter-F blocks plus negativity, 0–5, with a rationale.
//!
//! * [`prompt`] — the versioned Chinese and English prompts (embedded files, hashed);
//! * [`parse`] — strict parsing, repair of what models commonly emit, validation;
//! * [`openai`] — the OpenAI-compatible chat-completions backend (schema-constrained,
//!   greedy, bounded concurrency, retries with backoff honouring `Retry-After`);
//! * [`local`] — a GGUF model in-process with a reused system-prompt KV cache, and the
//!   fast mode that reads scores from next-token probabilities;
//! * [`scorer`] — one post: prompt → answer → parse, with bounded retries;
//! * [`pipeline`] — a resumable scoring run over the store, long-format scores with
//!   provenance;
//! * [`eval`] — the scorer on the labeled benchmark sets, with the heads' metrics;
//! * [`llama_server`] — starting a llama.cpp server (tests and the benchmark).

pub mod eval;
pub mod llama_server;
pub mod local;
pub mod openai;
pub mod parse;
pub mod pipeline;
pub mod prompt;
pub mod schema;
pub mod scorer;

pub use local::{FastReply, LocalBackend, LocalConfig};
pub use openai::{BackendError, ChatReply, OpenAiBackend, OpenAiConfig, ResponseFormat};
pub use parse::{parse_answer, ParseError, Parsed, Repair};
pub use prompt::{Prompt, PromptLang, PromptSet, PROMPT_VERSION};
pub use schema::{Scores, DIMENSIONS};
pub use scorer::{Engine, Failure, Mode, Outcome, PostInput, Scorer};
