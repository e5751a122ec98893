//! Sales: taking a payment at a till, durably, by every in-store flow.
//!
//! The rule everything here follows: a platform write (create, capture, cancel, refund) is first
//! recorded with its reference, idempotency key and exact body, then sent; if the answer is lost,
//! the same write is sent again with the same key and body (by the reconciler, after a crash too),
//! so the platform applies it once. What the till shows is derived from the platform's own
//! answers (state and totals) and only ever moves forward, so late, repeated or reordered webhooks
//! change nothing. Browsers may retry too: each action carries the browser's own key, and a
//! repeated action finds what the first one did instead of doing it again.

mod landing;
mod status;
mod withdrawn;
mod writes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use kasse_api::{
    CaptureRequest, CheckIn, Country, Flow, History, HistoryQuery, Money, MoneyError, Msisdn, NewSale, Payer,
    PhoneError, RefundRequest, Sale, SaleEvent, SaleLine, SaleStatus, Till, TillEvent, TillSnapshot, Total,
};
use kasse_vipps::epayment::{
    Amount, BottomLine, CreatePaymentRequest, Customer, CustomerInteraction, OrderLine, PaymentMethod,
    PaymentMethodType, QrFormat, QrImageFormat, Receipt, UnitInfo, UserFlow,
};

use crate::config::{CapturePolicy, Config, StoreConfig, TillConfig};
use crate::live::Live;
use crate::metrics::Metrics;
use crate::platform::{Platform, to_vipps};
use crate::store::{CheckInRow, OperationKind, PaymentRow, SalesQuery, Store, StoreError};

pub use landing::landing_channel;
pub use status::sale_view;
use status::{
    FIRST_POLL_MS, PLATFORM_TIMEOUT_MS, POLL_AUTHORIZED_MS, POLL_EVERY_MS, apply, currency_of,
    refusal_sentence,
};
use writes::{Write, idempotency_key};

/// Everything that makes a new sale, whoever starts it (a till, or a customer on a sticker's
/// landing page).
struct Draft<'a> {
    /// The till the sale occupies; empty for an open-amount sticker's.
    till_id: &'a str,
    /// The start of its reference: the till's or the sticker's id.
    reference_prefix: &'a str,
    store: &'a StoreConfig,
    amount: Money,
    description: String,
    flow: Flow,
    customer: Option<Customer>,
    customer_label: Option<String>,
    return_url: Option<String>,
    receipt: Option<Receipt>,
    client_key: Option<&'a str>,
    sticker_id: Option<&'a str>,
    landing_token: Option<String>,
}

/// The most sales one history page lists.
const HISTORY_LIMIT: i64 = 500;

/// Why a sale request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SaleError {
    /// No such till.
    #[error("there is no till '{0}'")]
    UnknownTill(String),
    /// No such payment at this till.
    #[error("there is no payment '{0}'")]
    NotFound(String),
    /// The amount is in another currency than the store's.
    #[error("this store takes {expected}")]
    WrongCurrency {
        /// The store's currency.
        expected: kasse_api::Currency,
    },
    /// The amount cannot be charged.
    #[error(transparent)]
    Amount(#[from] MoneyError),
    /// The phone number is not one the platform can reach.
    #[error(transparent)]
    Phone(#[from] PhoneError),
    /// The scanned text is not a personal QR code.
    #[error("the scanned code is not a personal QR code")]
    BadPersonalQr,
    /// The receipt lines are malformed or do not add up to the amount.
    #[error("the receipt lines do not add up to the amount")]
    BadLines,
    /// The description does not fit the platform's 3 to 100 characters.
    #[error("the description must be 3 to 100 characters")]
    BadDescription,
    /// The check-in is unknown, expired, charged, or another till's.
    #[error("the check-in can no longer be charged")]
    CheckInGone,
    /// No such sticker.
    #[error("there is no sticker '{0}'")]
    UnknownSticker(String),
    /// No landing-page payment with this token.
    #[error("there is no such payment")]
    UnknownPayment,
    /// The till presents nothing (or an open-amount sticker got no amount).
    #[error("there is nothing to pay")]
    NothingToPay,
    /// The till presents another amount than the one the customer was shown.
    #[error("the amount presented changed")]
    AmountChanged,
    /// An open-amount sticker's amount is outside its bounds.
    #[error("the amount must be between {min} and {max} minor units")]
    OutsideBounds {
        /// The smallest amount allowed.
        min: i64,
        /// The largest amount allowed.
        max: i64,
    },
    /// The till has a sale in progress.
    #[error("the till has a payment in progress: {reference}")]
    TillBusy {
        /// The sale in progress.
        reference: String,
    },
    /// The action does not fit where the sale stands.
    #[error("not possible while the payment is {status:?}")]
    WrongStatus {
        /// Where the sale stands.
        status: SaleStatus,
        /// What was asked for.
        action: &'static str,
    },
    /// More than is left to capture or refund, or nothing at all.
    #[error("the amount must be more than nothing and at most {left} minor units")]
    AmountOutOfRange {
        /// What is left.
        left: i64,
    },
    /// The browser's idempotency key was used before for a different request.
    #[error("the idempotency key was used for another request")]
    KeyReused,
    /// The customer approved before the cancel reached the platform.
    #[error("the customer approved before the cancel arrived")]
    AlreadyApproved,
    /// The platform refused, with a sentence for the cashier.
    #[error("{0}")]
    Platform(String),
    /// The platform did not answer; the write is recorded and will be sent again.
    #[error("the payment service did not answer yet; the request is kept and sent again")]
    Pending(Box<Sale>),
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
    public_url: url::Url,
    store: Store,
    platform: Arc<Platform>,
    config: Arc<Config>,
    live: Arc<Live>,
    metrics: Arc<Metrics>,
    locks: KeyedLocks,
}

/// What the sales engine works with.
pub struct Parts {
    /// The database.
    pub store: Store,
    /// The platform clients.
    pub platform: Arc<Platform>,
    /// The configuration.
    pub config: Arc<Config>,
    /// The live-event hub.
    pub live: Arc<Live>,
    /// The public URL (app switches return to it).
    pub public_url: url::Url,
    /// Counters.
    pub metrics: Arc<Metrics>,
}

/// The outcome of sending one recorded write.
enum Sent {
    /// The platform applied it; the row shows the result.
    Confirmed,
    /// No answer: it stays recorded and is sent again later with the same key.
    Unknown,
    /// The platform refused it; the record says why.
    Refused(kasse_vipps::Error),
}

impl Sales {
    /// The engine over these parts.
    pub fn new(parts: Parts) -> Self {
        let Parts { store, platform, config, live, public_url, metrics } = parts;
        Self {
            inner: Arc::new(Inner {
                public_url,
                store,
                platform,
                config,
                live,
                metrics,
                locks: KeyedLocks::default(),
            }),
        }
    }

    fn till(&self, till_id: &str) -> Result<&TillConfig, SaleError> {
        self.inner.config.till(till_id).ok_or_else(|| SaleError::UnknownTill(till_id.to_owned()))
    }

    fn store_of(&self, till: &TillConfig) -> Result<&StoreConfig, SaleError> {
        self.inner.config.store(&till.store).ok_or_else(|| SaleError::UnknownTill(till.id.clone()))
    }

    /// The till as the browser knows it.
    pub fn till_view(&self, till_id: &str) -> Result<Till, SaleError> {
        let till = self.till(till_id)?;
        let store = self.store_of(till)?;
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
        let presented = self.presented(till_id).await?;
        let check_ins = self.open_check_ins(till_id).await?;
        Ok(TillSnapshot {
            till,
            sale,
            presented,
            check_ins,
            last_event_id: u64::try_from(last_event_id).unwrap_or(0),
        })
    }

    /// A sale by reference, if it belongs to `till_id`.
    pub async fn sale(&self, till_id: &str, reference: &str) -> Result<Sale, SaleError> {
        Ok(sale_view(&self.row_of_till(till_id, reference).await?))
    }

    async fn row_of_till(&self, till_id: &str, reference: &str) -> Result<PaymentRow, SaleError> {
        self.inner
            .store
            .payment(reference)
            .await?
            .filter(|row| row.till_id == till_id)
            .ok_or_else(|| SaleError::NotFound(reference.to_owned()))
    }

    /// A till's sales, newest first, with totals per status and currency.
    pub async fn history(&self, till_id: &str, query: &HistoryQuery) -> Result<History, SaleError> {
        self.till(till_id)?;
        let rows = self
            .inner
            .store
            .sales(&SalesQuery {
                till_id,
                since: query.since_ms.unwrap_or(0),
                until: query.until_ms.unwrap_or(i64::MAX),
                status: query.status.map(SaleStatus::as_str),
                flow: query.flow.map(Flow::as_str),
                limit: HISTORY_LIMIT,
            })
            .await?;
        let sales: Vec<Sale> = rows.iter().map(sale_view).collect();
        let totals = Total::of(&sales);
        Ok(History { sales, totals })
    }

    /// A sale's event log, as the platform recorded it.
    pub async fn events(&self, till_id: &str, reference: &str) -> Result<Vec<SaleEvent>, SaleError> {
        let row = self.row_of_till(till_id, reference).await?;
        if row.status() == SaleStatus::Creating || row.status() == SaleStatus::Failed {
            return Ok(Vec::new());
        }
        let events = self.client(&row.msn)?.payment_events(reference).await.map_err(|e| {
            tracing::warn!(%reference, error = %e, "could not read the event log");
            SaleError::Platform(refusal_sentence(&e))
        })?;
        let currency = currency_of(&row);
        Ok(events
            .into_iter()
            .map(|e| SaleEvent {
                name: serde_json::to_value(e.name)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                amount: Money::new(e.amount.value, currency),
                at_ms: e.timestamp.timestamp_millis(),
                success: e.success,
            })
            .collect())
    }

    /// Records a new sale at a till, then creates its payment at the platform. With the browser's
    /// `client_key`, a repeated request returns the sale the first one started.
    pub async fn start(
        &self,
        till_id: &str,
        new: NewSale,
        client_key: Option<&str>,
    ) -> Result<Sale, SaleError> {
        let till = self.till(till_id)?;
        let store = self.store_of(till)?;
        if let Some(key) = client_key
            && let Some(earlier) = self.inner.store.payment_by_client_key(till_id, key).await?
        {
            if earlier.amount != new.amount.value || earlier.flow != new.payer.flow().as_str() {
                return Err(SaleError::KeyReused);
            }
            return Self::settled(&earlier);
        }
        let description = match new.description.map(|d| d.trim().to_owned()) {
            Some(d) if (3..=100).contains(&d.chars().count()) => d,
            Some(_) => return Err(SaleError::BadDescription),
            None => format!("{}, {}", store.name, till.name),
        };
        let receipt = receipt_of(&new.lines, new.amount, &till.id)?;
        let (customer, customer_label, check_in) =
            self.customer_for(till, store, &new.payer, crate::now_ms()).await?;
        let draft = Draft {
            till_id,
            reference_prefix: &till.id,
            store,
            amount: new.amount,
            description,
            flow: new.payer.flow(),
            customer,
            customer_label,
            return_url: None,
            receipt,
            client_key,
            sticker_id: None,
            landing_token: None,
        };
        Self::settled(&self.create(draft, check_in).await?)
    }

    /// A started sale as the answer to its start: `Pending` while the platform has not confirmed
    /// the create (the till then follows its live events).
    fn settled(row: &PaymentRow) -> Result<Sale, SaleError> {
        let sale = sale_view(row);
        if sale.status == SaleStatus::Creating { Err(SaleError::Pending(Box::new(sale))) } else { Ok(sale) }
    }

    /// Records a sale, then creates its payment at the platform.
    #[tracing::instrument(name = "create", skip_all, fields(reference = tracing::field::Empty, till = %draft.till_id))]
    async fn create(&self, draft: Draft<'_>, check_in: Option<CheckInRow>) -> Result<PaymentRow, SaleError> {
        let store = draft.store;
        if draft.amount.currency != store.currency {
            return Err(SaleError::WrongCurrency { expected: store.currency });
        }
        let amount = draft.amount.check_payable()?;
        let now = crate::now_ms();
        // The platform's references are [a-zA-Z0-9-]{8,64}: a sticker's `_` becomes `-`.
        let prefix: String = draft
            .reference_prefix
            .chars()
            .take(24)
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let reference = format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        // From here on every log line of this sale names it.
        tracing::Span::current().record("reference", reference.as_str());
        let user_flow = match draft.flow {
            Flow::Qr => UserFlow::Qr,
            Flow::AppSwitch => UserFlow::WebRedirect,
            Flow::PersonalQr | Flow::Phone | Flow::CheckIn | Flow::Sticker => UserFlow::PushMessage,
        };
        let description: String = draft.description.chars().take(100).collect();
        let request = CreatePaymentRequest {
            amount: Amount::new(amount.value, to_vipps(amount.currency)),
            customer: draft.customer,
            customer_interaction: Some(CustomerInteraction::CustomerPresent),
            payment_method: PaymentMethod { kind: PaymentMethodType::Wallet },
            reference: reference.clone(),
            user_flow,
            qr_format: (user_flow == UserFlow::Qr)
                .then_some(QrFormat { format: QrImageFormat::TextTargetUrl, size: None }),
            payment_description: Some(description.clone()),
            return_url: draft.return_url,
            minimum_user_age: None,
            industry_data: None,
            profile: None,
            expires_at: None,
            receipt: draft.receipt,
            metadata: None,
            receipt_url: None,
        };
        let row = PaymentRow {
            reference: reference.clone(),
            till_id: draft.till_id.to_owned(),
            msn: store.msn.clone(),
            flow: draft.flow.as_str().to_owned(),
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
            description: Some(description),
            customer_label: draft.customer_label,
            client_key: draft.client_key.map(str::to_owned),
            sticker_id: draft.sticker_id.map(str::to_owned),
            landing_token: draft.landing_token,
            withdrawn_at: None,
            watch_until: None,
        };
        let write = Write::Create(Box::new(request));
        let key = idempotency_key(&reference, OperationKind::Create, 1);
        let body = write.body();
        match self.inner.store.insert_sale(&row, write.record(&row, &key, &body, None)).await {
            Ok(()) => {}
            Err(StoreError::TillBusy) => return Err(self.busy(draft.till_id, draft.client_key).await?),
            Err(e) => return Err(e.into()),
        }
        self.inner.metrics.sale_started(draft.flow.as_str());
        crate::crash_point("after-record:create");
        if let Some(check_in) = &check_in
            && !self.inner.store.charge_check_in(&check_in.id, &reference, now).await?
        {
            // Charged by another sale a moment ago: this one must never reach the platform.
            let mut row = row;
            self.inner
                .store
                .finish_operation(&key, Some("the check-in was charged by another sale"), now)
                .await?;
            row.set_status(SaleStatus::Failed);
            row.failure = Some("That check-in was already used. Ask the customer to scan again.".to_owned());
            self.save(&mut row).await?;
            return Err(SaleError::CheckInGone);
        }
        tracing::info!(%reference, till = %draft.till_id, flow = draft.flow.as_str(), amount = amount.value, "sale recorded");
        self.publish(&row).await;
        if let Some(check_in) = check_in {
            self.publish_check_in(&check_in, Some(&reference)).await;
        }
        let _guard = self.inner.locks.lock(&reference).await;
        self.send_create(&reference).await
    }

    /// The error for a refused insert: the browser's earlier sale, or the sale in the way.
    async fn busy(&self, till_id: &str, client_key: Option<&str>) -> Result<SaleError, SaleError> {
        if let Some(key) = client_key
            && let Some(earlier) = self.inner.store.payment_by_client_key(till_id, key).await?
        {
            // The same request twice at once: the second finds the first's sale.
            return Ok(SaleError::Pending(Box::new(sale_view(&earlier))));
        }
        let active = self.inner.store.active_payment(till_id).await?;
        Ok(SaleError::TillBusy { reference: active.map(|r| r.reference).unwrap_or_default() })
    }

    /// The platform's customer for a payer, a label for the cashier, and the check-in it uses.
    async fn customer_for(
        &self,
        till: &TillConfig,
        store: &StoreConfig,
        payer: &Payer,
        now: i64,
    ) -> Result<(Option<Customer>, Option<String>, Option<CheckInRow>), SaleError> {
        Ok(match payer {
            Payer::Qr => (None, None, None),
            Payer::Phone { phone_number } => {
                let msisdn = Msisdn::parse(phone_number, Country::of_currency(store.currency))?;
                let label = msisdn.masked();
                (Some(Customer::phone_number(msisdn.as_str())), Some(label), None)
            }
            Payer::PersonalQr { personal_qr } => {
                // The platform wants the code exactly as scanned; only a scanner's stray line
                // ending is not part of it.
                let code = personal_qr.trim();
                if !(5..=255).contains(&code.chars().count()) || code.chars().any(char::is_control) {
                    return Err(SaleError::BadPersonalQr);
                }
                (Some(Customer::personal_qr(code)), Some("Personal QR code".to_owned()), None)
            }
            Payer::CheckIn { check_in } => {
                let row = self
                    .inner
                    .store
                    .check_in(check_in)
                    .await?
                    .filter(|c| {
                        c.till_id.as_deref() == Some(till.id.as_str())
                            && c.charged_by.is_none()
                            && c.expires_at > now
                            && !c.customer_token.is_empty()
                    })
                    .ok_or(SaleError::CheckInGone)?;
                let customer = Customer::customer_token(&row.customer_token);
                (Some(customer), Some("Checked in at the sticker".to_owned()), Some(row))
            }
        })
    }

    /// Sends (or sends again) the recorded create of a sale.
    async fn send_create(&self, reference: &str) -> Result<PaymentRow, SaleError> {
        let mut row = self.payment(reference).await?;
        if row.status() != SaleStatus::Creating {
            return Ok(row);
        }
        let key = idempotency_key(reference, OperationKind::Create, 1);
        match self.send(&mut row, &key).await? {
            Sent::Confirmed | Sent::Unknown => {}
            Sent::Refused(e) => {
                row.set_status(SaleStatus::Failed);
                row.failure = Some(refusal_sentence(&e));
                self.save(&mut row).await?;
            }
        }
        Ok(row)
    }

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
        let _guard = self.inner.locks.lock(reference).await;
        let mut row = self.row_of_till(till_id, reference).await?;
        if let Some(done) = self.replayed(&row, client_key, OperationKind::Cancel, None).await? {
            return Ok(done);
        }
        let status = row.status();
        let transaction_only = match status {
            SaleStatus::Creating | SaleStatus::AwaitingCustomer | SaleStatus::Cancelling => true,
            SaleStatus::Authorized => false,
            SaleStatus::Captured if row.authorized - row.captured - row.cancelled > 0 => false,
            other => return Err(SaleError::WrongStatus { status: other, action: "cancel" }),
        };
        let write = Write::Cancel { transaction_only };
        let key = self.record(&row, &write, client_key).await?;
        if transaction_only && status != SaleStatus::Cancelling {
            row.set_status(SaleStatus::Cancelling);
            self.save(&mut row).await?;
        }
        self.send_cancel(row, &key).await
    }

    async fn send_cancel(&self, mut row: PaymentRow, key: &str) -> Result<Sale, SaleError> {
        let create_key = idempotency_key(&row.reference, OperationKind::Create, 1);
        match self.send(&mut row, key).await? {
            Sent::Confirmed => {
                // The platform had the payment, so a create still recorded as unconfirmed did arrive.
                self.inner.store.finish_operation(&create_key, None, crate::now_ms()).await?;
                tracing::info!(reference = %row.reference, "cancelled");
                Ok(sale_view(&row))
            }
            Sent::Unknown => Err(SaleError::Pending(Box::new(sale_view(&row)))),
            Sent::Refused(e) if e.error_code() == Some(6060) => {
                tracing::info!(reference = %row.reference, "the customer approved before the cancel");
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

    async fn create_confirmed(&self, reference: &str) -> Result<bool, SaleError> {
        let key = idempotency_key(reference, OperationKind::Create, 1);
        Ok(self.inner.store.operation(&key).await?.is_some_and(|op| op.status == "done"))
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
        let _guard = self.inner.locks.lock(reference).await;
        let row = self.row_of_till(till_id, reference).await?;
        if let Some(done) =
            self.replayed(&row, client_key, OperationKind::Capture, request.amount.map(|a| a.value)).await?
        {
            return Ok(done);
        }
        if !matches!(row.status(), SaleStatus::Authorized | SaleStatus::Captured) {
            return Err(SaleError::WrongStatus { status: row.status(), action: "capture" });
        }
        let left = row.authorized - row.captured - row.cancelled;
        let amount = Self::amount_within(&row, request.amount, left)?;
        self.capture_locked(row, amount, client_key).await
    }

    async fn capture_locked(
        &self,
        mut row: PaymentRow,
        amount: i64,
        client_key: Option<&str>,
    ) -> Result<Sale, SaleError> {
        let write = Write::Capture(Amount::new(amount, to_vipps(currency_of(&row))));
        let key = self.record(&row, &write, client_key).await?;
        match self.send(&mut row, &key).await? {
            Sent::Confirmed => {
                tracing::info!(reference = %row.reference, amount, "captured");
                if row.failure.take().is_some() {
                    self.save(&mut row).await?;
                }
                Ok(sale_view(&row))
            }
            Sent::Unknown => Err(SaleError::Pending(Box::new(sale_view(&row)))),
            Sent::Refused(e) => {
                let sentence = refusal_sentence(&e);
                row.failure = Some(format!("Approved, but taking the money failed: {sentence}"));
                self.save(&mut row).await?;
                Err(SaleError::Platform(sentence))
            }
        }
    }

    /// Refunds `amount` of what a sale captured.
    #[tracing::instrument(name = "refund", skip_all, fields(%reference))]
    pub async fn refund(
        &self,
        till_id: &str,
        reference: &str,
        request: &RefundRequest,
        client_key: Option<&str>,
    ) -> Result<Sale, SaleError> {
        let _guard = self.inner.locks.lock(reference).await;
        let mut row = self.row_of_till(till_id, reference).await?;
        if let Some(done) =
            self.replayed(&row, client_key, OperationKind::Refund, Some(request.amount.value)).await?
        {
            return Ok(done);
        }
        if row.captured == 0 {
            return Err(SaleError::WrongStatus { status: row.status(), action: "refund" });
        }
        let amount = Self::amount_within(&row, Some(request.amount), row.captured - row.refunded)?;
        let write = Write::Refund(Amount::new(amount, to_vipps(currency_of(&row))));
        let key = self.record(&row, &write, client_key).await?;
        match self.send(&mut row, &key).await? {
            Sent::Confirmed => {
                tracing::info!(reference = %row.reference, amount, "refunded");
                Ok(sale_view(&row))
            }
            Sent::Unknown => Err(SaleError::Pending(Box::new(sale_view(&row)))),
            Sent::Refused(e) => Err(SaleError::Platform(refusal_sentence(&e))),
        }
    }

    /// Checks an amount asked for against what is `left`; `None` means all of it.
    fn amount_within(row: &PaymentRow, asked: Option<Money>, left: i64) -> Result<i64, SaleError> {
        let amount = match asked {
            Some(money) if money.currency != currency_of(row) => {
                return Err(SaleError::WrongCurrency { expected: currency_of(row) });
            }
            Some(money) => money.value,
            None => left,
        };
        if amount <= 0 || amount > left {
            return Err(SaleError::AmountOutOfRange { left });
        }
        Ok(amount)
    }

    /// If the browser's key already asked for a write on this sale, the sale as it is now (the
    /// write still pending is sent again first).
    async fn replayed(
        &self,
        row: &PaymentRow,
        client_key: Option<&str>,
        kind: OperationKind,
        amount: Option<i64>,
    ) -> Result<Option<Sale>, SaleError> {
        let Some(client_key) = client_key else { return Ok(None) };
        let Some(operation) = self.inner.store.operation_by_client_key(&row.reference, client_key).await?
        else {
            return Ok(None);
        };
        // The same key for another request is a mistake, not a retry: doing nothing would hide it.
        if operation.kind != kind || amount.is_some_and(|a| operation.amount != Some(a)) {
            return Err(SaleError::KeyReused);
        }
        let mut row = row.clone();
        if operation.status == "pending" {
            self.send(&mut row, &operation.idempotency_key).await?;
        }
        Ok(Some(sale_view(&row)))
    }

    /// Records a write with the next key of its kind; returns the key.
    async fn record(
        &self,
        row: &PaymentRow,
        write: &Write,
        client_key: Option<&str>,
    ) -> Result<String, SaleError> {
        let kind = write.kind();
        let earlier = self.inner.store.operations_for(&row.reference).await?;
        let body = write.body();
        // A cancel of the same kind is one intent however often it is asked for: reuse its key.
        if let Write::Cancel { .. } = write
            && let Some(same) =
                earlier.iter().find(|op| op.kind == kind && op.request.as_deref() == Some(&body))
        {
            return Ok(same.idempotency_key.clone());
        }
        let n = earlier.iter().filter(|op| op.kind == kind).count() + 1;
        let key = idempotency_key(&row.reference, kind, n);
        self.inner.store.begin_operation(write.record(row, &key, &body, client_key), crate::now_ms()).await?;
        crate::crash_point(&format!("after-record:{}", kind.as_str()));
        Ok(key)
    }

    /// Sends a recorded write with its key and stored body, and applies the platform's answer.
    async fn send(&self, row: &mut PaymentRow, key: &str) -> Result<Sent, SaleError> {
        let store = &self.inner.store;
        let Some(operation) = store.begin_attempt(key, crate::now_ms()).await? else {
            // Not pending: confirmed or refused already (another attempt finished it), or unknown.
            return match store.operation(key).await? {
                Some(_) => Ok(Sent::Confirmed),
                None => Err(SaleError::NotFound(key.to_owned())),
            };
        };
        let Some(write) = Write::from_stored(&operation) else {
            store.finish_operation(key, Some("the recorded request cannot be read"), crate::now_ms()).await?;
            return Err(SaleError::Platform(
                "A recorded request could not be read; it was not sent.".to_owned(),
            ));
        };
        let client = self.client(&row.msn)?;
        let reference = row.reference.clone();
        let answer = match &write {
            Write::Create(request) => client.create_payment(request, key).await.map(|created| {
                let now = crate::now_ms();
                row.platform_state = Some("CREATED".to_owned());
                row.set_status(SaleStatus::AwaitingCustomer);
                row.qr = created.redirect_url;
                row.expires_at = Some(row.created_at + PLATFORM_TIMEOUT_MS);
                row.next_poll_at = Some(now + FIRST_POLL_MS);
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
        let kind = operation.kind.as_str();
        match answer {
            Ok(_) => {
                crate::crash_point(&format!("after-send:{kind}"));
                self.inner.metrics.platform_write(kind, "confirmed");
                self.schedule_poll(row);
                row.updated_at = crate::now_ms();
                store.confirm(key, row, row.updated_at).await?;
                self.publish(row).await;
                Ok(Sent::Confirmed)
            }
            Err(e) if e.outcome_unknown() => {
                self.inner.metrics.platform_write(kind, "unknown");
                // The platform may or may not have it: the same key and body go again later.
                tracing::warn!(%reference, kind = operation.kind.as_str(), error = %e, "no answer; will send again with the same key");
                Ok(Sent::Unknown)
            }
            Err(e) => {
                self.inner.metrics.platform_write(kind, "refused");
                tracing::warn!(%reference, kind = operation.kind.as_str(), error = %e, "the platform refused");
                store.finish_operation(key, Some(&e.to_string()), crate::now_ms()).await?;
                Ok(Sent::Refused(e))
            }
        }
    }

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
            .filter(|op| op.status == "pending")
            .collect();
        for op in pending {
            self.resend(&op.reference, &op.idempotency_key).await?;
        }
        self.refresh(reference).await?;
        Ok(sale_view(&self.payment(reference).await?))
    }

    /// Reads the payment from the platform and shows it; captures it if it is due.
    #[tracing::instrument(name = "refresh", skip_all, fields(%reference))]
    pub async fn refresh(&self, reference: &str) -> Result<(), SaleError> {
        let _guard = self.inner.locks.lock(reference).await;
        self.refresh_locked(reference).await
    }

    async fn refresh_locked(&self, reference: &str) -> Result<(), SaleError> {
        let Some(mut row) = self.inner.store.payment(reference).await? else {
            // Not one of ours (another system on the same sales unit): nothing to do.
            return Ok(());
        };
        if matches!(row.status(), SaleStatus::Creating | SaleStatus::Failed) {
            // Not confirmed created: the pending create decides what happens.
            return Ok(());
        }
        let remote = match self.client(&row.msn)?.get_payment(reference).await {
            Ok(remote) => remote,
            Err(e) if row.withdrawn() && e.status() == Some(404) => {
                // Its create has not arrived (and may never): watch on, or stop when it is time.
                row.next_poll_at = withdrawn::next_look(&row, crate::now_ms());
                if row.next_poll_at.is_none() {
                    tracing::info!(%reference, "the cancelled sale never reached the platform; no longer watching");
                }
                self.inner.store.update_payment(&row).await?;
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(%reference, error = %e, "could not read the payment; will poll again");
                row.next_poll_at = Some(crate::now_ms() + POLL_EVERY_MS);
                self.inner.store.update_payment(&row).await?;
                return Ok(());
            }
        };
        let changed = apply(&mut row, remote.state, &remote.aggregate);
        self.schedule_poll(&mut row);
        if changed {
            self.save(&mut row).await?;
        } else {
            // Nothing the till shows changed (a repeated webhook, a poll): store the poll time only.
            self.inner.store.update_payment(&row).await?;
        }
        if row.withdrawn() { self.enforce_withdrawal(row).await } else { self.capture_if_due(row).await }
    }

    /// Captures the whole amount of an approved sale, once, if its till captures automatically.
    async fn capture_if_due(&self, row: PaymentRow) -> Result<(), SaleError> {
        if row.status() != SaleStatus::Authorized || !self.captures_automatically(&row) || row.cancelled > 0 {
            return Ok(());
        }
        let earlier = self.inner.store.operations_for(&row.reference).await?;
        if earlier.iter().any(|op| op.kind == OperationKind::Capture) {
            // Already recorded: the reconciler sends it if it is still pending.
            return Ok(());
        }
        let amount = row.authorized;
        match self.capture_locked(row, amount, None).await {
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
            if !resend_due(round, op.attempts, op.updated_at, now) {
                continue;
            }
            tracing::info!(reference = %op.reference, kind = op.kind.as_str(), attempts = op.attempts, "sending a recorded write again");
            if let Err(e) = self.resend(&op.reference, &op.idempotency_key).await {
                tracing::warn!(reference = %op.reference, error = %e, "resend failed");
            }
        }
        Ok(())
    }

    /// Sends one recorded write again and lets its kind's rules handle the answer.
    #[tracing::instrument(name = "resend", skip_all, fields(%reference))]
    async fn resend(&self, reference: &str, key: &str) -> Result<(), SaleError> {
        let _guard = self.inner.locks.lock(reference).await;
        let Some(operation) = self.inner.store.operation(key).await?.filter(|op| op.status == "pending")
        else {
            return Ok(());
        };
        let row = self.payment(reference).await?;
        let result = match operation.kind {
            OperationKind::Create => self.send_create(reference).await.map(drop),
            OperationKind::Cancel => self.send_cancel(row, key).await.map(drop),
            OperationKind::Capture | OperationKind::Refund => {
                let mut row = row;
                self.send(&mut row, key).await.map(drop)
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
            if let Err(e) = self.refresh(&row.reference).await {
                tracing::warn!(reference = %row.reference, error = %e, "poll failed");
            }
        }
        Ok(())
    }

    /// Records a customer's check-in at a callback sticker, tells the till whose sticker it is,
    /// and charges the till's presented amount at once if the till is set to.
    pub async fn check_in(&self, event: &kasse_vipps::webhooks::UserCheckedIn) -> Result<(), SaleError> {
        let now = crate::now_ms();
        let at =
            chrono::DateTime::parse_from_rfc3339(&event.initiated_at).map_or(now, |t| t.timestamp_millis());
        // The till's `callback_qr`, or the till the QR tools saved for the sticker (a migrated
        // MobilePay beacon, a new callback sticker); if the two disagree, neither is guessed.
        let route =
            crate::qr::route(&self.inner.config, &self.inner.store, &event.msn, &event.merchant_qr_id)
                .await?;
        let till = match route {
            crate::qr::Route::Till(till) => Some(till),
            crate::qr::Route::Nobody => None,
            crate::qr::Route::Conflict(conflict) => {
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
            return Ok(());
        }
        let Some(till) = till else {
            tracing::warn!(merchant_qr_id = %event.merchant_qr_id, msn = %event.msn, "a check-in at a sticker no till owns");
            return Ok(());
        };
        tracing::info!(till = %till.id, merchant_qr_id = %event.merchant_qr_id, "customer checked in");
        self.publish_check_in(&row, None).await;
        if till.charge_on_check_in
            && let Some(presented) = self.inner.store.take_presented(&till.id).await?
        {
            // The till is set to charge whoever checks in with what it presents.
            let currency =
                kasse_api::Currency::from_code(&presented.currency).unwrap_or(kasse_api::Currency::Nok);
            let new = NewSale {
                amount: Money::new(presented.amount, currency),
                description: presented.description.clone(),
                lines: Vec::new(),
                payer: Payer::CheckIn { check_in: row.id.clone() },
            };
            if let Err(e) = self.start(&till.id, new, None).await {
                tracing::warn!(till = %till.id, error = %e, "could not charge a check-in; the amount stays presented");
                self.inner.store.present(&presented, crate::now_ms()).await?;
            }
        }
        Ok(())
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

    async fn publish_check_in(&self, row: &CheckInRow, charged_by: Option<&str>) {
        let Some(till_id) = &row.till_id else { return };
        let event = TillEvent::CheckIn { check_in: check_in_view(row, charged_by) };
        if let Err(e) = self.inner.live.publish(till_id, &event).await {
            tracing::error!(error = %e, "could not publish a check-in");
        }
    }

    /// Schedules the next poll of a payment by where it stands.
    fn schedule_poll(&self, row: &mut PaymentRow) {
        let now = crate::now_ms();
        row.next_poll_at = match row.status() {
            _ if row.withdrawn() => withdrawn::next_look(row, now),
            s if s.is_final() => None,
            SaleStatus::Authorized if !self.captures_automatically(row) => Some(now + POLL_AUTHORIZED_MS),
            _ => Some(row.next_poll_at.filter(|at| *at > now).unwrap_or(now + POLL_EVERY_MS)),
        };
    }

    fn captures_automatically(&self, row: &PaymentRow) -> bool {
        match self.inner.config.till(&row.till_id) {
            Some(till) => till.capture == CapturePolicy::Automatic,
            // An open-amount sticker's payment has no cashier to take it by hand.
            None => row.till_id.is_empty(),
        }
    }

    async fn payment(&self, reference: &str) -> Result<PaymentRow, SaleError> {
        self.inner.store.payment(reference).await?.ok_or_else(|| SaleError::NotFound(reference.to_owned()))
    }

    /// Stores a changed row and tells the till.
    async fn save(&self, row: &mut PaymentRow) -> Result<(), SaleError> {
        row.updated_at = crate::now_ms();
        self.inner.store.update_payment(row).await?;
        self.publish(row).await;
        Ok(())
    }

    async fn publish(&self, row: &PaymentRow) {
        self.publish_landing(row).await;
        if row.till_id.is_empty() {
            // An open-amount sticker's payment: no till follows it.
            return;
        }
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

/// The platform's receipt for a sale's lines: each line with its VAT, the till as point of sale.
/// The lines must add up to the amount asked.
fn receipt_of(lines: &[SaleLine], amount: Money, till_id: &str) -> Result<Option<Receipt>, SaleError> {
    if lines.is_empty() {
        return Ok(None);
    }
    let mut sum: i64 = 0;
    let mut order_lines = Vec::with_capacity(lines.len());
    for (n, line) in lines.iter().enumerate() {
        let name = line.name.trim();
        if !(1..=100).contains(&name.chars().count())
            || !(1..=9999).contains(&line.quantity)
            || line.vat_rate > 10_000
            || line.unit_price.currency != amount.currency
            || line.unit_price.value <= 0
        {
            return Err(SaleError::BadLines);
        }
        let (total, vat) = (line.total(), line.vat());
        sum = sum.saturating_add(total);
        order_lines.push(OrderLine {
            name: name.to_owned(),
            id: format!("line-{}", n + 1),
            total_amount: total,
            total_amount_excluding_tax: total - vat,
            total_tax_amount: vat,
            tax_percentage: None,
            tax_rate: Some(line.vat_rate),
            unit_info: Some(UnitInfo {
                unit_price: Some(line.unit_price.value),
                quantity: line.quantity.to_string(),
                quantity_unit: None,
            }),
            discount: None,
            product_url: None,
            is_return: None,
            is_shipping: None,
        });
    }
    if sum != amount.value {
        return Err(SaleError::BadLines);
    }
    Ok(Some(Receipt {
        order_lines,
        bottom_line: BottomLine {
            currency: to_vipps(amount.currency),
            tip_amount: None,
            pos_id: Some(till_id.to_owned()),
            payment_sources: None,
            barcode: None,
            receipt_number: None,
        },
    }))
}

/// A check-in's customer token is valid this long after the scan (the platform's 15 minutes).
const CHECK_IN_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// A stable id for a check-in that reveals nothing of its token.
fn check_in_id(customer_token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(customer_token.as_bytes());
    crate::hex(&digest[..12])
}

fn check_in_view(row: &CheckInRow, charged_by: Option<&str>) -> CheckIn {
    CheckIn {
        id: row.id.clone(),
        at_ms: row.initiated_at,
        expires_at_ms: row.expires_at,
        charged_by: charged_by.map(str::to_owned).or_else(|| row.charged_by.clone()),
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

    #[test]
    fn a_check_in_id_is_stable_and_does_not_reveal_the_token() {
        let id = check_in_id("wbA8ceVRKkoYiQAVELHeFCC3Sn5dtNCvvEtVPiOT77j6wx7uR965AG6Q+q0ATP4=");
        assert_eq!(id, check_in_id("wbA8ceVRKkoYiQAVELHeFCC3Sn5dtNCvvEtVPiOT77j6wx7uR965AG6Q+q0ATP4="));
        assert_eq!(id.len(), 24);
        assert!(!id.contains("wbA8"));
    }
}
