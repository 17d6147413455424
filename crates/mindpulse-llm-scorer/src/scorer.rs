//! Scoring one post: render the prompt for its language, ask the backend, parse (strict,
//! then repaired), and on an unusable answer ask again with the error shown, at most
//! `parse_retries` times; then the post is a recorded parse failure. Every post is scored
//! on its own conversation; nothing is shared between posts but the cached system prefix.

use crate::local::{FastReply, LocalBackend};
use crate::openai::{BackendError, ChatReply, OpenAiBackend};
use crate::parse::{parse_answer, ParseError, Parsed};
use crate::prompt::{Message, PromptLang, PromptSet};
use crate::schema::Scores;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the model runs.
pub enum Engine {
    Local(LocalBackend),
    OpenAi(OpenAiBackend),
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Local(_) => "local",
            Engine::OpenAi(_) => "openai",
        }
    }

    async fn chat(&self, messages: &[Message]) -> Result<ChatReply, BackendError> {
        match self {
            Engine::Local(b) => b.chat(messages).await,
            Engine::OpenAi(b) => b.chat(messages).await,
        }
    }
}

/// Generate (free greedy generation, with rationale) or fast (next-token probabilities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Generate,
    Fast,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Generate => "generate",
            Mode::Fast => "fast",
        }
    }
}

/// A post to score.
#[derive(Debug, Clone)]
pub struct PostInput {
    pub text: String,
    pub lang: Option<String>,
    pub topics: Vec<String>,
}

/// Why a post has no scores.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("unusable answer after {attempts} attempts: {error}")]
    Parse {
        error: ParseError,
        attempts: u32,
        last_answer: String,
    },
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// The result of scoring one post.
#[derive(Debug)]
pub struct Outcome {
    pub lang: PromptLang,
    pub prompt_sha256: String,
    pub truncated: bool,
    pub result: Result<Parsed, Failure>,
    /// Model calls made (1 + parse retries).
    pub attempts: u32,
    /// Prompt tokens of the calls (as the backend reports them).
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The model id the server reported.
    pub model: Option<String>,
    pub elapsed: Duration,
    /// Fast mode's distributions.
    pub fast: Option<FastReply>,
}

impl Outcome {
    pub fn scores(&self) -> Option<&Scores> {
        self.result.as_ref().ok().map(|p| &p.scores)
    }
}

/// Scores posts with one engine.
pub struct Scorer {
    pub engine: Engine,
    pub mode: Mode,
    /// Retries after an unusable answer.
    pub parse_retries: u32,
    /// The prompt version posts are scored with.
    pub prompts: &'static PromptSet,
}

impl Scorer {
    /// A scorer with the newest prompts.
    pub fn new(engine: Engine, mode: Mode, parse_retries: u32) -> Scorer {
        Scorer {
            engine,
            mode,
            parse_retries,
            prompts: PromptSet::latest(),
        }
    }

    /// The same scorer with another prompt version.
    pub fn with_prompts(mut self, prompts: &'static PromptSet) -> Scorer {
        self.prompts = prompts;
        self
    }

    /// Scores one post.
    pub async fn score(&self, post: &PostInput) -> Outcome {
        let started = Instant::now();
        let lang = PromptLang::for_post(post.lang.as_deref(), &post.text);
        let prompt = self.prompts.prompt(lang);
        let rendered = prompt.render(&post.text, &post.topics);
        let mut outcome = Outcome {
            lang,
            prompt_sha256: prompt.sha256(),
            truncated: rendered.truncated,
            result: Err(Failure::Parse {
                error: ParseError::NoObject,
                attempts: 0,
                last_answer: String::new(),
            }),
            attempts: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            model: None,
            elapsed: Duration::ZERO,
            fast: None,
        };
        let mut messages = prompt.messages(&rendered);
        if self.mode == Mode::Fast {
            outcome.attempts = 1;
            outcome.result = match &self.engine {
                Engine::Local(b) => match b.fast(&messages).await {
                    Ok(f) => {
                        outcome.prompt_tokens = f.prompt_tokens;
                        let parsed = Parsed {
                            scores: Scores {
                                values: f.values,
                                rationale: String::new(),
                            },
                            repairs: Vec::new(),
                            notes: Vec::new(),
                        };
                        outcome.model = Some(b.model_name().to_string());
                        outcome.fast = Some(f);
                        Ok(parsed)
                    }
                    Err(e) => Err(Failure::Backend(e)),
                },
                Engine::OpenAi(_) => Err(Failure::Backend(BackendError::Local(
                    "fast mode reads next-token probabilities and needs the local backend".into(),
                ))),
            };
            outcome.elapsed = started.elapsed();
            return outcome;
        }
        loop {
            outcome.attempts += 1;
            let reply = match self.engine.chat(&messages).await {
                Ok(r) => r,
                Err(e) => {
                    outcome.result = Err(Failure::Backend(e));
                    break;
                }
            };
            outcome.prompt_tokens += reply.prompt_tokens.unwrap_or(0);
            outcome.completion_tokens += reply.completion_tokens.unwrap_or(0);
            if reply.model.is_some() {
                outcome.model = reply.model.clone();
            }
            match parse_answer(&reply.text) {
                Ok(parsed) => {
                    outcome.result = Ok(parsed);
                    break;
                }
                Err(error) => {
                    tracing::debug!(attempt = outcome.attempts, %error, "unusable LLM answer");
                    if outcome.attempts > self.parse_retries {
                        outcome.result = Err(Failure::Parse {
                            error,
                            attempts: outcome.attempts,
                            last_answer: reply.text.chars().take(2000).collect(),
                        });
                        break;
                    }
                    messages.push(Message {
                        role: "assistant",
                        content: reply.text.chars().take(2000).collect(),
                    });
                    messages.push(prompt.retry_message(&error.to_string()));
                }
            }
        }
        outcome.elapsed = started.elapsed();
        outcome
    }

    /// Scores posts concurrently (the backend bounds what runs at once); results are in
    /// input order.
    pub async fn score_all(self: &Arc<Self>, posts: Vec<PostInput>) -> Vec<Outcome> {
        let mut set = tokio::task::JoinSet::new();
        let n = posts.len();
        for (i, post) in posts.into_iter().enumerate() {
            let me = Arc::clone(self);
            set.spawn(async move { (i, me.score(&post).await) });
        }
        let mut out: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((i, o)) => out[i] = Some(o),
                Err(e) => tracing::error!(error = %e, "a scoring task panicked"),
            }
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome {
                    lang: PromptLang::En,
                    prompt_sha256: String::new(),
                    truncated: false,
                    result: Err(Failure::Backend(BackendError::Local(
                        "the scoring task failed".into(),
                    ))),
                    attempts: 0,
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    model: None,
                    elapsed: Duration::ZERO,
                    fast: None,
                })
            })
            .collect()
    }
}
