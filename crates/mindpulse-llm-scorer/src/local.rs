//! The `local` backend: a GGUF model run in-process by `mindpulse-llm`.
//!
//! One worker thread owns the model. For each system prompt (one per language) it computes
//! the prompt prefix once and keeps that KV cache; every post forks it, so only the post's
//! own tokens are computed. Decoding is greedy. Request kinds:
//! * generate, free: the chat answer as the model writes it, read by the same parser as a
//!   server's;
//! * generate, constrained (the local form of a server's JSON-schema constraint): the
//!   worker writes the answer's skeleton — every key, in order — and at each value takes
//!   the most likely of the digits `0`–`5`, then lets the model write the rationale until
//!   its closing quote. The answer always parses, whatever the model's size;
//! * fast: the same skeleton pass without the rationale, reading the next-token
//!   distribution over `0`–`5` at each value (argmax is the score; the expected value and
//!   the probability are kept), with no free generation.

use crate::openai::{BackendError, ChatReply};
use crate::prompt::Message;
use crate::schema::{DIMENSIONS, N_DIMENSIONS};
use mindpulse_llm::{ChatMessage, GenerateOptions, Llm, LlmOptions, Session};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Settings of the local backend.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub model_path: PathBuf,
    /// Worker threads of the runtime (0 = all cores).
    pub threads: usize,
    pub max_tokens: usize,
    /// Most tokens a session may hold.
    pub max_context: usize,
    /// Generate mode writes the answer's skeleton itself (see the module docs).
    pub constrained: bool,
}

/// The fast-mode reading of one post.
#[derive(Debug, Clone, PartialEq)]
pub struct FastReply {
    /// Argmax over `0`–`5` at each value position.
    pub values: [u8; N_DIMENSIONS],
    /// Expected value under the renormalized distribution over `0`–`5`.
    pub expected: [f32; N_DIMENSIONS],
    /// Probability of the chosen digit (renormalized over the six digits).
    pub confidence: [f32; N_DIMENSIONS],
    /// Tokens in the prompt (cached prefix included).
    pub prompt_tokens: u64,
    /// Tokens computed for this post (prompt after the prefix, plus the skeleton).
    pub computed_tokens: u64,
}

enum Request {
    Generate(
        Vec<Message>,
        oneshot::Sender<Result<ChatReply, BackendError>>,
    ),
    Fast(
        Vec<Message>,
        oneshot::Sender<Result<FastReply, BackendError>>,
    ),
}

/// A handle to the worker thread.
pub struct LocalBackend {
    tx: mpsc::Sender<Request>,
    name: String,
    threads: usize,
    constrained: bool,
}

impl std::fmt::Debug for LocalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBackend")
            .field("name", &self.name)
            .field("threads", &self.threads)
            .field("constrained", &self.constrained)
            .finish()
    }
}

fn local_err(e: impl std::fmt::Display) -> BackendError {
    BackendError::Local(e.to_string())
}

impl LocalBackend {
    /// Loads the model on a new worker thread; returns once it is loaded.
    pub fn start(cfg: LocalConfig) -> Result<LocalBackend, BackendError> {
        let cfg_constrained = cfg.constrained;
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(String, usize), BackendError>>();
        std::thread::Builder::new()
            .name("mindpulse-llm-local".into())
            .spawn(move || {
                let opts = LlmOptions {
                    threads: cfg.threads,
                    max_context: cfg.max_context,
                };
                let llm = match Llm::load(&cfg.model_path, &opts) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(local_err(e)));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((llm.name().to_string(), llm.threads())));
                let mut worker = Worker {
                    llm: &llm,
                    prefixes: HashMap::new(),
                    max_tokens: cfg.max_tokens,
                };
                let constrained = cfg.constrained;
                while let Ok(req) = rx.recv() {
                    match req {
                        Request::Generate(messages, reply) => {
                            let answer = if constrained {
                                worker.constrained(&messages)
                            } else {
                                worker.generate(&messages)
                            };
                            let _ = reply.send(answer.map_err(local_err));
                        }
                        Request::Fast(messages, reply) => {
                            let _ = reply.send(worker.fast(&messages).map_err(local_err));
                        }
                    }
                }
            })
            .map_err(local_err)?;
        let (name, threads) = ready_rx
            .recv()
            .map_err(|_| BackendError::Local("the model thread stopped while loading".into()))??;
        Ok(LocalBackend {
            tx,
            name,
            threads,
            constrained: cfg_constrained,
        })
    }

    /// Whether generate mode writes the answer's skeleton itself.
    pub fn constrained(&self) -> bool {
        self.constrained
    }

    /// The model's name from the GGUF metadata.
    pub fn model_name(&self) -> &str {
        &self.name
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Greedy chat completion.
    pub async fn chat(&self, messages: &[Message]) -> Result<ChatReply, BackendError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Generate(messages.to_vec(), tx))
            .map_err(|_| BackendError::Local("the model thread has stopped".into()))?;
        rx.await
            .map_err(|_| BackendError::Local("the model thread has stopped".into()))?
    }

    /// Fast mode: scores from next-token probabilities.
    pub async fn fast(&self, messages: &[Message]) -> Result<FastReply, BackendError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Request::Fast(messages.to_vec(), tx))
            .map_err(|_| BackendError::Local("the model thread has stopped".into()))?;
        rx.await
            .map_err(|_| BackendError::Local("the model thread has stopped".into()))?
    }
}

#[derive(Debug, thiserror::Error)]
enum WorkerError {
    #[error(transparent)]
    Llm(#[from] mindpulse_llm::LlmError),
    #[error("{0}")]
    Other(String),
}

/// Most tokens of a rationale in constrained generation (one short sentence).
pub const MAX_RATIONALE_TOKENS: usize = 96;

/// What the skeleton pass leaves: the session, the reading, and the last value's digit
/// (not yet fed).
struct Skeleton<'a> {
    session: Session<'a>,
    reply: FastReply,
    last_digit: u32,
}

struct Worker<'a> {
    llm: &'a Llm,
    /// System prompt → (its prefix tokens, the session holding them).
    prefixes: HashMap<String, (Vec<u32>, Session<'a>)>,
    max_tokens: usize,
}

/// The OpenAI `finish_reason` for how generation stopped.
fn finish_reason(stop: mindpulse_llm::StopReason) -> &'static str {
    match stop {
        mindpulse_llm::StopReason::Eos | mindpulse_llm::StopReason::StopString => "stop",
        mindpulse_llm::StopReason::MaxTokens | mindpulse_llm::StopReason::ContextFull => "length",
    }
}

fn to_chat(messages: &[Message]) -> Vec<ChatMessage> {
    messages
        .iter()
        .map(|m| ChatMessage::new(m.role, m.content.clone()))
        .collect()
}

impl<'a> Worker<'a> {
    /// A session holding `tokens` minus the last one's logits computed: forks the cached
    /// prefix of this system prompt and feeds the rest. Returns the session and the logits.
    fn prime(
        &mut self,
        system: &str,
        tokens: &[u32],
    ) -> Result<(Session<'a>, Vec<f32>, u64), WorkerError> {
        if tokens.is_empty() {
            return Err(WorkerError::Other("empty prompt".into()));
        }
        if !self.prefixes.contains_key(system) {
            let sys_prompt = self
                .llm
                .chat_prompt(&[ChatMessage::new("system", system)], false)?;
            let sys_tokens = self.llm.tokenize(&sys_prompt, true)?;
            let mut session = self.llm.session();
            if !sys_tokens.is_empty() {
                session.feed(&sys_tokens)?;
            }
            self.prefixes
                .insert(system.to_string(), (sys_tokens, session));
        }
        let (prefix, base) = self
            .prefixes
            .get(system)
            .ok_or_else(|| WorkerError::Other("prefix cache".into()))?;
        let common = prefix
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(tokens.len() - 1);
        let mut session = if common > 0 {
            let mut s = base.fork();
            s.truncate(common);
            s
        } else {
            self.llm.session()
        };
        let rest = &tokens[common..];
        tracing::debug!(
            reused = common,
            prefix = prefix.len(),
            computed = rest.len(),
            "prompt prefix reuse"
        );
        let logits = session.feed(rest)?;
        Ok((session, logits, rest.len() as u64))
    }

    fn prompt_tokens(&self, messages: &[Message]) -> Result<Vec<u32>, WorkerError> {
        let prompt = self.llm.chat_prompt(&to_chat(messages), true)?;
        Ok(self.llm.tokenize(&prompt, true)?)
    }

    fn generate(&mut self, messages: &[Message]) -> Result<ChatReply, WorkerError> {
        let system = messages
            .first()
            .filter(|m| m.role == "system")
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let tokens = self.prompt_tokens(messages)?;
        let (mut session, logits, _) = self.prime(&system, &tokens)?;
        let g = session.generate(
            logits,
            &GenerateOptions {
                max_tokens: self.max_tokens,
                stop: Vec::new(),
            },
        )?;
        Ok(ChatReply {
            text: g.text,
            prompt_tokens: Some(tokens.len() as u64),
            completion_tokens: Some(g.tokens.len() as u64),
            model: Some(self.llm.name().to_string()),
            finish_reason: Some(finish_reason(g.stop_reason).to_string()),
            attempts: 1,
        })
    }

    fn fast(&mut self, messages: &[Message]) -> Result<FastReply, WorkerError> {
        Ok(self.skeleton(messages)?.reply)
    }

    /// Generate mode with the skeleton written by the worker: the values of [`Self::skeleton`],
    /// then `"rationale": "` and the model's words up to its closing quote.
    fn constrained(&mut self, messages: &[Message]) -> Result<ChatReply, WorkerError> {
        let Skeleton {
            mut session,
            reply,
            last_digit,
        } = self.skeleton(messages)?;
        let mut next = vec![last_digit];
        next.extend(self.llm.tokenize(", \"rationale\": \"", false)?);
        let logits = session.feed(&next)?;
        let g = session.generate(
            logits,
            &GenerateOptions {
                max_tokens: self.max_tokens.min(MAX_RATIONALE_TOKENS),
                stop: vec!["\"".to_string(), "\n".to_string()],
            },
        )?;
        let rationale = g.text.trim().trim_end_matches('\\').trim();
        let mut answer = serde_json::Map::new();
        for (d, v) in DIMENSIONS.iter().zip(reply.values) {
            answer.insert(d.id.to_string(), serde_json::Value::from(v));
        }
        answer.insert(
            "rationale".to_string(),
            serde_json::Value::from(rationale.to_string()),
        );
        let text = serde_json::Value::Object(answer).to_string();
        Ok(ChatReply {
            text,
            prompt_tokens: Some(reply.prompt_tokens),
            completion_tokens: Some(N_DIMENSIONS as u64 + g.tokens.len() as u64),
            model: Some(self.llm.name().to_string()),
            finish_reason: Some(finish_reason(g.stop_reason).to_string()),
            attempts: 1,
        })
    }

    /// The skeleton pass: the prompt, then `{"F00_F09": `; at each value the distribution over
    /// the digits `0`–`5` is read and its argmax written before the next key. Returns the
    /// session (after the last key, the last digit not yet fed), the reading, and that digit.
    fn skeleton(&mut self, messages: &[Message]) -> Result<Skeleton<'a>, WorkerError> {
        let digits: Vec<u32> = (0..=crate::schema::MAX_VALUE)
            .map(|d| {
                self.llm
                    .token_id(&d.to_string())
                    .ok_or_else(|| WorkerError::Other(format!("the vocabulary has no token {d:?}")))
            })
            .collect::<Result<_, _>>()?;
        let system = messages
            .first()
            .filter(|m| m.role == "system")
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let prompt = self.prompt_tokens(messages)?;
        let mut first = format!("{{\"{}\": ", DIMENSIONS[0].id);
        let mut tokens = prompt.clone();
        tokens.extend(self.llm.tokenize(&first, false)?);
        let (mut session, mut logits, mut computed) = self.prime(&system, &tokens)?;
        first.clear();
        let mut out = FastReply {
            values: [0; N_DIMENSIONS],
            expected: [0.0; N_DIMENSIONS],
            confidence: [0.0; N_DIMENSIONS],
            prompt_tokens: prompt.len() as u64,
            computed_tokens: 0,
        };
        let mut last_digit = digits[0];
        for i in 0..N_DIMENSIONS {
            let ls: Vec<f32> = digits
                .iter()
                .map(|&t| logits.get(t as usize).copied().unwrap_or(f32::NEG_INFINITY))
                .collect();
            let max = ls.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let ps: Vec<f32> = ls.iter().map(|l| (l - max).exp()).collect();
            let z: f32 = ps.iter().sum();
            let mut best = 0usize;
            for (k, p) in ps.iter().enumerate() {
                if *p > ps[best] {
                    best = k;
                }
            }
            out.values[i] = best as u8;
            out.confidence[i] = if z > 0.0 { ps[best] / z } else { 0.0 };
            out.expected[i] = if z > 0.0 {
                ps.iter()
                    .enumerate()
                    .map(|(k, p)| k as f32 * p)
                    .sum::<f32>()
                    / z
            } else {
                0.0
            };
            last_digit = digits[best];
            if i + 1 < N_DIMENSIONS {
                let mut next = vec![digits[best]];
                next.extend(
                    self.llm
                        .tokenize(&format!(", \"{}\": ", DIMENSIONS[i + 1].id), false)?,
                );
                computed += next.len() as u64;
                logits = session.feed(&next)?;
            }
        }
        out.computed_tokens = computed;
        Ok(Skeleton {
            session,
            reply: out,
            last_digit,
        })
    }
}
