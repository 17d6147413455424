//! The boundary between the web interface and the data: [`Source`], which the binary
//! implements over the store (the same reads as `trends`, `alerts list`, `export`), so this
//! crate never touches the database. Lists are handed over as the JSON values the CLI's
//! `--json` prints, so the API returns exactly the CLI's shapes; the pages read the fields
//! they show from them.

use serde::Deserialize;
use serde_json::Value;
use std::future::Future;

/// The metrics the overview charts, by day, with a forecast of [`OVERVIEW_HORIZON`] days.
pub const OVERVIEW_METRICS: &[&str] = &[
    "volume",
    "depression",
    "suicide_risk",
    "stress",
    "substance_use",
];
/// Days the overview's forecasts reach.
pub const OVERVIEW_HORIZON: u32 = 14;

/// Why a read failed: the request was wrong (400, with the message) or the data could not be
/// read (500; the message is logged, not shown).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Internal(String),
}

/// An account as the interface needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub name: String,
    /// `viewer`, `reviewer` or `admin`.
    pub role: String,
    /// The Argon2id PHC string.
    pub password_hash: String,
}

/// A trend query, as `mindpulse trends` takes it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TrendQuery {
    /// `volume` or a population dimension (default volume).
    pub metric: Option<String>,
    /// `hour`, `day` (default) or `week`.
    pub by: Option<String>,
    /// `topic`, `region`, `platform` or `lang`.
    pub group: Option<String>,
    /// A day (YYYY-MM-DD) or an RFC 3339 time, in the configured zone.
    pub since: Option<String>,
    pub until: Option<String>,
}

/// The posts behind one point of a trend chart.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PostsQuery {
    pub metric: Option<String>,
    pub by: Option<String>,
    pub group: Option<String>,
    /// The point's bucket key (as the trend rows name it).
    pub bucket: String,
    /// The point's group value, when the chart is grouped.
    pub value: Option<String>,
    /// Most posts returned (default 50, at most 200).
    pub limit: Option<u32>,
}

/// A search, as `mindpulse search` takes it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SearchQuery {
    /// The words or sentence to look for.
    #[serde(default)]
    pub q: String,
    /// Most hits (default 10, at most 50).
    pub limit: Option<u32>,
}

/// What the pages and the API read.
pub trait Source: Send + Sync + 'static {
    /// The account of `name`, if any.
    fn account(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Account>, SourceError>> + Send;

    /// The rows `trends --json` prints for the query.
    fn trends(&self, q: &TrendQuery) -> impl Future<Output = Result<Value, SourceError>> + Send;

    /// The overview's chart of `metric` over all posts, by day: `{"rows": [the rows
    /// `trends --metric M --json` prints], "forecast": {"model", "forecast": [{bucket, mean,
    /// lo80, hi80, lo95, hi95}]} or null}` — the next `horizon` days from AutoETS as
    /// `forecast --json` prints them, null when the series is too short or too small to
    /// forecast. Errors are those of `trends` (a dimension without scores: BadRequest).
    fn daily(
        &self,
        metric: &str,
        horizon: u32,
    ) -> impl Future<Output = Result<Value, SourceError>> + Send;

    /// Runs for as long as the server does, keeping what the overview reads fresh (a cache
    /// refreshes its entries before they expire); a source without a cache returns at once.
    fn keep_warm(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The alerts `alerts list --json` prints (newest first), optionally of one status.
    fn alerts(
        &self,
        status: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Value, SourceError>> + Send;

    /// One alert as `alerts show --json` prints it (with its evidence and review history), or
    /// None.
    fn alert(&self, id: i64) -> impl Future<Output = Result<Option<Value>, SourceError>> + Send;

    /// Records a review; false when there is no such alert.
    fn review(
        &self,
        id: i64,
        status: &str,
        note: &str,
        reviewer: &str,
    ) -> impl Future<Output = Result<bool, SourceError>> + Send;

    /// The posts behind a point: pseudonymous, redacted text, with their scores and the
    /// scores' provenance (objects as `export --scores --format jsonl` prints them).
    fn posts(&self, q: &PostsQuery) -> impl Future<Output = Result<Value, SourceError>> + Send;

    /// The newest topic build's topics as `topics list --json` prints them (largest first),
    /// with the build: `{"build": {id, built_at, posts, topics, unassigned}, "topics": [...]}`;
    /// None when no topics were built.
    fn topics(&self) -> impl Future<Output = Result<Option<Value>, SourceError>> + Send;

    /// Topic `number` of the newest build as `topics show NUMBER --json` prints it: its
    /// keywords, example posts (pseudonymous, redacted at ingest), and per day its posts and
    /// the corrected prevalence of each scored population dimension; None when no topics
    /// were built or the build has no such topic.
    fn topic(&self, number: i64)
        -> impl Future<Output = Result<Option<Value>, SourceError>> + Send;

    /// A drawing of the newest network's `limit` authors of highest PageRank and the links
    /// among them: `{"build": {...}, "nodes": [top-author objects as `network top --json`
    /// prints them, in that order, each with `x`, `y` in [0, 1]], "edges": [{source, target,
    /// weight}]}` with `source`/`target` indices into `nodes` (no self-loops); None when no
    /// network was built.
    fn network_graph(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Option<Value>, SourceError>> + Send;

    /// The newest network build: `{"build": {id, built_at, nodes, edges, modularity},
    /// "top": [...], "communities": [[community, authors], ...]}` with the `limit` authors of
    /// highest PageRank as `network top --json` prints them (pseudonyms), communities largest
    /// first; None when no network was built.
    fn network(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Option<Value>, SourceError>> + Send;

    /// The hits `search TEXT --json --limit N` prints (BM25 + embeddings, fused; the index
    /// brought up to date first).
    fn search(&self, q: &SearchQuery) -> impl Future<Output = Result<Value, SourceError>> + Send;

    /// The answer `ask QUESTION --json` prints: retrieved posts, the model's cited answer
    /// checked by the support rule, or the guard's refusal of a question about one person.
    fn ask(&self, question: &str) -> impl Future<Output = Result<Value, SourceError>> + Send;

    /// Provenance: recent runs with their models and sha256, and crawl coverage
    /// (`{"runs": [...], "coverage": [...]}`).
    fn provenance(&self) -> impl Future<Output = Result<Value, SourceError>> + Send;

    /// The configured time zone's name (dates are shown in it).
    fn zone(&self) -> String;
}
