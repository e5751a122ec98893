//! MobilePay PoS v10's request and response bodies, written by hand from its OpenAPI file
//! (`pos.yaml`, 10.2.6): field names, which are required, and the closed sets of values are v10's,
//! so an integration written against v10 reads kasse's answers unchanged.
//!
//! v10 writes amounts as decimals (`12.5`); kasse keeps integer minor units and converts at this
//! edge only ([`super::minor_units`], [`super::decimal`]).

use serde::{Deserialize, Serialize};

/// `{code, message, correlationId}`: every v10 error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// A stable code to act on: v10's number where v10 had one (see [`super::codes`]).
    pub code: &'static str,
    /// What went wrong, in a sentence.
    pub message: String,
    /// The request's correlation id.
    pub correlation_id: String,
}

/// v10's currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CurrencyCode {
    /// Danish krone.
    Dkk,
    /// Euro.
    Eur,
}

/// When the PoS expects to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlannedCaptureDelay {
    /// At once.
    None,
    /// Within a day.
    LessThan24Hours,
    /// Within two weeks.
    LessThan14Days,
}

impl PlannedCaptureDelay {
    /// Its name, as stored.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::LessThan24Hours => "LessThan24Hours",
            Self::LessThan14Days => "LessThan14Days",
        }
    }

    /// The value named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::None, Self::LessThan24Hours, Self::LessThan14Days].into_iter().find(|d| d.name() == name)
    }
}

/// Card restrictions (not applicable on ePayment: the customer chooses in the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentRestrictions {
    /// No debit cards.
    #[serde(default)]
    pub debit_card_disallowed: Option<bool>,
    /// No credit cards.
    #[serde(default)]
    pub credit_card_disallowed: Option<bool>,
}

/// A v10 payment's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentStatus {
    /// Prepared; the amount comes with `ready`.
    Prepared,
    /// Ready, waiting for a customer (the till shows its QR code; a check-in pairs one).
    Initiated,
    /// A customer checked in and is being asked.
    Paired,
    /// The customer has the request in the app.
    IssuedToUser,
    /// Approved: reserved, to be captured.
    Reserved,
    /// The customer declined.
    CancelledByUser,
    /// The PoS or the till cancelled.
    CancelledByClient,
    /// The platform refused it.
    CancelledByMobilePay,
    /// Nobody approved in time.
    ExpiredAndCancelled,
    /// Captured.
    Captured,
}

impl PaymentStatus {
    /// Still going or reserved: what `GET /payments` lists without a `state`.
    pub const fn active_or_reserved(self) -> bool {
        matches!(self, Self::Prepared | Self::Initiated | Self::Paired | Self::IssuedToUser | Self::Reserved)
    }
}

/// `POST /pos/v10/payments`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitiatePaymentRequest {
    /// The point of sale.
    pub pos_id: String,
    /// The PoS's order id (at most 36 characters).
    pub order_id: String,
    /// The amount, a decimal.
    pub amount: serde_json::Number,
    /// Its currency.
    pub currency_code: CurrencyCode,
    /// Card restrictions: accepted, not applied.
    #[serde(default)]
    pub restrictions: Option<PaymentRestrictions>,
    /// A label for the merchant's reports.
    #[serde(default)]
    pub merchant_payment_label: Option<String>,
    /// When the PoS expects to capture.
    pub planned_capture_delay: PlannedCaptureDelay,
}

/// `POST /pos/v10/payments/prepare`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreparePaymentRequest {
    /// The point of sale.
    pub pos_id: String,
    /// The PoS's order id.
    pub order_id: String,
}

/// `POST /pos/v10/payments/{paymentid}/ready`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentReadyRequest {
    /// Its currency.
    pub currency_code: CurrencyCode,
    /// The amount, a decimal.
    pub amount: serde_json::Number,
    /// Accepted, not applied.
    #[serde(default)]
    pub restrictions: Option<PaymentRestrictions>,
    /// A label for the merchant's reports.
    #[serde(default)]
    pub merchant_payment_label: Option<String>,
    /// When the PoS expects to capture.
    pub planned_capture_delay: PlannedCaptureDelay,
}

/// `POST /pos/v10/payments/{paymentid}/capture`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentCaptureRequest {
    /// The amount to take, a decimal.
    pub amount: serde_json::Number,
}

/// `{paymentId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInitiatedResponse {
    /// The payment's id.
    pub payment_id: String,
}

/// `GET /pos/v10/payments/{paymentid}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPaymentResponse {
    pub payment_id: String,
    pub pos_id: String,
    pub order_id: String,
    pub amount: Option<f64>,
    // Left out, not null, while unknown (a prepared payment): pos.yaml marks these `nullable`
    // beside an `enum` or an `allOf`, which OpenAPI 3.0.3 reads as not admitting null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<CurrencyCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<PaymentRestrictions>,
    pub merchant_payment_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_capture_delay: Option<PlannedCaptureDelay>,
    pub status: PaymentStatus,
    /// v10's token of the customer: ePayment has none to give (always null).
    pub customer_token: Option<String>,
    /// Null: ePayment has no receipt tokens.
    pub customer_receipt_token: Option<String>,
    /// Null: loyalty is not looked up.
    pub loyalty_ids: Option<Vec<String>>,
    pub payment_expires_at: String,
    /// Only while reserved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_capture_possible: Option<bool>,
    pub poll_delay_in_ms: i32,
}

/// `{paymentIds}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPaymentIdsResponse {
    pub payment_ids: Vec<String>,
}

/// Beacon kinds a point of sale supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BeaconType {
    /// A printed QR code (a callback sticker).
    #[serde(rename = "QR")]
    Qr,
    /// NFC.
    #[serde(rename = "NFC")]
    Nfc,
    /// Bluetooth.
    Bluetooth,
}

impl BeaconType {
    /// Its name, as stored.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Qr => "QR",
            Self::Nfc => "NFC",
            Self::Bluetooth => "Bluetooth",
        }
    }

    /// The value named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Qr, Self::Nfc, Self::Bluetooth].into_iter().find(|t| t.name() == name)
    }
}

/// `POST /pos/v10/pointofsales`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePosRequest {
    /// kasse's till id: a point of sale stands for a till of kasse's configuration.
    pub merchant_pos_id: String,
    /// The store (its v10 id).
    pub store_id: String,
    /// Its name.
    pub name: String,
    /// The beacon (callback sticker) customers check in at; kasse's own when absent.
    #[serde(default)]
    pub beacon_id: Option<String>,
    /// Accepted, kept, not used (webhooks replace the notification service).
    #[serde(default)]
    pub callback_alias: Option<String>,
    /// Beacon kinds.
    pub supported_beacon_types: Vec<BeaconType>,
    /// Accepted, kept.
    #[serde(default)]
    pub require_payment_before_checkin: Option<bool>,
}

/// `{posId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePosResponse {
    pub pos_id: String,
}

/// `GET /pos/v10/pointofsales/{posid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PosResponse {
    pub pos_id: String,
    pub merchant_pos_id: String,
    pub store_id: String,
    pub name: String,
    pub beacon_id: String,
    pub callback_alias: Option<String>,
    pub supported_beacon_types: Vec<BeaconType>,
    pub require_payment_before_checkin: bool,
}

/// `{posIds}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PosIdsResponse {
    pub pos_ids: Vec<String>,
}

/// `GET /pos/v10/pointofsales/{posid}/checkin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCheckInResponse {
    pub is_user_checked_in: bool,
    pub loyalty_ids: Option<Vec<String>>,
    pub poll_delay_in_ms: i32,
    pub customer_token: Option<String>,
    pub customer_receipt_token: Option<String>,
}

/// A store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreResponse {
    pub store_name: String,
    pub store_id: String,
    pub store_street: String,
    pub store_zip_code: String,
    pub store_city: String,
    pub brand_name: String,
    pub merchant_brand_id: String,
    pub merchant_location_id: String,
}

/// `{storeIds}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreIdsResponse {
    pub store_ids: Vec<String>,
}

/// A refund's state: v10's whole set, of which an ePayment refund reaches three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(dead_code, reason = "v10's set is written whole; ePayment refunds never reach some states")]
pub enum RefundState {
    /// Sent, not yet confirmed.
    Initiated,
    /// Never: an ePayment refund is done in one step.
    Reserved,
    /// Done.
    Captured,
    /// Never: an ePayment refund cannot be cancelled.
    CancelledByClient,
    /// The platform refused it.
    CancelledByMobilePay,
    /// Never.
    ExpiredAndCaptured,
}

/// `POST /pos/v10/refunds`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRefundRequest {
    pub payment_id: String,
    pub refund_order_id: String,
    pub amount: serde_json::Number,
    pub currency_code: CurrencyCode,
}

/// `{refundId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRefundResponse {
    pub refund_id: String,
}

/// `GET /pos/v10/refunds/{refundid}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetRefundResponse {
    pub refund_id: String,
    pub payment_id: String,
    pub refund_order_id: String,
    pub amount: f64,
    pub currency_code: CurrencyCode,
    pub status: RefundState,
    pub poll_delay_in_ms: i32,
}

/// `{refundIds}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryRefundIdsResponse {
    pub refund_ids: Vec<String>,
}

/// The user simulation's bodies (`checkin`, `acceptpayment`, `cancelpaymentbyuser`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSimulationRequest {
    /// The beacon of the point of sale.
    pub beacon_id: String,
    /// The customer (not in `cancelpaymentbyuser`).
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// `POST /integrator-authentication/connect/token`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    pub token_type: &'static str,
    pub scope: &'static str,
}
