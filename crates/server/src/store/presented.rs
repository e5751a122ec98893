//! What a till presents to its sticker: the amount the next customer who scans it pays.

use kasse_api::Currency;
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

use super::names::{Named as _, decode};
use super::{Store, StoreError};

/// What a till presents to its sticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedRow {
    pub till_id: String,
    pub amount: i64,
    pub currency: Currency,
    pub description: Option<String>,
}

impl sqlx::FromRow<'_, SqliteRow> for PresentedRow {
    fn from_row(row: &SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            till_id: row.try_get("till_id")?,
            amount: row.try_get("amount")?,
            currency: decode(row, "currency")?,
            description: row.try_get("description")?,
        })
    }
}

impl Store {
    /// What a till presents to its sticker now.
    pub async fn presented(&self, till_id: &str) -> Result<Option<PresentedRow>, StoreError> {
        Ok(sqlx::query_as("SELECT till_id, amount, currency, description FROM presented WHERE till_id = ?")
            .bind(till_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Presents an amount (replacing what was presented).
    pub async fn present(&self, presented: &PresentedRow, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO presented (till_id, amount, currency, description, presented_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (till_id) DO UPDATE SET amount = excluded.amount, currency = excluded.currency, \
             description = excluded.description, presented_at = excluded.presented_at",
        )
        .bind(&presented.till_id)
        .bind(presented.amount)
        .bind(presented.currency.name())
        .bind(&presented.description)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes back what a till presented. Returns what it was, so exactly one payment can use it.
    pub async fn take_presented(&self, till_id: &str) -> Result<Option<PresentedRow>, StoreError> {
        Ok(sqlx::query_as(
            "DELETE FROM presented WHERE till_id = ? RETURNING till_id, amount, currency, description",
        )
        .bind(till_id)
        .fetch_optional(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_presented_amount_is_taken_by_exactly_one_payment() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let presented = PresentedRow {
            till_id: "till-1".into(),
            amount: 4900,
            currency: Currency::Nok,
            description: None,
        };
        store.present(&presented, 0).await.unwrap();
        store.present(&PresentedRow { amount: 5000, ..presented.clone() }, 1).await.unwrap();
        assert_eq!(
            store.presented("till-1").await.unwrap().unwrap().amount,
            5000,
            "the newest amount counts"
        );
        assert_eq!(store.take_presented("till-1").await.unwrap().unwrap().amount, 5000);
        assert_eq!(store.take_presented("till-1").await.unwrap(), None, "taken once");
    }
}
