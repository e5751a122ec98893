//! How far each PoS payment's callbacks have got. A payment a PoS started is due a callback
//! whenever its `updated_at` (which moves with every change a till or a PoS can see) is past the
//! last one delivered. Deliveries are claimed with a lease, so that whichever instance sees a
//! change first delivers it and no two deliver it at once.

use super::statement::query;
use sqlx::Row as _;

use super::backend::on;
use super::{Store, StoreError};

/// A PoS payment whose latest change its PoS has not been told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCallback {
    /// The payment.
    pub reference: String,
    /// Its `updated_at` now: the version a delivery tells.
    pub version: i64,
}

/// The failed deliveries of a payment's callback so far, and the change they were for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedSoFar {
    /// How many.
    pub attempts: i64,
    /// The payment's version they told.
    pub version: Option<i64>,
}

impl FailedSoFar {
    /// How many of them told `version`: a later change starts its own count.
    pub fn telling(self, version: i64) -> i64 {
        if self.version == Some(version) { self.attempts } else { 0 }
    }
}

impl Store {
    /// PoS payments changed since `since` whose change is not yet delivered and not being
    /// delivered (or waiting for its next try), oldest change first, at most `limit`. Only
    /// integrators with a callback URL and a live key get callbacks.
    pub async fn due_callbacks(
        &self,
        now: i64,
        since: i64,
        limit: i64,
    ) -> Result<Vec<DueCallback>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(
                "SELECT p.reference, p.updated_at FROM payments p \
                 JOIN integrators i ON i.id = p.integrator_id \
                 LEFT JOIN terminal_callbacks c ON c.reference = p.reference \
                 WHERE p.integrator_id IS NOT NULL AND p.updated_at > $1 \
                 AND i.callback_url IS NOT NULL AND i.revoked_at IS NULL \
                 AND p.updated_at > COALESCE(c.delivered_upto, 0) AND COALESCE(c.next_attempt_at, 0) <= $2 \
                 ORDER BY p.updated_at LIMIT $3",
            )
            .bind(since)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *db)
            .await?;
            rows.iter()
                .map(|r| Ok(DueCallback { reference: r.try_get(0)?, version: r.try_get(1)? }))
                .collect()
        })
    }

    /// Claims the delivery of a payment's callback until `lease_until`, unless another delivery
    /// holds it (or waits to try again) past `now`. Returns the deliveries that failed so far.
    pub async fn claim_callback(
        &self,
        reference: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<FailedSoFar>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(
                "INSERT INTO terminal_callbacks (reference, next_attempt_at) VALUES ($1, $2) \
                 ON CONFLICT (reference) DO UPDATE SET next_attempt_at = $2 \
                 WHERE terminal_callbacks.next_attempt_at IS NULL OR terminal_callbacks.next_attempt_at <= $3 \
                 RETURNING attempts, attempts_for",
            )
            .bind(reference)
            .bind(lease_until)
            .bind(now)
            .fetch_optional(&mut *db)
            .await?;
            let failed = row.map(|r| {
                Ok::<_, sqlx::Error>(FailedSoFar { attempts: r.try_get(0)?, version: r.try_get(1)? })
            });
            Ok(failed.transpose()?)
        })
    }

    /// A callback telling `version` of the payment was delivered (or given up on, with `error`).
    pub async fn callback_done(
        &self,
        reference: &str,
        version: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "UPDATE terminal_callbacks SET \
                 delivered_upto = CASE WHEN delivered_upto > $1 THEN delivered_upto ELSE $1 END, \
                 attempts = 0, attempts_for = NULL, next_attempt_at = NULL, last_error = $2 WHERE reference = $3",
            )
            .bind(version)
            .bind(error)
            .bind(reference)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }

    /// A delivery telling `version` failed with `error`: try again at `next_attempt_at`.
    pub async fn callback_failed(
        &self,
        reference: &str,
        version: i64,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "UPDATE terminal_callbacks SET \
                 attempts = CASE WHEN attempts_for = $4 THEN attempts + 1 ELSE 1 END, attempts_for = $4, \
                 next_attempt_at = $1, last_error = $2 WHERE reference = $3",
            )
            .bind(next_attempt_at)
            .bind(error)
            .bind(reference)
            .bind(version)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IntegratorRow;
    use crate::store::fixtures::{create, row};

    async fn pos_payment(store: &Store, reference: &str, till: &str, updated_at: i64) {
        let payment = crate::store::PaymentRow {
            integrator_id: Some("int-1".to_owned()),
            updated_at,
            ..row(reference, till)
        };
        store.insert_sale(&payment, create(&format!("{reference}-create")), None).await.unwrap();
    }

    #[tokio::test]
    async fn a_changed_pos_payment_is_due_once_claimed_by_one_and_done_when_delivered() {
        for store in crate::store::testing::stores().await {
            store
                .insert_integrator(&IntegratorRow {
                    id: "int-1".to_owned(),
                    name: "Acme".to_owned(),
                    key_hash: "h".to_owned(),
                    callback_url: Some("https://pos.example/cb".to_owned()),
                    callback_secret: "s".to_owned(),
                    created_at: 0,
                    last_used_at: None,
                    revoked_at: None,
                    stores: vec!["oslo".to_owned()],
                })
                .await
                .unwrap();
            pos_payment(&store, "till-1-aaaa", "till-1", 100).await;
            // A till's own sale is nobody's callback.
            store
                .insert_sale(&row("till-2-bbbb", "till-2"), create("till-2-bbbb-create"), None)
                .await
                .unwrap();

            let due = store.due_callbacks(1_000, 0, 10).await.unwrap();
            assert_eq!(due, [DueCallback { reference: "till-1-aaaa".to_owned(), version: 100 }]);
            let none = FailedSoFar { attempts: 0, version: None };
            assert_eq!(store.claim_callback("till-1-aaaa", 1_000, 31_000).await.unwrap(), Some(none));
            assert_eq!(store.claim_callback("till-1-aaaa", 1_001, 31_001).await.unwrap(), None, "leased");
            assert!(store.due_callbacks(1_001, 0, 10).await.unwrap().is_empty(), "not due while leased");

            store.callback_failed("till-1-aaaa", 100, 2_000, "503").await.unwrap();
            assert!(store.due_callbacks(1_999, 0, 10).await.unwrap().is_empty(), "waits for its next try");
            assert_eq!(store.due_callbacks(2_000, 0, 10).await.unwrap().len(), 1);
            let failed = store.claim_callback("till-1-aaaa", 2_000, 32_000).await.unwrap().unwrap();
            assert_eq!((failed.telling(100), failed.telling(150)), (1, 0), "a later change starts anew");
            store.callback_failed("till-1-aaaa", 100, 2_000, "503").await.unwrap();
            store.callback_failed("till-1-aaaa", 150, 2_000, "503").await.unwrap();
            let failed = store.claim_callback("till-1-aaaa", 2_000, 32_000).await.unwrap().unwrap();
            assert_eq!((failed.telling(100), failed.telling(150)), (0, 1), "each change its own count");
            store.callback_done("till-1-aaaa", 100, None).await.unwrap();
            assert!(store.due_callbacks(3_000, 0, 10).await.unwrap().is_empty(), "delivered");

            let mut changed = store.payment("till-1-aaaa").await.unwrap().unwrap();
            changed.updated_at = 150;
            store.update_payment(&mut changed).await.unwrap();
            assert_eq!(store.due_callbacks(3_000, 0, 10).await.unwrap()[0].version, 150);
            assert!(store.due_callbacks(3_000, 150, 10).await.unwrap().is_empty(), "older than asked");
            assert_eq!(store.claim_callback("till-1-aaaa", 3_000, 33_000).await.unwrap(), Some(none));

            assert!(store.revoke_integrator("Acme", 4_000).await.unwrap());
            store.callback_failed("till-1-aaaa", 150, 0, "timeout").await.unwrap();
            assert!(
                store.due_callbacks(5_000, 0, 10).await.unwrap().is_empty(),
                "a revoked key hears nothing"
            );
        }
    }
}
