//! MobilePay PoS v10 compatibility: a v10 integration, pointed at kasse, keeps working. Its
//! points of sale are kasse's tills, its payments are sales of those tills, its refunds refund
//! them; the HTTP surface is `routes::pos_v10`, the bodies are in [`wire`].
//!
//! A v10 payment is paid the way v10 customers paid. If a customer has checked in at the till's
//! sticker when it starts, the payment is pushed to them (the check-in's token becomes the
//! ePayment customer). Otherwise the till shows its QR code; and if a customer checks in at the
//! sticker before anyone pays that code, the payment moves to them: the QR payment is cancelled
//! (only the request, so a customer approving at that moment wins) and a push to the checked-in
//! customer starts ([`Pairing`], run every second, on every instance).

pub mod codes;
pub mod pairing;
pub mod turns;
pub mod wire;

use kasse_api::{Currency, Flow, SaleStatus};
use sha2::{Digest, Sha256};

use crate::store::{PaymentRow, V10PaymentRow};
pub use pairing::Pairing;
pub use turns::PosTurns;
use wire::{CurrencyCode, PaymentStatus};

/// How long a v10 PoS is asked to wait between polls.
pub const POLL_DELAY_MS: i32 = 1_000;

/// A v10 id (a UUID) made from what names the thing, so that the same integrator, kind and
/// idempotency key always make the same id: a retried create finds the first one.
pub fn id_from(integrator_id: &str, kind: &str, key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(integrator_id)
        .chain_update([0])
        .chain_update(kind)
        .chain_update([0])
        .chain_update(key)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// A store's v10 id, the same on every instance and at every start.
pub fn store_id(store: &str) -> String {
    id_from("", "store", store)
}

/// The minor units of a v10 decimal amount, exactly: `12.5` is 1250. `None` for a negative
/// amount, more than two decimals, an exponent, or one too large.
pub fn minor_units(amount: &serde_json::Number) -> Option<i64> {
    // The number's shortest decimal form; read as text, so no float rounding is involved.
    let text = amount.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let fraction = fraction.trim_end_matches('0');
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 2 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// A v10 decimal amount for `minor` units.
#[allow(clippy::cast_precision_loss, reason = "amounts are far below 2^53 minor units")]
pub fn decimal(minor: i64) -> f64 {
    minor as f64 / 100.0
}

/// kasse's currency for a v10 one.
pub const fn currency(code: CurrencyCode) -> Currency {
    match code {
        CurrencyCode::Dkk => Currency::Dkk,
        CurrencyCode::Eur => Currency::Eur,
    }
}

/// v10's currency for kasse's; `None` for NOK, which v10 never took.
pub const fn currency_code(currency: Currency) -> Option<CurrencyCode> {
    match currency {
        Currency::Dkk => Some(CurrencyCode::Dkk),
        Currency::Eur => Some(CurrencyCode::Eur),
        Currency::Nok => None,
    }
}

/// A v10 payment's state, from what kasse knows: its sale (if started) and whether it is moving
/// to a checked-in customer.
pub fn status(payment: &V10PaymentRow, sale: Option<&PaymentRow>) -> PaymentStatus {
    let paid = sale.is_some_and(|s| {
        matches!(s.status(), SaleStatus::Authorized | SaleStatus::Captured | SaleStatus::Refunded)
    });
    // A sale still open is not cancelled whatever its PoS asked (a cancel on its way, or one the
    // platform refused as the customer approved): the approval may still win, and a PoS stops
    // polling at a final state.
    let open = sale.is_some_and(|s| !s.status().is_final());
    if payment.cancelled_at.is_some() && !paid && !open {
        return PaymentStatus::CancelledByClient;
    }
    let Some(sale) = sale else {
        return if payment.amount.is_none() { PaymentStatus::Prepared } else { PaymentStatus::Initiated };
    };
    // Moving to a checked-in customer: the QR payment is being (or was) cancelled for it.
    let moving = payment.pairing_check_in.is_some();
    match sale.status() {
        SaleStatus::Creating
        | SaleStatus::AwaitingCustomer
        | SaleStatus::Cancelling
        | SaleStatus::Cancelled
            if moving =>
        {
            PaymentStatus::Paired
        }
        SaleStatus::Creating | SaleStatus::AwaitingCustomer | SaleStatus::Cancelling => {
            if sale.flow == Flow::Qr { PaymentStatus::Initiated } else { PaymentStatus::IssuedToUser }
        }
        SaleStatus::Authorized => PaymentStatus::Reserved,
        SaleStatus::Captured | SaleStatus::Refunded => PaymentStatus::Captured,
        SaleStatus::Declined => PaymentStatus::CancelledByUser,
        SaleStatus::Expired => PaymentStatus::ExpiredAndCancelled,
        SaleStatus::Cancelled => PaymentStatus::CancelledByClient,
        SaleStatus::Failed => PaymentStatus::CancelledByMobilePay,
    }
}

/// The sales engine's key for the `n`th sale of a v10 payment (a retried start finds it).
pub fn sale_key(payment_id: &str, what: &str) -> String {
    format!("{}{payment_id}:{what}", crate::sales::CAPTURED_BY_THE_POS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v10_decimals_become_exact_minor_units_and_back() {
        for (text, minor) in [
            ("12.5", Some(1250)),
            ("12", Some(1200)),
            ("0.01", Some(1)),
            ("1234.56", Some(123_456)),
            ("12.50", Some(1250)),
            ("1e3", Some(100_000)),
        ] {
            let number: serde_json::Number = serde_json::from_str(text).unwrap();
            assert_eq!(minor_units(&number), minor, "{text}");
        }
        for text in ["12.345", "-1", "1.5e-3", "0.001"] {
            let number: serde_json::Number = serde_json::from_str(text).unwrap();
            assert_eq!(minor_units(&number), None, "{text}");
        }
        assert_eq!(serde_json::to_string(&decimal(1250)).unwrap(), "12.5");
        assert_eq!(serde_json::to_string(&decimal(1)).unwrap(), "0.01");
    }

    #[test]
    fn ids_are_uuids_the_same_for_the_same_key_and_apart_for_others() {
        let a = id_from("int-1", "payment", "key-1");
        assert_eq!(a, id_from("int-1", "payment", "key-1"));
        assert_ne!(a, id_from("int-2", "payment", "key-1"));
        assert_ne!(a, id_from("int-1", "refund", "key-1"));
        assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");
    }
}
