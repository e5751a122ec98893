//! The landing page behind a static Merchant Redirect QR sticker (`/q/{sticker}`): what the
//! customer sees about the sticker, how they start a payment, and how they follow it. Public: no
//! pairing. A payment started here is known to the browser only by an unguessable token.

use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::phone::Country;
use crate::sale::SaleStatus;

/// What a till presents to its sticker: the amount the next customer scanning it pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Presented {
    /// The amount.
    pub amount: Money,
    /// What it is for (3 to 100 characters), shown to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For the till: a customer's payment at the sticker took it (the till's sale), and the
    /// till can take it back. Never set on a sticker's page, nor read when a till presents.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claimed: bool,
    /// For the till: the number of the customer who claimed it, masked (`+47 ••• •• 567`);
    /// absent when they opened the app instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
}

/// The bounds of an open-amount sticker (donations, parking, vending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenAmount {
    /// The smallest amount allowed.
    pub min: Money,
    /// The largest amount allowed.
    pub max: Money,
}

/// `GET /api/stickers/{sticker}`: what the landing page shows before the customer acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StickerInfo {
    /// The sticker's id.
    pub id: String,
    /// The merchant (store) name.
    pub merchant: String,
    /// Where the sticker is: the till's name, or what an open-amount sticker is for.
    pub place: String,
    /// The store's country: the phone number's default country code.
    pub country: Country,
    /// What the till presents now, for a till's sticker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presented: Option<Presented>,
    /// The bounds, for an open-amount sticker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenAmount>,
    /// An open-amount sticker switched off: nothing to pay here until it is switched on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
}

/// `POST /api/stickers/{sticker}/payments`: the customer asks to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewLandingPayment {
    /// The amount: for an open-amount sticker, what the customer typed; for a till's sticker,
    /// what the page showed them, which must still be what the till presents (a till's sticker
    /// always pays what the till presents; this only stops a changed amount being paid unseen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The customer's number as typed; absent to open the app instead (app switch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The country the number is read in when it has no `+` prefix; the store's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// "Send again": the token of this customer's earlier payment here, declined or expired.
    /// At a till's sticker whose amount that payment took, and where nothing has happened since,
    /// it asks for the same amount again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub again: Option<String>,
}

/// A payment started on a landing page, as its customer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LandingPayment {
    /// The token naming this payment to the customer's browser.
    pub token: String,
    /// The sticker it was started from.
    pub sticker: String,
    /// The merchant.
    pub merchant: String,
    /// What is asked.
    pub amount: Money,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Where it stands.
    pub status: SaleStatus,
    /// The number it was sent to, masked; absent for an app switch.
    #[serde(default)]
    pub phone: Option<String>,
    /// For an app switch: where to send the browser to open the app.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// When the customer's time runs out, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
}

/// One server-sent event on the landing page's streams: a payment's
/// (`/api/payments/{token}/events`) and a sticker's (`/api/stickers/{sticker}/events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LandingEvent {
    /// The payment changed.
    Payment {
        /// The payment as it is now.
        payment: LandingPayment,
    },
    /// What the sticker offers, when its stream opens and whenever that changes: the till
    /// presented an amount, took it back, or another customer claimed it.
    Sticker {
        /// The sticker as its landing page shows it now.
        sticker: StickerInfo,
    },
}

/// The sticker a landing page's address names, `/q/{id}`: an id of letters, digits, `-` and
/// `_` (any other is no sticker of ours). The page reads its sticker by it, and the server has
/// the browser fetch that sticker early by it, so both name the same request.
pub fn sticker_in_landing_path(path: &str) -> Option<&str> {
    let id = path.strip_prefix("/q/")?.trim_end_matches('/');
    let plain = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    #[test]
    fn a_landing_request_for_a_tills_sticker_carries_only_the_phone_number() {
        let request: NewLandingPayment = serde_json::from_str(r#"{"phoneNumber":"912 34 567"}"#).unwrap();
        assert_eq!(request.amount, None);
        assert_eq!(request.country, None);
        let app_switch: NewLandingPayment = serde_json::from_str("{}").unwrap();
        assert_eq!(app_switch.phone_number, None);
        assert_eq!(app_switch.again, None, "a first attempt names no earlier one");
        let again = NewLandingPayment { again: Some("t0k3n".into()), ..app_switch };
        assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::json!({ "again": "t0k3n" }));
    }

    #[test]
    fn a_presented_amount_names_who_claimed_it_only_once_someone_has() {
        let waiting: Presented =
            serde_json::from_str(r#"{"amount":{"value":4500,"currency":"NOK"}}"#).unwrap();
        assert_eq!((waiting.claimed, waiting.claimed_by.as_deref()), (false, None));
        let json = serde_json::to_value(&waiting).unwrap();
        assert!(json.get("claimed").is_none() && json.get("claimedBy").is_none(), "{json}");
        let claimed =
            Presented { claimed: true, claimed_by: Some("+47 ••• •• 567".into()), ..waiting };
        let json = serde_json::to_value(&claimed).unwrap();
        assert_eq!((&json["claimed"], &json["claimedBy"]), (&true.into(), &"+47 ••• •• 567".into()));
        assert_eq!(serde_json::from_value::<Presented>(json).unwrap(), claimed);
    }

    #[test]
    fn sticker_info_leaves_out_what_does_not_apply() {
        let info = StickerInfo {
            id: "demo".into(),
            merchant: "Kaffe".into(),
            place: "Kasse 1".into(),
            country: Country::No,
            presented: None,
            open: Some(OpenAmount {
                min: Money::new(1000, Currency::Nok),
                max: Money::new(5000, Currency::Nok),
            }),
            closed: false,
        };
        let json = serde_json::to_value(&info).unwrap();
        assert!(json.get("presented").is_none());
        assert!(json.get("closed").is_none(), "said only of a sticker switched off");
        assert_eq!(json["country"], "NO");
        assert_eq!(json["open"]["max"]["value"], 5000);
    }
}
