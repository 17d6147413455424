//! `mindpulse ask "QUESTION"`: retrieve the posts that best match the question (as
//! `search` does), let an LLM answer from those posts only, citing them as [1], [2] …, and
//! return the answer with the cited posts (`mindpulse-ask`). A question that tries to
//! identify, locate or profile one person is declined before anything is read; when the
//! model says the posts do not answer, or cites none of them, so does `ask`. The model's
//! citations are checked with the documented support rule (`mindpulse_ask::support`): a
//! sentence its citations do not support is re-cited to the post that supports it, or left
//! out; the JSON reports what was found and changed (`checks`).

use crate::chat_llm::{compose, ChatLlm, ChatLlmSpec, Compose};
use crate::context::Context;
use crate::retrieve::{current_index, index_path, search, Found, Query};
use anyhow::bail;
use clap::{Args, ValueEnum};
use mindpulse_ask::{citation_scores, declines, verify, Passage};
use serde::Serialize;
use std::process::ExitCode;

/// The answer when the posts do not answer.
const NO_ANSWER: &str = "The stored posts do not answer this question.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AskBackend {
    /// A GGUF model run in-process.
    Local,
    /// An OpenAI-compatible chat-completions server.
    Openai,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question (about what posts say; questions about one person are declined).
    pub question: String,
    /// Posts retrieved and given to the model.
    #[arg(long, default_value_t = 6)]
    pub posts: usize,
    #[command(flatten)]
    pub window: crate::post_filter::WindowArgs,
    /// Where the LLM runs.
    #[arg(long, value_enum, default_value = "local")]
    pub backend: AskBackend,
    /// Local: a registry name or .gguf path (default qwen2.5-0.5b-instruct-q4km); openai: the server's model id.
    #[arg(long, env = "MINDPULSE_LLM_MODEL")]
    pub llm_model: Option<String>,
    /// Base URL of the OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1).
    #[arg(long, env = "MINDPULSE_LLM_BASE_URL")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key (the key is never logged).
    #[arg(long, default_value = "MINDPULSE_LLM_API_KEY")]
    pub api_key_env: String,
    /// How the answer is written: per post (default) or all posts together.
    #[arg(long, value_enum, default_value = "per-post")]
    pub compose: Compose,
    /// Longest answer (per post: longest sentence), in tokens.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Threads of the local model and the query encoder (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Citation {
    /// The number the answer cites it by.
    n: usize,
    platform: String,
    platform_id: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct AskOutput {
    answer: String,
    answered: bool,
    /// Why the question was declined, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    declined: Option<String>,
    citations: Vec<Citation>,
    sentences: Vec<mindpulse_ask::Sentence>,
    /// The posts given to the model, in their numbered order (platform ids).
    retrieved: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<Checks>,
}

pub async fn run(ctx: &Context, args: AskArgs) -> anyhow::Result<ExitCode> {
    if args.question.trim().is_empty() {
        bail!("the question is empty");
    }
    if !(1..=20).contains(&args.posts) {
        bail!("--posts {}: expected 1 to 20", args.posts);
    }
    if args.backend == AskBackend::Openai {
        if args.base_url.is_none() {
            bail!("--backend openai needs --base-url (or MINDPULSE_LLM_BASE_URL)");
        }
        if args.llm_model.is_none() {
            bail!("--backend openai needs --llm-model (or MINDPULSE_LLM_MODEL)");
        }
    }
    if let Some(why) = declines(&args.question) {
        return print(
            &AskOutput {
                answer: format!(
                    "This question is declined: {why}. mindpulse answers questions about what posts say across a population, never about who wrote them."
                ),
                answered: false,
                declined: Some(why.to_string()),
                citations: Vec::new(),
                sentences: Vec::new(),
                retrieved: Vec::new(),
                model: None,
                checks: None,
            },
            args.json,
        );
    }
    let (_, filter) = args.window.resolve(&ctx.config)?;
    let store = ctx.existing_store().await?;
    let found = async {
        let words = mindpulse_topics::Words::new();
        let (index, _) = current_index(&store, &index_path(&ctx.db_url), &words).await?;
        search(
            &store,
            &index,
            &words,
            &Query {
                text: &args.question,
                limit: args.posts,
                filter: &filter,
                vectors: true,
                threads: args.threads,
            },
        )
        .await
    }
    .await;
    store.close().await;
    let found = found?;
    let retrieved: Vec<String> = found.iter().map(|f| f.post.platform_id.clone()).collect();
    if found.is_empty() {
        return print(&no_answer(retrieved, None), args.json);
    }
    let passages: Vec<Passage> = found
        .iter()
        .map(|f| Passage {
            text: f.post.text.clone(),
        })
        .collect();
    let (llm, model) = start_llm(&args).await?;
    let mut answer = compose(&llm, args.compose, &args.question, &passages).await?;
    // Keep only what the cited posts support (the rule of `mindpulse_ask::support`).
    let texts: Vec<String> = found.iter().map(|f| f.post.text.clone()).collect();
    let words = mindpulse_topics::Words::new();
    let as_written = citation_scores(&words, &answer, &texts);
    let verified = verify(&words, &mut answer, &texts);
    if !answer.answered {
        return print(&no_answer(retrieved, Some(model)), args.json);
    }
    let citations = answer
        .cited()
        .into_iter()
        .filter_map(|n| found.get(n - 1).map(|f| citation(n, f)))
        .collect();
    print(
        &AskOutput {
            answer: answer.text(),
            answered: true,
            declined: None,
            citations,
            sentences: answer.sentences,
            retrieved,
            model: Some(model),
            checks: Some(Checks {
                citation_recall_as_written: as_written.recall(),
                citation_precision_as_written: as_written.precision(),
                reattributed: verified.reattributed,
                dropped: verified.dropped,
            }),
        },
        args.json,
    )
}

/// What checking the model's citations found and changed.
#[derive(Debug, Serialize)]
struct Checks {
    /// Share of the model's sentences its own citations support (before the check).
    citation_recall_as_written: f64,
    /// Share of the model's citations that are not irrelevant (before the check).
    citation_precision_as_written: f64,
    /// Sentences re-cited to the post that supports them.
    reattributed: usize,
    /// Sentences no given post supports, left out.
    dropped: usize,
}

fn no_answer(retrieved: Vec<String>, model: Option<String>) -> AskOutput {
    AskOutput {
        answer: NO_ANSWER.to_string(),
        answered: false,
        declined: None,
        citations: Vec::new(),
        sentences: Vec::new(),
        retrieved,
        model,
        checks: None,
    }
}

fn citation(n: usize, f: &Found) -> Citation {
    Citation {
        n,
        platform: f.post.platform.clone(),
        platform_id: f.post.platform_id.clone(),
        text: f.post.text.clone(),
    }
}

async fn start_llm(args: &AskArgs) -> anyhow::Result<(ChatLlm, String)> {
    let spec = match args.backend {
        AskBackend::Local => ChatLlmSpec::Local {
            model: args
                .llm_model
                .as_deref()
                .unwrap_or(mindpulse_llm_scorer::DEFAULT_LOCAL_MODEL),
            threads: args.threads,
            max_tokens: args.max_tokens,
        },
        AskBackend::Openai => {
            let (Some(base_url), Some(model)) =
                (args.base_url.as_deref(), args.llm_model.as_deref())
            else {
                bail!("--backend openai needs --base-url and --llm-model (or MINDPULSE_LLM_BASE_URL, MINDPULSE_LLM_MODEL)");
            };
            ChatLlmSpec::Server {
                base_url,
                model,
                api_key: std::env::var(&args.api_key_env)
                    .ok()
                    .filter(|k| !k.trim().is_empty()),
                api_key_env: &args.api_key_env,
                max_tokens: args.max_tokens,
            }
        }
    };
    ChatLlm::start(spec).await
}

fn print(out: &AskOutput, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", out.answer);
    if !out.citations.is_empty() {
        println!();
        for c in &out.citations {
            let text: String = c.text.chars().take(200).collect();
            println!(
                "[{}] {} {}: {}",
                c.n,
                c.platform,
                c.platform_id,
                text.replace('\n', " ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
