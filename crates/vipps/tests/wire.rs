//! The platform's own JSON, read into the hand-written types of `kasse-vipps` and written back.
//!
//! Every JSON literal here is transcribed from the official specifications and the documentation
//! examples quoted in `reference/vipps-apis.md` (its §0 table names the sources):
//! the Access Token API v2.0.0 (S6, `access-token-api/swagger.yaml` and its README example);
//! the ePayment API v1.4.1 (S1, `vipps-epayment-api/epayment.v1.yml`) with the guide's examples
//! (S2, S9) and the newer live fields (S10: the SDK types generated from the live specs, Nov 2024);
//! the Order Management API `Receipt` of tag 2.3.24 (S12), which S1 references for `receipt`;
//! the Webhooks API v1 (S5, `webhooks-api/swagger.yaml`); and the QR API (S3,
//! `vipps-qr-api/swagger.yaml`) with its `user.checked-in.v1` event (reference §6.4). Where the
//! spec gives a field an example, that example is used; the few values it does not give are
//! marked as ours.
//!
//! For every request and response: a documented example parses and writes back the same JSON;
//! a [`Schema`] table, transcribed from the spec, lists the fields it requires and the optional
//! ones kasse types, and a fully populated example must carry exactly those names, fail to parse
//! without any required one, and parse without any optional one, which is then left out. Each enum
//! accepts exactly the spec's spellings, and no response refuses a field it does not know.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "helpers of a test fail it by panicking")]

use std::collections::BTreeSet;
use std::fmt::Debug;

use chrono::{DateTime, SecondsFormat, Utc};
use kasse_vipps::epayment::{
    BarcodeFormat, CancelModificationRequest, CaptureModificationRequest, CreatePaymentRequest,
    CreatePaymentResponse, Currency, Customer, CustomerInteraction, ForceApprove, GetPaymentResponse,
    ModificationResponse, PaymentEvent, PaymentEventName, PaymentMethodType, QrImageFormat, QuantityUnit,
    Receipt, RefundModificationRequest, State, UserFlow, WebhookEvent,
};
use kasse_vipps::problem::Problem;
use kasse_vipps::qr::{
    self, ConflictResponse, CustomerExchangeRequest, CustomerExchangeResponse, ExchangeCustomer,
    MerchantCallbackMobilePayPutRequest, MerchantCallbackPutRequest, MerchantCallbackQr,
    MerchantRedirectQrRequest, MerchantRedirectQrResponse, MerchantRedirectQrUpdateRequest, QrErrorResponse,
    QrExchangeErrorResponse, QrExchangeRequest, QrExchangeResponse, RedirectQrFormat, RequestedData,
};
use kasse_vipps::token::AuthorizationTokenResponse;
use kasse_vipps::webhooks::{self, QueryResponse, RegisterRequest, RegisterResponse, UserCheckedIn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/// Parses `wire` as a `T`, writes it back, and insists on the same JSON; returns the parsed value.
///
/// Date-times compare as instants: the platform writes .NET's seven fractional digits
/// (`10:51:44.5333258Z`), chrono writes nine.
fn round_trip<T: Serialize + DeserializeOwned>(wire: &Value) -> T {
    let parsed: T =
        serde_json::from_value(wire.clone()).unwrap_or_else(|e| panic!("does not parse: {e}\n{wire:#}"));
    let written = serde_json::to_value(&parsed).unwrap();
    assert_eq!(as_instants(written), as_instants(wire.clone()), "written back differently");
    parsed
}

/// `value` with every RFC 3339 string rewritten to one canonical form of its instant.
fn as_instants(value: Value) -> Value {
    match value {
        Value::String(s) => match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Value::String(t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Nanos, true)),
            Err(_) => Value::String(s),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(as_instants).collect()),
        Value::Object(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, as_instants(v))).collect())
        }
        other => other,
    }
}

/// `wire` without its field `name`.
fn without(wire: &Value, name: &str) -> Value {
    let mut wire = wire.clone();
    wire.as_object_mut().expect("an object").remove(name);
    wire
}

/// `wire` with one more field, `name`.
fn with(wire: &Value, name: &str, value: Value) -> Value {
    let mut wire = wire.clone();
    wire.as_object_mut().expect("an object").insert(name.to_owned(), value);
    wire
}

/// One object schema of a spec: the fields it requires, and the optional fields kasse types.
struct Schema {
    /// The spec's name for it, with the source key of the reference.
    name: &'static str,
    /// The spec's `required` list.
    required: &'static [&'static str],
    /// The spec's other properties that our type carries.
    optional: &'static [&'static str],
}

impl Schema {
    /// The field names a fully populated value carries.
    fn names(&self) -> BTreeSet<&'static str> {
        self.required.iter().chain(self.optional).copied().collect()
    }

    /// Checks `full`, an example with every field of the schema set, against the type `T`.
    ///
    /// It must carry exactly the schema's names and round-trip (so a misspelled field in `T` is
    /// dropped and fails); it must fail to parse without any required field; and without any
    /// optional field it must parse and write that field nowhere.
    fn check<T: Serialize + DeserializeOwned>(&self, full: &Value) {
        let name = self.name;
        let given: BTreeSet<&str> = full.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(given, self.names(), "{name}: the example is not fully populated");
        round_trip::<T>(full);
        for field in self.required {
            let result = serde_json::from_value::<T>(without(full, field));
            assert!(result.is_err(), "{name} parses without its required `{field}`");
        }
        for field in self.optional {
            let wire = without(full, field);
            let parsed: T = serde_json::from_value(wire.clone())
                .unwrap_or_else(|e| panic!("{name} does not parse without its optional `{field}`: {e}"));
            let written = serde_json::to_value(&parsed).unwrap();
            assert_eq!(
                as_instants(written),
                as_instants(wire),
                "{name}: `{field}` is not left out when None"
            );
        }
    }

    /// Checks only the names `value` writes: for lenient types, which parse without any field.
    fn check_written<T: Serialize>(&self, value: &T) {
        let written = serde_json::to_value(value).unwrap();
        let names: BTreeSet<&str> =
            written.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(names, self.names(), "{}: the fields written differ from the spec's", self.name);
    }
}

/// Checks that the enum `T` accepts exactly `spellings`, writes each back as it came, and refuses
/// a made-up value and a lower-cased real one. Exactly: serde's refusal lists every spelling `T`
/// knows, and that list must be the spec's.
fn accepts_exactly<T: Serialize + DeserializeOwned + Debug>(spellings: &[&str]) {
    for spelling in spellings {
        let value: T =
            serde_json::from_value(json!(spelling)).unwrap_or_else(|e| panic!("`{spelling}`: {e}"));
        assert_eq!(serde_json::to_value(&value).unwrap(), json!(spelling));
    }
    let refusal = serde_json::from_value::<T>(json!("MADE_UP")).unwrap_err().to_string();
    // "unknown variant `MADE_UP`, expected one of `A`, `B`, `C`": every second quoted word from the second.
    let known: BTreeSet<&str> = refusal.split('`').skip(3).step_by(2).collect();
    assert_eq!(known, spellings.iter().copied().collect(), "{refusal}");
    let lower = spellings[0].to_lowercase();
    assert!(serde_json::from_value::<T>(json!(lower)).is_err(), "`{lower}` is accepted");
}

// ------------------------------------------------------------------------------------------------
// Access Token API v2.0.0 (S6)
// ------------------------------------------------------------------------------------------------

/// `AuthorizationTokenResponse`: every field required, every field a string.
const AUTHORIZATION_TOKEN_RESPONSE: Schema = Schema {
    name: "AuthorizationTokenResponse (S6)",
    required: &[
        "token_type",
        "expires_in",
        "ext_expires_in",
        "expires_on",
        "not_before",
        "resource",
        "access_token",
    ],
    optional: &[],
};

/// The README's example answer of `POST /accesstoken/get` (reference §2).
fn token_answer() -> Value {
    json!({
        "token_type": "Bearer",
        "expires_in": "86398",
        "ext_expires_in": "0",
        "expires_on": "1495271273",
        "not_before": "1495184574",
        "resource": "00000002-0000-0000-c000-000000000000",
        "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1Ni <truncated>"
    })
}

#[test]
fn the_access_token_answer_of_the_readme_round_trips_with_every_required_field() {
    let token: AuthorizationTokenResponse = round_trip(&token_answer());
    assert_eq!(token.lifetime_secs(), Some(86_398));
    AUTHORIZATION_TOKEN_RESPONSE.check::<AuthorizationTokenResponse>(&token_answer());
}

// ------------------------------------------------------------------------------------------------
// ePayment API v1.4.1 (S1): create
// ------------------------------------------------------------------------------------------------

/// `CreatePaymentRequest` (S1), plus `minimumUserAge` of the live API (S10).
const CREATE_PAYMENT_REQUEST: Schema = Schema {
    name: "CreatePaymentRequest (S1, S10)",
    required: &["amount", "paymentMethod", "reference", "userFlow"],
    optional: &[
        "customer",
        "minimumUserAge",
        "customerInteraction",
        "industryData",
        "profile",
        "returnUrl",
        "expiresAt",
        "qrFormat",
        "paymentDescription",
        "receipt",
        "metadata",
        "receiptUrl",
    ],
};
/// `Amount` (S1).
const AMOUNT: Schema = Schema { name: "Amount (S1)", required: &["currency", "value"], optional: &[] };
/// `PaymentMethod` (S1).
const PAYMENT_METHOD: Schema = Schema { name: "PaymentMethod (S1)", required: &["type"], optional: &[] };
/// `ProfileRequest` (S1).
const PROFILE_REQUEST: Schema = Schema { name: "ProfileRequest (S1)", required: &[], optional: &["scope"] };
/// The inline `qrFormat` object of `CreatePaymentRequest` (S1).
const QR_FORMAT: Schema = Schema { name: "qrFormat (S1)", required: &["format"], optional: &["size"] };
/// `IndustryData` (S1).
const INDUSTRY_DATA: Schema = Schema { name: "IndustryData (S1)", required: &[], optional: &["airlineData"] };
/// `AirlineData` (S1).
const AIRLINE_DATA: Schema = Schema {
    name: "AirlineData (S1)",
    required: &["agencyInvoiceNumber", "airlineCode", "airlineDesignatorCode", "passengerName"],
    optional: &["ticketNumber"],
};
/// `Receipt` (S12).
const RECEIPT: Schema =
    Schema { name: "Receipt (S12)", required: &["orderLines", "bottomLine"], optional: &[] };
/// `OrderLine` (S12, with S10's `taxRate`). S12 requires `taxPercentage`; the live API wants
/// `taxRate` or `taxPercentage`, which `Receipt` checks (see the test on VAT below).
const ORDER_LINE: Schema = Schema {
    name: "OrderLine (S12, S10)",
    required: &["name", "id", "totalAmount", "totalAmountExcludingTax", "totalTaxAmount"],
    optional: &["taxPercentage", "taxRate", "unitInfo", "discount", "productUrl", "isReturn", "isShipping"],
};
/// `UnitInfo` (S12): `unitPrice` is required and nullable.
const UNIT_INFO: Schema =
    Schema { name: "UnitInfo (S12)", required: &["unitPrice", "quantity"], optional: &["quantityUnit"] };
/// `BottomLine` (S12), without its deprecated fields.
const BOTTOM_LINE: Schema = Schema {
    name: "BottomLine (S12)",
    required: &["currency"],
    optional: &["tipAmount", "posId", "paymentSources", "barcode", "receiptNumber"],
};
/// `PaymentSources` (S12).
const PAYMENT_SOURCES: Schema = Schema {
    name: "PaymentSources (S12)",
    required: &[],
    optional: &["giftCard", "card", "voucher", "cash"],
};
/// `Barcode` (S12).
const BARCODE: Schema = Schema { name: "Barcode (S12)", required: &["format", "data"], optional: &[] };

/// The `ReceiptExample` of S12, with `taxRate` (S10) beside `taxPercentage` so that every field is set.
fn receipt_example() -> Value {
    json!({
        "orderLines": [{
            "name": "socks",
            "id": "1234567890",
            "totalAmount": 1000,
            "totalAmountExcludingTax": 800,
            "totalTaxAmount": 250,
            "taxPercentage": 25,
            "taxRate": 2500,
            "unitInfo": { "unitPrice": 0, "quantity": "0.822", "quantityUnit": "PCS" },
            "discount": 0,
            "productUrl": "https://example.com/store/socks",
            "isReturn": false,
            "isShipping": false
        }],
        "bottomLine": {
            "tipAmount": 0,
            "currency": "NOK",
            "posId": "string",
            "paymentSources": { "giftCard": 0, "card": 0, "voucher": 0, "cash": 0 },
            "barcode": { "format": "EAN-13", "data": "123456" },
            "receiptNumber": "1234567"
        }
    })
}

/// A create request with every field at once, whatever the flow, each from its example in S1 (the
/// description, `minimumUserAge` and `agencyInvoiceNumber` are ours: S1 gives no example).
fn full_create_request() -> Value {
    json!({
        "amount": { "currency": "NOK", "value": 49900 },
        "customer": { "phoneNumber": "4791234567" },
        "minimumUserAge": 18,
        "customerInteraction": "CUSTOMER_NOT_PRESENT",
        "industryData": {
            "airlineData": {
                "agencyInvoiceNumber": "123456",
                "airlineCode": "074",
                "airlineDesignatorCode": "KL",
                "passengerName": "FLYER / MARY MS.",
                "ticketNumber": "123-1234567890"
            }
        },
        "paymentMethod": { "type": "WALLET" },
        "profile": { "scope": "name phoneNumber" },
        "reference": "acme-shop-123-order123abc",
        "returnUrl": "https://example.com/redirect?orderId=acme-shop-123-order123abc",
        "userFlow": "NATIVE_REDIRECT",
        "expiresAt": "2023-02-26T17:32:28Z",
        "qrFormat": { "format": "IMAGE/SVG+XML", "size": 1024 },
        "paymentDescription": "One pair of socks",
        "receipt": receipt_example(),
        "metadata": { "key1": "value1", "key2": "value2", "key3": "value3" },
        "receiptUrl": "https://example.com/receipt/9876543210"
    })
}

#[test]
fn the_till_create_request_of_the_reference_round_trips_with_its_receipt() {
    // Reference §3.2: S2 create.md, trimmed, with customerInteraction added per S9.
    let wire = json!({
        "amount": { "currency": "NOK", "value": 6000 },
        "customer": { "phoneNumber": "4791234567" },
        "customerInteraction": "CUSTOMER_PRESENT",
        "paymentMethod": { "type": "WALLET" },
        "reference": "acme-shop-123-1234589",
        "paymentDescription": "Invoice# 424243",
        "userFlow": "PUSH_MESSAGE",
        "receipt": {
            "orderLines": [{ "name": "Socks", "id": "line_item_1", "totalAmount": 6000,
                "totalAmountExcludingTax": 4800, "totalTaxAmount": 1200, "taxPercentage": 25 }],
            "bottomLine": { "currency": "NOK", "posId": "pos_122", "receiptNumber": "0527013501" }
        }
    });
    let request: CreatePaymentRequest = round_trip(&wire);
    assert_eq!(request.customer, Some(Customer::phone_number("4791234567")));
    assert_eq!(request.user_flow, UserFlow::PushMessage);
    let receipt = request.receipt.unwrap();
    assert_eq!(receipt.order_lines[0].total_tax_amount, 1200);
    assert_eq!(receipt.bottom_line.pos_id.as_deref(), Some("pos_122"));
}

#[test]
fn the_web_redirect_and_qr_create_requests_of_the_guide_round_trip() {
    // S9 operations.md.
    round_trip::<CreatePaymentRequest>(&json!({
        "amount": { "currency": "NOK", "value": 49900 },
        "paymentMethod": { "type": "WALLET" },
        "customer": { "phoneNumber": "4712345678" },
        "reference": "acme-shop-123-order123abc",
        "returnUrl": "https://example.com/redirect?reference=acme-shop-123-order123abc",
        "userFlow": "WEB_REDIRECT",
        "paymentDescription": "One pair of socks"
    }));
    let qr: CreatePaymentRequest = round_trip(&json!({
        "amount": { "currency": "NOK", "value": 49900 },
        "paymentMethod": { "type": "WALLET" },
        "reference": "acme-shop-123-order123abc",
        "userFlow": "QR",
        "qrFormat": { "format": "IMAGE/SVG+XML", "size": 1024 }
    }));
    assert_eq!(qr.qr_format.unwrap().size, Some(1024));
}

#[test]
fn a_create_request_with_every_field_carries_exactly_the_specs_names() {
    let full = full_create_request();
    CREATE_PAYMENT_REQUEST.check::<CreatePaymentRequest>(&full);
    AMOUNT.check::<kasse_vipps::Amount>(&full["amount"]);
    PAYMENT_METHOD.check::<kasse_vipps::epayment::PaymentMethod>(&full["paymentMethod"]);
    PROFILE_REQUEST.check::<kasse_vipps::epayment::ProfileRequest>(&full["profile"]);
    QR_FORMAT.check::<kasse_vipps::epayment::QrFormat>(&full["qrFormat"]);
    INDUSTRY_DATA.check::<kasse_vipps::epayment::IndustryData>(&full["industryData"]);
    AIRLINE_DATA.check::<kasse_vipps::epayment::AirlineData>(&full["industryData"]["airlineData"]);
}

#[test]
fn each_customer_identity_of_the_spec_round_trips_on_its_own() {
    // The examples of S1's three `oneOf` schemas.
    for (field, example) in [
        ("phoneNumber", "4791234567"),
        ("personalQr", "https://qr.vipps.no/28/2/01/031/4791234567?v=1"),
        ("customerToken", "ey%382jf8+qk3nnfdsao0i5jlalidugujnakgo9t8ghn"),
    ] {
        let customer: Customer = round_trip(&json!({ field: example }));
        let expected = match field {
            "phoneNumber" => Customer::phone_number(example),
            "personalQr" => Customer::personal_qr(example),
            _ => Customer::customer_token(example),
        };
        assert_eq!(customer, expected);
    }
    // Two identities parse, so that the platform's error can refuse them rather than serde's.
    let two: Customer =
        serde_json::from_value(json!({ "phoneNumber": "4791234567", "customerToken": "t" })).unwrap();
    assert!(two.phone_number.is_some() && two.customer_token.is_some());
}

#[test]
fn the_nullable_create_fields_accept_null_and_are_then_left_out() {
    let minimal = json!({
        "amount": { "currency": "NOK", "value": 100 },
        "paymentMethod": { "type": "WALLET" },
        "reference": "reference-string",
        "userFlow": "QR"
    });
    for field in ["minimumUserAge", "expiresAt", "qrFormat", "metadata", "receiptUrl"] {
        let request: CreatePaymentRequest =
            serde_json::from_value(with(&minimal, field, Value::Null)).unwrap();
        assert_eq!(serde_json::to_value(&request).unwrap(), minimal, "{field}");
    }
    let sized = with(&minimal, "qrFormat", json!({ "format": "IMAGE/PNG", "size": null }));
    let request: CreatePaymentRequest = serde_json::from_value(sized).unwrap();
    assert_eq!(serde_json::to_value(&request).unwrap()["qrFormat"], json!({ "format": "IMAGE/PNG" }));
}

#[test]
fn the_order_management_receipt_examples_round_trip_with_every_field() {
    let full = receipt_example();
    RECEIPT.check::<Receipt>(&full);
    ORDER_LINE.check::<kasse_vipps::epayment::OrderLine>(&full["orderLines"][0]);
    UNIT_INFO.check::<kasse_vipps::epayment::UnitInfo>(&full["orderLines"][0]["unitInfo"]);
    BOTTOM_LINE.check::<kasse_vipps::epayment::BottomLine>(&full["bottomLine"]);
    PAYMENT_SOURCES.check::<kasse_vipps::epayment::PaymentSources>(&full["bottomLine"]["paymentSources"]);
    BARCODE.check::<kasse_vipps::epayment::Barcode>(&full["bottomLine"]["barcode"]);

    // S12's `OrderLineExample` lines under its `BottomLineExample`.
    let receipt: Receipt = round_trip(&json!({
        "orderLines": [
            { "name": "socks", "id": "line_item_1", "totalAmount": 1000, "totalAmountExcludingTax": 800,
              "totalTaxAmount": 200, "taxPercentage": 25,
              "unitInfo": { "unitPrice": 400, "quantity": "2.5", "quantityUnit": "KG" },
              "discount": 0, "productUrl": "https://example.com/store/socks" },
            { "name": "flip-flops", "id": "line_item_2", "totalAmount": 5000, "totalAmountExcludingTax": 4000,
              "totalTaxAmount": 1000, "taxPercentage": 25,
              "unitInfo": { "unitPrice": 2500, "quantity": "3", "quantityUnit": "PCS" },
              "discount": 2500, "productUrl": "https://example.com/store/flipflops" }
        ],
        "bottomLine": {
            "currency": "NOK", "tipAmount": 0, "posId": "vipps_pos_122",
            "paymentSources": { "card": 100, "giftCard": 50 },
            "barcode": { "format": "EAN-13", "data": "123456" },
            "receiptNumber": "1234567"
        }
    }));
    assert_eq!(receipt.order_lines[1].unit_info.as_ref().unwrap().quantity_unit, Some(QuantityUnit::Pcs));
}

#[test]
fn an_order_line_names_its_vat_as_tax_rate_or_tax_percentage_but_never_neither() {
    let line = json!({ "name": "Kaffe", "id": "sku-1", "totalAmount": 451,
        "totalAmountExcludingTax": 359, "totalTaxAmount": 92 });
    let receipt = |line: Value| json!({ "orderLines": [line], "bottomLine": { "currency": "EUR" } });

    // Finland's 25.5 % VAT can only be said as a rate in hundredths of a percent (S10).
    let finnish: Receipt = round_trip(&receipt(with(&line, "taxRate", json!(2550))));
    assert_eq!(finnish.order_lines[0].tax_rate, Some(2550));
    round_trip::<Receipt>(&receipt(with(&line, "taxPercentage", json!(25))));
    assert!(serde_json::from_value::<Receipt>(receipt(line)).is_err());
}

#[test]
fn a_unit_price_may_be_null_but_not_missing() {
    let info: kasse_vipps::epayment::UnitInfo = round_trip(&json!({ "unitPrice": null, "quantity": "2" }));
    assert_eq!(info.unit_price, None);
    assert!(serde_json::from_value::<kasse_vipps::epayment::UnitInfo>(json!({ "quantity": "2" })).is_err());
}

#[test]
fn the_deprecated_bottom_line_fields_are_read_and_dropped() {
    let wire = json!({ "currency": "NOK", "totalAmount": 1000, "totalTax": 200, "totalDiscount": 0,
        "giftCardAmount": 0, "shippingAmount": 0, "terminalId": "till-1",
        "shippingInfo": { "amount": 0, "amountExcludingTax": 0, "taxAmount": 0, "taxPercentage": 25 } });
    let bottom: kasse_vipps::epayment::BottomLine = serde_json::from_value(wire).unwrap();
    assert_eq!(serde_json::to_value(&bottom).unwrap(), json!({ "currency": "NOK" }));
}

/// `CreatePaymentResponse` (S1).
const CREATE_PAYMENT_RESPONSE: Schema =
    Schema { name: "CreatePaymentResponse (S1)", required: &["reference"], optional: &["redirectUrl"] };

#[test]
fn the_four_create_answers_of_the_spec_round_trip() {
    // S1 `responses.CreatePaymentResponse.examples`: UrlRedirect, QrImageUrl, NativeRedirect, PushFlow.
    for wire in [
        json!({ "redirectUrl": "https://landing.vipps.no?token=eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1Ni",
                "reference": "acme-shop-123-order123abc" }),
        json!({ "redirectUrl": "https://qr-image.vipps.no/v1?token=eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1Ni",
                "reference": "acme-shop-123-order123abc" }),
        json!({ "redirectUrl": "vipps://token=abc123", "reference": "racme-shop-123-order123abc" }),
    ] {
        CREATE_PAYMENT_RESPONSE.check::<CreatePaymentResponse>(&wire);
    }
    let push: CreatePaymentResponse = round_trip(&json!({ "reference": "acme-shop-123-order123abc" }));
    assert_eq!(push.redirect_url, None);
}

// ------------------------------------------------------------------------------------------------
// ePayment API v1.4.1 (S1): get, event log
// ------------------------------------------------------------------------------------------------

/// `GetPaymentResponse` (S1).
const GET_PAYMENT_RESPONSE: Schema = Schema {
    name: "GetPaymentResponse (S1)",
    required: &["aggregate", "amount", "state", "paymentMethod", "profile", "pspReference", "reference"],
    optional: &["redirectUrl", "metadata"],
};
/// `Aggregate` (S1).
const AGGREGATE: Schema = Schema {
    name: "Aggregate (S1)",
    required: &["authorizedAmount", "cancelledAmount", "capturedAmount", "refundedAmount"],
    optional: &[],
};
/// `PaymentMethodResponse` (S1).
const PAYMENT_METHOD_RESPONSE: Schema =
    Schema { name: "PaymentMethodResponse (S1)", required: &["type"], optional: &["cardBin"] };
/// `ProfileResponse` (S1).
const PROFILE_RESPONSE: Schema = Schema { name: "ProfileResponse (S1)", required: &[], optional: &["sub"] };

/// The get-payment answer of the guide (reference §3.5, S2 get_info.md).
fn get_payment_answer() -> Value {
    json!({
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
    })
}

#[test]
fn the_get_payment_answer_of_the_guide_round_trips() {
    let payment: GetPaymentResponse = round_trip(&get_payment_answer());
    assert_eq!(payment.state, State::Authorized);
    assert_eq!(payment.aggregate.cancelled_amount.value, 49_900);
    assert_eq!(payment.profile.sub, None);
}

#[test]
fn a_get_payment_answer_with_every_field_carries_exactly_the_specs_names() {
    // The guide's answer, with S1's examples of the optional fields (the `sub` is ours).
    let mut full = get_payment_answer();
    full["paymentMethod"] = json!({ "type": "CARD", "cardBin": "540185" });
    full["profile"] = json!({ "sub": "c06c4afe-d9e1-4c5d-939a-177d752a0944" });
    full["redirectUrl"] = json!("https://landing.vipps.no?token=abc123");
    full["metadata"] = json!({ "key1": "value1", "key2": "value2", "key3": "value3" });
    GET_PAYMENT_RESPONSE.check::<GetPaymentResponse>(&full);
    AGGREGATE.check::<kasse_vipps::epayment::Aggregate>(&full["aggregate"]);
    PAYMENT_METHOD_RESPONSE.check::<kasse_vipps::epayment::PaymentMethodResponse>(&full["paymentMethod"]);
    PROFILE_RESPONSE.check::<kasse_vipps::epayment::ProfileResponse>(&full["profile"]);
}

/// `PaymentEvent` (S1). S1's `required` names a stale `paymentAction` instead of `name`
/// (reference §3.6); every logged event has a name, so ours requires `name`.
const PAYMENT_EVENT: Schema = Schema {
    name: "PaymentEvent (S1)",
    required: &["reference", "pspReference", "name", "amount", "timestamp", "success"],
    optional: &["idempotencyKey"],
};

/// The event log of the guide (reference §3.6, S2 get_event_log.md).
fn event_log() -> Value {
    json!([
        { "reference": "acme-shop-123-order123abc", "pspReference": "83b3fdb0-9547-4ec5-bdb7-5600ce70e792",
          "name": "CREATED", "amount": { "currency": "NOK", "value": 49900 },
          "timestamp": "2023-03-27T10:51:44.5333258Z",
          "idempotencyKey": "19986263-dedf-4b8e-a424-8d042eee4013", "success": true },
        { "reference": "acme-shop-123-order123abc", "pspReference": "1304787731",
          "name": "AUTHORIZED", "amount": { "currency": "NOK", "value": 49900 },
          "timestamp": "2023-03-27T10:51:59.378Z",
          "idempotencyKey": "19986263-dedf-4b8e-a424-8d042eee4013", "success": true },
        { "reference": "acme-shop-123-order123abc", "pspReference": "2018200034",
          "name": "CAPTURED", "amount": { "currency": "NOK", "value": 10000 },
          "timestamp": "2023-03-27T10:52:07.748Z",
          "idempotencyKey": "19986263-dedf-4b8e-a424-8d042eee4013", "success": true },
        { "reference": "acme-shop-123-order123abc", "pspReference": "2019200034",
          "name": "CANCELLED", "amount": { "currency": "NOK", "value": 750 },
          "timestamp": "2023-03-27T10:52:15.616Z", "success": true }
    ])
}

#[test]
fn the_event_log_of_the_guide_round_trips_with_its_seven_digit_timestamps() {
    let log: Vec<PaymentEvent> = round_trip(&event_log());
    let names: Vec<_> = log.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            PaymentEventName::Created,
            PaymentEventName::Authorized,
            PaymentEventName::Captured,
            PaymentEventName::Cancelled
        ]
    );
    assert_eq!(log[0].timestamp.timestamp_subsec_nanos(), 533_325_800);
    assert_eq!(log[3].idempotency_key, None);
    PAYMENT_EVENT.check::<PaymentEvent>(&event_log()[0]);
}

#[test]
fn an_idempotency_key_may_be_null_or_absent() {
    let cancelled = &event_log()[3];
    let with_null: PaymentEvent =
        serde_json::from_value(with(cancelled, "idempotencyKey", Value::Null)).unwrap();
    assert_eq!(with_null.idempotency_key, None);
    assert_eq!(serde_json::to_value(&with_null).unwrap(), *cancelled);
}

// ------------------------------------------------------------------------------------------------
// ePayment API v1.4.1 (S1): capture, refund, cancel, force approve
// ------------------------------------------------------------------------------------------------

/// `CaptureModificationRequest` and `RefundModificationRequest` (S1): the same shape.
const MODIFICATION_REQUEST: Schema = Schema {
    name: "CaptureModificationRequest / RefundModificationRequest (S1)",
    required: &["modificationAmount"],
    optional: &[],
};
/// `CancelModificationRequest` (S10; newer than S1, whose cancel has no body).
const CANCEL_MODIFICATION_REQUEST: Schema =
    Schema { name: "CancelModificationRequest (S10)", required: &[], optional: &["cancelTransactionOnly"] };
/// `ModificationResponse` (S1).
const MODIFICATION_RESPONSE: Schema = Schema {
    name: "ModificationResponse (S1)",
    required: &["amount", "state", "aggregate", "pspReference", "reference"],
    optional: &[],
};
/// `ForceApprove` (S1): a customer or a token.
const FORCE_APPROVE: Schema =
    Schema { name: "ForceApprove (S1)", required: &[], optional: &["customer", "token"] };

#[test]
fn the_capture_and_refund_bodies_of_the_guide_round_trip() {
    // Reference §3.7.
    let wire = json!({ "modificationAmount": { "currency": "NOK", "value": 49900 } });
    let capture: CaptureModificationRequest = round_trip(&wire);
    let refund: RefundModificationRequest = round_trip(&wire);
    assert_eq!(capture, refund);
    MODIFICATION_REQUEST.check::<CaptureModificationRequest>(&wire);
}

#[test]
fn the_cancel_body_is_optional_and_may_ask_to_cancel_only_an_unapproved_payment() {
    let only: CancelModificationRequest = round_trip(&json!({ "cancelTransactionOnly": true }));
    assert_eq!(only.cancel_transaction_only, Some(true));
    assert_eq!(round_trip::<CancelModificationRequest>(&json!({})), CancelModificationRequest::default());
    CANCEL_MODIFICATION_REQUEST
        .check::<CancelModificationRequest>(&json!({ "cancelTransactionOnly": false }));
}

#[test]
fn the_cancel_answer_of_the_guide_round_trips() {
    // Reference §3.7, S2 cancel.md: cancelled before approval.
    let wire = json!({
        "amount": { "currency": "NOK", "value": 1000 },
        "state": "TERMINATED",
        "aggregate": {
            "authorizedAmount": { "currency": "NOK", "value": 0 },
            "cancelledAmount": { "currency": "NOK", "value": 1000 },
            "capturedAmount": { "currency": "NOK", "value": 0 },
            "refundedAmount": { "currency": "NOK", "value": 0 }
        },
        "pspReference": "70b6ebe0-b400-4652-a3ea-70645e025035",
        "reference": "UNIQUE-PAYMENT-REFERENCE"
    });
    let answer: ModificationResponse = round_trip(&wire);
    assert_eq!(answer.state, State::Terminated);
    MODIFICATION_RESPONSE.check::<ModificationResponse>(&wire);
}

#[test]
fn both_force_approve_bodies_of_the_guide_round_trip() {
    // Reference §3.14 (the token is ours: it comes from a `redirectUrl`).
    let by_customer: ForceApprove = round_trip(&json!({ "customer": { "phoneNumber": "4712345678" } }));
    assert_eq!(by_customer.customer, Some(Customer::phone_number("4712345678")));
    let by_token: ForceApprove = round_trip(&json!({ "token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1Ni" }));
    assert_eq!(by_token.customer, None);
    FORCE_APPROVE.check::<ForceApprove>(
        &json!({ "customer": { "personalQr": "https://qr.vipps.no/28/2/01/031/4791234567?v=1" },
        "token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1Ni" }),
    );
}

// ------------------------------------------------------------------------------------------------
// ePayment webhooks (S1 `WebhookEvent`, S5 events.md)
// ------------------------------------------------------------------------------------------------

/// `WebhookEvent` (S1).
const WEBHOOK_EVENT: Schema = Schema {
    name: "WebhookEvent (S1)",
    required: &["msn", "reference", "pspReference", "name", "amount", "timestamp", "success"],
    optional: &["idempotencyKey"],
};

/// The AUTHORIZED webhook of the guide (reference §4, S9).
fn authorized_webhook() -> Value {
    json!({
        "msn": "123456",
        "reference": "acme-shop-123-order123abc",
        "pspReference": "dd8e0a8e-2b26-40ed-98f1-1d5832fc129f",
        "name": "AUTHORIZED",
        "amount": { "currency": "NOK", "value": 49900 },
        "timestamp": "2026-01-19T16:26:32.099Z",
        "idempotencyKey": "7c8b81e7-b08b-46e4-9729-191cb801c132",
        "success": true
    })
}

#[test]
fn the_authorized_webhook_of_the_guide_round_trips_and_so_does_every_other_name() {
    let event: WebhookEvent = round_trip(&authorized_webhook());
    assert_eq!(event.name.webhook_event_type(), "epayments.payment.authorized.v1");
    WEBHOOK_EVENT.check::<WebhookEvent>(&authorized_webhook());
    for name in PaymentEventName::ALL {
        let wire = with(&authorized_webhook(), "name", serde_json::to_value(name).unwrap());
        assert_eq!(round_trip::<WebhookEvent>(&wire).name, name);
    }
}

#[test]
fn the_webhook_event_types_are_the_eight_of_the_events_table() {
    // Reference §4 (S5 events.md).
    let types: Vec<_> = webhooks::epayment_event_types().collect();
    assert_eq!(
        types,
        [
            "epayments.payment.created.v1",
            "epayments.payment.aborted.v1",
            "epayments.payment.expired.v1",
            "epayments.payment.cancelled.v1",
            "epayments.payment.captured.v1",
            "epayments.payment.refunded.v1",
            "epayments.payment.authorized.v1",
            "epayments.payment.terminated.v1",
        ]
    );
}

// ------------------------------------------------------------------------------------------------
// Errors: ePayment `Problem` (S1, S10) and Webhooks `ProblemDetails` (S5)
// ------------------------------------------------------------------------------------------------

/// Every name a fully populated [`Problem`] writes: S1's required four, the live `instance` and
/// `extraDetails` (shared with S5's `ProblemDetails`, where all are optional), and the QR API's
/// `invalidParams`. Reading is lenient on purpose (a gateway's 429 may carry none of them), so
/// only what we write is checked.
const PROBLEM: Schema = Schema {
    name: "Problem (S1, S10) / ProblemDetails (S5)",
    required: &["type", "title", "status", "traceId"],
    optional: &["detail", "instance", "extraDetails", "invalidParams"],
};

#[test]
fn the_documented_epayment_errors_round_trip() {
    // Reference §3.12: a domain error, and a validation error (its trace id is the first one's).
    let domain: Problem = round_trip(&json!({
        "type": "https://httpstatuses.io/400",
        "title": "Cannot capture before reservation",
        "detail": "The amount you tried to capture is not reserved. The user must accept the payment before capture can be done.",
        "instance": "/v1/payments/577531734343670112/capture",
        "status": 400,
        "extraDetails": [{ "name": "ErrorCode", "reason": "6080" }],
        "traceId": "00-813b63975adcaaeef2b0ec7c103c40e3-706492e906541d31-01"
    }));
    assert_eq!(domain.error_code(), Some(6080));
    let validation: Problem = round_trip(&json!({
        "type": "https://httpstatuses.io/400",
        "title": "Bad Request",
        "status": 400,
        "detail": "See extraDetails for further details",
        "instance": "/v1/payments",
        "traceId": "00-813b63975adcaaeef2b0ec7c103c40e3-706492e906541d31-01",
        "extraDetails": [{ "name": "reference",
            "reason": "The field Reference must match the regular expression '^[a-zA-Z0-9-]{8,64}$'." }]
    }));
    assert_eq!(validation.field_errors().count(), 1);
}

#[test]
fn the_webhooks_problem_details_round_trip_and_may_be_all_null() {
    // S5 `ProblemDetails`, from the examples of its fields.
    let problem: Problem = round_trip(&json!({
        "type": "00-bb841c551513e233de8a01472013fa9f-542c71e40916a6ce-00",
        "title": "Bad Request",
        "status": 400,
        "detail": "One or more validation errors occurred.",
        "instance": "/v1/webhooks",
        "traceId": "00-bb841c551513e233de8a01472013fa9f-542c71e40916a6ce-00",
        "extraDetails": [{ "name": "url", "reason": "The property is required and cannot be null or empty." }]
    }));
    assert_eq!(problem.field_errors().next().unwrap().name, "url");
    let nulls: Problem = serde_json::from_value(json!({ "type": null, "title": null, "status": null,
        "detail": null, "instance": null, "traceId": null, "extraDetails": null }))
    .unwrap();
    assert_eq!(nulls, Problem::default());
}

#[test]
fn a_problem_with_every_field_writes_exactly_the_specs_names() {
    let full: Problem = serde_json::from_value(json!({
        "type": "https://httpstatuses.io/400", "title": "Bad Request", "status": 400, "traceId": "00-1-2-01",
        "detail": "d", "instance": "/v1/payments", "extraDetails": [], "invalidParams": []
    }))
    .unwrap();
    PROBLEM.check_written(&full);
}

// ------------------------------------------------------------------------------------------------
// Webhooks API v1 (S5)
// ------------------------------------------------------------------------------------------------

/// `RegisterRequest` (S5).
const REGISTER_REQUEST: Schema =
    Schema { name: "RegisterRequest (S5)", required: &["url", "events"], optional: &[] };
/// `RegisterResponse` (S5).
const REGISTER_RESPONSE: Schema =
    Schema { name: "RegisterResponse (S5)", required: &["id", "secret"], optional: &[] };
/// `Webhook` (S5).
const WEBHOOK: Schema = Schema { name: "Webhook (S5)", required: &["id", "url", "events"], optional: &[] };
/// `QueryResponse` (S5).
const QUERY_RESPONSE: Schema = Schema { name: "QueryResponse (S5)", required: &["webhooks"], optional: &[] };

/// A registration answer: S5's example secret, and an id of ours (S5 gives none).
fn register_answer() -> Value {
    json!({ "id": "5b1c3a2e-8f9d-4e6a-b7c0-1d2e3f4a5b6c", "secret": "090a478d-37ff-4e77-970e-d457aeb26a3a" })
}

/// A listing of one registration, with the examples of S5's `Webhook`.
fn webhook_listing() -> Value {
    json!({ "webhooks": [{
        "id": "5b1c3a2e-8f9d-4e6a-b7c0-1d2e3f4a5b6c",
        "url": "https://example.com/callbacks",
        "events": ["service.payment.captured.v1", "service.payment.created.v2"]
    }] })
}

#[test]
fn the_webhook_registration_examples_of_the_spec_round_trip() {
    let request = json!({
        "url": "https://example.com/webhook-callback",
        "events": ["epayments.payment.captured.v1", "epayments.payment.created.v1"]
    });
    let typed: RegisterRequest = round_trip(&request);
    assert_eq!(typed.events.len(), 2);
    REGISTER_REQUEST.check::<RegisterRequest>(&request);
    REGISTER_RESPONSE.check::<RegisterResponse>(&register_answer());
}

#[test]
fn the_webhook_listing_round_trips() {
    let listing: QueryResponse = round_trip(&webhook_listing());
    assert_eq!(listing.webhooks[0].url, "https://example.com/callbacks");
    QUERY_RESPONSE.check::<QueryResponse>(&webhook_listing());
    WEBHOOK.check::<kasse_vipps::webhooks::Webhook>(&webhook_listing()["webhooks"][0]);
    round_trip::<QueryResponse>(&json!({ "webhooks": [] }));
}

// ------------------------------------------------------------------------------------------------
// QR API (S3) and the user.checked-in.v1 event
// ------------------------------------------------------------------------------------------------

/// `MerchantRedirectQrRequest` (S3).
const MERCHANT_REDIRECT_QR_REQUEST: Schema =
    Schema { name: "MerchantRedirectQrRequest (S3)", required: &["id", "redirectUrl"], optional: &["ttl"] };
/// `MerchantRedirectQrResponse` (S3).
const MERCHANT_REDIRECT_QR_RESPONSE: Schema = Schema {
    name: "MerchantRedirectQrResponse (S3)",
    required: &["id", "url", "redirectUrl"],
    optional: &["expiresIn"],
};
/// `MerchantRedirectQrUpdateRequest` (S3).
const MERCHANT_REDIRECT_QR_UPDATE_REQUEST: Schema =
    Schema { name: "MerchantRedirectQrUpdateRequest (S3)", required: &["redirectUrl"], optional: &[] };
/// The inline schema of S3's `409Conflict` response.
const CONFLICT_RESPONSE: Schema = Schema { name: "409Conflict (S3)", required: &[], optional: &["id"] };
/// `MerchantCallbackPutRequest` (S3), with the live API's `category` (May 2024; not in S3).
const MERCHANT_CALLBACK_PUT_REQUEST: Schema = Schema {
    name: "MerchantCallbackPutRequest (S3)",
    required: &["locationDescription"],
    optional: &["category"],
};
/// `MerchantCallbackMobilePayPutRequest` (S3).
const MERCHANT_CALLBACK_MOBILEPAY_PUT_REQUEST: Schema = Schema {
    name: "MerchantCallbackMobilePayPutRequest (S3)",
    required: &["locationDescription"],
    optional: &[],
};
/// `MerchantCallbackQr` (S3): it requires nothing.
const MERCHANT_CALLBACK_QR: Schema = Schema {
    name: "MerchantCallbackQr (S3)",
    required: &[],
    optional: &["merchantSerialNumber", "merchantQrId", "locationDescription", "qrImageUrl", "qrContent"],
};
/// `QrExchangeRequest` (S3).
const QR_EXCHANGE_REQUEST: Schema =
    Schema { name: "QrExchangeRequest (S3)", required: &["qrCode"], optional: &["requestedData"] };
/// `QrExchangeResponse` (S3).
const QR_EXCHANGE_RESPONSE: Schema =
    Schema { name: "QrExchangeResponse (S3)", required: &["msisdn", "version"], optional: &["timestamp"] };
/// The `customer` of `CustomerExchangeRequest` (S3).
const EXCHANGE_CUSTOMER: Schema =
    Schema { name: "CustomerExchangeRequest.customer (S3)", required: &[], optional: &["customerToken"] };
/// `CustomerExchangeResponse` (S3).
const CUSTOMER_EXCHANGE_RESPONSE: Schema =
    Schema { name: "CustomerExchangeResponse (S3)", required: &["msisdn"], optional: &["timestamp"] };
/// `QrErrorResponse` (S3).
const QR_ERROR_RESPONSE: Schema = Schema {
    name: "QrErrorResponse (S3)",
    required: &["title", "detail", "instance"],
    optional: &["type", "invalidParams"],
};
/// An item of `invalidParams` / `extraDetails` (S3).
const INVALID_PARAM: Schema =
    Schema { name: "invalidParams[] (S3)", required: &["name", "reason"], optional: &[] };
/// `QrExchangeErrorResponse` and the identical `CustomerExchangeErrorResponse` (S3).
const QR_EXCHANGE_ERROR_RESPONSE: Schema = Schema {
    name: "QrExchangeErrorResponse (S3)",
    required: &["title", "status", "detail"],
    optional: &["extraDetails"],
};
/// The body of `user.checked-in.v1` (reference §6.4): every field required.
const USER_CHECKED_IN: Schema = Schema {
    name: "user.checked-in.v1",
    required: &["customerToken", "merchantQrId", "msn", "initiatedAt"],
    optional: &[],
};

/// S3's `MerchantRedirectQrRequest`, from the examples of its fields.
fn redirect_qr_request() -> Value {
    json!({ "id": "billboard_1", "redirectUrl": "https://example.com/myProduct", "ttl": 600 })
}

/// S3's `MerchantRedirectQrResponse`, from the examples of its fields.
fn redirect_qr_response() -> Value {
    json!({
        "id": "billboard_1",
        "url": "https://qr.vipps.no/generate/qr.png?...",
        "redirectUrl": "https://example.com/myProduct",
        "expiresIn": 598
    })
}

/// S3's `MerchantCallbackQr` "Example 1".
fn callback_qr() -> Value {
    json!({
        "merchantSerialNumber": "12345",
        "merchantQrId": "27072f82-c4b6-49cd-9838-10f21d87496e",
        "locationDescription": "Kasse 1",
        "qrImageUrl": "https://qr.vipps.no/generate/qr.png?...",
        "qrContent": "https://qr.vipps.no/..."
    })
}

/// The documented `user.checked-in.v1` body (reference §6.4).
fn checked_in() -> Value {
    json!({
        "customerToken": "wbA8ceVRKkoYiQAVELHeFCC3Sn5dtNCvvEtVPiOT77j6wx7uR965AG6Q+q0ATP4=",
        "merchantQrId": "d8b7d76d-49aa-48b8-90c6-38779372c163",
        "msn": "12345",
        "initiatedAt": "2023-10-06T10:45:40.3061965Z"
    })
}

/// S3's `QrErrorResponse` "Validation error" example.
fn qr_validation_error() -> Value {
    json!({
        "type": "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1",
        "title": "One or more validation errors occurred.",
        "detail": "BadRequest",
        "instance": "00-616e415f5af7584eb4d9369d0fe8d7cc-48b90041faff204c-00",
        "invalidParams": [{
            "name": "RedirectUrl",
            "reason": "The field RedirectUrl must match the regular expression '^https://[\\w\\.]+([\\w#!:.?+=&%@\\-/]+)?$'."
        }]
    })
}

/// S3's `QrExchangeErrorResponse` example.
fn exchange_error() -> Value {
    json!({
        "title": "Bad request",
        "status": 400,
        "detail": "The request body contains one or more invalid parameters.",
        "extraDetails": [{ "name": "qrCode", "reason": "The complete data contained in the QR code is required." }]
    })
}

#[test]
fn the_redirect_qr_bodies_of_the_spec_round_trip_with_exactly_its_fields() {
    let request: MerchantRedirectQrRequest = round_trip(&redirect_qr_request());
    assert_eq!((request.id.as_str(), request.ttl), ("billboard_1", Some(600)));
    MERCHANT_REDIRECT_QR_REQUEST.check::<MerchantRedirectQrRequest>(&redirect_qr_request());

    let response: MerchantRedirectQrResponse = round_trip(&redirect_qr_response());
    assert_eq!(response.expires_in, Some(598));
    MERCHANT_REDIRECT_QR_RESPONSE.check::<MerchantRedirectQrResponse>(&redirect_qr_response());
    // The listing is an array of them; -1 is "never expires".
    let never = with(&redirect_qr_response(), "expiresIn", json!(-1));
    let listing: Vec<MerchantRedirectQrResponse> = round_trip(&json!([never]));
    assert_eq!(listing[0].expires_in, Some(qr::NEVER_EXPIRES));

    let update = json!({ "redirectUrl": "https://example.com/myProduct" });
    let typed: MerchantRedirectQrUpdateRequest = round_trip(&update);
    assert_eq!(typed.redirect_url, "https://example.com/myProduct");
    MERCHANT_REDIRECT_QR_UPDATE_REQUEST.check::<MerchantRedirectQrUpdateRequest>(&update);

    // S3 gives the 409 body a schema but no example: the id is ours.
    let conflict = json!({ "id": "billboard_1" });
    assert_eq!(round_trip::<ConflictResponse>(&conflict).id.as_deref(), Some("billboard_1"));
    CONFLICT_RESPONSE.check::<ConflictResponse>(&conflict);
}

#[test]
fn the_callback_qr_bodies_of_the_spec_round_trip_with_exactly_its_fields() {
    let put = json!({ "locationDescription": "Kasse 1" });
    assert_eq!(round_trip::<MerchantCallbackPutRequest>(&put), MerchantCallbackPutRequest::at("Kasse 1"));
    // `category`'s values are not published: this one is ours.
    MERCHANT_CALLBACK_PUT_REQUEST.check::<MerchantCallbackPutRequest>(&with(
        &put,
        "category",
        json!("PARKING"),
    ));
    let migration: MerchantCallbackMobilePayPutRequest = round_trip(&put);
    assert_eq!(migration.location_description, "Kasse 1");
    MERCHANT_CALLBACK_MOBILEPAY_PUT_REQUEST.check::<MerchantCallbackMobilePayPutRequest>(&put);

    let qr: MerchantCallbackQr = round_trip(&callback_qr());
    assert_eq!(qr.merchant_qr_id.as_deref(), Some("27072f82-c4b6-49cd-9838-10f21d87496e"));
    MERCHANT_CALLBACK_QR.check::<MerchantCallbackQr>(&callback_qr());
    let listing: Vec<MerchantCallbackQr> = round_trip(&json!([callback_qr()]));
    assert_eq!(listing.len(), 1);
}

#[test]
fn the_exchange_bodies_of_the_spec_round_trip_with_exactly_its_fields() {
    let bare: QrExchangeRequest =
        round_trip(&json!({ "qrCode": "https://qr.vipps.no/p/qwjhewqhueheuqwhuqwhe" }));
    assert_eq!(bare.requested_data, None);
    let asked =
        json!({ "qrCode": "https://qr.vipps.no/p/qwjhewqhueheuqwhuqwhe", "requestedData": ["MSISDN"] });
    assert_eq!(
        round_trip::<QrExchangeRequest>(&asked),
        QrExchangeRequest::msisdn("https://qr.vipps.no/p/qwjhewqhueheuqwhuqwhe")
    );
    QR_EXCHANGE_REQUEST.check::<QrExchangeRequest>(&asked);

    let v2 = json!({ "msisdn": "4798765432", "timestamp": 1_634_025_600, "version": "2.0" });
    let typed: QrExchangeResponse = round_trip(&v2);
    assert_eq!((typed.msisdn.as_str(), typed.timestamp), ("4798765432", Some(1_634_025_600)));
    assert_eq!(
        round_trip::<QrExchangeResponse>(&json!({ "msisdn": "4798765432", "version": "1.0" })).timestamp,
        None
    );
    QR_EXCHANGE_RESPONSE.check::<QrExchangeResponse>(&v2);

    let customer = json!({ "customer": { "customerToken": "eyJra" }, "requestedData": ["MSISDN"] });
    assert_eq!(round_trip::<CustomerExchangeRequest>(&customer), CustomerExchangeRequest::msisdn("eyJra"));
    EXCHANGE_CUSTOMER.check::<ExchangeCustomer>(&customer["customer"]);
    let answer = json!({ "msisdn": "4798765432", "timestamp": 1_634_025_600 });
    assert_eq!(round_trip::<CustomerExchangeResponse>(&answer).timestamp, Some(1_634_025_600));
    CUSTOMER_EXCHANGE_RESPONSE.check::<CustomerExchangeResponse>(&answer);
}

#[test]
fn a_customer_exchange_needs_its_customer_and_reads_a_missing_requested_data_as_msisdn() {
    // S3 requires both fields, but gives `requestedData` a default: the type fills it in rather
    // than refuse a body the platform would take, and always writes it.
    let customer = json!({ "customer": { "customerToken": "eyJra" }, "requestedData": ["MSISDN"] });
    assert!(serde_json::from_value::<CustomerExchangeRequest>(without(&customer, "customer")).is_err());
    let lenient: CustomerExchangeRequest =
        serde_json::from_value(without(&customer, "requestedData")).unwrap();
    assert_eq!(lenient.requested_data, [RequestedData::Msisdn]);
    assert_eq!(serde_json::to_value(&lenient).unwrap(), customer);
}

#[test]
fn the_qr_error_bodies_of_the_spec_round_trip_with_exactly_its_fields() {
    let typed: QrErrorResponse = round_trip(&qr_validation_error());
    assert_eq!(typed.invalid_params.as_ref().unwrap()[0].name, "RedirectUrl");
    QR_ERROR_RESPONSE.check::<QrErrorResponse>(&qr_validation_error());
    INVALID_PARAM.check::<qr::InvalidParam>(&qr_validation_error()["invalidParams"][0]);
    for example in [
        json!({ "title": "Order timeout", "detail": "Payment has already timed out",
            "instance": "3cff3564-4a14-4481-8dbb-431087753eed" }),
        json!({ "title": "Validation error", "detail": "Supplied landing page token is not valid",
            "instance": "3cff3564-4a14-4481-8dbb-431087753eed" }),
    ] {
        assert_eq!(round_trip::<QrErrorResponse>(&example).kind, None);
    }

    let exchange: QrExchangeErrorResponse = round_trip(&exchange_error());
    assert_eq!(exchange.status, 400);
    QR_EXCHANGE_ERROR_RESPONSE.check::<QrExchangeErrorResponse>(&exchange_error());
    let missing_customer = json!({ "title": "Bad request", "status": 400,
        "detail": "The request body contains one or more invalid parameters.",
        "extraDetails": [{ "name": "customer", "reason": "Customer object is required." }] });
    assert_eq!(
        round_trip::<QrExchangeErrorResponse>(&missing_customer).extra_details.unwrap()[0].name,
        "customer"
    );

    // The client reads both as its lenient problem, field errors included.
    for body in [qr_validation_error(), exchange_error()] {
        let problem: Problem = serde_json::from_value(body).unwrap();
        assert_eq!(problem.field_errors().count(), 1);
    }
}

#[test]
fn the_documented_check_in_round_trips_and_needs_every_field() {
    let event: UserCheckedIn = round_trip(&checked_in());
    assert_eq!(
        (event.msn.as_str(), event.merchant_qr_id.as_str()),
        ("12345", "d8b7d76d-49aa-48b8-90c6-38779372c163")
    );
    assert_eq!(event.initiated_at, "2023-10-06T10:45:40.3061965Z", "the platform's seven digits, as sent");
    USER_CHECKED_IN.check::<UserCheckedIn>(&checked_in());
    // Before its rename (about January 2024) `msn` was `merchantSerialNumber`: that is not read.
    let old = with(&without(&checked_in(), "msn"), "merchantSerialNumber", json!("12345"));
    assert!(serde_json::from_value::<UserCheckedIn>(old).is_err());
}

// ------------------------------------------------------------------------------------------------
// Every response: enums and fields from the future
// ------------------------------------------------------------------------------------------------

#[test]
fn each_enum_accepts_exactly_the_specs_spellings() {
    accepts_exactly::<Currency>(&["NOK", "DKK", "EUR"]);
    accepts_exactly::<CustomerInteraction>(&["CUSTOMER_PRESENT", "CUSTOMER_NOT_PRESENT"]);
    accepts_exactly::<PaymentMethodType>(&["WALLET", "CARD"]);
    accepts_exactly::<UserFlow>(&["PUSH_MESSAGE", "NATIVE_REDIRECT", "WEB_REDIRECT", "QR"]);
    accepts_exactly::<QrImageFormat>(&["TEXT/TARGETURL", "IMAGE/SVG+XML", "IMAGE/PNG"]);
    accepts_exactly::<State>(&["CREATED", "ABORTED", "EXPIRED", "AUTHORIZED", "TERMINATED"]);
    accepts_exactly::<PaymentEventName>(&[
        "CREATED",
        "ABORTED",
        "EXPIRED",
        "CANCELLED",
        "CAPTURED",
        "REFUNDED",
        "AUTHORIZED",
        "TERMINATED",
    ]);
    accepts_exactly::<QuantityUnit>(&["PCS", "KG", "KM", "MINUTE", "LITRE", "KWH"]);
    accepts_exactly::<BarcodeFormat>(&["EAN-13", "CODE 39", "CODE 128"]);
    // The QR API's: the callback image query, the exchange's data, and the redirect QR's Accept
    // header (first the one with capitals, whose lower-case spelling must be refused).
    accepts_exactly::<qr::QrImageFormat>(&["PNG", "SVG"]);
    accepts_exactly::<RequestedData>(&["MSISDN"]);
    accepts_exactly::<RedirectQrFormat>(&["text/targetUrl", "image/*", "image/png", "image/svg+xml"]);
    for format in RedirectQrFormat::ALL {
        assert_eq!(json!(format.accept()), serde_json::to_value(format).unwrap(), "the header is the JSON");
    }
}

#[test]
fn no_response_refuses_a_field_it_does_not_know() {
    let future = json!({ "nested": [1, "two"], "flag": true });
    let grow = |wire: Value| with(&wire, "aFieldFromTheFuture", future.clone());

    serde_json::from_value::<AuthorizationTokenResponse>(grow(token_answer())).unwrap();
    serde_json::from_value::<CreatePaymentResponse>(grow(
        json!({ "reference": "acme-shop-123-order123abc" }),
    ))
    .unwrap();
    serde_json::from_value::<GetPaymentResponse>(grow(get_payment_answer())).unwrap();
    serde_json::from_value::<Vec<PaymentEvent>>(json!([grow(event_log()[0].clone())])).unwrap();
    serde_json::from_value::<WebhookEvent>(grow(authorized_webhook())).unwrap();
    serde_json::from_value::<RegisterResponse>(grow(register_answer())).unwrap();
    serde_json::from_value::<QueryResponse>(grow(webhook_listing())).unwrap();
    serde_json::from_value::<Problem>(grow(json!({ "title": "Bad Request" }))).unwrap();
    serde_json::from_value::<MerchantRedirectQrResponse>(grow(redirect_qr_response())).unwrap();
    serde_json::from_value::<MerchantCallbackQr>(grow(callback_qr())).unwrap();
    serde_json::from_value::<ConflictResponse>(grow(json!({ "id": "billboard_1" }))).unwrap();
    serde_json::from_value::<QrExchangeResponse>(grow(json!({ "msisdn": "4798765432", "version": "1.0" })))
        .unwrap();
    serde_json::from_value::<CustomerExchangeResponse>(grow(json!({ "msisdn": "4798765432" }))).unwrap();
    serde_json::from_value::<QrErrorResponse>(grow(qr_validation_error())).unwrap();
    serde_json::from_value::<QrExchangeErrorResponse>(grow(exchange_error())).unwrap();
    serde_json::from_value::<UserCheckedIn>(grow(checked_in())).unwrap();

    // The live API's newer fields (reference §3.5, §4), in shapes of our own: none is typed.
    let mut newer = get_payment_answer();
    newer["captureGuaranteedUntil"] = json!("2026-09-01T00:00:00Z");
    newer["userDetails"] = json!({ "firstName": "Kari", "lastName": "Nordmann" });
    newer["shippingDetails"] = json!({ "shippingMethodId": "pickup" });
    newer["profile"] = json!({ "sub": "c06c4afe-d9e1-4c5d-939a-177d752a0944", "more": 1 });
    serde_json::from_value::<GetPaymentResponse>(newer).unwrap();
    let mut authorized = authorized_webhook();
    authorized["captureGuaranteedUntil"] = json!("2026-09-01T00:00:00Z");
    authorized["profile"] = json!({ "sub": "c06c4afe-d9e1-4c5d-939a-177d752a0944" });
    serde_json::from_value::<WebhookEvent>(authorized).unwrap();
}
