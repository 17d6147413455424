//! `mindpulse ask "QUESTION"`: retrieve the posts that best match the question (as
//! `search` does), let an LLM answer from those posts only, citing them as [1], [2] …, and
//! return the answer with the cited posts (`mindpulse-ask`). A question that tries to
//! identify, locate or profile one person is declined before anything is read; when the
//! model says the posts do not answer, or cites none of them, so does `ask`. The model's
//! citations are checked with the documented support rule (`mindpulse_ask::support`): a
//! sentence its citations do not support is re-cited to the post that supports it, or left
//! out; the JSON reports what was found and changed (`checks`).

use crate::asking::{answer_from, declined, no_answer, AskOutput};
use crate::chat_llm::{ChatLlm, ChatLlmSpec, Compose};
use crate::context::Context;
use crate::retrieve::{current_index, index_path, search, Query};
use anyhow::bail;
use clap::{Args, ValueEnum};
use mindpulse_ask::declines;
use std::process::ExitCode;

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
        return print(&declined(why), args.json);
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
    let (llm, model) = start_llm(&args).await?;
    let out = answer_from(&found, &args.question, &llm, model, args.compose).await?;
    print(&out, args.json)
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
