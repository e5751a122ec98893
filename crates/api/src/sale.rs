//! Tills and sales as the server reports them to the browser.
//!
//! A sale is one attempt to take one payment at one till. The server owns its state; the browser
//! shows it. `SaleStatus` is that state in the words a cashier needs, derived on the server from the
//! platform's `state` and aggregate amounts.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};

/// How the customer is asked to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Flow {
    /// A one-time QR code shown to the customer (`userFlow: QR`).
    Qr,
}

impl Flow {
    /// A stable name for storage and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Qr => "qr",
        }
    }

    /// Parses the name written by [`Flow::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "qr" => Some(Self::Qr),
            _ => None,
        }
    }
}

/// Where a sale stands, from the till's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SaleStatus {
    /// Recorded; the payment is being created at the platform.
    Creating,
    /// The platform has the payment; the customer has not answered yet.
    AwaitingCustomer,
    /// The customer approved; the money is reserved but not yet taken.
    Authorized,
    /// The money is taken (captured, wholly or partly).
    Captured,
    /// A cancel is recorded and being sent.
    Cancelling,
    /// The customer declined in the app (platform state `ABORTED`).
    Declined,
    /// Nobody answered before the platform's expiry (`EXPIRED`).
    Expired,
    /// The merchant cancelled before approval (`TERMINATED`), or released the whole reservation.
    Cancelled,
    /// The platform refused the payment; `Sale::failure` says why.
    Failed,
}

impl SaleStatus {
    /// Every status, for exhaustive checks.
    pub const ALL: [Self; 9] = [
        Self::Creating,
        Self::AwaitingCustomer,
        Self::Authorized,
        Self::Captured,
        Self::Cancelling,
        Self::Declined,
        Self::Expired,
        Self::Cancelled,
        Self::Failed,
    ];

    /// True when nothing more will happen to the sale by itself: the till may start a new one.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Captured | Self::Declined | Self::Expired | Self::Cancelled | Self::Failed)
    }

    /// A stable name for storage and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::AwaitingCustomer => "awaitingCustomer",
            Self::Authorized => "authorized",
            Self::Captured => "captured",
            Self::Cancelling => "cancelling",
            Self::Declined => "declined",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// Parses the name written by [`SaleStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// A till, as the browser needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Till {
    /// The till's id, e.g. `till-1`.
    pub id: String,
    /// What the cashier calls it, e.g. `Kasse 1`.
    pub name: String,
    /// The store (sales unit) it belongs to.
    pub store_name: String,
    /// The currency the store takes.
    pub currency: Currency,
}

/// A request from the till to take a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSale {
    /// What to charge.
    pub amount: Money,
    /// How to ask the customer.
    pub flow: Flow,
}

/// One payment attempt at a till, as the server knows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sale {
    /// The platform reference: unique, also shown on receipts.
    pub reference: String,
    /// The till that took it.
    pub till_id: String,
    /// What the customer is asked to pay.
    pub amount: Money,
    /// How the customer was asked.
    pub flow: Flow,
    /// Where it stands.
    pub status: SaleStatus,
    /// For the QR flow: the text the QR code encodes (drawn by the app, never an image URL).
    pub qr: Option<String>,
    /// When the platform gives up on the customer, in milliseconds since the Unix epoch.
    pub expires_at_ms: Option<i64>,
    /// Taken so far.
    pub captured: Money,
    /// Given back so far.
    pub refunded: Money,
    /// For `Failed`: a sentence a cashier understands.
    pub failure: Option<String>,
    /// When the till started it, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// Who this browser is to the server: the till it works for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The till.
    pub till: Till,
}

/// Everything a till page needs on load: the till and its current (or last) sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TillSnapshot {
    /// The till.
    pub till: Till,
    /// The sale in progress, or the last one if none is in progress.
    pub sale: Option<Sale>,
    /// The id of the newest live event so far; the event stream resumes after it.
    pub last_event_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_name_parses_back_to_itself() {
        for status in SaleStatus::ALL {
            assert_eq!(SaleStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(SaleStatus::parse("paid"), None);
    }

    #[test]
    fn only_outcomes_are_final() {
        let finals: Vec<_> = SaleStatus::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            [
                SaleStatus::Captured,
                SaleStatus::Declined,
                SaleStatus::Expired,
                SaleStatus::Cancelled,
                SaleStatus::Failed
            ]
        );
    }

    #[test]
    fn a_new_sale_is_camel_case_json() {
        let json = serde_json::to_value(NewSale { amount: Money::new(5000, Currency::Nok), flow: Flow::Qr })
            .unwrap();
        assert_eq!(json, serde_json::json!({"amount":{"value":5000,"currency":"NOK"},"flow":"qr"}));
    }
}
