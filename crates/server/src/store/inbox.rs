//! Webhook deliveries as received, and the platform's payment events, once each.

use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Row as _};

use super::statement::{FromStoreRow, query, query_as, query_scalar};

use kasse_vipps::epayment::WebhookEvent;

use super::backend::{Backend, Conn, StoreRow, on};
use super::operations::read_operation;
use super::payments::{PAYMENT_COLUMNS, read_payment};
use super::{OperationRow, PaymentRow, Store, StoreError};

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

    /// The oldest unprocessed deliveries of those stored after `after` (an id; 0 for all).
    pub async fn unprocessed_inbox(&self, after: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(
                "SELECT id, body FROM webhook_inbox WHERE processed_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
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
        Ok(mark_processed(self.db().await?.conn(), id, now).await?)
    }

    /// Takes the stored delivery `id` of the payment event `event` for processing: `None` if it
    /// has been processed meanwhile (by another instance). Otherwise the event is recorded among
    /// the payment's events, and `settled` is shown the payment (`None`: not one of ours) and the
    /// operation stored under `operation_key`, to say whether the event leaves nothing to do; if
    /// so, the delivery is marked processed. A webhook that only echoes what its payment's row
    /// holds (most of them: the platform announces every write it answers) costs one turn at
    /// SQLite this way, not four, and two round trips to PostgreSQL, not eight (three when the
    /// event names a write of ours).
    ///
    /// Recording is idempotent and so is the decision, so nothing needs the two to be one
    /// transaction: a delivery recorded but not marked (a crash between) is taken again, and two
    /// instances taking one delivery at once record its event once and mark it twice.
    pub async fn take_payment_event(
        &self,
        id: i64,
        event: &WebhookEvent,
        operation_key: Option<&str>,
        settled: impl FnOnce(Option<&PaymentRow>, Option<&OperationRow>) -> bool + Send,
        now: i64,
    ) -> Result<Option<TakenEvent>, StoreError> {
        let mut db = self.db().await?;
        if let Backend::Postgres(conn) = db.conn() {
            return take_in_one_statement(conn, id, event, operation_key, settled, now).await;
        }
        on!(db.conn(), |db| {
            let mut tx = db.begin().await?;
            let unprocessed = query("SELECT 1 FROM webhook_inbox WHERE id = $1 AND processed_at IS NULL")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if unprocessed.is_none() {
                return Ok(None);
            }
            let result = query(
                "INSERT INTO payment_events (reference, psp_reference, name, amount, currency, occurred_at, success) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(&event.reference)
            .bind(&event.psp_reference)
            .bind(wire_name(event.name))
            .bind(event.amount.value)
            .bind(wire_name(event.amount.currency))
            .bind(event.timestamp.to_rfc3339())
            .bind(event.success)
            .execute(&mut *tx)
            .await?;
            let payment = read_payment((&mut *tx).into(), &event.reference).await?;
            let operation = match operation_key {
                Some(key) => read_operation((&mut *tx).into(), key).await?,
                None => None,
            };
            let settled = settled(payment.as_ref(), operation.as_ref());
            if settled {
                mark_processed((&mut *tx).into(), id, now).await?;
            }
            tx.commit().await?;
            Ok(Some(TakenEvent { new: result.rows_affected() == 1, settled }))
        })
    }
}

/// A payment event taken from the inbox (see [`Store::take_payment_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenEvent {
    /// Whether it was new among the payment's events (not recorded by an earlier delivery).
    pub new: bool,
    /// Whether it left nothing to do, and its delivery is marked processed.
    pub settled: bool,
}

/// How a value is spelt on the wire (the platform's `"AUTHORIZED"`, `"NOK"`), as stored.
fn wire_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// [`Store::take_payment_event`] on PostgreSQL, where every statement is a round trip between
/// processes (measured: half the machine's time went to switching between them): the delivery's
/// check, the event's record and the payment's read are one statement, and the mark a second.
async fn take_in_one_statement(
    conn: &mut PgConnection,
    id: i64,
    event: &WebhookEvent,
    operation_key: Option<&str>,
    settled: impl FnOnce(Option<&PaymentRow>, Option<&OperationRow>) -> bool + Send,
    now: i64,
) -> Result<Option<TakenEvent>, StoreError> {
    let taken: Taken = query_as(&format!(
        "WITH unprocessed AS (SELECT id FROM webhook_inbox WHERE id = $1 AND processed_at IS NULL), \
         recorded AS (INSERT INTO payment_events (reference, psp_reference, name, amount, currency, occurred_at, success) \
         SELECT $2, $3, $4, $5, $6, $7, $8 FROM unprocessed ON CONFLICT DO NOTHING RETURNING 1) \
         SELECT EXISTS (SELECT 1 FROM unprocessed) AS unprocessed, EXISTS (SELECT 1 FROM recorded) AS recorded, \
         {PAYMENT_COLUMNS} FROM (SELECT 1) AS one LEFT JOIN payments ON payments.reference = $2"
    ))
    .bind(id)
    .bind(&event.reference)
    .bind(&event.psp_reference)
    .bind(wire_name(event.name))
    .bind(event.amount.value)
    .bind(wire_name(event.amount.currency))
    .bind(event.timestamp.to_rfc3339())
    .bind(event.success)
    .fetch_one(&mut *conn)
    .await?;
    if !taken.unprocessed {
        return Ok(None);
    }
    let operation = match operation_key {
        Some(key) => read_operation((&mut *conn).into(), key).await?,
        None => None,
    };
    let settled = settled(taken.payment.as_ref(), operation.as_ref());
    if settled {
        mark_processed((&mut *conn).into(), id, now).await?;
    }
    Ok(Some(TakenEvent { new: taken.recorded, settled }))
}

/// What [`take_in_one_statement`]'s statement reads.
struct Taken {
    /// Whether the delivery was there to take.
    unprocessed: bool,
    /// Whether its event was new among the payment's events.
    recorded: bool,
    /// The payment, if it is ours.
    payment: Option<PaymentRow>,
}

impl FromStoreRow for Taken {
    fn from_row(row: &impl StoreRow) -> Result<Self, sqlx::Error> {
        // No payment of that reference: the left join's columns are all NULL.
        let ours = row.read::<Option<String>>("reference")?.is_some();
        Ok(Self {
            unprocessed: row.read("unprocessed")?,
            recorded: row.read("recorded")?,
            payment: if ours { Some(PaymentRow::from_row(row)?) } else { None },
        })
    }
}

async fn mark_processed(conn: Conn<'_>, id: i64, now: i64) -> Result<(), sqlx::Error> {
    on!(conn, |conn| query("UPDATE webhook_inbox SET processed_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_delivery_stored_twice_is_one_row_and_the_second_is_told_so() {
        for store in crate::store::testing::stores().await {
            let first = store.insert_inbox(Some("user.checked-in.v1"), "{}", "h1", 1).await.unwrap();
            assert!(first.is_some());
            assert_eq!(store.insert_inbox(Some("user.checked-in.v1"), "{}", "h1", 2).await.unwrap(), None);
            assert!(store.insert_inbox(None, "{}", "h2", 3).await.unwrap().is_some(), "another delivery");
            assert_eq!(store.unprocessed_inbox(0, 10).await.unwrap().len(), 2);
            let after_first = store.unprocessed_inbox(first.unwrap(), 10).await.unwrap();
            assert_eq!(after_first.len(), 1, "a sweep goes on after the last it read");
        }
    }

    fn created(reference: &str) -> WebhookEvent {
        WebhookEvent {
            msn: "123456".into(),
            reference: reference.into(),
            psp_reference: "psp-1".into(),
            name: kasse_vipps::epayment::PaymentEventName::Created,
            amount: kasse_vipps::epayment::Amount::new(1000, kasse_vipps::Currency::Nok),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            idempotency_key: None,
            success: true,
        }
    }

    #[tokio::test]
    async fn a_settled_event_is_recorded_and_its_delivery_processed_together_and_an_unsettled_one_is_left_to_process()
     {
        use crate::store::fixtures::{create, row};
        for store in crate::store::testing::stores().await {
            store
                .insert_sale(&row("till-1-aaaa", "till-1"), create("till-1-aaaa-create"), None)
                .await
                .unwrap();
            let event = created("till-1-aaaa");
            let first = store.insert_inbox(None, "{}", "h1", 1).await.unwrap().unwrap();
            let second = store.insert_inbox(None, "{}", "h2", 2).await.unwrap().unwrap();

            // The settling decision sees the payment as stored.
            let unsettled = store
                .take_payment_event(first, &event, None, |payment, _| payment.is_none(), 3)
                .await
                .unwrap();
            assert_eq!(unsettled, Some(TakenEvent { new: true, settled: false }));
            assert_eq!(store.unprocessed_inbox(0, 10).await.unwrap().len(), 2, "left to process");

            let settled = store.take_payment_event(second, &event, None, |_, _| true, 4).await.unwrap();
            assert_eq!(settled, Some(TakenEvent { new: false, settled: true }), "the same event, once");
            let left: Vec<i64> =
                store.unprocessed_inbox(0, 10).await.unwrap().into_iter().map(|(id, _)| id).collect();
            assert_eq!(left, [first]);
            assert_eq!(
                store.take_payment_event(second, &event, None, |_, _| true, 5).await.unwrap(),
                None,
                "processed already: nothing to take"
            );

            // The operation named by the event's key is shown with the payment.
            let key = "till-1-aaaa-create";
            let seen = store
                .take_payment_event(
                    first,
                    &event,
                    Some(key),
                    |payment, op| {
                        payment.is_some_and(|p| p.reference == "till-1-aaaa")
                            && op.is_some_and(|op| op.idempotency_key == key)
                    },
                    6,
                )
                .await
                .unwrap();
            assert_eq!(seen, Some(TakenEvent { new: false, settled: true }));
            assert!(store.unprocessed_inbox(0, 10).await.unwrap().is_empty());
        }
    }
}
