//! The LLM scorer: ICD-10 chapter-F blocks plus negativity, 0–5, with a rationale.
//!
//! * [`prompt`] — the versioned Chinese and English prompts (embedded files, hashed);
//! * [`parse`] — strict parsing, repair of what models commonly emit, validation;
//! * [`openai`] — the OpenAI-compatible chat-completions backend (schema-constrained,
//!   greedy, bounded concurrency, retries with backoff honouring `Retry-After`);
//! * [`local`] — a GGUF model in-process with a reused system-prompt KV cache, and the
//!   fast mode that reads scores from next-token probabilities;
//! * [`scorer`] — one post: prompt → answer → parse, with bounded retries;
//! * [`post_scorer`] — the scorer as a `PostScorer` for the one score driver
//!   (`mindpulse-score`): long-format scores with provenance;
//! * [`setup`] — building a scorer from settings (flags or config);
//! * [`eval`] — the scorer on the labeled benchmark sets, with the heads' metrics;
//! * [`llama_server`] — starting a llama.cpp server (tests and the benchmark).

pub mod eval;
pub mod llama_server;
pub mod local;
pub mod openai;
pub mod parse;
pub mod post_scorer;
pub mod prompt;
pub mod schema;
pub mod scorer;
pub mod setup;

pub use local::{FastReply, LocalBackend, LocalConfig};
pub use openai::{BackendError, ChatReply, OpenAiBackend, OpenAiConfig, ResponseFormat};
pub use parse::{parse_answer, ParseError, Parsed, Repair};
pub use post_scorer::{run_version, score_rows, LlmPostScorer};
pub use prompt::{Prompt, PromptLang, PromptSet, PROMPT_VERSION};
pub use schema::{Scores, DIMENSIONS};
pub use scorer::{Engine, Failure, Mode, Outcome, PostInput, Scorer};
pub use setup::{build, BackendKind, Built, LlmSettings, SetupError, DEFAULT_LOCAL_MODEL};
