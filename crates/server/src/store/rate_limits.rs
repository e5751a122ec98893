//! Rate-limited attempts shared by every instance on one PostgreSQL database (see
//! `crate::limits::SharedLimiter`): one row per counted attempt, its key hashed, looked at and
//! counted under a lock on the key so two instances cannot both let the last one in.

use super::statement::{query, query_as};
use sha2::{Digest as _, Sha256};
use sqlx::Connection as _;

use super::backend::{Backend, on};
use super::{Store, StoreError};

/// What a shared limit is: its name, and how many attempts per how long.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The limit's name, e.g. `pairing`.
    pub scope: &'static str,
    /// At most this many attempts…
    pub max: i64,
    /// …in any this many milliseconds.
    pub ms: i64,
}

fn hashed(key: &str) -> String {
    crate::hex(&Sha256::digest(key.as_bytes()))
}

impl Store {
    /// Looks at `key`'s attempts in the window ending at `now` and, if another is allowed and
    /// `count` says so, counts one. `Err(ms)` is how long until one is allowed again.
    pub async fn rate_attempt(
        &self,
        window: Window,
        key: &str,
        now: i64,
        count: bool,
    ) -> Result<Result<(), i64>, StoreError> {
        let key = hashed(key);
        on!(self.db().await?.conn(), |db| {
            let mut tx = db.begin().await?;
            if let Backend::Postgres(_) = &self.pool {
                query("SELECT pg_advisory_xact_lock(hashtextextended('rate:' || $1 || ':' || $2, 0))")
                    .bind(window.scope)
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
            }
            query("DELETE FROM rate_attempts WHERE scope = $1 AND key_hash = $2 AND at <= $3")
                .bind(window.scope)
                .bind(&key)
                .bind(now - window.ms)
                .execute(&mut *tx)
                .await?;
            let (attempts, oldest): (i64, Option<i64>) =
                query_as("SELECT COUNT(*), MIN(at) FROM rate_attempts WHERE scope = $1 AND key_hash = $2")
                    .bind(window.scope)
                    .bind(&key)
                    .fetch_one(&mut *tx)
                    .await?;
            if attempts >= window.max {
                tx.commit().await?;
                return Ok(Err(oldest.unwrap_or(now) + window.ms - now));
            }
            if count {
                query("INSERT INTO rate_attempts (scope, key_hash, at) VALUES ($1, $2, $3)")
                    .bind(window.scope)
                    .bind(&key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(Ok(()))
        })
    }

    /// Counts an attempt for `key` at `now`, whatever the count.
    pub async fn rate_record(&self, scope: &'static str, key: &str, now: i64) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query("INSERT INTO rate_attempts (scope, key_hash, at) VALUES ($1, $2, $3)")
                .bind(scope)
                .bind(hashed(key))
                .bind(now)
                .execute(&mut *db)
                .await?;
            Ok(())
        })
    }

    /// Takes back one attempt counted for `key` at `at`.
    pub async fn rate_release(&self, scope: &'static str, key: &str, at: i64) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "DELETE FROM rate_attempts WHERE id = (SELECT MAX(id) FROM rate_attempts \
                 WHERE scope = $1 AND key_hash = $2 AND at = $3)",
            )
            .bind(scope)
            .bind(hashed(key))
            .bind(at)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }

    /// Forgets the attempts counted before `before_ms`, which the reconciler sets to the longest
    /// window ago (`crate::limits::LONGEST_WINDOW_MS`): an attempt no window can count any more
    /// is only a trace of who was asked to pay (a phone number's hash can be reversed by trying
    /// every number), so it goes as soon as it stops counting, not after the retention.
    pub async fn forget_rate_attempts(&self, before_ms: i64) -> Result<u64, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query("DELETE FROM rate_attempts WHERE at < $1")
                .bind(before_ms)
                .execute(&mut *db)
                .await?
                .rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row as _;

    use super::*;

    const PAIRING: Window = Window { scope: "pairing", max: 2, ms: 60_000 };

    #[tokio::test]
    async fn a_shared_window_counts_attempts_refuses_past_the_limit_and_frees_up_as_it_slides() {
        for store in crate::store::testing::stores().await {
            assert_eq!(store.rate_attempt(PAIRING, "10.0.0.1", 1_000, true).await.unwrap(), Ok(()));
            assert_eq!(store.rate_attempt(PAIRING, "10.0.0.1", 2_000, true).await.unwrap(), Ok(()));
            assert_eq!(store.rate_attempt(PAIRING, "10.0.0.1", 3_000, true).await.unwrap(), Err(58_000));
            assert_eq!(
                store.rate_attempt(PAIRING, "10.0.0.2", 3_000, false).await.unwrap(),
                Ok(()),
                "per key"
            );
            store.rate_release("pairing", "10.0.0.1", 2_000).await.unwrap();
            assert_eq!(
                store.rate_attempt(PAIRING, "10.0.0.1", 3_000, true).await.unwrap(),
                Ok(()),
                "given back"
            );
            assert_eq!(store.rate_attempt(PAIRING, "10.0.0.1", 61_000, true).await.unwrap(), Ok(()), "slid");
            store.rate_record("pairing", "10.0.0.1", 61_500).await.unwrap();
            assert!(store.rate_attempt(PAIRING, "10.0.0.1", 61_600, false).await.unwrap().is_err());
        }
    }

    #[tokio::test]
    async fn attempts_no_window_counts_any_more_are_forgotten_and_the_others_still_count() {
        for store in crate::store::testing::stores().await {
            store.rate_record("pairing", "10.0.0.1", 1_000).await.unwrap();
            store.rate_record("pairing", "10.0.0.2", 1_000).await.unwrap();
            store.rate_record("pairing", "10.0.0.1", 70_000).await.unwrap();
            store.rate_record("pairing", "10.0.0.1", 71_000).await.unwrap();
            assert_eq!(store.forget_rate_attempts(70_000).await.unwrap(), 2, "the two before the cut");
            let left: i64 =
                on!(store.db().await.unwrap().conn(), |db| query("SELECT COUNT(*) FROM rate_attempts")
                    .fetch_one(&mut *db)
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap());
            assert_eq!(left, 2);
            assert!(
                store.rate_attempt(PAIRING, "10.0.0.1", 72_000, false).await.unwrap().is_err(),
                "the attempts still in the window still count"
            );
        }
    }

    #[tokio::test]
    async fn instances_racing_for_the_last_attempt_let_exactly_the_limit_in() {
        let Some(url) = crate::store::testing::fresh_postgres_database().await else { return };
        let a = Store::open(&url).await.unwrap();
        let b = Store::open(&url).await.unwrap();
        let tries = (0..20).map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.rate_attempt(PAIRING, "10.0.0.9", 1_000, true).await.unwrap() })
        });
        let outcomes = futures_util::future::join_all(tries).await;
        let allowed = outcomes.into_iter().filter(|outcome| matches!(outcome, Ok(Ok(())))).count();
        assert_eq!(allowed, 2);
    }
}
