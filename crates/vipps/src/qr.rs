//! QR API wire types (`vipps-qr-api/swagger.yaml`): merchant redirect QRs, merchant callback QRs,
//! the MobilePay beacon migration and the personal-QR exchange.
//!
//! Written by hand from the spec, with its names, its required fields (plain types) and its optional
//! ones (`Option`, left out when `None`). Two things look odd and are the spec's, not ours: every
//! field of [`MerchantCallbackQr`] is optional, and so is the `id` of the 409 body. A redirect QR's
//! image format travels in the `Accept` header ([`RedirectQrFormat`]), a callback QR's in the query
//! ([`CallbackQrImage`]). Errors are [`QrErrorResponse`], except on the exchange endpoints, which
//! answer [`QrExchangeErrorResponse`]; the client reads both into the lenient
//! [`Problem`](crate::Problem).

use serde::{Deserialize, Serialize};

/// `expiresIn` of a redirect QR that never expires.
pub const NEVER_EXPIRES: i64 = -1;

/// The shortest `ttl` of a redirect QR, in seconds.
pub const MIN_TTL_SECS: i64 = 300;

/// The longest `ttl` of a redirect QR, in seconds (`i32::MAX`).
pub const MAX_TTL_SECS: i64 = 2_147_483_647;

/// The longest `locationDescription` of a callback QR, in characters.
pub const MAX_LOCATION_DESCRIPTION: usize = 36;

/// The smallest and largest PNG edge the `Size` header and `qrImageSize` query allow, in pixels.
pub const IMAGE_SIZES: std::ops::RangeInclusive<u32> = 100..=2000;

/// The `Accept` header of the redirect-QR endpoints: which image the answer's `url` links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RedirectQrFormat {
    /// `image/*`: any image, which the platform answers with SVG.
    #[serde(rename = "image/*")]
    AnyImage,
    /// `image/png`: a PNG, sized by the `Size` header.
    #[serde(rename = "image/png")]
    Png,
    /// `image/svg+xml`: an SVG.
    #[serde(rename = "image/svg+xml")]
    Svg,
    /// `text/targetUrl`: no image; `url` is the text the QR code encodes, for drawing it ourselves.
    #[serde(rename = "text/targetUrl")]
    TargetUrl,
}

impl RedirectQrFormat {
    /// Every value the spec allows.
    pub const ALL: [Self; 4] = [Self::AnyImage, Self::Png, Self::Svg, Self::TargetUrl];

    /// The header value.
    pub fn accept(self) -> &'static str {
        match self {
            Self::AnyImage => "image/*",
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
            Self::TargetUrl => "text/targetUrl",
        }
    }

    /// Reads an `Accept` header. Media types are case-insensitive (RFC 9110), so
    /// `text/targeturl` is accepted too; anything outside the spec's four values is `None`.
    pub fn from_accept(value: &str) -> Option<Self> {
        let value = value.trim();
        Self::ALL.into_iter().find(|f| f.accept().eq_ignore_ascii_case(value))
    }
}

/// `POST /qr/v1/merchant-redirect` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantRedirectQrRequest {
    /// The merchant's id for the QR: 1 to 128 characters of `^[-_+%æøåÆØÅ\w\s]*$`, e.g.
    /// `billboard_1`.
    pub id: String,
    /// Where a scan leads: `https://`, matching `^https:\/\/[\w\.]+([\w#!:.?+=&%@\-\/]+)?$`.
    pub redirect_url: String,
    /// Seconds until the QR is deleted for good, 300 to 2147483647; none means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

/// A merchant redirect QR, as every redirect-QR endpoint answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantRedirectQrResponse {
    /// The merchant's id for the QR.
    pub id: String,
    /// A link to the QR image (no authentication needed), or with `Accept: text/targetUrl` the
    /// text the QR code encodes.
    pub url: String,
    /// Where a scan leads.
    pub redirect_url: String,
    /// Seconds until the QR expires; [`NEVER_EXPIRES`] (-1) for a QR without `ttl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

/// `PUT /qr/v1/merchant-redirect/{id}` body (`MerchantRedirectQrUpdateRequest`): a new target.
/// The printed code stays the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantRedirectQrUpdateRequest {
    /// Where a scan leads from now on.
    pub redirect_url: String,
}

/// The 409 body of `POST /qr/v1/merchant-redirect` (a QR with this id exists) and of the
/// MobilePay migration (the beacon belongs to another sales unit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictResponse {
    /// The id in conflict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `PUT /qr/v1/merchant-callback/{merchantQrId}` body: create the callback QR, or change where it
/// says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantCallbackPutRequest {
    /// Shown in the app after a scan, at most 36 characters, e.g. `Kasse 1`.
    pub location_description: String,
    /// The kind of place (added to the live API in May 2024; its values are not published, so
    /// it is free text here and not in the spec file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl MerchantCallbackPutRequest {
    /// A request with only a location description.
    pub fn at(location_description: impl Into<String>) -> Self {
        Self { location_description: location_description.into(), category: None }
    }
}

/// `PUT /qr/v1/merchant-callback/mobilepay/{beaconId}` body: takes a printed MobilePay PoS beacon
/// over as a callback QR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantCallbackMobilePayPutRequest {
    /// The old PoS name, at most 36 characters; shown in the app after a scan.
    pub location_description: String,
}

/// A merchant callback QR. The spec marks none of its fields required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantCallbackQr {
    /// The sales unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_serial_number: Option<String>,
    /// The merchant's id for the QR, sent back in `user.checked-in.v1` (the beaconId for
    /// migrated MobilePay QRs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_qr_id: Option<String>,
    /// Shown in the app after a scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_description: Option<String>,
    /// A link to the QR image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_image_url: Option<String>,
    /// The text the QR code encodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_content: Option<String>,
}

/// The `QrImageFormat` query parameter of the callback-QR reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QrImageFormat {
    /// A PNG, sized by `QrImageSize`.
    Png,
    /// An SVG (the default).
    #[default]
    Svg,
}

impl QrImageFormat {
    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Png => "PNG",
            Self::Svg => "SVG",
        }
    }

    /// Reads a query value, case-insensitively.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Png, Self::Svg].into_iter().find(|f| f.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

/// Which image the `qrImageUrl` of a callback-QR read links to: the `QrImageFormat` and
/// `QrImageSize` query parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackQrImage {
    /// PNG or SVG (the default).
    pub format: QrImageFormat,
    /// The PNG's edge in pixels, 100 to 2000; ignored for SVG.
    pub size: Option<u32>,
}

impl CallbackQrImage {
    /// The query pairs, with the spec's parameter names.
    pub fn query(self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("QrImageFormat", self.format.as_str().to_owned())];
        if let Some(size) = self.size {
            pairs.push(("QrImageSize", size.to_string()));
        }
        pairs
    }
}

/// A data field the exchange endpoints can return. Only the phone number exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequestedData {
    /// The customer's phone number.
    #[serde(rename = "MSISDN")]
    Msisdn,
}

/// `POST /qr/v1/exchange` body: the scanned personal QR of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrExchangeRequest {
    /// The complete content of the scanned code, never parsed or shortened.
    pub qr_code: String,
    /// What to return; the platform's default is `["MSISDN"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_data: Option<Vec<RequestedData>>,
}

impl QrExchangeRequest {
    /// A request for the phone number behind `qr_code`.
    pub fn msisdn(qr_code: impl Into<String>) -> Self {
        Self { qr_code: qr_code.into(), requested_data: Some(vec![RequestedData::Msisdn]) }
    }
}

/// `POST /qr/v1/exchange` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrExchangeResponse {
    /// The customer's phone number, e.g. `4798765432`.
    pub msisdn: String,
    /// When the code was generated, in UTC seconds; only for version 2.0 codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The code's format version: `1.0` (clear text) or `2.0`.
    pub version: String,
}

/// The customer of a [`CustomerExchangeRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeCustomer {
    /// The token from a `user.checked-in.v1` event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_token: Option<String>,
}

/// `POST /qr/v1/exchange/customer` body: turns a check-in's customer token into data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerExchangeRequest {
    /// Whom to look up.
    pub customer: ExchangeCustomer,
    /// What to return. Required by the spec, which also gives it a default: read as `["MSISDN"]`
    /// when absent.
    #[serde(default = "msisdn_only")]
    pub requested_data: Vec<RequestedData>,
}

impl CustomerExchangeRequest {
    /// A request for the phone number of the customer who checked in with `customer_token`.
    pub fn msisdn(customer_token: impl Into<String>) -> Self {
        Self {
            customer: ExchangeCustomer { customer_token: Some(customer_token.into()) },
            requested_data: msisdn_only(),
        }
    }
}

fn msisdn_only() -> Vec<RequestedData> {
    vec![RequestedData::Msisdn]
}

/// `POST /qr/v1/exchange/customer` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerExchangeResponse {
    /// The customer's phone number.
    pub msisdn: String,
    /// A time in UTC seconds (for a check-in token, when the customer scanned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

/// One entry of `invalidParams` / `extraDetails`: a field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidParam {
    /// The field, e.g. `RedirectUrl`.
    pub name: String,
    /// Why it is invalid.
    pub reason: String,
}

/// The QR API's error body (redirect and callback QRs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrErrorResponse {
    /// A URI naming the problem type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A short summary.
    pub title: String,
    /// What happened this time.
    pub detail: String,
    /// An id of this occurrence (a W3C trace id on the platform).
    pub instance: String,
    /// The fields that failed validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_params: Option<Vec<InvalidParam>>,
}

/// The error body of the exchange endpoints (`QrExchangeErrorResponse`, and the identical
/// `CustomerExchangeErrorResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QrExchangeErrorResponse {
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// The fields that were wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_details: Option<Vec<InvalidParam>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    /// Parses `wire` as `T` and checks that writing it back gives the same JSON.
    fn round_trip<T: Serialize + DeserializeOwned>(wire: &str) -> T {
        let typed: T = serde_json::from_str(wire).unwrap();
        let again: Value = serde_json::to_value(&typed).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(wire).unwrap());
        typed
    }

    #[test]
    fn a_redirect_qr_request_round_trips_with_and_without_ttl() {
        let plain: MerchantRedirectQrRequest =
            round_trip(r#"{"id":"billboard_1","redirectUrl":"https://example.com/myProduct"}"#);
        assert_eq!(plain.ttl, None);
        let timed: MerchantRedirectQrRequest =
            round_trip(r#"{"id":"billboard_1","redirectUrl":"https://example.com/myProduct","ttl":600}"#);
        assert_eq!(timed.ttl, Some(600));
    }

    #[test]
    fn a_redirect_qr_response_reads_expires_in_minus_one_as_never() {
        let wire = r#"{"id":"billboard_1","url":"https://qr-generator-prod-app-service.azurewebsites.net/qr-generator/v1?token=eyJ",
            "redirectUrl":"https://example.com/myProduct","expiresIn":-1}"#;
        let response: MerchantRedirectQrResponse = round_trip(wire);
        assert_eq!(response.expires_in, Some(NEVER_EXPIRES));
        let without: MerchantRedirectQrResponse = round_trip(
            r#"{"id":"a","url":"https://qr.vipps.no/generate/qr.png?x","redirectUrl":"https://x.no"}"#,
        );
        assert_eq!(without.expires_in, None);
    }

    #[test]
    fn an_update_and_a_conflict_have_one_field_each() {
        let update: MerchantRedirectQrUpdateRequest =
            round_trip(r#"{"redirectUrl":"https://example.com/myProduct"}"#);
        assert_eq!(update.redirect_url, "https://example.com/myProduct");
        let conflict: ConflictResponse = round_trip(r#"{"id":"billboard_1"}"#);
        assert_eq!(conflict.id.as_deref(), Some("billboard_1"));
    }

    #[test]
    fn the_accept_values_are_the_specs_four_and_case_does_not_matter() {
        for format in RedirectQrFormat::ALL {
            assert_eq!(RedirectQrFormat::from_accept(format.accept()), Some(format));
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{}\"", format.accept()));
        }
        assert_eq!(RedirectQrFormat::from_accept(" TEXT/TARGETURL "), Some(RedirectQrFormat::TargetUrl));
        assert_eq!(RedirectQrFormat::from_accept("*/*"), None);
        assert_eq!(RedirectQrFormat::from_accept("application/json"), None);
    }

    #[test]
    fn the_documented_callback_qr_round_trips() {
        let wire = r#"{"merchantSerialNumber":"12345","merchantQrId":"27072f82-c4b6-49cd-9838-10f21d87496e",
            "locationDescription":"Kasse 1","qrImageUrl":"https://qr.vipps.no/generate/qr.png?...",
            "qrContent":"https://qr.vipps.no/..."}"#;
        let qr: MerchantCallbackQr = round_trip(wire);
        assert_eq!(qr.merchant_qr_id.as_deref(), Some("27072f82-c4b6-49cd-9838-10f21d87496e"));
        assert_eq!(qr.location_description.as_deref(), Some("Kasse 1"));
        let list: Vec<MerchantCallbackQr> = round_trip(&format!("[{wire}]"));
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn callback_puts_carry_the_location_description() {
        let put: MerchantCallbackPutRequest = round_trip(r#"{"locationDescription":"Kasse 1"}"#);
        assert_eq!(put, MerchantCallbackPutRequest::at("Kasse 1"));
        let with_category: MerchantCallbackPutRequest =
            round_trip(r#"{"locationDescription":"Kasse 1","category":"PARKING"}"#);
        assert_eq!(with_category.category.as_deref(), Some("PARKING"));
        let beacon: MerchantCallbackMobilePayPutRequest = round_trip(r#"{"locationDescription":"Kasse 1"}"#);
        assert_eq!(beacon.location_description, "Kasse 1");
    }

    #[test]
    fn the_callback_image_query_uses_the_specs_parameter_names() {
        assert_eq!(CallbackQrImage::default().query(), [("QrImageFormat", "SVG".to_owned())]);
        let png = CallbackQrImage { format: QrImageFormat::Png, size: Some(400) };
        assert_eq!(png.query(), [("QrImageFormat", "PNG".to_owned()), ("QrImageSize", "400".to_owned())]);
        assert_eq!(QrImageFormat::parse("png"), Some(QrImageFormat::Png));
        assert_eq!(QrImageFormat::parse("JPEG"), None);
    }

    #[test]
    fn the_documented_exchange_requests_and_answers_round_trip() {
        let bare: QrExchangeRequest =
            round_trip(r#"{"qrCode":"https://qr.vipps.no/p/qwjhewqhueheuqwhuqwhe"}"#);
        assert_eq!(bare.requested_data, None);
        let asked: QrExchangeRequest = round_trip(
            r#"{"qrCode":"https://qr.vipps.no/p/qwjhewqhueheuqwhuqwhe","requestedData":["MSISDN"]}"#,
        );
        assert_eq!(asked, QrExchangeRequest::msisdn("https://qr.vipps.no/p/qwjhewqhueheuqwhuqwhe"));

        let v2: QrExchangeResponse =
            round_trip(r#"{"msisdn":"4798765432","timestamp":1634025600,"version":"2.0"}"#);
        assert_eq!((v2.msisdn.as_str(), v2.timestamp), ("4798765432", Some(1_634_025_600)));
        let v1: QrExchangeResponse = round_trip(r#"{"msisdn":"4798765432","version":"1.0"}"#);
        assert_eq!(v1.timestamp, None);
    }

    #[test]
    fn the_documented_customer_exchange_round_trips_and_requested_data_defaults_to_msisdn() {
        let request: CustomerExchangeRequest =
            round_trip(r#"{"customer":{"customerToken":"eyJra"},"requestedData":["MSISDN"]}"#);
        assert_eq!(request, CustomerExchangeRequest::msisdn("eyJra"));
        let lenient: CustomerExchangeRequest =
            serde_json::from_str(r#"{"customer":{"customerToken":"t"}}"#).unwrap();
        assert_eq!(lenient.requested_data, [RequestedData::Msisdn]);
        let response: CustomerExchangeResponse =
            round_trip(r#"{"msisdn":"4798765432","timestamp":1634025600}"#);
        assert_eq!(response.timestamp, Some(1_634_025_600));
    }

    #[test]
    fn the_documented_error_bodies_round_trip_and_read_as_a_problem() {
        let qr = r#"{"type":"https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1",
            "title":"One or more validation errors occurred.","detail":"BadRequest",
            "instance":"00-616e415f5af7584eb4d9369d0fe8d7cc-48b90041faff204c-00",
            "invalidParams":[{"name":"RedirectUrl","reason":"The field RedirectUrl must match the regular expression '^https://[\\w\\.]+([\\w#!:.?+=&%@\\-/]+)?$'."}]}"#;
        let typed: QrErrorResponse = round_trip(qr);
        assert_eq!(typed.invalid_params.unwrap()[0].name, "RedirectUrl");
        let problem: crate::Problem = serde_json::from_str(qr).unwrap();
        assert_eq!(problem.field_errors().next().map(|d| d.name.as_str()), Some("RedirectUrl"));

        let plain: QrErrorResponse = round_trip(
            r#"{"title":"Order timeout","detail":"Payment has already timed out","instance":"3cff3564-4a14-4481-8dbb-431087753eed"}"#,
        );
        assert_eq!(plain.kind, None);

        let exchange = r#"{"title":"Bad request","status":400,"detail":"The request body contains one or more invalid parameters.",
            "extraDetails":[{"name":"qrCode","reason":"The complete data contained in the QR code is required."}]}"#;
        let typed: QrExchangeErrorResponse = round_trip(exchange);
        assert_eq!(typed.status, 400);
        let problem: crate::Problem = serde_json::from_str(exchange).unwrap();
        assert_eq!(problem.field_errors().next().map(|d| d.name.as_str()), Some("qrCode"));
    }
}
