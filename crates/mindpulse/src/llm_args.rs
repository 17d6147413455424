//! The LLM scorer's flags, shared by `mindpulse score --scorer llm` and
//! `mindpulse eval --scorer llm` (an argument group, not a command), and how they become
//! the scorer's [`LlmSettings`].

use clap::{Args, ValueEnum};
use mindpulse_llm_scorer::{BackendKind, LlmSettings, ResponseFormat};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// A GGUF model run in-process (prefix KV cache reused for every post).
    Local,
    /// An OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp server, GLM, OpenAI).
    Openai,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// json_schema, falling back to json_object+schema, then none, as the server accepts.
    Auto,
    JsonSchema,
    JsonObject,
    None,
}

/// Flags of the LLM scorer (used when `--scorer llm`).
#[derive(Debug, Args)]
pub struct LlmArgs {
    /// Where the LLM runs.
    #[arg(long, value_enum, default_value = "local")]
    pub backend: Backend,
    /// Local: model name or .gguf path (default qwen2.5-0.5b-instruct-q4km); openai: the server's model id.
    #[arg(long, env = "MINDPULSE_LLM_MODEL")]
    pub llm_model: Option<String>,
    /// Base URL of the OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1).
    #[arg(long, env = "MINDPULSE_LLM_BASE_URL")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key (the key itself is never logged).
    #[arg(long, default_value = "MINDPULSE_LLM_API_KEY")]
    pub api_key_env: String,
    /// OpenAI backend: requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// OpenAI backend: seconds before a request times out.
    #[arg(long, default_value_t = 120.0)]
    pub timeout: f64,
    /// OpenAI backend: retries on timeouts, dropped connections, 429 and 5xx (with backoff, honouring Retry-After).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Retries after an unusable answer (then the post is recorded as a parse failure).
    #[arg(long, default_value_t = 2)]
    pub parse_retries: u32,
    /// How to constrain the answer. openai: how to ask the server for schema-constrained
    /// output. local: anything but `none` writes the answer's skeleton (keys, values among
    /// 0–5) and lets the model write only the rationale; `none` lets it write everything.
    #[arg(long, value_enum, default_value = "auto")]
    pub response_format: FormatArg,
    /// Fast mode (local backend): scores from next-token probabilities, no rationale.
    #[arg(long)]
    pub fast: bool,
    /// Local backend: compute threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub llm_threads: usize,
    /// Most tokens generated per answer.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// Eval: TSV to choose the thresholds on (default: val.tsv next to --data, else --data itself).
    #[arg(long)]
    pub tune_data: Option<PathBuf>,
    /// Eval: score at most this many rows of each file (a seeded random sample).
    #[arg(long)]
    pub llm_sample: Option<usize>,
    /// Prompt version (default: the newest; older ones reproduce older runs).
    #[arg(long, default_value = mindpulse_llm_scorer::PROMPT_VERSION)]
    pub prompt_version: String,
}

impl LlmArgs {
    /// The settings these flags describe; the API key is read from the variable
    /// `--api-key-env` names (never from a flag, so it stays out of shell history).
    pub fn settings(&self) -> LlmSettings {
        LlmSettings {
            backend: match self.backend {
                Backend::Local => BackendKind::Local,
                Backend::Openai => BackendKind::Openai,
            },
            model: self.llm_model.clone(),
            base_url: self.base_url.clone(),
            api_key: std::env::var(&self.api_key_env)
                .ok()
                .filter(|k| !k.trim().is_empty()),
            api_key_env: self.api_key_env.clone(),
            concurrency: self.concurrency.max(1),
            timeout: Duration::from_secs_f64(self.timeout.max(0.1)),
            retries: self.retries,
            parse_retries: self.parse_retries,
            response_format: match self.response_format {
                FormatArg::Auto => ResponseFormat::Auto,
                FormatArg::JsonSchema => ResponseFormat::JsonSchema,
                FormatArg::JsonObject => ResponseFormat::JsonObject,
                FormatArg::None => ResponseFormat::None,
            },
            fast: self.fast,
            threads: self.llm_threads,
            max_tokens: self.max_tokens,
            prompt_version: self.prompt_version.clone(),
        }
    }
}
