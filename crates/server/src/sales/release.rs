//! The rest of a reservation after a PoS's one capture. A MobilePay PoS v10 payment is captured
//! once, and that capture ends it: no integration asks for what it left reserved, which would stay
//! held on the customer's card until the reservation ran out ("cancel the remainder as soon as
//! possible", the ePayment guide on partial capture). So kasse releases it once the capture is
//! confirmed, however it is: at once for its PoS (the v10 facade), or when the reconciler's resend
//! of a capture the platform had not answered is; and a release that could not be recorded then
//! (the database away, the process gone) is made when the payment is next read back, which stays
//! due every half minute until the rest is let go or the platform refuses to. Never while a
//! capture is on its way: a release reaching the platform first would let go of what that capture
//! is for.

use kasse_api::{Sale, SaleStatus};

use super::record::Write;
use super::writes::{on_its_way, waiting};
use super::{CAPTURED_BY_THE_POS, SaleError, Sales};
use crate::store::{OperationKind, OperationRow, OperationStatus, PaymentRow};

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

    /// Under `row`'s lock, once its capture is confirmed or whenever it is read back: releases
    /// the rest if its PoS captured it in part ([`owes_release`]). Never fails the capture or the
    /// reading: a release that gets no answer stays recorded and the reconciler sends it again;
    /// one not recorded (the database away, the process gone) is made at the payment's next
    /// reading, which [`owes_release`] keeps due; one the platform refused says so on the sale
    /// (with the refusal, see `writes::refusal_note`), which ends it: asking again would only be
    /// refused again, and the rest is held until the reservation runs out.
    pub(super) async fn release_after_capture(&self, mut row: PaymentRow) {
        if !owes_release(&row) {
            return;
        }
        let reference = row.reference.clone();
        let operations = match self.inner.store.operations_for(&reference).await {
            Ok(operations) => operations,
            Err(e) => {
                tracing::warn!(%reference, error = %e, "could not release the rest of a PoS's payment; will try again");
                return;
            }
        };
        // On its way: the reconciler sends it again, with its backoff.
        if on_its_way(&operations, OperationKind::Cancel) {
            return;
        }
        if !captured_by_the_pos(&operations) {
            // Captured elsewhere (the merchant portal): the PoS's own capture, still to come,
            // releases the rest. Not read for it meanwhile: a v10 payment is read for nothing
            // else once captured (no loyalty lookup), so the poll is this one's.
            if row.next_poll_at.take().is_some()
                && let Err(e) = self.inner.store.update_payment(&mut row).await
            {
                tracing::warn!(%reference, error = %e, "could not stop reading a payment");
            }
            return;
        }
        match self.release_locked(row, &operations, None).await {
            Ok(_) | Err(SaleError::Pending(_)) => {}
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

/// Whether `row` is a payment its PoS captured in part whose rest is still held, and no release
/// of it was refused (said on the sale, [`RELEASE_REFUSED`]): v10's capture ends its payment, so that rest is
/// released, and the payment read back until it is.
pub(super) fn owes_release(row: &PaymentRow) -> bool {
    row.client_key.as_deref().is_some_and(|key| key.starts_with(CAPTURED_BY_THE_POS))
        && row.status() == SaleStatus::Captured
        && row.authorized - row.captured - row.cancelled > 0
        && !row.failure.as_deref().is_some_and(|note| note.starts_with(RELEASE_REFUSED))
}

/// How the sale says a release of what its PoS's capture left held was refused (followed by the
/// platform's reason).
pub(super) const RELEASE_REFUSED: &str = "Captured, but releasing the rest of the reservation failed";

/// Whether the PoS's own capture of the payment whose `operations` these are was confirmed.
fn captured_by_the_pos(operations: &[OperationRow]) -> bool {
    operations.iter().any(|op| {
        op.kind == OperationKind::Capture
            && op.status == OperationStatus::Done
            && op.client_key.as_deref().is_some_and(|key| key.starts_with(CAPTURED_BY_THE_POS))
    })
}
