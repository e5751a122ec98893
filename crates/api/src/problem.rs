//! RFC 7807 `application/problem+json` bodies, as every kasse endpoint answers errors.

use serde::{Deserialize, Serialize};

/// An error answer. `detail` is a sentence a cashier or customer understands; `code` is stable
/// for programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    /// A short summary that does not change between occurrences.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened this time, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What went wrong, as both sides name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ProblemCode>,
}

/// Every refusal the kasse server can answer, by its stable code (kebab-case on the wire, e.g.
/// `till-busy`). The server picks one for each error; the app says each in the reader's language.
/// Both match it exhaustively, so a code added or renamed here is a compile error on the side that
/// forgot it. A code this build does not know (a newer server) reads as [`ProblemCode::Unknown`],
/// and the app shows the server's own sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemCode {
    // Access.
    /// No (valid) session, or a wrong pairing code.
    Unauthorized,
    /// A session that may not do this (a display acting as a till, another till's sale).
    Forbidden,
    /// Too many attempts (pairing) from one client.
    TooManyRequests,
    /// The device's session ran out (unused too long, or too old): pair it again.
    SessionExpired,
    /// A manager ended the device's session: pair it again.
    SessionRevoked,
    /// Too many live event streams are open; try again after `Retry-After`.
    TooManyStreams,
    // The request itself.
    /// No such address.
    NotFound,
    /// The address does not take this method.
    MethodNotAllowed,
    /// The body is larger than allowed.
    TooLarge,
    /// The body is not the JSON expected.
    BadRequestBody,
    /// A query string that cannot be read.
    BadQuery,
    /// An `Idempotency-Key` that is not one.
    BadIdempotencyKey,
    /// The idempotency key was used before for another request.
    KeyReused,
    /// A webhook delivery that cannot be read.
    BadWebhook,
    // Tills and sales.
    /// No such till.
    UnknownTill,
    /// No such payment.
    UnknownPayment,
    /// The till has a sale in progress.
    TillBusy,
    /// Another payment is in progress at the checkout a sticker belongs to.
    CheckoutBusy,
    /// The amount is in another currency than the store's.
    WrongCurrency,
    /// The amount is below the smallest payment.
    AmountTooSmall,
    /// The amount is above the largest payment.
    AmountTooLarge,
    /// More than is left to capture or refund, or nothing.
    AmountOutOfRange,
    /// An open-amount sticker's amount is outside its bounds.
    AmountOutsideBounds,
    /// The phone number is not one the platform can reach.
    BadPhoneNumber,
    /// The scanned code is not a personal QR code.
    BadPersonalQr,
    /// The receipt lines are malformed or do not add up.
    BadLines,
    /// The description is not 3 to 100 characters.
    BadDescription,
    /// The check-in can no longer be charged.
    CheckInGone,
    /// The sale is past cancelling.
    NotCancellable,
    /// The sale is not approved, or is captured already.
    NotCapturable,
    /// Nothing was captured to refund.
    NotRefundable,
    /// The customer approved before the cancel arrived.
    AlreadyApproved,
    /// The platform has not answered; the request is kept and sent again.
    Pending,
    /// The platform refused.
    PlatformRefused,
    // The sticker landing page.
    /// No such sticker.
    UnknownSticker,
    /// The till presents nothing to pay.
    NothingToPay,
    /// The amount presented changed since the customer saw it.
    AmountChanged,
    /// Too many payment requests to one phone number.
    NumberRateLimited,
    /// Too many payment requests from one client.
    ClientRateLimited,
    /// Too many payment requests at one sticker.
    StickerRateLimited,
    // The server.
    /// Something went wrong on the server.
    Internal,
    /// A code this build does not know.
    #[serde(other)]
    Unknown,
}

impl ProblemCode {
    /// The code as the wire spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::TooManyRequests => "too-many-requests",
            Self::SessionExpired => "session-expired",
            Self::SessionRevoked => "session-revoked",
            Self::TooManyStreams => "too-many-streams",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::TooLarge => "too-large",
            Self::BadRequestBody => "bad-request-body",
            Self::BadQuery => "bad-query",
            Self::BadIdempotencyKey => "bad-idempotency-key",
            Self::KeyReused => "key-reused",
            Self::BadWebhook => "bad-webhook",
            Self::UnknownTill => "unknown-till",
            Self::UnknownPayment => "unknown-payment",
            Self::TillBusy => "till-busy",
            Self::CheckoutBusy => "checkout-busy",
            Self::WrongCurrency => "wrong-currency",
            Self::AmountTooSmall => "amount-too-small",
            Self::AmountTooLarge => "amount-too-large",
            Self::AmountOutOfRange => "amount-out-of-range",
            Self::AmountOutsideBounds => "amount-outside-bounds",
            Self::BadPhoneNumber => "bad-phone-number",
            Self::BadPersonalQr => "bad-personal-qr",
            Self::BadLines => "bad-lines",
            Self::BadDescription => "bad-description",
            Self::CheckInGone => "check-in-gone",
            Self::NotCancellable => "not-cancellable",
            Self::NotCapturable => "not-capturable",
            Self::NotRefundable => "not-refundable",
            Self::AlreadyApproved => "already-approved",
            Self::Pending => "pending",
            Self::PlatformRefused => "platform-refused",
            Self::UnknownSticker => "unknown-sticker",
            Self::NothingToPay => "nothing-to-pay",
            Self::AmountChanged => "amount-changed",
            Self::NumberRateLimited => "number-rate-limited",
            Self::ClientRateLimited => "client-rate-limited",
            Self::StickerRateLimited => "sticker-rate-limited",
            Self::Internal => "internal",
            Self::Unknown => "unknown",
        }
    }
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

impl Problem {
    /// The media type of a problem body.
    pub const CONTENT_TYPE: &'static str = "application/problem+json";

    /// A problem with a stable `code`, a `title` and a sentence for a person.
    pub fn new(status: u16, code: ProblemCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://kasse.dev/problems/{}", code.as_str()),
            title: title.to_owned(),
            status,
            detail: Some(detail.into()),
            code: Some(code),
        }
    }

    /// The sentence to show a person: the detail, or failing that the title.
    pub fn sentence(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.title)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.status, self.sentence())
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_serialises_as_rfc_7807() {
        let p = Problem::new(409, ProblemCode::TillBusy, "Till busy", "Finish the current payment first.");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["type"], "https://kasse.dev/problems/till-busy");
        assert_eq!(json["code"], "till-busy");
        assert_eq!(json["status"], 409);
        assert_eq!(json["detail"], "Finish the current payment first.");
    }

    #[test]
    fn a_foreign_problem_without_type_or_detail_still_parses() {
        let p: Problem = serde_json::from_str(r#"{"title":"Bad Request","status":400}"#).unwrap();
        assert_eq!(p.kind, "about:blank");
        assert_eq!(p.sentence(), "Bad Request");
    }

    #[test]
    fn every_code_is_spelled_on_the_wire_as_it_names_itself() {
        for code in [
            ProblemCode::Unauthorized,
            ProblemCode::Forbidden,
            ProblemCode::TooManyRequests,
            ProblemCode::SessionExpired,
            ProblemCode::SessionRevoked,
            ProblemCode::TooManyStreams,
            ProblemCode::NotFound,
            ProblemCode::MethodNotAllowed,
            ProblemCode::TooLarge,
            ProblemCode::BadRequestBody,
            ProblemCode::BadQuery,
            ProblemCode::BadIdempotencyKey,
            ProblemCode::KeyReused,
            ProblemCode::BadWebhook,
            ProblemCode::UnknownTill,
            ProblemCode::UnknownPayment,
            ProblemCode::TillBusy,
            ProblemCode::CheckoutBusy,
            ProblemCode::WrongCurrency,
            ProblemCode::AmountTooSmall,
            ProblemCode::AmountTooLarge,
            ProblemCode::AmountOutOfRange,
            ProblemCode::AmountOutsideBounds,
            ProblemCode::BadPhoneNumber,
            ProblemCode::BadPersonalQr,
            ProblemCode::BadLines,
            ProblemCode::BadDescription,
            ProblemCode::CheckInGone,
            ProblemCode::NotCancellable,
            ProblemCode::NotCapturable,
            ProblemCode::NotRefundable,
            ProblemCode::AlreadyApproved,
            ProblemCode::Pending,
            ProblemCode::PlatformRefused,
            ProblemCode::UnknownSticker,
            ProblemCode::NothingToPay,
            ProblemCode::AmountChanged,
            ProblemCode::NumberRateLimited,
            ProblemCode::ClientRateLimited,
            ProblemCode::StickerRateLimited,
            ProblemCode::Internal,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn a_code_from_a_newer_server_reads_as_unknown_and_keeps_its_sentence() {
        let p: Problem = serde_json::from_str(
            r#"{"title":"Nope","status":409,"detail":"Something new went wrong.","code":"something-new"}"#,
        )
        .unwrap();
        assert_eq!(p.code, Some(ProblemCode::Unknown));
        assert_eq!(p.sentence(), "Something new went wrong.");
    }
}
