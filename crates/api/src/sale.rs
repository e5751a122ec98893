//! Tills and sales as the server reports them to the browser.
//!
//! A sale is one attempt to take one payment at one till. The server owns its state; the browser
//! shows it. `SaleStatus` is that state in the words a cashier needs, derived on the server from the
//! platform's `state` and aggregate amounts.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};

/// How the customer was asked to pay: the in-store flows of the migration guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Flow {
    /// A one-time QR code shown to the customer (`userFlow: QR`).
    Qr,
    /// The till scanned the customer's personal QR code (`PUSH_MESSAGE` + `personalQr`).
    PersonalQr,
    /// The cashier typed the customer's phone number (`PUSH_MESSAGE` + `phoneNumber`).
    Phone,
    /// The customer checked in at the till's callback sticker (`PUSH_MESSAGE` + `customerToken`).
    CheckIn,
    /// The customer typed their number on a sticker's landing page (`PUSH_MESSAGE`).
    Sticker,
    /// The customer opened the app from a sticker's landing page (`WEB_REDIRECT`).
    AppSwitch,
}

impl Flow {
    /// Every flow.
    pub const ALL: [Self; 6] =
        [Self::Qr, Self::PersonalQr, Self::Phone, Self::CheckIn, Self::Sticker, Self::AppSwitch];

    /// A stable name for storage, URLs and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::PersonalQr => "personalQr",
            Self::Phone => "phone",
            Self::CheckIn => "checkIn",
            Self::Sticker => "sticker",
            Self::AppSwitch => "appSwitch",
        }
    }

    /// Parses the name written by [`Flow::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|flow| flow.as_str() == s)
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
    /// Everything taken was given back.
    Refunded,
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
    pub const ALL: [Self; 10] = [
        Self::Creating,
        Self::AwaitingCustomer,
        Self::Authorized,
        Self::Captured,
        Self::Refunded,
        Self::Cancelling,
        Self::Declined,
        Self::Expired,
        Self::Cancelled,
        Self::Failed,
    ];

    /// True when nothing more will happen to the sale by itself: the till may start a new one.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Captured | Self::Refunded | Self::Declined | Self::Expired | Self::Cancelled | Self::Failed
        )
    }

    /// A stable name for storage and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::AwaitingCustomer => "awaitingCustomer",
            Self::Authorized => "authorized",
            Self::Captured => "captured",
            Self::Refunded => "refunded",
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
    /// Whether the store has a loyalty programme: the cashier may then ask a customer, sale by
    /// sale, to share their phone number in the app ([`NewSale::loyalty`]).
    #[serde(default)]
    pub loyalty: bool,
}

/// Who pays, and how the till reaches them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Payer {
    /// Whoever scans the QR code the till shows.
    Qr,
    /// The customer whose personal QR code the till scanned: its full text, as scanned.
    PersonalQr {
        /// The scanned text, unchanged.
        personal_qr: String,
    },
    /// The customer with this phone number, as the cashier typed it.
    Phone {
        /// The number; the server reads it with the store's country as default.
        phone_number: String,
    },
    /// The customer who checked in at the till's callback sticker.
    CheckIn {
        /// The check-in's id (the platform's token never reaches the browser).
        check_in: String,
    },
}

impl Payer {
    /// The flow this payer is reached by.
    pub const fn flow(&self) -> Flow {
        match self {
            Self::Qr => Flow::Qr,
            Self::PersonalQr { .. } => Flow::PersonalQr,
            Self::Phone { .. } => Flow::Phone,
            Self::CheckIn { .. } => Flow::CheckIn,
        }
    }
}

/// One line of a sale's receipt: a product, how many, at what price, with what VAT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleLine {
    /// What it is, as the customer reads it in the app (1 to 100 characters).
    pub name: String,
    /// How many (1 to 9999).
    pub quantity: u32,
    /// The price of one, VAT included.
    pub unit_price: Money,
    /// The VAT rate in hundredths of a percent: `2500` is 25 %, `2550` is Finland's 25.5 %.
    pub vat_rate: u16,
}

impl SaleLine {
    /// The line's total, VAT included, in minor units.
    pub fn total(&self) -> i64 {
        self.unit_price.value.saturating_mul(i64::from(self.quantity))
    }

    /// The VAT part of the line's total, in minor units, rounded to the nearest.
    pub fn vat(&self) -> i64 {
        let total = i128::from(self.total());
        let rate = i128::from(self.vat_rate);
        // total × rate / (10000 + rate), rounded half up: VAT is what a VAT-inclusive price holds.
        let vat = (total * rate * 2 + (10_000 + rate)) / ((10_000 + rate) * 2);
        i64::try_from(vat).unwrap_or(0)
    }
}

/// A request from the till to take a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSale {
    /// What to charge.
    pub amount: Money,
    /// What it is for, shown in the customer's app (3 to 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The receipt's lines, if the till has them; they must add up to `amount`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<SaleLine>,
    /// Who pays, and how.
    #[serde(flatten)]
    pub payer: Payer,
    /// At a store with loyalty, when the customer wants their membership to count: the app asks
    /// them to share their phone number with the store, and they pay only if they agree (the
    /// platform's rule), so a till asks this only of a customer who said yes at the counter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub loyalty: bool,
}

/// How the customer of a sale was identified, for the cashier: each app says it in the reader's
/// language (a phone number is shown masked, never whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "camelCase")]
pub enum Identified {
    /// By the phone number the cashier typed.
    Phone {
        /// The number with all but its last digits hidden, e.g. `+47 ••• •• 567`.
        masked: String,
    },
    /// By the personal QR code in the customer's app, scanned at the till.
    PersonalQr,
    /// By a check-in at the till's callback sticker.
    CheckIn,
    /// By the phone number the customer typed on the sticker's landing page.
    StickerPhone {
        /// The number with all but its last digits hidden.
        masked: String,
    },
}

/// One payment attempt at a till, as the server knows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sale {
    /// The platform reference: unique, also shown on receipts.
    pub reference: String,
    /// The till that took it; empty for an open-amount sticker's ([`Sale::sticker_id`]).
    pub till_id: String,
    /// For a sale no till took: the open-amount sticker whose landing page the customer paid
    /// on (a till's own sticker's sales are the till's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker_id: Option<String>,
    /// What the customer is asked to pay.
    pub amount: Money,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// How the customer was asked.
    pub flow: Flow,
    /// Who was asked, and how the till knew them; `None` for a QR code anyone could scan.
    #[serde(default)]
    pub customer: Option<Identified>,
    /// Where it stands.
    pub status: SaleStatus,
    /// For the QR flow: the text the QR code encodes (drawn by the app, never an image URL).
    pub qr: Option<String>,
    /// When the platform gives up on the customer, in milliseconds since the Unix epoch.
    pub expires_at_ms: Option<i64>,
    /// Reserved by the customer's approval.
    pub authorized: Money,
    /// Taken so far.
    pub captured: Money,
    /// Released without being taken.
    pub cancelled: Money,
    /// Given back so far.
    pub refunded: Money,
    /// For `Failed`: a sentence a cashier understands.
    pub failure: Option<String>,
    /// When the till started it, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// For a sale that asked the customer to share their number: whether they are a member of
    /// the store's loyalty programme. `None` for other sales, and until it is approved and
    /// looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty: Option<Loyalty>,
}

/// What a store with loyalty learnt of the customer of an approved sale whose till asked them to
/// share their phone number ([`NewSale::loyalty`]): the number is looked up in the store's
/// member list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "is", rename_all = "camelCase")]
pub enum Loyalty {
    /// A member of the store's loyalty programme, with the name the member list gives.
    Member {
        /// The member's name, if the list has one.
        #[serde(default)]
        name: Option<String>,
    },
    /// Shared their phone number, and is not a member.
    NotMember,
}

impl Sale {
    /// What can still be captured: reserved, not taken, not released.
    pub fn capturable(&self) -> i64 {
        (self.authorized.value - self.captured.value - self.cancelled.value).max(0)
    }

    /// What can still be refunded: taken, not given back.
    pub fn refundable(&self) -> i64 {
        (self.captured.value - self.refunded.value).max(0)
    }
}

/// What a paired browser is to its till.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// The till: takes payments.
    Till,
    /// The customer-facing display: shows the amount, the QR code and the result.
    Display,
}

/// Who this browser is to the server: the till it works for, and as what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The till.
    pub till: Till,
    /// Till or display.
    pub role: Role,
}

/// `POST /api/pair`: a one-time pairing code, as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairRequest {
    /// The code, e.g. `ABCD-EFGH` (any case; dash and spaces optional).
    pub code: String,
    /// A manager's first pairing: the PIN they choose (4 to 8 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// Everything a till page needs on load: the till and its current (or last) sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TillSnapshot {
    /// The till.
    pub till: Till,
    /// The sale in progress, or the last one if none is in progress.
    pub sale: Option<Sale>,
    /// What the till presents to its sticker now.
    #[serde(default)]
    pub presented: Option<crate::Presented>,
    /// Customers checked in at its callback sticker who can be charged now.
    #[serde(default)]
    pub check_ins: Vec<crate::CheckIn>,
    /// The id of the newest live event so far; the event stream resumes after it.
    pub last_event_id: u64,
    /// Whether the server can reach the payment platform for the till's store now (live changes
    /// come as [`crate::TillEvent::Platform`]). A server that does not say is taken to reach it.
    #[serde(default = "reachable")]
    pub platform_reachable: bool,
}

/// What a snapshot without `platformReachable` means: nothing is known to be wrong.
const fn reachable() -> bool {
    true
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
    fn a_snapshot_that_does_not_say_whether_the_platform_answers_means_it_does() {
        let json = r#"{"till":{"id":"till-1","name":"Kasse 1","storeName":"Kaffe","currency":"NOK"},
            "sale":null,"lastEventId":7}"#;
        let snapshot: TillSnapshot = serde_json::from_str(json).unwrap();
        assert!(snapshot.platform_reachable);
        let down = TillSnapshot { platform_reachable: false, ..snapshot };
        let json = serde_json::to_value(&down).unwrap();
        assert_eq!(json["platformReachable"], false);
    }

    #[test]
    fn only_outcomes_are_final() {
        let finals: Vec<_> = SaleStatus::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            [
                SaleStatus::Captured,
                SaleStatus::Refunded,
                SaleStatus::Declined,
                SaleStatus::Expired,
                SaleStatus::Cancelled,
                SaleStatus::Failed
            ]
        );
    }

    #[test]
    fn a_new_sale_names_its_flow_beside_the_amount() {
        let qr = NewSale {
            amount: Money::new(5000, Currency::Nok),
            description: None,
            lines: Vec::new(),
            payer: Payer::Qr,
            loyalty: false,
        };
        assert_eq!(
            serde_json::to_value(&qr).unwrap(),
            serde_json::json!({"amount":{"value":5000,"currency":"NOK"},"flow":"qr"})
        );
        let phone: NewSale = serde_json::from_value(serde_json::json!({
            "amount": {"value": 5000, "currency": "NOK"},
            "description": "Two buns",
            "flow": "phone",
            "phoneNumber": "91234567"
        }))
        .unwrap();
        assert_eq!(phone.payer, Payer::Phone { phone_number: "91234567".into() });
        assert_eq!(phone.payer.flow(), Flow::Phone);
        let scanned = NewSale {
            amount: Money::new(100, Currency::Nok),
            description: None,
            lines: Vec::new(),
            payer: Payer::PersonalQr { personal_qr: "https://qr.vipps.no/28/2/01/031/4791234567?v=1".into() },
            loyalty: false,
        };
        let json = serde_json::to_value(&scanned).unwrap();
        assert_eq!(json["flow"], "personalQr");
        assert_eq!(serde_json::from_value::<NewSale>(json).unwrap(), scanned);
    }

    #[test]
    fn a_lines_vat_is_what_its_vat_inclusive_total_holds_rounded_to_the_nearest_minor_unit() {
        let line = |unit_price, quantity, vat_rate| SaleLine {
            name: "x".into(),
            quantity,
            unit_price: Money::new(unit_price, Currency::Nok),
            vat_rate,
        };
        assert_eq!(line(12_500, 1, 2500).vat(), 2_500, "25 % of a 125.00 price is 25.00");
        assert_eq!(line(4_000, 3, 1500).total(), 12_000);
        assert_eq!(line(4_000, 3, 1500).vat(), 1_565, "15 % food VAT: 12000 × 15/115 = 1565.2");
        assert_eq!(line(1_000, 1, 2550).vat(), 203, "Finland's 25.5 %: 1000 × 25.5/125.5 = 203.19");
        assert_eq!(line(999, 1, 0).vat(), 0);
    }

    #[test]
    fn a_new_sale_without_its_flows_field_does_not_parse() {
        let missing = serde_json::json!({"amount": {"value": 5000, "currency": "NOK"}, "flow": "phone"});
        assert!(serde_json::from_value::<NewSale>(missing).is_err());
        let unknown = serde_json::json!({"amount": {"value": 5000, "currency": "NOK"}, "flow": "cash"});
        assert!(serde_json::from_value::<NewSale>(unknown).is_err());
    }

    #[test]
    fn every_flow_name_parses_back_to_itself() {
        for flow in Flow::ALL {
            assert_eq!(Flow::parse(flow.as_str()), Some(flow));
            assert_eq!(serde_json::to_value(flow).unwrap(), flow.as_str());
        }
    }
}
