//! ePayment API v1 wire types, written from `vipps-epayment-api/epayment.v1.yml` (v1.4.1) and the
//! newer fields listed in reference/vipps-apis.md §3 (`cancelTransactionOnly`, 64-character
//! references).
//!
//! Field names, required fields and enum spellings follow the spec exactly: optional fields are
//! `Option` and left out of the JSON when `None`, required ones are plain fields, so a missing
//! required field fails to parse.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The currencies of `Amount.currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// Norwegian krone.
    #[serde(rename = "NOK")]
    Nok,
    /// Danish krone.
    #[serde(rename = "DKK")]
    Dkk,
    /// Euro.
    #[serde(rename = "EUR")]
    Eur,
}

/// An amount in minor units (`value`) of a `currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Amount {
    /// The currency.
    pub currency: Currency,
    /// Minor units; the spec allows 0 ..= 65 000 000.
    pub value: i64,
}

impl Amount {
    /// `value` minor units of `currency`.
    pub const fn new(value: i64, currency: Currency) -> Self {
        Self { currency, value }
    }
}

/// The customer of a payment: exactly one of the three fields may be set (the spec's `oneOf`).
///
/// This is a struct rather than an enum so that a request naming two identities can be parsed,
/// and refused with the platform's error, instead of silently picking one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// MSISDN: country code and number, digits only (`4791234567`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The full content of the customer's personal QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_qr: Option<String>,
    /// The token from a `user.checked-in.v1` event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_token: Option<String>,
}

impl Customer {
    /// A customer known by phone number.
    pub fn phone_number(msisdn: impl Into<String>) -> Self {
        Self { phone_number: Some(msisdn.into()), ..Self::default() }
    }

    /// A customer known by the scanned content of their personal QR code.
    pub fn personal_qr(content: impl Into<String>) -> Self {
        Self { personal_qr: Some(content.into()), ..Self::default() }
    }

    /// A customer known by a check-in token.
    pub fn customer_token(token: impl Into<String>) -> Self {
        Self { customer_token: Some(token.into()), ..Self::default() }
    }
}

/// Whether the customer is at the point of sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomerInteraction {
    /// In a store: every kasse payment.
    CustomerPresent,
    /// Online (the platform's default).
    CustomerNotPresent,
}

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentMethodType {
    /// A card in the Vipps or MobilePay app.
    Wallet,
    /// A free-standing card (`WEB_REDIRECT` only).
    Card,
}

/// `paymentMethod` of a create request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// The method.
    #[serde(rename = "type")]
    pub kind: PaymentMethodType,
}

/// `paymentMethod` of a payment as the platform reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethodResponse {
    /// The method.
    #[serde(rename = "type")]
    pub kind: PaymentMethodType,
    /// The card's BIN, six digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_bin: Option<String>,
}

/// How the customer is brought to the payment in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserFlow {
    /// A push message to a known customer; needs `customer`.
    PushMessage,
    /// App-to-app switch.
    NativeRedirect,
    /// Browser flow; needs `returnUrl`.
    WebRedirect,
    /// A one-time QR code.
    Qr,
}

/// The format of the QR code of a `userFlow: QR` payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QrImageFormat {
    /// The QR code's target URL as text: we draw the code ourselves.
    #[serde(rename = "TEXT/TARGETURL")]
    TextTargetUrl,
    /// A link to an SVG image (the default).
    #[serde(rename = "IMAGE/SVG+XML")]
    ImageSvg,
    /// A link to a PNG image.
    #[serde(rename = "IMAGE/PNG")]
    ImagePng,
}

/// `qrFormat` of a create request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrFormat {
    /// The format.
    pub format: QrImageFormat,
    /// Pixels, 100 ..= 2000, PNG only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

/// `profile` of a create request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRequest {
    /// Space-separated scopes, e.g. `name phoneNumber`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// `profile` of a payment as the platform reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileResponse {
    /// The user's `sub`, once authorized, if a scope was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// `POST /epayment/v1/payments` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentRequest {
    /// What to charge.
    pub amount: Amount,
    /// Who pays, when known (required for `PUSH_MESSAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// `CUSTOMER_PRESENT` for every in-store payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_interaction: Option<CustomerInteraction>,
    /// `WALLET` for every in-store payment.
    pub payment_method: PaymentMethod,
    /// Profile sharing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileRequest>,
    /// Our unique reference: `^[a-zA-Z0-9-]{8,64}$`.
    pub reference: String,
    /// Where the customer returns after `WEB_REDIRECT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// How the customer reaches the payment.
    pub user_flow: UserFlow,
    /// RFC 3339 expiry of a long-living payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// QR format for `userFlow: QR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_format: Option<QrFormat>,
    /// Shown in the app and on settlements: 3 ..= 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_description: Option<String>,
    /// Order lines (Order Management API `Receipt`), kept as JSON until kasse sends them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<serde_json::Value>,
    /// Up to five string pairs echoed back by the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Where a receipt can be viewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
}

/// `201` answer to a create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentResponse {
    /// Landing page, deep link, QR image link or QR target URL; absent for `PUSH_MESSAGE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The reference, echoed.
    pub reference: String,
}

/// The state of a payment. There is no captured or refunded state: see [`Aggregate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// The customer has not acted yet.
    Created,
    /// The customer declined (final).
    Aborted,
    /// Nobody acted in time (final).
    Expired,
    /// Approved (final: it stays so after captures, refunds and cancels).
    Authorized,
    /// The merchant cancelled before approval (final).
    Terminated,
}

impl State {
    /// True for every state but `CREATED`.
    pub const fn is_final(self) -> bool {
        !matches!(self, Self::Created)
    }
}

/// Running totals of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Aggregate {
    /// Reserved by the customer's approval.
    pub authorized_amount: Amount,
    /// Released without capture.
    pub cancelled_amount: Amount,
    /// Taken.
    pub captured_amount: Amount,
    /// Given back.
    pub refunded_amount: Amount,
}

impl Aggregate {
    /// All four totals zero.
    pub const fn zero(currency: Currency) -> Self {
        let zero = Amount::new(0, currency);
        Self { authorized_amount: zero, cancelled_amount: zero, captured_amount: zero, refunded_amount: zero }
    }
}

/// `GET /epayment/v1/payments/{reference}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetPaymentResponse {
    /// Running totals.
    pub aggregate: Aggregate,
    /// The amount asked for.
    pub amount: Amount,
    /// The state.
    pub state: State,
    /// How it is paid.
    pub payment_method: PaymentMethodResponse,
    /// Profile sharing result.
    pub profile: ProfileResponse,
    /// The platform's reference of the CREATED event.
    pub psp_reference: String,
    /// The landing page, for redirect flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// Our reference.
    pub reference: String,
    /// The metadata sent at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Body of a capture or refund: how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationRequest {
    /// The amount to capture or refund.
    pub modification_amount: Amount,
}

/// `CaptureModificationRequest` of the spec.
pub type CaptureModificationRequest = ModificationRequest;
/// `RefundModificationRequest` of the spec.
pub type RefundModificationRequest = ModificationRequest;

/// Optional body of a cancel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelModificationRequest {
    /// Cancel only if not yet authorized; otherwise the platform answers 6060.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_transaction_only: Option<bool>,
}

/// Answer to a capture, refund or cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationResponse {
    /// The amount asked for at create.
    pub amount: Amount,
    /// The state after the operation.
    pub state: State,
    /// Running totals after the operation.
    pub aggregate: Aggregate,
    /// The platform's reference of this operation.
    pub psp_reference: String,
    /// Our reference.
    pub reference: String,
}

/// The name of a payment event (event log and webhooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentEventName {
    /// The payment was created.
    Created,
    /// The customer declined.
    Aborted,
    /// Nobody acted in time.
    Expired,
    /// The uncaptured rest was released.
    Cancelled,
    /// Money was taken.
    Captured,
    /// Money was given back.
    Refunded,
    /// The customer approved.
    Authorized,
    /// The merchant cancelled before approval.
    Terminated,
}

impl PaymentEventName {
    /// Every event name, in the spec's order.
    pub const ALL: [Self; 8] = [
        Self::Created,
        Self::Aborted,
        Self::Expired,
        Self::Cancelled,
        Self::Captured,
        Self::Refunded,
        Self::Authorized,
        Self::Terminated,
    ];

    /// The Webhooks API event type carrying this event, e.g. `epayments.payment.captured.v1`.
    pub const fn webhook_event_type(self) -> &'static str {
        match self {
            Self::Created => "epayments.payment.created.v1",
            Self::Aborted => "epayments.payment.aborted.v1",
            Self::Expired => "epayments.payment.expired.v1",
            Self::Cancelled => "epayments.payment.cancelled.v1",
            Self::Captured => "epayments.payment.captured.v1",
            Self::Refunded => "epayments.payment.refunded.v1",
            Self::Authorized => "epayments.payment.authorized.v1",
            Self::Terminated => "epayments.payment.terminated.v1",
        }
    }
}

/// One entry of `GET /epayment/v1/payments/{reference}/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentEvent {
    /// Our reference.
    pub reference: String,
    /// The platform's reference of this event.
    pub psp_reference: String,
    /// What happened.
    pub name: PaymentEventName,
    /// The amount it concerned.
    pub amount: Amount,
    /// When.
    pub timestamp: DateTime<Utc>,
    /// The idempotency key of the request that caused it, if any.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Whether it succeeded.
    pub success: bool,
}

/// The body of an `epayments.payment.*.v1` webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// The sales unit.
    pub msn: String,
    /// Our reference.
    pub reference: String,
    /// The platform's reference of this event.
    pub psp_reference: String,
    /// What happened.
    pub name: PaymentEventName,
    /// The amount it concerned.
    pub amount: Amount,
    /// When.
    pub timestamp: DateTime<Utc>,
    /// The idempotency key of the request that caused it, if any.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Whether it succeeded.
    pub success: bool,
}

/// Test-only `POST /epayment/v1/test/payments/{reference}/approve` body: a customer or a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForceApprove {
    /// The test user who approves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// The token from the payment's `redirectUrl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reference_documents_till_example_round_trips() {
        let wire = json!({
            "amount": { "currency": "NOK", "value": 6000 },
            "customer": { "phoneNumber": "4791234567" },
            "customerInteraction": "CUSTOMER_PRESENT",
            "paymentMethod": { "type": "WALLET" },
            "reference": "acme-shop-123-1234589",
            "paymentDescription": "Invoice# 424243",
            "userFlow": "PUSH_MESSAGE",
            "receipt": { "orderLines": [], "bottomLine": { "currency": "NOK", "posId": "pos_122" } }
        });
        let req: CreatePaymentRequest = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(req.customer, Some(Customer::phone_number("4791234567")));
        assert_eq!(req.user_flow, UserFlow::PushMessage);
        assert_eq!(serde_json::to_value(&req).unwrap(), wire);
    }

    #[test]
    fn a_qr_payment_asks_for_the_target_url_as_text() {
        let req = CreatePaymentRequest {
            amount: Amount::new(12_350, Currency::Nok),
            customer: None,
            customer_interaction: Some(CustomerInteraction::CustomerPresent),
            payment_method: PaymentMethod { kind: PaymentMethodType::Wallet },
            profile: None,
            reference: "kasse-till-1-0001".into(),
            return_url: None,
            user_flow: UserFlow::Qr,
            expires_at: None,
            qr_format: Some(QrFormat { format: QrImageFormat::TextTargetUrl, size: None }),
            payment_description: None,
            receipt: None,
            metadata: None,
            receipt_url: None,
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({
                "amount": { "currency": "NOK", "value": 12350 },
                "customerInteraction": "CUSTOMER_PRESENT",
                "paymentMethod": { "type": "WALLET" },
                "reference": "kasse-till-1-0001",
                "userFlow": "QR",
                "qrFormat": { "format": "TEXT/TARGETURL" }
            })
        );
    }

    #[test]
    fn a_create_without_a_required_field_does_not_parse() {
        for missing in ["amount", "paymentMethod", "reference", "userFlow"] {
            let mut wire = json!({
                "amount": { "currency": "NOK", "value": 100 },
                "paymentMethod": { "type": "WALLET" },
                "reference": "reference-1",
                "userFlow": "QR"
            });
            wire.as_object_mut().unwrap().remove(missing);
            assert!(serde_json::from_value::<CreatePaymentRequest>(wire).is_err(), "{missing}");
        }
    }

    #[test]
    fn the_documented_get_payment_answer_parses() {
        let wire = json!({
          "aggregate": {
            "authorizedAmount": { "currency": "NOK", "value": 49900 },
            "cancelledAmount":  { "currency": "NOK", "value": 49900 },
            "capturedAmount":   { "currency": "NOK", "value": 0 },
            "refundedAmount":   { "currency": "NOK", "value": 0 }
          },
          "amount": { "currency": "NOK", "value": 49900 },
          "state": "AUTHORIZED",
          "paymentMethod": { "type": "WALLET" },
          "profile": {},
          "pspReference": "37c34d8c-2649-448e-864b-060d5d93e4c4",
          "reference": "acme-shop-123-order123abc"
        });
        let got: GetPaymentResponse = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(got.state, State::Authorized);
        assert_eq!(got.aggregate.cancelled_amount.value, 49_900);
        assert_eq!(serde_json::to_value(&got).unwrap(), wire);
    }

    #[test]
    fn the_documented_webhook_event_parses_and_names_its_event_type() {
        let wire = r#"{"msn":"123456","reference":"acme-shop-123-order123abc",
            "pspReference":"dd8e0a8e-2b26-40ed-98f1-1d5832fc129f","name":"AUTHORIZED",
            "amount":{"currency":"NOK","value":49900},"timestamp":"2026-01-19T16:26:32.099Z",
            "idempotencyKey":"7c8b81e7-b08b-46e4-9729-191cb801c132","success":true}"#;
        let event: WebhookEvent = serde_json::from_str(wire).unwrap();
        assert_eq!(event.name.webhook_event_type(), "epayments.payment.authorized.v1");
        assert!(event.success);
    }

    #[test]
    fn an_event_log_entry_without_idempotency_key_parses() {
        let wire = r#"{"reference":"acme-shop-123-order123abc","pspReference":"2019200034",
            "name":"CANCELLED","amount":{"currency":"NOK","value":750},
            "timestamp":"2023-03-27T10:52:15.616Z","success":true}"#;
        let event: PaymentEvent = serde_json::from_str(wire).unwrap();
        assert_eq!(event.name, PaymentEventName::Cancelled);
        assert_eq!(event.idempotency_key, None);
    }

    #[test]
    fn the_documented_cancel_answer_parses() {
        let wire = r#"{"amount":{"currency":"NOK","value":1000},"state":"TERMINATED",
            "aggregate":{"authorizedAmount":{"currency":"NOK","value":0},"cancelledAmount":{"currency":"NOK","value":1000},
            "capturedAmount":{"currency":"NOK","value":0},"refundedAmount":{"currency":"NOK","value":0}},
            "pspReference":"70b6ebe0-b400-4652-a3ea-70645e025035","reference":"UNIQUE-PAYMENT-REFERENCE"}"#;
        let got: ModificationResponse = serde_json::from_str(wire).unwrap();
        assert_eq!(got.state, State::Terminated);
        assert_eq!(
            serde_json::to_string(&CancelModificationRequest { cancel_transaction_only: Some(true) })
                .unwrap(),
            r#"{"cancelTransactionOnly":true}"#
        );
    }

    #[test]
    fn an_unknown_state_is_an_error_not_a_guess() {
        assert!(serde_json::from_str::<State>(r#""CAPTURED""#).is_err());
    }
}
