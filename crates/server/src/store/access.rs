//! Pairing codes and sessions of tills and displays, stored only as hashes.

use sqlx::Row as _;

use super::{Store, StoreError};

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
        sqlx::query(
            "INSERT INTO pairing_codes (code_hash, till_id, role, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(code_hash)
        .bind(till_id)
        .bind(role)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses a pairing code: returns its till and role if it was unused and unexpired, and marks it
    /// used in the same statement, so two browsers can never both use one code.
    pub async fn use_pairing_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "UPDATE pairing_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? \
             RETURNING till_id, role",
        )
        .bind(now)
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Stores a session's hash.
    pub async fn insert_session(
        &self,
        token_hash: &str,
        till_id: &str,
        role: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_hash, till_id, role, created_at) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(till_id)
            .bind(role)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The till and role of a live session.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(String, String)>, StoreError> {
        let row =
            sqlx::query("SELECT till_id, role FROM sessions WHERE token_hash = ? AND revoked_at IS NULL")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }
}
