//! The back office's contract (`/api/admin/…`): the manager a browser is paired as, the devices
//! paired with the stores' tills, and the pairing codes a manager makes for new ones.
//!
//! Actions that change who can use the shop (pairing a device, revoking one) carry the
//! manager's PIN, asked for again each time, so a manager's tablet left on the counter does not
//! hand them out.

use serde::{Deserialize, Serialize};

use crate::{Currency, Money, Sale, Session, Till};

/// A manager, as the back office shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manager {
    /// Our id for them.
    pub id: String,
    /// Their name, as the operator typed it.
    pub name: String,
    /// The store they manage; `None` for every store.
    pub store: Option<String>,
}

/// A store a manager may see, with its tills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreSummary {
    /// Our id for it.
    pub id: String,
    /// Its name, as customers know it.
    pub name: String,
    /// The currency it takes.
    pub currency: Currency,
    /// Its tills.
    pub tills: Vec<Till>,
    /// Its open-amount stickers, which take payments with no till.
    #[serde(default)]
    pub stickers: Vec<OpenSticker>,
}

/// An open-amount sticker, as the back office names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenSticker {
    /// Its id (its landing page's `/q/{id}`).
    pub id: String,
    /// What its payments are for, as its customers read it.
    pub description: String,
}

/// `GET /api/admin/session`: who this browser is paired as, and what they may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagerSession {
    /// The manager.
    pub manager: Manager,
    /// The stores they manage.
    pub stores: Vec<StoreSummary>,
    /// When the session ends however much it is used (ms since the epoch).
    pub ends_at_ms: i64,
}

/// What `POST /api/pair` made this browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "as", rename_all = "camelCase")]
pub enum Paired {
    /// A till or its customer display (the answer's other fields are a [`Session`]).
    Device(Session),
    /// A manager's back office.
    Manager(ManagerSession),
}

/// What a paired device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeviceKind {
    /// A till screen.
    Till,
    /// A till's customer display.
    Display,
    /// A manager's back office.
    Manager,
}

impl DeviceKind {
    /// Every kind, in the order the back office lists them.
    pub const ALL: [Self; 3] = [Self::Till, Self::Display, Self::Manager];

    /// The kind as the wire spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Till => "till",
            Self::Display => "display",
            Self::Manager => "manager",
        }
    }
}

/// A device whose session is live: `GET /api/admin/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Its id: the start of its session token's hash, which tells nothing about the token.
    pub id: String,
    /// What it is.
    pub kind: DeviceKind,
    /// For a till or a display, the till's id; for a manager's device, the manager's name.
    pub of: String,
    /// When it was paired (ms since the epoch).
    pub paired_at_ms: i64,
    /// When it was last used, to about a minute (ms since the epoch).
    pub last_seen_at_ms: i64,
}

/// Whom a new pairing code is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum PairingFor {
    /// A browser that becomes this till.
    Till {
        /// The till's id.
        till: String,
    },
    /// A browser that becomes this till's customer display.
    Display {
        /// The till's id.
        till: String,
    },
    /// A new manager (or another device of a manager of this name).
    Manager {
        /// Their name.
        name: String,
        /// The store they will manage; `None` for every store (only a manager of every store
        /// may make one).
        store: Option<String>,
    },
}

/// `POST /api/admin/pairing-codes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPairingCode {
    /// Whom it is for.
    #[serde(rename = "for")]
    pub pairing_for: PairingFor,
    /// The manager's PIN.
    pub pin: String,
}

/// A one-time pairing code, to type at `/pair` or to scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingCode {
    /// The code, e.g. `ABCD-EFGH`.
    pub code: String,
    /// The address that pairs a browser with it, for a QR code: `…/pair?code=ABCD-EFGH`.
    pub url: String,
    /// When it stops working (ms since the epoch).
    pub expires_at_ms: i64,
}

/// The manager's PIN, for an action that changes who can use the shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinConfirmation {
    /// The PIN, as typed.
    pub pin: String,
}

/// `GET /api/admin/sales`: the sales of one till or open-amount sticker, or of every one the
/// manager may see, filtered as a till's history is (see [`crate::HistoryQuery`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminSalesQuery {
    /// Only this till's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// Only this open-amount sticker's (not with `till`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker: Option<String>,
    /// Started at or after this time (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// Started before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// Only sales in this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::SaleStatus>,
    /// Only sales of this flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<crate::Flow>,
    /// Only sales this text finds, as in a till's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
}

/// `GET /api/admin/sales/{reference}`: one sale as the back office shows it, with the till that
/// took it and the store's rule for refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminSale {
    /// The sale.
    pub sale: Sale,
    /// The id of the till that took it; empty for an open-amount sticker's (the sale's
    /// `sticker_id`).
    pub till: String,
    /// Refunds of the sale that would come to more than this in all ask for the manager's PIN
    /// (the store's `refund_pin_above`; zero: every refund does).
    pub refund_pin_above: Money,
}

/// `POST /api/admin/sales/{reference}/refund`: give money back from the back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminRefundRequest {
    /// How much.
    pub amount: Money,
    /// The manager's PIN, when the sale's refunds would come to more than
    /// [`AdminSale::refund_pin_above`] in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// A PIN's rules: 4 to 8 digits.
pub fn pin_is_well_formed(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_pairing_answer_reads_as_the_session_it_always_was() {
        let session = Session {
            till: Till {
                id: "t".into(),
                name: "T".into(),
                store_name: "S".into(),
                currency: Currency::Nok,
                loyalty: false,
            },
            role: crate::Role::Till,
        };
        let json = serde_json::to_value(Paired::Device(session.clone())).unwrap();
        assert_eq!(json["as"], "device");
        assert_eq!(serde_json::from_value::<Session>(json.clone()).unwrap(), session);
        assert_eq!(serde_json::from_value::<Paired>(json).unwrap(), Paired::Device(session));
    }

    #[test]
    fn a_pairing_code_request_names_whom_it_is_for() {
        let request: NewPairingCode =
            serde_json::from_str(r#"{"for":{"kind":"display","till":"till-1"},"pin":"1234"}"#).unwrap();
        assert_eq!(request.pairing_for, PairingFor::Display { till: "till-1".into() });
        let manager: PairingFor =
            serde_json::from_str(r#"{"kind":"manager","name":"Ola","store":null}"#).unwrap();
        assert_eq!(manager, PairingFor::Manager { name: "Ola".into(), store: None });
    }

    #[test]
    fn a_pin_is_four_to_eight_digits() {
        assert!(pin_is_well_formed("1234") && pin_is_well_formed("12345678"));
        for bad in ["123", "123456789", "12a4", " 1234", ""] {
            assert!(!pin_is_well_formed(bad), "{bad:?}");
        }
    }
}
