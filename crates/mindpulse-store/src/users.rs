//! The accounts read model of the web interface (`mindpulse serve`): a unique name, a role
//! (viewer, reviewer, admin) and the password as an Argon2id PHC string, hashed by the
//! caller. The password itself never reaches the store.

use crate::{on_pool, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One account.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// The Argon2id PHC string (never serialized).
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str = "id, name, role, password_hash, created_at";

impl Store {
    /// Adds an account; false when the name is taken (nothing changes then).
    pub async fn add_user(
        &self,
        name: &str,
        role: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        if self.user(name).await?.is_some() {
            return Ok(false);
        }
        let sql = self
            .dialect
            .sql("INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)");
        let n = on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(name)
            .bind(role)
            .bind(password_hash)
            .bind(Utc::now())
            .execute(p)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// The account of `name`, if any.
    pub async fn user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = self
            .dialect
            .sql(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?"))
            .into_owned();
        Ok(on_pool!(&self.pool, p => sqlx::query_as(&sql).bind(name).fetch_optional(p).await?))
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        Ok(on_pool!(&self.pool, p => sqlx::query_as(&sql).fetch_all(p).await?))
    }

    /// Sets the role and/or the password hash of `name`; false when there is no such account.
    pub async fn update_user(
        &self,
        name: &str,
        role: Option<&str>,
        password_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let Some(current) = self.user(name).await? else {
            return Ok(false);
        };
        let sql = self
            .dialect
            .sql("UPDATE users SET role = ?, password_hash = ? WHERE id = ?");
        on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(role.unwrap_or(&current.role))
            .bind(password_hash.unwrap_or(&current.password_hash))
            .bind(current.id)
            .execute(p)
            .await
            .map(|_| ())?);
        Ok(true)
    }

    /// Removes the account of `name`; false when there was none.
    pub async fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let sql = self.dialect.sql("DELETE FROM users WHERE name = ?");
        let n = on_pool!(&self.pool, p => sqlx::query(&sql)
            .bind(name)
            .execute(p)
            .await?
            .rows_affected());
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestDb;
    use crate::Store;

    async fn suite(db: &TestDb) {
        let name = db.backend.name();
        let store = Store::open(&db.url).await.unwrap();
        assert!(
            store
                .add_user("lin", "viewer", "$argon2id$x")
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store.add_user("lin", "admin", "$argon2id$y").await.unwrap(),
            "{name}"
        );
        assert!(
            store
                .add_user("ann", "reviewer", "$argon2id$z")
                .await
                .unwrap(),
            "{name}"
        );
        let lin = store.user("lin").await.unwrap().unwrap();
        assert_eq!(
            (lin.role.as_str(), lin.password_hash.as_str()),
            ("viewer", "$argon2id$x"),
            "{name}"
        );
        assert!(store.user("nobody").await.unwrap().is_none(), "{name}");
        let names: Vec<String> = store
            .users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["ann", "lin"], "{name}");
        assert!(
            store
                .update_user("lin", Some("reviewer"), None)
                .await
                .unwrap(),
            "{name}"
        );
        let lin = store.user("lin").await.unwrap().unwrap();
        assert_eq!(
            (lin.role.as_str(), lin.password_hash.as_str()),
            ("reviewer", "$argon2id$x"),
            "{name}"
        );
        assert!(
            !store
                .update_user("nobody", Some("admin"), None)
                .await
                .unwrap(),
            "{name}"
        );
        // The hash is never serialized.
        assert!(
            !serde_json::to_string(&lin).unwrap().contains("argon2"),
            "{name}"
        );
        assert!(store.remove_user("lin").await.unwrap(), "{name}");
        assert!(!store.remove_user("lin").await.unwrap(), "{name}");
        assert_eq!(store.users().await.unwrap().len(), 1, "{name}");
        store.close().await;
    }

    #[tokio::test]
    async fn users_on_every_backend() {
        crate::on_every_backend!(suite);
    }
}
