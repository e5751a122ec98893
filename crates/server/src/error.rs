//! Errors as the browser sees them: `application/problem+json` (RFC 7807) with a stable `code`
//! and a `detail` sentence a cashier understands.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kasse_api::{MoneyError, Problem};

use crate::sales::SaleError;
use crate::store::StoreError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError(Problem);

impl ApiError {
    fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Self(Problem::new(status.as_u16(), code, title, detail))
    }

    /// 400 with a code and sentence.
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }

    /// 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
    }

    /// 404 for an unknown API path.
    pub fn no_such_endpoint() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", "There is no such address on this server.")
    }
}

impl ApiError {
    /// 405 for a known address with the wrong method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "This address does not take that kind of request.",
        )
    }

    /// 413 for a body over the limit.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request too large",
            "The request is too large.",
        )
    }
}

impl From<SaleError> for ApiError {
    fn from(e: SaleError) -> Self {
        match e {
            SaleError::UnknownTill(_) => Self::new(
                StatusCode::NOT_FOUND,
                "unknown-till",
                "Unknown till",
                "This till is not set up on the server.",
            ),
            SaleError::NotFound(_) => Self::new(
                StatusCode::NOT_FOUND,
                "unknown-payment",
                "Unknown payment",
                "There is no such payment at this till.",
            ),
            SaleError::WrongCurrency { expected } => {
                Self::bad_request("wrong-currency", format!("This store takes payments in {expected}."))
            }
            SaleError::Amount(MoneyError::TooSmall { .. }) => {
                Self::bad_request("amount-too-small", "The amount is too small to charge.")
            }
            SaleError::Amount(MoneyError::TooLarge) => Self::bad_request(
                "amount-too-large",
                "The amount is above the largest payment allowed (650 000).",
            ),
            SaleError::TillBusy { reference } => Self::new(
                StatusCode::CONFLICT,
                "till-busy",
                "Till busy",
                format!("Finish or cancel the payment in progress ({reference}) first."),
            ),
            SaleError::NotCancellable(_) => Self::new(
                StatusCode::CONFLICT,
                "not-cancellable",
                "Not cancellable",
                "This payment is already finished and can no longer be cancelled.",
            ),
            SaleError::AlreadyApproved => Self::new(
                StatusCode::CONFLICT,
                "already-approved",
                "Already approved",
                "The customer has already approved this payment.",
            ),
            SaleError::Platform(sentence) => {
                Self::new(StatusCode::BAD_GATEWAY, "platform-refused", "Payment service refused", sentence)
            }
            SaleError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "Something went wrong on the server. Try again in a moment.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(Problem::CONTENT_TYPE));
        response
    }
}
