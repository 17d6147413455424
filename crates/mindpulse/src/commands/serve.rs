//! `mindpulse serve [--bind 127.0.0.1:8080]`: the web interface (`mindpulse_serve`) over
//! this database. [`StoreSource`] answers the interface's reads the way the commands do —
//! trends from the rollups like `trends`, alerts like `alerts list/show`, posts like
//! `export --scores` — so the pages and the JSON API show the CLI's numbers and shapes.
//! Binds loopback by default; bound elsewhere without `--behind-tls` it warns that
//! passwords and session cookies would cross the network in clear (put a TLS reverse proxy
//! in front, see the README).

use crate::context::Context;
use crate::post_json::JsonPost;
use crate::series::{read_series, GroupBy, Read};
use crate::zone::Zone;
use clap::Args;
use mindpulse_analyze::{Bucket, Method};
use mindpulse_serve::{
    Account, PostsQuery, SearchQuery, ServeOptions, Source, SourceError, TrendQuery,
};
use mindpulse_store::{PostFilter, Store};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Create this admin account first when it does not exist (the password is asked for at
    /// the terminal, or read from standard input or --password-env).
    #[arg(long)]
    pub admin: Option<String>,
    /// With --admin: read the password from this environment variable.
    #[arg(long, requires = "admin")]
    pub password_env: Option<String>,
    /// Seconds a trend answer is reused for the same query (0: compute every request); pages
    /// may lag new data by that long.
    #[arg(long, default_value_t = 30)]
    pub cache_secs: u64,
    /// The local LLM that answers on the ask page (a registry name or .gguf path; loaded at
    /// the first question).
    #[arg(long, env = "MINDPULSE_LLM_MODEL", default_value = mindpulse_llm_scorer::DEFAULT_LOCAL_MODEL)]
    pub llm_model: String,
    /// TLS is terminated in front of this server (a reverse proxy): mark cookies Secure and
    /// do not warn about a non-loopback address.
    #[arg(long)]
    pub behind_tls: bool,
}

pub async fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    if let Some(name) = &args.admin {
        crate::password_input::check_name(name)?;
        if store.user(name).await?.is_none() {
            let hash = crate::password_input::hashed(args.password_env.as_deref()).await?;
            store
                .add_user(name, mindpulse_serve::auth::Role::Admin.name(), &hash)
                .await?;
            eprintln!("added the admin account {name}");
        }
    }
    if store.users().await?.is_empty() {
        tracing::warn!(
            "no accounts yet: add one with `mindpulse users add NAME --role viewer|reviewer|admin` to sign in"
        );
    }
    if !args.bind.ip().is_loopback() && !args.behind_tls {
        tracing::warn!(
            bind = %args.bind,
            "listening beyond this machine without TLS: passwords and session cookies cross the network in clear; put a TLS reverse proxy in front and pass --behind-tls (README: serving on a network)"
        );
    }
    let source = StoreSource {
        store,
        index_path: crate::retrieve::index_path(&ctx.db_url),
        words: mindpulse_topics::Words::new(),
        search_lock: tokio::sync::Mutex::new(()),
        llm_model: args.llm_model.clone(),
        llm: tokio::sync::OnceCell::new(),
        zone: Zone::resolve(None, &ctx.config)?,
        min_cell: crate::series::configured_min_cell(&ctx.config),
        method: crate::series::configured_method(&ctx.config),
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.bind))?;
    let local = listener.local_addr()?;
    // The one line a script waits for (the port when --bind asked for port 0).
    println!("serving on http://{local}/");
    tracing::info!(%local, "serve: listening");
    mindpulse_serve::serve(
        listener,
        mindpulse_serve::CachedSource::new(source, std::time::Duration::from_secs(args.cache_secs)),
        ServeOptions {
            secure_cookies: args.behind_tls,
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The interface's reads over the store.
pub struct StoreSource {
    store: Store,
    /// The search index file (`search` keeps the same one current).
    index_path: std::path::PathBuf,
    words: mindpulse_topics::Words,
    /// One search brings the index up to date at a time.
    search_lock: tokio::sync::Mutex<()>,
    /// The ask page's model, started at the first question.
    llm_model: String,
    llm: tokio::sync::OnceCell<(crate::chat_llm::ChatLlm, String)>,
    zone: Zone,
    min_cell: u64,
    method: Method,
}

fn internal(e: impl std::fmt::Display) -> SourceError {
    SourceError::Internal(e.to_string())
}

fn bad(e: impl std::fmt::Display) -> SourceError {
    SourceError::BadRequest(e.to_string())
}

/// An error of a read the request shaped (a metric without scores, a query the index
/// cannot take): the database's errors are ours (500), the others the caller's (400).
fn caller_or_store(e: anyhow::Error) -> SourceError {
    if e.downcast_ref::<mindpulse_store::StoreError>().is_some() {
        internal(e)
    } else {
        bad(e)
    }
}

fn bucket_of(by: Option<&str>) -> Result<Bucket, SourceError> {
    match by.unwrap_or("day") {
        "hour" => Ok(Bucket::Hour),
        "day" => Ok(Bucket::Day),
        "week" => Ok(Bucket::Week),
        other => Err(bad(format!("by {other:?}: expected hour, day or week"))),
    }
}

fn group_of(group: Option<&str>) -> Result<Option<GroupBy>, SourceError> {
    match group.filter(|g| !g.is_empty()) {
        None => Ok(None),
        Some("topic") => Ok(Some(GroupBy::Topic)),
        Some("region") => Ok(Some(GroupBy::Region)),
        Some("platform") => Ok(Some(GroupBy::Platform)),
        Some("lang") => Ok(Some(GroupBy::Lang)),
        Some(other) => Err(bad(format!(
            "group {other:?}: expected topic, region, platform or lang"
        ))),
    }
}

impl StoreSource {
    /// The UTC window of one bucket key (`2025-11-03`, a week's Monday, or an hour's RFC
    /// 3339 start).
    fn bucket_window(
        &self,
        bucket: Bucket,
        key: &str,
    ) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), SourceError> {
        let wrong = || bad(format!("bucket {key:?}: not a bucket of this chart"));
        match bucket {
            Bucket::Hour => {
                let start = chrono::DateTime::parse_from_rfc3339(key)
                    .map_err(|_| wrong())?
                    .with_timezone(&chrono::Utc);
                Ok((start, start + chrono::Duration::hours(1)))
            }
            Bucket::Day | Bucket::Week => {
                let day =
                    chrono::NaiveDate::parse_from_str(key, "%Y-%m-%d").map_err(|_| wrong())?;
                let days = if bucket == Bucket::Week { 7 } else { 1 };
                Ok((
                    self.zone.day_start(day),
                    self.zone.day_start(day + chrono::Duration::days(days)),
                ))
            }
            Bucket::All => Err(wrong()),
        }
    }

    /// `metric` per day over all posts (duplicates left out), every cell shown (min_cell
    /// 1): what the forecast fits, and the chart once small cells are suppressed.
    async fn every_day(&self, metric: &str) -> anyhow::Result<Vec<mindpulse_analyze::TrendRow>> {
        let filter = PostFilter {
            no_duplicates: true,
            ..Default::default()
        };
        let (series, rates, _) = read_series(
            &self.store,
            metric,
            None,
            &filter,
            Bucket::Day,
            self.zone.tz,
            Read::Rollups,
        )
        .await?;
        Ok(if metric == "volume" {
            series.volume(1)
        } else {
            series.prevalence(&|l| rates.get(l), self.method, 1)
        })
    }

    /// The next `horizon` days of daily `rows` (AutoETS), or None when the series is too
    /// short or too small to forecast.
    fn project(
        &self,
        rows: &[mindpulse_analyze::TrendRow],
        metric: &str,
        horizon: u32,
    ) -> Option<Value> {
        match crate::forecasting::project(
            rows,
            metric == "volume",
            None,
            crate::watch::buckets::Step::Day,
            7,
            horizon.clamp(1, 366) as usize,
            self.min_cell,
        ) {
            Ok(p) => Some(json!({"model": p.model, "forecast": p.steps})),
            Err(e) => {
                tracing::debug!(metric, error = %e, "serve: no forecast");
                None
            }
        }
    }

    /// The posts `search` finds for `text` (the index brought up to date first).
    async fn found(
        &self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<crate::retrieve::Found>, SourceError> {
        let _one = self.search_lock.lock().await;
        let (index, _) = crate::retrieve::current_index(&self.store, &self.index_path, &self.words)
            .await
            .map_err(internal)?;
        let filter = PostFilter::default();
        let found = crate::retrieve::search(
            &self.store,
            &index,
            &self.words,
            &crate::retrieve::Query {
                text,
                limit,
                filter: &filter,
                vectors: true,
                threads: 0,
            },
        )
        .await
        .map_err(caller_or_store)?;
        Ok(found)
    }
}

impl Source for StoreSource {
    async fn account(&self, name: &str) -> Result<Option<Account>, SourceError> {
        Ok(self
            .store
            .user(name)
            .await
            .map_err(internal)?
            .map(|u| Account {
                name: u.name,
                role: u.role,
                password_hash: u.password_hash,
            }))
    }

    async fn trends(&self, q: &TrendQuery) -> Result<Value, SourceError> {
        let metric = q.metric.as_deref().unwrap_or("volume");
        let bucket = bucket_of(q.by.as_deref())?;
        let group = group_of(q.group.as_deref())?;
        let (since, until) = self
            .zone
            .window(
                q.since.as_deref().filter(|s| !s.is_empty()),
                q.until.as_deref().filter(|s| !s.is_empty()),
            )
            .map_err(bad)?;
        let filter = PostFilter {
            since,
            until,
            no_duplicates: true,
            ..Default::default()
        };
        let (series, rates, _) = read_series(
            &self.store,
            metric,
            group,
            &filter,
            bucket,
            self.zone.tz,
            Read::Rollups,
        )
        .await
        .map_err(caller_or_store)?;
        let rows = if metric == "volume" {
            series.volume(self.min_cell)
        } else {
            series.prevalence(&|l| rates.get(l), self.method, self.min_cell)
        };
        serde_json::to_value(rows).map_err(internal)
    }

    async fn daily(&self, metric: &str, horizon: u32) -> Result<Value, SourceError> {
        // One read and one correction of the series for both the chart and the forecast.
        let rows = self.every_day(metric).await.map_err(caller_or_store)?;
        let shown = mindpulse_analyze::suppress_small(&rows, self.min_cell);
        Ok(json!({
            "rows": serde_json::to_value(shown).map_err(internal)?,
            "forecast": self.project(&rows, metric, horizon),
        }))
    }

    async fn alerts(&self, status: Option<&str>, limit: u32) -> Result<Value, SourceError> {
        let rows = self
            .store
            .alerts(status, i64::from(limit.max(1)))
            .await
            .map_err(internal)?;
        serde_json::to_value(rows).map_err(internal)
    }

    async fn alert(&self, id: i64) -> Result<Option<Value>, SourceError> {
        let Some(alert) = self.store.alert(id).await.map_err(internal)? else {
            return Ok(None);
        };
        let reviews = self.store.alert_reviews(id).await.map_err(internal)?;
        let mut v = serde_json::to_value(&alert).map_err(internal)?;
        v["evidence"] = serde_json::from_str(&alert.evidence).unwrap_or(Value::Null);
        v["params"] = serde_json::from_str(&alert.params).unwrap_or(Value::Null);
        v["reviews"] = serde_json::to_value(reviews).map_err(internal)?;
        Ok(Some(v))
    }

    async fn review(
        &self,
        id: i64,
        status: &str,
        note: &str,
        reviewer: &str,
    ) -> Result<bool, SourceError> {
        if self.store.alert(id).await.map_err(internal)?.is_none() {
            return Ok(false);
        }
        let note = Some(note.trim()).filter(|n| !n.is_empty());
        self.store
            .review_alert(id, status, note, reviewer)
            .await
            .map_err(|e| match e {
                mindpulse_store::StoreError::Invalid(m) => bad(m),
                other => internal(other),
            })?;
        Ok(true)
    }

    async fn posts(&self, q: &PostsQuery) -> Result<Value, SourceError> {
        let bucket = bucket_of(q.by.as_deref())?;
        let (since, until) = self.bucket_window(bucket, &q.bucket)?;
        let mut filter = PostFilter {
            since: Some(since),
            until: Some(until),
            no_duplicates: true,
            ..Default::default()
        };
        let value = q.value.clone().filter(|v| !v.is_empty());
        if let Some(v @ ("(unknown)" | "(no topic)" | "und")) = value.as_deref() {
            return Err(bad(format!(
                "the posts of the group {v} (no value stored) cannot be listed; pick another point"
            )));
        }
        match (group_of(q.group.as_deref())?, value) {
            (None, _) | (Some(_), None) => {}
            (Some(GroupBy::Platform), Some(v)) => filter.platform = Some(v),
            (Some(GroupBy::Lang), Some(v)) => filter.lang = Some(v),
            (Some(GroupBy::Topic), Some(v)) => filter.topic = Some(v),
            (Some(GroupBy::Region), Some(v)) => filter.region = Some(v),
        }
        let limit = i64::from(q.limit.unwrap_or(50).clamp(1, 200));
        let page = self
            .store
            .export_page(&filter, 0, limit, true)
            .await
            .map_err(internal)?;
        let posts: Vec<Value> = page
            .iter()
            .map(|p| serde_json::to_value(JsonPost::new(p, None)))
            .collect::<Result<_, _>>()
            .map_err(internal)?;
        Ok(Value::Array(posts))
    }

    async fn topics(&self) -> Result<Option<Value>, SourceError> {
        let Some(build) = self.store.latest_topic_build().await.map_err(internal)? else {
            return Ok(None);
        };
        let topics = self.store.built_topics(build.id).await.map_err(internal)?;
        let encoders = crate::topic_views::encoder_names(&self.store)
            .await
            .map_err(internal)?;
        let list: Vec<crate::topic_views::TopicSummary> = topics
            .iter()
            .map(|t| crate::topic_views::summary(t, &build, &encoders))
            .collect();
        Ok(Some(json!({
            "build": {"id": build.id, "built_at": build.built_at, "posts": build.posts,
                      "topics": build.topics, "unassigned": build.unassigned},
            "topics": serde_json::to_value(list).map_err(internal)?,
        })))
    }

    async fn topic(&self, number: i64) -> Result<Option<Value>, SourceError> {
        let Some(build) = self.store.latest_topic_build().await.map_err(internal)? else {
            return Ok(None);
        };
        let topics = self.store.built_topics(build.id).await.map_err(internal)?;
        let Some(topic) = topics.iter().find(|t| t.number == number) else {
            return Ok(None);
        };
        // As `topics show --json` with its default five examples.
        let detail = crate::topic_views::detail(
            &self.store,
            &build,
            topic,
            &self.zone,
            self.min_cell,
            self.method,
            5,
        )
        .await
        .map_err(internal)?;
        serde_json::to_value(detail).map(Some).map_err(internal)
    }

    async fn network_graph(&self, limit: u32) -> Result<Option<Value>, SourceError> {
        let Some(run) = self.store.latest_network().await.map_err(internal)? else {
            return Ok(None);
        };
        let nodes = self
            .store
            .network_nodes(run.id, false, i64::from(limit.max(1)))
            .await
            .map_err(internal)?;
        let authors: Vec<String> = nodes.iter().map(|n| n.author.clone()).collect();
        let index: std::collections::HashMap<&str, usize> = authors
            .iter()
            .enumerate()
            .map(|(i, a)| (a.as_str(), i))
            .collect();
        let edges: Vec<(usize, usize, f64)> = self
            .store
            .network_edges_among(run.id, &authors)
            .await
            .map_err(internal)?
            .iter()
            .filter_map(|e| {
                let (a, b) = (
                    *index.get(e.source.as_str())?,
                    *index.get(e.target.as_str())?,
                );
                (a != b).then_some((a, b, e.weight))
            })
            .collect();
        let positions = mindpulse_network::force_layout(nodes.len(), &edges, 300, 42);
        let mut drawn = Vec::with_capacity(nodes.len());
        for (n, (x, y)) in nodes.iter().zip(positions) {
            let mut v = serde_json::to_value(n).map_err(internal)?;
            v["x"] = json!((x * 1e4).round() / 1e4);
            v["y"] = json!((y * 1e4).round() / 1e4);
            drawn.push(v);
        }
        Ok(Some(json!({
            "build": {"id": run.id, "built_at": run.built_at, "nodes": run.nodes,
                      "edges": run.edges, "modularity": run.modularity},
            "nodes": drawn,
            "edges": edges.iter().map(|(a, b, w)| json!({"source": a, "target": b, "weight": w})).collect::<Vec<_>>(),
        })))
    }

    async fn network(&self, limit: u32) -> Result<Option<Value>, SourceError> {
        let Some(run) = self.store.latest_network().await.map_err(internal)? else {
            return Ok(None);
        };
        // Every author once (ordered by PageRank): the top ones and the community sizes.
        let nodes = self
            .store
            .network_nodes(run.id, false, i64::MAX)
            .await
            .map_err(internal)?;
        let mut sizes: std::collections::BTreeMap<i64, u64> = Default::default();
        for n in &nodes {
            *sizes.entry(n.community).or_default() += 1;
        }
        let top = &nodes[..nodes.len().min(limit.max(1) as usize)];
        let mut communities: Vec<(i64, u64)> = sizes.into_iter().collect();
        communities.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        communities.truncate(20);
        Ok(Some(json!({
            "build": {"id": run.id, "built_at": run.built_at, "nodes": run.nodes,
                      "edges": run.edges, "modularity": run.modularity},
            "top": serde_json::to_value(top).map_err(internal)?,
            "communities": communities,
        })))
    }

    async fn search(&self, q: &SearchQuery) -> Result<Value, SourceError> {
        let found = self
            .found(&q.q, q.limit.unwrap_or(10).clamp(1, 50) as usize)
            .await?;
        serde_json::to_value(found).map_err(internal)
    }

    async fn ask(&self, question: &str) -> Result<Value, SourceError> {
        if let Some(why) = mindpulse_ask::declines(question) {
            return serde_json::to_value(crate::asking::declined(why)).map_err(internal);
        }
        let found = self.found(question, 6).await?;
        if found.is_empty() {
            return serde_json::to_value(crate::asking::no_answer(Vec::new(), None))
                .map_err(internal);
        }
        let (llm, model) = self
            .llm
            .get_or_try_init(|| {
                crate::chat_llm::ChatLlm::start(crate::chat_llm::ChatLlmSpec::Local {
                    model: &self.llm_model,
                    threads: 0,
                    max_tokens: 256,
                })
            })
            .await
            .map_err(internal)?;
        let out = crate::asking::answer_from(
            &found,
            question,
            llm,
            model.clone(),
            crate::chat_llm::Compose::PerPost,
        )
        .await
        .map_err(internal)?;
        serde_json::to_value(out).map_err(internal)
    }

    async fn provenance(&self) -> Result<Value, SourceError> {
        let runs = self.store.runs(None, 50).await.map_err(internal)?;
        let coverage = self.store.coverage(None).await.map_err(internal)?;
        Ok(json!({
            "runs": serde_json::to_value(runs).map_err(internal)?,
            "coverage": coverage.iter().map(|c| json!({
                "run_id": c.run_id,
                "platform": c.platform,
                "kind": c.kind,
                "query": c.query,
                "pages_asked": c.pages_asked,
                "pages_fetched": c.pages_fetched,
                "pages_failed": c.pages_failed,
                "items_seen": c.items_seen,
                "items_new": c.items_new,
                "reported_total": c.reported_total,
            })).collect::<Vec<_>>(),
        }))
    }

    fn zone(&self) -> String {
        self.zone.name().to_string()
    }
}
