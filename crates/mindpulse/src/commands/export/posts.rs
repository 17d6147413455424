//! `export --table posts`: one row per post. JSON lines keep the nested form (scores with
//! their provenance, the discovered topic); CSV and Parquet flatten it: the post's fields,
//! its discovered topic, and with `--scores` the encoder route and, per dimension, the
//! newest run's value, what it is the probability of, the label and `head@version`.

use super::{format_of, Out, PAGE};
use crate::cli::{ExportArgs, ExportFormat};
use crate::post_json::{route_of, JsonPost, ScoreOut, TopicOut};
use crate::tabular::{Cell, Column, Kind, TableWriter};
use mindpulse_store::{ExportPost, PostFilter, Store};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

pub(super) async fn export(
    store: &Store,
    args: &ExportArgs,
    filter: &PostFilter,
    out: BufWriter<Out>,
) -> anyhow::Result<u64> {
    let discovered = DiscoveredTopics::load(store).await?;
    let mut sink = if args.format == ExportFormat::Jsonl {
        Sink::Nested(out)
    } else {
        let dims = if args.scores {
            store.score_dimensions().await?
        } else {
            Vec::new()
        };
        let table = TableWriter::new(
            out,
            format_of(args.format),
            columns(args.scores, &dims),
            &[
                ("mindpulse.table", "posts".to_string()),
                ("mindpulse.version", env!("CARGO_PKG_VERSION").to_string()),
                ("mindpulse.filter", args.filter.describe()),
            ],
        )?;
        Sink::Flat(Box::new(table), dims)
    };
    let mut after = 0;
    let mut n = 0u64;
    loop {
        let page = store.export_page(filter, after, PAGE, args.scores).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let topics = discovered.of_page(store, &page).await?;
        for post in &page {
            let topic = discovered.topic_of(&topics, post.id);
            match &mut sink {
                Sink::Nested(out) => {
                    serde_json::to_writer(&mut *out, &JsonPost::new(post, topic))?;
                    out.write_all(b"\n")?;
                }
                Sink::Flat(table, dims) => {
                    table.write(row(post, topic.as_ref(), args.scores, dims))?
                }
            }
            n += 1;
        }
    }
    match sink {
        Sink::Nested(out) => Out::finish(out)?,
        Sink::Flat(table, _) => Out::finish(table.finish()?)?,
    }
    Ok(n)
}

/// JSON lines keep a post nested; CSV and Parquet get flat rows (with the score
/// dimensions' columns).
enum Sink {
    Nested(BufWriter<Out>),
    Flat(Box<TableWriter<BufWriter<Out>>>, Vec<String>),
}

/// The columns: the post's, its discovered topic, then with scores the route and four per
/// dimension (see [`SCORE_COLUMNS`]).
fn columns(with_scores: bool, dims: &[String]) -> Vec<Column> {
    use Kind::*;
    let mut columns = Column::list(&[
        ("id", Int, false),
        ("platform", Text, false),
        ("platform_id", Text, false),
        ("kind", Text, false),
        ("parent_id", Text, true),
        ("root_id", Text, true),
        ("author", Text, true),
        ("text", Text, false),
        ("lang", Text, true),
        ("created_at", Time, true),
        ("collected_at", Time, false),
        ("repost_count", Int, false),
        ("comment_count", Int, false),
        ("like_count", Int, false),
        ("region", Text, true),
        ("content_hash", Text, false),
        ("dup_group", Text, true),
        ("dup_kind", Text, true),
        ("topics", TextList, false),
        // The topic number in the newest `topics build` (-1: in the build but left
        // unassigned; empty: not in the build) and its top keywords.
        ("discovered_topic", Int, true),
        ("discovered_topic_keywords", Text, true),
    ]);
    if with_scores {
        columns.push(Column::new("route", Text, true));
    }
    for d in dims {
        let d = column_safe(d);
        columns.push(Column::new(format!("score_{d}"), Float, true));
        for suffix in &SCORE_COLUMNS[1..] {
            columns.push(Column::new(format!("score_{d}{suffix}"), Text, true));
        }
    }
    columns
}

/// A dimension name as part of a column name (letters, digits and `_`).
fn column_safe(dimension: &str) -> String {
    dimension
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The columns of each score dimension: the value, what it is the probability of (or its
/// scale when it is not a probability), the predicted label, and `head@version`.
const SCORE_COLUMNS: [&str; 4] = ["", "_probability_of", "_label", "_head"];

fn row(p: &ExportPost, topic: Option<&TopicOut>, with_scores: bool, dims: &[String]) -> Vec<Cell> {
    let text = |o: &Option<String>| Cell::text(o.as_deref());
    let mut row = vec![
        Cell::Int(p.id),
        Cell::Text(p.platform.clone()),
        Cell::Text(p.platform_id.clone()),
        Cell::Text(p.kind.clone()),
        text(&p.parent_id),
        text(&p.root_id),
        text(&p.author),
        Cell::Text(p.text.clone()),
        text(&p.lang),
        p.created_at.map_or(Cell::Null, Cell::Time),
        Cell::Time(p.collected_at),
        Cell::Int(p.repost_count),
        Cell::Int(p.comment_count),
        Cell::Int(p.like_count),
        text(&p.region),
        Cell::Text(p.content_hash.clone()),
        text(&p.dup_group),
        text(&p.dup_kind),
        Cell::List(p.topics.clone()),
        Cell::int(topic.map(|t| t.number)),
        Cell::text(topic.map(|t| t.keywords.as_str())),
    ];
    if !with_scores {
        return row;
    }
    let scores: Vec<ScoreOut> = p.scores.iter().flatten().map(ScoreOut::new).collect();
    row.push(Cell::text(route_of(p).as_deref()));
    for d in dims {
        // The newest run's score of the dimension.
        let newest = scores
            .iter()
            .filter(|s| s.dimension == *d)
            .max_by_key(|s| s.run_id);
        match newest {
            Some(s) => row.extend([
                Cell::Float(s.value),
                Cell::Text(s.probability_of.clone().unwrap_or_else(|| s.scale.clone())),
                Cell::text(s.label.as_deref()),
                Cell::Text(format!("{}@{}", s.head, s.head_version)),
            ]),
            None => row.extend(SCORE_COLUMNS.iter().map(|_| Cell::Null)),
        }
    }
    row
}

/// The newest topic build, if any, and its topics' short keyword lists.
pub(super) struct DiscoveredTopics {
    build: Option<i64>,
    keywords: BTreeMap<i64, String>,
}

impl DiscoveredTopics {
    pub(super) async fn load(store: &Store) -> anyhow::Result<DiscoveredTopics> {
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
        store: &Store,
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
