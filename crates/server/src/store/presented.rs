//! What a till presents to its sticker: the amount the next customer who scans it pays, and the
//! claim of the customer's payment that took it.
//!
//! A claim is made in one statement that also compares what the customer was shown, so an amount
//! the till changed or took back after a page read it cannot be claimed by that page's request. A
//! claimed amount stays in the table (the till shows who claimed it) until the till presents
//! another or takes it back; once the claiming payment has finished, it counts as used up.

use super::backend::StoreRow;
use super::statement::{FromStoreRow, query, query_as, query_scalar};
use kasse_api::Currency;
use sqlx::Connection as _;

use super::backend::on;
use super::names::{Named as _, decode};
use super::{Store, StoreError};

/// The columns of a presented row as a statement on the table alone returns them: what the
/// claiming payment is doing needs a join, so it is left unknown there.
const RETURNED: &str = "till_id, amount, currency, description, claimed_by, claimed_phone, claim_reference, NULL AS claim_active";

/// What a till presents to its sticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedRow {
    pub till_id: String,
    pub amount: i64,
    pub currency: Currency,
    pub description: Option<String>,
    /// The landing token of the customer's payment that claimed it; `None` while it waits.
    pub claimed_by: Option<String>,
    /// That customer's number, masked; `None` when they opened the app instead.
    pub claimed_phone: Option<String>,
    /// The claiming payment's reference, once it is recorded.
    pub claim_reference: Option<String>,
    /// Whether the claiming payment is still going (`Some(false)`: finished, so the amount is used
    /// up); `None` when that is not known (not read, or the payment is not recorded yet).
    pub claim_active: Option<bool>,
}

impl PresentedRow {
    /// Whether a customer's payment took it and has finished: nothing is presented any more.
    pub fn used_up(&self) -> bool {
        self.claimed_by.is_some() && self.claim_active == Some(false)
    }
}

impl FromStoreRow for PresentedRow {
    fn from_row(row: &impl StoreRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            till_id: row.read("till_id")?,
            amount: row.read("amount")?,
            currency: decode(row, "currency")?,
            description: row.read("description")?,
            claimed_by: row.read("claimed_by")?,
            claimed_phone: row.read("claimed_phone")?,
            claim_reference: row.read("claim_reference")?,
            claim_active: row.read("claim_active")?,
        })
    }
}

impl Store {
    /// What a till presents to its sticker now, with what its claiming payment is doing.
    pub async fn presented(&self, till_id: &str) -> Result<Option<PresentedRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            // The claiming payment by its reference once known (its landing token is pruned when it
            // is old and finished), by its landing token before.
            Ok(query_as(
                "SELECT p.till_id, p.amount, p.currency, p.description, p.claimed_by, p.claimed_phone, \
                 pay.reference AS claim_reference, pay.active AS claim_active \
                 FROM presented p LEFT JOIN payments pay ON pay.reference = p.claim_reference \
                 OR (p.claim_reference IS NULL AND pay.landing_token = p.claimed_by) \
                 WHERE p.till_id = $1",
            )
            .bind(till_id)
            .fetch_optional(&mut *db)
            .await?)
        })
    }

    /// Presents an amount, replacing what was presented and voiding its claim. Returns the
    /// landing token of the payment whose claim was voided, if any, so it can be taken back.
    pub async fn present(&self, presented: &PresentedRow, now: i64) -> Result<Option<String>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let mut tx = db.begin().await?;
            // Deleted and inserted in one transaction: no customer sees nothing presented between.
            let voided: Option<Option<String>> =
                query_scalar("DELETE FROM presented WHERE till_id = $1 RETURNING claimed_by")
                    .bind(&presented.till_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            query(
                "INSERT INTO presented (till_id, amount, currency, description, presented_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&presented.till_id)
            .bind(presented.amount)
            .bind(presented.currency.name())
            .bind(&presented.description)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(voided.flatten())
        })
    }

    /// Claims what a till presents for the payment with landing token `token`, sent to
    /// `phone` (masked): only while nobody has claimed it, and, when `seen` names the amount
    /// the customer was shown, only if the till still presents exactly that. Compared and
    /// claimed in one statement, so a till changing or taking back the amount at the same moment
    /// either comes first (nothing is claimed) or voids this claim.
    pub async fn claim_presented(
        &self,
        till_id: &str,
        token: &str,
        phone: Option<&str>,
        seen: Option<(i64, Currency)>,
    ) -> Result<Option<PresentedRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!(
                "UPDATE presented SET claimed_by = $1, claimed_phone = $2 \
                 WHERE till_id = $3 AND claimed_by IS NULL AND ($4 OR (amount = $5 AND currency = $6)) \
                 RETURNING {RETURNED}"
            ))
            .bind(token)
            .bind(phone)
            .bind(till_id)
            .bind(seen.is_none())
            .bind(seen.map(|(amount, _)| amount))
            .bind(seen.map(|(_, currency)| currency.name()))
            .fetch_optional(&mut *db)
            .await?)
        })
    }

    /// Records the reference of the payment that holds the claim `token`. False when the claim
    /// no longer holds: the till took the amount back or presented another since.
    pub async fn confirm_claim(
        &self,
        till_id: &str,
        token: &str,
        reference: &str,
    ) -> Result<bool, StoreError> {
        on!(self.db().await?.conn(), |db| {
            let updated =
                query("UPDATE presented SET claim_reference = $1 WHERE till_id = $2 AND claimed_by = $3")
                    .bind(reference)
                    .bind(till_id)
                    .bind(token)
                    .execute(&mut *db)
                    .await?;
            Ok(updated.rows_affected() == 1)
        })
    }

    /// Moves the claim `from` (a customer's payment that was declined or expired) to the payment
    /// with landing token `to`, sent to `phone` (masked), for a "send again": only while the till
    /// still presents what `from` claimed. Returns what it presents; `None` once the till took the
    /// amount back or presented another, so nothing is sent again after the till moved on, and a
    /// withdrawal or a new amount reaches the payment sent again as it reaches the first.
    pub async fn move_claim(
        &self,
        till_id: &str,
        from: &str,
        to: &str,
        phone: Option<&str>,
    ) -> Result<Option<PresentedRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!(
                "UPDATE presented SET claimed_by = $1, claimed_phone = $2, claim_reference = NULL \
                 WHERE till_id = $3 AND claimed_by = $4 RETURNING {RETURNED}"
            ))
            .bind(to)
            .bind(phone)
            .bind(till_id)
            .bind(from)
            .fetch_optional(&mut *db)
            .await?)
        })
    }

    /// Gives up the claim `token` (its payment could not be made), leaving the amount for the
    /// next customer, unless the till took it back or presented another since.
    pub async fn release_claim(&self, till_id: &str, token: &str) -> Result<(), StoreError> {
        on!(self.db().await?.conn(), |db| {
            query(
                "UPDATE presented SET claimed_by = NULL, claimed_phone = NULL, claim_reference = NULL \
                 WHERE till_id = $1 AND claimed_by = $2",
            )
            .bind(till_id)
            .bind(token)
            .execute(&mut *db)
            .await?;
            Ok(())
        })
    }

    /// Takes an unclaimed amount from the till (for a check-in charged at once). Returns what it
    /// was, so exactly one payment can use it; a claimed amount is a customer's already.
    pub async fn take_presented(&self, till_id: &str) -> Result<Option<PresentedRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!(
                "DELETE FROM presented WHERE till_id = $1 AND claimed_by IS NULL RETURNING {RETURNED}"
            ))
            .bind(till_id)
            .fetch_optional(&mut *db)
            .await?)
        })
    }

    /// The till takes back what it presented, claimed or not. Returns what it was, with the
    /// claim it voids.
    pub async fn withdraw_presented(&self, till_id: &str) -> Result<Option<PresentedRow>, StoreError> {
        on!(self.db().await?.conn(), |db| {
            Ok(query_as(&format!("DELETE FROM presented WHERE till_id = $1 RETURNING {RETURNED}"))
                .bind(till_id)
                .fetch_optional(&mut *db)
                .await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presented(amount: i64) -> PresentedRow {
        PresentedRow {
            till_id: "till-1".into(),
            amount,
            currency: Currency::Nok,
            description: None,
            claimed_by: None,
            claimed_phone: None,
            claim_reference: None,
            claim_active: None,
        }
    }

    /// Records a payment of the till with landing token `token`, still going or not.
    async fn payment(store: &Store, reference: &str, token: &str, active: bool) {
        on!(store.db().await.unwrap().conn(), |db| {
            query(
                "INSERT INTO payments (reference, till_id, msn, flow, currency, amount, status, active, \
             created_at, updated_at, landing_token) VALUES ($1, 'till-1', '123456', 'sticker', 'NOK', 4900, \
             'awaitingCustomer', $2, 1, 1, $3)",
            )
            .bind(reference)
            .bind(active)
            .bind(token)
            .execute(&mut *db)
            .await
            .unwrap();
        });
    }

    #[tokio::test]
    async fn a_presented_amount_is_claimed_by_exactly_one_payment() {
        for store in crate::store::testing::stores().await {
            store.present(&presented(4900), 0).await.unwrap();
            store.present(&presented(5000), 1).await.unwrap();
            assert_eq!(
                store.presented("till-1").await.unwrap().unwrap().amount,
                5000,
                "the newest amount counts"
            );
            let claimed =
                store.claim_presented("till-1", "kari", Some("+47 ••• •• 567"), None).await.unwrap();
            assert_eq!(claimed.map(|row| row.amount), Some(5000));
            assert_eq!(
                store.claim_presented("till-1", "ola", None, None).await.unwrap(),
                None,
                "claimed once"
            );
            let row = store.presented("till-1").await.unwrap().unwrap();
            assert_eq!(
                (row.claimed_by.as_deref(), row.claimed_phone.as_deref()),
                (Some("kari"), Some("+47 ••• •• 567")),
                "the till sees who claimed it"
            );
            assert_eq!(store.take_presented("till-1").await.unwrap(), None, "nor can a check-in take it");
        }
    }

    #[tokio::test]
    async fn an_amount_the_till_changed_or_took_back_cannot_be_claimed_by_a_request_that_saw_it() {
        for store in crate::store::testing::stores().await {
            store.present(&presented(4000), 0).await.unwrap();
            store.present(&presented(4500), 1).await.unwrap();
            let seen = Some((4000, Currency::Nok));
            assert_eq!(store.claim_presented("till-1", "kari", None, seen).await.unwrap(), None);
            let row = store.presented("till-1").await.unwrap().unwrap();
            assert_eq!((row.amount, row.claimed_by), (4500, None), "the new amount stays for the customer");
            let in_euro = Some((4500, Currency::Eur));
            assert_eq!(store.claim_presented("till-1", "kari", None, in_euro).await.unwrap(), None);

            store.withdraw_presented("till-1").await.unwrap();
            let seen = Some((4500, Currency::Nok));
            assert_eq!(
                store.claim_presented("till-1", "kari", None, seen).await.unwrap(),
                None,
                "taken back"
            );
            assert_eq!(store.presented("till-1").await.unwrap(), None);
        }
    }

    #[tokio::test]
    async fn a_new_amount_or_a_withdrawal_voids_the_claim_and_a_late_release_or_confirmation_changes_nothing()
    {
        for store in crate::store::testing::stores().await {
            store.present(&presented(4500), 0).await.unwrap();
            store.claim_presented("till-1", "kari", None, None).await.unwrap().unwrap();
            assert_eq!(store.present(&presented(5000), 1).await.unwrap().as_deref(), Some("kari"), "voided");
            assert!(!store.confirm_claim("till-1", "kari", "till-1-a").await.unwrap(), "the claim is gone");
            let row = store.presented("till-1").await.unwrap().unwrap();
            assert_eq!((row.amount, row.claimed_by), (5000, None), "the new amount stands, unclaimed");

            store.claim_presented("till-1", "ola", None, None).await.unwrap().unwrap();
            store.release_claim("till-1", "kari").await.unwrap();
            let row = store.presented("till-1").await.unwrap().unwrap();
            assert_eq!(row.claimed_by.as_deref(), Some("ola"), "a late release frees nobody else's claim");
            let withdrawn = store.withdraw_presented("till-1").await.unwrap().unwrap();
            assert_eq!(
                withdrawn.claimed_by.as_deref(),
                Some("ola"),
                "the withdrawal names the claim it voids"
            );
            store.release_claim("till-1", "ola").await.unwrap();
            assert_eq!(store.presented("till-1").await.unwrap(), None, "a release does not bring it back");
        }
    }

    #[tokio::test]
    async fn a_claim_moves_to_a_payment_sent_again_only_while_the_till_presents_what_it_claimed() {
        for store in crate::store::testing::stores().await {
            store.present(&presented(4500), 0).await.unwrap();
            store.claim_presented("till-1", "kari", None, None).await.unwrap().unwrap();
            payment(&store, "till-1-a", "kari", false).await;
            assert!(store.confirm_claim("till-1", "kari", "till-1-a").await.unwrap());

            assert_eq!(
                store.move_claim("till-1", "ola", "ola-2", None).await.unwrap(),
                None,
                "not Ola's claim"
            );
            let moved = store.move_claim("till-1", "kari", "kari-2", Some("+47 ••• •• 567")).await.unwrap();
            assert_eq!(moved.map(|row| row.amount), Some(4500));
            let row = store.presented("till-1").await.unwrap().unwrap();
            assert_eq!(
                (row.claimed_by.as_deref(), row.claim_reference.as_deref(), row.used_up()),
                (Some("kari-2"), None, false),
                "claimed by the new payment, which is not recorded yet"
            );
            assert_eq!(
                store.withdraw_presented("till-1").await.unwrap().and_then(|row| row.claimed_by).as_deref(),
                Some("kari-2"),
                "a withdrawal names the payment sent again"
            );
            assert_eq!(
                store.move_claim("till-1", "kari-2", "kari-3", None).await.unwrap(),
                None,
                "taken back"
            );
        }
    }

    #[tokio::test]
    async fn a_claim_whose_payment_failed_to_start_is_released_for_the_next_customer() {
        for store in crate::store::testing::stores().await {
            store.present(&presented(4500), 0).await.unwrap();
            store.claim_presented("till-1", "kari", Some("+47 ••• •• 567"), None).await.unwrap().unwrap();
            store.release_claim("till-1", "kari").await.unwrap();
            let row = store.presented("till-1").await.unwrap().unwrap();
            assert_eq!((row.claimed_by, row.claimed_phone), (None, None));
            assert!(store.claim_presented("till-1", "ola", None, None).await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn a_claimed_amount_is_used_up_once_its_payment_has_finished_even_without_its_landing_token() {
        for store in crate::store::testing::stores().await {
            store.present(&presented(4900), 0).await.unwrap();
            store.claim_presented("till-1", "kari", None, None).await.unwrap().unwrap();
            let waiting = store.presented("till-1").await.unwrap().unwrap();
            assert_eq!((waiting.claim_active, waiting.used_up()), (None, false), "not recorded yet");

            payment(&store, "till-1-a", "kari", true).await;
            let going = store.presented("till-1").await.unwrap().unwrap();
            assert_eq!((going.claim_reference.as_deref(), going.used_up()), (Some("till-1-a"), false));
            assert!(store.confirm_claim("till-1", "kari", "till-1-a").await.unwrap());

            // Finished, and old enough for the retention job to forget its landing token.
            on!(store.db().await.unwrap().conn(), |db| {
                query(
                    "UPDATE payments SET active = FALSE, landing_token = NULL WHERE reference = 'till-1-a'",
                )
                .execute(&mut *db)
                .await
                .unwrap();
            });
            assert!(store.presented("till-1").await.unwrap().unwrap().used_up());
        }
    }
}
