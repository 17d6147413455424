//! Facts about the database itself (`meta`): today the fingerprint of the pseudonym key
//! its posts were written with, so that a writer holding another key is refused instead of
//! silently giving every author a second pseudonym.

use crate::{on_pool, Store, StoreError};

const KEY_FINGERPRINT: &str = "pseudonym_key_fingerprint";

/// What [`Store::check_key_fingerprint`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// The database's key is this one.
    Same,
    /// The database had no fingerprint; this one is now recorded.
    Recorded,
    /// The database was written with another key (its fingerprint).
    Different(String),
}

impl Store {
    /// Compares `fingerprint` with the one stored, recording it when there is none yet
    /// (the first writer wins, also when two start at once).
    pub async fn check_key_fingerprint(&self, fingerprint: &str) -> Result<KeyCheck, StoreError> {
        if let Some(stored) = self.key_fingerprint().await? {
            return Ok(if stored == fingerprint {
                KeyCheck::Same
            } else {
                KeyCheck::Different(stored)
            });
        }
        let d = self.dialect;
        let sql = format!(
            "{} meta (name, value) VALUES (?, ?){}",
            d.insert_ignore(),
            d.ignore_suffix("name")
        );
        let sql = d.sql(&sql);
        on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(KEY_FINGERPRINT)
            .bind(fingerprint)
            .execute(p)
            .await
            .map(|_| ()))?;
        match self.key_fingerprint().await? {
            Some(stored) if stored == fingerprint => Ok(KeyCheck::Recorded),
            Some(stored) => Ok(KeyCheck::Different(stored)),
            None => Err(StoreError::Invalid(
                "the key fingerprint could not be recorded".into(),
            )),
        }
    }

    /// The stored fingerprint of the pseudonym key, if any.
    pub async fn key_fingerprint(&self) -> Result<Option<String>, StoreError> {
        let sql = self.dialect.sql("SELECT value FROM meta WHERE name = ?");
        let v: Option<String> = on_pool!(&self.pool, p => sqlx::query_scalar(&sql)
            .bind(KEY_FINGERPRINT)
            .fetch_optional(p)
            .await?);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    #[tokio::test]
    async fn the_first_key_wins_on_every_backend() {
        for db in TestDb::all().await {
            let name = db.backend.name();
            let store = Store::open(&db.url).await.unwrap();
            assert_eq!(store.key_fingerprint().await.unwrap(), None, "{name}");
            assert_eq!(
                store.check_key_fingerprint("aaaa").await.unwrap(),
                KeyCheck::Recorded,
                "{name}"
            );
            assert_eq!(
                store.check_key_fingerprint("aaaa").await.unwrap(),
                KeyCheck::Same,
                "{name}"
            );
            assert_eq!(
                store.check_key_fingerprint("bbbb").await.unwrap(),
                KeyCheck::Different("aaaa".into()),
                "{name}"
            );
            store.close().await;
            db.drop_db().await;
        }
    }
}
