//! Loyalty at a sale (see [`crate::loyalty`]): a till at a store with loyalty may ask a
//! customer, sale by sale, to share their phone number ([`kasse_api::NewSale::loyalty`]); the
//! app then asks them, and they pay only if they agree. Once such a payment is approved its
//! sale says whether the customer is a member. A Norwegian store may also greet a customer who
//! makes themselves known at the till (a number typed, a personal QR scanned, a check-in at a
//! sticker) with the app's loyalty check-in screen (the Check-in API).

use std::sync::PoisonError;

use kasse_api::Loyalty;
use kasse_vipps::check_in::LoyaltyCheckIn;
use kasse_vipps::epayment::{Customer, ProfileRequest};

use super::status::POLL_EVERY_MS;
use super::{SaleError, Sales};
use crate::config::StoreConfig;
use crate::store::PaymentRow;

/// The `profile.scope` a sale that asks for loyalty asks for: the phone number, nothing more.
const SCOPE: &str = "phoneNumber";
/// How long after a sale started its customer is looked up, and a failed lookup tried again: the
/// platform keeps a payment's `sub` readable far longer, but a member is rung up at the counter.
const LOOK_UP_FOR_MS: i64 = 3_600_000;
/// The longest wait between two tries.
const LOOK_AGAIN_AT_MOST_MS: i64 = 60_000;

/// Whether the customer of the approved sale `row` is still to be looked up at `now`.
pub(super) fn still_looking(row: &PaymentRow, now: i64) -> bool {
    row.loyalty.is_none() && row.authorized > 0 && now - row.created_at < LOOK_UP_FOR_MS
}

/// When to read `row`'s payment again to look its customer up: soon at first, then less often
/// (a tenth of the sale's age, 2 s to a minute), and never later than a poll already due.
pub(super) fn next_look(row: &PaymentRow, now: i64) -> i64 {
    let wait = ((now - row.created_at) / 10).clamp(POLL_EVERY_MS, LOOK_AGAIN_AT_MOST_MS);
    row.next_poll_at.map_or(now + wait, |at| at.min(now + wait))
}

/// The `profile` of a sale that asks the customer to share their number.
pub(super) fn profile() -> ProfileRequest {
    ProfileRequest { scope: Some(SCOPE.to_owned()) }
}

impl Sales {
    /// Looks up, on its own task, the customer of the approved payment `reference`, who shared
    /// their number (the payment's `sub`): the payment's lock is not held meanwhile, so nothing
    /// waits for Userinfo or a member list.
    pub(super) fn recognise_later(&self, reference: &str, sub: String) {
        // One lookup of a payment at a time here: polls come faster than a slow list answers.
        let started = self
            .inner
            .recognising
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(reference.to_owned());
        if !started {
            return;
        }
        let (sales, reference) = (self.clone(), reference.to_owned());
        tokio::spawn(async move {
            if let Err(e) = sales.recognise(&reference, &sub).await {
                tracing::warn!(%reference, error = %e, "could not record whether the customer is a member");
            }
            sales.inner.recognising.lock().unwrap_or_else(PoisonError::into_inner).remove(&reference);
        });
    }

    /// Learns, once, whether the customer of `reference` who shared their number (`sub`) is a
    /// member: the number from Userinfo, looked up in the member list; then, under the payment's
    /// lock, the sale says so. A lookup that fails is logged and the payment read again a little
    /// later, which tries again, for an hour after the sale started.
    async fn recognise(&self, reference: &str, sub: &str) -> Result<(), SaleError> {
        let row = self.payment(reference).await?;
        let Some(store) = self.inner.config.store_by_msn(&row.msn) else { return Ok(()) };
        let Some(loyalty) = &store.loyalty else { return Ok(()) };
        if row.loyalty.is_some() {
            return Ok(());
        }
        let found = match self.client(&row.msn)?.userinfo(sub).await {
            // The error says what the platform answered; it names neither the sub nor the number.
            Err(e) => Err(format!("the customer's shared number could not be read: {e}")),
            Ok(userinfo) => match userinfo.phone_number {
                None => Err("Userinfo gave no phone number for a payment that asked for it".to_owned()),
                Some(phone) => self
                    .inner
                    .members
                    .look_up(&store.id, store.currency, loyalty, &phone)
                    .await
                    .map_err(|e| e.to_string()),
            },
        };
        let _guard = self.inner.locks.lock(reference).await?;
        let mut row = self.payment(reference).await?;
        if row.loyalty.is_some() {
            return Ok(());
        }
        match found {
            Ok(learnt) => {
                let member = matches!(learnt, Loyalty::Member { .. });
                tracing::info!(%reference, member, "customer recognised");
                row.loyalty = Some(learnt);
                self.save(&mut row).await
            }
            Err(why) => {
                let now = crate::now_ms();
                if still_looking(&row, now) {
                    row.next_poll_at = Some(next_look(&row, now));
                    self.inner.store.update_payment(&mut row).await?;
                    tracing::warn!(%reference, %why, "could not look the customer up; will try again");
                } else {
                    tracing::warn!(%reference, %why, "could not look the customer up; gave up after an hour");
                }
                Ok(())
            }
        }
    }
}

impl Sales {
    /// At a Norwegian store with `loyalty_check_in`: shows `customer`, who has just made
    /// themselves known at one of its tills, the app's loyalty check-in screen if they are a
    /// member. Runs on its own, after the sale is made, so the sale never waits for it; what fails
    /// is logged. The number is asked of the platform (a personal QR, a check-in's token), looked
    /// up, and kept nowhere.
    pub(super) fn greet(&self, store: &StoreConfig, customer: &Customer) {
        let Some(loyalty) = store.loyalty.clone().filter(|l| l.check_in_screen) else { return };
        let Ok(client) = self.client(&store.msn) else { return };
        let (members, store_id, currency, customer) =
            (self.inner.members.clone(), store.id.clone(), store.currency, customer.clone());
        tokio::spawn(async move {
            let phone = match (&customer.phone_number, &customer.personal_qr, &customer.customer_token) {
                (Some(phone), ..) => Ok(phone.clone()),
                (None, Some(code), _) => client.exchange_personal_qr(code).await.map(|a| a.msisdn),
                (None, None, Some(token)) => client.exchange_customer_token(token).await.map(|a| a.msisdn),
                (None, None, None) => return,
            };
            let phone = match phone {
                Ok(phone) => phone,
                Err(e) => {
                    return tracing::warn!(store = %store_id, error = %e, "could not learn who checked in");
                }
            };
            if !is_norwegian(&phone) {
                // The screen is Vipps's, in Norway: a Danish or Finnish app has none to show.
                return;
            }
            match members.look_up(&store_id, currency, &loyalty, &phone).await {
                Ok(Loyalty::Member { .. }) => {}
                // The screen is a member's welcome: nobody else is shown one.
                Ok(Loyalty::NotMember) => return,
                Err(e) => {
                    return tracing::warn!(store = %store_id, error = %e, "could not look a customer up");
                }
            }
            let greeting = LoyaltyCheckIn { phone_number: phone, is_member: true };
            match client.loyalty_check_in(&greeting).await {
                Ok(()) => tracing::info!(store = %store_id, "the app showed a member its loyalty check-in"),
                Err(e) => tracing::warn!(store = %store_id, error = %e, "the loyalty check-in failed"),
            }
        });
    }
}

/// Whether `msisdn` is a Norwegian mobile number, the only kind the Check-in API takes
/// (`^47[0-9]{8}$`).
fn is_norwegian(msisdn: &str) -> bool {
    msisdn.len() == 10 && msisdn.starts_with("47") && msisdn.bytes().all(|b| b.is_ascii_digit())
}
