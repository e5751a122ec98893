//! What MobilePay PoS v10 integrations made through kasse's facade: their access tokens (as
//! hashes), their points of sale (each a kasse till), their payments (each taken by a sale of the
//! till) and their refunds (each a refund write of that sale).
//!
//! Ids the integration names things by are made from its idempotency keys (see `pos_v10`), so a
//! retried create inserts nothing and finds the first one's row.

use super::statement::{query, query_as};
use sqlx::Row as _;

use super::backend::{StoreRow, on};
use super::{Store, StoreError};

/// A v10 point of sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V10PosRow {
    pub pos_id: String,
    pub integrator_id: String,
    pub till_id: String,
    pub store_id: String,
    pub merchant_pos_id: String,
    pub name: String,
    pub beacon_id: String,
    /// `QR`, `NFC`, `Bluetooth`, comma-separated.
    pub beacon_types: String,
    pub callback_alias: Option<String>,
    pub require_payment_before_checkin: bool,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
}

/// A v10 payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V10PaymentRow {
    pub payment_id: String,
    pub integrator_id: String,
    pub pos_id: String,
    pub order_id: String,
    /// Once the amount is known (at initiate, or at ready after prepare).
    pub currency: Option<String>,
    pub amount: Option<i64>,
    pub capture_delay: Option<String>,
    pub label: Option<String>,
    /// The till's sale taking it, once started.
    pub reference: Option<String>,
    /// The check-in it is moving to (from a QR code nobody paid), until that sale is started.
    pub pairing_check_in: Option<String>,
    /// When the PoS cancelled it.
    pub cancelled_at: Option<i64>,
    pub created_at: i64,
}

/// A v10 refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V10RefundRow {
    pub refund_id: String,
    pub payment_id: String,
    pub refund_order_id: String,
    pub currency: String,
    pub amount: i64,
    pub created_at: i64,
}

const POS_COLUMNS: &str = "pos_id, integrator_id, till_id, store_id, merchant_pos_id, name, beacon_id, beacon_types, \
     callback_alias, require_payment_before_checkin, created_at, deleted_at";
const PAYMENT_COLUMNS: &str = "payment_id, integrator_id, pos_id, order_id, currency, amount, capture_delay, label, \
     reference, pairing_check_in, cancelled_at, created_at";
const REFUND_COLUMNS: &str = "refund_id, payment_id, refund_order_id, currency, amount, created_at";

fn pos_row(r: &impl StoreRow) -> Result<V10PosRow, sqlx::Error> {
    Ok(V10PosRow {
        pos_id: r.read("pos_id")?,
        integrator_id: r.read("integrator_id")?,
        till_id: r.read("till_id")?,
        store_id: r.read("store_id")?,
        merchant_pos_id: r.read("merchant_pos_id")?,
        name: r.read("name")?,
        beacon_id: r.read("beacon_id")?,
        beacon_types: r.read("beacon_types")?,
        callback_alias: r.read("callback_alias")?,
        require_payment_before_checkin: r.read("require_payment_before_checkin")?,
        created_at: r.read("created_at")?,
        deleted_at: r.read("deleted_at")?,
    })
}

fn payment_row(r: &impl StoreRow) -> Result<V10PaymentRow, sqlx::Error> {
    Ok(V10PaymentRow {
        payment_id: r.read("payment_id")?,
        integrator_id: r.read("integrator_id")?,
        pos_id: r.read("pos_id")?,
        order_id: r.read("order_id")?,
        currency: r.read("currency")?,
        amount: r.read("amount")?,
        capture_delay: r.read("capture_delay")?,
        label: r.read("label")?,
        reference: r.read("reference")?,
        pairing_check_in: r.read("pairing_check_in")?,
        cancelled_at: r.read("cancelled_at")?,
        created_at: r.read("created_at")?,
    })
}

fn refund_row(r: &impl StoreRow) -> Result<V10RefundRow, sqlx::Error> {
    Ok(V10RefundRow {
        refund_id: r.read("refund_id")?,
        payment_id: r.read("payment_id")?,
        refund_order_id: r.read("refund_order_id")?,
        currency: r.read("currency")?,
        amount: r.read("amount")?,
        created_at: r.read("created_at")?,
    })
}

impl Store {
    /// Keeps an issued access token's hash.
    pub async fn insert_v10_token(
        &self,
        token_hash: &str,
        integrator_id: &str,
        merchant_vat: Option<&str>,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "INSERT INTO v10_tokens (token_hash, integrator_id, merchant_vat, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(integrator_id)
            .bind(merchant_vat)
            .bind(expires_at)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }

    /// The integrator and merchant VAT number of an unexpired token.
    pub async fn v10_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(
                "SELECT integrator_id, merchant_vat FROM v10_tokens WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *db)
            .await?;
            Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?))).transpose()?)
        })
    }

    /// Creates a point of sale unless one with its id exists (a retried create); the row now.
    pub async fn insert_v10_pos(&self, pos: &V10PosRow) -> Result<V10PosRow, StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(&format!(
                "INSERT INTO v10_points_of_sale ({POS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (pos_id) DO NOTHING"
            ))
            .bind(&pos.pos_id)
            .bind(&pos.integrator_id)
            .bind(&pos.till_id)
            .bind(&pos.store_id)
            .bind(&pos.merchant_pos_id)
            .bind(&pos.name)
            .bind(&pos.beacon_id)
            .bind(&pos.beacon_types)
            .bind(&pos.callback_alias)
            .bind(pos.require_payment_before_checkin)
            .bind(pos.created_at)
            .bind(pos.deleted_at)
            .execute(&mut *db)
            .await?;
            let row = query(&format!("SELECT {POS_COLUMNS} FROM v10_points_of_sale WHERE pos_id = $1"))
                .bind(&pos.pos_id)
                .fetch_one(&mut *db)
                .await?;
            Ok(pos_row(&row)?)
        })
    }

    /// A point of sale, deleted or not.
    pub async fn v10_pos(&self, pos_id: &str) -> Result<Option<V10PosRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!("SELECT {POS_COLUMNS} FROM v10_points_of_sale WHERE pos_id = $1"))
                .bind(pos_id)
                .fetch_optional(&mut *db)
                .await?;
            Ok(row.map(|r| pos_row(&r)).transpose()?)
        })
    }

    /// An integrator's points of sale that are not deleted, oldest first.
    pub async fn v10_points_of_sale(&self, integrator_id: &str) -> Result<Vec<V10PosRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {POS_COLUMNS} FROM v10_points_of_sale WHERE integrator_id = $1 AND deleted_at IS NULL ORDER BY created_at, pos_id"
            ))
            .bind(integrator_id)
            .fetch_all(&mut *db)
            .await?;
            Ok(rows.iter().map(pos_row).collect::<Result<_, _>>()?)
        })
    }

    /// Deletes a point of sale (keeps its row, marked); `false` if it was deleted already.
    pub async fn delete_v10_pos(&self, pos_id: &str, now: i64) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let done = query(
                "UPDATE v10_points_of_sale SET deleted_at = $1 WHERE pos_id = $2 AND deleted_at IS NULL",
            )
            .bind(now)
            .bind(pos_id)
            .execute(&mut *db)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Records a payment unless one with its id exists (a retried initiate); the row now.
    pub async fn insert_v10_payment(&self, payment: &V10PaymentRow) -> Result<V10PaymentRow, StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(&format!(
                "INSERT INTO v10_payments ({PAYMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (payment_id) DO NOTHING"
            ))
            .bind(&payment.payment_id)
            .bind(&payment.integrator_id)
            .bind(&payment.pos_id)
            .bind(&payment.order_id)
            .bind(&payment.currency)
            .bind(payment.amount)
            .bind(&payment.capture_delay)
            .bind(&payment.label)
            .bind(&payment.reference)
            .bind(&payment.pairing_check_in)
            .bind(payment.cancelled_at)
            .bind(payment.created_at)
            .execute(&mut *db)
            .await?;
            let row = query(&format!("SELECT {PAYMENT_COLUMNS} FROM v10_payments WHERE payment_id = $1"))
                .bind(&payment.payment_id)
                .fetch_one(&mut *db)
                .await?;
            Ok(payment_row(&row)?)
        })
    }

    /// A payment by id.
    pub async fn v10_payment(&self, payment_id: &str) -> Result<Option<V10PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!("SELECT {PAYMENT_COLUMNS} FROM v10_payments WHERE payment_id = $1"))
                .bind(payment_id)
                .fetch_optional(&mut *db)
                .await?;
            Ok(row.map(|r| payment_row(&r)).transpose()?)
        })
    }

    /// An integrator's payments, oldest first.
    pub async fn v10_payments(&self, integrator_id: &str) -> Result<Vec<V10PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {PAYMENT_COLUMNS} FROM v10_payments WHERE integrator_id = $1 ORDER BY created_at, payment_id"
            ))
            .bind(integrator_id)
            .fetch_all(&mut *db)
            .await?;
            Ok(rows.iter().map(payment_row).collect::<Result<_, _>>()?)
        })
    }

    /// An integrator's payments that may be active or reserved, oldest first: not started yet,
    /// or with a sale not yet final, or moving to a checked-in customer. (What a PoS asks for when
    /// it starts again, to find the payment it was taking; the others grow with every sale.)
    pub async fn v10_payments_open(&self, integrator_id: &str) -> Result<Vec<V10PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {} FROM v10_payments v LEFT JOIN payments p ON p.reference = v.reference \
                 WHERE v.integrator_id = $1 AND (p.reference IS NULL \
                 OR p.status IN ('creating', 'awaitingCustomer', 'cancelling', 'authorized') \
                 OR (v.pairing_check_in IS NOT NULL AND p.status = 'cancelled')) \
                 ORDER BY v.created_at, v.payment_id",
                PAYMENT_COLUMNS.split(", ").map(|c| format!("v.{c}")).collect::<Vec<_>>().join(", ")
            ))
            .bind(integrator_id)
            .fetch_all(&mut *db)
            .await?;
            Ok(rows.iter().map(payment_row).collect::<Result<_, _>>()?)
        })
    }

    /// Payments whose sale may still move: none started yet though ready, a QR code nobody has
    /// paid, or a move to a check-in under way; or cancelled by their PoS while their sale, which
    /// started as the PoS gave up on it, is still open.
    pub async fn v10_payments_in_play(&self) -> Result<Vec<V10PaymentRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows = query(&format!(
                "SELECT {} FROM v10_payments v LEFT JOIN payments p ON p.reference = v.reference \
                 WHERE (v.cancelled_at IS NULL AND ((v.reference IS NULL AND v.amount IS NOT NULL) \
                 OR v.pairing_check_in IS NOT NULL OR (p.flow = 'qr' AND p.status IN ('creating', 'awaitingCustomer')))) \
                 OR (v.cancelled_at IS NOT NULL AND p.status IN ('creating', 'awaitingCustomer', 'authorized'))",
                PAYMENT_COLUMNS.split(", ").map(|c| format!("v.{c}")).collect::<Vec<_>>().join(", ")
            ))
            .fetch_all(&mut *db)
            .await?;
            Ok(rows.iter().map(payment_row).collect::<Result<_, _>>()?)
        })
    }

    /// Sets a prepared payment's amount; `false` if it had one already, or was cancelled (by its
    /// PoS, or run out: see [`Store::cancel_unready_v10_payment`]).
    pub async fn ready_v10_payment(
        &self,
        payment_id: &str,
        currency: &str,
        amount: i64,
        capture_delay: &str,
        label: Option<&str>,
    ) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let done = query(
                "UPDATE v10_payments SET currency = $1, amount = $2, capture_delay = $3, label = $4 \
                 WHERE payment_id = $5 AND amount IS NULL AND cancelled_at IS NULL",
            )
            .bind(currency)
            .bind(amount)
            .bind(capture_delay)
            .bind(label)
            .bind(payment_id)
            .execute(&mut *db)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Names the sale taking a payment, and the check-in it is moving to (if any), unless its
    /// PoS cancelled it meanwhile: whether it did.
    pub async fn set_v10_sale(
        &self,
        payment_id: &str,
        reference: Option<&str>,
        pairing_check_in: Option<&str>,
    ) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let done = query(
                "UPDATE v10_payments SET reference = $1, pairing_check_in = $2 \
                 WHERE payment_id = $3 AND cancelled_at IS NULL",
            )
            .bind(reference)
            .bind(pairing_check_in)
            .bind(payment_id)
            .execute(&mut *db)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Names the sale that started to take a payment (from a QR code, or for a checked-in
    /// customer) in place of `replacing`, the sale it named before (`None` for its first):
    /// whether its PoS cancelled the payment meanwhile, so that the sale is to be withdrawn
    /// (named all the same, so the payment shows that sale until it is). Named already (a round
    /// of another instance got there first), it is left as it is, a move to a customer begun
    /// since included. `None` when the payment names another sale than both: not named.
    pub async fn name_v10_sale(
        &self,
        payment_id: &str,
        reference: &str,
        replacing: Option<&str>,
    ) -> Result<Option<bool>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let named: Option<(Option<i64>,)> = query_as(
                "UPDATE v10_payments SET reference = $1, pairing_check_in = NULL \
                 WHERE payment_id = $2 AND reference IS NOT DISTINCT FROM $3 RETURNING cancelled_at",
            )
            .bind(reference)
            .bind(payment_id)
            .bind(replacing)
            .fetch_optional(&mut *db)
            .await?;
            if let Some((cancelled_at,)) = named {
                return Ok(Some(cancelled_at.is_some()));
            }
            let now: Option<(Option<String>, Option<i64>)> =
                query_as("SELECT reference, cancelled_at FROM v10_payments WHERE payment_id = $1")
                    .bind(payment_id)
                    .fetch_optional(&mut *db)
                    .await?;
            Ok(now
                .filter(|(named, _)| named.as_deref() == Some(reference))
                .map(|(_, cancelled_at)| cancelled_at.is_some()))
        })
    }

    /// Marks a payment cancelled by its PoS at `now`: it is never started or moved again.
    /// Whether this marked it (`false`: it was already).
    pub async fn cancel_v10_payment(&self, payment_id: &str, now: i64) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let done = query("UPDATE v10_payments SET cancelled_at = $1, pairing_check_in = NULL WHERE payment_id = $2 AND cancelled_at IS NULL")
                .bind(now)
                .bind(payment_id)
                .execute(&mut *db)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Marks a prepared payment cancelled at `now` if it still waits for its amount: whether it
    /// did (`false`: made ready or cancelled meanwhile).
    pub async fn cancel_unready_v10_payment(&self, payment_id: &str, now: i64) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let done = query(
                "UPDATE v10_payments SET cancelled_at = $1 \
                 WHERE payment_id = $2 AND amount IS NULL AND cancelled_at IS NULL",
            )
            .bind(now)
            .bind(payment_id)
            .execute(&mut *db)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Takes back the cancel [`Store::cancel_v10_payment`] marked at `at`, when the sale's own
    /// cancel could not be made: the payment is in play again, as its PoS was told.
    pub async fn uncancel_v10_payment(&self, payment_id: &str, at: i64) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query("UPDATE v10_payments SET cancelled_at = NULL WHERE payment_id = $1 AND cancelled_at = $2")
                .bind(payment_id)
                .bind(at)
                .execute(&mut *db)
                .await?;
            Ok(())
        })
    }

    /// Records a refund unless one with its id exists (a retried create); the row now.
    pub async fn insert_v10_refund(&self, refund: &V10RefundRow) -> Result<V10RefundRow, StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(&format!(
                "INSERT INTO v10_refunds ({REFUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (refund_id) DO NOTHING"
            ))
            .bind(&refund.refund_id)
            .bind(&refund.payment_id)
            .bind(&refund.refund_order_id)
            .bind(&refund.currency)
            .bind(refund.amount)
            .bind(refund.created_at)
            .execute(&mut *db)
            .await?;
            let row = query(&format!("SELECT {REFUND_COLUMNS} FROM v10_refunds WHERE refund_id = $1"))
                .bind(&refund.refund_id)
                .fetch_one(&mut *db)
                .await?;
            Ok(refund_row(&row)?)
        })
    }

    /// A refund by id.
    pub async fn v10_refund(&self, refund_id: &str) -> Result<Option<V10RefundRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let row = query(&format!("SELECT {REFUND_COLUMNS} FROM v10_refunds WHERE refund_id = $1"))
                .bind(refund_id)
                .fetch_optional(&mut *db)
                .await?;
            Ok(row.map(|r| refund_row(&r)).transpose()?)
        })
    }

    /// The refunds of payments, oldest first.
    pub async fn v10_refunds(&self) -> Result<Vec<V10RefundRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let rows =
                query(&format!("SELECT {REFUND_COLUMNS} FROM v10_refunds ORDER BY created_at, refund_id"))
                    .fetch_all(&mut *db)
                    .await?;
            Ok(rows.iter().map(refund_row).collect::<Result<_, _>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use kasse_api::SaleStatus;

    use super::*;
    use crate::store::fixtures::{create, row};

    fn payment(id: &str, reference: Option<&str>, at: i64) -> V10PaymentRow {
        V10PaymentRow {
            payment_id: id.to_owned(),
            integrator_id: "pos-vendor".to_owned(),
            pos_id: "pos-1".to_owned(),
            order_id: format!("order-{id}"),
            currency: Some("DKK".to_owned()),
            amount: Some(1_000),
            capture_delay: Some("None".to_owned()),
            label: None,
            reference: reference.map(str::to_owned),
            pairing_check_in: None,
            cancelled_at: None,
            created_at: at,
        }
    }

    #[tokio::test]
    async fn a_payments_sale_is_named_in_place_of_the_one_it_was_read_with_and_never_over_a_later_one() {
        for store in crate::store::testing::stores().await {
            store.insert_v10_payment(&payment("p", None, 1)).await.unwrap();
            assert_eq!(store.name_v10_sale("p", "qr-sale", None).await.unwrap(), Some(false), "its first");
            // A customer checks in: the move begins.
            assert!(store.set_v10_sale("p", Some("qr-sale"), Some("check-in-1")).await.unwrap());
            // A round that read the payment before it was named names the same sale: left as it
            // is, the move included.
            assert_eq!(store.name_v10_sale("p", "qr-sale", None).await.unwrap(), Some(false));
            let now = store.v10_payment("p").await.unwrap().unwrap();
            assert_eq!(now.pairing_check_in.as_deref(), Some("check-in-1"), "the move goes on");
            // Another sale, by a round that read it unnamed: not named over the one it has.
            assert_eq!(store.name_v10_sale("p", "stray-sale", None).await.unwrap(), None);
            // The move's push replaces the QR sale it was read with.
            assert_eq!(store.name_v10_sale("p", "push-sale", Some("qr-sale")).await.unwrap(), Some(false));
            let now = store.v10_payment("p").await.unwrap().unwrap();
            assert_eq!((now.reference.as_deref(), now.pairing_check_in), (Some("push-sale"), None));
            // Cancelled by its PoS meanwhile: named, and said so.
            assert!(store.cancel_v10_payment("p", 5).await.unwrap());
            assert_eq!(store.name_v10_sale("p", "push-sale", Some("push-sale")).await.unwrap(), Some(true));
        }
    }

    #[tokio::test]
    async fn the_open_payments_are_those_not_started_under_way_reserved_or_moving_and_no_finished_one() {
        for store in crate::store::testing::stores().await {
            let sales = [
                ("awaiting", SaleStatus::AwaitingCustomer),
                ("reserved", SaleStatus::Authorized),
                ("captured", SaleStatus::Captured),
                ("declined", SaleStatus::Declined),
                ("moving", SaleStatus::Cancelled),
                ("creating", SaleStatus::Creating),
                ("cancelling", SaleStatus::Cancelling),
            ];
            for (n, (name, status)) in sales.into_iter().enumerate() {
                let reference = format!("till-{n}-{name}");
                let mut sale = row(&reference, &format!("till-{n}"));
                store.insert_sale(&sale, create(&format!("{reference}-create")), None).await.unwrap();
                sale.set_status(status);
                sale.touch();
                store.update_payment(&mut sale).await.unwrap();
                let at = i64::try_from(n).unwrap() + 1;
                store.insert_v10_payment(&payment(name, Some(&reference), at)).await.unwrap();
            }
            store.set_v10_sale("moving", Some("till-4-moving"), Some("check-in-1")).await.unwrap();
            store.insert_v10_payment(&payment("not-started", None, 19)).await.unwrap();
            store
                .insert_v10_payment(&V10PaymentRow {
                    integrator_id: "another".to_owned(),
                    ..payment("theirs", None, 20)
                })
                .await
                .unwrap();

            let open: Vec<String> = store
                .v10_payments_open("pos-vendor")
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.payment_id)
                .collect();
            assert_eq!(open, ["awaiting", "reserved", "moving", "creating", "cancelling", "not-started"]);
        }
    }
}
