//! The few SQL differences between the three backends, in one place.

use crate::StoreError;
use std::borrow::Cow;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
            Ok(Backend::MySql)
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(crate::redact_url(url)))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::MySql => "mysql",
            Backend::Postgres => "postgres",
        }
    }
}

/// SQL spelling for one backend.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub backend: Backend,
}

impl Dialect {
    pub fn new(backend: Backend) -> Self {
        Dialect { backend }
    }

    /// Rewrites `?` placeholders to `$1, $2, …` for PostgreSQL (the SQL written in this
    /// crate never has `?` inside string literals).
    pub fn sql<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        if self.backend != Backend::Postgres || !sql.contains('?') {
            return Cow::Borrowed(sql);
        }
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
        Cow::Owned(out)
    }

    /// A one-row `INSERT` (already through [`Dialect::sql`]) and how to read the new row's
    /// id in the same transaction: with `RETURNING id` on SQLite and PostgreSQL (the second
    /// value is None), else the statement as is and `LAST_INSERT_ID()` of the connection
    /// on MySQL; never another writer's row.
    pub fn insert_returning_id(&self, insert: &str) -> (String, Option<&'static str>) {
        match self.backend {
            Backend::MySql => (
                insert.to_string(),
                Some("SELECT CAST(LAST_INSERT_ID() AS SIGNED)"),
            ),
            Backend::Sqlite | Backend::Postgres => (format!("{insert} RETURNING id"), None),
        }
    }

    /// `INSERT` prefix that silently skips rows violating a unique key.
    pub fn insert_ignore(&self) -> &'static str {
        match self.backend {
            Backend::MySql => "INSERT IGNORE INTO",
            Backend::Sqlite | Backend::Postgres => "INSERT INTO",
        }
    }

    /// Suffix for [`Dialect::insert_ignore`] with the conflicting key columns.
    pub fn ignore_suffix(&self, key: &str) -> String {
        match self.backend {
            Backend::MySql => String::new(),
            Backend::Sqlite | Backend::Postgres => format!(" ON CONFLICT ({key}) DO NOTHING"),
        }
    }

    /// Upsert suffix updating `cols` from the new row (keeping old values where the new
    /// one is NULL when `coalesce` is set).
    pub fn upsert_suffix(&self, key: &str, table: &str, cols: &[&str], coalesce: bool) -> String {
        match self.backend {
            Backend::MySql => {
                let sets: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        if coalesce {
                            format!("{c} = COALESCE(VALUES({c}), {c})")
                        } else {
                            format!("{c} = VALUES({c})")
                        }
                    })
                    .collect();
                format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", "))
            }
            Backend::Sqlite | Backend::Postgres => {
                let sets: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        if coalesce {
                            format!("{c} = COALESCE(excluded.{c}, {table}.{c})")
                        } else {
                            format!("{c} = excluded.{c}")
                        }
                    })
                    .collect();
                format!(" ON CONFLICT ({key}) DO UPDATE SET {}", sets.join(", "))
            }
        }
    }

    /// Expressions for the UTC day (`YYYY-MM-DD` text), hour and quarter hour (0–3) of a
    /// timestamp column: posts counted per quarter hour can be put on the days of any time
    /// zone.
    pub fn quarter_hour_of(&self, col: &str) -> (String, String, String) {
        match self.backend {
            Backend::Sqlite => (
                format!("substr({col}, 1, 10)"),
                format!("CAST(substr({col}, 12, 2) AS INTEGER)"),
                format!("CAST(substr({col}, 15, 2) AS INTEGER) / 15"),
            ),
            Backend::MySql => (
                format!("CAST(DATE_FORMAT({col}, '%Y-%m-%d') AS CHAR)"),
                format!("CAST(HOUR({col}) AS SIGNED)"),
                format!("CAST(MINUTE({col}) DIV 15 AS SIGNED)"),
            ),
            Backend::Postgres => (
                format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
                format!("CAST(EXTRACT(HOUR FROM {col} AT TIME ZONE 'UTC') AS BIGINT)"),
                format!("CAST(EXTRACT(MINUTE FROM {col} AT TIME ZONE 'UTC') AS BIGINT) / 15"),
            ),
        }
    }

    /// The `rank` column name, quoted where it is a reserved word.
    pub fn rank_col(&self) -> &'static str {
        match self.backend {
            Backend::MySql => "`rank`",
            Backend::Sqlite | Backend::Postgres => "rank",
        }
    }

    /// SQL expression for the database clock as milliseconds since the Unix epoch. Leases
    /// and heartbeats use the database's clock, so workers on machines with skewed clocks
    /// agree on what has expired.
    pub fn now_ms(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Backend::MySql => "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }

    /// The statement that opens a transaction which reads and then writes: SQLite takes
    /// the write lock up front (a deferred transaction that upgrades later fails at once
    /// with SQLITE_BUSY when another process wrote in between).
    pub fn begin_write(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::MySql | Backend::Postgres => "BEGIN",
        }
    }

    /// `column = ?`, compared exactly: on MySQL/MariaDB, whose collation folds case, accents
    /// and width, also against the column's stored binary copy (`<column>_exact`, schema
    /// v7), so the value is bound twice there ([`Dialect::exact_binds_twice`]).
    pub fn exact_eq(&self, column: &str) -> String {
        match self.backend {
            Backend::MySql => format!("{column} = ? AND {column}_exact = CAST(? AS BINARY)"),
            Backend::Sqlite | Backend::Postgres => format!("{column} = ?"),
        }
    }

    /// `column = ?` compared exactly, for a column without a stored binary copy (binds
    /// twice on MySQL/MariaDB too, [`Dialect::exact_binds_twice`]).
    pub fn exact_eq_col(&self, column: &str) -> String {
        match self.backend {
            Backend::MySql => {
                format!("{column} = ? AND CAST({column} AS BINARY) = CAST(? AS BINARY)")
            }
            Backend::Sqlite | Backend::Postgres => format!("{column} = ?"),
        }
    }

    /// Whether [`Dialect::exact_eq`] takes its value twice.
    pub fn exact_binds_twice(&self) -> bool {
        self.backend == Backend::MySql
    }

    /// Most bind parameters one statement may carry.
    pub fn max_params(&self) -> usize {
        match self.backend {
            Backend::Sqlite => 32_000,
            Backend::MySql | Backend::Postgres => 65_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered() {
        let d = Dialect::new(Backend::Postgres);
        assert_eq!(d.sql("a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
        let s = Dialect::new(Backend::Sqlite);
        assert_eq!(s.sql("a = ?"), "a = ?");
    }

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("mysql://root@h/db").unwrap(),
            Backend::MySql
        );
        assert!(Backend::from_url("oracle://x").is_err());
    }
}
