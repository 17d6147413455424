//! `mindpulse search "TEXT"`: the stored posts that best match a text, by their words
//! (BM25 over jieba/English tokens) and by their meaning (cosine over the stored sentence
//! embeddings, the query embedded by the encoder of its language), fused by reciprocal
//! rank (`crate::retrieve`). The index is brought up to date before each query. Hits are
//! pseudonymous posts as stored (redacted at ingest); filters select posts the way
//! `export` and `trends` do, `--topic` a topic of the newest `topics build`.

use crate::context::Context;
use crate::retrieve::{current_index, index_path, search, Query};
use anyhow::bail;
use clap::Args;
use mindpulse_store::{DiscoveredTopic, PostFilter};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for (Chinese or English; words and meaning both count).
    pub text: String,
    /// Most hits.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    #[command(flatten)]
    pub window: crate::post_filter::WindowArgs,
    /// Only posts of this topic of the newest `topics build` (its number).
    #[arg(long)]
    pub topic: Option<i64>,
    /// Words only (do not load an encoder for the query).
    #[arg(long)]
    pub words_only: bool,
    /// Encoder threads for the query (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print exactly one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: SearchArgs) -> anyhow::Result<ExitCode> {
    if args.text.trim().is_empty() {
        bail!("the search text is empty");
    }
    if args.limit == 0 {
        bail!("--limit 0: expected 1 or more");
    }
    let (_, window) = args.window.resolve(&ctx.config)?;
    let store = ctx.existing_store().await?;
    let result = async {
        let discovered = match args.topic {
            Some(number) => {
                let Some(build) = store.latest_topic_build().await? else {
                    bail!("--topic {number}: no topics built yet (run `mindpulse topics build`)");
                };
                if !store
                    .built_topics(build.id)
                    .await?
                    .iter()
                    .any(|t| t.number == number)
                {
                    bail!("--topic {number}: build #{} has no such topic (see `mindpulse topics list`)", build.id);
                }
                Some(DiscoveredTopic {
                    build: build.id,
                    number,
                })
            }
            None => None,
        };
        let filter = PostFilter {
            discovered,
            ..window.clone()
        };
        let words = mindpulse_topics::Words::new();
        let path = index_path(&ctx.db_url);
        let (index, added) = current_index(&store, &path, &words).await?;
        if added > 0 {
            tracing::info!(posts = added, index = %path.display(), "search index updated");
        }
        let found = search(
            &store,
            &index,
            &words,
            &Query {
                text: &args.text,
                limit: args.limit,
                filter: &filter,
                vectors: !args.words_only,
                threads: args.threads,
            },
        )
        .await?;
        anyhow::Ok(found)
    }
    .await;
    store.close().await;
    let found = result?;
    if args.json {
        println!("{}", serde_json::to_string(&found)?);
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        println!("no posts match {:?}", args.text);
        return Ok(ExitCode::SUCCESS);
    }
    for (i, f) in found.iter().enumerate() {
        let text: String = f.post.text.chars().take(200).collect();
        let how = match (f.bm25_rank, f.vector_rank) {
            (Some(w), Some(v)) => format!("words #{w}, meaning #{v}"),
            (Some(w), None) => format!("words #{w}"),
            (None, Some(v)) => format!("meaning #{v}"),
            (None, None) => String::new(),
        };
        println!(
            "{:>2}. [{} {}] {:.4} ({how})\n    {}",
            i + 1,
            f.post.platform,
            f.post.platform_id,
            f.score,
            text.replace('\n', " ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
