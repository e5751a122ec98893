//! Loyalty at a sale (see [`crate::loyalty`]): a store with loyalty asks, with each payment, for
//! the customer's phone number, and once the payment is approved its sale says whether the
//! customer is a member, did not share, or is not one. A Norwegian store may also greet a
//! customer who makes themselves known at the till (a number typed, a personal QR scanned, a
//! check-in at a sticker) with the app's loyalty check-in screen (the Check-in API).

use kasse_api::Loyalty;
use kasse_vipps::check_in::LoyaltyCheckIn;
use kasse_vipps::epayment::{Customer, ProfileRequest};

use super::{SaleError, Sales};
use crate::config::StoreConfig;

/// The `profile.scope` a store with loyalty asks for: the phone number, nothing more.
const SCOPE: &str = "phoneNumber";

/// The `profile` of `store`'s payments: the customer's phone number at a store with loyalty, so
/// the app asks them whether to share it, at each payment.
pub(super) fn profile_for(store: &StoreConfig) -> Option<ProfileRequest> {
    store.loyalty.as_ref().map(|_| ProfileRequest { scope: Some(SCOPE.to_owned()) })
}

impl Sales {
    /// Learns, once, what the customer of the approved payment `reference` let its store know:
    /// with `sub` (they shared), their number from Userinfo looked up in the member list;
    /// without, that they did not share. Called under the payment's lock. A lookup that fails is
    /// logged and leaves the sale as it was, so the next reading of the payment tries again.
    pub(super) async fn recognise(&self, reference: &str, sub: Option<&str>) -> Result<(), SaleError> {
        let mut row = self.payment(reference).await?;
        let Some(store) = self.inner.config.store_by_msn(&row.msn) else { return Ok(()) };
        let Some(loyalty) = &store.loyalty else { return Ok(()) };
        if row.loyalty.is_some() || row.authorized == 0 {
            return Ok(());
        }
        let learnt = match sub {
            None => Loyalty::NotShared,
            Some(sub) => {
                let userinfo = match self.client(&row.msn)?.userinfo(sub).await {
                    Ok(userinfo) => userinfo,
                    Err(e) => {
                        tracing::warn!(%reference, error = %e, "could not read the customer's shared phone number");
                        return Ok(());
                    }
                };
                let Some(phone) = userinfo.phone_number else {
                    // Shared, but not the number: nothing to look up.
                    tracing::warn!(%reference, "Userinfo gave no phone number for a consented payment");
                    return Ok(());
                };
                match self.inner.members.look_up(&store.id, store.currency, loyalty, &phone).await {
                    Ok(found) => found,
                    Err(e) => {
                        tracing::warn!(%reference, error = %e, "could not look the customer up in the member list");
                        return Ok(());
                    }
                }
            }
        };
        tracing::info!(%reference, loyalty = ?std::mem::discriminant(&learnt), "customer recognised");
        row.loyalty = Some(learnt);
        self.save(&mut row).await
    }
}

impl Sales {
    /// At a Norwegian store with `loyalty_check_in`: shows `customer`, who has just made
    /// themselves known at one of its tills, the app's loyalty check-in screen, saying whether
    /// they are a member. Runs on its own, so the sale never waits for it; what fails is logged.
    /// The number is asked of the platform (a personal QR, a check-in's token), looked up, and
    /// kept nowhere.
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
            let is_member = match members.look_up(&store_id, currency, &loyalty, &phone).await {
                Ok(found) => matches!(found, Loyalty::Member { .. }),
                Err(e) => {
                    return tracing::warn!(store = %store_id, error = %e, "could not look a customer up");
                }
            };
            let greeting = LoyaltyCheckIn { phone_number: phone, is_member };
            match client.loyalty_check_in(&greeting).await {
                Ok(()) => tracing::info!(store = %store_id, is_member, "the app showed its loyalty check-in"),
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
