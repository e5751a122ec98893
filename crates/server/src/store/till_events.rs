//! The live events pushed to tills, numbered, so a reconnecting browser replays what it missed.

use sqlx::Row as _;

use super::{Store, StoreError};

impl Store {
    /// Appends a live event for a till. Returns its id.
    pub async fn insert_till_event(&self, till_id: &str, payload: &str, now: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO till_events (till_id, payload, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(till_id)
        .bind(payload)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// A till's live events after `after`, oldest first.
    pub async fn till_events_after(
        &self,
        till_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, payload FROM till_events WHERE till_id = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(till_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// The id of a till's newest live event (0 if none).
    pub async fn last_till_event_id(&self, till_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM till_events WHERE till_id = ?")
            .bind(till_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn till_events_replay_after_a_given_id_in_order() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let first = store.insert_till_event("till-1", "a", 1).await.unwrap();
        store.insert_till_event("till-2", "x", 1).await.unwrap();
        let second = store.insert_till_event("till-1", "b", 2).await.unwrap();
        assert!(second > first);
        let after = store.till_events_after("till-1", first, 10).await.unwrap();
        assert_eq!(after, vec![(second, "b".to_owned())]);
        assert_eq!(store.last_till_event_id("till-1").await.unwrap(), second);
        assert_eq!(store.last_till_event_id("till-9").await.unwrap(), 0);
    }
}
