//! One chat LLM for the commands that ask it questions in free text (`ask`, `bench ask`): a
//! GGUF model run in-process or an OpenAI-compatible server, started once and asked any
//! number of (system, user) questions; and the two ways `ask` has it write an answer
//! ([`Compose`]). The scorer's LLM (with schemas and batching) is
//! `llm_args`.

use anyhow::Context as _;
use clap::ValueEnum;
use mindpulse_ask::{answer_per_post, messages, parse, Answer, Passage};
use mindpulse_llm_scorer::prompt::Message;
use mindpulse_llm_scorer::{
    LocalBackend, LocalConfig, OpenAiBackend, OpenAiConfig, ResponseFormat,
};

/// A started chat model.
pub enum ChatLlm {
    Local(LocalBackend),
    Server(Box<OpenAiBackend>),
}

/// What to start.
pub enum ChatLlmSpec<'a> {
    /// A registry name or .gguf path, with threads and the longest reply in tokens.
    Local {
        model: &'a str,
        threads: usize,
        max_tokens: usize,
    },
    /// An OpenAI-compatible server: base URL, model id, the API key (if any), longest reply.
    Server {
        base_url: &'a str,
        model: &'a str,
        api_key: Option<String>,
        api_key_env: &'a str,
        max_tokens: usize,
    },
}

impl ChatLlm {
    /// Starts the model; returns it with the name the output reports (local: id@sha256 prefix).
    pub async fn start(spec: ChatLlmSpec<'_>) -> anyhow::Result<(ChatLlm, String)> {
        match spec {
            ChatLlmSpec::Local {
                model,
                threads,
                max_tokens,
            } => {
                let resolved = mindpulse_models::resolve(model).with_context(|| {
                    format!(
                        "the local model {model} (install it with `mindpulse models install {model}`)"
                    )
                })?;
                let cfg = LocalConfig {
                    model_path: resolved.path.clone(),
                    threads: crate::commands::resolve_threads(threads),
                    max_tokens,
                    max_context: 4096,
                    constrained: false,
                };
                let backend = tokio::task::spawn_blocking(move || LocalBackend::start(cfg))
                    .await
                    .context("starting the local model")??;
                Ok((
                    ChatLlm::Local(backend),
                    format!("{}@{}", resolved.id, &resolved.sha256[..12]),
                ))
            }
            ChatLlmSpec::Server {
                base_url,
                model,
                api_key,
                api_key_env,
                max_tokens,
            } => {
                let mut cfg = OpenAiConfig::new(base_url, model);
                cfg.api_key = api_key;
                cfg.api_key_env = api_key_env.to_string();
                cfg.max_tokens = max_tokens as u32;
                cfg.response_format = ResponseFormat::None;
                Ok((
                    ChatLlm::Server(Box::new(OpenAiBackend::new(cfg)?)),
                    model.to_string(),
                ))
            }
        }
    }

    /// The model's reply to one (system, user) exchange.
    pub async fn ask(&self, system: String, user: String) -> anyhow::Result<String> {
        let chat = [
            Message {
                role: "system",
                content: system,
            },
            Message {
                role: "user",
                content: user,
            },
        ];
        Ok(match self {
            ChatLlm::Local(b) => b.chat(&chat).await?.text,
            ChatLlm::Server(b) => b.chat(&chat).await?.text,
        })
    }
}

/// How the model writes the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compose {
    /// One call per post: "what does this post say about the question?"; each sentence is
    /// cited to the post it was written from (what small local models cite well).
    PerPost,
    /// One call over all posts, the model citing them as it writes (for larger models).
    Together,
}

/// The model's answer over `passages`, written the `how` way (not yet checked).
pub async fn compose(
    llm: &ChatLlm,
    how: Compose,
    question: &str,
    passages: &[Passage],
) -> anyhow::Result<Answer> {
    match how {
        Compose::PerPost => {
            answer_per_post(question, passages, |system, user| llm.ask(system, user)).await
        }
        Compose::Together => {
            let (system, user) = messages(question, passages);
            let reply = llm.ask(system, user).await?;
            tracing::debug!(reply = %reply, "ask");
            Ok(parse(&reply, passages.len()))
        }
    }
}
