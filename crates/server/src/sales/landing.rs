//! Payments started by customers on a sticker's landing page, and what tills present to their
//! stickers. A till's sticker can charge only the amount the till presents, once (or once more,
//! when the customer who declined it or let it expire sends it again before the till moves on);
//! an open-amount sticker only an amount within its bounds. The customer follows the payment by
//! an unguessable token, never by its reference.
//!
//! A customer's payment claims what the till presents only while the till presents it, and
//! exactly what the customer was shown: compared and claimed in one statement. The till sees the
//! claim (the customer's masked number) and can take it back: a new amount or a withdrawal voids
//! the claim and cancels the customer's request through the till's own cancel.

use kasse_api::{
    Country, Flow, LandingEvent, LandingPayment, Money, Msisdn, NewLandingPayment, OpenAmount, Presented,
    SaleStatus, StickerInfo,
};
use kasse_vipps::epayment::Customer;

use super::start::Draft;
use super::{SaleError, Sales};
use crate::config::{StickerConfig, StoreConfig, TillConfig};
use crate::store::{PaymentRow, PresentedRow};

/// A sticker is a till's (it pays what the till presents) or stands alone with open amounts.
enum Sticker<'a> {
    Till(&'a TillConfig),
    Open(&'a StickerConfig),
}

impl Sales {
    fn sticker_of(&self, id: &str) -> Result<(Sticker<'_>, &StoreConfig), SaleError> {
        let config = &self.inner.config;
        let sticker = match config.tills.iter().find(|t| t.redirect_sticker.as_deref() == Some(id)) {
            Some(till) => Sticker::Till(till),
            None => Sticker::Open(
                config
                    .stickers
                    .iter()
                    .find(|s| s.id == id)
                    .ok_or_else(|| SaleError::UnknownSticker(id.to_owned()))?,
            ),
        };
        let store_id = match &sticker {
            Sticker::Till(till) => &till.store,
            Sticker::Open(open) => &open.store,
        };
        let store = config.store(store_id).ok_or_else(|| SaleError::UnknownSticker(id.to_owned()))?;
        Ok((sticker, store))
    }

    /// Presents an amount to the till's sticker: the next customer who scans it pays this.
    pub async fn present(&self, till_id: &str, presented: &Presented) -> Result<Presented, SaleError> {
        let till = self.till(till_id)?;
        let store = self.store_of(till)?;
        if presented.amount.currency != store.currency {
            return Err(SaleError::WrongCurrency { expected: store.currency });
        }
        presented.amount.check_payable()?;
        let description = presented.description.as_ref().map(|d| d.trim().to_owned());
        if description.as_ref().is_some_and(|d| !(3..=100).contains(&d.chars().count())) {
            return Err(SaleError::BadDescription);
        }
        let row = PresentedRow {
            till_id: till.id.clone(),
            amount: presented.amount.value,
            currency: presented.amount.currency,
            description: description.clone(),
            claimed_by: None,
            claimed_phone: None,
            claim_reference: None,
            claim_active: None,
        };
        let voided = self.inner.store.present(&row, crate::now_ms()).await?;
        self.sticker_changed(till).await;
        if let Some(token) = voided {
            // A customer claimed the amount this replaces: their request for it is taken back.
            // One they approved a moment ago stands (and is paid for); the new amount waits.
            match self.take_back_claim(&till.id, &token).await {
                Ok(()) | Err(SaleError::AlreadyApproved) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Presented { amount: presented.amount, description, claimed: false, claimed_by: None })
    }

    /// The till started a sale of its own (a QR code, a number, a check-in), even one the platform
    /// then refused: what it presented at its sticker goes, as the till's screen shows it gone,
    /// so the customer who paid the other way is not asked again there, nor the next customer
    /// who scans it. A claim on it can only be a payment that will not be made (the
    /// till has one sale in progress at a time, and this is it) or one that finished.
    pub(super) async fn take_back_presented(&self, till: &TillConfig) -> Result<(), SaleError> {
        if till.redirect_sticker.is_none() {
            // No sticker, so nobody can be asked for what it presents: a statement saved a sale.
            return Ok(());
        }
        if self.inner.store.withdraw_presented(&till.id).await?.is_some() {
            tracing::info!(till = %till.id, "the till took a sale another way: its sticker's amount is taken back");
            self.sticker_changed(till).await;
        }
        Ok(())
    }

    /// Takes back what the till presented. When a customer claimed it, their request is
    /// cancelled too, as the till's cancel does it; `AlreadyApproved` when they approved first.
    pub async fn withdraw(&self, till_id: &str) -> Result<(), SaleError> {
        let till = self.till(till_id)?;
        let Some(withdrawn) = self.inner.store.withdraw_presented(till_id).await? else { return Ok(()) };
        self.sticker_changed(till).await;
        if let Some(token) = &withdrawn.claimed_by {
            self.take_back_claim(till_id, token).await?;
        }
        Ok(())
    }

    /// Cancels the customer's request that claimed what the till presented (landing token
    /// `token`), while the customer has not answered it; a finished one is left as it is.
    async fn take_back_claim(&self, till_id: &str, token: &str) -> Result<(), SaleError> {
        let Some(payment) = self.inner.store.payment_by_landing_token(token).await? else {
            // Not recorded yet: its request finds the claim gone once it is, and cancels it.
            return Ok(());
        };
        match payment.status() {
            SaleStatus::Creating | SaleStatus::AwaitingCustomer => {
                match self.cancel(till_id, &payment.reference, None).await {
                    // Pending: the cancel is recorded and is sent again until the platform answers.
                    Ok(_) | Err(SaleError::Pending(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            SaleStatus::Authorized => Err(SaleError::AlreadyApproved),
            // Being cancelled already, or finished: nothing is left to take back.
            _ => Ok(()),
        }
    }

    /// What the till presents now, and who claimed it; nothing once the claiming payment has
    /// finished (the amount is used up).
    pub async fn presented(&self, till_id: &str) -> Result<Option<Presented>, SaleError> {
        self.till(till_id)?;
        let row = self.inner.store.presented(till_id).await?.filter(|row| !row.used_up());
        Ok(row.map(|row| Presented {
            claimed: row.claimed_by.is_some(),
            claimed_by: row.claimed_phone.clone(),
            ..presented_view(&row)
        }))
    }

    /// What the landing page of a sticker shows.
    pub async fn sticker(&self, id: &str) -> Result<StickerInfo, SaleError> {
        let (sticker, store) = self.sticker_of(id)?;
        let country = Country::of_currency(store.currency);
        Ok(match sticker {
            Sticker::Till(till) => StickerInfo {
                id: id.to_owned(),
                merchant: store.name.clone(),
                place: till.name.clone(),
                country,
                // Only what a customer can still claim: the till's claimed amount is someone's.
                presented: self
                    .inner
                    .store
                    .presented(&till.id)
                    .await?
                    .filter(|row| row.claimed_by.is_none())
                    .map(|row| presented_view(&row)),
                open: None,
                closed: false,
            },
            Sticker::Open(open) => {
                // Switched off, it offers nothing to pay, and says so.
                let closed = self.inner.store.sticker_is_off(id).await?;
                StickerInfo {
                    id: id.to_owned(),
                    merchant: store.name.clone(),
                    place: open.description.clone(),
                    country,
                    presented: None,
                    open: (!closed).then(|| OpenAmount {
                        min: Money::new(open.min, store.currency),
                        max: Money::new(open.max, store.currency),
                    }),
                    closed,
                }
            }
        })
    }

    /// The payment the customer's page started at sticker `id` with its Idempotency-Key `key`,
    /// if one did: a retry of a request whose answer never reached the page finds it.
    pub async fn landing_payment_by_key(
        &self,
        id: &str,
        key: &str,
    ) -> Result<Option<LandingPayment>, SaleError> {
        let (sticker, _) = self.sticker_of(id)?;
        let till_id = match sticker {
            Sticker::Till(till) => till.id.as_str(),
            Sticker::Open(_) => "",
        };
        let found = self.inner.store.payment_by_client_key(till_id, &landing_key(id, key)).await?;
        Ok(found.map(|row| self.landing_view(&row)))
    }

    /// A customer asks to pay at a sticker: by phone number (a push to the app), or by opening
    /// the app from the page (an app switch that returns to the page). `key` is the page's
    /// Idempotency-Key for this request, if it sent one ([`Sales::landing_payment_by_key`]).
    pub async fn pay_at_sticker(
        &self,
        id: &str,
        request: NewLandingPayment,
        key: Option<&str>,
    ) -> Result<LandingPayment, SaleError> {
        let client_key = key.map(|key| landing_key(id, key));
        let (sticker, store) = self.sticker_of(id)?;
        // Read the number before anything is claimed: a mistyped number changes nothing.
        let msisdn = request
            .phone_number
            .as_deref()
            .map(|typed| {
                Msisdn::parse(typed, request.country.unwrap_or_else(|| Country::of_currency(store.currency)))
            })
            .transpose()?;
        let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let masked_phone = msisdn.as_ref().map(Msisdn::masked);
        let (till_id, amount, description, claimed) = match sticker {
            Sticker::Till(till) => {
                // Claimed atomically, and only if it is still what the page showed: two customers
                // scanning at once cannot both pay it, and a changed or withdrawn amount is not
                // paid unseen.
                let seen = request.amount.map(|seen| (seen.value, seen.currency));
                let claim = self.inner.store.claim_presented(&till.id, &token, masked_phone.as_deref(), seen);
                if let Some(presented) = claim.await? {
                    // The other customers at the sticker no longer see an amount to pay.
                    self.sticker_changed(till).await;
                    let amount = Money::new(presented.amount, store.currency);
                    let description = presented
                        .description
                        .clone()
                        .unwrap_or_else(|| format!("{}, {}", store.name, till.name));
                    (till.id.as_str(), amount, description, true)
                } else if self
                    .inner
                    .store
                    .presented(&till.id)
                    .await?
                    .is_some_and(|row| row.claimed_by.is_none())
                {
                    // Presented, and free, yet not what the page showed: the till changed the
                    // amount since. The customer pays nothing they have not seen; the new amount
                    // stays.
                    return Err(SaleError::AmountChanged);
                } else {
                    let (earlier, earlier_token) = self.again_at(id, till, request.again.as_deref()).await?;
                    let amount = Money::new(earlier.amount, store.currency);
                    if request.amount.is_some_and(|seen| seen != amount) {
                        return Err(SaleError::AmountChanged);
                    }
                    // The earlier payment's claim becomes this one's, while the till still
                    // presents it: taken back or replaced, there is nothing to send again, and a
                    // withdrawal or new amount after this cancels this request as it would the first.
                    let moved =
                        self.inner.store.move_claim(&till.id, earlier_token, &token, masked_phone.as_deref());
                    if moved.await?.is_none() {
                        return Err(SaleError::NothingToPay);
                    }
                    self.sticker_changed(till).await;
                    (till.id.as_str(), amount, earlier.description.unwrap_or_default(), true)
                }
            }
            Sticker::Open(open) => {
                if self.inner.store.sticker_is_off(id).await? {
                    return Err(SaleError::NothingToPay);
                }
                let amount = request.amount.ok_or(SaleError::NothingToPay)?;
                if amount.currency != store.currency {
                    return Err(SaleError::WrongCurrency { expected: store.currency });
                }
                if !(open.min..=open.max).contains(&amount.value) {
                    return Err(SaleError::OutsideBounds { min: open.min, max: open.max });
                }
                ("", amount, open.description.clone(), false)
            }
        };
        let (flow, customer, return_url) = if let Some(msisdn) = &msisdn {
            (Flow::Sticker, Some(Customer::phone_number(msisdn.as_str())), None)
        } else {
            // The app switches back to this page, which then follows the payment by its token.
            let back =
                self.inner.public_url.join(&format!("q/{id}?payment={token}")).map(|u| u.to_string()).ok();
            (Flow::AppSwitch, None, back)
        };
        let draft = Draft {
            till_id,
            reference_prefix: if till_id.is_empty() { id } else { till_id },
            store,
            amount,
            description,
            flow,
            customer,
            masked_phone,
            return_url,
            receipt: None,
            client_key: client_key.as_deref(),
            sticker_id: Some(id),
            landing_token: Some(token.clone()),
            pos: None,
            loyalty: false,
        };
        let created = self.create(draft, None).await;
        if !claimed {
            return created.map(|row| self.landing_view(&row));
        }
        let created = match created {
            // Recorded, then cut short (the database failing once the create was sent, say): the
            // payment goes ahead, its create sent again by the reconciler with its key, so it
            // keeps the claim; given up, the amount would be the next customer's to pay too.
            Err(e) => match self.inner.store.payment_by_landing_token(&token).await? {
                Some(row) => {
                    tracing::warn!(reference = %row.reference, error = %e, "a sticker payment was cut short after it was recorded; it goes ahead");
                    Ok(row)
                }
                None => Err(e),
            },
            made => made,
        };
        let row = match created {
            Ok(row) if row.status() != SaleStatus::Failed => row,
            failed => {
                // A payment that could not be made leaves what the till presented for the next
                // try (unless the till took it back or changed it meanwhile).
                self.inner.store.release_claim(till_id, &token).await?;
                if let Ok(till) = self.till(till_id) {
                    self.sticker_changed(till).await;
                }
                return failed.map(|row| self.landing_view(&row));
            }
        };
        if self.inner.store.confirm_claim(till_id, &token, &row.reference).await? {
            return Ok(self.landing_view(&row));
        }
        // The till took the amount back (or presented another) while this payment was being
        // made, before it could find the payment to cancel: it is cancelled here instead.
        if let Err(e) = self.take_back_claim(till_id, &token).await {
            tracing::warn!(reference = %row.reference, error = %e, "could not cancel a payment whose amount the till took back");
        }
        let now = self.inner.store.payment_by_landing_token(&token).await?;
        Ok(self.landing_view(now.as_ref().unwrap_or(&row)))
    }

    /// The earlier payment a customer's "send again" at a till's sticker asks for once more, with
    /// its landing token: it was started at this sticker, the customer declined it or let it
    /// expire, and it is still the till's newest sale (the till has started no other). Anything
    /// else has nothing to pay: the till must present the amount again. (That the till still
    /// presents what it claimed is checked as the claim moves.)
    async fn again_at<'t>(
        &self,
        sticker: &str,
        till: &TillConfig,
        token: Option<&'t str>,
    ) -> Result<(PaymentRow, &'t str), SaleError> {
        let Some(token) = token else { return Err(SaleError::NothingToPay) };
        let earlier = self
            .inner
            .store
            .payment_by_landing_token(token)
            .await?
            .filter(|row| row.sticker_id.as_deref() == Some(sticker) && row.till_id == till.id)
            .ok_or(SaleError::NothingToPay)?;
        let unpaid = matches!(earlier.status(), SaleStatus::Declined | SaleStatus::Expired);
        let newest = self
            .inner
            .store
            .current_payment(&till.id)
            .await?
            .is_some_and(|current| current.reference == earlier.reference);
        if unpaid && newest { Ok((earlier, token)) } else { Err(SaleError::NothingToPay) }
    }

    /// A landing-page payment by its token.
    pub async fn landing_payment(&self, token: &str) -> Result<LandingPayment, SaleError> {
        let row = self.inner.store.payment_by_landing_token(token).await?.ok_or(SaleError::UnknownPayment)?;
        Ok(self.landing_view(&row))
    }

    /// The customer's view of a landing-page payment.
    pub(super) fn landing_view(&self, row: &PaymentRow) -> LandingPayment {
        let merchant = self.inner.config.store_by_msn(&row.msn).map(|s| s.name.clone()).unwrap_or_default();
        let status = row.status();
        LandingPayment {
            token: row.landing_token.clone().unwrap_or_default(),
            sticker: row.sticker_id.clone().unwrap_or_default(),
            merchant,
            amount: Money::new(row.amount, row.currency),
            description: row.description.clone(),
            status,
            phone: row.masked_phone.clone(),
            redirect_url: row
                .qr
                .clone()
                .filter(|_| row.flow == Flow::AppSwitch && status == SaleStatus::AwaitingCustomer),
            expires_at_ms: row.expires_at,
        }
    }

    /// Tells the landing pages waiting at `till`'s sticker that what it offers may have changed:
    /// each stream reads the sticker again and sends it if it did (see
    /// `routes::landing::sticker_events`). The signal carries no state of its own, so signals
    /// crossing each other can never leave a page showing an older amount than the newest.
    pub(super) async fn sticker_changed(&self, till: &TillConfig) {
        let Some(sticker) = &till.redirect_sticker else { return };
        if let Err(e) = self.inner.live.publish(&sticker_channel(sticker), &"changed").await {
            tracing::error!(till = %till.id, error = %e, "could not tell a sticker's pages what it offers");
        }
    }

    /// Tells a landing page following `row` what changed.
    pub(super) async fn publish_landing(&self, row: &PaymentRow) {
        let Some(token) = &row.landing_token else { return };
        let event = LandingEvent::Payment { payment: self.landing_view(row) };
        if let Err(e) = self.inner.live.publish(&landing_channel(token), &event).await {
            tracing::error!(reference = %row.reference, error = %e, "could not publish a landing event");
        }
    }
}

/// The key a landing page's payment is stored under: its Idempotency-Key, made apart from tills'
/// and PoS systems' keys and from other stickers'.
fn landing_key(sticker: &str, key: &str) -> String {
    format!("sticker:{sticker}:{key}")
}

/// The live-event channel of a landing-page payment (till ids never contain `:`).
pub fn landing_channel(token: &str) -> String {
    format!("landing:{token}")
}

/// The live-event channel of a sticker's landing pages (sticker ids never contain `:`).
pub fn sticker_channel(sticker: &str) -> String {
    format!("sticker:{sticker}")
}

/// What is presented, as a customer sees it (the till adds who claimed it).
fn presented_view(row: &PresentedRow) -> Presented {
    Presented {
        amount: Money::new(row.amount, row.currency),
        description: row.description.clone(),
        claimed: false,
        claimed_by: None,
    }
}
