//! Errors of the store.

/// Anything that can go wrong talking to the database. The message already says what the
/// driver said (no separate `source`), so a printed chain of causes names it once.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: expected sqlite://PATH, mysql://USER@HOST/DB or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: sqlx::Error },
    #[error("{0}")]
    NoDatabase(String),
    #[error("migrating the schema failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(sqlx::Error),
    #[error("invalid value in the database: {0}")]
    Invalid(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Sql(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

impl StoreError {
    pub(crate) fn connect(url: &str, cause: sqlx::Error) -> Self {
        StoreError::Connect {
            url: url.to_string(),
            cause,
        }
    }
}

impl StoreError {
    /// True for errors that a retry of the same transaction may not hit again: deadlocks,
    /// lock wait timeouts, serialization failures, a busy SQLite file, and a connection the
    /// server closed (a restart, an administrator's kill).
    pub fn is_retryable(&self) -> bool {
        let StoreError::Sql(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                matches!(
                    code.as_str(),
                    // PostgreSQL: serialization failure, deadlock, admin shutdown/termination.
                    "40001" | "40P01" | "57P01" | "57P02" | "57P03"
                    // MySQL/MariaDB SQLSTATE for deadlock; lock wait timeout reports HY000;
                    // a connection killed by an administrator.
                    | "40000" | "70100"
                    // Connection failures (both servers).
                    | "08S01" | "08006" | "08003"
                    // SQLite: busy, locked (primary result codes).
                    | "5" | "6" | "517" | "261" | "262"
                ) || db.message().contains("Deadlock found")
                    || db.message().contains("Lock wait timeout")
                    || db.message().contains("Connection was killed")
            }
            _ => false,
        }
    }
}
