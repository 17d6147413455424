//! The network read model: who answers, reposts and mentions whom, between pseudonyms.
//! [`Store::interaction_edges`] derives the directed, weighted edges from the stored posts
//! (a reply, comment or repost points from its author to the parent post's author; an
//! `@u_…` mention in a text, pseudonymized at ingest, points from the author to the
//! mentioned pseudonym; self-edges are left out); a build is stored with its nodes' figures
//! ([`Store::save_network`]) so `network top`, `communities` and `export` read it back; and
//! per community the posts' tallies and topics, for its prevalence and what it talks about.

use crate::filter::bind_post_filter;
use crate::{on_pool, PostFilter, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// Rows per insert statement.
const CHUNK: usize = 2_000;
/// Posts read per page when looking for mentions.
const PAGE: i64 = 20_000;

/// One node of a stored build.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct NetworkNode {
    pub author: String,
    pub pagerank: f64,
    pub in_degree: f64,
    pub out_degree: f64,
    pub in_count: i64,
    pub out_count: i64,
    pub community: i64,
}

/// One edge.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct NetworkEdge {
    pub source: String,
    pub target: String,
    pub weight: f64,
}

/// A stored build.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct NetworkRun {
    pub id: i64,
    pub built_at: DateTime<Utc>,
    /// JSON.
    pub params: String,
    pub nodes: i64,
    pub edges: i64,
    pub modularity: Option<f64>,
}

/// Posts of one community and language, on one dimension (or volume).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CommunityTally {
    pub community: i64,
    pub lang: Option<String>,
    pub n: i64,
    pub flagged: i64,
    pub sum_p: f64,
    pub sum_p2: f64,
}

/// Posts of one community on one topic.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CommunityTopic {
    pub community: i64,
    pub topic: String,
    pub posts: i64,
}

/// The mentioned pseudonyms of a text: `@u_` and 20 lowercase hex digits.
pub fn mentions(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("@u_").filter_map(move |(i, _)| {
        let id = text.get(i + 1..i + 23)?;
        let hex = &id[2..];
        let after = text[i + 23..].chars().next();
        (hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && !after.is_some_and(|c| c.is_ascii_alphanumeric()))
        .then_some(id)
    })
}

impl Store {
    /// The interaction edges among the posts `filter` selects: replies, comments and
    /// reposts to their parent's author, and mentions, weighted by count, sorted.
    pub async fn interaction_edges(
        &self,
        filter: &PostFilter,
    ) -> Result<Vec<(String, String, f64)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Pair {
            source: String,
            target: String,
            n: i64,
        }
        let int = match self.dialect.backend {
            crate::Backend::MySql => "SIGNED",
            crate::Backend::Sqlite | crate::Backend::Postgres => "BIGINT",
        };
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT p.author AS source, q.author AS target, CAST(COUNT(*) AS {int}) AS n \
                 FROM posts p JOIN posts q ON q.platform = p.platform AND q.platform_id = p.parent_platform_id \
                 WHERE p.author IS NOT NULL AND q.author IS NOT NULL AND p.author <> q.author{} \
                 GROUP BY p.author, q.author",
                filter.conditions("p", self.dialect)
            ))
            .into_owned();
        let pairs: Vec<Pair> = on_pool!(&self.pool, p => {
            let q = sqlx::query_as(&sql);
            bind_post_filter!(q, filter, self.dialect).fetch_all(p).await?
        });
        let mut weights: HashMap<(String, String), f64> = HashMap::new();
        for pair in pairs {
            *weights.entry((pair.source, pair.target)).or_default() += pair.n as f64;
        }
        // Mentions: the texts that have one, paged by id.
        #[derive(sqlx::FromRow)]
        struct Mentioning {
            id: i64,
            author: String,
            text: String,
        }
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT p.id, p.author, p.text FROM posts p WHERE p.id > ? AND p.author IS NOT NULL \
                 AND p.text LIKE '%@u_%'{} ORDER BY p.id LIMIT ?",
                filter.conditions("p", self.dialect)
            ))
            .into_owned();
        let mut after = 0i64;
        loop {
            let page: Vec<Mentioning> = on_pool!(&self.pool, p => {
                let q = sqlx::query_as(&sql).bind(after);
                bind_post_filter!(q, filter, self.dialect).bind(PAGE).fetch_all(p).await?
            });
            let Some(last) = page.last() else { break };
            after = last.id;
            for post in &page {
                for target in mentions(&post.text) {
                    if target != post.author {
                        *weights
                            .entry((post.author.clone(), target.to_string()))
                            .or_default() += 1.0;
                    }
                }
            }
        }
        let mut edges: Vec<(String, String, f64)> =
            weights.into_iter().map(|((s, t), w)| (s, t, w)).collect();
        edges.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(edges)
    }

    /// Stores a build: its parameters, nodes and edges; returns its id.
    pub async fn save_network(
        &self,
        params: &serde_json::Value,
        modularity: Option<f64>,
        nodes: &[NetworkNode],
        edges: &[(String, String, f64)],
    ) -> Result<i64, StoreError> {
        let d = self.dialect;
        let run_sql = d
            .sql("INSERT INTO network_runs (built_at, params, nodes, edges, modularity) VALUES (?, ?, ?, ?, ?)")
            .into_owned();
        // This run's own id, never another builder's row.
        let (insert, last_id) = d.insert_returning_id(&run_sql);
        let id: i64 = on_pool!(&self.pool, p => {
            let mut tx = p.begin().await?;
            let q = sqlx::query(&insert)
                .bind(Utc::now())
                .bind(params.to_string())
                .bind(nodes.len() as i64)
                .bind(edges.len() as i64)
                .bind(modularity);
            let id: i64 = match last_id {
                Some(sql) => {
                    q.execute(&mut *tx).await?;
                    sqlx::query_scalar(sql).fetch_one(&mut *tx).await?
                }
                None => {
                    use sqlx::Row as _;
                    q.fetch_one(&mut *tx).await?.try_get(0)?
                }
            };
            for chunk in nodes.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO network_nodes (run_id, author, pagerank, in_degree, out_degree, in_count, out_count, community) ",
                );
                qb.push_values(chunk, |mut b, n| {
                    b.push_bind(id)
                        .push_bind(n.author.clone())
                        .push_bind(n.pagerank)
                        .push_bind(n.in_degree)
                        .push_bind(n.out_degree)
                        .push_bind(n.in_count)
                        .push_bind(n.out_count)
                        .push_bind(n.community);
                });
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in edges.chunks(CHUNK) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO network_edges (run_id, source, target, weight) ",
                );
                qb.push_values(chunk, |mut b, (s, t, w)| {
                    b.push_bind(id).push_bind(s.clone()).push_bind(t.clone()).push_bind(*w);
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// The newest build.
    pub async fn latest_network(&self) -> Result<Option<NetworkRun>, StoreError> {
        let row = on_pool!(&self.pool, p => {
            sqlx::query_as(
                "SELECT id, built_at, params, nodes, edges, modularity FROM network_runs ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(p)
            .await?
        });
        Ok(row)
    }

    /// A build's nodes, highest PageRank (or weighted in-degree) first; at most `limit`.
    pub async fn network_nodes(
        &self,
        run_id: i64,
        by_in_degree: bool,
        limit: i64,
    ) -> Result<Vec<NetworkNode>, StoreError> {
        let order = if by_in_degree {
            "in_degree DESC, pagerank DESC"
        } else {
            "pagerank DESC, in_degree DESC"
        };
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT author, pagerank, in_degree, out_degree, in_count, out_count, community \
                 FROM network_nodes WHERE run_id = ? ORDER BY {order}, author LIMIT ?"
            ))
            .into_owned();
        let rows = on_pool!(&self.pool, p => {
            sqlx::query_as(&sql).bind(run_id).bind(limit).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// A build's edges.
    pub async fn network_edges(&self, run_id: i64) -> Result<Vec<NetworkEdge>, StoreError> {
        let sql = self
            .dialect
            .sql("SELECT source, target, weight FROM network_edges WHERE run_id = ? ORDER BY source, target")
            .into_owned();
        let rows = on_pool!(&self.pool, p => {
            sqlx::query_as(&sql).bind(run_id).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// A build's edges whose both ends are among `authors` (the links a drawing of the top
    /// authors shows), heaviest first; at most `max_params / 2` authors (16,000 on SQLite).
    pub async fn network_edges_among(
        &self,
        run_id: i64,
        authors: &[String],
    ) -> Result<Vec<NetworkEdge>, StoreError> {
        if authors.is_empty() {
            return Ok(Vec::new());
        }
        // Each author is bound twice; a drawing has a few hundred at most.
        let most = (self.dialect.max_params() - 1) / 2;
        if authors.len() > most {
            return Err(StoreError::Invalid(format!(
                "edges among {} authors asked for; at most {most} in one read",
                authors.len()
            )));
        }
        let marks = vec!["?"; authors.len()].join(", ");
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT source, target, weight FROM network_edges WHERE run_id = ? \
                 AND source IN ({marks}) AND target IN ({marks}) \
                 ORDER BY weight DESC, source, target"
            ))
            .into_owned();
        let rows = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_as(&sql).bind(run_id);
            for a in authors.iter().chain(authors) {
                q = q.bind(a.as_str());
            }
            q.fetch_all(p).await?
        });
        Ok(rows)
    }

    /// Per community and language: the posts its authors wrote that `filter` selects, and
    /// for `(scorer, dimension)` their flags and probabilities.
    pub async fn community_tallies(
        &self,
        run_id: i64,
        score: Option<(i64, &str)>,
        filter: &PostFilter,
    ) -> Result<Vec<CommunityTally>, StoreError> {
        let int = match self.dialect.backend {
            crate::Backend::MySql => "SIGNED",
            crate::Backend::Sqlite | crate::Backend::Postgres => "BIGINT",
        };
        let (cols, join) = match score {
            Some(_) => (
                format!(
                    "CAST(SUM(CASE WHEN s.label = 'yes' THEN 1 ELSE 0 END) AS {int}) AS flagged, \
                     SUM(s.value) AS sum_p, SUM(s.value * s.value) AS sum_p2"
                ),
                " JOIN scores s ON s.post_id = p.id AND s.scorer_id = ? AND s.dimension = ?",
            ),
            None => {
                let zero = match self.dialect.backend {
                    crate::Backend::MySql => "0e0",
                    crate::Backend::Postgres => "CAST(0 AS DOUBLE PRECISION)",
                    crate::Backend::Sqlite => "0.0",
                };
                (
                    format!("CAST(0 AS {int}) AS flagged, {zero} AS sum_p, {zero} AS sum_p2"),
                    "",
                )
            }
        };
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT n.community, p.lang, CAST(COUNT(*) AS {int}) AS n, {cols} \
                 FROM network_nodes n JOIN posts p ON p.author = n.author{join} \
                 WHERE n.run_id = ?{} GROUP BY n.community, p.lang",
                filter.conditions("p", self.dialect)
            ))
            .into_owned();
        let rows = on_pool!(&self.pool, p => {
            let mut q = sqlx::query_as(&sql);
            if let Some((scorer, dimension)) = score {
                q = q.bind(scorer).bind(dimension);
            }
            q = q.bind(run_id);
            bind_post_filter!(q, filter, self.dialect).fetch_all(p).await?
        });
        Ok(rows)
    }

    /// Per community, the topics of its authors' posts, most posts first.
    pub async fn community_topics(
        &self,
        run_id: i64,
        filter: &PostFilter,
    ) -> Result<Vec<CommunityTopic>, StoreError> {
        let int = match self.dialect.backend {
            crate::Backend::MySql => "SIGNED",
            crate::Backend::Sqlite | crate::Backend::Postgres => "BIGINT",
        };
        let sql = self
            .dialect
            .sql(&format!(
                "SELECT n.community, t.keyword AS topic, CAST(COUNT(*) AS {int}) AS posts \
                 FROM network_nodes n JOIN posts p ON p.author = n.author \
                 JOIN post_topics pt ON pt.post_id = p.id JOIN topics t ON t.id = pt.topic_id \
                 WHERE n.run_id = ?{} GROUP BY n.community, t.keyword ORDER BY n.community, posts DESC, t.keyword",
                filter.conditions("p", self.dialect)
            ))
            .into_owned();
        let rows = on_pool!(&self.pool, p => {
            let q = sqlx::query_as(&sql).bind(run_id);
            bind_post_filter!(q, filter, self.dialect).fetch_all(p).await?
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sample_posts, TestDb};
    use crate::{OnConflict, TopicCache};

    #[test]
    fn mentions_are_whole_pseudonyms() {
        let a = "u_0123456789abcdef0123";
        let text = format!("hi @{a}, and @u_0123 and @{a}x and //@{a}: ok @U_0123456789ABCDEF0123");
        let found: Vec<&str> = mentions(&text).collect();
        assert_eq!(found, vec![a, a]);
        assert_eq!(mentions("").count(), 0);
        assert_eq!(mentions("@u_").count(), 0);
    }

    async fn suite(db: &TestDb) {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        let a = "u_aaaaaaaaaaaaaaaaaaaa";
        let b = "u_bbbbbbbbbbbbbbbbbbbb";
        let c = "u_cccccccccccccccccccc";
        let mut posts = sample_posts(6);
        // m0 by a; m1, m2 by b reply to m0; m3 by c reposts m1 and mentions a; m4 by a
        // replies to its own post m0 (no self-edge); m5 by c mentions b twice.
        let authors = [a, b, b, c, a, c];
        let parents = [None, Some("m0"), Some("m0"), Some("m1"), Some("m0"), None];
        for (i, p) in posts.iter_mut().enumerate() {
            p.post.author = Some(authors[i].into());
            p.post.parent_id = parents[i].map(str::to_string);
            p.post.content_hash = format!("{i:032x}");
        }
        posts[3].post.text = format!("转发 //@{a}: 同感");
        posts[5].post.text = format!("@{b} @{b} hi");
        store
            .insert_posts(
                &posts,
                None,
                None,
                OnConflict::Ignore,
                &mut TopicCache::new(),
            )
            .await
            .unwrap();
        let edges = store
            .interaction_edges(&PostFilter::default())
            .await
            .unwrap();
        assert_eq!(
            edges,
            vec![
                (b.to_string(), a.to_string(), 2.0),
                (c.to_string(), a.to_string(), 1.0),
                (c.to_string(), b.to_string(), 3.0),
            ],
            "{name}"
        );
        let nodes: Vec<NetworkNode> = [a, b, c]
            .iter()
            .enumerate()
            .map(|(i, x)| NetworkNode {
                author: x.to_string(),
                pagerank: 0.5 - i as f64 * 0.1,
                in_degree: 3.0 - i as f64,
                out_degree: i as f64,
                in_count: 2 - i as i64,
                out_count: i as i64,
                community: (i / 2) as i64,
            })
            .collect();
        let id = store
            .save_network(&serde_json::json!({"seed": 1}), Some(0.1), &nodes, &edges)
            .await
            .unwrap();
        let run = store.latest_network().await.unwrap().unwrap();
        assert_eq!((run.id, run.nodes, run.edges), (id, 3, 3), "{name}");
        let top = store.network_nodes(id, false, 2).await.unwrap();
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].author, a, "{name}");
        assert_eq!(store.network_edges(id).await.unwrap().len(), 3, "{name}");
        let among = store
            .network_edges_among(id, &[a.to_string(), c.to_string(), "u_nobody".to_string()])
            .await
            .unwrap();
        assert_eq!(
            among,
            vec![NetworkEdge {
                source: c.to_string(),
                target: a.to_string(),
                weight: 1.0
            }],
            "{name}"
        );
        let among = store
            .network_edges_among(id, &[a.to_string(), b.to_string(), c.to_string()])
            .await
            .unwrap();
        let weights: Vec<f64> = among.iter().map(|e| e.weight).collect();
        assert_eq!(weights, vec![3.0, 2.0, 1.0], "{name}: heaviest first");
        assert!(store.network_edges_among(id, &[]).await.unwrap().is_empty());
        let crowd = vec![a.to_string(); 40_000];
        assert!(matches!(
            store.network_edges_among(id, &crowd).await,
            Err(StoreError::Invalid(_))
        ));
        let tallies = store
            .community_tallies(id, None, &PostFilter::default())
            .await
            .unwrap();
        let posts_of = |c: i64| -> i64 {
            tallies
                .iter()
                .filter(|t| t.community == c)
                .map(|t| t.n)
                .sum()
        };
        assert_eq!((posts_of(0), posts_of(1)), (4, 2), "{name}");
        let topics = store
            .community_topics(id, &PostFilter::default())
            .await
            .unwrap();
        assert_eq!(topics.len(), 2, "{name}: {topics:?}");
        assert!(
            topics.iter().all(|t| t.community == 0 && t.posts == 1),
            "{name}: {topics:?}"
        );
        store.close().await;
    }

    #[tokio::test]
    async fn network_edges_builds_and_communities_on_every_backend() {
        crate::on_every_backend!(suite);
    }
}
