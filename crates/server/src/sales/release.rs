//! The rest of a reservation after a PoS's one capture. A MobilePay PoS v10 payment is captured
//! once, and that capture ends it: no integration asks for what it left reserved, which would stay
//! held on the customer's card until the reservation ran out ("cancel the remainder as soon as
//! possible", the ePayment guide on partial capture). So kasse releases it once the capture is
//! confirmed, however it is: at once for its PoS (the v10 facade), or when the reconciler's resend
//! of a capture the platform had not answered is. Never while a capture is on its way: a release
//! reaching the platform first would let go of what that capture is for.

use kasse_api::{Sale, SaleStatus};

use super::record::Write;
use super::writes::waiting;
use super::{CAPTURED_BY_THE_POS, SaleError, Sales};
use crate::store::{OperationKind, OperationRow, PaymentRow};

impl Sales {
    /// Releases what is left reserved of a sale its PoS captured in part, under `client_key`: the
    /// sale then, or `None` when nothing is left, or while a capture is on its way (the reconciler
    /// releases it once that capture is confirmed).
    pub async fn release_the_rest(
        &self,
        till_id: &str,
        reference: &str,
        client_key: &str,
    ) -> Result<Option<Sale>, SaleError> {
        let _guard = self.inner.locks.lock(reference).await?;
        let (row, operations) = self.row_of_till_with_operations(till_id, reference).await?;
        // Before a release this key asked for is sent again, too.
        if waiting(&operations, OperationKind::Capture) > 0 {
            return Ok(None);
        }
        if let Some(done) =
            self.replayed(&row, &operations, Some(client_key), OperationKind::Cancel, None).await?
        {
            return Ok(Some(done));
        }
        // A key whose release was refused asks again, recorded without it (as `cancel` does).
        let client_key =
            Some(client_key).filter(|k| !operations.iter().any(|op| op.client_key.as_deref() == Some(*k)));
        self.release_locked(row, &operations, client_key).await
    }

    /// After the capture of `row`'s payment was confirmed, under its lock: releases the rest if
    /// its PoS captures it itself. Never fails the capture: a release that gets no answer stays
    /// recorded and is sent again; one refused, or not recorded (the database away), is logged,
    /// and the rest is held until the reservation runs out (its PoS, told the capture was made,
    /// has no reason to send it again).
    pub(super) async fn release_after_capture(&self, row: PaymentRow) {
        if !row.client_key.as_deref().is_some_and(|key| key.starts_with(CAPTURED_BY_THE_POS)) {
            return;
        }
        let reference = row.reference.clone();
        let released = match self.inner.store.operations_for(&reference).await {
            Ok(operations) => self.release_locked(row, &operations, None).await.map(drop),
            Err(e) => Err(e.into()),
        };
        match released {
            Ok(()) | Err(SaleError::Pending(_)) => {}
            Err(e) => tracing::warn!(%reference, error = %e, "could not release the rest of a PoS's payment"),
        }
    }

    /// [`Sales::release_the_rest`] of `row`, whose `operations` are these, under its lock.
    async fn release_locked(
        &self,
        row: PaymentRow,
        operations: &[OperationRow],
        client_key: Option<&str>,
    ) -> Result<Option<Sale>, SaleError> {
        let left = row.authorized - row.captured - row.cancelled;
        if row.status() != SaleStatus::Captured
            || left <= 0
            || waiting(operations, OperationKind::Capture) > 0
        {
            return Ok(None);
        }
        let write = Write::Cancel { transaction_only: false };
        let (key, attempt) = self.record(&row, operations, &write, client_key).await?;
        tracing::info!(reference = %row.reference, left, "releasing what the PoS's capture left reserved");
        self.send_cancel(row, &key, attempt).await.map(Some)
    }
}
