//! Building a scorer from settings (the CLI's flags, or the config's `[score.llm]`): the
//! local backend loads a GGUF model by registry name or path; the OpenAI-compatible backend
//! is configured and asked for its model list, which goes into the run's provenance.

use crate::local::{LocalBackend, LocalConfig};
use crate::openai::{OpenAiBackend, OpenAiConfig, ResponseFormat};
use crate::post_scorer::LlmPostScorer;
use crate::prompt::PromptSet;
use crate::scorer::{Engine, Mode, Scorer};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// The GGUF model the local backend uses when none is named.
pub const DEFAULT_LOCAL_MODEL: &str = "qwen2.5-0.5b-instruct-q4km";

/// Where the LLM runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A GGUF model run in-process (prefix KV cache reused for every post).
    Local,
    /// An OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp server, …).
    Openai,
}

/// Everything that decides how posts are scored by the LLM.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    pub backend: BackendKind,
    /// Local: a registry name or `.gguf` path (default [`DEFAULT_LOCAL_MODEL`]); openai:
    /// the server's model id (required).
    pub model: Option<String>,
    /// Base URL of the OpenAI-compatible server (e.g. `http://127.0.0.1:8080/v1`).
    pub base_url: Option<String>,
    /// The API key (read from the environment by the caller); never logged.
    pub api_key: Option<String>,
    /// Name of the variable the key came from, for error messages.
    pub api_key_env: String,
    pub concurrency: usize,
    pub timeout: Duration,
    pub retries: u32,
    pub parse_retries: u32,
    /// openai: how to ask for schema-constrained output; local: anything but `None` writes
    /// the answer's skeleton and lets the model write only the rationale.
    pub response_format: ResponseFormat,
    /// Fast mode (local): scores from next-token probabilities, no rationale.
    pub fast: bool,
    /// Local compute threads (0: all cores).
    pub threads: usize,
    pub max_tokens: u32,
    pub prompt_version: String,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            backend: BackendKind::Local,
            model: None,
            base_url: None,
            api_key: None,
            api_key_env: "MINDPULSE_LLM_API_KEY".into(),
            concurrency: 4,
            timeout: Duration::from_secs(120),
            retries: 3,
            parse_retries: 2,
            response_format: ResponseFormat::Auto,
            fast: false,
            threads: 0,
            max_tokens: 256,
            prompt_version: crate::PROMPT_VERSION.into(),
        }
    }
}

/// Why a scorer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("unknown prompt version {given:?}; there are {known}")]
    PromptVersion { given: String, known: String },
    #[error("cannot find the model {name:?} (install it with `mindpulse models install {name}` or pass a .gguf path): {source}")]
    Model {
        name: String,
        #[source]
        source: mindpulse_models::ModelError,
    },
    #[error("cannot load {path}: {source}")]
    Load {
        path: String,
        #[source]
        source: crate::openai::BackendError,
    },
    #[error("{0}")]
    Settings(String),
    #[error(transparent)]
    Backend(#[from] crate::openai::BackendError),
}

/// A scorer and what it was built from.
pub struct Built {
    pub scorer: Arc<Scorer>,
    pub backend: &'static str,
    pub model_id: String,
    pub model_sha256: Option<String>,
    pub params: Value,
}

impl Built {
    /// The scorer with its identity, for the score driver.
    pub fn post_scorer(&self) -> LlmPostScorer {
        LlmPostScorer::new(
            self.scorer.clone(),
            self.backend,
            self.model_id.clone(),
            self.model_sha256.clone(),
            self.params.clone(),
        )
    }
}

/// The prompt set a version names.
pub fn prompt_set(version: &str) -> Result<&'static PromptSet, SetupError> {
    PromptSet::get(version).ok_or_else(|| SetupError::PromptVersion {
        given: version.to_string(),
        known: PromptSet::versions().join(", "),
    })
}

/// Builds the scorer the settings describe (loads the local model, or checks the server).
pub async fn build(s: &LlmSettings) -> Result<Built, SetupError> {
    let prompts = prompt_set(&s.prompt_version)?;
    let mode = if s.fast { Mode::Fast } else { Mode::Generate };
    match s.backend {
        BackendKind::Local => {
            let name = s
                .model
                .clone()
                .unwrap_or_else(|| DEFAULT_LOCAL_MODEL.to_string());
            let resolved =
                mindpulse_models::resolve(&name).map_err(|source| SetupError::Model {
                    name: name.clone(),
                    source,
                })?;
            let cfg = LocalConfig {
                model_path: resolved.path.clone(),
                threads: s.threads,
                max_tokens: s.max_tokens as usize,
                max_context: 4096,
                constrained: s.response_format != ResponseFormat::None,
            };
            let path = resolved.path.display().to_string();
            let backend = tokio::task::spawn_blocking(move || LocalBackend::start(cfg))
                .await
                .map_err(|e| SetupError::Settings(format!("loading the model: {e}")))?
                .map_err(|source| SetupError::Load { path, source })?;
            let params = json!({
                "temperature": 0.0,
                "decoding": "greedy",
                "max_tokens": s.max_tokens,
                "threads": backend.threads(),
                "output": if backend.constrained() { "skeleton (keys written by the scorer, values argmax over 0-5, rationale generated)" } else { "free" },
                "model_file": resolved.main_file.file_name().map(|f| f.to_string_lossy().to_string()),
                "model_name": backend.model_name(),
            });
            // A registry name pins the file (its sha256 is checked at install); a file given
            // by path is identified by its content too, so two files of one name never share
            // their scores.
            let model_id = if resolved.id == name {
                resolved.id.clone()
            } else {
                format!(
                    "{}@{}",
                    resolved.id,
                    &resolved.sha256[..12.min(resolved.sha256.len())]
                )
            };
            Ok(Built {
                scorer: Arc::new(
                    Scorer::new(Engine::Local(backend), mode, s.parse_retries)
                        .with_prompts(prompts),
                ),
                backend: "local",
                model_id,
                model_sha256: Some(resolved.sha256),
                params,
            })
        }
        BackendKind::Openai => {
            if s.fast {
                return Err(SetupError::Settings(
                    "--fast reads next-token probabilities and needs --backend local".into(),
                ));
            }
            let base_url = s.base_url.clone().ok_or_else(|| {
                SetupError::Settings(
                    "--backend openai needs --base-url (or MINDPULSE_LLM_BASE_URL), e.g. http://127.0.0.1:8080/v1".into(),
                )
            })?;
            let model = s.model.clone().ok_or_else(|| {
                SetupError::Settings(
                    "--backend openai needs --llm-model (the server's model id)".into(),
                )
            })?;
            let mut cfg = OpenAiConfig::new(&base_url, &model);
            cfg.api_key = s.api_key.clone().filter(|k| !k.trim().is_empty());
            cfg.api_key_env = s.api_key_env.clone();
            cfg.concurrency = s.concurrency.max(1);
            cfg.timeout = s.timeout.max(Duration::from_millis(100));
            cfg.retries = s.retries;
            cfg.max_tokens = s.max_tokens;
            cfg.response_format = s.response_format;
            let mut params = cfg.params();
            params["base_url"] = json!(cfg.base_url);
            params["concurrency"] = json!(cfg.concurrency);
            params["timeout_s"] = json!(s.timeout.as_secs_f64());
            params["retries"] = json!(cfg.retries);
            let backend = OpenAiBackend::new(cfg)?;
            if let Some(models) = backend.server_models().await {
                params["server_models"] = json!(models);
            }
            Ok(Built {
                scorer: Arc::new(
                    Scorer::new(Engine::OpenAi(backend), mode, s.parse_retries)
                        .with_prompts(prompts),
                ),
                backend: "openai",
                model_id: model,
                model_sha256: None,
                params,
            })
        }
    }
}
