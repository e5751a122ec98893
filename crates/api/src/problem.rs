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

macro_rules! problem_codes {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// Every refusal the kasse server can answer, by its stable code (kebab-case on the wire, e.g.
        /// `till-busy`). The server picks one for each error; the app says each in the reader's language.
        /// Both match it exhaustively, so a code added or renamed here is a compile error on the side that
        /// forgot it. A code this build does not know (a newer server) reads as [`ProblemCode::Unknown`],
        /// and the app shows the server's own sentence.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemCode {
            $( $(#[$doc])* $variant, )*
            /// A code this build does not know.
            Unknown,
        }

        impl ProblemCode {
            /// Every code the server may send (all but [`ProblemCode::Unknown`]).
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The code as the wire spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                    Self::Unknown => "unknown",
                }
            }
        }
    };
}

// Each code is named once, here: the enum, its list and its spelling on the wire come from it.
problem_codes! {
    // Access.
    /// No (valid) session, or a wrong pairing code.
    Unauthorized => "unauthorized",
    /// A session that may not do this (a display acting as a till, another till's sale).
    Forbidden => "forbidden",
    /// Too many attempts (pairing) from one client.
    TooManyRequests => "too-many-requests",
    /// The device's session ran out (unused too long, or too old): pair it again.
    SessionExpired => "session-expired",
    /// A manager ended the device's session: pair it again.
    SessionRevoked => "session-revoked",
    /// The PoS system's API key was revoked.
    KeyRevoked => "key-revoked",
    /// Too many live event streams are open; try again after `Retry-After`.
    TooManyStreams => "too-many-streams",
    /// A manager's first pairing: they choose their PIN with it.
    PinRequired => "pin-required",
    /// A PIN that is not 4 to 8 digits.
    BadPin => "bad-pin",
    /// A manager's pairing chose a PIN, but the manager has one already (chosen on another
    /// device): pair without choosing one.
    PinChosen => "pin-chosen",
    /// The manager's PIN was wrong.
    WrongPin => "wrong-pin",
    /// Too many wrong PINs: the manager waits (`Retry-After`).
    PinLocked => "pin-locked",
    /// A till's refund of a sale from an earlier day, at a store that asks for a manager's PIN
    /// then: the request comes again with one (`managerPin`).
    ManagerPinRequired => "manager-pin-required",
    /// No paired device has this id.
    UnknownDevice => "unknown-device",
    /// Another manager has this name (for another store).
    ManagerNameTaken => "manager-name-taken",
    // The request itself.
    /// No such address.
    NotFound => "not-found",
    /// The address does not take this method.
    MethodNotAllowed => "method-not-allowed",
    /// The body is larger than allowed.
    TooLarge => "too-large",
    /// The body is not the JSON expected.
    BadRequestBody => "bad-request-body",
    /// A query string that cannot be read.
    BadQuery => "bad-query",
    /// An `Idempotency-Key` that is not one.
    BadIdempotencyKey => "bad-idempotency-key",
    /// The idempotency key was used before for another request.
    KeyReused => "key-reused",
    /// A terminal API write came without its Idempotency-Key.
    IdempotencyKeyRequired => "idempotency-key-required",
    /// A webhook delivery that cannot be read.
    BadWebhook => "bad-webhook",
    // Tills and sales.
    /// No such till.
    UnknownTill => "unknown-till",
    /// No such payment.
    UnknownPayment => "unknown-payment",
    /// The till has a sale in progress.
    TillBusy => "till-busy",
    /// Another payment is in progress at the checkout a sticker belongs to.
    CheckoutBusy => "checkout-busy",
    /// The amount is in another currency than the store's.
    WrongCurrency => "wrong-currency",
    /// The amount is below the smallest payment.
    AmountTooSmall => "amount-too-small",
    /// The amount is above the largest payment.
    AmountTooLarge => "amount-too-large",
    /// More than is left to capture or refund, or nothing.
    AmountOutOfRange => "amount-out-of-range",
    /// An open-amount sticker's amount is outside its bounds.
    AmountOutsideBounds => "amount-outside-bounds",
    /// The phone number is not one the platform can reach.
    BadPhoneNumber => "bad-phone-number",
    /// The scanned code is not a personal QR code.
    BadPersonalQr => "bad-personal-qr",
    /// A sale asks the customer to share their number at a store without loyalty.
    NoLoyalty => "no-loyalty",
    /// The receipt lines are malformed or do not add up.
    BadLines => "bad-lines",
    /// The description is not 3 to 100 characters.
    BadDescription => "bad-description",
    /// The check-in can no longer be charged.
    CheckInGone => "check-in-gone",
    /// The sale is past cancelling.
    NotCancellable => "not-cancellable",
    /// The sale is not approved, or is captured already.
    NotCapturable => "not-capturable",
    /// Nothing was captured to refund.
    NotRefundable => "not-refundable",
    /// The customer approved before the cancel arrived.
    AlreadyApproved => "already-approved",
    /// The platform has not answered; the request is kept and sent again.
    Pending => "pending",
    /// The platform refused.
    PlatformRefused => "platform-refused",
    // The sticker landing page.
    /// No such sticker.
    UnknownSticker => "unknown-sticker",
    /// The till presents nothing to pay.
    NothingToPay => "nothing-to-pay",
    /// The amount presented changed since the customer saw it.
    AmountChanged => "amount-changed",
    /// Too many payment requests to one phone number.
    NumberRateLimited => "number-rate-limited",
    /// Too many payment requests from one client.
    ClientRateLimited => "client-rate-limited",
    /// Too many payment requests at one sticker.
    StickerRateLimited => "sticker-rate-limited",
    // The server.
    /// Something went wrong on the server.
    Internal => "internal",
}

impl ProblemCode {
    /// The code spelled `name` on the wire; [`ProblemCode::Unknown`] for a name this build does
    /// not know.
    pub fn from_name(name: &str) -> Self {
        Self::ALL.iter().copied().find(|code| code.as_str() == name).unwrap_or(Self::Unknown)
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

// By hand rather than derived: each name is spelled once (in `as_str`), which keeps the landing
// page's bundle, whose size is budgeted, from carrying a second copy of every name.
impl Serialize for ProblemCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProblemCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::from_name(&name))
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
        for &code in ProblemCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(serde_json::from_value::<ProblemCode>(code.as_str().into()).unwrap(), code);
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
