//! Managers: who they are, the store they manage, and their PIN (only its hash) with the count
//! of wrong PINs that locks it for a while.

use super::backend::{StoreRow, on};
use super::statement::query;
use super::{Store, StoreError};
use sqlx::Connection as _;

/// A manager as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerRow {
    /// Our id for them.
    pub id: String,
    /// Their name.
    pub name: String,
    /// The store they manage; `None` for every store.
    pub store_id: Option<String>,
    /// Their PIN's hash; `None` until their first pairing sets it.
    pub pin_hash: Option<String>,
    /// When they were added.
    pub created_at: i64,
    /// Until when wrong PINs have locked their PIN (ms since the epoch): past, or `None`, it is
    /// not locked.
    pub pin_locked_until: Option<i64>,
}

impl ManagerRow {
    /// Whether wrong PINs have locked their PIN at `now`.
    pub fn pin_locked_at(&self, now: i64) -> bool {
        self.pin_locked_until.is_some_and(|until| until > now)
    }
}

const MANAGER_COLUMNS: &str = "id, name, store_id, pin_hash, created_at, pin_locked_until";

fn manager_row(row: &impl StoreRow) -> Result<ManagerRow, StoreError> {
    Ok(ManagerRow {
        id: row.read("id")?,
        name: row.read("name")?,
        store_id: row.read("store_id")?,
        pin_hash: row.read("pin_hash")?,
        created_at: row.read("created_at")?,
        pin_locked_until: row.read("pin_locked_until")?,
    })
}

/// How wrong PINs are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinLimit {
    /// Attempts in a row that may be wrong; the next one locks.
    pub attempts: i32,
    /// How long a lock lasts (ms).
    pub lock_ms: i64,
}

impl Store {
    /// The manager of this `name` (not revoked), added with `fresh_id` for `store_id` if there is
    /// none. Made and read in one statement each, so two processes adding one name agree.
    pub async fn manager_for_pairing(
        &self,
        name: &str,
        store_id: Option<&str>,
        fresh_id: &str,
        now: i64,
    ) -> Result<ManagerRow, StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "INSERT INTO managers (id, name, store_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING",
            )
            .bind(fresh_id)
            .bind(name)
            .bind(store_id)
            .bind(now)
            .execute(&mut *db)
            .await?;
            let row = query(&format!(
                "SELECT {MANAGER_COLUMNS} FROM managers WHERE name = $1 AND revoked_at IS NULL"
            ))
            .bind(name)
            .fetch_one(&mut *db)
            .await?;
            manager_row(&row)
        })
    }

    /// A manager by id, unless revoked.
    pub async fn manager(&self, id: &str) -> Result<Option<ManagerRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!(
                "SELECT {MANAGER_COLUMNS} FROM managers WHERE id = $1 AND revoked_at IS NULL"
            ))
            .bind(id)
            .fetch_optional(&mut *db)
            .await?;
            row.as_ref().map(manager_row).transpose()
        })
    }

    /// The manager of this name, unless revoked.
    pub async fn manager_by_name(&self, name: &str) -> Result<Option<ManagerRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!(
                "SELECT {MANAGER_COLUMNS} FROM managers WHERE name = $1 AND revoked_at IS NULL"
            ))
            .bind(name)
            .fetch_optional(&mut *db)
            .await?;
            row.as_ref().map(manager_row).transpose()
        })
    }

    /// Removes the manager `id` and ends their sessions, in one transaction; false if there was
    /// no such manager. Their name is free again.
    pub async fn revoke_manager(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let mut tx = db.begin().await?;
            let revoked = query("UPDATE managers SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            query("UPDATE sessions SET revoked_at = $1 WHERE role = 'manager' AND till_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(revoked.rows_affected() == 1)
        })
    }

    /// Every manager not revoked, by name.
    pub async fn managers(&self) -> Result<Vec<ManagerRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {MANAGER_COLUMNS} FROM managers WHERE revoked_at IS NULL ORDER BY name"
            ))
            .fetch_all(&mut *db)
            .await?;
            rows.iter().map(manager_row).collect()
        })
    }

    /// Sets a manager's PIN hash if they have none yet, as they pair with the pairing code
    /// `code_hash`; true if it was set. Their other unused codes (stored for `id` in `role`) are
    /// spent with it: made while they were being added, by whoever added them, they would
    /// otherwise open a session as them, with no PIN asked, after they had chosen theirs.
    pub async fn set_pin_once(
        &self,
        (id, role): (&str, &str),
        pin_hash: &str,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let mut tx = db.begin().await?;
            let set = query("UPDATE managers SET pin_hash = $1 WHERE id = $2 AND pin_hash IS NULL")
                .bind(pin_hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if set.rows_affected() != 1 {
                return Ok(false);
            }
            query(
                "UPDATE pairing_codes SET used_at = $1 \
                 WHERE till_id = $2 AND role = $3 AND used_at IS NULL AND code_hash <> $4",
            )
            .bind(now)
            .bind(id)
            .bind(role)
            .bind(code_hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Counts a PIN attempt before it is checked, so a burst of guesses sent at once is counted
    /// whole. Returns `None` when the attempt may be checked, or when the PIN is locked until.
    /// The attempt after `limit.attempts` counted ones locks it for `limit.lock_ms`; a lock that
    /// has passed starts the count again.
    pub async fn count_pin_attempt(
        &self,
        id: &str,
        limit: PinLimit,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            // Every SET expression reads the row as it was, in both databases.
            let row = query(
                "UPDATE managers SET \
                   pin_failures = CASE WHEN COALESCE(pin_locked_until, 0) > $1 THEN pin_failures \
                                       WHEN pin_failures + 1 > $2 THEN 0 ELSE pin_failures + 1 END, \
                   pin_locked_until = CASE WHEN COALESCE(pin_locked_until, 0) > $1 THEN pin_locked_until \
                                           WHEN pin_failures + 1 > $2 THEN $3 ELSE NULL END \
                 WHERE id = $4 RETURNING pin_locked_until",
            )
            .bind(now)
            .bind(limit.attempts)
            .bind(now.saturating_add(limit.lock_ms))
            .bind(id)
            .fetch_optional(&mut *db)
            .await?;
            let locked_until: Option<i64> = match row {
                Some(row) => row.read("pin_locked_until")?,
                None => None,
            };
            Ok(locked_until.filter(|until| *until > now))
        })
    }

    /// Gives back a manager's counted attempts: the PIN was right.
    pub async fn clear_pin_attempts(&self, id: &str) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query("UPDATE managers SET pin_failures = 0 WHERE id = $1").bind(id).execute(&mut *db).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: PinLimit = PinLimit { attempts: 3, lock_ms: 1_000 };

    #[tokio::test]
    async fn a_managers_name_is_added_once_and_a_revoked_name_can_be_used_again() {
        for store in crate::store::testing::stores().await {
            let ola = store.manager_for_pairing("Ola", Some("oslo"), "m-1", 0).await.unwrap();
            assert_eq!((ola.id.as_str(), ola.store_id.as_deref()), ("m-1", Some("oslo")));
            let again = store.manager_for_pairing("Ola", None, "m-2", 1).await.unwrap();
            assert_eq!(again, ola, "the same manager, as first added");
            assert_eq!(store.manager("m-1").await.unwrap(), Some(ola));
            assert_eq!(store.manager("m-2").await.unwrap(), None);
            assert_eq!(store.managers().await.unwrap().len(), 1);
            assert_eq!(store.manager_by_name("Ola").await.unwrap().map(|m| m.id), Some("m-1".into()));

            store.insert_session("s-ola", "m-1", "manager", 2).await.unwrap();
            store.insert_session("s-till", "m-1", "till", 2).await.unwrap();
            assert!(store.revoke_manager("m-1", 3).await.unwrap());
            assert!(!store.revoke_manager("m-1", 4).await.unwrap(), "once");
            assert_eq!(store.manager("m-1").await.unwrap(), None);
            assert_eq!(
                store.session("s-ola").await.unwrap().unwrap().revoked_at,
                Some(3),
                "their session ends"
            );
            assert_eq!(store.session("s-till").await.unwrap().unwrap().revoked_at, None, "a till's does not");
            let new = store.manager_for_pairing("Ola", None, "m-3", 5).await.unwrap();
            assert_eq!(new.id, "m-3", "the name is free again");
        }
    }

    #[tokio::test]
    async fn a_pin_is_set_once() {
        for store in crate::store::testing::stores().await {
            store.manager_for_pairing("Kari", None, "m-1", 0).await.unwrap();
            assert!(store.set_pin_once(("m-1", "manager"), "hash-1", "code-1", 5).await.unwrap());
            assert!(!store.set_pin_once(("m-1", "manager"), "hash-2", "code-2", 6).await.unwrap());
            assert_eq!(store.manager("m-1").await.unwrap().unwrap().pin_hash.as_deref(), Some("hash-1"));
        }
    }

    #[tokio::test]
    async fn wrong_pins_lock_after_the_limit_until_the_lock_passes_and_a_right_one_clears_the_count() {
        for store in crate::store::testing::stores().await {
            store.manager_for_pairing("Kari", None, "m-1", 0).await.unwrap();
            for n in 0..3 {
                assert_eq!(store.count_pin_attempt("m-1", LIMIT, 10).await.unwrap(), None, "attempt {n}");
            }
            assert_eq!(store.count_pin_attempt("m-1", LIMIT, 10).await.unwrap(), Some(1_010), "the fourth");
            assert_eq!(
                store.count_pin_attempt("m-1", LIMIT, 500).await.unwrap(),
                Some(1_010),
                "still locked"
            );
            assert_eq!(store.count_pin_attempt("m-1", LIMIT, 1_010).await.unwrap(), None, "the lock passed");
            store.count_pin_attempt("m-1", LIMIT, 1_011).await.unwrap();
            store.clear_pin_attempts("m-1").await.unwrap();
            for n in 0..3 {
                assert_eq!(store.count_pin_attempt("m-1", LIMIT, 1_020).await.unwrap(), None, "again {n}");
            }
            assert!(store.count_pin_attempt("m-1", LIMIT, 1_020).await.unwrap().is_some());
            assert_eq!(store.count_pin_attempt("nobody", LIMIT, 0).await.unwrap(), None, "no such manager");
        }
    }
}
