//! Live events the server pushes to a till over server-sent events.
//!
//! Each event carries a whole snapshot rather than a delta, so a browser that missed one, or got two
//! in the wrong order, still ends up showing what the server holds.

use serde::{Deserialize, Serialize};

use crate::operations::CheckIn;
use crate::sale::Sale;

/// One server-sent event on a till's stream (`/api/tills/{id}/events`), sent as JSON `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[allow(
    clippy::large_enum_variant,
    reason = "an event is made, sent and dropped; a sale is nearly every event, so boxing it would \
              allocate for most of them to save room in the few small ones"
)]
pub enum TillEvent {
    /// The till's current sale changed.
    Sale {
        /// The sale as it is now.
        sale: Sale,
    },
    /// A customer checked in at the till's callback sticker, or a check-in was charged.
    CheckIn {
        /// The check-in as it is now.
        check_in: CheckIn,
    },
    /// Whether the server can reach the payment platform for the till's store changed: while it
    /// cannot, payments cannot start or move on, and the till says so.
    Platform {
        /// False when the platform stopped answering (or refused the server's credentials); true
        /// when it answers again.
        reachable: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, Flow, Money, SaleStatus};

    #[test]
    fn a_sale_event_names_its_type() {
        let event = TillEvent::Sale {
            sale: Sale {
                reference: "kasse-till-1-abc".into(),
                till_id: "till-1".into(),
                sticker_id: None,
                amount: Money::new(100, Currency::Nok),
                description: None,
                flow: Flow::Qr,
                customer: None,
                status: SaleStatus::Captured,
                qr: None,
                expires_at_ms: None,
                authorized: Money::new(100, Currency::Nok),
                captured: Money::new(100, Currency::Nok),
                cancelled: Money::zero(Currency::Nok),
                refunded: Money::zero(Currency::Nok),
                failure: None,
                created_at_ms: 0,
                loyalty: None,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "sale");
        assert_eq!(json["sale"]["status"], "captured");
        assert_eq!(serde_json::from_value::<TillEvent>(json).unwrap(), event);
    }

    #[test]
    fn a_platform_event_says_whether_the_platform_can_be_reached() {
        let json = serde_json::to_value(TillEvent::Platform { reachable: false }).unwrap();
        assert_eq!(json, serde_json::json!({ "type": "platform", "reachable": false }));
        assert_eq!(
            serde_json::from_value::<TillEvent>(json).unwrap(),
            TillEvent::Platform { reachable: false }
        );
    }
}
