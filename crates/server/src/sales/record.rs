//! Platform writes, durably: each is recorded (with its idempotency key and the exact request
//! body) before it is sent, and sent again with both unchanged until the platform confirms or
//! refuses it. A crash anywhere in between leaves a pending record the reconciler finishes.

use kasse_vipps::epayment::{Amount, CreatePaymentRequest};

use crate::store::{NewOperation, OperationKind, OperationRow};

/// One write to the platform, with everything needed to send it again identically.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Create the payment.
    Create(Box<CreatePaymentRequest>),
    /// Capture an amount.
    Capture(Amount),
    /// Refund an amount.
    Refund(Amount),
    /// Cancel: before approval only (`cancelTransactionOnly`), or release what is not captured.
    Cancel {
        /// Whether to leave an approved payment alone.
        transaction_only: bool,
    },
}

/// The stored body of a cancel (ours: the platform's optional body plus which kind it is).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelBody {
    cancel_transaction_only: bool,
}

impl Write {
    /// The kind, as stored.
    pub const fn kind(&self) -> OperationKind {
        match self {
            Self::Create(_) => OperationKind::Create,
            Self::Capture(_) => OperationKind::Capture,
            Self::Refund(_) => OperationKind::Refund,
            Self::Cancel { .. } => OperationKind::Cancel,
        }
    }

    /// The amount it moves, as stored.
    fn amount(&self) -> Option<i64> {
        match self {
            Self::Create(request) => Some(request.amount.value),
            Self::Capture(amount) | Self::Refund(amount) => Some(amount.value),
            Self::Cancel { .. } => None,
        }
    }

    /// The request body, as stored and as sent.
    pub fn body(&self) -> String {
        let json = match self {
            Self::Create(request) => serde_json::to_string(request),
            Self::Capture(amount) | Self::Refund(amount) => serde_json::to_string(amount),
            Self::Cancel { transaction_only } => {
                serde_json::to_string(&CancelBody { cancel_transaction_only: *transaction_only })
            }
        };
        // Our own types always serialise; an empty body would be refused by the platform.
        json.unwrap_or_default()
    }

    /// The write a stored operation records.
    pub fn from_stored(operation: &OperationRow) -> Option<Self> {
        Self::from_body(operation.kind, operation.request.as_deref()?)
    }

    /// The write of `kind` whose body is `body`.
    pub fn from_body(kind: OperationKind, body: &str) -> Option<Self> {
        Some(match kind {
            OperationKind::Create => Self::Create(Box::new(serde_json::from_str(body).ok()?)),
            OperationKind::Capture => Self::Capture(serde_json::from_str(body).ok()?),
            OperationKind::Refund => Self::Refund(serde_json::from_str(body).ok()?),
            OperationKind::Cancel => Self::Cancel {
                transaction_only: serde_json::from_str::<CancelBody>(body).ok()?.cancel_transaction_only,
            },
        })
    }

    /// The record of this write for the payment `reference`, under `key`.
    pub fn record<'a>(
        &self,
        reference: &'a str,
        key: &'a str,
        body: &'a str,
        client_key: Option<&'a str>,
    ) -> NewOperation<'a> {
        NewOperation {
            key,
            reference,
            kind: self.kind(),
            amount: self.amount(),
            request: body,
            client_key,
            reason: None,
        }
    }
}

/// The idempotency key of the `n`th write of a kind on a payment. Deterministic, so that every
/// retry of the same intent, from any process, sends the same key. At most 37 + 12 characters:
/// within the platform's 50.
pub fn idempotency_key(reference: &str, kind: OperationKind, n: usize) -> String {
    match kind {
        OperationKind::Create => format!("{reference}-create"),
        _ => format!("{reference}-{}-{n}", kind.as_str()),
    }
}

/// The `n` of a key [`idempotency_key`] made for a write other than the create: the order the
/// writes of its kind were recorded in on their payment. Each is numbered under the payment's
/// lock, one more than those recorded before it, so every instance agrees on the order, where
/// the times they stamp on the writes come from their own clocks. `None` for any other key.
pub fn key_number(key: &str) -> Option<usize> {
    key.rsplit_once('-')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kasse_vipps::Currency;

    #[test]
    fn every_write_survives_being_stored_and_read_back_unchanged() {
        let nok = Amount::new(1250, Currency::Nok);
        let request: CreatePaymentRequest = serde_json::from_value(serde_json::json!({
            "amount": { "currency": "NOK", "value": 1250 },
            "customer": { "phoneNumber": "4791234567" },
            "paymentMethod": { "type": "WALLET" },
            "reference": "till-1-aaaaaaaaaaaa",
            "userFlow": "PUSH_MESSAGE"
        }))
        .unwrap();
        for write in [
            Write::Create(Box::new(request)),
            Write::Capture(nok),
            Write::Refund(nok),
            Write::Cancel { transaction_only: true },
            Write::Cancel { transaction_only: false },
        ] {
            let stored = OperationRow {
                idempotency_key: "k".into(),
                reference: "r".into(),
                kind: write.kind(),
                amount: write.amount(),
                status: crate::store::OperationStatus::Pending,
                error: None,
                attempts: 0,
                updated_at: 0,
                request: Some(write.body()),
                client_key: None,
                reason: None,
            };
            let back = Write::from_stored(&stored).unwrap();
            assert_eq!(back, write);
            assert_eq!(back.body(), write.body(), "a resend is byte for byte the first request");
        }
    }

    #[test]
    fn idempotency_keys_are_deterministic_and_within_the_platforms_50_characters() {
        let reference = format!("{}-{}", "t".repeat(24), "a".repeat(12));
        for kind in
            [OperationKind::Create, OperationKind::Capture, OperationKind::Cancel, OperationKind::Refund]
        {
            let key = idempotency_key(&reference, kind, 99);
            assert_eq!(key, idempotency_key(&reference, kind, 99));
            assert!(key.len() <= 50, "{key}");
        }
        assert_ne!(
            idempotency_key("r", OperationKind::Refund, 1),
            idempotency_key("r", OperationKind::Refund, 2),
            "each refund is its own write"
        );
        // References hold dashes; the number is what follows the last.
        let reference = "till-1-a1b2c3";
        assert_eq!(key_number(&idempotency_key(reference, OperationKind::Capture, 12)), Some(12));
        assert_eq!(key_number(&idempotency_key(reference, OperationKind::Create, 1)), None);
    }
}
