//! Errors as the browser sees them: `application/problem+json` (RFC 7807) with a stable `code`
//! and a `detail` sentence a cashier understands.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kasse_api::{MoneyError, Problem, ProblemCode};

use crate::sales::{Action, SaleError};
use crate::store::StoreError;

/// How long a request answered [`ApiError::unavailable`] is asked to wait, in seconds: a database
/// restart takes a few, and the pool connects again as soon as it is back.
const UNAVAILABLE_RETRY_AFTER_S: i64 = 2;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    problem: Problem,
    /// For a rate limit or a database out of reach: whole seconds until a new attempt is worth
    /// making, sent as `Retry-After` so that a page can say when in its own language.
    retry_after_s: Option<i64>,
}

impl ApiError {
    fn new(status: StatusCode, code: ProblemCode, title: &str, detail: impl Into<String>) -> Self {
        Self { problem: Problem::new(status.as_u16(), code, title, detail), retry_after_s: None }
    }

    /// 400 with a code and sentence.
    pub fn bad_request(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }

    /// 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ProblemCode::Unauthorized, "Unauthorized", detail)
    }

    /// 403 with a sentence.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ProblemCode::Forbidden, "Forbidden", detail)
    }

    /// 429 for one of the landing page's limits: its own `code`, a sentence, and the wait in
    /// milliseconds (sent, rounded up to whole seconds, as `Retry-After`).
    pub fn rate_limited(code: ProblemCode, detail: impl Into<String>, wait_ms: i64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, code, "Too many requests", detail);
        error.retry_after_s = Some((wait_ms.max(1) + 999) / 1000);
        error
    }

    /// 409 for a new manager whose name another manager has.
    pub fn manager_name_taken(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ProblemCode::ManagerNameTaken, "Name taken", detail)
    }

    /// 409 for a PIN chosen for a manager who has one.
    pub fn pin_chosen(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ProblemCode::PinChosen, "PIN chosen already", detail)
    }

    /// 403 for a manager's PIN that was wrong.
    pub fn pin_wrong() -> Self {
        Self::new(StatusCode::FORBIDDEN, ProblemCode::WrongPin, "Wrong PIN", "That PIN is not right.")
    }

    /// 403 for a till's refund that needs a manager's PIN and came without one.
    pub fn manager_pin_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemCode::ManagerPinRequired,
            "Manager's PIN needed",
            "This sale is from an earlier day: a manager of the store types their PIN to refund it.",
        )
    }

    /// 429 for a manager's PIN locked by wrong ones, for `wait_ms` more.
    pub fn pin_locked(wait_ms: i64) -> Self {
        Self::rate_limited(
            ProblemCode::PinLocked,
            format!("Too many wrong PINs. Try again in {}.", crate::limits::wait_in_words(wait_ms)),
            wait_ms,
        )
    }

    /// 409 for a customer whose checkout is busy with someone else's payment.
    pub fn busy_checkout() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ProblemCode::CheckoutBusy,
            "Checkout busy",
            "This checkout is busy with another payment. Try again in a moment.",
        )
    }

    /// 404 for an unknown API path.
    pub fn no_such_endpoint() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ProblemCode::NotFound,
            "Not found",
            "There is no such address on this server.",
        )
    }
}

impl ApiError {
    /// The problem this error answers with (for the MobilePay PoS v10 facade, which says it in
    /// v10's words).
    pub fn into_problem(self) -> Problem {
        self.problem
    }

    /// 404 for a thing that does not exist, with its code.
    pub fn not_found(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, "Not found", detail)
    }

    /// 401 for an integrator key the operator revoked.
    pub fn key_revoked() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::KeyRevoked,
            "Key revoked",
            "This API key was revoked. Ask the shop's operator for a new one.",
        )
    }

    /// 400 for a write without the `Idempotency-Key` the terminal API requires.
    pub fn idempotency_key_required() -> Self {
        Self::bad_request(
            ProblemCode::IdempotencyKeyRequired,
            "Send an Idempotency-Key header (1 to 100 visible ASCII characters) with every write, and the same one when retrying it.",
        )
    }

    /// 405 for a known address with the wrong method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ProblemCode::MethodNotAllowed,
            "Method not allowed",
            "This address does not take that kind of request.",
        )
    }

    /// 413 for a body over the limit.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::TooLarge,
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
                ProblemCode::UnknownTill,
                "Unknown till",
                "This till is not set up on the server.",
            ),
            SaleError::NotFound(_) => Self::new(
                StatusCode::NOT_FOUND,
                ProblemCode::UnknownPayment,
                "Unknown payment",
                "There is no such payment at this till.",
            ),
            SaleError::WrongCurrency { expected } => Self::bad_request(
                ProblemCode::WrongCurrency,
                format!("This store takes payments in {expected}."),
            ),
            SaleError::Amount(MoneyError::TooSmall { .. }) => {
                Self::bad_request(ProblemCode::AmountTooSmall, "The amount is too small to charge.")
            }
            SaleError::Amount(MoneyError::TooLarge) => Self::bad_request(
                ProblemCode::AmountTooLarge,
                "The amount is above the largest payment allowed (650 000).",
            ),
            SaleError::TillBusy { reference } => Self::new(
                StatusCode::CONFLICT,
                ProblemCode::TillBusy,
                "Till busy",
                format!("Finish or cancel the payment in progress ({reference}) first."),
            ),
            SaleError::WrongStatus { action, .. } => Self::new(
                StatusCode::CONFLICT,
                match action {
                    Action::Cancel => ProblemCode::NotCancellable,
                    Action::Capture => ProblemCode::NotCapturable,
                    Action::Refund => ProblemCode::NotRefundable,
                },
                "Not possible now",
                match action {
                    Action::Cancel => "This payment is already finished and can no longer be cancelled.",
                    Action::Capture => "Only a payment the customer approved can be captured.",
                    Action::Refund => "Only a payment that took money can be refunded.",
                },
            ),
            SaleError::AmountOutOfRange { left } => Self::bad_request(
                ProblemCode::AmountOutOfRange,
                format!("The amount must be more than zero and at most {}.{:02}.", left / 100, left % 100),
            ),
            SaleError::ConfirmationNeeded { limit } => Self::bad_request(
                ProblemCode::PinRequired,
                format!(
                    "Refunds of this payment of more than {}.{:02} in all ask for your PIN.",
                    limit / 100,
                    limit % 100
                ),
            ),
            SaleError::Phone(e) => Self::bad_request(ProblemCode::BadPhoneNumber, e.to_string()),
            SaleError::BadPersonalQr => Self::bad_request(
                ProblemCode::BadPersonalQr,
                "That is not a personal QR code. Ask the customer to show the code in their app again.",
            ),
            SaleError::NoLoyalty => Self::bad_request(
                ProblemCode::NoLoyalty,
                "This store has no loyalty programme, so a customer's number is not asked for.",
            ),
            SaleError::BadLines => Self::bad_request(
                ProblemCode::BadLines,
                "Each line needs a name, a quantity of 1 to 9999, a price and a VAT rate, and the lines must add up to the amount.",
            ),
            SaleError::SearchTooLong(_) => Self::bad_request(
                ProblemCode::BadQuery,
                format!("Search for at most {} characters.", kasse_api::HistoryQuery::SEARCH_MAX),
            ),
            SaleError::BadDescription => {
                Self::bad_request(ProblemCode::BadDescription, "The description must be 3 to 100 characters.")
            }
            SaleError::CheckInGone => Self::new(
                StatusCode::CONFLICT,
                ProblemCode::CheckInGone,
                "Check-in gone",
                "That check-in can no longer be charged. Ask the customer to scan the sticker again.",
            ),
            SaleError::UnknownSticker(_) => Self::new(
                StatusCode::NOT_FOUND,
                ProblemCode::UnknownSticker,
                "Unknown sticker",
                "This sticker is not in use. Ask the staff how to pay.",
            ),
            SaleError::UnknownPayment => Self::new(
                StatusCode::NOT_FOUND,
                ProblemCode::UnknownPayment,
                "Unknown payment",
                "There is no such payment. Scan the sticker again to start over.",
            ),
            SaleError::NothingToPay => Self::new(
                StatusCode::CONFLICT,
                ProblemCode::NothingToPay,
                "Nothing to pay",
                "There is nothing to pay here right now. Ask the staff to start the payment, then try again.",
            ),
            SaleError::AmountChanged => Self::new(
                StatusCode::CONFLICT,
                ProblemCode::AmountChanged,
                "Amount changed",
                "The amount to pay has changed. Check the new amount, then pay again.",
            ),
            SaleError::OutsideBounds { min, max } => Self::bad_request(
                ProblemCode::AmountOutsideBounds,
                format!(
                    "The amount must be between {}.{:02} and {}.{:02}.",
                    min / 100,
                    min % 100,
                    max / 100,
                    max % 100
                ),
            ),
            SaleError::KeyReused => Self::new(
                StatusCode::CONFLICT,
                ProblemCode::KeyReused,
                "Key reused",
                "This request's Idempotency-Key was used before for a different request.",
            ),
            SaleError::Pending(_) => Self::new(
                StatusCode::ACCEPTED,
                ProblemCode::Pending,
                "Pending",
                "The payment service has not answered yet; the request is kept and sent again.",
            ),
            SaleError::AlreadyApproved => Self::new(
                StatusCode::CONFLICT,
                ProblemCode::AlreadyApproved,
                "Already approved",
                "The customer has already approved this payment.",
            ),
            SaleError::CapturedOnce => Self::new(
                StatusCode::CONFLICT,
                ProblemCode::NotCapturable,
                "Captured already",
                "The payment was captured already, or a capture of it is on its way: a payment its PoS system captures is captured once.",
            ),
            SaleError::Platform(sentence) => Self::new(
                StatusCode::BAD_GATEWAY,
                ProblemCode::PlatformRefused,
                "Payment service refused",
                sentence,
            ),
            SaleError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        if e.unavailable() {
            return Self::unavailable();
        }
        if let StoreError::ChangedMeanwhile(_) = e {
            return Self::changed_meanwhile();
        }
        Self::internal()
    }
}

impl ApiError {
    /// 503: the database cannot be reached (restarting, failing over); the same request may be
    /// sent again in a moment, as `Retry-After` says (a write with its key is applied once).
    /// `/healthz` answers 503 meanwhile too, so a load balancer can tell.
    pub fn unavailable() -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::Internal,
            "Database unavailable",
            "The server cannot reach its database just now. Try again in a moment.",
        );
        error.retry_after_s = Some(UNAVAILABLE_RETRY_AFTER_S);
        error
    }

    /// 503: the sale changed at another request while this one worked on it (this instance lost
    /// its hold on the payment: see [`StoreError::ChangedMeanwhile`]); nothing of this request's
    /// last step was written. Sent again, it is worked out over the sale as it is now, and a
    /// write it made at the platform, under its key, is not made twice.
    pub fn changed_meanwhile() -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::Internal,
            "Sale changed meanwhile",
            "The sale changed while this request was on its way. Try again in a moment.",
        );
        error.retry_after_s = Some(UNAVAILABLE_RETRY_AFTER_S);
        error
    }

    /// 500: something went wrong on the server (said in its log).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::Internal,
            "Internal error",
            "Something went wrong on the server. Try again in a moment.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(Problem::CONTENT_TYPE));
        if let Some(seconds) = self.retry_after_s {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
