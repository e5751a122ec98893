//! Sales: taking a payment at a till, durably.
//!
//! The rule everything here follows: a platform write (create, capture, cancel) is first recorded
//! with its reference and idempotency key, then sent; if the answer is lost, the same intent is
//! sent again with the same key (by the reconciler, after a crash too), so the platform applies it
//! once. What the till shows is derived from the platform's own `GET` (state and aggregate), and
//! only ever moves forward, so late, repeated or reordered webhooks change nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use kasse_api::{
    Currency, Flow, Money, MoneyError, NewSale, Sale, SaleStatus, Till, TillEvent, TillSnapshot,
};
use kasse_vipps::epayment::{
    Aggregate, Amount, CreatePaymentRequest, CustomerInteraction, PaymentMethod, PaymentMethodType, QrFormat,
    QrImageFormat, State, UserFlow,
};

use crate::config::{CapturePolicy, Config, TillConfig};
use crate::live::Live;
use crate::platform::{Platform, to_vipps};
use crate::store::{OperationKind, PaymentRow, Store, StoreError};

/// How long a customer has to act on a payment, as the platform counts it (ten minutes).
const PLATFORM_TIMEOUT_MS: i64 = 10 * 60 * 1000;
/// The polling rule: first after 5 s, then every 2 s.
const FIRST_POLL_MS: i64 = 5_000;
const POLL_EVERY_MS: i64 = 2_000;
/// An approved payment waiting for a manual capture is looked at less often.
const POLL_AUTHORIZED_MS: i64 = 30_000;

/// Why a sale request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SaleError {
    /// No such till.
    #[error("there is no till '{0}'")]
    UnknownTill(String),
    /// No such payment.
    #[error("there is no payment '{0}'")]
    NotFound(String),
    /// The amount is in another currency than the store's.
    #[error("this store takes {expected}")]
    WrongCurrency {
        /// The store's currency.
        expected: Currency,
    },
    /// The amount cannot be charged.
    #[error(transparent)]
    Amount(#[from] MoneyError),
    /// The till has a sale in progress.
    #[error("the till has a payment in progress: {reference}")]
    TillBusy {
        /// The sale in progress.
        reference: String,
    },
    /// The sale is past the point where it can be cancelled.
    #[error("the payment can no longer be cancelled: it is {0:?}")]
    NotCancellable(SaleStatus),
    /// The customer approved before the cancel reached the platform.
    #[error("the customer approved before the cancel arrived")]
    AlreadyApproved,
    /// The platform refused, with a sentence for the cashier.
    #[error("{0}")]
    Platform(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sales engine. Cheap to clone.
#[derive(Clone)]
pub struct Sales {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    platform: Arc<Platform>,
    config: Arc<Config>,
    live: Arc<Live>,
    locks: KeyedLocks,
}

impl Sales {
    /// The engine over these parts.
    pub fn new(store: Store, platform: Arc<Platform>, config: Arc<Config>, live: Arc<Live>) -> Self {
        Self { inner: Arc::new(Inner { store, platform, config, live, locks: KeyedLocks::default() }) }
    }

    fn till(&self, till_id: &str) -> Result<&TillConfig, SaleError> {
        self.inner.config.till(till_id).ok_or_else(|| SaleError::UnknownTill(till_id.to_owned()))
    }

    /// The till as the browser knows it.
    pub fn till_view(&self, till_id: &str) -> Result<Till, SaleError> {
        let till = self.till(till_id)?;
        let store =
            self.inner.config.store(&till.store).ok_or_else(|| SaleError::UnknownTill(till_id.to_owned()))?;
        Ok(Till {
            id: till.id.clone(),
            name: till.name.clone(),
            store_name: store.name.clone(),
            currency: store.currency,
        })
    }

    /// The till with its current (or last) sale and the newest event id.
    pub async fn snapshot(&self, till_id: &str) -> Result<TillSnapshot, SaleError> {
        let till = self.till_view(till_id)?;
        // Read the event id first: anything that happens after it is replayed by the stream.
        let last_event_id = self.inner.store.last_till_event_id(till_id).await?;
        let sale = self.inner.store.current_payment(till_id).await?.map(|row| sale_view(&row));
        Ok(TillSnapshot { till, sale, last_event_id: u64::try_from(last_event_id).unwrap_or(0) })
    }

    /// A sale by reference, if it belongs to `till_id`.
    pub async fn sale(&self, till_id: &str, reference: &str) -> Result<Sale, SaleError> {
        let row = self.row_of_till(till_id, reference).await?;
        Ok(sale_view(&row))
    }

    async fn row_of_till(&self, till_id: &str, reference: &str) -> Result<PaymentRow, SaleError> {
        self.inner
            .store
            .payment(reference)
            .await?
            .filter(|row| row.till_id == till_id)
            .ok_or_else(|| SaleError::NotFound(reference.to_owned()))
    }

    /// Records a new sale at a till, then creates its payment at the platform.
    pub async fn start(&self, till_id: &str, new: NewSale) -> Result<Sale, SaleError> {
        let till = self.till(till_id)?;
        let store =
            self.inner.config.store(&till.store).ok_or_else(|| SaleError::UnknownTill(till_id.to_owned()))?;
        if new.amount.currency != store.currency {
            return Err(SaleError::WrongCurrency { expected: store.currency });
        }
        let amount = new.amount.check_payable()?;
        let now = crate::now_ms();
        let reference = format!("{}-{}", till.id, &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let row = PaymentRow {
            reference: reference.clone(),
            till_id: till.id.clone(),
            msn: store.msn.clone(),
            flow: new.flow.as_str().to_owned(),
            currency: amount.currency.code().to_owned(),
            amount: amount.value,
            status: SaleStatus::Creating.as_str().to_owned(),
            active: true,
            platform_state: None,
            qr: None,
            expires_at: None,
            authorized: 0,
            captured: 0,
            cancelled: 0,
            refunded: 0,
            failure: None,
            next_poll_at: None,
            created_at: now,
            updated_at: now,
        };
        match self.inner.store.insert_sale(&row, &idempotency_key(&reference, OperationKind::Create)).await {
            Ok(()) => {}
            Err(StoreError::TillBusy) => {
                let active = self.inner.store.active_payment(till_id).await?;
                return Err(SaleError::TillBusy {
                    reference: active.map(|r| r.reference).unwrap_or_default(),
                });
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(%reference, till = %till.id, amount = amount.value, "sale recorded");
        self.publish(&row).await;
        let _guard = self.inner.locks.lock(&reference).await;
        self.send_create(&reference).await
    }

    /// Sends (or sends again, with the same key) the create of a recorded sale.
    async fn send_create(&self, reference: &str) -> Result<Sale, SaleError> {
        let store = &self.inner.store;
        let mut row =
            store.payment(reference).await?.ok_or_else(|| SaleError::NotFound(reference.to_owned()))?;
        let key = idempotency_key(reference, OperationKind::Create);
        if row.status() != SaleStatus::Creating {
            return Ok(sale_view(&row));
        }
        let client = self.client(&row.msn)?;
        store.count_attempt(&key, crate::now_ms()).await?;
        let request = self.create_request(&row);
        match client.create_payment(&request, &key).await {
            Ok(created) => {
                row.set_status(SaleStatus::AwaitingCustomer);
                row.platform_state = Some("CREATED".to_owned());
                row.qr = created.redirect_url;
                row.expires_at = Some(row.created_at + PLATFORM_TIMEOUT_MS);
                row.next_poll_at = Some(crate::now_ms() + FIRST_POLL_MS);
                store.finish_operation(&key, None, crate::now_ms()).await?;
                tracing::info!(%reference, "payment created at the platform");
            }
            Err(e) if e.outcome_unknown() => {
                // The platform may or may not have it: the reconciler asks again with this key.
                tracing::warn!(%reference, error = %e, "create outcome unknown; will retry with the same key");
                return Ok(sale_view(&row));
            }
            Err(e) => {
                let sentence = refusal_sentence(&e);
                tracing::warn!(%reference, error = %e, "platform refused the payment");
                store.finish_operation(&key, Some(&e.to_string()), crate::now_ms()).await?;
                row.set_status(SaleStatus::Failed);
                row.failure = Some(sentence);
            }
        }
        self.save(&mut row).await?;
        Ok(sale_view(&row))
    }

    fn create_request(&self, row: &PaymentRow) -> CreatePaymentRequest {
        let description = self.inner.config.till(&row.till_id).and_then(|till| {
            self.inner.config.store(&till.store).map(|store| format!("{}, {}", store.name, till.name))
        });
        CreatePaymentRequest {
            amount: Amount::new(row.amount, to_vipps(currency_of(row))),
            customer: None,
            minimum_user_age: None,
            customer_interaction: Some(CustomerInteraction::CustomerPresent),
            industry_data: None,
            payment_method: PaymentMethod { kind: PaymentMethodType::Wallet },
            profile: None,
            reference: row.reference.clone(),
            return_url: None,
            user_flow: UserFlow::Qr,
            expires_at: None,
            qr_format: Some(QrFormat { format: QrImageFormat::TextTargetUrl, size: None }),
            payment_description: description.map(|d| d.chars().take(100).collect()),
            receipt: None,
            metadata: None,
            receipt_url: None,
        }
    }

    /// Cancels a sale the customer has not approved. Uses `cancelTransactionOnly`, so a customer
    /// approving at the same moment wins and is then paid for, never left half-cancelled.
    pub async fn cancel(&self, till_id: &str, reference: &str) -> Result<Sale, SaleError> {
        let _guard = self.inner.locks.lock(reference).await;
        let mut row = self.row_of_till(till_id, reference).await?;
        let status = row.status();
        match status {
            SaleStatus::Creating | SaleStatus::AwaitingCustomer | SaleStatus::Cancelling => {}
            SaleStatus::Authorized | SaleStatus::Captured => return Err(SaleError::AlreadyApproved),
            other => return Err(SaleError::NotCancellable(other)),
        }
        let key = idempotency_key(reference, OperationKind::Cancel);
        self.inner
            .store
            .begin_operation(&key, reference, OperationKind::Cancel, None, crate::now_ms())
            .await?;
        if status != SaleStatus::Cancelling {
            row.set_status(SaleStatus::Cancelling);
            self.save(&mut row).await?;
        }
        self.send_cancel(row).await
    }

    async fn send_cancel(&self, mut row: PaymentRow) -> Result<Sale, SaleError> {
        let store = &self.inner.store;
        let key = idempotency_key(&row.reference, OperationKind::Cancel);
        let client = self.client(&row.msn)?;
        store.count_attempt(&key, crate::now_ms()).await?;
        match client.cancel_payment(&row.reference, true, &key).await {
            Ok(done) => {
                store.finish_operation(&key, None, crate::now_ms()).await?;
                // The platform had the payment, so a create still recorded as unconfirmed did arrive.
                store
                    .finish_operation(
                        &idempotency_key(&row.reference, OperationKind::Create),
                        None,
                        crate::now_ms(),
                    )
                    .await?;
                self.apply(&mut row, done.state, &done.aggregate);
                self.save(&mut row).await?;
                tracing::info!(reference = %row.reference, "sale cancelled");
                Ok(sale_view(&row))
            }
            Err(e) if e.outcome_unknown() => {
                tracing::warn!(reference = %row.reference, error = %e, "cancel outcome unknown; will retry with the same key");
                Ok(sale_view(&row))
            }
            Err(e) if e.error_code() == Some(6060) => {
                store.finish_operation(&key, Some("already authorized"), crate::now_ms()).await?;
                tracing::info!(reference = %row.reference, "customer approved before the cancel");
                self.refresh_locked(&row.reference).await?;
                Err(SaleError::AlreadyApproved)
            }
            Err(e) if e.error_code() == Some(5090) && !self.create_confirmed(&row.reference).await? => {
                // The platform never got the payment: nothing to cancel there, and the recorded
                // create must never be sent now.
                store.finish_operation(&key, None, crate::now_ms()).await?;
                store
                    .finish_operation(
                        &idempotency_key(&row.reference, OperationKind::Create),
                        Some("cancelled before it reached the platform"),
                        crate::now_ms(),
                    )
                    .await?;
                row.set_status(SaleStatus::Cancelled);
                row.next_poll_at = None;
                self.save(&mut row).await?;
                Ok(sale_view(&row))
            }
            Err(e) => {
                store.finish_operation(&key, Some(&e.to_string()), crate::now_ms()).await?;
                tracing::warn!(reference = %row.reference, error = %e, "platform refused the cancel");
                self.refresh_locked(&row.reference).await?;
                Err(SaleError::Platform(refusal_sentence(&e)))
            }
        }
    }

    async fn create_confirmed(&self, reference: &str) -> Result<bool, SaleError> {
        let ops = self.inner.store.operations_for(reference).await?;
        Ok(ops.iter().any(|op| op.kind == OperationKind::Create && op.status == "done"))
    }

    /// Reads the payment from the platform and shows it; captures it if it is due.
    pub async fn refresh(&self, reference: &str) -> Result<(), SaleError> {
        let _guard = self.inner.locks.lock(reference).await;
        self.refresh_locked(reference).await
    }

    async fn refresh_locked(&self, reference: &str) -> Result<(), SaleError> {
        let Some(mut row) = self.inner.store.payment(reference).await? else {
            // Not one of ours (another system on the same sales unit): nothing to do.
            return Ok(());
        };
        if row.status() == SaleStatus::Creating {
            // Not confirmed created yet: the pending create decides what happens.
            return Ok(());
        }
        let client = self.client(&row.msn)?;
        let remote = match client.get_payment(reference).await {
            Ok(remote) => remote,
            Err(e) => {
                tracing::warn!(%reference, error = %e, "could not read the payment; will poll again");
                row.next_poll_at = Some(crate::now_ms() + POLL_EVERY_MS);
                self.inner.store.update_payment(&row).await?;
                return Ok(());
            }
        };
        let before = sale_view(&row);
        self.apply(&mut row, remote.state, &remote.aggregate);
        if sale_view(&row) == before {
            // Nothing the till shows changed (a repeated webhook, a poll): store the poll time only.
            self.inner.store.update_payment(&row).await?;
        } else {
            self.save(&mut row).await?;
        }
        self.capture_if_due(row).await
    }

    /// Captures the full amount of an approved sale, once, if its till captures automatically.
    async fn capture_if_due(&self, row: PaymentRow) -> Result<(), SaleError> {
        let automatic =
            self.inner.config.till(&row.till_id).is_some_and(|t| t.capture == CapturePolicy::Automatic);
        if row.status() != SaleStatus::Authorized || !automatic || row.captured > 0 || row.cancelled > 0 {
            return Ok(());
        }
        let key = idempotency_key(&row.reference, OperationKind::Capture);
        let store = &self.inner.store;
        store
            .begin_operation(
                &key,
                &row.reference,
                OperationKind::Capture,
                Some(row.authorized),
                crate::now_ms(),
            )
            .await?;
        let pending = store
            .operations_for(&row.reference)
            .await?
            .into_iter()
            .any(|op| op.idempotency_key == key && op.status == "pending");
        if pending {
            self.send_capture(row, &key).await?;
        }
        Ok(())
    }

    async fn send_capture(&self, mut row: PaymentRow, key: &str) -> Result<(), SaleError> {
        let store = &self.inner.store;
        let client = self.client(&row.msn)?;
        let amount = Amount::new(row.authorized, to_vipps(currency_of(&row)));
        store.count_attempt(key, crate::now_ms()).await?;
        match client.capture_payment(&row.reference, amount, key).await {
            Ok(done) => {
                store.finish_operation(key, None, crate::now_ms()).await?;
                self.apply(&mut row, done.state, &done.aggregate);
                row.failure = None;
                self.save(&mut row).await?;
                tracing::info!(reference = %row.reference, amount = amount.value, "captured");
            }
            Err(e) if e.outcome_unknown() => {
                tracing::warn!(reference = %row.reference, error = %e, "capture outcome unknown; will retry with the same key");
            }
            Err(e) => {
                store.finish_operation(key, Some(&e.to_string()), crate::now_ms()).await?;
                tracing::error!(reference = %row.reference, error = %e, "platform refused the capture");
                row.failure =
                    Some(format!("Approved, but taking the money failed: {}", refusal_sentence(&e)));
                self.save(&mut row).await?;
            }
        }
        Ok(())
    }

    /// Sends again every recorded write that has not been confirmed, with its original key.
    pub async fn retry_pending(&self) -> Result<(), SaleError> {
        let now = crate::now_ms();
        for op in self.inner.store.pending_operations(now - POLL_EVERY_MS).await? {
            // Back off per attempt: 2 s, 4 s, 8 s … at most a minute between tries.
            let wait = POLL_EVERY_MS.saturating_mul(1 << op.attempts.clamp(0, 5)).min(60_000);
            if op.attempts > 0 && op.updated_at + wait > now {
                continue;
            }
            let _guard = self.inner.locks.lock(&op.reference).await;
            let Some(row) = self.inner.store.payment(&op.reference).await? else { continue };
            tracing::info!(reference = %op.reference, kind = op.kind.as_str(), attempts = op.attempts, "resending a recorded operation");
            let result = match op.kind {
                OperationKind::Create => self.send_create(&op.reference).await.map(drop),
                OperationKind::Cancel => self.send_cancel(row).await.map(drop),
                OperationKind::Capture => self.send_capture(row, &op.idempotency_key).await,
                OperationKind::Refund => Ok(()),
            };
            if let Err(e) = result {
                tracing::warn!(reference = %op.reference, error = %e, "resend failed");
            }
        }
        Ok(())
    }

    /// Polls every payment whose poll is due.
    pub async fn poll_due(&self) -> Result<(), SaleError> {
        for row in self.inner.store.payments_to_poll(crate::now_ms()).await? {
            if let Err(e) = self.refresh(&row.reference).await {
                tracing::warn!(reference = %row.reference, error = %e, "poll failed");
            }
        }
        Ok(())
    }

    /// Moves a row to what the platform says, never backwards.
    fn apply(&self, row: &mut PaymentRow, state: State, aggregate: &Aggregate) {
        // The platform's totals only grow; a stale answer must not shrink ours.
        row.authorized = row.authorized.max(aggregate.authorized_amount.value);
        row.captured = row.captured.max(aggregate.captured_amount.value);
        row.cancelled = row.cancelled.max(aggregate.cancelled_amount.value);
        row.refunded = row.refunded.max(aggregate.refunded_amount.value);
        let current = row.status();
        let derived = derive_status(state, row);
        if rank(derived) > rank(current) {
            row.set_status(derived);
            row.platform_state = Some(state_name(state).to_owned());
        }
        let status = row.status();
        let now = crate::now_ms();
        row.next_poll_at = match status {
            s if s.is_final() => None,
            SaleStatus::Authorized => {
                Some(now + if self.captures_automatically(row) { POLL_EVERY_MS } else { POLL_AUTHORIZED_MS })
            }
            _ => Some(now + POLL_EVERY_MS),
        };
    }

    fn captures_automatically(&self, row: &PaymentRow) -> bool {
        self.inner.config.till(&row.till_id).is_some_and(|t| t.capture == CapturePolicy::Automatic)
    }

    /// Stores a changed row and tells the till.
    async fn save(&self, row: &mut PaymentRow) -> Result<(), SaleError> {
        row.updated_at = crate::now_ms();
        self.inner.store.update_payment(row).await?;
        self.publish(row).await;
        Ok(())
    }

    async fn publish(&self, row: &PaymentRow) {
        let event = TillEvent::Sale { sale: sale_view(row) };
        if let Err(e) = self.inner.live.publish(&row.till_id, &event).await {
            // The stored row is the truth; a browser that missed this reloads it.
            tracing::error!(reference = %row.reference, error = %e, "could not publish a live event");
        }
    }

    fn client(&self, msn: &str) -> Result<Arc<kasse_vipps::Client>, SaleError> {
        self.inner
            .platform
            .client(msn)
            .ok_or_else(|| SaleError::Platform(format!("No platform access is set up for sales unit {msn}.")))
    }
}

/// The idempotency key of a sale's one operation of a kind. Deterministic, so that every retry of
/// the same intent, from any process, sends the same key (at most 37 + 8 characters).
fn idempotency_key(reference: &str, kind: OperationKind) -> String {
    format!("{reference}-{}", kind.as_str())
}

fn currency_of(row: &PaymentRow) -> Currency {
    Currency::from_code(&row.currency).unwrap_or(Currency::Nok)
}

const fn state_name(state: State) -> &'static str {
    match state {
        State::Created => "CREATED",
        State::Aborted => "ABORTED",
        State::Expired => "EXPIRED",
        State::Authorized => "AUTHORIZED",
        State::Terminated => "TERMINATED",
    }
}

/// The till's status for a platform state and the row's totals.
fn derive_status(state: State, row: &PaymentRow) -> SaleStatus {
    match state {
        State::Created => SaleStatus::AwaitingCustomer,
        State::Aborted => SaleStatus::Declined,
        State::Expired => SaleStatus::Expired,
        State::Terminated => SaleStatus::Cancelled,
        State::Authorized if row.captured > 0 => SaleStatus::Captured,
        State::Authorized if row.cancelled > 0 => SaleStatus::Cancelled,
        State::Authorized => SaleStatus::Authorized,
    }
}

/// The order statuses move in. Final outcomes share the top rank: once final, nothing changes.
const fn rank(status: SaleStatus) -> u8 {
    match status {
        SaleStatus::Creating => 0,
        SaleStatus::AwaitingCustomer => 1,
        SaleStatus::Cancelling => 2,
        SaleStatus::Authorized => 3,
        SaleStatus::Captured
        | SaleStatus::Declined
        | SaleStatus::Expired
        | SaleStatus::Cancelled
        | SaleStatus::Failed => 4,
    }
}

/// The browser's view of a row.
pub fn sale_view(row: &PaymentRow) -> Sale {
    let currency = currency_of(row);
    Sale {
        reference: row.reference.clone(),
        till_id: row.till_id.clone(),
        amount: Money::new(row.amount, currency),
        flow: Flow::parse(&row.flow).unwrap_or(Flow::Qr),
        status: row.status(),
        qr: row.qr.clone().filter(|_| row.status() == SaleStatus::AwaitingCustomer),
        expires_at_ms: row.expires_at,
        captured: Money::new(row.captured, currency),
        refunded: Money::new(row.refunded, currency),
        failure: row.failure.clone(),
        created_at_ms: row.created_at,
    }
}

/// A sentence a cashier understands for a platform refusal.
fn refusal_sentence(e: &kasse_vipps::Error) -> String {
    let known = match e.error_code() {
        Some(5040) => Some("This store cannot take payments in that currency."),
        Some(6010) => Some("The amount is below the smallest payment allowed."),
        Some(7010) => Some("The customer has no Vipps MobilePay account that can pay."),
        Some(4070) => Some("That phone number is not valid."),
        Some(5080) => Some("This store is not allowed to send payment requests to customers' phones."),
        _ => None,
    };
    if let Some(sentence) = known {
        return sentence.to_owned();
    }
    match e {
        kasse_vipps::Error::Rejected { status: 401 | 403, .. } => {
            "The payment service did not accept this store's credentials. Ask the manager to check the set-up.".to_owned()
        }
        kasse_vipps::Error::Rejected { problem, .. } => {
            format!("The payment service refused the payment: {}", problem.detail.as_deref().unwrap_or(&problem.title))
        }
        _ => "The payment service could not be reached.".to_owned(),
    }
}

/// One async lock per key, created on demand and forgotten when unused.
#[derive(Default)]
struct KeyedLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl KeyedLocks {
    async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            locks.retain(|_, weak| weak.strong_count() > 0);
            if let Some(existing) = locks.get(key).and_then(Weak::upgrade) {
                existing
            } else {
                let fresh = Arc::new(tokio::sync::Mutex::new(()));
                locks.insert(key.to_owned(), Arc::downgrade(&fresh));
                fresh
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;

    fn row(status: SaleStatus) -> PaymentRow {
        PaymentRow {
            reference: "till-1-abc".into(),
            till_id: "till-1".into(),
            msn: "123456".into(),
            flow: "qr".into(),
            currency: "NOK".into(),
            amount: 1000,
            status: status.as_str().into(),
            active: true,
            platform_state: None,
            qr: Some("https://qr".into()),
            expires_at: None,
            authorized: 0,
            captured: 0,
            cancelled: 0,
            refunded: 0,
            failure: None,
            next_poll_at: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_platform_state_and_totals_decide_the_till_status() {
        let mut r = row(SaleStatus::AwaitingCustomer);
        assert_eq!(derive_status(State::Authorized, &r), SaleStatus::Authorized);
        r.captured = 1000;
        assert_eq!(derive_status(State::Authorized, &r), SaleStatus::Captured);
        assert_eq!(derive_status(State::Aborted, &r), SaleStatus::Declined);
        assert_eq!(derive_status(State::Terminated, &r), SaleStatus::Cancelled);
        assert_eq!(derive_status(State::Expired, &r), SaleStatus::Expired);
    }

    #[test]
    fn statuses_only_move_forward_and_outcomes_are_final() {
        assert!(rank(SaleStatus::Authorized) > rank(SaleStatus::AwaitingCustomer));
        assert!(rank(SaleStatus::Authorized) > rank(SaleStatus::Cancelling));
        for status in SaleStatus::ALL {
            assert_eq!(status.is_final(), rank(status) == 4, "{status:?}");
        }
    }

    #[test]
    fn the_qr_is_shown_only_while_the_customer_can_scan_it() {
        assert!(sale_view(&row(SaleStatus::AwaitingCustomer)).qr.is_some());
        assert!(sale_view(&row(SaleStatus::Captured)).qr.is_none());
        assert!(sale_view(&row(SaleStatus::Cancelling)).qr.is_none());
    }

    #[test]
    fn idempotency_keys_are_deterministic_and_within_the_platforms_50_characters() {
        let reference = format!("{}-{}", "t".repeat(24), "a".repeat(12));
        for kind in
            [OperationKind::Create, OperationKind::Capture, OperationKind::Cancel, OperationKind::Refund]
        {
            assert_eq!(idempotency_key(&reference, kind), idempotency_key(&reference, kind));
            assert!(idempotency_key(&reference, kind).len() <= 50);
        }
    }

    #[tokio::test]
    async fn keyed_locks_serialise_the_same_key_only() {
        let locks = KeyedLocks::default();
        let a = locks.lock("a").await;
        // Another key is free while "a" is held.
        let _b = locks.lock("b").await;
        assert!(locks.lock("a").now_or_never().is_none(), "a second holder of the same key must wait");
        drop(a);
        let _a = locks.lock("a").await;
    }
}
