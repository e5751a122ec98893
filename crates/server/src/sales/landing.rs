//! Payments started by customers on a sticker's landing page, and what tills present to their
//! stickers. A till's sticker can charge only the amount the till presents, once (or once more,
//! when the customer who declined it or let it expire sends it again before the till moves on);
//! an open-amount sticker only an amount within its bounds. The customer follows the payment by
//! an unguessable token, never by its reference.

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
        };
        self.inner.store.present(&row, crate::now_ms()).await?;
        Ok(Presented { amount: presented.amount, description })
    }

    /// Takes back what the till presented.
    pub async fn withdraw(&self, till_id: &str) -> Result<(), SaleError> {
        self.till(till_id)?;
        self.inner.store.take_presented(till_id).await?;
        Ok(())
    }

    /// What the till presents now.
    pub async fn presented(&self, till_id: &str) -> Result<Option<Presented>, SaleError> {
        self.till(till_id)?;
        Ok(self.inner.store.presented(till_id).await?.map(|row| presented_view(&row)))
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
                presented: self.inner.store.presented(&till.id).await?.map(|row| presented_view(&row)),
                open: None,
            },
            Sticker::Open(open) => StickerInfo {
                id: id.to_owned(),
                merchant: store.name.clone(),
                place: open.description.clone(),
                country,
                presented: None,
                open: Some(OpenAmount {
                    min: Money::new(open.min, store.currency),
                    max: Money::new(open.max, store.currency),
                }),
            },
        })
    }

    /// A customer asks to pay at a sticker: by phone number (a push to the app), or by opening
    /// the app from the page (an app switch that returns to the page).
    pub async fn pay_at_sticker(
        &self,
        id: &str,
        request: NewLandingPayment,
    ) -> Result<LandingPayment, SaleError> {
        let (sticker, store) = self.sticker_of(id)?;
        // Read the number before anything is taken: a mistyped number changes nothing.
        let msisdn = request
            .phone_number
            .as_deref()
            .map(|typed| {
                Msisdn::parse(typed, request.country.unwrap_or_else(|| Country::of_currency(store.currency)))
            })
            .transpose()?;
        let (till_id, amount, description, taken) = match sticker {
            Sticker::Till(till) => {
                // Taken atomically: two customers scanning at once cannot both pay it.
                if let Some(presented) = self.inner.store.take_presented(&till.id).await? {
                    let amount = Money::new(presented.amount, store.currency);
                    if request.amount.is_some_and(|seen| seen != amount) {
                        // The till changed the amount after the page showed it: the customer
                        // pays nothing they have not seen, and the new amount stays.
                        self.inner.store.present(&presented, crate::now_ms()).await?;
                        return Err(SaleError::AmountChanged);
                    }
                    let description = presented
                        .description
                        .clone()
                        .unwrap_or_else(|| format!("{}, {}", store.name, till.name));
                    (till.id.as_str(), amount, description, Some(presented))
                } else {
                    let earlier = self.again_at(id, till, request.again.as_deref()).await?;
                    let amount = Money::new(earlier.amount, store.currency);
                    if request.amount.is_some_and(|seen| seen != amount) {
                        return Err(SaleError::AmountChanged);
                    }
                    (till.id.as_str(), amount, earlier.description.unwrap_or_default(), None)
                }
            }
            Sticker::Open(open) => {
                let amount = request.amount.ok_or(SaleError::NothingToPay)?;
                if amount.currency != store.currency {
                    return Err(SaleError::WrongCurrency { expected: store.currency });
                }
                if !(open.min..=open.max).contains(&amount.value) {
                    return Err(SaleError::OutsideBounds { min: open.min, max: open.max });
                }
                ("", amount, open.description.clone(), None)
            }
        };
        let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let (flow, customer, masked_phone, return_url) = if let Some(msisdn) = &msisdn {
            (Flow::Sticker, Some(Customer::phone_number(msisdn.as_str())), Some(msisdn.masked()), None)
        } else {
            // The app switches back to this page, which then follows the payment by its token.
            let back =
                self.inner.public_url.join(&format!("q/{id}?payment={token}")).map(|u| u.to_string()).ok();
            (Flow::AppSwitch, None, None, back)
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
            client_key: None,
            sticker_id: Some(id),
            landing_token: Some(token),
        };
        let created = self.create(draft, None).await;
        // A payment that could not be made leaves what the till presented for the next try.
        let failed = created.as_ref().map_or(true, |row| row.status() == SaleStatus::Failed);
        if let Some(presented) = taken.filter(|_| failed) {
            self.inner.store.present(&presented, crate::now_ms()).await?;
        }
        created.map(|row| self.landing_view(&row))
    }

    /// The earlier payment a customer's "send again" at a till's sticker asks for once more: it
    /// was started at this sticker, the customer declined it or let it expire, and it is still
    /// the till's newest sale (the till has moved on to nothing else). Anything else has nothing
    /// to pay: the till must present the amount again.
    async fn again_at(
        &self,
        sticker: &str,
        till: &TillConfig,
        token: Option<&str>,
    ) -> Result<PaymentRow, SaleError> {
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
        if unpaid && newest { Ok(earlier) } else { Err(SaleError::NothingToPay) }
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

    /// Tells a landing page following `row` what changed.
    pub(super) async fn publish_landing(&self, row: &PaymentRow) {
        let Some(token) = &row.landing_token else { return };
        let event = LandingEvent::Payment { payment: self.landing_view(row) };
        if let Err(e) = self.inner.live.publish(&landing_channel(token), &event).await {
            tracing::error!(reference = %row.reference, error = %e, "could not publish a landing event");
        }
    }
}

/// The live-event channel of a landing-page payment (till ids never contain `:`).
pub fn landing_channel(token: &str) -> String {
    format!("landing:{token}")
}

fn presented_view(row: &PresentedRow) -> Presented {
    Presented { amount: Money::new(row.amount, row.currency), description: row.description.clone() }
}
