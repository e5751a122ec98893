//! Integrators (the PoS systems that use the terminal API): their keys, kept only as hashes, the
//! stores each may act in, and the write requests each made by Idempotency-Key.

use super::statement::query;
use sqlx::Connection as _;
use sqlx::Row as _;

use super::backend::{StoreRow, on};
use super::{Store, StoreError};

/// An integrator as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegratorRow {
    /// Our id for it, e.g. `int-4f1c2a9b`.
    pub id: String,
    /// The name the operator gave it (unique).
    pub name: String,
    /// SHA-256 of its API key (hex).
    pub key_hash: String,
    /// Where its callbacks go; `None` when it only polls.
    pub callback_url: Option<String>,
    /// The secret its callbacks are signed with.
    pub callback_secret: String,
    /// When it was added.
    pub created_at: i64,
    /// When its key was last used, to about a minute.
    pub last_used_at: Option<i64>,
    /// When the operator revoked its key.
    pub revoked_at: Option<i64>,
    /// The ids of the stores it may act in, sorted.
    pub stores: Vec<String>,
}

/// What an Idempotency-Key held when a write request named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Never used: it now names this request.
    First,
    /// Used before for this same request: the request is a retry.
    Again,
    /// Used before for another request.
    Reused,
}

const INTEGRATOR_COLUMNS: &str =
    "id, name, key_hash, callback_url, callback_secret, created_at, last_used_at, revoked_at";

fn integrator_row(row: &impl StoreRow, stores: Vec<String>) -> Result<IntegratorRow, StoreError> {
    Ok(IntegratorRow {
        id: row.read("id")?,
        name: row.read("name")?,
        key_hash: row.read("key_hash")?,
        callback_url: row.read("callback_url")?,
        callback_secret: row.read("callback_secret")?,
        created_at: row.read("created_at")?,
        last_used_at: row.read("last_used_at")?,
        revoked_at: row.read("revoked_at")?,
        stores,
    })
}

impl Store {
    /// Adds an integrator and its stores, in one transaction.
    pub async fn insert_integrator(&self, integrator: &IntegratorRow) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            let mut tx = db.begin().await?;
            query(&format!(
                "INSERT INTO integrators ({INTEGRATOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(&integrator.id)
            .bind(&integrator.name)
            .bind(&integrator.key_hash)
            .bind(&integrator.callback_url)
            .bind(&integrator.callback_secret)
            .bind(integrator.created_at)
            .bind(integrator.last_used_at)
            .bind(integrator.revoked_at)
            .execute(&mut *tx)
            .await?;
            for store in &integrator.stores {
                query("INSERT INTO integrator_stores (integrator_id, store_id) VALUES ($1, $2)")
                    .bind(&integrator.id)
                    .bind(store)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The integrator whose key hashes to `key_hash`, revoked or not.
    pub async fn integrator_by_key(&self, key_hash: &str) -> Result<Option<IntegratorRow>, StoreError> {
        self.integrator_where("key_hash", key_hash).await
    }

    /// The integrator with this id.
    pub async fn integrator(&self, id: &str) -> Result<Option<IntegratorRow>, StoreError> {
        self.integrator_where("id", id).await
    }

    /// The integrator with this name.
    pub async fn integrator_by_name(&self, name: &str) -> Result<Option<IntegratorRow>, StoreError> {
        self.integrator_where("name", name).await
    }

    async fn integrator_where(&self, column: &str, value: &str) -> Result<Option<IntegratorRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let Some(row) =
                query(&format!("SELECT {INTEGRATOR_COLUMNS} FROM integrators WHERE {column} = $1"))
                    .bind(value)
                    .fetch_optional(&mut *db)
                    .await?
            else {
                return Ok(None);
            };
            let id: String = row.try_get("id")?;
            let stores =
                query("SELECT store_id FROM integrator_stores WHERE integrator_id = $1 ORDER BY store_id")
                    .bind(&id)
                    .fetch_all(&mut *db)
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?;
            Ok(Some(integrator_row(&row, stores)?))
        })
    }

    /// Every integrator, revoked ones too, by name.
    pub async fn integrators(&self) -> Result<Vec<IntegratorRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!("SELECT {INTEGRATOR_COLUMNS} FROM integrators ORDER BY name"))
                .fetch_all(&mut *db)
                .await?;
            let pairs = query("SELECT integrator_id, store_id FROM integrator_stores ORDER BY store_id")
                .fetch_all(&mut *db)
                .await?;
            let mut integrators = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: String = row.try_get("id")?;
                let mut stores = Vec::new();
                for pair in &pairs {
                    if pair.try_get::<String, _>(0)? == id {
                        stores.push(pair.try_get(1)?);
                    }
                }
                integrators.push(integrator_row(row, stores)?);
            }
            Ok(integrators)
        })
    }

    /// Revokes the named integrator's key; `false` if there is no such integrator or it was
    /// revoked already.
    pub async fn revoke_integrator(&self, name: &str, now: i64) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let done = query("UPDATE integrators SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(name)
                .execute(&mut *db)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Notes that an integrator's key was used now.
    pub async fn note_integrator_use(&self, id: &str, now: i64) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query("UPDATE integrators SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *db)
                .await?;
            Ok(())
        })
    }

    /// Records that an integrator's write request named `key`, unless the key named one before:
    /// then says whether that was this same request (by `request_hash`) or another.
    pub async fn use_idempotency_key(
        &self,
        integrator_id: &str,
        key: &str,
        request_hash: &str,
        now: i64,
    ) -> Result<KeyUse, StoreError> {
        Ok(self.use_idempotency_key_since(integrator_id, key, request_hash, now).await?.0)
    }

    /// [`Store::use_idempotency_key`], and since when the key has named its request (`now` when
    /// it never named one; its first use when it did).
    pub async fn use_idempotency_key_since(
        &self,
        integrator_id: &str,
        key: &str,
        request_hash: &str,
        now: i64,
    ) -> Result<(KeyUse, i64), StoreError> {
        on!(self.db().await?.conn(), |db| {
            let inserted = query(
                "INSERT INTO terminal_requests (integrator_id, idempotency_key, request_hash, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (integrator_id, idempotency_key) DO NOTHING",
            )
            .bind(integrator_id)
            .bind(key)
            .bind(request_hash)
            .bind(now)
            .execute(&mut *db)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok((KeyUse::First, now));
            }
            let earlier = query(
                "SELECT request_hash, created_at FROM terminal_requests WHERE integrator_id = $1 AND idempotency_key = $2",
            )
            .bind(integrator_id)
            .bind(key)
            .fetch_one(&mut *db)
            .await?;
            let (hash, since): (String, i64) = (earlier.try_get(0)?, earlier.try_get(1)?);
            Ok((if hash == request_hash { KeyUse::Again } else { KeyUse::Reused }, since))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integrator(id: &str, name: &str, stores: &[&str]) -> IntegratorRow {
        IntegratorRow {
            id: id.to_owned(),
            name: name.to_owned(),
            key_hash: format!("hash-of-{id}"),
            callback_url: Some("https://pos.example/callbacks".to_owned()),
            callback_secret: "secret".to_owned(),
            created_at: 1_000,
            last_used_at: None,
            revoked_at: None,
            stores: stores.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[tokio::test]
    async fn an_integrator_is_found_by_its_key_with_its_stores_until_revoked() {
        for store in crate::store::testing::stores().await {
            let pos = integrator("int-1", "Acme PoS", &["oslo", "bergen"]);
            store.insert_integrator(&pos).await.unwrap();
            store.insert_integrator(&integrator("int-2", "Other", &["oslo"])).await.unwrap();

            let found = store.integrator_by_key("hash-of-int-1").await.unwrap().unwrap();
            assert_eq!(found.stores, ["bergen", "oslo"]);
            assert_eq!(found.name, "Acme PoS");
            assert_eq!(store.integrator_by_key("hash-of-nobody").await.unwrap(), None);
            assert_eq!(store.integrators().await.unwrap().len(), 2);
            assert!(
                store.insert_integrator(&integrator("int-3", "Acme PoS", &[])).await.is_err(),
                "names are unique"
            );

            assert!(store.revoke_integrator("Acme PoS", 2_000).await.unwrap());
            assert!(!store.revoke_integrator("Acme PoS", 3_000).await.unwrap(), "once");
            let revoked = store.integrator("int-1").await.unwrap().unwrap();
            assert_eq!(revoked.revoked_at, Some(2_000));
        }
    }

    #[tokio::test]
    async fn an_idempotency_key_names_one_request_of_one_integrator() {
        for store in crate::store::testing::stores().await {
            let use_key = |integrator: &'static str, key: &'static str, hash: &'static str| {
                let store = store.clone();
                async move { store.use_idempotency_key(integrator, key, hash, 1).await.unwrap() }
            };
            assert_eq!(use_key("int-1", "k1", "h1").await, KeyUse::First);
            assert_eq!(use_key("int-1", "k1", "h1").await, KeyUse::Again);
            assert_eq!(use_key("int-1", "k1", "h2").await, KeyUse::Reused);
            assert_eq!(use_key("int-2", "k1", "h2").await, KeyUse::First, "keys are per integrator");
            let since = store.use_idempotency_key_since("int-1", "k1", "h1", 5).await.unwrap();
            assert_eq!(since, (KeyUse::Again, 1), "named its request since its first use");
            assert_eq!(
                store.use_idempotency_key_since("int-1", "k2", "h1", 5).await.unwrap(),
                (KeyUse::First, 5)
            );
        }
    }
}
