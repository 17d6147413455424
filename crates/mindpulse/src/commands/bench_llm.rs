//! `mindpulse bench llm`: the LLM scorer through the local backend and a llama.cpp server.
//!
//! The same GGUF file, the same prompts and the same posts (the bundled sample, cycled to
//! `--posts`) go through (a) the local backend in free generate mode, (b) the llama.cpp
//! server (`python -m llama_cpp.server` from the venv `scripts/setup_llama_server.sh` makes)
//! with the same thread count, one request at a time and no output constraint, so both
//! runtimes do the same work, (c) the local backend in constrained generate mode (its
//! default: skeleton written by the scorer, rationale by the model) and (d) in fast mode.
//! Prints posts/s and prompt tokens/s per row, the agreement of fast with free generate
//! mode and of the server with local, and the speed-ups.

use crate::context::Context;
use anyhow::Context as _;
use clap::Args;
use mindpulse_llm_scorer::llama_server::{find_python, LlamaServer};
use mindpulse_llm_scorer::{
    Engine, LocalBackend, LocalConfig, Mode, OpenAiBackend, OpenAiConfig, Outcome, PostInput,
    PromptLang, ResponseFormat, Scorer,
};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLE: &str = include_str!("../../../../data/sample/quickstart.jsonl");

#[derive(Debug, Args)]
pub struct BenchLlmArgs {
    /// Posts to score.
    #[arg(long, default_value_t = 200)]
    pub posts: usize,
    /// GGUF model (registry name or path).
    #[arg(long, default_value = mindpulse_llm_scorer::DEFAULT_LOCAL_MODEL)]
    pub llm_model: String,
    /// Threads for both runtimes (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Most tokens generated per answer.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// Python of the llama-cpp-python venv (default: the cached venv of scripts/setup_llama_server.sh).
    #[arg(long, env = "MINDPULSE_LLAMA_PYTHON")]
    pub python: Option<PathBuf>,
    /// Skip the llama.cpp server.
    #[arg(long)]
    pub no_server: bool,
    /// Skip fast mode.
    #[arg(long)]
    pub no_fast: bool,
    /// Skip constrained generate mode.
    #[arg(long)]
    pub no_constrained: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Sample posts (text, topics), cycled to `n`.
fn sample_posts(n: usize) -> Vec<PostInput> {
    let mut base = Vec::new();
    for line in SAMPLE.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(text) = v["text"].as_str().filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        let topics = match &v["topic"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        base.push(PostInput {
            text: text.to_string(),
            lang: v["lang"].as_str().map(String::from),
            topics,
        });
    }
    let posts: Vec<PostInput> = base
        .iter()
        .cycle()
        .take(n.min(base.len().max(1) * 1000))
        .cloned()
        .collect();
    // Chinese posts first, then the rest: the llama.cpp server keeps the KV cache of one
    // prompt prefix only, so alternating languages would make it recompute the system prompt
    // for most posts, a cost the local backend (one cached prefix per language) never pays.
    // Grouped, both reuse the prefix: the comparison is of the runtimes, not of the caching.
    let (mut zh, other): (Vec<PostInput>, Vec<PostInput>) = posts
        .into_iter()
        .partition(|p| PromptLang::for_post(p.lang.as_deref(), &p.text) == PromptLang::Zh);
    zh.extend(other);
    zh
}

struct Row {
    name: String,
    outcomes: Vec<Outcome>,
    wall_s: f64,
}

impl Row {
    fn parsed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.scores().is_some())
            .count()
    }
    fn prompt_tokens(&self) -> u64 {
        self.outcomes.iter().map(|o| o.prompt_tokens).sum()
    }
    fn completion_tokens(&self) -> u64 {
        self.outcomes.iter().map(|o| o.completion_tokens).sum()
    }
    fn posts_per_s(&self) -> f64 {
        rate(self.outcomes.len() as f64, self.wall_s)
    }
    /// Prompt and generated tokens per second: the throughput per unit of work, since greedy
    /// decoding on two runtimes can diverge and stop after different numbers of tokens.
    fn tokens_per_s(&self) -> f64 {
        rate(
            (self.prompt_tokens() + self.completion_tokens()) as f64,
            self.wall_s,
        )
    }
    fn json(&self) -> Value {
        json!({
            "name": self.name,
            "posts": self.outcomes.len(),
            "parsed": self.parsed(),
            "wall_s": self.wall_s,
            "posts_per_s": self.posts_per_s(),
            "prompt_tokens": self.prompt_tokens(),
            "prompt_tokens_per_s": rate(self.prompt_tokens() as f64, self.wall_s),
            "completion_tokens": self.completion_tokens(),
            "tokens_per_s": self.tokens_per_s(),
        })
    }
}

fn rate(n: f64, s: f64) -> f64 {
    if s > 0.0 {
        n / s
    } else {
        0.0
    }
}

/// Exact and within-one agreement over every dimension of the posts both parsed.
fn agreement(a: &Row, b: &Row) -> (f64, f64, usize) {
    let (mut same, mut near, mut total, mut posts) = (0usize, 0usize, 0usize, 0usize);
    for (x, y) in a.outcomes.iter().zip(&b.outcomes) {
        if let (Some(x), Some(y)) = (x.scores(), y.scores()) {
            posts += 1;
            for (u, v) in x.values.iter().zip(y.values.iter()) {
                total += 1;
                same += usize::from(u == v);
                near += usize::from(u.abs_diff(*v) <= 1);
            }
        }
    }
    (
        rate(same as f64, total as f64),
        rate(near as f64, total as f64),
        posts,
    )
}

async fn run_scorer(name: &str, scorer: &Arc<Scorer>, posts: &[PostInput]) -> Row {
    let started = Instant::now();
    let mut outcomes = Vec::with_capacity(posts.len());
    for chunk in posts.chunks(8) {
        outcomes.extend(scorer.score_all(chunk.to_vec()).await);
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "    {name}: {}/{} posts, {:.1} s, {:.3} posts/s",
            outcomes.len(),
            posts.len(),
            secs,
            rate(outcomes.len() as f64, secs)
        );
    }
    Row {
        name: name.to_string(),
        outcomes,
        wall_s: started.elapsed().as_secs_f64(),
    }
}

pub async fn run(_ctx: &Context, args: BenchLlmArgs) -> anyhow::Result<ExitCode> {
    let resolved = mindpulse_models::resolve(&args.llm_model).with_context(|| {
        format!(
            "cannot find {:?}: install it with `mindpulse models install {}`",
            args.llm_model, args.llm_model
        )
    })?;
    let threads = if args.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        args.threads
    };
    let posts = sample_posts(args.posts);
    eprintln!(
        "bench llm: {} posts, model {} ({}), {} threads",
        posts.len(),
        resolved.id,
        &resolved.sha256[..12],
        threads
    );
    let cfg = LocalConfig {
        model_path: resolved.path.clone(),
        threads,
        max_tokens: args.max_tokens as usize,
        max_context: 4096,
        constrained: false,
    };
    let t0 = Instant::now();
    let local = tokio::task::spawn_blocking(move || LocalBackend::start(cfg))
        .await
        .context("loading the model")??;
    let load_s = t0.elapsed().as_secs_f64();
    let local = Arc::new(Scorer::new(Engine::Local(local), Mode::Generate, 0));
    let mut rows = Vec::new();
    eprintln!("  local, generate mode …");
    rows.push(run_scorer("local generate", &local, &posts).await);

    let mut server_note = None;
    if !args.no_server {
        match args.python.clone().or_else(find_python) {
            None => {
                server_note = Some(
                    "llama.cpp server skipped: no venv (run scripts/setup_llama_server.sh)"
                        .to_string(),
                )
            }
            Some(python) => {
                eprintln!("  llama.cpp server ({}) …", python.display());
                let server = LlamaServer::start(
                    &python,
                    &resolved.path,
                    &resolved.id,
                    threads,
                    4096,
                    Duration::from_secs(300),
                )
                .await?;
                let mut cfg = OpenAiConfig::new(&server.base_url, &server.model);
                cfg.concurrency = 1;
                cfg.max_tokens = args.max_tokens;
                cfg.timeout = Duration::from_secs(600);
                cfg.response_format = ResponseFormat::None;
                let backend = OpenAiBackend::new(cfg)?;
                let scorer = Arc::new(Scorer::new(Engine::OpenAi(backend), Mode::Generate, 0));
                // One warm-up request so the server's first-call setup is not timed.
                let _ = scorer.score(&posts[0]).await;
                rows.push(run_scorer("llama.cpp server", &scorer, &posts).await);
                drop(server);
            }
        }
    }
    drop(local);
    // Constrained generate mode; its backend also serves fast mode.
    let cfg = LocalConfig {
        model_path: resolved.path.clone(),
        threads,
        max_tokens: args.max_tokens as usize,
        max_context: 4096,
        constrained: true,
    };
    let constrained = tokio::task::spawn_blocking(move || LocalBackend::start(cfg))
        .await
        .context("loading the model")??;
    let constrained = Arc::new(Scorer::new(Engine::Local(constrained), Mode::Generate, 0));
    if !args.no_constrained {
        eprintln!("  local, constrained generate mode …");
        rows.push(run_scorer("local constrained", &constrained, &posts).await);
    }
    if !args.no_fast {
        let fast = match Arc::try_unwrap(constrained) {
            Ok(s) => Arc::new(Scorer::new(s.engine, Mode::Fast, 0)),
            Err(_) => anyhow::bail!("the local scorer is still in use"),
        };
        eprintln!("  local, fast mode …");
        rows.push(run_scorer("local fast", &fast, &posts).await);
    }

    let find = |name: &str| rows.iter().find(|r| r.name == name);
    let mut comparisons = Vec::new();
    if let (Some(l), Some(s)) = (find("local generate"), find("llama.cpp server")) {
        let (exact, near, n) = agreement(l, s);
        comparisons.push(json!({
            "what": "local vs llama.cpp server",
            "speedup": rate(l.posts_per_s(), s.posts_per_s()),
            "speedup_tokens": rate(l.tokens_per_s(), s.tokens_per_s()),
            "agreement_exact": exact, "agreement_within_1": near, "posts_compared": n,
        }));
    }
    if let (Some(g), Some(f)) = (find("local generate"), find("local fast")) {
        let (exact, near, n) = agreement(f, g);
        comparisons.push(json!({
            "what": "fast vs free generate (local)",
            "speedup": rate(f.posts_per_s(), g.posts_per_s()),
            "speedup_tokens": rate(f.tokens_per_s(), g.tokens_per_s()),
            "agreement_exact": exact, "agreement_within_1": near, "posts_compared": n,
        }));
    }
    if let (Some(g), Some(c)) = (find("local generate"), find("local constrained")) {
        let (exact, near, n) = agreement(c, g);
        comparisons.push(json!({
            "what": "constrained vs free generate (local)",
            "speedup": rate(c.posts_per_s(), g.posts_per_s()),
            "speedup_tokens": rate(c.tokens_per_s(), g.tokens_per_s()),
            "agreement_exact": exact, "agreement_within_1": near, "posts_compared": n,
        }));
    }
    if args.json {
        println!(
            "{}",
            json!({
                "model": resolved.id, "model_sha256": resolved.sha256, "threads": threads,
                "posts": posts.len(), "load_s": load_s,
                "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
                "comparisons": comparisons, "note": server_note,
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "LLM scorer benchmark: {} posts, {} ({}…), {} threads, greedy, max {} new tokens",
        posts.len(),
        resolved.id,
        &resolved.sha256[..12],
        threads,
        args.max_tokens
    );
    println!(
        "| {:<17} | {:>5} | {:>6} | {:>8} | {:>7} | {:>13} | {:>15} | {:>10} | {:>13} |",
        "runtime",
        "posts",
        "parsed",
        "wall s",
        "posts/s",
        "prompt tokens",
        "prompt tokens/s",
        "gen tokens",
        "all tokens/s"
    );
    println!(
        "|{:-<19}|{:->7}|{:->8}|{:->10}|{:->9}|{:->15}|{:->17}|{:->12}|{:->15}|",
        "", "", "", "", "", "", "", "", ""
    );
    for r in &rows {
        println!(
            "| {:<17} | {:>5} | {:>6} | {:>8.1} | {:>7.3} | {:>13} | {:>15.1} | {:>10} | {:>13.1} |",
            r.name,
            r.outcomes.len(),
            r.parsed(),
            r.wall_s,
            r.posts_per_s(),
            r.prompt_tokens(),
            rate(r.prompt_tokens() as f64, r.wall_s),
            r.completion_tokens(),
            r.tokens_per_s()
        );
    }
    for c in &comparisons {
        println!(
            "{}: speed-up {:.2}× in posts/s, {:.2}× in all tokens/s; agreement {:.1}% exact, {:.1}% within ±1 ({} posts × 11 dimensions)",
            c["what"].as_str().unwrap_or(""),
            c["speedup"].as_f64().unwrap_or(0.0),
            c["speedup_tokens"].as_f64().unwrap_or(0.0),
            c["agreement_exact"].as_f64().unwrap_or(0.0) * 100.0,
            c["agreement_within_1"].as_f64().unwrap_or(0.0) * 100.0,
            c["posts_compared"]
        );
    }
    if let Some(n) = server_note {
        println!("{n}");
    }
    Ok(ExitCode::SUCCESS)
}
