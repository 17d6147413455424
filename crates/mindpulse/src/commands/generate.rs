//! `mindpulse generate`: greedy generation with a local GGUF model (smoke test of the LLM runtime).

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Model name from the registry, or a path to a .gguf file.
    #[arg(long, default_value = "qwen2.5-0.5b-instruct-q4km")]
    pub model: String,
    /// The user message.
    #[arg(long)]
    pub prompt: String,
}

pub fn run(_args: GenerateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("generate: the LLM runtime is being built")
}
