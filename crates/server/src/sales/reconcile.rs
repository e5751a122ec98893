//! Reconciliation: reading a payment back from the platform (on a webhook, by polling, or when a
//! cashier asks), capturing what is due, and sending again every recorded write the platform has
//! not confirmed.

use kasse_api::{Sale, SaleStatus};
use kasse_vipps::epayment::{PaymentEventName, State, UserFlow, WebhookEvent};

use super::locks::LocalGuard;
use super::record::idempotency_key;
use super::status::{POLL_AUTHORIZED_MS, POLL_EVERY_MS, apply, sale_view};
use super::writes::{Attempt, created};
use super::{SaleError, Sales, Sent, for_now, withdrawn};
use crate::config::CapturePolicy;
use crate::store::{
    OperationKind, OperationRow, OperationStatus, PaymentRow, SettlesIf, StoreError, TakenEvent,
};

/// A payment event taken from the webhook inbox ([`Sales::take_payment_event`]), its payment held
/// by this process until it is dropped or acted on ([`Sales::on_payment_event`]).
#[must_use = "an event not settled is acted on with it"]
pub struct TakenPaymentEvent {
    /// Whether it was new among the payment's events (not recorded by an earlier delivery).
    pub new: bool,
    /// Whether it left nothing to do, and its delivery is marked processed.
    pub settled: bool,
    here: LocalGuard,
}

impl Sales {
    /// Reads the payment from the platform (and sends again anything it has pending), now.
    #[tracing::instrument(name = "reconcile", skip_all, fields(%reference))]
    pub async fn reconcile(&self, till_id: &str, reference: &str) -> Result<Sale, SaleError> {
        self.row_of_till(till_id, reference).await?;
        let pending: Vec<_> = self
            .inner
            .store
            .operations_for(reference)
            .await?
            .into_iter()
            .filter(|op| op.status == OperationStatus::Pending)
            .collect();
        for op in pending {
            self.resend(&op.reference, &op.idempotency_key).await?;
        }
        self.refresh(reference).await?;
        Ok(sale_view(&self.payment(reference).await?))
    }

    /// Takes the stored webhook `id` about a payment (see [`Store::take_payment_event`]): records
    /// the event and, when it only echoes what the payment's row holds or is about no payment of
    /// ours, marks the webhook processed, all in one turn at the database. `None` if another
    /// instance processed it meanwhile. One not settled this way goes to
    /// [`Sales::on_payment_event`], with the payment still held in this process.
    ///
    /// [`Store::take_payment_event`]: crate::store::Store::take_payment_event
    pub async fn take_payment_event(
        &self,
        id: i64,
        event: &WebhookEvent,
    ) -> Result<Option<TakenPaymentEvent>, StoreError> {
        // A webhook often overtakes the answer to the write that caused it (the platform sends it
        // as it answers), and that answer is stored under the payment's lock. Waiting here for a
        // request of this instance that has the payment, most often that very write, costs no
        // round trip to the database, and the event then settles at once: taken before, it did
        // not, and was taken a second time (two statements a sale more on PostgreSQL). Only this
        // payment's deliveries wait meanwhile, each payment's being a queue of their own
        // (`crate::inbox`), which holds one of the inbox's places to work as it waits (as it did
        // when it waited after its first take). With the inbox's earlier batches, where every
        // delivery read together waited for the slowest, waiting here held up events about other
        // payments: the p95 of the webhook-to-till latency across instances went from about 42
        // to 87-176 ms.
        let here = self.inner.locks.lock_here(&event.reference).await;
        // Read without the payment's lock at the database: what makes an echo (a platform state,
        // a confirmed write) never goes away once stored, so a decision to skip cannot be made
        // stale.
        let taken = self.take(id, event).await?;
        Ok(taken.map(|taken| TakenPaymentEvent { new: taken.new, settled: taken.settled, here }))
    }

    /// Acts on the stored webhook `id` about a payment that [`Sales::take_payment_event`] did not
    /// settle: reads the payment back from the platform ([`Sales::refresh`]) unless, once the
    /// payment's lock is ours, the delivery has been processed meanwhile (by another instance) or
    /// the event only echoes what its row holds after all; then marks the delivery processed,
    /// still under the lock. Whether this call processed it.
    #[tracing::instrument(name = "payment_event", skip_all, fields(reference = %event.reference))]
    pub async fn on_payment_event(
        &self,
        id: i64,
        event: &WebhookEvent,
        taken: TakenPaymentEvent,
    ) -> Result<bool, SaleError> {
        let _guard = self.inner.locks.lock_everywhere(taken.here, &event.reference).await?;
        // Taken again, now under the lock: the request that had the payment (at another instance,
        // most often) may have stored what makes the event an echo, and then it settles in the
        // same statement (on PostgreSQL) that finds whether it is processed and reads the row.
        let Some(again) = self.take(id, event).await? else { return Ok(false) };
        if !again.settled {
            self.refresh_locked(&event.reference).await?;
            self.inner.store.mark_processed(id, crate::now_ms()).await?;
        }
        Ok(true)
    }

    /// Takes the stored webhook `id` about a payment (see [`Store::take_payment_event`]), settling
    /// it if it only echoes what its payment's row holds.
    ///
    /// [`Store::take_payment_event`]: crate::store::Store::take_payment_event
    async fn take(&self, id: i64, event: &WebhookEvent) -> Result<Option<TakenEvent>, StoreError> {
        let settles =
            |row: Option<&PaymentRow>, operation: Option<&OperationRow>| settles(event, row, operation);
        let key = our_write(event).map(|(_, key)| key);
        let at_the_database = settles_at_the_database(event);
        self.inner.store.take_payment_event(id, event, key, settles, at_the_database, crate::now_ms()).await
    }

    /// Reads the payment from the platform and shows it; captures it if it is due.
    #[tracing::instrument(name = "refresh", skip_all, fields(%reference))]
    pub async fn refresh(&self, reference: &str) -> Result<(), SaleError> {
        let _guard = self.inner.locks.lock(reference).await?;
        self.refresh_locked(reference).await
    }

    pub(super) async fn refresh_locked(&self, reference: &str) -> Result<(), SaleError> {
        let Some(mut row) = self.inner.store.payment(reference).await? else {
            // Not one of ours (another system on the same sales unit): nothing to do.
            return Ok(());
        };
        if row.status() == SaleStatus::Failed {
            // Its create was refused: the platform never had it.
            return Ok(());
        }
        // Its create had no answer yet: read back all the same, since the platform may have it
        // (its webhook said so, its create held in the platform's gateway arrived late). Found,
        // it moves on now; otherwise its create's resends decide, and those the platform may
        // refuse 429 for up to a minute (five writes a minute on one payment), the till showing
        // "creating" all that time though the customer's phone shows the payment.
        let creating = row.status() == SaleStatus::Creating;
        let client = match self.client(&row.msn) {
            Ok(client) => client,
            Err(e) => {
                // Its sales unit left the configuration, and nothing can read the payment until
                // it is back. Looked at again later, not first in every round: a hundred such
                // payments, the oldest due, would fill every round and no other would be polled.
                if row.next_poll_at.is_some() {
                    row.next_poll_at = Some(crate::now_ms() + POLL_AUTHORIZED_MS);
                    self.inner.store.update_payment(&mut row).await?;
                }
                return Err(e);
            }
        };
        let remote = match client.get_payment(reference).await {
            Ok(remote) => remote,
            Err(e) if creating => {
                tracing::debug!(%reference, error = %e, "not read (not at the platform yet, or no answer); its create decides");
                return Ok(());
            }
            Err(e) if row.withdrawn() && e.status() == Some(404) => {
                // Its create has not arrived (and may never): watch on, or stop when it is time.
                row.next_poll_at = withdrawn::next_look(&row, crate::now_ms());
                if row.next_poll_at.is_none() {
                    tracing::info!(%reference, "the cancelled sale never reached the platform; no longer watching");
                }
                self.inner.store.update_payment(&mut row).await?;
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(%reference, error = %e, "could not read the payment; will poll again");
                row.next_poll_at = Some(crate::now_ms() + POLL_EVERY_MS);
                self.inner.store.update_payment(&mut row).await?;
                return Ok(());
            }
        };
        let create_key = idempotency_key(reference, OperationKind::Create, 1);
        if creating {
            // What the customer is shown must come with it: nothing for a push to their phone,
            // the landing page for the app (a reading carries it too); a QR code's link only the
            // create's answer carries (a reading's is the landing page's), so that one decides.
            let shown = match super::start::user_flow(row.flow) {
                UserFlow::PushMessage => true,
                UserFlow::WebRedirect => remote.redirect_url.is_some(),
                _ => false,
            };
            if !shown {
                return Ok(());
            }
            tracing::info!(%reference, "the platform has the payment its create had no answer for");
            created(&mut row, remote.redirect_url, crate::now_ms());
        }
        let changed = apply(&mut row, remote.state, &remote.aggregate);
        self.schedule_poll(&mut row);
        let now = crate::now_ms();
        let look_up = remote.profile.sub.filter(|_| super::loyalty::still_looking(&row, now));
        if look_up.is_some() {
            // Written down with the reading, so that a crash before the lookup's answer loses
            // nothing: the payment is read again, and looked up again, until it is done.
            row.next_poll_at = Some(super::loyalty::next_look(&row, now));
        }
        if creating {
            self.save_confirming(&mut row, &[&create_key]).await?;
        } else if changed {
            self.save(&mut row).await?;
        } else {
            // Nothing the till shows changed (a repeated webhook, a poll): store the poll time only.
            self.inner.store.update_payment(&mut row).await?;
        }
        if row.withdrawn() {
            return self.enforce_withdrawal(row).await;
        }
        if super::release::owes_release(&row) {
            // Boxed: a release the platform refuses reads the payment back, which comes here.
            Box::pin(self.release_after_capture(row)).await;
        } else {
            self.capture_if_due(row).await?;
        }
        if let Some(sub) = look_up {
            // The customer shared their number: looked up beside the payment, never holding it up.
            self.recognise_later(reference, sub);
        }
        Ok(())
    }

    /// Captures the whole amount of an approved sale, once, if its till captures automatically;
    /// again, under a new key, while the platform only says it cannot take the money just now
    /// (see `for_now`).
    pub(super) async fn capture_if_due(&self, row: PaymentRow) -> Result<(), SaleError> {
        if row.status() != SaleStatus::Authorized || !self.captures_automatically(&row) || row.cancelled > 0 {
            return Ok(());
        }
        let earlier = self.inner.store.operations_for(&row.reference).await?;
        let captures: Vec<&OperationRow> =
            earlier.iter().filter(|op| op.kind == OperationKind::Capture).collect();
        // Recorded already: the reconciler sends it while it is pending, and a refusal waits for
        // a person, unless it was only "not now".
        if !captures.is_empty() && !for_now::due(&row, &captures, crate::now_ms()) {
            return Ok(());
        }
        if !captures.is_empty() {
            tracing::info!(reference = %row.reference, tries = captures.len(), "capturing again, as the platform asked");
        }
        let amount = row.authorized;
        match self.capture_locked(row, &earlier, amount, None).await {
            Ok(_) | Err(SaleError::Pending(_) | SaleError::Platform(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sends again every recorded write that has not been confirmed, with its original key: each
    /// as its backoff allows, or, in the first round after a start, all of them at once.
    pub async fn retry_pending(&self, round: Round) -> Result<(), SaleError> {
        let now = crate::now_ms();
        let touched_before = if round == Round::First { now } else { now - POLL_EVERY_MS };
        for op in self.inner.store.pending_operations(touched_before).await? {
            let op = match op {
                Ok(op) => op,
                Err(e) => {
                    // Never skipped in silence: left as it is, said every round until mended.
                    tracing::error!(error = %e, "a recorded platform write cannot be read, so it is not sent again");
                    self.inner.metrics.unreadable_row();
                    continue;
                }
            };
            if !resend_due(round, op.attempts, op.updated_at, now) {
                continue;
            }
            // Claimed, not waited for: a payment someone is working on, here or at another
            // instance, is theirs for now, and its write is looked at again next round. Except in
            // the first round after a start, which waits its turn: its writes are sent now, not
            // after the backoff a later round would find (what holds the lock at a start is
            // mostly this process's own inbox, reading the same payment).
            let claim = match round {
                Round::First => Some(self.inner.locks.lock(&op.reference).await?),
                Round::Later => self.inner.locks.try_lock(&op.reference).await?,
            };
            let Some(_claim) = claim else {
                tracing::debug!(reference = %op.reference, "busy elsewhere; its write waits for the next round");
                continue;
            };
            if round == Round::First
                && self
                    .inner
                    .store
                    .operation(&op.idempotency_key)
                    .await?
                    .is_some_and(|now| now.updated_at != op.updated_at)
            {
                // Tried by another instance while this one waited: that one's backoff holds.
                continue;
            }
            tracing::info!(reference = %op.reference, kind = op.kind.as_str(), attempts = op.attempts, "sending a recorded write again");
            if let Err(e) = self.resend_locked(&op.reference, &op.idempotency_key).await {
                tracing::warn!(reference = %op.reference, error = %e, "resend failed");
            }
        }
        Ok(())
    }

    /// Sends one recorded write again and lets its kind's rules handle the answer.
    #[tracing::instrument(name = "resend", skip_all, fields(%reference))]
    pub(super) async fn resend(&self, reference: &str, key: &str) -> Result<(), SaleError> {
        let _guard = self.inner.locks.lock(reference).await?;
        self.resend_locked(reference, key).await
    }

    /// [`Sales::resend`], under the payment's lock.
    async fn resend_locked(&self, reference: &str, key: &str) -> Result<(), SaleError> {
        let Some(operation) =
            self.inner.store.operation(key).await?.filter(|op| op.status == OperationStatus::Pending)
        else {
            return Ok(());
        };
        let row = self.payment(reference).await?;
        let result = match operation.kind {
            OperationKind::Create => self.send_create(reference).await.map(drop),
            OperationKind::Cancel => self.send_cancel(row, key, Attempt::Again).await.map(drop),
            OperationKind::Capture | OperationKind::Refund => {
                let mut row = row;
                match self.send(&mut row, key).await {
                    // Said on the sale as the refusal was recorded (see `writes::refusal_note`).
                    Ok(Sent::Refused(_)) => Ok(()),
                    // A PoS's capture that had no answer, confirmed now: its payment ends with it.
                    // (A "kasse asks again" note went as the capture moved the sale on: `apply`.)
                    Ok(Sent::Confirmed) if operation.kind == OperationKind::Capture => {
                        // Taken after all: what an earlier refusal said is over, as when a
                        // cashier's capture goes through.
                        self.clear_failure(&mut row).await;
                        self.release_after_capture(row).await;
                        Ok(())
                    }
                    sent => sent.map(drop),
                }
            }
        };
        match result {
            Ok(()) | Err(SaleError::Pending(_) | SaleError::AlreadyApproved | SaleError::Platform(_)) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Polls every payment whose poll is due.
    pub async fn poll_due(&self) -> Result<(), SaleError> {
        for row in self.inner.store.payments_to_poll(crate::now_ms()).await? {
            // Claimed like a pending write; and polled only if still due once claimed, since
            // another instance may have polled it meanwhile.
            let Some(_claim) = self.inner.locks.try_lock(&row.reference).await? else { continue };
            let due = self.inner.store.payment(&row.reference).await?.and_then(|now| now.next_poll_at);
            if due.is_none_or(|at| at > crate::now_ms()) {
                continue;
            }
            if let Err(e) = self.refresh_locked(&row.reference).await {
                tracing::warn!(reference = %row.reference, error = %e, "poll failed");
            }
        }
        Ok(())
    }

    /// Schedules the next poll of a payment by where it stands.
    pub(super) fn schedule_poll(&self, row: &mut PaymentRow) {
        row.next_poll_at = next_poll(row, self.captures_automatically(row), crate::now_ms());
    }

    pub(super) fn captures_automatically(&self, row: &PaymentRow) -> bool {
        // A MobilePay PoS v10 integration captures its payments itself, as it always did.
        if row.client_key.as_deref().is_some_and(|key| key.starts_with(super::CAPTURED_BY_THE_POS)) {
            return false;
        }
        match self.inner.config.till(&row.till_id) {
            Some(till) => till.capture == CapturePolicy::Automatic,
            // An open-amount sticker's payment has no cashier to take it by hand.
            None => row.till_id.is_empty(),
        }
    }
}

/// When a payment is next read from the platform, by where it stands at `now`: never once it is
/// final; every [`POLL_AUTHORIZED_MS`] while approved and waiting for a person (a cashier's
/// capture, or, where the automatic capture was refused, someone to see why: kasse does not
/// try that capture again, so reading it every 2 s would only ask the platform for nothing
/// until the reservation runs out; a capture refused only for now is asked again at such a
/// reading, see `for_now`); every [`POLL_AUTHORIZED_MS`] too while a PoS's part capture leaves
/// a rest to release (see `release`); every [`POLL_EVERY_MS`] while anything else is under way.
fn next_poll(row: &PaymentRow, captures_automatically: bool, now: i64) -> Option<i64> {
    let waits_for_a_person = !captures_automatically || row.failure.is_some();
    match row.status() {
        _ if row.withdrawn() => withdrawn::next_look(row, now),
        // Its PoS's capture left part of it held: read until that is released (see `release`).
        SaleStatus::Captured if super::release::owes_release(row) => Some(now + POLL_AUTHORIZED_MS),
        s if s.is_final() => None,
        SaleStatus::Authorized if waits_for_a_person => Some(now + POLL_AUTHORIZED_MS),
        _ => Some(row.next_poll_at.filter(|at| *at > now).unwrap_or(now + POLL_EVERY_MS)),
    }
}

/// Whether `event` leaves nothing to do: it is about no payment of ours (`row` is `None`), or
/// only echoes what the payment's row holds, `operation` being the one stored under the key of
/// the write the event names as ours ([`our_write`]), if any.
fn settles(event: &WebhookEvent, row: Option<&PaymentRow>, operation: Option<&OperationRow>) -> bool {
    let Some(row) = row else { return true };
    let confirmed = our_write(event).zip(operation).is_some_and(|((kind, _), op)| {
        op.reference == row.reference && op.kind == kind && op.status == OperationStatus::Done
    });
    let echo = is_echo(row, event, confirmed);
    if echo {
        tracing::debug!(reference = %event.reference, name = ?event.name, "the event echoes what is stored");
    }
    echo
}

/// The write of ours that `event` reports by its idempotency key, if it names one: a capture or
/// a refund (the key alone does not make it ours; [`settles`] checks the stored operation).
fn our_write(event: &WebhookEvent) -> Option<(OperationKind, &str)> {
    match (event.name, event.idempotency_key.as_deref()) {
        (PaymentEventName::Captured, Some(key)) => Some((OperationKind::Capture, key)),
        (PaymentEventName::Refunded, Some(key)) => Some((OperationKind::Refund, key)),
        _ => None,
    }
}

/// Whether a webhook tells nothing the row does not already hold, so reading the payment back
/// would change nothing: its creation once the platform's state is known (our create's answer
/// said so), the effect of a write of ours the platform answered (`confirmed`: the event names
/// that write's key, and the answer was applied), or anything once the payment reached a state
/// the platform never leaves. Everything else (an approval, a refusal, a capture in the
/// merchant portal, a failed event) is read back, as the platform asks before money moves.
fn is_echo(row: &PaymentRow, event: &WebhookEvent, confirmed: bool) -> bool {
    if !event.success || row.withdrawn() || NOT_YET_OR_NEVER.contains(&row.status()) {
        return false;
    }
    let terminal = row.platform_state.is_some_and(|state| TERMINAL.contains(&state));
    terminal || confirmed || (event.name == PaymentEventName::Created && row.platform_state.is_some())
}

/// The sale statuses in which no webhook is an echo: the create not confirmed yet, or failed.
const NOT_YET_OR_NEVER: &[SaleStatus] = &[SaleStatus::Creating, SaleStatus::Failed];
/// The platform states a payment never leaves.
const TERMINAL: &[State] = &[State::Aborted, State::Expired, State::Terminated];

/// [`settles`] as the database can decide it while the event is taken, so that an echo's delivery
/// is marked in the same statement (on PostgreSQL, a round trip less a webhook): for an event
/// that names no write of ours, [`is_echo`]'s terms on the row alone. `None` where it cannot
/// (a failed event, or one naming a write of ours, whose operation is read too).
fn settles_at_the_database(event: &WebhookEvent) -> Option<SettlesIf<'static>> {
    if !event.success || our_write(event).is_some() {
        return None;
    }
    Some(SettlesIf {
        status_not: NOT_YET_OR_NEVER,
        // A creation echoes once any platform state is known; anything else, once a final one is.
        platform_state: (event.name != PaymentEventName::Created).then_some(TERMINAL),
    })
}

/// Which round of the reconciler sends recorded writes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// The first after this process started: whatever a process before it recorded and did not
    /// see confirmed goes at once. The backoff it had reached died with it; its writes wait for
    /// nothing now but this process.
    First,
    /// Every later one: each write as its own backoff allows.
    Later,
}

/// Whether a pending write, tried `attempts` times and last at `updated_at`, is due to be sent
/// again at `now`: at once in the first round after a start, else backing off per attempt (2 s,
/// 4 s, 8 s … at most a minute between tries).
fn resend_due(round: Round, attempts: i64, updated_at: i64, now: i64) -> bool {
    let wait = POLL_EVERY_MS.saturating_mul(1 << attempts.clamp(0, 5)).min(60_000);
    round == Round::First || attempts == 0 || updated_at + wait <= now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_restart_every_unanswered_write_goes_at_once_then_each_backs_off_again() {
        let now = 1_000_000;
        // Five attempts by a process that died a moment ago: a minute's wait, had it lived.
        assert!(resend_due(Round::First, 5, now, now));
        assert!(!resend_due(Round::Later, 5, now, now));
        assert!(resend_due(Round::Later, 5, now - 60_000, now));
        assert!(!resend_due(Round::Later, 1, now - 3_999, now), "4 s after the first try");
        assert!(resend_due(Round::Later, 1, now - 4_000, now));
        assert!(resend_due(Round::Later, 0, now, now), "never tried: no wait");
    }

    fn event(name: PaymentEventName, key: Option<&str>) -> WebhookEvent {
        WebhookEvent {
            msn: "123456".into(),
            reference: "till-1-abc".into(),
            psp_reference: "psp".into(),
            name,
            amount: kasse_vipps::epayment::Amount::new(1000, kasse_vipps::Currency::Nok),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            idempotency_key: key.map(str::to_owned),
            success: true,
        }
    }

    fn at(state: Option<State>, status: SaleStatus) -> PaymentRow {
        let mut row = crate::store::fixtures::row("till-1-abc", "till-1");
        row.platform_state = state;
        row.set_status(status);
        row
    }

    #[test]
    fn a_webhook_is_read_back_unless_it_only_echoes_what_the_row_holds() {
        use PaymentEventName::{Authorized, Cancelled, Captured, Created, Refunded};
        let waiting = at(Some(State::Created), SaleStatus::AwaitingCustomer);
        assert!(is_echo(&waiting, &event(Created, Some("till-1-abc-create")), false), "our create, answered");
        assert!(
            !is_echo(&waiting, &event(Authorized, Some("till-1-abc-create")), false),
            "an approval carries the create's key, and is news"
        );
        let creating = at(None, SaleStatus::Creating);
        assert!(!is_echo(&creating, &event(Created, None), false), "the create's answer was lost: read it");

        let approved = at(Some(State::Authorized), SaleStatus::Authorized);
        assert!(
            is_echo(&approved, &event(Captured, Some("till-1-abc-capture-1")), true),
            "our capture, answered"
        );
        assert!(!is_echo(&approved, &event(Captured, None), false), "a capture made elsewhere");
        assert!(!is_echo(&approved, &event(Refunded, Some("portal")), false), "a refund made elsewhere");
        assert!(!is_echo(&approved, &event(Cancelled, None), false), "a release of the rest");
        let mut failed = event(Captured, Some("till-1-abc-capture-1"));
        failed.success = false;
        assert!(!is_echo(&approved, &failed, true), "a failure is always read back");

        let terminated = at(Some(State::Terminated), SaleStatus::Cancelled);
        assert!(is_echo(&terminated, &event(Cancelled, None), false), "nothing follows a terminated payment");
        let mut withdrawn = terminated.clone();
        withdrawn.withdrawn_at = Some(1);
        assert!(!is_echo(&withdrawn, &event(Cancelled, None), false), "a withdrawn sale is always watched");
    }

    #[test]
    fn an_approved_payment_waiting_for_a_person_is_read_every_half_minute_not_every_two_seconds() {
        let now = 1_000_000;
        let approved = at(Some(State::Authorized), SaleStatus::Authorized);
        assert_eq!(next_poll(&approved, false, now), Some(now + POLL_AUTHORIZED_MS), "captured by hand");
        assert_eq!(
            next_poll(&approved, true, now),
            Some(now + POLL_EVERY_MS),
            "its automatic capture on its way: watched closely"
        );
        let mut refused = approved.clone();
        refused.failure = Some("Approved, but taking the money failed: refused".into());
        assert_eq!(
            next_poll(&refused, true, now),
            Some(now + POLL_AUTHORIZED_MS),
            "its automatic capture refused, and not tried again"
        );
        let waiting = at(Some(State::Created), SaleStatus::AwaitingCustomer);
        assert_eq!(next_poll(&waiting, false, now), Some(now + POLL_EVERY_MS));
        assert_eq!(next_poll(&at(Some(State::Aborted), SaleStatus::Cancelled), true, now), None, "final");
    }

    #[test]
    fn a_payment_its_pos_captured_in_part_is_read_until_the_rest_is_released() {
        let now = 1_000_000;
        let mut captured = at(Some(State::Authorized), SaleStatus::Captured);
        captured.client_key = Some("v10:payment-1:capture".into());
        (captured.authorized, captured.captured) = (4_000, 1_500);
        assert_eq!(next_poll(&captured, false, now), Some(now + POLL_AUTHORIZED_MS), "DKK 25 still held");
        let mut released = captured.clone();
        released.cancelled = 2_500;
        assert_eq!(next_poll(&released, false, now), None, "nothing left held");
        let mut refused = captured.clone();
        refused.failure = Some(format!("{}: refused", super::super::release::RELEASE_REFUSED));
        assert_eq!(next_poll(&refused, false, now), None, "its release refused: not asked again");
        let mut noted = captured.clone();
        noted.failure = Some("Approved, but taking the money failed: not now".into());
        assert_eq!(
            next_poll(&noted, false, now),
            Some(now + POLL_AUTHORIZED_MS),
            "an earlier capture's refusal is no refusal of the release"
        );
        let mut a_tills = captured.clone();
        a_tills.client_key = None;
        assert_eq!(next_poll(&a_tills, false, now), None, "a till's part capture leaves the rest to it");
    }

    #[test]
    fn what_the_database_decides_for_an_echo_is_what_kasse_decides_for_every_row_and_event() {
        let every_state =
            [State::Created, State::Aborted, State::Expired, State::Authorized, State::Terminated];
        let states = [None].into_iter().chain(every_state.map(Some));
        let rows: Vec<PaymentRow> = states
            .flat_map(|state| SaleStatus::ALL.map(|status| at(state, status)))
            .flat_map(|row| {
                let mut withdrawn = row.clone();
                withdrawn.withdrawn_at = Some(1);
                [row, withdrawn]
            })
            .collect();
        let mut decided = 0;
        for name in PaymentEventName::ALL {
            for key in [None, Some("till-1-abc-capture-1")] {
                for success in [true, false] {
                    let mut event = event(name, key);
                    event.success = success;
                    let Some(condition) = settles_at_the_database(&event) else {
                        assert!(
                            !success || our_write(&event).is_some(),
                            "{name:?}: only a failure or a write of ours is left to a second statement"
                        );
                        continue;
                    };
                    assert_eq!(
                        condition.holds(None),
                        settles(&event, None, None),
                        "{name:?}, no payment of ours"
                    );
                    for row in &rows {
                        let (status, state) = (row.status(), row.platform_state);
                        assert_eq!(
                            condition.holds(Some(row)),
                            settles(&event, Some(row), None),
                            "{name:?} at {status:?}, {state:?}, withdrawn {}",
                            row.withdrawn()
                        );
                        decided += 1;
                    }
                }
            }
        }
        assert!(decided > 0);
    }
}
