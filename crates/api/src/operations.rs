//! What a till can do with a sale after it started, and what it can read about sales: capture,
//! refund, the event log, history with totals, and check-ins at its callback sticker.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};
use crate::sale::{Flow, Sale, SaleStatus};

/// `POST …/capture`: take money the customer reserved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest {
    /// How much; everything still reserved when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

/// `POST …/refund`: give money back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// How much.
    pub amount: Money,
    /// A manager's PIN, for a sale from an earlier day at a store that asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_pin: Option<String>,
}

/// One entry of a sale's event log, as the platform recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleEvent {
    /// What happened.
    pub name: SaleEventName,
    /// The amount it concerned.
    pub amount: Money,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Whether it succeeded (a refused card is an `AUTHORIZED` that did not).
    pub success: bool,
}

/// What happened to a payment at the platform, in the platform's words (`CREATED`,
/// `AUTHORIZED`, …). A name this build does not know (a newer platform) reads as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SaleEventName {
    /// The payment was created.
    Created,
    /// The customer approved.
    Authorized,
    /// Money was taken.
    Captured,
    /// The uncaptured rest was released.
    Cancelled,
    /// Money was given back.
    Refunded,
    /// The customer declined.
    Aborted,
    /// Nobody acted in time.
    Expired,
    /// The merchant cancelled before approval.
    Terminated,
    /// A name this build does not know.
    #[serde(other)]
    Unknown,
}

impl SaleEventName {
    /// The name as the platform spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Authorized => "AUTHORIZED",
            Self::Captured => "CAPTURED",
            Self::Cancelled => "CANCELLED",
            Self::Refunded => "REFUNDED",
            Self::Aborted => "ABORTED",
            Self::Expired => "EXPIRED",
            Self::Terminated => "TERMINATED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// Which sales `GET /api/tills/{till}/sales` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryQuery {
    /// Started at or after this time (ms since the epoch); the browser sends its local midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// Started before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// Only sales in this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SaleStatus>,
    /// Only sales of this flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
    /// Only sales this text finds, as a cashier types it into one search field: a reference or
    /// PoS order id containing it, an amount equal to it (`125`, `125,50`, `125.50`), or a
    /// customer's phone number ending in it (of a number, only its last three digits are kept).
    /// At most [`HistoryQuery::SEARCH_MAX`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
}

impl HistoryQuery {
    /// The longest search text the server takes.
    pub const SEARCH_MAX: usize = 64;
}

/// The sales of one status and currency, summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Total {
    /// The status.
    pub status: SaleStatus,
    /// The currency.
    pub currency: Currency,
    /// How many sales.
    pub count: u32,
    /// Asked for, in minor units.
    pub amount: i64,
    /// Taken, in minor units.
    pub captured: i64,
    /// Given back, in minor units.
    pub refunded: i64,
}

impl Total {
    /// The totals of `sales`, one per status and currency, in the order each first appears.
    pub fn of(sales: &[Sale]) -> Vec<Self> {
        let mut totals: Vec<Self> = Vec::new();
        for sale in sales {
            let at =
                totals.iter().position(|t| t.status == sale.status && t.currency == sale.amount.currency);
            let index = at.unwrap_or_else(|| {
                totals.push(Self {
                    status: sale.status,
                    currency: sale.amount.currency,
                    count: 0,
                    amount: 0,
                    captured: 0,
                    refunded: 0,
                });
                totals.len() - 1
            });
            let total = &mut totals[index];
            total.count += 1;
            total.amount += sale.amount.value;
            total.captured += sale.captured.value;
            total.refunded += sale.refunded.value;
        }
        totals
    }
}

/// `GET /api/tills/{till}/sales`: the sales asked for, newest first, and their totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// The sales.
    pub sales: Vec<Sale>,
    /// Totals per status and currency, of the sales shown.
    pub totals: Vec<Total>,
    /// More sales match than are shown: only the newest are (500), and the totals count those.
    #[serde(default)]
    pub more: bool,
}

/// A customer who scanned the till's callback sticker and can be asked to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckIn {
    /// Its id, to start a sale with (`Payer::CheckIn`).
    pub id: String,
    /// When the customer scanned.
    pub at_ms: i64,
    /// When the check-in can no longer be charged (15 minutes after the scan).
    pub expires_at_ms: i64,
    /// The reference of the sale that charged it, once one did.
    #[serde(default)]
    pub charged_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_without_an_amount_takes_everything_reserved() {
        let all: CaptureRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(all.amount, None);
        let part: CaptureRequest =
            serde_json::from_str(r#"{"amount":{"value":500,"currency":"NOK"}}"#).unwrap();
        assert_eq!(part.amount, Some(Money::new(500, Currency::Nok)));
    }

    #[test]
    fn a_history_query_is_camel_case_and_every_filter_is_optional() {
        let q: HistoryQuery =
            serde_json::from_str(r#"{"sinceMs":1,"status":"captured","flow":"phone"}"#).unwrap();
        assert_eq!(q.since_ms, Some(1));
        assert_eq!(q.status, Some(SaleStatus::Captured));
        assert_eq!(q.flow, Some(Flow::Phone));
        assert_eq!(q.search, None);
        assert_eq!(serde_json::from_str::<HistoryQuery>("{}").unwrap(), HistoryQuery::default());
        let found: HistoryQuery = serde_json::from_str(r#"{"search":"567"}"#).unwrap();
        assert_eq!(found.search.as_deref(), Some("567"));
    }
}
