//! ePayment API v1 wire types, written from `vipps-epayment-api/epayment.v1.yml` (v1.4.1), the
//! `Receipt` of the Order Management API it points to (tag 2.3.24), and the newer live-API fields
//! listed in reference/vipps-apis.md §3 that kasse uses: `cancelTransactionOnly`,
//! `minimumUserAge`, and the order line's `taxRate`.
//!
//! Field names, required fields and enum spellings follow the spec exactly: optional fields are
//! `Option` and left out of the JSON when `None`, required ones are plain fields, so a missing
//! required field fails to parse. Unknown fields are ignored, never refused, so a response that
//! grows a field (`captureGuaranteedUntil`, `userDetails`, …) still parses.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

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

/// `industryData` of a create request: compliance data some industries must send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndustryData {
    /// Airline ticket data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub airline_data: Option<AirlineData>,
}

/// `industryData.airlineData`: never sent by a till, typed so that the schema is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AirlineData {
    /// The agency's invoice number, 1 ..= 6 characters.
    pub agency_invoice_number: String,
    /// IATA three-digit accounting code, e.g. `074`.
    pub airline_code: String,
    /// IATA two-letter airline code, e.g. `KL`.
    pub airline_designator_code: String,
    /// Passenger name, initials and title, e.g. `FLYER / MARY MS.`.
    pub passenger_name: String,
    /// The ticket's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_number: Option<String>,
}

/// `POST /epayment/v1/payments` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentRequest {
    /// What to charge.
    pub amount: Amount,
    /// Who pays, when known (required for `PUSH_MESSAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// The customer must be at least this old, in years; a younger one is refused (error 7010).
    /// Newer than v1.4.1 (live since November 2024): for age-restricted goods at the till.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_user_age: Option<u32>,
    /// `CUSTOMER_PRESENT` for every in-store payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_interaction: Option<CustomerInteraction>,
    /// Compliance data of some industries (airlines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry_data: Option<IndustryData>,
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
    /// The order lines with their VAT, shown in the app; required with `expiresAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
    /// Up to five string pairs echoed back by the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Where a receipt can be viewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
}

/// `receipt` of a create request: the Order Management API's `Receipt` (tag 2.3.24), the order
/// lines and their VAT as the customer sees them in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// One line per product; every line names its VAT (`taxRate` or `taxPercentage`).
    #[serde(deserialize_with = "order_lines_with_tax")]
    pub order_lines: Vec<OrderLine>,
    /// The totals line.
    pub bottom_line: BottomLine,
}

/// Reads `orderLines`, refusing a line that names neither `taxRate` nor `taxPercentage`: the live
/// API needs one of the two, where the 2.3.24 schema required `taxPercentage` alone.
fn order_lines_with_tax<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<OrderLine>, D::Error> {
    let lines = Vec::<OrderLine>::deserialize(deserializer)?;
    match lines.iter().find(|line| line.tax_rate.is_none() && line.tax_percentage.is_none()) {
        Some(line) => {
            Err(D::Error::custom(format!("order line `{}` has neither taxRate nor taxPercentage", line.id)))
        }
        None => Ok(lines),
    }
}

/// One line of a [`Receipt`]. Amounts are minor units of the bottom line's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The product's name.
    pub name: String,
    /// The product's (or line's) id.
    pub id: String,
    /// The line's total, VAT and discount included.
    pub total_amount: i64,
    /// The line's total after discount, VAT excluded.
    pub total_amount_excluding_tax: i64,
    /// The line's VAT.
    pub total_tax_amount: i64,
    /// The VAT rate in whole percent, 0 ..= 100. Deprecated by the platform in favour of
    /// `taxRate`, and unable to say 25.5 % (Finland): kasse sends `taxRate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_percentage: Option<u8>,
    /// The VAT rate in hundredths of a percent, 0 ..= 10000: `2500` is 25 %, `2550` is 25.5 %.
    /// Newer than the 2.3.24 schema (live since August 2024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<u16>,
    /// Unit price and quantity; without it the line is one piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_info: Option<UnitInfo>,
    /// The line's total discount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<i64>,
    /// A link to the product at the merchant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_url: Option<String>,
    /// A returned item: it counts negative towards the totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_return: Option<bool>,
    /// A shipping line, shown differently in the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_shipping: Option<bool>,
}

/// `unitInfo` of an [`OrderLine`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitInfo {
    /// Price per unit, VAT included, discount excluded. Required but nullable in the spec: the
    /// field must be there, `null` included.
    #[serde(deserialize_with = "Option::deserialize")]
    pub unit_price: Option<i64>,
    /// The quantity as a decimal string, `^\d+([\.]\d{1,8})?$`, e.g. `"2"` or `"0.822"`.
    pub quantity: String,
    /// The unit of `quantity`; pieces when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_unit: Option<QuantityUnit>,
}

/// `unitInfo.quantityUnit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QuantityUnit {
    /// Pieces (the default).
    Pcs,
    /// Kilograms.
    Kg,
    /// Kilometres.
    Km,
    /// Minutes.
    Minute,
    /// Litres.
    Litre,
    /// Kilowatt-hours.
    Kwh,
}

/// `bottomLine` of a [`Receipt`]. The schema's deprecated fields (`totalAmount`, `totalTax`,
/// `totalDiscount`, `giftCardAmount`, `shippingAmount`, `shippingInfo`, `terminalId`) are not
/// typed: the platform computes the totals from the lines, and such fields are ignored on reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BottomLine {
    /// The receipt's currency. Nullable in the spec, but a receipt always has one here.
    pub currency: Currency,
    /// A tip on top of the lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_amount: Option<i64>,
    /// The till's device id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_id: Option<String>,
    /// How much was paid by which other means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_sources: Option<PaymentSources>,
    /// A barcode shown with the receipt (e.g. for returns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<Barcode>,
    /// The till's receipt number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_number: Option<String>,
}

/// `bottomLine.paymentSources`: amounts paid by each means, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSources {
    /// By gift card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card: Option<i64>,
    /// By card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<i64>,
    /// By voucher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher: Option<i64>,
    /// In cash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash: Option<i64>,
}

/// `bottomLine.barcode`. Both fields are required (and nullable in the spec; a barcode without
/// format or data says nothing, so here they are plain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barcode {
    /// The symbology.
    pub format: BarcodeFormat,
    /// The encoded content.
    pub data: String,
}

/// `barcode.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BarcodeFormat {
    /// EAN-13.
    #[serde(rename = "EAN-13")]
    Ean13,
    /// Code 39.
    #[serde(rename = "CODE 39")]
    Code39,
    /// Code 128.
    #[serde(rename = "CODE 128")]
    Code128,
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
///
/// The live API's newer fields (`captureGuaranteedUntil`, `userDetails`, `shippingDetails`) are
/// not typed: kasse captures right after approval and asks for no profile, so it never needs
/// them, and unknown fields are ignored on reading.
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
    /// What happened. Required here although v1.4.1 lists a stale `paymentAction` as required
    /// instead: every event the platform sends has a name.
    pub name: PaymentEventName,
    /// The amount it concerned.
    pub amount: Amount,
    /// When.
    pub timestamp: DateTime<Utc>,
    /// The idempotency key of the request that caused it, if any (absent on `CANCELLED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// The idempotency key of the request that caused it, if any (absent on `CANCELLED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    //! Behaviour of these types. The wire examples of the spec are in `tests/wire.rs`.

    use super::*;
    use serde_json::json;

    #[test]
    fn a_qr_payment_asks_for_the_target_url_as_text() {
        let req = CreatePaymentRequest {
            amount: Amount::new(12_350, Currency::Nok),
            customer: None,
            minimum_user_age: None,
            customer_interaction: Some(CustomerInteraction::CustomerPresent),
            industry_data: None,
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
    fn every_state_but_created_is_final() {
        assert!(!State::Created.is_final());
        for state in [State::Aborted, State::Expired, State::Authorized, State::Terminated] {
            assert!(state.is_final(), "{state:?}");
        }
    }

    #[test]
    fn each_event_name_has_its_own_webhook_event_type() {
        let types: std::collections::BTreeSet<_> =
            PaymentEventName::ALL.iter().map(|name| name.webhook_event_type()).collect();
        assert_eq!(types.len(), PaymentEventName::ALL.len());
        assert_eq!(PaymentEventName::Captured.webhook_event_type(), "epayments.payment.captured.v1");
    }

    #[test]
    fn an_empty_aggregate_is_zero_in_the_payments_currency() {
        let zero = Aggregate::zero(Currency::Dkk);
        assert_eq!(zero.refunded_amount, Amount::new(0, Currency::Dkk));
    }
}
