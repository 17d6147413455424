//! Throwaway databases for tests, on all three backends.
//!
//! SQLite always runs (a file in a temporary directory). MySQL/MariaDB and PostgreSQL run
//! when `MINDPULSE_TEST_MYSQL` / `MINDPULSE_TEST_POSTGRES` hold a server URL: each test
//! gets a fresh database created on that server and dropped afterwards. Without the
//! variable the backend is skipped, except under `CI=true`, where a missing or
//! unreachable server is a failure.

use crate::{Backend, Store};
use std::sync::atomic::{AtomicU64, Ordering};

/// Env var naming the MySQL/MariaDB server for tests.
pub const MYSQL_ENV: &str = "MINDPULSE_TEST_MYSQL";
/// Env var naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "MINDPULSE_TEST_POSTGRES";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database that exists for one test.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    admin_url: Option<String>,
    name: Option<String>,
    _dir: Option<tempfile_dir::Dir>,
}

mod tempfile_dir {
    /// A temporary directory removed on drop (std only, to keep this module dependency-free).
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("mp_test_{}_{}_{}", std::process::id(), n, nanos)
}

fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Replaces the database name (the URL path) of a server URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestDb {
    /// A fresh SQLite database file.
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique_name());
        let _ = std::fs::create_dir_all(&dir);
        let url = format!("sqlite://{}", dir.join("test.db").display());
        TestDb {
            backend: Backend::Sqlite,
            url,
            admin_url: None,
            name: None,
            _dir: Some(tempfile_dir::Dir(dir)),
        }
    }

    /// The SQLite file's path (None for server backends).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.0.join("test.db"))
    }

    /// A fresh database on the server named by `env`, or None when the variable is unset
    /// outside CI. Panics in CI when the variable is unset or the server unreachable.
    pub async fn server(env: &str) -> Option<TestDb> {
        let admin_url = match std::env::var(env) {
            Ok(u) if !u.trim().is_empty() => u,
            _ => {
                if in_ci() {
                    panic!("{env} is not set: in CI the MySQL and PostgreSQL tests must run");
                }
                eprintln!("skipping: {env} is not set");
                return None;
            }
        };
        let backend = match Backend::from_url(&admin_url) {
            Ok(b) => b,
            Err(e) => panic!("{env}: {e}"),
        };
        let name = unique_name();
        let admin = match Store::connect(&admin_url).await {
            Ok(s) => s,
            Err(e) => panic!("{env}: server unreachable: {e}"),
        };
        let create = format!("CREATE DATABASE {name}");
        crate::on_pool!(&admin.pool, p => sqlx::query(&create).execute(p).await.map(|_| ()))
            .unwrap_or_else(|e| panic!("{env}: cannot create a test database: {e}"));
        admin.close().await;
        Some(TestDb {
            backend,
            url: with_database(&admin_url, &name),
            admin_url: Some(admin_url),
            name: Some(name),
            _dir: None,
        })
    }

    /// All backends available to this test run: SQLite plus the configured servers.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        if let Some(db) = TestDb::server(MYSQL_ENV).await {
            dbs.push(db);
        }
        if let Some(db) = TestDb::server(POSTGRES_ENV).await {
            dbs.push(db);
        }
        dbs
    }

    /// Ends every server connection to this test database, as an administrator or a
    /// failover would (`pg_terminate_backend`, `KILL CONNECTION`); returns how many.
    pub async fn kill_connections(&self) -> usize {
        let (Some(admin_url), Some(name)) = (&self.admin_url, &self.name) else {
            return 0;
        };
        let Ok(admin) = Store::connect(admin_url).await else {
            return 0;
        };
        let killed = match &admin.pool {
            crate::Pool::Postgres(p) => sqlx::query_scalar::<_, bool>(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            .fetch_all(p)
            .await
            .map(|v| v.into_iter().filter(|k| *k).count())
            .unwrap_or(0),
            crate::Pool::MySql(p) => {
                let ids: Vec<u64> = sqlx::query_scalar(&format!(
                    "SELECT CAST(id AS UNSIGNED) FROM information_schema.PROCESSLIST WHERE db = '{name}' AND id <> CONNECTION_ID()"
                ))
                .fetch_all(p)
                .await
                .unwrap_or_default();
                let mut n = 0;
                for id in ids {
                    if sqlx::query(&format!("KILL CONNECTION {id}")).execute(p).await.is_ok() {
                        n += 1;
                    }
                }
                n
            }
            crate::Pool::Sqlite(_) => 0,
        };
        admin.close().await;
        killed
    }

    /// The server database's name (None for SQLite).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The URL this test database was created through (None for SQLite).
    pub fn admin_url(&self) -> Option<&str> {
        self.admin_url.as_deref()
    }

    /// Drops the server database (SQLite files go with the temporary directory).
    pub async fn drop_db(self) {
        if let (Some(admin_url), Some(name)) = (&self.admin_url, &self.name) {
            if let Ok(admin) = Store::connect(admin_url).await {
                let sql = if self.backend == Backend::Postgres {
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                } else {
                    format!("DROP DATABASE IF EXISTS {name}")
                };
                let _ = crate::on_pool!(&admin.pool, p => sqlx::query(&sql).execute(p).await.map(|_| ()));
                admin.close().await;
            }
        }
    }

    /// Every byte the database holds, as text, to search for leaked values: the SQLite file
    /// (with its WAL), or a full `mariadb-dump` / `pg_dump` of the server database.
    pub fn dump(&self) -> std::io::Result<Vec<u8>> {
        match self.backend {
            Backend::Sqlite => {
                let path = self
                    .sqlite_path()
                    .ok_or_else(|| std::io::Error::other("no sqlite path"))?;
                let mut bytes = std::fs::read(&path)?;
                let wal = path.with_extension("db-wal");
                if let Ok(w) = std::fs::read(wal) {
                    bytes.extend_from_slice(&w);
                }
                Ok(bytes)
            }
            Backend::MySql => {
                let url = self
                    .url
                    .trim_start_matches("mysql://")
                    .trim_start_matches("mariadb://");
                let (auth, rest) = url.split_once('@').unwrap_or(("root", url));
                let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
                let (hostport, db) = rest.split_once('/').unwrap_or((rest, ""));
                let db = db.split('?').next().unwrap_or(db);
                let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
                let mut cmd = std::process::Command::new("mariadb-dump");
                cmd.args([
                    "-h",
                    host,
                    "-P",
                    port,
                    "-u",
                    user,
                    "--skip-extended-insert",
                    db,
                ]);
                if !password.is_empty() {
                    cmd.env("MYSQL_PWD", password);
                }
                let out = cmd.output()?;
                if !out.status.success() {
                    return Err(std::io::Error::other(
                        String::from_utf8_lossy(&out.stderr).to_string(),
                    ));
                }
                Ok(out.stdout)
            }
            Backend::Postgres => {
                let out = std::process::Command::new("pg_dump")
                    .arg(&self.url)
                    .output()?;
                if !out.status.success() {
                    return Err(std::io::Error::other(
                        String::from_utf8_lossy(&out.stderr).to_string(),
                    ));
                }
                Ok(out.stdout)
            }
        }
    }
}

/// `n` distinct posts for tests (`m0`, `m1`, …): Chinese and English alternately, post 2
/// with the topics `失眠` and `打工人`.
pub fn sample_posts(n: usize) -> Vec<crate::NewPost> {
    use chrono::{TimeZone, Utc};
    use mindpulse_core::{CleanPost, PostKind};
    let at = |h| Utc.with_ymd_and_hms(2025, 11, 22, h, 12, 33).single();
    (0..n)
        .map(|i| crate::NewPost {
            post: CleanPost {
                platform: "weibo".into(),
                platform_id: format!("m{i}"),
                kind: PostKind::Post,
                parent_id: None,
                root_id: None,
                author: Some("u_0123456789abcdef0123".into()),
                lang: Some(if i % 2 == 0 { "zh" } else { "en" }.into()),
                created_at: at(2),
                collected_at: at(3).unwrap_or_default(),
                topics: if i == 2 {
                    vec!["失眠".into(), "打工人".into()]
                } else {
                    Vec::new()
                },
                repost_count: 0,
                comment_count: 0,
                like_count: 0,
                region: None,
                content_hash: format!("{i:032x}"),
                simhash: None,
                raw: None,
                author_info: None,
                text: format!("第{i}条：最近总是睡不着 / post {i}"),
            },
            dup_group: None,
            dup_kind: None,
        })
        .collect()
}

/// Runs `suite(&db)` (an async fn taking `&TestDb`) on every available backend, dropping
/// each server database afterwards.
#[macro_export]
macro_rules! on_every_backend {
    ($suite:expr) => {
        for db in $crate::testing::TestDb::all().await {
            $suite(&db).await;
            db.drop_db().await;
        }
    };
}
