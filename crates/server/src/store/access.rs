//! Pairing codes and sessions of tills, displays and managers, stored only as hashes, and the key
//! the codes are hashed under. A manager's code or session holds the manager's id in `till_id`.

use super::statement::query;
use sqlx::Row as _;

use super::backend::StoreRow;
use super::backend::on;
use super::{Store, StoreError};

/// A session as stored: a till's or a display's, live or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the session token (hex).
    pub token_hash: String,
    /// The till it opens.
    pub till_id: String,
    /// `till`, `display` or `manager`.
    pub role: String,
    /// When it was paired.
    pub created_at: i64,
    /// When it was last used, to about a minute.
    pub last_seen_at: i64,
    /// When the operator ended it.
    pub revoked_at: Option<i64>,
}

const SESSION_COLUMNS: &str = "token_hash, till_id, role, created_at, last_seen_at, revoked_at";

fn session_row(row: &impl StoreRow) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        token_hash: row.read("token_hash")?,
        till_id: row.read("till_id")?,
        role: row.read("role")?,
        created_at: row.read("created_at")?,
        last_seen_at: row.read("last_seen_at")?,
        revoked_at: row.read("revoked_at")?,
    })
}

impl Store {
    /// Stores a pairing code's hash.
    pub async fn insert_pairing_code(
        &self,
        code_hash: &str,
        till_id: &str,
        role: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "INSERT INTO pairing_codes (code_hash, till_id, role, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(code_hash)
            .bind(till_id)
            .bind(role)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }

    /// A pairing code's till (or manager) and role if it is unused and unexpired, leaving it so.
    pub async fn pairing_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(
                "SELECT till_id, role FROM pairing_codes WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(code_hash)
            .bind(now)
            .fetch_optional(&mut *db)
            .await?;
            row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
        })
    }

    /// Uses a pairing code: returns its till and role if it was unused and unexpired, and marks it
    /// used in the same statement, so two browsers can never both use one code.
    pub async fn use_pairing_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(
                "UPDATE pairing_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $3 \
                 RETURNING till_id, role",
            )
            .bind(now)
            .bind(code_hash)
            .bind(now)
            .fetch_optional(&mut *db)
            .await?;
            row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
        })
    }

    /// The server's key named `name`, made from `fresh` the first time it is asked for. Made and
    /// read in one statement each, so two processes asking at once agree on one key.
    pub async fn server_key(&self, name: &str, fresh: &[u8], now: i64) -> Result<Vec<u8>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(fresh)
            .bind(now)
            .execute(&mut *db)
            .await?;
            let row = query("SELECT secret FROM server_keys WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *db)
                .await?;
            Ok(row.try_get(0)?)
        })
    }

    /// Stores a new session's hash, used now.
    pub async fn insert_session(
        &self,
        token_hash: &str,
        till_id: &str,
        role: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "INSERT INTO sessions (token_hash, till_id, role, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(till_id)
            .bind(role)
            .bind(now)
            .bind(now)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }

    /// A session by its token's hash, whatever its state.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"))
                .bind(token_hash)
                .fetch_optional(&mut *db)
                .await?;
            row.as_ref().map(session_row).transpose()
        })
    }

    /// Notes that a session was used at `now`, unless a use after `noted_since` is noted
    /// already: many requests in a minute cost one write.
    pub async fn touch_session(
        &self,
        token_hash: &str,
        now: i64,
        noted_since: i64,
    ) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at <= $3")
                .bind(now)
                .bind(token_hash)
                .bind(noted_since)
                .execute(&mut *db)
                .await?;
            Ok(())
        })
    }

    /// Sessions neither revoked nor ended: paired after `paired_after` and used after
    /// `used_after`, by till and then pairing time.
    pub async fn live_sessions(
        &self,
        paired_after: i64,
        used_after: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions \
                 WHERE revoked_at IS NULL AND created_at > $1 AND last_seen_at > $2 ORDER BY till_id, created_at"
            ))
            .bind(paired_after)
            .bind(used_after)
            .fetch_all(&mut *db)
            .await?;
            rows.iter().map(session_row).collect()
        })
    }

    /// Revokes the unrevoked sessions whose token hash starts with `prefix`; returns them.
    pub async fn revoke_sessions_by_prefix(
        &self,
        prefix: &str,
        now: i64,
    ) -> Result<Vec<SessionRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "UPDATE sessions SET revoked_at = $1 \
                 WHERE revoked_at IS NULL AND substr(token_hash, 1, $2) = $3 RETURNING {SESSION_COLUMNS}"
            ))
            .bind(now)
            // An INTEGER: PostgreSQL's substr takes no BIGINT length.
            .bind(i32::try_from(prefix.len()).unwrap_or(i32::MAX))
            .bind(prefix)
            .fetch_all(&mut *db)
            .await?;
            rows.iter().map(session_row).collect()
        })
    }

    /// Revokes every unrevoked session of a till; returns them.
    pub async fn revoke_till_sessions(&self, till_id: &str, now: i64) -> Result<Vec<SessionRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL AND till_id = $2 RETURNING {SESSION_COLUMNS}"
            ))
            .bind(now)
            .bind(till_id)
            .fetch_all(&mut *db)
            .await?;
            rows.iter().map(session_row).collect()
        })
    }

    /// The token hashes of sessions revoked after `since`.
    pub async fn sessions_revoked_since(&self, since: i64) -> Result<Vec<String>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query("SELECT token_hash FROM sessions WHERE revoked_at > $1")
                .bind(since)
                .fetch_all(&mut *db)
                .await?;
            rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn stores_with_sessions() -> Vec<Store> {
        let stores = crate::store::testing::stores().await;
        for store in &stores {
            store.insert_session("aaaa1111", "till-1", "till", 1_000).await.unwrap();
            store.insert_session("aaaa2222", "till-1", "display", 2_000).await.unwrap();
            store.insert_session("bbbb3333", "till-2", "till", 3_000).await.unwrap();
        }
        stores
    }

    #[tokio::test]
    async fn a_session_is_noted_as_used_at_most_once_in_a_while() {
        for store in stores_with_sessions().await {
            store.touch_session("aaaa1111", 50_000, 999).await.unwrap();
            assert_eq!(
                store.session("aaaa1111").await.unwrap().unwrap().last_seen_at,
                1_000,
                "noted recently"
            );
            store.touch_session("aaaa1111", 70_000, 10_000).await.unwrap();
            assert_eq!(store.session("aaaa1111").await.unwrap().unwrap().last_seen_at, 70_000);
        }
    }

    #[tokio::test]
    async fn revoking_by_device_or_till_ends_only_those_sessions_and_lists_them_once() {
        for store in stores_with_sessions().await {
            let one = store.revoke_sessions_by_prefix("aaaa2", 5_000).await.unwrap();
            assert_eq!(one.iter().map(|s| s.token_hash.as_str()).collect::<Vec<_>>(), ["aaaa2222"]);
            assert_eq!(one[0].revoked_at, Some(5_000));
            let till = store.revoke_till_sessions("till-1", 6_000).await.unwrap();
            assert_eq!(till.iter().map(|s| s.token_hash.as_str()).collect::<Vec<_>>(), ["aaaa1111"]);
            assert!(store.revoke_till_sessions("till-1", 7_000).await.unwrap().is_empty(), "already ended");
            let live = store.live_sessions(0, 0).await.unwrap();
            assert_eq!(live.iter().map(|s| s.token_hash.as_str()).collect::<Vec<_>>(), ["bbbb3333"]);
            assert_eq!(store.sessions_revoked_since(5_500).await.unwrap(), ["aaaa1111"]);
        }
    }

    #[tokio::test]
    async fn a_server_key_is_made_once_and_then_always_read_back() {
        for store in crate::store::testing::stores().await {
            let first = store.server_key("pairing", &[1; 32], 0).await.unwrap();
            let again = store.server_key("pairing", &[2; 32], 1).await.unwrap();
            assert_eq!((first.as_slice(), again.as_slice()), ([1; 32].as_slice(), [1; 32].as_slice()));
        }
    }
}
