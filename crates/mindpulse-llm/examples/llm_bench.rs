//! Prompt-processing and generation speed of a GGUF model, plus a greedy sample.
//!
//! ```sh
//! cargo run --release -p mindpulse-llm --example llm_bench -- qwen2.5-0.5b-instruct-q4km 2 256
//! ```
//! Arguments: model name or .gguf path, threads (default 2), prompt tokens (default 256),
//! generated tokens (default 64), and `nosample` to skip the chat sample.

use mindpulse_llm::{ChatMessage, GenerateOptions, Llm, LlmOptions};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let model = args
        .get(1)
        .map_or("qwen2.5-0.5b-instruct-q4km", String::as_str);
    let threads: usize = args.get(2).map_or(Ok(2), |s| s.parse())?;
    let n_prompt: usize = args.get(3).map_or(Ok(256), |s| s.parse())?;
    let n_gen: usize = args.get(4).map_or(Ok(64), |s| s.parse())?;
    let sample = args.get(5).is_none_or(|s| s != "nosample");
    let path = mindpulse_models::resolve(model)?.main_file;
    let t0 = Instant::now();
    let llm = Llm::load(
        &path,
        &LlmOptions {
            threads,
            max_context: 0,
        },
    )?;
    println!(
        "{} ({}), vocab {}, loaded in {:.2}s, {} threads",
        llm.name(),
        llm.architecture(),
        llm.vocab_size(),
        t0.elapsed().as_secs_f64(),
        llm.threads()
    );

    // Prompt processing: a fixed text repeated to n_prompt tokens.
    let text = "Population-scale mental-health signals from social media: posts about sleep, \
                work stress, exams and loneliness, in English and 中文（失眠、焦虑、考研）. ";
    let mut tokens = Vec::new();
    while tokens.len() < n_prompt {
        tokens.extend(llm.tokenize(text, false)?);
    }
    tokens.truncate(n_prompt);
    let mut s = llm.session();
    let t = Instant::now();
    s.feed(&tokens)?;
    let pp = t.elapsed().as_secs_f64();
    // Generation: 64 single-token steps.
    let t = Instant::now();
    for i in 0..n_gen {
        s.feed(&[tokens[i % tokens.len()]])?;
    }
    let tg = t.elapsed().as_secs_f64();
    println!(
        "prompt: {n_prompt} tokens in {:.0} ms = {:.1} tokens/s; generation: {n_gen} tokens in {:.0} ms = {:.1} tokens/s",
        pp * 1000.0,
        n_prompt as f64 / pp,
        tg * 1000.0,
        n_gen as f64 / tg
    );

    if !sample {
        return Ok(());
    }
    let prompt = llm.chat_prompt(
        &[ChatMessage::new(
            "user",
            "What is the capital of France? Answer in one sentence.",
        )],
        true,
    )?;
    let ids = llm.tokenize(&prompt, true)?;
    let mut s = llm.session();
    let logits = s.feed(&ids)?;
    let g = s.generate(
        logits,
        &GenerateOptions {
            max_tokens: 48,
            stop: vec![],
        },
    )?;
    println!("sample ({:?}): {:?}", g.stop_reason, g.text);
    println!(
        "chat prompt {} tokens: {:.1} tokens/s, generation {:.1} tokens/s",
        g.prompt_tokens,
        g.timings.prompt_tokens_per_s(),
        g.timings.generation_tokens_per_s()
    );
    Ok(())
}
