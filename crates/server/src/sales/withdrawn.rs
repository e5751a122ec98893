//! Sales the cashier cancelled before the platform had their payment.
//!
//! A cancel answered 404 ("no such payment") proves nothing about a create that may still be on
//! its way: a request can reach the platform after its sender gave up, or died. So such a sale is
//! *withdrawn* rather than forgotten. It shows Cancelled at once and frees its till, and kasse
//! keeps watching its reference until the platform's own expiry for it has passed. If the
//! payment turns up (CREATED, or already AUTHORIZED by a quick customer), kasse cancels it there
//! at once, releasing any reservation, and records why. The till keeps showing Cancelled
//! throughout, and nothing of a withdrawn sale is ever captured.

use kasse_api::SaleStatus;
use kasse_vipps::epayment::State;

use super::record::{Write, idempotency_key};
use super::status::{PLATFORM_TIMEOUT_MS, POLL_AUTHORIZED_MS, POLL_EVERY_MS};
use super::writes::Attempt;
use super::{SaleError, Sales, Sent};
use crate::store::{Named as _, NewOperation, OperationKind, OperationStatus, PaymentRow};

/// How long after the withdrawal its reference is watched: the ten minutes the platform gives a
/// payment (counted from the last time we could have sent its create), and a minute more for a
/// create still on its way.
pub const WATCH_MS: i64 = PLATFORM_TIMEOUT_MS + 60_000;

/// Whether the platform holds something of the payment that could still be charged: a request
/// the customer can approve, or a reservation not captured or released.
pub fn open_at_platform(row: &PaymentRow) -> bool {
    match row.platform_state {
        Some(State::Created) => true,
        Some(State::Authorized) => row.authorized > row.captured + row.cancelled,
        _ => false,
    }
}

/// When to look at a withdrawn sale next, at `now`: soon while the platform holds something open
/// of it, and while its create may still arrive; never once it is closed there, or the watch is
/// over without it ever arriving.
pub fn next_look(row: &PaymentRow, now: i64) -> Option<i64> {
    if open_at_platform(row) {
        return Some(now + POLL_EVERY_MS);
    }
    let unseen = row.platform_state.is_none();
    (unseen && row.watch_until.is_some_and(|until| now < until)).then_some(now + POLL_EVERY_MS)
}

impl Sales {
    /// The cashier's cancel found no payment at the platform, and its create was never
    /// confirmed: the sale ends Cancelled here, its recorded create is never sent again, and its
    /// reference is watched for a create that arrives late.
    pub(super) async fn withdraw_sale(&self, row: &mut PaymentRow) -> Result<(), SaleError> {
        let now = crate::now_ms();
        let create_key = idempotency_key(&row.reference, OperationKind::Create, 1);
        self.inner
            .store
            .finish_operation(&create_key, Some("withdrawn: cancelled before the platform had it"), now)
            .await?;
        // A second 404 (a resent cancel) neither moves the start of the watch nor shortens it.
        row.withdrawn_at.get_or_insert(now);
        row.watch_until = Some(row.watch_until.unwrap_or(0).max(now + WATCH_MS));
        row.set_status(SaleStatus::Cancelled);
        row.next_poll_at = next_look(row, now);
        self.save(row).await?;
        tracing::info!(
            reference = %row.reference,
            watch_minutes = WATCH_MS / 60_000,
            "cancelled before the platform had it; watching for a create that arrives late"
        );
        Ok(())
    }

    /// A withdrawn sale whose payment turned up at the platform: cancels whatever is open there
    /// (the request, or the whole reservation), once, with a key of its own.
    pub(super) async fn enforce_withdrawal(&self, mut row: PaymentRow) -> Result<(), SaleError> {
        if !open_at_platform(&row) {
            return Ok(());
        }
        if row.captured > 0 {
            // Never by kasse: something else on this sales unit took money for a cancelled sale.
            tracing::error!(reference = %row.reference, captured = row.captured, "a cancelled sale was captured at the platform");
        }
        let store = &self.inner.store;
        let earlier = store.operations_for(&row.reference).await?;
        let cancels = earlier.iter().filter(|op| op.kind == OperationKind::Cancel);
        if cancels.clone().any(|op| op.status == OperationStatus::Pending) {
            // Recorded and on its way: the reconciler sends it again with the same key.
            return Ok(());
        }
        let state = row.platform_state.map_or("unknown", State::name);
        let reason = format!(
            "the cashier cancelled this sale before the platform had it; its payment reached the platform later ({state}) and is cancelled there"
        );
        let write = Write::Cancel { transaction_only: false };
        let key = idempotency_key(&row.reference, OperationKind::Cancel, cancels.count() + 1);
        let body = write.body();
        let operation =
            NewOperation { reason: Some(&reason), ..write.record(&row.reference, &key, &body, None) };
        if !store.begin_operation(operation, crate::now_ms()).await? {
            return Ok(());
        }
        tracing::warn!(reference = %row.reference, %state, "a sale cancelled at the till reached the platform late; cancelling it there");
        match self.send_as(&mut row, &key, Attempt::First(&write)).await? {
            Sent::Confirmed => {
                tracing::info!(reference = %row.reference, released = row.cancelled, "the late payment is cancelled; nothing was charged");
            }
            Sent::Unknown => {}
            Sent::Refused(e) => {
                // Still open there: look again a little later, with a new key.
                tracing::error!(reference = %row.reference, error = %e, "the platform refused to cancel a late payment; trying again");
                row.next_poll_at = Some(crate::now_ms() + POLL_AUTHORIZED_MS);
                store.update_payment(&mut row).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn withdrawn(platform_state: Option<State>, authorized: i64, cancelled: i64) -> PaymentRow {
        PaymentRow {
            reference: "till-1-abc".into(),
            till_id: "till-1".into(),
            msn: "123456".into(),
            flow: kasse_api::Flow::Qr,
            currency: kasse_api::Currency::Nok,
            amount: 1000,
            status: SaleStatus::Cancelled,
            active: false,
            platform_state,
            qr: None,
            expires_at: None,
            authorized,
            captured: 0,
            cancelled,
            refunded: 0,
            failure: None,
            next_poll_at: None,
            created_at: 0,
            updated_at: 0,
            read_version: 0,
            description: None,
            masked_phone: None,
            client_key: None,
            sticker_id: None,
            landing_token: None,
            withdrawn_at: Some(0),
            watch_until: Some(WATCH_MS),
            integrator_id: None,
            order_id: None,
            loyalty: None,
        }
    }

    #[test]
    fn a_withdrawn_sale_is_watched_until_the_platforms_expiry_for_it_has_passed() {
        let unseen = withdrawn(None, 0, 0);
        assert_eq!(next_look(&unseen, 1_000), Some(1_000 + POLL_EVERY_MS));
        assert_eq!(next_look(&unseen, WATCH_MS - 1), Some(WATCH_MS - 1 + POLL_EVERY_MS));
        assert_eq!(next_look(&unseen, WATCH_MS), None, "never arrived: the watch is over");
    }

    #[test]
    fn what_turned_up_at_the_platform_is_looked_at_until_nothing_of_it_is_open() {
        let late = WATCH_MS + 1;
        for (state, authorized, cancelled, open) in [
            (Some(State::Created), 0, 0, true),
            (Some(State::Authorized), 1000, 0, true),
            (Some(State::Authorized), 1000, 1000, false),
            (Some(State::Terminated), 0, 1000, false),
            (Some(State::Aborted), 0, 0, false),
            (Some(State::Expired), 0, 0, false),
        ] {
            let row = withdrawn(state, authorized, cancelled);
            assert_eq!(open_at_platform(&row), open, "{state:?} {authorized} {cancelled}");
            assert_eq!(next_look(&row, late).is_some(), open, "even after the watch: {state:?}");
        }
    }
}
