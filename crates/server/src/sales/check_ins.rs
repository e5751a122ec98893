//! Check-ins at callback stickers (`user.checked-in.v1`): recorded, told to the till whose sticker
//! it is, charged by the till (or at once, if the till is set to), and forgotten after the
//! platform's 15 minutes.

use kasse_api::{CheckIn, Money, NewSale, Payer, SaleStatus, TillEvent};

use super::{SaleError, Sales, routing};
use crate::store::CheckInRow;

impl Sales {
    /// Records a customer's check-in at a callback sticker, tells the till whose sticker it is,
    /// and charges the till's presented amount at once if the till is set to.
    pub async fn check_in(&self, event: &kasse_vipps::webhooks::UserCheckedIn) -> Result<(), SaleError> {
        let now = crate::now_ms();
        let at =
            chrono::DateTime::parse_from_rfc3339(&event.initiated_at).map_or(now, |t| t.timestamp_millis());
        // The till's `callback_qr`, or the till the QR tools saved for the sticker (a migrated
        // MobilePay beacon, a new callback sticker); if the two disagree, neither is guessed.
        let route =
            routing::route(&self.inner.config, &self.inner.store, &event.msn, &event.merchant_qr_id).await?;
        let till = match route {
            routing::Route::Till(till) => Some(till),
            routing::Route::Nobody => None,
            routing::Route::Conflict(conflict) => {
                tracing::error!("a check-in reached no till: {conflict}");
                None
            }
        };
        let row = CheckInRow {
            // The token identifies the customer's scan; its hash makes a repeated webhook the same row.
            id: check_in_id(&event.customer_token),
            msn: event.msn.clone(),
            merchant_qr_id: event.merchant_qr_id.clone(),
            till_id: till.map(|t| t.id.clone()),
            customer_token: event.customer_token.clone(),
            initiated_at: at,
            expires_at: at + CHECK_IN_LIFETIME_MS,
            charged_by: None,
            received_at: now,
        };
        if !self.inner.store.insert_check_in(&row).await? {
            // Seen before: delivered again, or this delivery worked on again after it was cut
            // short (a crash, the database gone a moment), maybe before the till heard of it. The
            // till is told again, as the check-in stands now; it is never charged from here
            // again, since the till may present the next customer's amount by now.
            if let Some(stored) = self.inner.store.check_in(&row.id).await? {
                self.publish_check_in(&stored, None).await?;
            }
            return Ok(());
        }
        let Some(till) = till else {
            tracing::warn!(merchant_qr_id = %event.merchant_qr_id, msn = %event.msn, "a check-in at a sticker no till owns");
            return Ok(());
        };
        tracing::info!(till = %till.id, merchant_qr_id = %event.merchant_qr_id, "customer checked in");
        // Not told means not acted on: the delivery is worked on again, and the till told then.
        self.publish_check_in(&row, None).await?;
        if let Some(store) = self.inner.config.store(&till.store) {
            self.greet(store, &kasse_vipps::epayment::Customer::customer_token(&event.customer_token));
        }
        if till.charge_on_check_in
            && let Some(presented) = self.inner.store.take_presented(&till.id).await?
        {
            self.sticker_changed(till).await;
            // The till is set to charge whoever checks in with what it presents.
            let new = NewSale {
                amount: Money::new(presented.amount, presented.currency),
                description: presented.description.clone(),
                lines: Vec::new(),
                payer: Payer::CheckIn { check_in: row.id.clone() },
                loyalty: false,
            };
            let started = self.start(&till.id, new, None).await;
            // The amount is the till's again only if no sale carries it. A create whose answer
            // never came goes ahead (the reconciler sends it again, with its key), so its amount
            // must not be offered to the next customer as well.
            match self.charged(&row.id).await {
                Ok(true) => {}
                Ok(false) => {
                    let why = started.map_or_else(|e| e.to_string(), |sale| format!("{:?}", sale.status));
                    tracing::warn!(till = %till.id, why, "could not charge a check-in; the amount is presented again");
                    self.inner.store.present(&presented, crate::now_ms()).await?;
                    self.sticker_changed(till).await;
                }
                Err(e) => {
                    tracing::error!(till = %till.id, error = %e, "cannot tell whether a check-in was charged; its amount is not presented again");
                }
            }
        }
        Ok(())
    }

    /// Whether a sale charges check-in `id`: one took it, and the platform has not refused it.
    async fn charged(&self, id: &str) -> Result<bool, SaleError> {
        let Some(reference) = self.inner.store.check_in(id).await?.and_then(|c| c.charged_by) else {
            return Ok(false);
        };
        let sale = self.inner.store.payment(&reference).await?;
        Ok(sale.is_some_and(|sale| sale.status() != SaleStatus::Failed))
    }

    /// Forgets the platform tokens of check-ins past their 15 minutes.
    pub async fn expire_check_ins(&self) -> Result<(), SaleError> {
        let forgotten = self.inner.store.expire_check_ins(crate::now_ms()).await?;
        if forgotten > 0 {
            tracing::info!(forgotten, "expired check-ins");
        }
        Ok(())
    }

    /// A till's check-ins that can still be charged.
    pub async fn open_check_ins(&self, till_id: &str) -> Result<Vec<CheckIn>, SaleError> {
        self.till(till_id)?;
        Ok(self
            .inner
            .store
            .open_check_ins(till_id, crate::now_ms())
            .await?
            .iter()
            .map(|c| check_in_view(c, None))
            .collect())
    }

    /// Tells the till whose sticker it is of a check-in (charged by `charged_by`, or as stored).
    pub(super) async fn publish_check_in(
        &self,
        row: &CheckInRow,
        charged_by: Option<&str>,
    ) -> Result<(), SaleError> {
        let Some(till_id) = &row.till_id else { return Ok(()) };
        let event = TillEvent::CheckIn { check_in: check_in_view(row, charged_by) };
        self.inner.live.publish(till_id, &event).await?;
        Ok(())
    }
}

/// A check-in's customer token is valid this long after the scan (the platform's 15 minutes).
const CHECK_IN_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// A stable id for a check-in that reveals nothing of its token.
fn check_in_id(customer_token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(customer_token.as_bytes());
    crate::hex(&digest[..12])
}

pub(super) fn check_in_view(row: &CheckInRow, charged_by: Option<&str>) -> CheckIn {
    CheckIn {
        id: row.id.clone(),
        at_ms: row.initiated_at,
        expires_at_ms: row.expires_at,
        charged_by: charged_by.map(str::to_owned).or_else(|| row.charged_by.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_in_id_is_stable_and_does_not_reveal_the_token() {
        let id = check_in_id("wbA8ceVRKkoYiQAVELHeFCC3Sn5dtNCvvEtVPiOT77j6wx7uR965AG6Q+q0ATP4=");
        assert_eq!(id, check_in_id("wbA8ceVRKkoYiQAVELHeFCC3Sn5dtNCvvEtVPiOT77j6wx7uR965AG6Q+q0ATP4="));
        assert_eq!(id.len(), 24);
        assert!(!id.contains("wbA8"));
    }
}
