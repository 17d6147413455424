//! The relational store of mindpulse: one logical schema on SQLite (the embedded
//! default), MySQL/MariaDB and PostgreSQL.
//!
//! [`Store`] is the one boundary every other stage talks to. It owns a connection pool of
//! one of the three backends and runs the same operations on each; the few places where
//! SQL differs between backends (placeholders, insert-or-ignore, upserts, date functions)
//! go through [`Dialect`]. Migrations are versioned per backend under `migrations/` and
//! embedded in the binary; [`Store::migrate`] applies the missing ones and is a no-op
//! when the schema is current.

mod alerts;
mod bulk;
mod crawl;
mod dialect;
mod embeddings;
mod error;
mod examples;
mod filter;
mod leases;
mod meta;
mod network;
mod posts;
mod posts_pg;
mod posts_sqlite;
mod purge;
mod query;
mod rollups;
mod runs;
mod scores;
mod series;
pub mod testing;
mod topic_builds;
mod twins;
mod users;

pub use alerts::{
    AlertChange, AlertReview, AlertRow, NewAlert, PendingNotification, ALERT_STATUSES,
};
pub use bulk::BulkLoad;
pub use crawl::{
    AuthorRecord, ConversationState, Coverage, CrawlJob, CrawlTask, NewCrawlTask, PostSelection,
    TopicRecord, TopicSighting,
};
pub use dialect::{Backend, Dialect};
pub use embeddings::{EncoderRow, PostText, SearchPost, StoredEmbedding};
pub use error::StoreError;
pub use examples::{ExamplePost, RegionIs};
pub use filter::{DiscoveredTopic, PostFilter};
pub use leases::{Claim, ClaimRequest, Lease, LeaseStatus, ScorerStatus, WorkerStatus};
pub use meta::KeyCheck;
pub use network::{mentions, CommunityTally, CommunityTopic, NetworkEdge, NetworkNode, NetworkRun};
pub use posts::{InsertReport, NewPost, OnConflict, TopicCache};
pub use purge::{PurgeFilter, PurgeReport};
pub use query::{Count, DupSeed, ExportPost, ExportScore, Stats, ROUTING_DIMENSION};
pub use rollups::{
    slot_of, slot_start, Fold, FoldBy, RefreshScope, RollupCell, RollupGroup, RollupQuery,
    SLOT_SECONDS,
};
pub use runs::{NewRun, RunCounts, RunKind, RunRecord, RunStatus};
pub use series::{ScorerOfDimension, SeriesRow};
pub use topic_builds::{BuiltTopic, NewTopicBuild, TopicBuild, UNASSIGNED};
pub use users::UserRow;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// The embedded default database URL.
pub const DEFAULT_DB_URL: &str = "sqlite://mindpulse.db";

/// A connection pool of one backend.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
    Postgres(PgPool),
}

/// Runs the same expression on whichever backend pool the store holds.
///
/// The body is expanded once per backend, so the same generic sqlx code is compiled for
/// each concrete database type.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::MySql($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The mindpulse database.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    pub(crate) dialect: Dialect,
    url_redacted: String,
    /// Whether the server has `FOR UPDATE SKIP LOCKED` (PostgreSQL; MySQL 8; MariaDB 10.6+).
    pub(crate) skip_locked: bool,
}

impl Store {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `mysql://…`, `postgres://…`).
    /// A SQLite file is created when missing and opened in WAL mode with a long busy
    /// timeout so that several processes can import into it at once.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let backend = Backend::from_url(url)?;
        let url_redacted = redact_url(url);
        let pool = match backend {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::connect(&url_redacted, e))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(120))
                    .foreign_keys(true)
                    .pragma("cache_size", "-65536")
                    .pragma("temp_store", "memory")
                    // Fewer, larger checkpoints: bulk imports rewrite hot index pages less often.
                    .pragma("wal_autocheckpoint", "16384");
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(120))
                    .connect_with(opts)
                    .await
                    .map_err(|e| StoreError::connect(&url_redacted, e))?;
                Pool::Sqlite(pool)
            }
            Backend::MySql => {
                let opts = MySqlConnectOptions::from_str(url)
                    .map_err(|e| StoreError::connect(&url_redacted, e))?
                    .charset("utf8mb4");
                probe(&opts, &url_redacted).await?;
                let pool = MySqlPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    // READ COMMITTED, as on PostgreSQL: a claim of unscored posts locks only
                    // the rows it returns, not the gaps and rows it scanned past.
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            sqlx::query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                                .execute(conn)
                                .await
                                .map(|_| ())
                        })
                    })
                    .connect_with(opts)
                    .await
                    .map_err(|e| StoreError::connect(&url_redacted, e))?;
                Pool::MySql(pool)
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::connect(&url_redacted, e))?;
                probe(&opts, &url_redacted).await?;
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await
                    .map_err(|e| StoreError::connect(&url_redacted, e))?;
                Pool::Postgres(pool)
            }
        };
        let skip_locked = match &pool {
            Pool::Sqlite(_) => false,
            Pool::Postgres(_) => true,
            Pool::MySql(p) => {
                let version: String = sqlx::query_scalar("SELECT VERSION()")
                    .fetch_one(p)
                    .await
                    .map_err(|e| StoreError::connect(&url_redacted, e))?;
                mysql_has_skip_locked(&version)
            }
        };
        Ok(Store {
            pool,
            dialect: Dialect::new(backend),
            url_redacted,
            skip_locked,
        })
    }

    /// Opens a database that already holds a mindpulse schema (bringing an older one up to
    /// date), for the commands that only read: a mistyped SQLite path or an empty server
    /// database is an error, not a new database.
    pub async fn open_existing(url: &str) -> Result<Store, StoreError> {
        let redacted = redact_url(url);
        if let Some(file) = sqlite_file(url) {
            if !file.exists() {
                return Err(StoreError::NoDatabase(format!(
                    "no database at {}: check the path, or create one with `mindpulse init` or an import",
                    file.display()
                )));
            }
        }
        let store = Store::connect(url).await?;
        if store
            .applied_versions()
            .await
            .map_or(true, |v| v.is_empty())
        {
            store.close().await;
            return Err(StoreError::NoDatabase(format!(
                "{redacted} holds no mindpulse schema: create it with `mindpulse init` or an import"
            )));
        }
        store.migrate().await?;
        Ok(store)
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.dialect.backend
    }

    /// Posts per write transaction that suits this backend. SQLite rewrites every page a
    /// transaction touches into its WAL, and index keys (platform ids, pseudonyms) are
    /// random, so small transactions multiply the write volume: it gets large batches.
    pub fn default_batch_size(&self) -> usize {
        match self.dialect.backend {
            Backend::Sqlite => 20_000,
            Backend::MySql | Backend::Postgres => 2_000,
        }
    }

    /// The URL with any password replaced by `***`, for logs and messages.
    pub fn url(&self) -> &str {
        &self.url_redacted
    }

    /// Applies missing migrations; returns the versions applied now (empty when current).
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let migrator = match self.dialect.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::MySql => sqlx::migrate!("./migrations/mysql"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        let before = self.applied_versions().await.unwrap_or_default();
        let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
        if let Some(newer) = before.iter().find(|v| !known.contains(v)) {
            return Err(StoreError::Invalid(format!(
                "the database's schema has migration {newer}, which this mindpulse does not know \
                 (it knows up to {}): use the mindpulse version that wrote it, or a newer one",
                known.last().copied().unwrap_or(0)
            )));
        }
        if known.iter().all(|v| before.contains(v)) {
            // Current: nothing to create, so a role that may only read and write rows (a
            // least-privilege worker) opens it too.
            self.ensure_secondary_indexes().await?;
            return Ok(Vec::new());
        }
        // Two processes migrating a fresh SQLite file at once can race on creating the
        // bookkeeping table; the loser simply retries against the now-current schema.
        let mut attempt = 0;
        loop {
            let result = on_pool!(&self.pool, p => migrator.run(p).await);
            match result {
                Ok(()) => break,
                Err(e) if attempt < 3 && self.dialect.backend == Backend::Sqlite => {
                    tracing::debug!(error = %e, "migration raced with another process; retrying");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(e) => return Err(StoreError::Migrate(e)),
            }
        }
        let after = self.applied_versions().await?;
        // A bulk load killed before its end left secondary indexes dropped.
        self.ensure_secondary_indexes().await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }

    /// Versions recorded in the migrations table.
    pub async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        let sql = "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version";
        let sql = if self.dialect.backend == Backend::Sqlite {
            "SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version"
        } else {
            sql
        };
        let versions: Vec<i64> =
            on_pool!(&self.pool, p => sqlx::query_scalar(sql).fetch_all(p).await)?;
        Ok(versions)
    }

    /// The latest schema version this build knows.
    pub fn schema_version() -> i64 {
        sqlx::migrate!("./migrations/sqlite")
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    /// Closes the pool, waiting for connections to finish (flushes SQLite's WAL).
    pub async fn close(&self) {
        on_pool!(&self.pool, p => p.close().await)
    }
}

/// Whether a MySQL/MariaDB server version string (`8.0.36`, `10.11.6-MariaDB-…`) names a
/// server with `SELECT … FOR UPDATE SKIP LOCKED` (MySQL 8.0.1, MariaDB 10.6).
pub(crate) fn mysql_has_skip_locked(version: &str) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    if version.to_ascii_lowercase().contains("mariadb") {
        (major, minor) >= (10, 6)
    } else {
        major >= 8
    }
}

/// One connection before the pool: a refused connection, an unknown host or a wrong
/// password fails at once with its reason (a pool would keep retrying until its acquire
/// timeout and then report only the timeout).
async fn probe<O>(opts: &O, url_redacted: &str) -> Result<(), StoreError>
where
    O: sqlx::ConnectOptions,
    O::Connection: Sized,
{
    use sqlx::Connection as _;
    let conn = tokio::time::timeout(Duration::from_secs(30), opts.connect())
        .await
        .map_err(|_| StoreError::connect(url_redacted, sqlx::Error::PoolTimedOut))?
        .map_err(|e| StoreError::connect(url_redacted, e))?;
    let _ = conn.close().await;
    Ok(())
}

/// The file of a SQLite database URL (None for other backends and in-memory databases).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if Backend::from_url(url).ok()? != Backend::Sqlite {
        return None;
    }
    let opts = SqliteConnectOptions::from_str(url).ok()?;
    let file = opts.get_filename();
    let name = file.to_string_lossy();
    (!name.is_empty() && name != ":memory:" && !name.starts_with("file::memory"))
        .then(|| file.to_path_buf())
}

/// Replaces the password in a database URL with `***`.
pub fn redact_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}://{}:***@{}",
                    &url[..scheme_end],
                    &userinfo[..colon],
                    &rest[at + 1..]
                );
            }
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests;

impl Store {
    /// Runs one administrative statement (e.g. `CREATE DATABASE`) as given.
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, p => sqlx::query(sql).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
