//! The terminal API's request and response bodies, as PoS systems see them.
//!
//! These are kasse's public, versioned contract (`/terminal/v1`), so they are types of their own,
//! converted from the till's: a change to what the browser is sent never changes what a PoS
//! integration reads. Money is integer minor units with its currency; times are RFC 3339.

use chrono::{DateTime, Utc};
use kasse_api::{Flow as SaleFlow, Money, Sale, SaleStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::PaymentRow;

/// A currency a store takes (ISO 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    /// Norwegian krone.
    Nok,
    /// Danish krone.
    Dkk,
    /// Euro.
    Eur,
}

impl From<kasse_api::Currency> for Currency {
    fn from(currency: kasse_api::Currency) -> Self {
        match currency {
            kasse_api::Currency::Nok => Self::Nok,
            kasse_api::Currency::Dkk => Self::Dkk,
            kasse_api::Currency::Eur => Self::Eur,
        }
    }
}

impl From<Currency> for kasse_api::Currency {
    fn from(currency: Currency) -> Self {
        match currency {
            Currency::Nok => Self::Nok,
            Currency::Dkk => Self::Dkk,
            Currency::Eur => Self::Eur,
        }
    }
}

/// An amount of money in minor units (øre, cents): `{"value": 12350, "currency": "NOK"}` is
/// NOK 123.50.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Amount {
    /// Minor units.
    #[schema(example = 12350)]
    pub value: i64,
    /// The currency.
    pub currency: Currency,
}

impl From<Money> for Amount {
    fn from(money: Money) -> Self {
        Self { value: money.value, currency: money.currency.into() }
    }
}

impl From<Amount> for Money {
    fn from(amount: Amount) -> Self {
        Self::new(amount.value, amount.currency.into())
    }
}

/// Who pays, and how the customer is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "flow", rename_all = "camelCase", deny_unknown_fields)]
pub enum Payer {
    /// The till decides: the customer checked in at its sticker if exactly one is, otherwise a
    /// QR code on the till (or its customer display).
    TillChooses,
    /// A one-time QR code on the till or its customer display, for whoever scans it.
    Qr,
    /// A push to the app of the customer with this phone number.
    Phone {
        /// The number, with or without country code (the store's country is the default).
        #[serde(rename = "phoneNumber")]
        #[schema(example = "+4791234567")]
        phone_number: String,
    },
    /// A push to the app of the customer whose personal QR code the PoS scanned.
    PersonalQr {
        /// The scanned text, unchanged.
        #[serde(rename = "personalQr")]
        personal_qr: String,
    },
}

/// One line of the receipt the customer sees in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Line {
    /// What it is (1 to 100 characters).
    #[schema(example = "Kanelbolle")]
    pub name: String,
    /// How many (1 to 9999).
    #[schema(minimum = 1, maximum = 9999, example = 2)]
    pub quantity: u32,
    /// The price of one, VAT included.
    pub unit_price: Amount,
    /// The VAT rate in hundredths of a percent: 2500 is 25 %.
    #[schema(example = 2500)]
    pub vat_rate: u16,
}

/// `POST /terminal/v1/tills/{till}/payments`: a payment for the till to take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentRequest {
    /// What to charge; in the store's currency.
    pub amount: Amount,
    /// The PoS's own id for the order (1 to 64 visible characters), returned with the payment.
    #[serde(default)]
    #[schema(example = "order-20261205-0042")]
    pub order_id: Option<String>,
    /// What the customer sees in the app (3 to 100 characters); the store's and till's names
    /// when absent.
    #[serde(default)]
    pub description: Option<String>,
    /// The receipt's lines; when given, they must add up to `amount`.
    #[serde(default)]
    pub lines: Vec<Line>,
    /// Who pays and how; the till chooses when absent.
    #[serde(default)]
    pub payer: Option<Payer>,
}

/// `POST …/capture`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// How much to take; everything still reserved when absent.
    #[serde(default)]
    pub amount: Option<Amount>,
}

/// `POST …/refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// How much to give back (at most what was captured and not yet refunded).
    pub amount: Amount,
}

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PaymentStatus {
    /// Recorded; being created at the payment platform.
    Creating,
    /// Waiting for the customer to approve in the app.
    AwaitingCustomer,
    /// Approved: the money is reserved, not yet taken.
    Authorized,
    /// The money is taken (wholly or partly).
    Captured,
    /// Everything taken was given back.
    Refunded,
    /// A cancel is being sent.
    Cancelling,
    /// The customer declined.
    Declined,
    /// Nobody approved in time.
    Expired,
    /// Cancelled before approval, or the whole reservation released.
    Cancelled,
    /// The platform refused the payment; `failure` says why.
    Failed,
}

impl From<SaleStatus> for PaymentStatus {
    fn from(status: SaleStatus) -> Self {
        match status {
            SaleStatus::Creating => Self::Creating,
            SaleStatus::AwaitingCustomer => Self::AwaitingCustomer,
            SaleStatus::Authorized => Self::Authorized,
            SaleStatus::Captured => Self::Captured,
            SaleStatus::Refunded => Self::Refunded,
            SaleStatus::Cancelling => Self::Cancelling,
            SaleStatus::Declined => Self::Declined,
            SaleStatus::Expired => Self::Expired,
            SaleStatus::Cancelled => Self::Cancelled,
            SaleStatus::Failed => Self::Failed,
        }
    }
}

impl PaymentStatus {
    /// Whether the customer has answered, or the payment ended: what a PoS waits for.
    pub const fn is_outcome(self) -> bool {
        !matches!(self, Self::Creating | Self::AwaitingCustomer | Self::Cancelling)
    }
}

/// How the customer was asked to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Flow {
    /// A one-time QR code.
    Qr,
    /// The customer's personal QR code, scanned.
    PersonalQr,
    /// The customer's phone number.
    Phone,
    /// A check-in at the till's sticker.
    CheckIn,
    /// The customer's phone number, typed on a sticker's page.
    Sticker,
    /// The app, opened from a sticker's page.
    AppSwitch,
}

impl From<SaleFlow> for Flow {
    fn from(flow: SaleFlow) -> Self {
        match flow {
            SaleFlow::Qr => Self::Qr,
            SaleFlow::PersonalQr => Self::PersonalQr,
            SaleFlow::Phone => Self::Phone,
            SaleFlow::CheckIn => Self::CheckIn,
            SaleFlow::Sticker => Self::Sticker,
            SaleFlow::AppSwitch => Self::AppSwitch,
        }
    }
}

/// Who started a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StartedBy {
    /// A PoS system, through this API.
    Pos,
    /// The cashier, on the till.
    Till,
    /// The customer, on the page behind the till's sticker.
    Customer,
}

/// A payment at a till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// kasse's and the platform's reference for it; also on the customer's receipt.
    #[schema(example = "till-1-4f1c2a9b8d7e")]
    pub reference: String,
    /// The till.
    pub till: String,
    /// The PoS's order id, for a payment a PoS started with one.
    pub order_id: Option<String>,
    /// Who started it.
    pub started_by: StartedBy,
    /// What the customer is asked to pay.
    pub amount: Amount,
    /// How the customer is asked.
    pub flow: Flow,
    /// Where it stands.
    pub status: PaymentStatus,
    /// For the QR flow, while the customer has not answered: the text the QR code encodes (the
    /// till draws it; a PoS may draw it too).
    pub qr: Option<String>,
    /// When the platform gives up waiting for the customer.
    pub expires_at: Option<DateTime<Utc>>,
    /// Reserved by the customer's approval.
    pub authorized: Amount,
    /// Taken so far.
    pub captured: Amount,
    /// Released without being taken.
    pub cancelled: Amount,
    /// Given back so far.
    pub refunded: Amount,
    /// For `failed`, and when taking the money failed: why, in a sentence. (At a till that
    /// captures by itself, also while kasse asks again for a capture the platform could not make
    /// just now: the payment is still `authorized`, and a PoS waiting for its outcome waits on.)
    pub failure: Option<String>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl From<&PaymentRow> for Payment {
    fn from(row: &PaymentRow) -> Self {
        let Sale {
            reference,
            till_id,
            amount,
            flow,
            status,
            qr,
            expires_at_ms,
            authorized,
            captured,
            cancelled,
            refunded,
            failure,
            created_at_ms,
            ..
        } = crate::sales::sale_view(row);
        let started_by = if row.integrator_id.is_some() {
            StartedBy::Pos
        } else if row.sticker_id.is_some() {
            StartedBy::Customer
        } else {
            StartedBy::Till
        };
        Self {
            reference,
            till: till_id,
            order_id: row.order_id.clone(),
            started_by,
            amount: amount.into(),
            flow: flow.into(),
            status: status.into(),
            qr,
            expires_at: expires_at_ms.map(at),
            authorized: authorized.into(),
            captured: captured.into(),
            cancelled: cancelled.into(),
            refunded: refunded.into(),
            failure,
            created_at: at(created_at_ms),
            updated_at: at(row.updated_at),
        }
    }
}

/// A till's payments, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentList {
    /// The payments.
    pub payments: Vec<Payment>,
}

/// A till a PoS may start payments at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Till {
    /// Its id, as in the addresses of this API.
    #[schema(example = "till-1")]
    pub id: String,
    /// What the cashier calls it.
    pub name: String,
    /// Its store's id.
    pub store: String,
    /// Its store's name.
    pub store_name: String,
    /// The currency its store takes.
    pub currency: Currency,
}

/// The tills the key may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TillList {
    /// The tills, by id.
    pub tills: Vec<Till>,
}

/// What a callback reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum CallbackKind {
    /// The payment changed; `payment` is how it is now.
    #[serde(rename = "payment.changed")]
    PaymentChanged,
}

/// The body of a callback to the PoS's URL: signed like the platform's webhooks (`x-ms-date`,
/// `x-ms-content-sha256`, `Authorization: HMAC-SHA256 …`, keyed with the integrator's callback
/// secret). Each carries the payment as it is when sent, so a quick succession of changes may
/// reach the PoS as its last one only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// Unique per change of a payment: a PoS that gets the same id twice (a retry after a lost
    /// answer) has seen it.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: CallbackKind,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// The payment, as it is now.
    pub payment: Payment,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sale_status_has_a_payment_status_and_outcomes_are_what_a_pos_waits_for() {
        for status in SaleStatus::ALL {
            let ours = PaymentStatus::from(status);
            assert_eq!(
                ours.is_outcome(),
                !matches!(
                    status,
                    SaleStatus::Creating | SaleStatus::AwaitingCustomer | SaleStatus::Cancelling
                ),
                "{status:?}"
            );
        }
        assert_eq!(serde_json::to_value(PaymentStatus::AwaitingCustomer).unwrap(), "awaitingCustomer");
    }

    #[test]
    fn a_payer_is_tagged_by_its_flow() {
        let phone: Payer = serde_json::from_str(r#"{"flow":"phone","phoneNumber":"+4791234567"}"#).unwrap();
        assert_eq!(phone, Payer::Phone { phone_number: "+4791234567".to_owned() });
        let chooses: Payer = serde_json::from_str(r#"{"flow":"tillChooses"}"#).unwrap();
        assert_eq!(chooses, Payer::TillChooses);
        assert!(serde_json::from_str::<Payer>(r#"{"flow":"cash"}"#).is_err());
    }
}
