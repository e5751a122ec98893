//! The platform writes of a sale after its create: cancel, capture and refund, each recorded with
//! its idempotency key before it is sent, and sending any recorded write with its key and body.
//!
//! What is left to capture or refund counts the writes of that kind still waiting for the
//! platform's answer as if done: a second refund over the rest while the first is unanswered is
//! refused at once, not sent for the platform to refuse (or, had the first been lost, to allow).

use kasse_api::{CaptureRequest, Money, RefundRequest, Sale, SaleStatus};
use kasse_vipps::epayment::{Amount, State};

use super::record::{Write, idempotency_key};
use super::status::{FIRST_POLL_MS, PLATFORM_TIMEOUT_MS, apply, refusal_sentence, sale_view};
use super::{Action, SaleError, Sales, Sent, for_now};
use crate::live::Announcement;
use crate::platform::to_vipps;
use crate::store::{OperationKind, OperationRow, OperationStatus, PaymentRow};

impl Sales {
    /// Cancels a sale. Before the customer approves, only the request is cancelled
    /// (`cancelTransactionOnly`), so a customer approving at the same moment wins and is then
    /// paid for. After approval, whatever is not captured is released.
    #[tracing::instrument(name = "cancel", skip_all, fields(%reference))]
    pub async fn cancel(
        &self,
        till_id: &str,
        reference: &str,
        client_key: Option<&str>,
    ) -> Result<Sale, SaleError> {
        let _guard = self.inner.locks.lock(reference).await?;
        let (mut row, operations) = self.row_of_till_with_operations(till_id, reference).await?;
        if let Some(done) = self.replayed(&row, &operations, client_key, OperationKind::Cancel, None).await? {
            return Ok(done);
        }
        // A key whose cancel the platform refused asks again (see `replayed`): the new attempt is
        // recorded without it, which stays with the first.
        let client_key =
            client_key.filter(|k| !operations.iter().any(|op| op.client_key.as_deref() == Some(*k)));
        let status = row.status();
        let transaction_only = match status {
            SaleStatus::Creating | SaleStatus::AwaitingCustomer | SaleStatus::Cancelling => true,
            SaleStatus::Authorized => false,
            SaleStatus::Captured if row.authorized - row.captured - row.cancelled > 0 => false,
            other => return Err(SaleError::WrongStatus { status: other, action: Action::Cancel }),
        };
        let write = Write::Cancel { transaction_only };
        let (key, attempt) = if transaction_only && status != SaleStatus::Cancelling {
            row.set_status(SaleStatus::Cancelling);
            self.record_saving(&mut row, &operations, &write, client_key).await?
        } else {
            self.record(&row, &operations, &write, client_key).await?
        };
        self.send_cancel(row, &key, attempt).await
    }

    pub(super) async fn send_cancel(
        &self,
        mut row: PaymentRow,
        key: &str,
        attempt: Attempt<'_>,
    ) -> Result<Sale, SaleError> {
        let create_key = idempotency_key(&row.reference, OperationKind::Create, 1);
        // The platform having the payment means a create still recorded as unconfirmed did arrive.
        match self.send_confirming(&mut row, key, Some(&create_key), attempt).await? {
            Sent::Confirmed => {
                tracing::info!(reference = %row.reference, "cancelled");
                Ok(sale_view(&row))
            }
            Sent::Unknown => Err(SaleError::Pending(Box::new(sale_view(&row)))),
            Sent::Refused(e) if e.error_code() == Some(6060) => {
                tracing::info!(reference = %row.reference, "the customer approved before the cancel");
                // The platform has the payment, so a create still recorded as unconfirmed did arrive.
                self.inner.store.finish_operation(&create_key, None, crate::now_ms()).await?;
                self.refresh_locked(&row.reference).await?;
                Err(SaleError::AlreadyApproved)
            }
            Sent::Refused(e)
                if e.error_code() == Some(5090) && !self.create_confirmed(&row.reference).await? =>
            {
                // The platform does not have the payment yet: nothing to cancel there now, but its
                // create may still be on its way, so the sale is withdrawn and watched.
                self.withdraw_sale(&mut row).await?;
                Ok(sale_view(&row))
            }
            Sent::Refused(e) => {
                self.refresh_locked(&row.reference).await?;
                Err(SaleError::Platform(refusal_sentence(&e)))
            }
        }
    }

    pub(super) async fn create_confirmed(&self, reference: &str) -> Result<bool, SaleError> {
        let key = idempotency_key(reference, OperationKind::Create, 1);
        Ok(self.inner.store.operation(&key).await?.is_some_and(|op| op.status == OperationStatus::Done))
    }

    /// Captures an approved sale: `amount`, or everything still reserved.
    #[tracing::instrument(name = "capture", skip_all, fields(%reference))]
    pub async fn capture(
        &self,
        till_id: &str,
        reference: &str,
        request: &CaptureRequest,
        client_key: Option<&str>,
    ) -> Result<Sale, SaleError> {
        let _guard = self.inner.locks.lock(reference).await?;
        let (row, operations) = self.row_of_till_with_operations(till_id, reference).await?;
        let amount = request.amount.map(|a| a.value);
        // Asked again after the platform could only not make it just now: a new capture.
        let client_key = client_key.map(|key| for_now::client_key(key, amount, &operations));
        let client_key = client_key.as_deref();
        // v10's capture is its payment's one: another capture made or on its way (unanswered,
        // its PoS told so) refuses this one, judged under the lock, so that two sent at once
        // cannot both pass. This request's own, found by its key, is replayed below.
        let captured_by_the_pos = client_key.is_some_and(|key| key.starts_with(super::CAPTURED_BY_THE_POS));
        if captured_by_the_pos
            && operations.iter().any(|op| {
                op.kind == OperationKind::Capture
                    && op.status != OperationStatus::Failed
                    && op.client_key.as_deref() != client_key
            })
        {
            return Err(SaleError::CapturedOnce);
        }
        if let Some(done) =
            self.replayed(&row, &operations, client_key, OperationKind::Capture, amount).await?
        {
            return Ok(done);
        }
        if !matches!(row.status(), SaleStatus::Authorized | SaleStatus::Captured) {
            return Err(SaleError::WrongStatus { status: row.status(), action: Action::Capture });
        }
        let left =
            row.authorized - row.captured - row.cancelled - waiting(&operations, OperationKind::Capture);
        let amount = Self::amount_within(&row, request.amount, left)?;
        self.capture_locked(row, &operations, amount, client_key).await
    }

    /// Captures `amount` of `row`'s payment, whose `operations` are these, under its lock.
    pub(super) async fn capture_locked(
        &self,
        mut row: PaymentRow,
        operations: &[OperationRow],
        amount: i64,
        client_key: Option<&str>,
    ) -> Result<Sale, SaleError> {
        let write = Write::Capture(Amount::new(amount, to_vipps(row.currency)));
        let (key, attempt) = self.record(&row, operations, &write, client_key).await?;
        match self.send_as(&mut row, &key, attempt).await? {
            Sent::Confirmed => {
                tracing::info!(reference = %row.reference, amount, "captured");
                self.clear_failure(&mut row).await;
                Ok(sale_view(&row))
            }
            Sent::Unknown => Err(SaleError::Pending(Box::new(sale_view(&row)))),
            // Said on the sale as the refusal was recorded (see `refusal_note`).
            Sent::Refused(e) => Err(SaleError::Platform(refusal_sentence(&e))),
        }
    }

    /// Refunds `amount` of what a sale captured.
    pub async fn refund(
        &self,
        till_id: &str,
        reference: &str,
        request: &RefundRequest,
        client_key: Option<&str>,
    ) -> Result<Sale, SaleError> {
        self.refund_unconfirmed(till_id, reference, request, client_key, None).await
    }

    /// Refunds `amount` of what a sale captured, unless the sale's refunds (those made, those
    /// waiting for the platform, and this one) would then come to more than `limit`, which needs
    /// a confirmation this request does not carry. Judged under the payment's lock, so two
    /// refunds at once cannot each pass it alone.
    #[tracing::instrument(name = "refund", skip_all, fields(%reference))]
    pub async fn refund_unconfirmed(
        &self,
        till_id: &str,
        reference: &str,
        request: &RefundRequest,
        client_key: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Sale, SaleError> {
        let _guard = self.inner.locks.lock(reference).await?;
        let (mut row, operations) = self.row_of_till_with_operations(till_id, reference).await?;
        let amount = Some(request.amount.value);
        if let Some(done) =
            self.replayed(&row, &operations, client_key, OperationKind::Refund, amount).await?
        {
            return Ok(done);
        }
        if row.captured == 0 {
            return Err(SaleError::WrongStatus { status: row.status(), action: Action::Refund });
        }
        let waiting = waiting(&operations, OperationKind::Refund);
        let amount = Self::amount_within(&row, Some(request.amount), row.captured - row.refunded - waiting)?;
        if let Some(limit) = limit
            && row.refunded + waiting + amount > limit
        {
            return Err(SaleError::ConfirmationNeeded { limit });
        }
        let write = Write::Refund(Amount::new(amount, to_vipps(row.currency)));
        let (key, attempt) = self.record(&row, &operations, &write, client_key).await?;
        match self.send_as(&mut row, &key, attempt).await? {
            Sent::Confirmed => {
                tracing::info!(reference = %row.reference, amount, "refunded");
                // A refund refused when sent again is said on the sale until one goes through.
                self.clear_failure(&mut row).await;
                Ok(sale_view(&row))
            }
            Sent::Unknown => Err(SaleError::Pending(Box::new(sale_view(&row)))),
            Sent::Refused(e) => Err(SaleError::Platform(refusal_sentence(&e))),
        }
    }

    /// Clears what the sale said had failed, once a capture or refund has gone through. Not
    /// storing that is logged, never the write's answer: the write is done and recorded, and a
    /// cashier told it failed would make it again, under a new key.
    pub(super) async fn clear_failure(&self, row: &mut PaymentRow) {
        if row.failure.take().is_some()
            && let Err(e) = self.save(row).await
        {
            tracing::warn!(reference = %row.reference, error = %e, "a write went through, but clearing the sale's earlier failure was not stored");
        }
    }

    /// Checks an amount asked for against what is `left`; `None` means all of it.
    pub(super) fn amount_within(row: &PaymentRow, asked: Option<Money>, left: i64) -> Result<i64, SaleError> {
        // Writes still waiting can count for more than the platform's totals leave (one it
        // applied whose answer was lost): nothing is left then, not less than nothing.
        let left = left.max(0);
        let amount = match asked {
            Some(money) if money.currency != row.currency => {
                return Err(SaleError::WrongCurrency { expected: row.currency });
            }
            Some(money) => money.value,
            None => left,
        };
        if amount <= 0 || amount > left {
            return Err(SaleError::AmountOutOfRange { left });
        }
        Ok(amount)
    }

    /// If the browser's key already asked for a write on this sale (among its `operations`), the
    /// answer the first request had, as things stand now: the sale, once the write is done (one
    /// still pending is sent again first, and is still pending, or refused, if the platform says
    /// so); the refusal again, if the platform refused it. A cancel refused while the customer was
    /// still at it (their approval being processed, say) is asked for again, as pressing Cancel
    /// again would: `None`, as for a key not seen before.
    pub(super) async fn replayed(
        &self,
        row: &PaymentRow,
        operations: &[OperationRow],
        client_key: Option<&str>,
        kind: OperationKind,
        amount: Option<i64>,
    ) -> Result<Option<Sale>, SaleError> {
        let Some(client_key) = client_key else { return Ok(None) };
        let Some(operation) = operations.iter().find(|op| op.client_key.as_deref() == Some(client_key))
        else {
            return Ok(None);
        };
        // The same key for another request is a mistake, not a retry: doing nothing would hide it.
        if operation.kind != kind || amount.is_some_and(|a| operation.amount != Some(a)) {
            return Err(SaleError::KeyReused);
        }
        let mut row = row.clone();
        match operation.status {
            OperationStatus::Done => Ok(Some(sale_view(&row))),
            // Sent again as its kind is sent: a cancel the platform answers "no such payment" must
            // withdraw the sale, as the first cancel would have, or its create waits on it forever.
            OperationStatus::Pending if kind == OperationKind::Cancel => {
                self.send_cancel(row, &operation.idempotency_key, Attempt::Again).await.map(Some)
            }
            OperationStatus::Pending => match self.send(&mut row, &operation.idempotency_key).await? {
                Sent::Confirmed => Ok(Some(sale_view(&row))),
                Sent::Unknown => Err(SaleError::Pending(Box::new(sale_view(&row)))),
                Sent::Refused(e) => Err(SaleError::Platform(refusal_sentence(&e))),
            },
            OperationStatus::Failed if kind == OperationKind::Cancel => {
                let request_only =
                    matches!(Write::from_stored(operation), Some(Write::Cancel { transaction_only: true }));
                match row.status() {
                    // A request-only cancel the customer's approval overtook stays what it was:
                    // never a release of the money they approved.
                    SaleStatus::Authorized | SaleStatus::Captured | SaleStatus::Refunded if request_only => {
                        Err(SaleError::AlreadyApproved)
                    }
                    // Still in play, or a release that was refused: the cancel is asked again.
                    SaleStatus::Creating
                    | SaleStatus::AwaitingCustomer
                    | SaleStatus::Cancelling
                    | SaleStatus::Authorized
                    | SaleStatus::Captured
                    | SaleStatus::Refunded => Ok(None),
                    // Ended unpaid however it ended (the platform's "no such payment" withdrew
                    // it, the customer declined, it ran out): what the cancel asked for holds, and
                    // its sender hears so, never that an approval won.
                    SaleStatus::Declined
                    | SaleStatus::Expired
                    | SaleStatus::Cancelled
                    | SaleStatus::Failed => Ok(Some(sale_view(&row))),
                }
            }
            OperationStatus::Failed => Err(SaleError::Platform(format!(
                "The payment service refused this request when it was first sent ({}).",
                operation.error.as_deref().unwrap_or("no reason recorded")
            ))),
        }
    }

    /// Records a write with the next key of its kind among the payment's `operations` (read under
    /// its lock); returns the key, and which attempt sending it next is.
    pub(super) async fn record<'w>(
        &self,
        row: &PaymentRow,
        operations: &[OperationRow],
        write: &'w Write,
        client_key: Option<&str>,
    ) -> Result<(String, Attempt<'w>), SaleError> {
        let (key, body) = match next_key(row, operations, write) {
            NextKey::Earlier(key) => return Ok((key, Attempt::Again)),
            NextKey::New(key, body) => (key, body),
        };
        let operation = write.record(&row.reference, &key, &body, client_key);
        let fresh = self.inner.store.begin_operation(operation, crate::now_ms()).await?;
        crate::crash_point(&format!("after-record:{}", write.kind().as_str()));
        Ok((key, if fresh { Attempt::First(write) } else { Attempt::Again }))
    }

    /// [`Sales::record`], saving `row` as it now is with it (with the till's event showing it),
    /// together: one statement on PostgreSQL, where the two apart were a round trip more.
    async fn record_saving<'w>(
        &self,
        row: &mut PaymentRow,
        operations: &[OperationRow],
        write: &'w Write,
        client_key: Option<&str>,
    ) -> Result<(String, Attempt<'w>), SaleError> {
        let (key, body) = match next_key(row, operations, write) {
            NextKey::Earlier(key) => {
                self.save(row).await?;
                return Ok((key, Attempt::Again));
            }
            NextKey::New(key, body) => (key, body),
        };
        row.touch();
        let announcement = self.announcement(row).await;
        // The payment's row is written with the record, so the record borrows its own reference.
        let reference = row.reference.clone();
        let operation = write.record(&reference, &key, &body, client_key);
        let event = announcement.as_ref().map(Announcement::event);
        let id = self.inner.store.begin_operation_saving(operation, crate::now_ms(), row, event).await?;
        self.announced(row, announcement, id).await;
        crate::crash_point(&format!("after-record:{}", write.kind().as_str()));
        Ok((key, Attempt::First(write)))
    }

    /// Sends a recorded write with its key and stored body, and applies the platform's answer.
    pub(super) async fn send(&self, row: &mut PaymentRow, key: &str) -> Result<Sent, SaleError> {
        self.send_confirming(row, key, None, Attempt::Again).await
    }

    /// [`Sales::send`], as `attempt`.
    pub(super) async fn send_as(
        &self,
        row: &mut PaymentRow,
        key: &str,
        attempt: Attempt<'_>,
    ) -> Result<Sent, SaleError> {
        self.send_confirming(row, key, None, attempt).await
    }

    /// [`Sales::send_as`], and if the platform confirms, records the write `also` as done with it.
    pub(super) async fn send_confirming(
        &self,
        row: &mut PaymentRow,
        key: &str,
        also: Option<&str>,
        attempt: Attempt<'_>,
    ) -> Result<Sent, SaleError> {
        let store = &self.inner.store;
        // The write as recorded, byte for byte: what is sent under a key must be what every
        // resend sends.
        let recorded = match attempt {
            Attempt::First(write) => Write::from_body(write.kind(), &write.body()),
            Attempt::Again => {
                let Some(operation) = store.begin_attempt(key, crate::now_ms()).await? else {
                    // Not pending: confirmed or refused already (another attempt finished it), or
                    // unknown.
                    return match store.operation(key).await? {
                        Some(_) => Ok(Sent::Confirmed),
                        None => Err(SaleError::NotFound(key.to_owned())),
                    };
                };
                Write::from_stored(&operation)
            }
        };
        let Some(write) = recorded else {
            store.finish_operation(key, Some("the recorded request cannot be read"), crate::now_ms()).await?;
            return Err(SaleError::Platform(
                "A recorded request could not be read; it was not sent.".to_owned(),
            ));
        };
        let client = self.client(&row.msn)?;
        let reference = row.reference.clone();
        let answer = match &write {
            Write::Create(request) => client.create_payment(request, key).await.map(|answer| {
                created(row, answer.redirect_url, crate::now_ms());
                true
            }),
            Write::Capture(amount) => client
                .capture_payment(&reference, *amount, key)
                .await
                .map(|done| apply(row, done.state, &done.aggregate)),
            Write::Refund(amount) => client
                .refund_payment(&reference, *amount, key)
                .await
                .map(|done| apply(row, done.state, &done.aggregate)),
            Write::Cancel { transaction_only } => client
                .cancel_payment(&reference, *transaction_only, key)
                .await
                .map(|done| apply(row, done.state, &done.aggregate)),
        };
        let kind = write.kind().as_str();
        // Whether the platform answered at all is what tills are told when it stops answering.
        self.inner.platform.note(&row.msn, &answer);
        match answer {
            Ok(_) => {
                crate::crash_point(&format!("after-send:{kind}"));
                self.inner.metrics.platform_write(kind, "confirmed");
                self.schedule_poll(row);
                row.touch();
                let keys: Vec<&str> = std::iter::once(key).chain(also).collect();
                let announcement = self.announcement(row).await;
                let event = announcement.as_ref().map(Announcement::event);
                match store.confirm(&keys, row, row.updated_at, event).await {
                    Ok(id) => {
                        self.announced(row, announcement, id).await;
                        Ok(Sent::Confirmed)
                    }
                    // Applied at the platform, but not written down here (the database away, or
                    // the payment taken on elsewhere when this request lost its lock): the write
                    // stays recorded and is sent again with its key, which finds it applied. The
                    // caller hears so, never that it failed: a cashier told to try again would
                    // make the refund a second time, under a new key.
                    Err(e) => {
                        tracing::warn!(%reference, kind, error = %e, "applied at the platform but not recorded; will confirm it by sending it again");
                        Ok(Sent::Unknown)
                    }
                }
            }
            Err(e) if undecided(&e, attempt) => {
                self.inner.metrics.platform_write(kind, "unknown");
                if let Attempt::First(_) = attempt
                    && let Err(counting) = store.begin_attempt(key, crate::now_ms()).await
                {
                    // Counted now, not before it went, so a resend backs off from the end of this
                    // attempt. Not counted, it is sent again at the reconciler's next round: what
                    // the caller must hear is still that the outcome is unknown.
                    tracing::warn!(%reference, kind, error = %counting, "could not count an attempt that had no answer");
                }
                // The platform may or may not have it: the same key and body go again later.
                tracing::warn!(%reference, kind, error = %e, "no answer; will send again with the same key");
                Ok(Sent::Unknown)
            }
            Err(e) => {
                self.inner.metrics.platform_write(kind, "refused");
                tracing::warn!(%reference, kind, error = %e, "the platform refused");
                // One time for the refusal, as decided and as recorded, so that the note and the
                // reconciler's next ask agree (see `for_now::next_ask`).
                let refused_at = crate::now_ms();
                let asked_again = write.kind() == OperationKind::Capture
                    && e.error_code() == Some(for_now::CAPTURE_FAILED_FOR_NOW)
                    && self.captures_automatically(row)
                    && self.asks_again_after(row, key, &e, refused_at).await?;
                let note = if asked_again {
                    Some(for_now::ASKED_AGAIN.to_owned())
                } else {
                    refusal_note(write.kind(), attempt, super::release::owes_release(row), &e)
                };
                let Some(note) = note else {
                    store.finish_operation(key, Some(&e.to_string()), refused_at).await?;
                    return Ok(Sent::Refused(e));
                };
                // Said on the sale in the same statement that records the refusal: apart, a
                // database gone between the two left the write refused and nobody told (a refused
                // automatic capture then waited unseen until its reservation ran out). Not
                // written, the write stays pending, and its resend hears the refusal again.
                row.failure = Some(note);
                self.schedule_poll(row);
                row.touch();
                let announcement = self.announcement(row).await;
                let event = announcement.as_ref().map(Announcement::event);
                let id = store.refuse(key, &e.to_string(), refused_at, row, event).await?;
                self.announced(row, announcement, id).await;
                Ok(Sent::Refused(e))
            }
        }
    }
}

/// `row` as the platform's having its payment leaves it (its create's answer, or a reading that
/// found it): created, waiting for its customer, with the link its flow shows (`redirect_url`: a
/// QR code, the app's address), its first reading due in a moment.
pub(super) fn created(row: &mut PaymentRow, redirect_url: Option<String>, now: i64) {
    row.platform_state = Some(State::Created);
    row.set_status(SaleStatus::AwaitingCustomer);
    row.qr = redirect_url;
    row.expires_at = Some(row.created_at + PLATFORM_TIMEOUT_MS);
    row.next_poll_at = Some(now + FIRST_POLL_MS);
}

/// What the sale says when the platform refuses a write of `kind`, sent as `attempt`: a capture
/// always (the money was approved and is not taken; an automatic one then waits for a person,
/// unless kasse asks again, see `for_now`);
/// a refund when it was sent again (its cashier, told it was kept, heard nothing since; a first
/// refusal is said to the cashier at once); the release of what a PoS's capture left held
/// (`releasing`: nobody asked for it, and the note is what ends its asking, see `release`).
/// `None` for the others, whose callers say it.
fn refusal_note(
    kind: OperationKind,
    attempt: Attempt<'_>,
    releasing: bool,
    refusal: &kasse_vipps::Error,
) -> Option<String> {
    let sentence = refusal_sentence(refusal);
    match (kind, attempt) {
        (OperationKind::Capture, _) => Some(format!("Approved, but taking the money failed: {sentence}")),
        (OperationKind::Refund, Attempt::Again) => Some(format!("A refund was refused: {sentence}")),
        (OperationKind::Cancel, _) if releasing => {
            Some(format!("{}: {sentence}", super::release::RELEASE_REFUSED))
        }
        _ => None,
    }
}

/// The key a write is to be recorded under.
enum NextKey {
    /// That of the same intent, recorded before.
    Earlier(String),
    /// A new one, with the write's body.
    New(String, String),
}

/// Which sending of a recorded write this is.
#[derive(Debug, Clone, Copy)]
pub(super) enum Attempt<'w> {
    /// Its first, by the request that has just recorded it, under the payment's lock, with the
    /// write at hand: nothing is read back from the database, and the attempt is counted only if
    /// the platform does not answer (it counts for the resends' backoff, which then runs from the
    /// end of this attempt). That spares a round trip for every write sent at once, which is
    /// nearly all of them.
    First(&'w Write),
    /// Any other: the attempt is counted and the write read back as recorded, in one statement,
    /// which finds out too whether another attempt has finished it meanwhile.
    Again,
}

/// Whether a write of `kind` among `operations` is recorded and not answered yet (the
/// reconciler sends it again).
pub(super) fn on_its_way(operations: &[OperationRow], kind: OperationKind) -> bool {
    operations.iter().any(|op| op.kind == kind && op.status == OperationStatus::Pending)
}

/// What the writes of `kind` among a payment's `operations` that still wait for the platform's
/// answer move: recorded, maybe applied, and sent again until answered.
pub(super) fn waiting(operations: &[OperationRow], kind: OperationKind) -> i64 {
    operations
        .iter()
        .filter(|op| op.kind == kind && op.status == OperationStatus::Pending)
        .filter_map(|op| op.amount)
        .sum()
}

/// The key to record `write` under on `row`'s payment, whose `operations` are these, with its body
/// if it is new.
fn next_key(row: &PaymentRow, operations: &[OperationRow], write: &Write) -> NextKey {
    let kind = write.kind();
    let body = write.body();
    // A cancel of the same kind is one intent however often it is asked for: reuse its key,
    // unless the platform refused it (a refusal stays with its key, so asking again needs a new one).
    if let Write::Cancel { .. } = write
        && let Some(same) = operations.iter().find(|op| {
            op.kind == kind && op.request.as_deref() == Some(&body) && op.status != OperationStatus::Failed
        })
    {
        return NextKey::Earlier(same.idempotency_key.clone());
    }
    let n = operations.iter().filter(|op| op.kind == kind).count() + 1;
    NextKey::New(idempotency_key(&row.reference, kind, n), body)
}

/// Whether `e`, the answer to `attempt` of a write, leaves the write's fate open (kept, and sent
/// again with its key) rather than refused. An answer with no outcome does; so does one refused
/// unread (credentials or token not taken, or no token to send it with) to a write sent before
/// (or recorded by a request that died), which that earlier sending may have applied: it is
/// sent again once the platform lets kasse in, never recorded refused.
fn undecided(e: &kasse_vipps::Error, attempt: Attempt<'_>) -> bool {
    e.outcome_unknown() || (matches!(attempt, Attempt::Again) && e.refused_unread())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_sent_before_and_now_refused_unread_stays_open_and_a_first_one_is_refused() {
        let refused = |status| kasse_vipps::Error::Rejected { status, problem: Box::default() };
        let no_token = kasse_vipps::Error::NoToken(Box::new(refused(400)));
        let write =
            Write::Capture(kasse_vipps::Amount { currency: kasse_vipps::Currency::Nok, value: 1_000 });
        for unread in [refused(401), refused(403), no_token] {
            assert!(undecided(&unread, Attempt::Again), "{unread}");
            assert!(!undecided(&unread, Attempt::First(&write)), "never sent before: {unread}");
        }
        assert!(!undecided(&refused(400), Attempt::Again), "a refusal of the write itself");
        assert!(undecided(&kasse_vipps::Error::Unreachable("timed out".into()), Attempt::First(&write)));
    }
}
