//! `mindpulse bench ask`: how well `ask`'s answers are grounded in the posts they cite, as
//! ALCE measures it (citation recall: the share of answer sentences their cited posts
//! support; citation precision: the share of citations that are not irrelevant), judged by
//! the documented lexical rule of `mindpulse_ask::support`, on questions written for it in
//! both languages over the corpora of `bench search` (dreaddit/train; smp2020ewect virus and
//! usual val). Each question retrieves the top posts as `ask` does (BM25 + embeddings,
//! fused); the model's answer is scored as written, and again after `ask`'s check (which
//! re-cites or drops unsupported sentences, so that row shows what users see). Both ways of
//! writing the answer run with the same model in the same run: per post (the default, one
//! call per retrieved post) and all posts together (one call).

use crate::bench_corpus::{corpus, read, Corpus};
use crate::chat_llm::{compose, ChatLlm, ChatLlmSpec, Compose};
use clap::Args;
use mindpulse_ask::{citation_scores, verify, CitationScores, Passage};
use mindpulse_heads::Route;
use mindpulse_topics::Words;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const ENGLISH: &[&str] = &[
    "Why are people afraid of losing their homes?",
    "What do people say about panic attacks?",
    "How do people describe their flashbacks?",
    "What problems do people have with their partners?",
    "What kind of help do people ask for with bills?",
    "What do survivors say about their abusers?",
    "Where do people sleep when they have no home?",
    "What makes people anxious at work?",
];

const CHINESE: &[&str] = &[
    "大家对疫情有什么担心？",
    "人们怎么评价医护人员？",
    "大家在家隔离时做什么？",
    "人们为什么心情不好？",
    "大家对口罩有什么说法？",
    "人们对考试有什么感受？",
];

#[derive(Debug, Args)]
pub struct BenchAskArgs {
    /// Folder of the labelled sets (default: $MINDPULSE_DATA, else ../shared/data).
    #[arg(long, env = "MINDPULSE_DATA")]
    pub data: Option<PathBuf>,
    /// Local model (registry name or .gguf path); ignored with --base-url.
    #[arg(long, default_value = "qwen2.5-0.5b-instruct-q4km")]
    pub llm_model: String,
    /// An OpenAI-compatible server instead of the local model (with --server-model).
    #[arg(long)]
    pub base_url: Option<String>,
    /// The server's model id.
    #[arg(long)]
    pub server_model: Option<String>,
    /// Posts given to the model per question.
    #[arg(long, default_value_t = 5)]
    pub posts: usize,
    #[arg(long, default_value_t = 160)]
    pub max_tokens: usize,
    /// Threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Only this way of writing the answer (default: both, in the same run).
    #[arg(long, value_enum)]
    pub compose: Option<Compose>,
}

/// Totals over the questions of one corpus.
#[derive(Default)]
struct Tally {
    questions: usize,
    answered: usize,
    written: CitationScores,
    checked: CitationScores,
    seconds: f64,
}

async fn run_corpus(
    c: &Corpus,
    questions: &[&str],
    llm: &ChatLlm,
    how: Compose,
    posts: usize,
    words: &Words,
) -> anyhow::Result<Tally> {
    let mut t = Tally::default();
    for q in questions {
        let terms = words.words(q);
        let vector = vec![c.query_vector(q)?];
        let hits = c.index.search(&terms, &vector, posts, None)?;
        let texts: Vec<String> = hits
            .iter()
            .filter_map(|h| c.texts.get((h.id - 1) as usize).cloned())
            .collect();
        let passages: Vec<Passage> = texts.iter().map(|t| Passage { text: t.clone() }).collect();
        let started = Instant::now();
        let mut answer = compose(llm, how, q, &passages).await?;
        t.seconds += started.elapsed().as_secs_f64();
        for s in &answer.sentences {
            let cited: Vec<&str> = s
                .cites
                .iter()
                .filter_map(|&n| texts.get(n - 1).map(String::as_str))
                .collect();
            tracing::debug!(
                question = q,
                sentence = %s.text,
                supported = mindpulse_ask::supports(words, &s.text, &cited),
                post = %cited.first().copied().unwrap_or_default().chars().take(300).collect::<String>(),
                "bench ask"
            );
        }
        t.questions += 1;
        if !answer.answered {
            continue;
        }
        t.answered += 1;
        t.written.add(&citation_scores(words, &answer, &texts));
        verify(words, &mut answer, &texts);
        t.checked.add(&citation_scores(words, &answer, &texts));
    }
    Ok(t)
}

pub async fn run(args: BenchAskArgs) -> anyhow::Result<ExitCode> {
    let data = args
        .data
        .clone()
        .unwrap_or_else(mindpulse_heads::data::default_data_dir);
    let words = Words::new();
    let spec = match (&args.base_url, &args.server_model) {
        (Some(base_url), Some(model)) => ChatLlmSpec::Server {
            base_url,
            model,
            api_key: None,
            api_key_env: "MINDPULSE_LLM_API_KEY",
            max_tokens: args.max_tokens,
        },
        (Some(_), None) => anyhow::bail!("--base-url needs --server-model"),
        _ => ChatLlmSpec::Local {
            model: &args.llm_model,
            threads: args.threads,
            max_tokens: args.max_tokens,
        },
    };
    let (llm, model) = ChatLlm::start(spec).await?;
    let english = read(&data.join("dreaddit/train.tsv"), Some("subreddit"), "")?;
    let mut chinese = read(&data.join("smp2020ewect_virus/val.tsv"), None, "virus")?;
    chinese.extend(read(
        &data.join("smp2020ewect_usual/val.tsv"),
        None,
        "usual",
    )?);
    let en = corpus(&english, Route::English, args.threads, &words)?;
    let zh = corpus(&chinese, Route::Multilingual, args.threads, &words)?;
    eprintln!();
    let mut rows = Vec::new();
    let ways = match args.compose {
        Some(how) => vec![how],
        None => vec![Compose::PerPost, Compose::Together],
    };
    for how in ways {
        let te = run_corpus(&en, ENGLISH, &llm, how, args.posts, &words).await?;
        let tz = run_corpus(&zh, CHINESE, &llm, how, args.posts, &words).await?;
        rows.push((how, te, tz));
    }
    println!("model: {model}; {} posts per question; support judged by the rule of mindpulse_ask::support\n", args.posts);
    println!("| answer written | corpus | questions | answered | sentences | citation recall | citation precision | after ask's check: recall / precision | s per answer |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (how, te, tz) in &rows {
        let how = match how {
            Compose::PerPost => "per post (default)",
            Compose::Together => "all posts together",
        };
        for (name, t) in [("dreaddit (en)", te), ("smp2020ewect (zh)", tz)] {
            println!(
                "| {how} | {name} | {} | {} | {} | {:.3} | {:.3} | {:.3} / {:.3} ({} sentences kept) | {:.1} |",
                t.questions,
                t.answered,
                t.written.sentences,
                t.written.recall(),
                t.written.precision(),
                t.checked.recall(),
                t.checked.precision(),
                t.checked.sentences,
                t.seconds / t.questions.max(1) as f64
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
