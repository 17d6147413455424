//! `mindpulse generate`: greedy generation with a local GGUF model (smoke test of the LLM
//! runtime). The completion goes to standard output; prompt size and speeds to standard error.

use anyhow::{bail, Context as _};
use clap::Args;
use mindpulse_llm::{ChatMessage, GenerateOptions, Llm, LlmOptions};
use mindpulse_models::ModelKind;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Model: a registry name (`mindpulse models list`; installed with `mindpulse models
    /// install NAME`) or a path to a .gguf file (llama / qwen2 architectures).
    #[arg(long, default_value = "qwen2.5-0.5b-instruct-q4km")]
    pub model: String,
    /// The user message (or, with --raw, the whole prompt).
    #[arg(
        long,
        required_unless_present = "prompt_file",
        conflicts_with = "prompt_file"
    )]
    pub prompt: Option<String>,
    /// Read the prompt from this file instead (`-` for standard input).
    #[arg(long)]
    pub prompt_file: Option<PathBuf>,
    /// A system message (chat mode).
    #[arg(long, conflicts_with = "raw")]
    pub system: Option<String>,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Stop when the completion contains this text (repeatable); the text is cut before it.
    #[arg(long)]
    pub stop: Vec<String>,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Most tokens in the context (prompt + completion; 0: the model's context length).
    #[arg(long, default_value_t = 4096)]
    pub max_context: usize,
    /// Feed the prompt as is (no chat template); special tokens written in it are parsed.
    #[arg(long)]
    pub raw: bool,
    /// Print a JSON object (text, tokens, stop reason, timings) instead of the plain text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let prompt = match (&args.prompt, &args.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .context("reading the prompt from standard input")?;
            s
        }
        (None, Some(f)) => std::fs::read_to_string(f)
            .with_context(|| format!("reading the prompt from {}", f.display()))?,
        (None, None) => bail!("give --prompt TEXT or --prompt-file FILE"),
    };
    let model = mindpulse_models::resolve(&args.model)?;
    if model.kind != ModelKind::Gguf {
        bail!(
            "{} is a {} model; generate needs a GGUF LLM (e.g. qwen2.5-0.5b-instruct-q4km, smollm2-135m)",
            model.id,
            model.kind
        );
    }
    let llm = Llm::load(
        &model.main_file,
        &LlmOptions {
            threads: args.threads,
            max_context: args.max_context,
        },
    )
    .with_context(|| format!("loading {}", model.main_file.display()))?;

    let mut tokens = Vec::new();
    if args.raw {
        if llm.add_bos() {
            tokens.extend(llm.bos_token());
        }
        tokens.extend(llm.tokenize(&prompt, true)?);
    } else {
        let mut messages = Vec::new();
        if let Some(s) = &args.system {
            messages.push(ChatMessage::new("system", s.as_str()));
        }
        messages.push(ChatMessage::new("user", prompt.as_str()));
        let text = llm.chat_prompt(&messages, true)?;
        tracing::debug!(prompt = %text, "chat prompt");
        tokens.extend(llm.tokenize(&text, true)?);
    }
    if tokens.is_empty() {
        bail!("the prompt is empty");
    }

    let mut session = llm.session();
    let logits = session.feed(&tokens)?;
    let g = session.generate(
        logits,
        &GenerateOptions {
            max_tokens: args.max_tokens,
            stop: args.stop.clone(),
        },
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "model": model.id,
            "name": llm.name(),
            "architecture": llm.architecture(),
            "text": g.text,
            "tokens": g.tokens,
            "stop_reason": g.stop_reason,
            "prompt_tokens": g.prompt_tokens,
            "timings": g.timings,
            "prompt_tokens_per_s": g.timings.prompt_tokens_per_s(),
            "generation_tokens_per_s": g.timings.generation_tokens_per_s(),
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "{}", g.text)?;
    }
    out.flush()?;
    eprintln!(
        "{}: {} prompt tokens at {:.1} tokens/s; {} generated at {:.1} tokens/s ({:?}, {} threads)",
        llm.name(),
        g.prompt_tokens,
        g.timings.prompt_tokens_per_s(),
        g.tokens.len(),
        g.timings.generation_tokens_per_s(),
        g.stop_reason,
        llm.threads()
    );
    Ok(ExitCode::SUCCESS)
}
