//! The `openai` backend: the OpenAI-compatible chat-completions API (vLLM, Ollama, the
//! llama.cpp server, GLM/Zhipu, OpenAI).
//!
//! Requests are greedy (`temperature` 0, `top_p` 1, a fixed `seed`) and ask for output
//! constrained to the answer's JSON schema: first the OpenAI `json_schema` form, then the
//! llama.cpp `json_object`-with-`schema` form, then no constraint, stepping down when a
//! server rejects a form with 400/422 (remembered for the rest of the run). At most
//! `concurrency` requests are in flight. Timeouts, dropped connections, unreadable bodies,
//! 429 and 5xx are retried with exponential backoff, honouring `Retry-After`; other 4xx
//! answers fail at once with a clear message. The API key comes from an environment
//! variable and never appears in logs or `Debug` output.

use crate::prompt::Message;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How to ask for schema-constrained output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// Try `json_schema`, then `json_object` + schema, then nothing.
    Auto,
    /// `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}` (OpenAI, vLLM, llama-server).
    JsonSchema,
    /// `{"type": "json_object", "schema": …}` (llama-cpp-python, llama-server).
    JsonObject,
    /// No constraint (the prompt alone asks for JSON).
    None,
}

impl ResponseFormat {
    fn code(self) -> u8 {
        match self {
            ResponseFormat::Auto | ResponseFormat::JsonSchema => 0,
            ResponseFormat::JsonObject => 1,
            ResponseFormat::None => 2,
        }
    }

    fn from_code(c: u8) -> ResponseFormat {
        match c {
            0 => ResponseFormat::JsonSchema,
            1 => ResponseFormat::JsonObject,
            _ => ResponseFormat::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseFormat::Auto => "auto",
            ResponseFormat::JsonSchema => "json_schema",
            ResponseFormat::JsonObject => "json_object",
            ResponseFormat::None => "none",
        }
    }
}

/// Settings of the `openai` backend.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// E.g. `http://127.0.0.1:8080/v1` (`/chat/completions` is appended).
    pub base_url: String,
    /// The server's model id.
    pub model: String,
    /// The API key (read from the environment by the caller); never logged.
    pub api_key: Option<String>,
    /// Name of the variable the key came from, for error messages.
    pub api_key_env: String,
    /// Most requests in flight.
    pub concurrency: usize,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt, for timeouts, connection errors, 429 and 5xx.
    pub retries: u32,
    /// First backoff; doubled per retry, at most `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub max_tokens: u32,
    pub seed: u64,
    pub response_format: ResponseFormat,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("api_key_env", &self.api_key_env)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("response_format", &self.response_format)
            .finish()
    }
}

impl OpenAiConfig {
    /// Defaults for a server at `base_url` serving `model`.
    pub fn new(base_url: &str, model: &str) -> OpenAiConfig {
        OpenAiConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            api_key: None,
            api_key_env: "MINDPULSE_LLM_API_KEY".into(),
            concurrency: 4,
            timeout: Duration::from_secs(120),
            retries: 3,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_tokens: 256,
            seed: 0,
            response_format: ResponseFormat::Auto,
        }
    }

    /// The decoding parameters, as recorded with a run.
    pub fn params(&self) -> Value {
        json!({
            "temperature": 0.0,
            "top_p": 1.0,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
            "response_format": self.response_format.as_str(),
        })
    }
}

/// What went wrong talking to the server.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// A 4xx other than 429: the request itself is wrong (key, model, URL, content).
    #[error("{url} answered HTTP {status}: {message}{hint}")]
    Rejected {
        url: String,
        status: u16,
        message: String,
        hint: String,
    },
    /// Retries used up on timeouts, connection errors, 429, 5xx or unreadable bodies.
    #[error("{url}: gave up after {attempts} attempts: {last}")]
    Exhausted {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The local runtime failed.
    #[error("local model: {0}")]
    Local(String),
}

impl BackendError {
    /// True when the error concerns this request only (a 400/413/422 on one post, such as
    /// a content filter), so a scoring run records it and goes on; false when no request
    /// can succeed now (bad key, model or URL, server down), so the run stops.
    pub fn is_per_request(&self) -> bool {
        matches!(self, BackendError::Rejected { status, .. } if matches!(status, 400 | 413 | 422))
    }
}

/// One completion.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatReply {
    pub text: String,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// The model id the server reports.
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    /// HTTP attempts this reply took.
    pub attempts: u32,
}

/// A client of one OpenAI-compatible server.
pub struct OpenAiBackend {
    cfg: OpenAiConfig,
    client: reqwest::Client,
    url: String,
    limit: Arc<Semaphore>,
    /// The response-format form in use (see [`ResponseFormat::code`]).
    format: AtomicU8,
}

impl std::fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiBackend")
            .field("cfg", &self.cfg)
            .finish()
    }
}

fn short(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    // Prefer the OpenAI error message when there is one.
    if let Ok(v) = serde_json::from_str::<Value>(s) {
        for ptr in ["/error/message", "/message", "/detail", "/error"] {
            if let Some(m) = v.pointer(ptr) {
                let m = m
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| m.to_string());
                return m.chars().take(300).collect();
            }
        }
    }
    s.chars().take(300).collect()
}

/// Seconds from a `Retry-After` header (delta-seconds; HTTP dates are not used by these APIs).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(600.0)))
}

impl OpenAiBackend {
    pub fn new(cfg: OpenAiConfig) -> Result<OpenAiBackend, BackendError> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(30)))
            .build()
            .map_err(|e| BackendError::Client(e.to_string()))?;
        let url = if cfg.base_url.ends_with("/chat/completions") {
            cfg.base_url.clone()
        } else {
            format!("{}/chat/completions", cfg.base_url)
        };
        let limit = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
        let format = AtomicU8::new(cfg.response_format.code());
        Ok(OpenAiBackend {
            cfg,
            client,
            url,
            limit,
            format,
        })
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.cfg
    }

    /// The response-format form in use now.
    pub fn response_format(&self) -> ResponseFormat {
        ResponseFormat::from_code(self.format.load(Ordering::Relaxed))
    }

    fn body(&self, messages: &[Message], format: ResponseFormat) -> Value {
        let mut body = json!({
            "model": self.cfg.model,
            "messages": messages,
            "temperature": 0.0,
            "top_p": 1.0,
            "seed": self.cfg.seed,
            "max_tokens": self.cfg.max_tokens,
            "stream": false,
        });
        let schema = crate::schema::json_schema();
        match format {
            ResponseFormat::JsonSchema | ResponseFormat::Auto => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": "icd10_f_scores", "strict": true, "schema": schema},
                });
            }
            ResponseFormat::JsonObject => {
                body["response_format"] = json!({"type": "json_object", "schema": schema});
            }
            ResponseFormat::None => {}
        }
        body
    }

    /// Whether an error reply says the `response_format` form in use is not supported
    /// (only while stepping down is allowed: `Auto` and a form left to try).
    fn format_rejected(&self, status: u16, format: ResponseFormat, body: &[u8]) -> bool {
        if self.cfg.response_format != ResponseFormat::Auto
            || format == ResponseFormat::None
            || !matches!(status, 400 | 422 | 500)
        {
            return false;
        }
        let text = String::from_utf8_lossy(body).to_lowercase();
        text.contains("response_format")
            || text.contains("json_schema")
            || text.contains("json_object")
    }

    /// The model ids the server lists (`GET /models`), for provenance; None when it
    /// does not answer that.
    pub async fn server_models(&self) -> Option<Vec<String>> {
        let url = format!("{}/models", self.url.trim_end_matches("/chat/completions"));
        let mut req = self.client.get(&url);
        if let Some(key) = &self.cfg.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
        let ids = v["data"]
            .as_array()?
            .iter()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect();
        Some(ids)
    }

    /// One chat completion, with retries.
    pub async fn chat(&self, messages: &[Message]) -> Result<ChatReply, BackendError> {
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|e| BackendError::Client(e.to_string()))?;
        let mut attempt: u32 = 0;
        let mut last;
        loop {
            attempt += 1;
            let format = self.response_format();
            let body = self.body(messages, format);
            let bytes =
                serde_json::to_vec(&body).map_err(|e| BackendError::Client(e.to_string()))?;
            let mut req = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
            if let Some(key) = &self.cfg.api_key {
                req = req.bearer_auth(key);
            }
            let started = Instant::now();
            let mut wait = None;
            match req.send().await {
                Err(e) => {
                    last = if e.is_timeout() {
                        format!("timed out after {:.1?}", started.elapsed())
                    } else if e.is_connect() {
                        format!("cannot connect: {e}")
                    } else {
                        format!("request failed: {e}")
                    };
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Err(e) => {
                            last = if e.is_timeout() {
                                format!(
                                    "timed out reading the reply after {:.1?}",
                                    started.elapsed()
                                )
                            } else {
                                format!("reply cut off: {e}")
                            };
                        }
                        Ok(body) if (200..300).contains(&status) => match read_reply(&body) {
                            Ok(mut reply) => {
                                reply.attempts = attempt;
                                return Ok(reply);
                            }
                            Err(e) => last = e,
                        },
                        Ok(body) if self.format_rejected(status, format, &body) => {
                            // This server does not take this form: step down and ask again
                            // (llama-cpp-python answers a schema it cannot take with a 500).
                            let next = format.code() + 1;
                            let _ = self.format.compare_exchange(
                                format.code(),
                                next,
                                Ordering::Relaxed,
                                Ordering::Relaxed,
                            );
                            tracing::info!(
                                from = format.as_str(),
                                to = ResponseFormat::from_code(next).as_str(),
                                status,
                                "the server rejected this response_format; stepping down"
                            );
                            attempt -= 1;
                            continue;
                        }
                        Ok(body) if status == 429 || status >= 500 => {
                            wait = retry_after(&headers);
                            last = format!("HTTP {status}: {}", short(&body));
                        }
                        Ok(body) => {
                            let message = short(&body);
                            let hint = match status {
                                401 | 403 => {
                                    format!(" (check the API key in ${})", self.cfg.api_key_env)
                                }
                                404 => {
                                    " (check --base-url, which should end in /v1, and --llm-model)"
                                        .to_string()
                                }
                                _ => String::new(),
                            };
                            return Err(BackendError::Rejected {
                                url: self.url.clone(),
                                status,
                                message,
                                hint,
                            });
                        }
                    }
                }
            }
            if attempt > self.cfg.retries {
                return Err(BackendError::Exhausted {
                    url: self.url.clone(),
                    attempts: attempt,
                    last,
                });
            }
            let backoff = self
                .cfg
                .backoff
                .saturating_mul(1u32 << (attempt - 1).min(16))
                .min(self.cfg.max_backoff);
            let delay = wait.unwrap_or(backoff);
            tracing::warn!(attempt, error = %last, delay_ms = delay.as_millis() as u64, "LLM request failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// Reads a chat-completions reply body.
fn read_reply(body: &[u8]) -> Result<ChatReply, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("unreadable reply ({e}): {}", short(body)))?;
    let choice = v["choices"]
        .get(0)
        .ok_or_else(|| format!("reply without choices: {}", short(body)))?;
    let text = choice["message"]["content"]
        .as_str()
        .or_else(|| choice["text"].as_str())
        .ok_or_else(|| format!("reply without message content: {}", short(body)))?
        .to_string();
    Ok(ChatReply {
        text,
        prompt_tokens: v["usage"]["prompt_tokens"].as_u64(),
        completion_tokens: v["usage"]["completion_tokens"].as_u64(),
        model: v["model"].as_str().map(str::to_string),
        finish_reason: choice["finish_reason"].as_str().map(str::to_string),
        attempts: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_bodies() {
        let r = read_reply(br#"{"model":"m","choices":[{"message":{"role":"assistant","content":"{}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#).unwrap();
        assert_eq!(r.text, "{}");
        assert_eq!(r.prompt_tokens, Some(12));
        assert_eq!(r.model.as_deref(), Some("m"));
        assert!(read_reply(b"<html>oops</html>").is_err());
        assert!(read_reply(br#"{"choices":[]}"#).is_err());
        assert!(read_reply(br#"{"choices":[{"message":{"content":null}}]}"#).is_err());
    }

    #[test]
    fn error_messages_are_short_and_prefer_the_api_message() {
        assert_eq!(
            short(br#"{"error":{"message":"bad key","type":"x"}}"#),
            "bad key"
        );
        assert_eq!(short(b"plain"), "plain");
        assert_eq!(short(&[b'x'; 1000]).len(), 300);
    }

    #[test]
    fn debug_output_hides_the_key() {
        let mut cfg = OpenAiConfig::new("http://h/v1/", "m");
        cfg.api_key = Some("sk-secret-123".into());
        assert_eq!(cfg.base_url, "http://h/v1");
        let b = OpenAiBackend::new(cfg).unwrap();
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("sk-secret-123"), "{dbg}");
        assert!(dbg.contains("***"));
    }

    #[test]
    fn request_body_is_greedy_and_schema_constrained() {
        let b = OpenAiBackend::new(OpenAiConfig::new("http://h/v1", "qwen")).unwrap();
        let msgs = vec![Message {
            role: "user",
            content: "睡不着".into(),
        }];
        let body = b.body(&msgs, ResponseFormat::JsonSchema);
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["seed"], 0);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(
            body["response_format"]["json_schema"]["schema"]["required"][3],
            "F30_F39"
        );
        let body = b.body(&msgs, ResponseFormat::JsonObject);
        assert_eq!(body["response_format"]["type"], "json_object");
        assert!(b
            .body(&msgs, ResponseFormat::None)
            .get("response_format")
            .is_none());
        // The post is readable UTF-8 on the wire, not \u escapes.
        let wire = String::from_utf8(serde_json::to_vec(&body).unwrap()).unwrap();
        assert!(wire.contains("睡不着"));
    }

    #[test]
    fn retry_after_header() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
