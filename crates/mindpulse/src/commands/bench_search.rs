//! `mindpulse bench search`: precision@10 of `mindpulse search`'s ranking on a labelled set
//! of queries written for it, in both languages, with words alone (BM25), meaning alone
//! (embeddings) and both fused (reciprocal rank, what `search` does), in one run.
//!
//! The corpora and the relevance rule (a hit is relevant when its post's label is one the
//! query names; the labels come with the data, never from the ranking):
//! - English: dreaddit/train (2,838 Reddit posts); a query names the subreddits whose
//!   posts answer it (e.g. "flashbacks and nightmares" → ptsd);
//! - Chinese: smp2020ewect_virus/val and smp2020ewect_usual/val (2,000 Weibo posts each,
//!   posts about the COVID-19 epidemic and everyday posts); an epidemic query is answered
//!   by the virus set, an everyday one by the usual set.
//!
//! Both sides index the same posts with the same tokenizer (`mindpulse_topics::Words`) and
//! the heads' encoders (minilm for English, multilingual-e5 for Chinese, cached on disk).

use crate::bench_corpus::{corpus, read, Corpus};
use clap::Args;
use mindpulse_heads::Route;
use mindpulse_topics::Words;
use std::path::PathBuf;
use std::process::ExitCode;

/// (query, the labels whose posts answer it).
const ENGLISH: &[(&str, &[&str])] = &[
    ("flashbacks and nightmares since the trauma", &["ptsd"]),
    ("I have panic attacks and worry all the time", &["anxiety"]),
    (
        "my boyfriend and I keep fighting, should I break up",
        &["relationships"],
    ),
    (
        "he hit me and I am afraid to go home",
        &["domesticviolence", "survivorsofabuse"],
    ),
    (
        "memories of being abused as a child",
        &["survivorsofabuse", "ptsd"],
    ),
    (
        "I am sleeping in my car and have nowhere to live",
        &["homeless", "almosthomeless"],
    ),
    (
        "about to be evicted, can't pay rent",
        &["almosthomeless", "homeless", "assistance"],
    ),
    (
        "need help paying bills, any financial assistance",
        &["assistance", "food_pantry"],
    ),
    (
        "where can I get free food this week",
        &["food_pantry", "assistance", "homeless"],
    ),
    (
        "my husband controls me and threatens me",
        &["domesticviolence"],
    ),
    (
        "my heart races and I can't breathe before work",
        &["anxiety", "stress"],
    ),
    (
        "trust issues with my girlfriend after she lied",
        &["relationships"],
    ),
    ("triggered by loud noises after the war", &["ptsd"]),
    (
        "restraining order against my ex",
        &["domesticviolence", "survivorsofabuse"],
    ),
    (
        "lost my job and my savings are gone",
        &["assistance", "almosthomeless", "homeless"],
    ),
];

const CHINESE: &[(&str, &[&str])] = &[
    ("新冠肺炎疫情 确诊病例", &["virus"]),
    ("武汉封城 加油", &["virus"]),
    ("口罩买不到 防护", &["virus"]),
    ("医护人员 一线 辛苦了", &["virus"]),
    ("在家隔离 不能出门", &["virus"]),
    ("捐款捐物 支援湖北", &["virus"]),
    ("疫情什么时候结束 开学", &["virus"]),
    ("考试没考好 很难过", &["usual"]),
    ("失恋了 心情很差", &["usual"]),
    ("追星 演唱会 好开心", &["usual"]),
    ("加班到半夜 老板", &["usual"]),
    ("生日快乐 朋友", &["usual"]),
    ("减肥 好难", &["usual"]),
    ("室友 吵架 生气", &["usual"]),
];

#[derive(Debug, Args)]
pub struct BenchSearchArgs {
    /// Folder of the labelled sets (default: $MINDPULSE_DATA, else ../shared/data).
    #[arg(long, env = "MINDPULSE_DATA")]
    pub data: Option<PathBuf>,
    /// Encoder threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Mean precision@10 of each ranking over the queries: (words, meaning, fused).
fn precision(c: &Corpus, queries: &[(&str, &[&str])], words: &Words) -> anyhow::Result<[f64; 3]> {
    let mut sums = [0.0; 3];
    for (query, relevant) in queries {
        let terms = words.words(query);
        let vector = vec![c.query_vector(query)?];
        let runs = [
            c.index.search(&terms, &[], 10, None)?,
            c.index.search(&[], &vector, 10, None)?,
            c.index.search(&terms, &vector, 10, None)?,
        ];
        for (k, hits) in runs.iter().enumerate() {
            let good = hits
                .iter()
                .filter(|h| {
                    c.labels
                        .get(&h.id)
                        .is_some_and(|l| relevant.contains(&l.as_str()))
                })
                .count();
            sums[k] += good as f64 / 10.0;
        }
    }
    Ok(sums.map(|s| s / queries.len() as f64))
}

pub async fn run(args: BenchSearchArgs) -> anyhow::Result<ExitCode> {
    let data = args
        .data
        .clone()
        .unwrap_or_else(mindpulse_heads::data::default_data_dir);
    let words = Words::new();
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
    let pe = precision(&en, ENGLISH, &words)?;
    let pz = precision(&zh, CHINESE, &words)?;
    println!(
        "precision@10, mean over queries (relevant: the post's label is one the query names)\n"
    );
    println!("| corpus | queries | words (BM25) | meaning (embeddings) | fused (RRF, `search`) |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| dreaddit/train, {} posts (en) | {} | {:.3} | {:.3} | {:.3} |",
        english.len(),
        ENGLISH.len(),
        pe[0],
        pe[1],
        pe[2]
    );
    println!(
        "| smp2020ewect virus+usual val, {} posts (zh) | {} | {:.3} | {:.3} | {:.3} |",
        chinese.len(),
        CHINESE.len(),
        pz[0],
        pz[1],
        pz[2]
    );
    Ok(ExitCode::SUCCESS)
}
