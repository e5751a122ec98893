//! Customers who checked in at a callback sticker; the platform's token stays here.

use super::backend::StoreRow;
use super::backend::on;
use super::statement::{FromStoreRow, query, query_as};
use super::{Store, StoreError};

/// A customer's check-in at a callback sticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInRow {
    pub id: String,
    pub msn: String,
    pub merchant_qr_id: String,
    pub till_id: Option<String>,
    pub customer_token: String,
    pub initiated_at: i64,
    pub expires_at: i64,
    pub charged_by: Option<String>,
    pub received_at: i64,
}

impl FromStoreRow for CheckInRow {
    fn from_row(row: &impl StoreRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.read("id")?,
            msn: row.read("msn")?,
            merchant_qr_id: row.read("merchant_qr_id")?,
            till_id: row.read("till_id")?,
            customer_token: row.read("customer_token")?,
            initiated_at: row.read("initiated_at")?,
            expires_at: row.read("expires_at")?,
            charged_by: row.read("charged_by")?,
            received_at: row.read("received_at")?,
        })
    }
}

const CHECK_IN_COLUMNS: &str =
    "id, msn, merchant_qr_id, till_id, customer_token, initiated_at, expires_at, charged_by, received_at";

impl Store {
    /// Stores a check-in. Returns false if it was stored before (a repeated webhook).
    pub async fn insert_check_in(&self, check_in: &CheckInRow) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let result = query(
                "INSERT INTO check_ins (id, msn, merchant_qr_id, till_id, customer_token, initiated_at, expires_at, \
                 charged_by, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            )
            .bind(&check_in.id)
            .bind(&check_in.msn)
            .bind(&check_in.merchant_qr_id)
            .bind(&check_in.till_id)
            .bind(&check_in.customer_token)
            .bind(check_in.initiated_at)
            .bind(check_in.expires_at)
            .bind(&check_in.charged_by)
            .bind(check_in.received_at)
            .execute(&mut *db)
            .await?;
            Ok(result.rows_affected() == 1)
        })
    }

    /// A check-in by id.
    pub async fn check_in(&self, id: &str) -> Result<Option<CheckInRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *db)
                .await?)
        })
    }

    /// A till's check-ins that can still be charged at `now`, newest first.
    pub async fn open_check_ins(&self, till_id: &str, now: i64) -> Result<Vec<CheckInRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!(
                "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE till_id = $1 AND expires_at > $2 AND charged_by IS NULL \
                 ORDER BY initiated_at DESC"
            ))
            .bind(till_id)
            .bind(now)
            .fetch_all(&mut *db)
            .await?)
        })
    }

    /// Forgets the platform's tokens of check-ins that can no longer be charged.
    pub async fn expire_check_ins(&self, now: i64) -> Result<u64, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let result = query(
                "UPDATE check_ins SET customer_token = '' WHERE expires_at <= $1 AND customer_token <> ''",
            )
            .bind(now)
            .execute(&mut *db)
            .await?;
            Ok(result.rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PaymentRow;
    use crate::store::fixtures;

    #[tokio::test]
    async fn a_check_in_is_charged_once_and_only_while_it_lasts() {
        for store in crate::store::testing::stores().await {
            let check_in = CheckInRow {
                id: "c1".into(),
                msn: "123456".into(),
                merchant_qr_id: "till-1".into(),
                till_id: Some("till-1".into()),
                customer_token: "token".into(),
                initiated_at: 0,
                expires_at: 900_000,
                charged_by: None,
                received_at: 0,
            };
            assert!(store.insert_check_in(&check_in).await.unwrap());
            assert!(!store.insert_check_in(&check_in).await.unwrap(), "a repeated webhook stores nothing");
            assert_eq!(store.open_check_ins("till-1", 1).await.unwrap().len(), 1);
            // A sale charging it is recorded with the charge, or not at all.
            let sale = |reference: &str, at: i64| PaymentRow {
                created_at: at,
                ..fixtures::row(reference, "till-1")
            };
            let charging = |row: PaymentRow| {
                let store = store.clone();
                async move {
                    let key = format!("{}-create", row.reference);
                    store.insert_sale_charging(&row, fixtures::create(&key), None, Some("c1")).await
                }
            };
            let late = charging(sale("till-1-late", 900_000)).await;
            assert!(matches!(late, Err(StoreError::CheckInGone)), "expired: {late:?}");
            assert_eq!(store.payment("till-1-late").await.unwrap(), None, "and the sale was not recorded");
            charging(sale("till-1-a", 1)).await.unwrap();
            assert_eq!(store.check_in("c1").await.unwrap().unwrap().charged_by.as_deref(), Some("till-1-a"));
            // Another till's sale, so only the check-in stands in its way.
            let other = PaymentRow { till_id: "till-2".into(), ..sale("till-2-b", 2) };
            let twice = charging(other).await;
            assert!(matches!(twice, Err(StoreError::CheckInGone)), "charged once: {twice:?}");
            assert_eq!(store.payment("till-2-b").await.unwrap(), None);
            assert!(store.operation("till-2-b-create").await.unwrap().is_none(), "nor its create");
            assert!(store.open_check_ins("till-1", 2).await.unwrap().is_empty());
            assert_eq!(store.expire_check_ins(900_000).await.unwrap(), 1);
            assert_eq!(
                store.check_in("c1").await.unwrap().unwrap().customer_token,
                "",
                "the token is forgotten"
            );
        }
    }
}
