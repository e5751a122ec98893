//! Sales: taking a payment at a till, durably, by every in-store flow.
//!
//! The rule everything here follows: a platform write (create, capture, cancel, refund) is first
//! recorded with its reference, idempotency key and exact body, then sent; if the answer is lost,
//! the same write is sent again with the same key and body (by the reconciler, after a crash too),
//! so the platform applies it once. What the till shows is derived from the platform's own
//! answers (state and totals) and only ever moves forward, so late, repeated or reordered webhooks
//! change nothing. Browsers may retry too: each action carries the browser's own key, and a
//! repeated action finds what the first one did instead of doing it again.

mod check_ins;
mod for_now;
mod landing;
mod locks;
mod loyalty;
mod queries;
mod reconcile;
mod record;
mod release;
pub(crate) mod routing;
mod search;
mod start;
mod status;
mod withdrawn;
mod writes;

use std::sync::Arc;

use kasse_api::{MoneyError, PhoneError, Sale, SaleStatus, TillEvent};

use crate::config::{Config, StoreConfig, TillConfig};
use crate::live::{Announcement, Live};
use crate::metrics::Metrics;
use crate::platform::Platform;
use crate::store::{PaymentRow, Store, StoreError};

pub use for_now::ASKED_AGAIN as CAPTURE_ASKED_AGAIN;
pub use landing::{landing_channel, sticker_channel};
use locks::PaymentLocks;
pub use reconcile::Round;
pub use start::PosOrder;
pub use status::sale_view;

/// The start of the client keys of sales that their PoS captures itself, whatever the till's
/// capture policy (MobilePay PoS v10's payments).
pub const CAPTURED_BY_THE_POS: &str = "v10:";

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
    /// The sale asks the customer to share their number, at a store without loyalty.
    #[error("the store has no loyalty programme")]
    NoLoyalty,
    /// The receipt lines are malformed or do not add up to the amount.
    #[error("the receipt lines do not add up to the amount")]
    BadLines,
    /// The description does not fit the platform's 3 to 100 characters.
    #[error("the description must be 3 to 100 characters")]
    BadDescription,
    /// A history search longer than [`kasse_api::HistoryQuery::SEARCH_MAX`].
    #[error(transparent)]
    SearchTooLong(#[from] search::TooLong),
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
        action: Action,
    },
    /// More than is left to capture or refund, or nothing at all.
    #[error("the amount must be more than nothing and at most {left} minor units")]
    AmountOutOfRange {
        /// What is left.
        left: i64,
    },
    /// Refunds of the sale would come to more than `limit` in all, which needs a confirmation
    /// (the manager's PIN) that the request did not carry.
    #[error("refunds of more than {limit} minor units in all need a confirmation")]
    ConfirmationNeeded {
        /// What the sale's refunds may come to without one.
        limit: i64,
    },
    /// The browser's idempotency key was used before for a different request.
    #[error("the idempotency key was used for another request")]
    KeyReused,
    /// The customer approved before the cancel reached the platform.
    #[error("the customer approved before the cancel arrived")]
    AlreadyApproved,
    /// A payment its PoS captures (MobilePay PoS v10's) was captured already, or a capture of it
    /// is on its way: it is captured once.
    #[error("the payment was captured already")]
    CapturedOnce,
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

/// What a cashier can ask to do with a sale after it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Cancel it, or release what is not captured.
    Cancel,
    /// Take the money.
    Capture,
    /// Give money back.
    Refund,
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
    locks: PaymentLocks,
    /// Loyalty programmes' member lists.
    members: crate::loyalty::Members,
    /// The payments whose customer this instance is looking up now.
    recognising: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Poked when a payment a PoS started changes: its callback is due.
    pos_changes: Arc<tokio::sync::Notify>,
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
    /// Loyalty programmes' member lists.
    pub members: crate::loyalty::Members,
}

/// The outcome of sending one recorded write.
pub(super) enum Sent {
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
        let Parts { store, platform, config, live, public_url, metrics, members } = parts;
        let locks = PaymentLocks::new(store.clone());
        let pos_changes = Arc::new(tokio::sync::Notify::new());
        Self {
            inner: Arc::new(Inner {
                public_url,
                store,
                platform,
                config,
                live,
                metrics,
                locks,
                members,
                recognising: std::sync::Mutex::default(),
                pos_changes,
            }),
        }
    }

    /// Notified when a payment a PoS system started changes (on this instance).
    pub fn pos_changes(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.pos_changes)
    }

    pub(super) fn till(&self, till_id: &str) -> Result<&TillConfig, SaleError> {
        self.inner.config.till(till_id).ok_or_else(|| SaleError::UnknownTill(till_id.to_owned()))
    }

    pub(super) fn store_of(&self, till: &TillConfig) -> Result<&StoreConfig, SaleError> {
        self.inner.config.store(&till.store).ok_or_else(|| SaleError::UnknownTill(till.id.clone()))
    }

    pub(super) async fn payment(&self, reference: &str) -> Result<PaymentRow, SaleError> {
        self.inner.store.payment(reference).await?.ok_or_else(|| SaleError::NotFound(reference.to_owned()))
    }

    /// Stores a changed row and tells the till, in one transaction.
    pub(super) async fn save(&self, row: &mut PaymentRow) -> Result<(), SaleError> {
        row.touch();
        let announcement = self.announcement(row).await;
        let id = self.inner.store.save_payment(row, announcement.as_ref().map(Announcement::event)).await?;
        self.announced(row, announcement, id).await;
        Ok(())
    }

    /// [`Sales::save`], the pending writes `keys` recorded as confirmed with it, together.
    pub(super) async fn save_confirming(&self, row: &mut PaymentRow, keys: &[&str]) -> Result<(), SaleError> {
        row.touch();
        let announcement = self.announcement(row).await;
        let event = announcement.as_ref().map(Announcement::event);
        let id = self.inner.store.confirm(keys, row, row.updated_at, event).await?;
        self.announced(row, announcement, id).await;
        Ok(())
    }

    /// The till's event showing `row` as it is now, to store with the change; `None` for an
    /// open-amount sticker's payment, which no till follows.
    pub(super) async fn announcement(&self, row: &PaymentRow) -> Option<Announcement<'_>> {
        if row.till_id.is_empty() {
            return None;
        }
        Some(self.inner.live.announce(&row.till_id, &TillEvent::Sale { sale: sale_view(row) }).await)
    }

    /// Sends the till's event, stored as `id` with the change it shows, and the landing page's.
    pub(super) async fn announced(
        &self,
        row: &PaymentRow,
        announcement: Option<Announcement<'_>>,
        id: Option<i64>,
    ) {
        if let (Some(announcement), Some(id)) = (announcement, id) {
            announcement.stored(id).await;
        }
        if row.integrator_id.is_some() {
            self.inner.pos_changes.notify_one();
        }
        self.publish_landing(row).await;
    }

    pub(super) fn client(&self, msn: &str) -> Result<Arc<kasse_vipps::Client>, SaleError> {
        self.inner
            .platform
            .client(msn)
            .ok_or_else(|| SaleError::Platform(format!("No platform access is set up for sales unit {msn}.")))
    }
}
