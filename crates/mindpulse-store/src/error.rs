//! Errors of the store.

/// Anything that can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: expected sqlite://PATH, mysql://USER@HOST/DB or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrating the schema failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("invalid value in the database: {0}")]
    Invalid(String),
}

impl StoreError {
    pub(crate) fn connect(url: &str, source: sqlx::Error) -> Self {
        StoreError::Connect {
            url: url.to_string(),
            source,
        }
    }
}
