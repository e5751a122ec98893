//! Webhook deliveries as received, and the platform's payment events, once each.

use super::statement::{query, query_scalar};
use sqlx::Row as _;

use super::backend::on;
use super::{Store, StoreError};

impl Store {
    /// Stores a verified webhook delivery under its `delivery_hash` (see the migration
    /// `0010_deliveries.sql`). Returns its inbox id, or `None` if a delivery with the same hash
    /// is stored already: the same delivery again, acknowledged but not processed twice.
    pub async fn insert_inbox(
        &self,
        event_type: Option<&str>,
        body: &str,
        delivery_hash: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(
                "INSERT INTO webhook_inbox (received_at, event_type, body, delivery_hash) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (delivery_hash) DO NOTHING RETURNING id",
            )
            .bind(now)
            .bind(event_type)
            .bind(body)
            .bind(delivery_hash)
            .fetch_optional(&mut *db)
            .await?;
            row.map(|r| r.try_get(0)).transpose().map_err(StoreError::from)
        })
    }

    /// The oldest unprocessed deliveries.
    pub async fn unprocessed_inbox(&self, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows =
                query("SELECT id, body FROM webhook_inbox WHERE processed_at IS NULL ORDER BY id LIMIT $1")
                    .bind(limit)
                    .fetch_all(&mut *db)
                    .await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
        })
    }

    /// A delivery's body, if it is stored and not processed yet.
    pub async fn unprocessed_delivery(&self, id: i64) -> Result<Option<String>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_scalar("SELECT body FROM webhook_inbox WHERE id = $1 AND processed_at IS NULL")
                .bind(id)
                .fetch_optional(&mut *db)
                .await?)
        })
    }

    /// Marks a delivery processed.
    pub async fn mark_processed(&self, id: i64, now: i64) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query("UPDATE webhook_inbox SET processed_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *db)
                .await?;
            Ok(())
        })
    }

    /// Records a platform payment event. Returns false if it was already recorded.
    pub async fn insert_payment_event(
        &self,
        event: &kasse_vipps::epayment::WebhookEvent,
    ) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let name = serde_json::to_value(event.name)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let currency = serde_json::to_value(event.amount.currency)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let result = query(
                "INSERT INTO payment_events (reference, psp_reference, name, amount, currency, occurred_at, success) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(&event.reference)
            .bind(&event.psp_reference)
            .bind(name)
            .bind(event.amount.value)
            .bind(currency)
            .bind(event.timestamp.to_rfc3339())
            .bind(event.success)
            .execute(&mut *db)
            .await?;
            Ok(result.rows_affected() == 1)
        })
    }
}

#[cfg(test)]
mod tests {

    #[tokio::test]
    async fn the_same_delivery_stored_twice_is_one_row_and_the_second_is_told_so() {
        for store in crate::store::testing::stores().await {
            let first = store.insert_inbox(Some("user.checked-in.v1"), "{}", "h1", 1).await.unwrap();
            assert!(first.is_some());
            assert_eq!(store.insert_inbox(Some("user.checked-in.v1"), "{}", "h1", 2).await.unwrap(), None);
            assert!(store.insert_inbox(None, "{}", "h2", 3).await.unwrap().is_some(), "another delivery");
            assert_eq!(store.unprocessed_inbox(10).await.unwrap().len(), 2);
        }
    }
}
