//! `mindpulse export`: stream stored posts as JSONL or CSV, page by page.

use crate::cli::{ExportArgs, ExportFormat};
use crate::context::Context;
use crate::output_file::OutputFile;
use crate::post_json::{route_of, JsonPost, ScoreOut, TopicOut};
use mindpulse_store::ExportPost;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

const PAGE: i64 = 5000;

/// Where exported rows go.
enum Sink {
    Csv(Box<csv::Writer<std::io::BufWriter<Out>>>),
    Jsonl(std::io::BufWriter<Out>),
}

/// The output: a file put in place when complete, or standard output.
enum Out {
    File(OutputFile),
    Stdout(std::io::Stdout),
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::File(f) => f.write(buf),
            Out::Stdout(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::File(f) => f.flush(),
            Out::Stdout(s) => s.flush(),
        }
    }
}

impl Sink {
    /// Flushes everything and puts an output file in place.
    fn finish(self) -> anyhow::Result<()> {
        let buffered = match self {
            Sink::Csv(w) => w.into_inner().map_err(|e| e.into_error())?,
            Sink::Jsonl(w) => w,
        };
        match buffered.into_inner().map_err(|e| e.into_error())? {
            Out::File(f) => f.finish(),
            Out::Stdout(mut s) => Ok(s.flush()?),
        }
    }
}

pub async fn run(ctx: &Context, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (zone, filter) = args.filter.resolve(&ctx.config)?;
    if args.filter.since.is_some() || args.filter.until.is_some() {
        tracing::info!(
            zone = zone.name(),
            "--since/--until read in {}",
            zone.name()
        );
    }
    // Checked before the database is opened: the output may never be the database.
    let out = match &args.output {
        Some(path) => Out::File(OutputFile::create(path, args.force, &ctx.db_url)?),
        None => Out::Stdout(std::io::stdout()),
    };
    let store = ctx.existing_store().await?;
    let out = std::io::BufWriter::new(out);
    let dims = if args.scores && args.format == ExportFormat::Csv {
        store.score_dimensions().await?
    } else {
        Vec::new()
    };
    let discovered = DiscoveredTopics::load(&store).await?;
    let mut sink = match args.format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let mut header: Vec<String> = CSV_COLUMNS.iter().map(|s| s.to_string()).collect();
            header.extend(DISCOVERED_COLUMNS.iter().map(|s| s.to_string()));
            if args.scores {
                header.push("route".to_string());
            }
            for d in &dims {
                for suffix in SCORE_COLUMNS {
                    header.push(format!("score_{d}{suffix}"));
                }
            }
            w.write_record(&header)?;
            Sink::Csv(Box::new(w))
        }
        ExportFormat::Jsonl => Sink::Jsonl(out),
    };
    let mut after = 0;
    let mut n = 0u64;
    loop {
        let page = store.export_page(&filter, after, PAGE, args.scores).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let topics = discovered.of_page(&store, &page).await?;
        for post in &page {
            let topic = discovered.topic_of(&topics, post.id);
            match &mut sink {
                Sink::Csv(w) => w.write_record(
                    csv_row(post, topic.as_ref(), args.scores, &dims)
                        .iter()
                        .map(|c| safe_cell(c).into_owned()),
                )?,
                Sink::Jsonl(out) => {
                    serde_json::to_writer(&mut *out, &JsonPost::new(post, topic))?;
                    out.write_all(b"\n")?;
                }
            }
            n += 1;
        }
    }
    sink.finish()?;
    tracing::info!(posts = n, "export done");
    if n == 0 {
        let stored = store.count_posts().await?;
        if stored == 0 {
            eprintln!("export: the database holds no posts");
        } else {
            eprintln!(
                "export: no posts match {} ({stored} posts stored; times in {})",
                args.filter.describe(),
                zone.name()
            );
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// A CSV cell a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'` (numbers are left as they are).
fn safe_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

const CSV_COLUMNS: [&str; 19] = [
    "id",
    "platform",
    "platform_id",
    "kind",
    "parent_id",
    "root_id",
    "author",
    "text",
    "lang",
    "created_at",
    "collected_at",
    "repost_count",
    "comment_count",
    "like_count",
    "region",
    "content_hash",
    "dup_group",
    "dup_kind",
    "topics",
];

/// The discovered-topic columns of CSV: the topic number in the newest `topics build`
/// (-1: in the build but left unassigned; empty: not in the build) and its top keywords.
const DISCOVERED_COLUMNS: [&str; 2] = ["discovered_topic", "discovered_topic_keywords"];

/// The newest topic build, if any, and its topics' short keyword lists.
struct DiscoveredTopics {
    build: Option<i64>,
    keywords: BTreeMap<i64, String>,
}

impl DiscoveredTopics {
    async fn load(store: &mindpulse_store::Store) -> anyhow::Result<DiscoveredTopics> {
        let Some(build) = store.latest_topic_build().await? else {
            return Ok(DiscoveredTopics {
                build: None,
                keywords: BTreeMap::new(),
            });
        };
        let mut keywords = BTreeMap::new();
        for t in store.built_topics(build.id).await? {
            let words: Vec<(String, f64)> = serde_json::from_str(&t.keywords).unwrap_or_default();
            let top: Vec<String> = words.into_iter().take(5).map(|(w, _)| w).collect();
            keywords.insert(t.number, top.join(" "));
        }
        Ok(DiscoveredTopics {
            build: Some(build.id),
            keywords,
        })
    }

    /// The topic numbers of a page's posts.
    async fn of_page(
        &self,
        store: &mindpulse_store::Store,
        page: &[ExportPost],
    ) -> anyhow::Result<BTreeMap<i64, i64>> {
        let Some(build) = self.build else {
            return Ok(BTreeMap::new());
        };
        let ids: Vec<i64> = page.iter().map(|p| p.id).collect();
        Ok(store
            .discovered_topics_of(build, &ids)
            .await?
            .into_iter()
            .collect())
    }

    fn topic_of(&self, numbers: &BTreeMap<i64, i64>, post: i64) -> Option<TopicOut> {
        let build = self.build?;
        let number = *numbers.get(&post)?;
        Some(TopicOut {
            build,
            number,
            keywords: self.keywords.get(&number).cloned().unwrap_or_default(),
        })
    }
}

fn csv_row(
    p: &ExportPost,
    topic: Option<&TopicOut>,
    with_scores: bool,
    dims: &[String],
) -> Vec<String> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let mut row = vec![
        p.id.to_string(),
        p.platform.clone(),
        p.platform_id.clone(),
        p.kind.clone(),
        opt(&p.parent_id),
        opt(&p.root_id),
        opt(&p.author),
        p.text.clone(),
        opt(&p.lang),
        p.created_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        p.collected_at.to_rfc3339(),
        p.repost_count.to_string(),
        p.comment_count.to_string(),
        p.like_count.to_string(),
        opt(&p.region),
        p.content_hash.clone(),
        opt(&p.dup_group),
        opt(&p.dup_kind),
        p.topics.join("|"),
        topic.map(|t| t.number.to_string()).unwrap_or_default(),
        topic.map(|t| t.keywords.clone()).unwrap_or_default(),
    ];
    if !with_scores {
        return row;
    }
    let scores: Vec<ScoreOut> = p.scores.iter().flatten().map(ScoreOut::new).collect();
    row.push(route_of(p).unwrap_or_default());
    for d in dims {
        // The newest run's score of the dimension.
        let newest = scores
            .iter()
            .filter(|s| s.dimension == *d)
            .max_by_key(|s| s.run_id);
        match newest {
            Some(s) => row.extend([
                s.value.to_string(),
                s.probability_of.clone().unwrap_or_else(|| s.scale.clone()),
                s.label.clone().unwrap_or_default(),
                format!("{}@{}", s.head, s.head_version),
            ]),
            None => row.extend(SCORE_COLUMNS.iter().map(|_| String::new())),
        }
    }
    row
}

/// The columns of each score dimension in CSV: the value, what it is the probability of
/// (or its scale when it is not a probability), the predicted label, and `head@version`.
const SCORE_COLUMNS: [&str; 4] = ["", "_probability_of", "_label", "_head"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_numbers_are_not() {
        for (cell, want) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1+2", "'+1+2"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("-0.25", "-0.25"),
            ("+3", "+3"),
            ("普通的帖子 = 文本", "普通的帖子 = 文本"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(cell), want, "{cell:?}");
        }
    }
}
