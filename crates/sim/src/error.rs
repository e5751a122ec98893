//! The simulator's errors, answered as each platform API answers them. The ePayment API (and the
//! control API) answer `application/problem+json` with a `traceId`, the request path as
//! `instance`, and the numeric error code in `extraDetails`; the Access Token and Webhooks APIs
//! the same without error codes (and so does the Userinfo API, whose `UserinfoError` is much the
//! same); the QR API its own `QrErrorResponse`, or on the exchange endpoints
//! `QrExchangeErrorResponse`; the Check-in API its `ErrorResponse`, which has the shape of
//! `QrErrorResponse`. [`Api::of`] tells them apart by path.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kasse_vipps::problem::{ExtraDetail, Problem};
use kasse_vipps::qr::{InvalidParam, QrErrorResponse, QrExchangeErrorResponse};

/// A refusal, before it is turned into a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError {
    /// HTTP status.
    pub status: u16,
    /// The platform's title.
    pub title: String,
    /// A sentence about this occurrence.
    pub detail: String,
    /// The ePayment error code, for domain errors.
    pub code: Option<u32>,
    /// Field errors, for validation errors.
    pub fields: Vec<(String, String)>,
    /// The request path, filled in by the handler.
    pub instance: Option<String>,
}

impl SimError {
    /// A refusal without error code or field errors.
    fn plain(status: u16, title: &str, detail: &str) -> Self {
        Self {
            status,
            title: title.to_owned(),
            detail: detail.to_owned(),
            code: None,
            fields: Vec::new(),
            instance: None,
        }
    }

    /// A domain error with its numeric code.
    pub fn domain(status: u16, code: u32, title: &str, detail: &str) -> Self {
        Self { code: Some(code), ..Self::plain(status, title, detail) }
    }

    /// A field validation error.
    pub fn validation(field: &str, reason: &str) -> Self {
        Self {
            fields: vec![(field.to_owned(), reason.to_owned())],
            ..Self::plain(400, "Bad Request", "See extraDetails for further details")
        }
    }

    /// Validation errors of several fields at once, each with its reason.
    pub fn invalid_fields(fields: &[(&str, &str)]) -> Self {
        Self {
            fields: fields.iter().map(|(name, reason)| ((*name).to_owned(), (*reason).to_owned())).collect(),
            ..Self::plain(400, "Bad Request", "See extraDetails for further details")
        }
    }

    /// 400 for a request this caller may not make, without error code or field errors.
    pub fn bad_request(detail: &str) -> Self {
        Self::plain(400, "Bad Request", detail)
    }

    /// 401, as the API gateway answers it.
    pub fn unauthorized(detail: &str) -> Self {
        Self::plain(401, "Unauthorized", detail)
    }

    /// 403.
    pub fn forbidden(detail: &str) -> Self {
        Self::plain(403, "Forbidden", detail)
    }

    /// 404 for an unknown resource.
    pub fn not_found(detail: &str) -> Self {
        Self::plain(404, "Not Found", detail)
    }

    /// 405 for a path that exists, with another method.
    pub fn method_not_allowed(detail: &str) -> Self {
        Self::plain(405, "Method Not Allowed", detail)
    }

    /// 409 for an idempotency key reused with another request.
    pub fn idempotency_conflict(code: u32, title: &str) -> Self {
        Self::domain(
            409,
            code,
            title,
            "This Idempotency-Key was used before with a different request. Retry with the identical body, or use a new key for a new operation.",
        )
    }

    /// 415 for a redirect-QR call without one of the `Accept` values the QR API knows.
    pub fn unsupported_media_type(detail: &str) -> Self {
        Self::plain(415, "Unsupported Media Type", detail)
    }

    /// 429: over a rate limit, or throttled by the gateway. The response needs a `Retry-After`
    /// header too: see `limits::Throttled`.
    pub fn too_many_requests(detail: &str) -> Self {
        Self::plain(429, "Too Many Requests", detail)
    }

    /// 500 without an error code.
    pub fn internal(detail: &str) -> Self {
        Self::plain(500, "Internal Server Error", detail)
    }

    /// 503: the platform is briefly unavailable.
    pub fn unavailable(detail: &str) -> Self {
        Self::plain(503, "Service Unavailable", detail)
    }

    /// 504: the platform's gateway gave up waiting; the request may still be processed.
    pub fn gateway_timeout(detail: &str) -> Self {
        Self::plain(504, "Gateway Timeout", detail)
    }

    /// With the request path as `instance`.
    #[must_use]
    pub fn at(mut self, path: &str) -> Self {
        self.instance = Some(path.to_owned());
        self
    }

    /// The platform's problem body.
    pub fn problem(&self) -> Problem {
        let mut extra: Vec<ExtraDetail> = self
            .fields
            .iter()
            .map(|(name, reason)| ExtraDetail { name: name.clone(), reason: reason.clone() })
            .collect();
        if let Some(code) = self.code {
            extra.push(ExtraDetail { name: "ErrorCode".to_owned(), reason: code.to_string() });
        }
        Problem {
            kind: Some(format!("https://httpstatuses.io/{}", self.status)),
            title: self.title.clone(),
            detail: Some(self.detail.clone()),
            status: Some(self.status),
            instance: self.instance.clone(),
            trace_id: Some(trace_id("01")),
            extra_details: (!extra.is_empty()).then_some(extra),
            invalid_params: None,
        }
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for SimError {}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}

/// Which platform API a path belongs to, and so in which shape its errors answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/epayment/…` (and the control API): a problem with the error code in `extraDetails`.
    Epayment,
    /// `/qr/…` but the exchanges: `QrErrorResponse`.
    Qr,
    /// `/qr/v1/exchange` and `/qr/v1/exchange/customer`: `QrExchangeErrorResponse`.
    QrExchange,
    /// `/point-of-sale/…`, the Check-in API: `ErrorResponse`, the same shape as `QrErrorResponse`.
    CheckIn,
    /// `/accesstoken/…`, `/webhooks/…`, `/management/…`, `/vipps-userinfo-api/…` and paths of no
    /// API: a problem without error codes.
    Plain,
}

impl Api {
    /// The API of a request path.
    pub fn of(path: &str) -> Self {
        if path.starts_with("/epayment/") || path.starts_with("/sim/control/") {
            Self::Epayment
        } else if path == "/qr/v1/exchange" || path.starts_with("/qr/v1/exchange/") {
            Self::QrExchange
        } else if path.starts_with("/qr/") {
            Self::Qr
        } else if path.starts_with("/point-of-sale/") {
            Self::CheckIn
        } else {
            Self::Plain
        }
    }

    /// `e` answered in this API's error shape. A 401 comes from the API gateway in front of every
    /// API and is a plain problem everywhere.
    pub fn refuse(self, e: SimError) -> Response {
        match self {
            Self::Epayment => e.into_response(),
            _ if e.status == 401 => SimError { code: None, ..e }.into_response(),
            Self::Plain => SimError { code: None, ..e }.into_response(),
            Self::Qr | Self::QrExchange | Self::CheckIn => qr_refusal(e, self == Self::QrExchange),
        }
    }
}

/// `e` as the QR API answers it: `QrErrorResponse`, or with `exchange` `QrExchangeErrorResponse`.
/// Neither has a place for an error code.
fn qr_refusal(e: SimError, exchange: bool) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let fields: Vec<InvalidParam> = e
        .fields
        .iter()
        .map(|(name, reason)| InvalidParam { name: name.clone(), reason: reason.clone() })
        .collect();
    let invalid = (!fields.is_empty()).then_some(fields);
    let bytes = if exchange {
        serde_json::to_vec(&QrExchangeErrorResponse {
            title: if status == StatusCode::BAD_REQUEST { "Bad request".to_owned() } else { e.title },
            status: status.as_u16(),
            detail: if invalid.is_some() {
                "The request body contains one or more invalid parameters.".to_owned()
            } else {
                e.detail
            },
            extra_details: invalid,
        })
    } else {
        // ASP.NET's model validation: a fixed title and detail, the fields in invalidParams.
        let validation = status == StatusCode::BAD_REQUEST && invalid.is_some();
        serde_json::to_vec(&QrErrorResponse {
            kind: Some(problem_type(status)),
            title: if validation { "One or more validation errors occurred.".to_owned() } else { e.title },
            detail: if validation { "BadRequest".to_owned() } else { e.detail },
            instance: trace_id("00"),
            invalid_params: invalid,
        })
    }
    .unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

/// The RFC section of a status, as ASP.NET names problem types.
fn problem_type(status: StatusCode) -> String {
    let section = match status.as_u16() {
        400 => "rfc7231#section-6.5.1",
        403 => "rfc7231#section-6.5.3",
        404 => "rfc7231#section-6.5.4",
        405 => "rfc7231#section-6.5.5",
        415 => "rfc7231#section-6.5.13",
        429 => "rfc6585#section-4",
        503 => "rfc7231#section-6.6.4",
        _ => "rfc7231#section-6.6.1",
    };
    format!("https://datatracker.ietf.org/doc/html/{section}")
}

/// A W3C traceparent with these trace `flags`, as the platform writes it: the ePayment API in
/// `traceId` with `01`, the QR API in `instance` with `00`.
fn trace_id(flags: &str) -> String {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    format!("00-{trace}-{span}-{flags}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_error_carries_its_code_in_extra_details() {
        let p = SimError::domain(400, 6080, "Cannot capture before reservation", "x")
            .at("/epayment/v1/payments/r/capture")
            .problem();
        assert_eq!(p.error_code(), Some(6080));
        assert_eq!(p.instance.as_deref(), Some("/epayment/v1/payments/r/capture"));
        assert!(p.trace_id.unwrap().starts_with("00-"));
    }

    #[test]
    fn each_api_is_told_apart_by_its_path() {
        assert_eq!(Api::of("/epayment/v1/payments"), Api::Epayment);
        assert_eq!(Api::of("/qr/v1/merchant-redirect/x"), Api::Qr);
        assert_eq!(Api::of("/qr/v1/exchange"), Api::QrExchange);
        assert_eq!(Api::of("/qr/v1/exchange/customer"), Api::QrExchange);
        assert_eq!(Api::of("/qr/v1/exchanges"), Api::Qr);
        assert_eq!(Api::of("/webhooks/v1/webhooks"), Api::Plain);
        assert_eq!(Api::of("/accesstoken/get"), Api::Plain);
        assert_eq!(Api::of("/point-of-sale/v1/loyalty-check-in"), Api::CheckIn);
        assert_eq!(Api::of("/vipps-userinfo-api/userinfo/s"), Api::Plain);
    }

    #[test]
    fn a_validation_error_names_the_field() {
        let p = SimError::validation("reference", "too short").problem();
        assert_eq!(p.field_errors().next().map(|d| d.name.as_str()), Some("reference"));
        assert_eq!(p.error_code(), None);
    }
}
