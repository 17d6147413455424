//! What every command needs, resolved once from flags, environment and config file:
//! the database URL, the pseudonym key, import defaults.

use crate::cli::GlobalArgs;
use crate::config::Config;
use anyhow::Context as _;
use mindpulse_clean::{default_key_path, PseudonymKey};
use mindpulse_store::{KeyCheck, RunKind, Store, DEFAULT_DB_URL};
use std::path::PathBuf;
use std::time::Duration;

/// An import beats its run's heartbeat with every stored batch.
pub const STALE_IMPORT: Duration = Duration::from_secs(10 * 60);
/// A crawl beats it at least once a minute while it works, but may sit out a rate-limit
/// backoff of several minutes in between.
pub const STALE_CRAWL: Duration = Duration::from_secs(30 * 60);

/// Env var holding the pseudonym key itself (64 hex chars or any passphrase).
pub const KEY_ENV: &str = "MINDPULSE_PSEUDONYM_KEY";

pub struct Context {
    pub db_url: String,
    pub config: Config,
    pub key_file: PathBuf,
    /// The key file was named with `--key-file` (it then wins over the environment, and
    /// must exist unless `init` is creating it).
    pub key_file_from_flag: bool,
    pub show_progress: bool,
}

/// A database URL, or a bare path taken as a SQLite file (`--db data/m.db`).
fn database_url(given: &str) -> String {
    let given = given.trim();
    if given.contains("://") || given.starts_with("sqlite:") {
        given.to_string()
    } else {
        format!("sqlite://{given}")
    }
}

impl Context {
    pub fn new(global: &GlobalArgs) -> anyhow::Result<Context> {
        let config = Config::load(global.config.as_deref())?;
        let db_url = global
            .db
            .clone()
            .or_else(|| config.db.url.clone())
            .unwrap_or_else(|| DEFAULT_DB_URL.to_string());
        let db_url = database_url(&db_url);
        let key_file = global
            .key_file
            .clone()
            .or_else(|| config.pseudonym.key_file.clone())
            .unwrap_or_else(default_key_path);
        let show_progress = !global.no_progress
            && !global.quiet
            && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let key_file_from_flag = std::env::args_os().any(|a| {
            let a = a.to_string_lossy();
            a == "--key-file" || a.starts_with("--key-file=")
        });
        Ok(Context {
            db_url,
            config,
            key_file,
            key_file_from_flag,
            show_progress,
        })
    }

    /// Opens a database that must exist already (for the commands that only read or
    /// delete): a mistyped path is an error, not a new empty database.
    pub async fn existing_store(&self) -> anyhow::Result<Store> {
        let store = Store::open_existing(&self.db_url).await?;
        self.interrupt_stale_runs(&store).await;
        Ok(store)
    }

    /// Opens the database, creating or migrating the schema as needed, and marks the
    /// import and crawl runs whose process died without finishing them (no heartbeat for
    /// [`STALE_IMPORT`] / [`STALE_CRAWL`]) as `interrupted`. (Score runs are checked by the
    /// score driver, against its lease length.)
    pub async fn store(&self) -> anyhow::Result<Store> {
        let store = Store::open(&self.db_url).await.with_context(|| {
            format!(
                "cannot open the database {}",
                mindpulse_store::redact_url(&self.db_url)
            )
        })?;
        self.interrupt_stale_runs(&store).await;
        Ok(store)
    }

    /// Marks import and crawl runs without a recent heartbeat as interrupted.
    async fn interrupt_stale_runs(&self, store: &Store) {
        for (kind, stale) in [
            (RunKind::Import, STALE_IMPORT),
            (RunKind::Crawl, STALE_CRAWL),
        ] {
            match store
                .interrupt_stale_runs(kind, stale.as_millis() as i64)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    "marked {n} {} run(s) without a heartbeat as interrupted",
                    kind.as_str()
                ),
                // A read-only database still answers the reading commands.
                Err(e) => tracing::debug!("cannot mark stale runs: {e}"),
            }
        }
    }

    /// The pseudonym key: the `--key-file` flag's file, else `MINDPULSE_PSEUDONYM_KEY`
    /// (64 hex characters or a strong passphrase), else the key file of the environment,
    /// config or default path, created (mode 0600) when `create` and missing. A file named
    /// with `--key-file` is created only by `init` ([`Context::key_for_init`]).
    pub fn key(&self, create: bool) -> anyhow::Result<PseudonymKey> {
        self.resolve_key(create, false)
    }

    /// The key `init` uses: like [`Context::key`], creating a missing `--key-file` too.
    pub fn key_for_init(&self) -> anyhow::Result<PseudonymKey> {
        self.resolve_key(true, true)
    }

    fn resolve_key(&self, create: bool, init: bool) -> anyhow::Result<PseudonymKey> {
        if !self.key_file_from_flag {
            if let Ok(secret) = std::env::var(KEY_ENV) {
                if !secret.trim().is_empty() {
                    return PseudonymKey::from_user_secret(&secret)
                        .with_context(|| format!("{KEY_ENV} is not usable"));
                }
            }
        }
        if self.key_file_from_flag && !init && !self.key_file.exists() {
            anyhow::bail!(
                "--key-file {}: no such file; create a key there with `mindpulse init --key-file {0}` \
                 (or copy the key file of the machines that write to this database)",
                self.key_file.display()
            );
        }
        if create {
            let (key, created) = PseudonymKey::load_or_create(&self.key_file)?;
            if created {
                tracing::warn!(
                    "created a new pseudonym key at {} (mode 0600); keep it safe and share it only with machines that write to the same database",
                    self.key_file.display()
                );
            }
            Ok(key)
        } else {
            PseudonymKey::load(&self.key_file)
                .with_context(|| format!("no pseudonym key: run `mindpulse init` or set {KEY_ENV}"))
        }
    }

    /// Refuses to write into `store` with `key` when the database was written with another
    /// pseudonym key (its fingerprint is recorded by the first writer).
    pub async fn check_key(&self, store: &Store, fingerprint: &str) -> anyhow::Result<()> {
        let mine = fingerprint;
        match store.check_key_fingerprint(mine).await? {
            KeyCheck::Same | KeyCheck::Recorded => Ok(()),
            KeyCheck::Different(theirs) => anyhow::bail!(
                "{} was written with another pseudonym key (fingerprint {}…; this one is {}…): \
                 its authors would get a second pseudonym each. Use the key file of the machines \
                 that write to it (--key-file or {KEY_ENV})",
                mindpulse_store::redact_url(&self.db_url),
                &theirs[..theirs.len().min(12)],
                &mine[..mine.len().min(12)]
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bare_path_is_a_sqlite_file() {
        assert_eq!(super::database_url("m.db"), "sqlite://m.db");
        assert_eq!(super::database_url("/srv/m.db"), "sqlite:///srv/m.db");
        assert_eq!(super::database_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(
            super::database_url("postgres://u@h/db"),
            "postgres://u@h/db"
        );
    }
}
