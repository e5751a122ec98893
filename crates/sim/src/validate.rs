//! The field rules of a create request (reference/vipps-apis.md §3.2), checked in the order the
//! platform reports them, each with the platform's error; what the sales unit may do: take
//! payments at all, push payments (5080) and long-living ones (5050); and who may pay:
//! `minimumUserAge` (7010).

use chrono::{DateTime, Utc};
use kasse_vipps::epayment::{CreatePaymentRequest, PaymentMethodType, UserFlow};

use crate::config::{SalesUnit, SimCustomer};
use crate::error::SimError;

/// The largest amount of one payment, in minor units.
const MAX_AMOUNT: i64 = 65_000_000;

/// Checks `request` for `unit`, knowing the platform's customers and the time.
pub fn create_request(
    request: &CreatePaymentRequest,
    unit: &SalesUnit,
    customers: &[SimCustomer],
    now: DateTime<Utc>,
) -> Result<(), SimError> {
    if !is_reference(&request.reference) {
        return Err(SimError::validation(
            "reference",
            "The field Reference must match the regular expression '^[a-zA-Z0-9-]{8,64}$'.",
        ));
    }
    let amount = request.amount;
    if !(0..=MAX_AMOUNT).contains(&amount.value) {
        return Err(SimError::validation("amount.value", "The field Value must be between 0 and 65000000."));
    }
    if amount.currency != unit.currency {
        return Err(SimError::domain(
            400,
            5040,
            "Invalid currency for merchant",
            "The currency is not the sales unit's currency.",
        ));
    }
    let minimum = if amount.currency == kasse_vipps::Currency::Nok { 100 } else { 1 };
    if amount.value < minimum {
        return Err(SimError::domain(
            400,
            6010,
            "Amount too small",
            "The amount is below the smallest payment for this currency.",
        ));
    }
    if request.payment_method.kind == PaymentMethodType::Card && request.user_flow != UserFlow::WebRedirect {
        return Err(SimError::domain(
            400,
            4160,
            "Invalid payment method type",
            "CARD can only be used with userFlow WEB_REDIRECT.",
        ));
    }
    if let Some(description) = &request.payment_description {
        let len = description.chars().count();
        if !(3..=100).contains(&len) {
            return Err(SimError::validation(
                "paymentDescription",
                "The field PaymentDescription must be between 3 and 100 characters.",
            ));
        }
    }
    if !unit.payment_allowed {
        // What the platform answers is not documented; a refusal naming the reason is enough.
        return Err(SimError::forbidden("This sales unit may not take payments."));
    }
    if request.user_flow == UserFlow::PushMessage && !unit.push_allowed {
        return Err(SimError::domain(
            400,
            5080,
            "PUSH_MESSAGE not allowed",
            "This sales unit may not skip the landing page: use another userFlow.",
        ));
    }
    check_customer(request, customers)?;
    match request.user_flow {
        UserFlow::WebRedirect if request.return_url.is_none() => {
            return Err(SimError::domain(
                400,
                4140,
                "Missing required parameter",
                "returnUrl is required for userFlow WEB_REDIRECT.",
            ));
        }
        _ => {}
    }
    if request.return_url.as_deref().is_some_and(|url| !is_return_url(url)) {
        return Err(SimError::domain(
            400,
            4090,
            "Invalid URL",
            "returnUrl must use https:// or a custom URL scheme.",
        ));
    }
    if let Some(format) = &request.qr_format {
        if request.user_flow != UserFlow::Qr {
            return Err(SimError::validation("qrFormat", "qrFormat can only be used with userFlow QR."));
        }
        if format.size.is_some_and(|s| !(100..=2000).contains(&s)) {
            return Err(SimError::validation(
                "qrFormat.size",
                "The field Size must be between 100 and 2000.",
            ));
        }
    }
    if let Some(expires_at) = &request.expires_at {
        check_expires_at(request, expires_at, unit, now)?;
    }
    if let Some(metadata) = &request.metadata {
        if metadata.len() > 5 {
            return Err(SimError::domain(
                400,
                4100,
                "Metadata capacity exceeded",
                "At most 5 metadata entries are allowed.",
            ));
        }
        if metadata.keys().any(|k| k.chars().count() > 100) {
            return Err(SimError::domain(
                400,
                4120,
                "Metadata key too long",
                "Metadata keys are at most 100 characters.",
            ));
        }
        if metadata.values().any(|v| v.chars().count() > 500) {
            return Err(SimError::domain(
                400,
                4130,
                "Metadata value too long",
                "Metadata values are at most 500 characters.",
            ));
        }
    }
    Ok(())
}

fn check_customer(request: &CreatePaymentRequest, customers: &[SimCustomer]) -> Result<(), SimError> {
    let Some(customer) = &request.customer else {
        if request.user_flow == UserFlow::PushMessage {
            return Err(SimError::domain(
                400,
                4140,
                "Missing required parameter",
                "customer is required for userFlow PUSH_MESSAGE.",
            ));
        }
        return Ok(());
    };
    let given =
        [customer.phone_number.is_some(), customer.personal_qr.is_some(), customer.customer_token.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(SimError::validation(
            "customer",
            "Exactly one of phoneNumber, personalQr and customerToken must be set.",
        ));
    }
    if let Some(phone) = &customer.phone_number {
        if !(10..=15).contains(&phone.len()) || !phone.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SimError::domain(
                400,
                4070,
                "Invalid phone number",
                "The phone number must be 10 to 15 digits: country code and number, no '+'.",
            ));
        }
        if !customers.iter().any(|c| &c.phone_number == phone) {
            return Err(SimError::domain(
                400,
                7010,
                "Customer not found",
                "No app user has this phone number.",
            ));
        }
    }
    if let Some(qr) = &customer.personal_qr
        && !customers.iter().any(|c| &c.personal_qr() == qr)
    {
        return Err(SimError::domain(400, 4060, "Invalid PersonalQr", "The personal QR code is not valid."));
    }
    Ok(())
}

/// Refuses `customer` if younger than `minimum_user_age`, with 7010: the platform files an
/// ineligible user under "Customer not found" (reference/vipps-apis.md §3.12). A customer of no
/// particular age is an adult, old enough for anything.
pub fn old_enough(minimum_user_age: Option<u32>, customer: &SimCustomer) -> Result<(), SimError> {
    match (minimum_user_age, customer.age) {
        (Some(minimum), Some(age)) if age < minimum => Err(SimError::domain(
            400,
            7010,
            "Customer not found",
            &format!("The customer is younger than the payment's minimumUserAge of {minimum}."),
        )),
        _ => Ok(()),
    }
}

fn check_expires_at(
    request: &CreatePaymentRequest,
    expires_at: &str,
    unit: &SalesUnit,
    now: DateTime<Utc>,
) -> Result<(), SimError> {
    if !matches!(request.user_flow, UserFlow::PushMessage | UserFlow::Qr) {
        return Err(SimError::validation(
            "expiresAt",
            "expiresAt can only be used with userFlow PUSH_MESSAGE or QR.",
        ));
    }
    if !unit.long_living_allowed {
        return Err(SimError::domain(
            400,
            5050,
            "Long-living payment not allowed",
            "This sales unit is not approved for long-living payments: leave out expiresAt.",
        ));
    }
    let Ok(at) = DateTime::parse_from_rfc3339(expires_at) else {
        return Err(SimError::validation("expiresAt", "The field ExpiresAt must be an RFC 3339 date-time."));
    };
    if at <= now + chrono::Duration::minutes(10) {
        return Err(SimError::domain(
            400,
            6120,
            "Expiration date too soon",
            "expiresAt must be more than 10 minutes ahead.",
        ));
    }
    if at > now + chrono::Duration::days(60) {
        return Err(SimError::domain(
            400,
            6110,
            "Expiration date too late",
            "expiresAt must be at most 60 days ahead.",
        ));
    }
    if request.receipt.is_none() {
        return Err(SimError::domain(
            400,
            6130,
            "Long living payments require a receipt",
            "Send a receipt with a long-living payment.",
        ));
    }
    Ok(())
}

/// `^[a-zA-Z0-9-]{8,64}$`
pub fn is_reference(s: &str) -> bool {
    (8..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `https://…`, a custom scheme (`myapp://…`), or plain http to this machine (the simulator runs
/// next to its client, which has no certificate).
fn is_return_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    parsed.scheme() != "http" || matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SimConfig, default_customers};

    fn unit() -> SalesUnit {
        SimConfig::demo().sales_units.remove(0)
    }

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    fn check(json: &serde_json::Value) -> Result<(), SimError> {
        let mut base = serde_json::json!({
            "amount": { "currency": "NOK", "value": 1000 },
            "paymentMethod": { "type": "WALLET" },
            "reference": "reference-1",
            "userFlow": "QR",
        });
        for (k, v) in json.as_object().unwrap() {
            base[k] = v.clone();
        }
        let request: CreatePaymentRequest = serde_json::from_value(base).unwrap();
        create_request(&request, &unit(), &default_customers(), now())
    }

    fn code(json: &serde_json::Value) -> Option<u32> {
        check(json).unwrap_err().code
    }

    #[test]
    fn a_plain_qr_payment_is_accepted() {
        assert_eq!(check(&serde_json::json!({})), Ok(()));
    }

    #[test]
    fn a_reference_outside_the_pattern_is_a_field_error() {
        for bad in ["short", "has space-in-it", "ÆØÅ-reference", &"x".repeat(65)] {
            let err = check(&serde_json::json!({ "reference": bad })).unwrap_err();
            assert_eq!(err.fields[0].0, "reference", "{bad}");
        }
        assert_eq!(check(&serde_json::json!({ "reference": "x".repeat(64) })), Ok(()));
    }

    #[test]
    fn amounts_are_checked_against_currency_and_limits() {
        assert_eq!(code(&serde_json::json!({ "amount": { "currency": "DKK", "value": 1000 } })), Some(5040));
        assert_eq!(code(&serde_json::json!({ "amount": { "currency": "NOK", "value": 99 } })), Some(6010));
        assert!(check(&serde_json::json!({ "amount": { "currency": "NOK", "value": 65_000_001 } })).is_err());
    }

    #[test]
    fn push_needs_exactly_one_known_customer() {
        assert_eq!(code(&serde_json::json!({ "userFlow": "PUSH_MESSAGE" })), Some(4140));
        let two = serde_json::json!({ "userFlow": "PUSH_MESSAGE", "customer": { "phoneNumber": "4791234567", "customerToken": "t" } });
        assert_eq!(check(&two).unwrap_err().fields[0].0, "customer");
        let bad =
            serde_json::json!({ "userFlow": "PUSH_MESSAGE", "customer": { "phoneNumber": "+4791234567" } });
        assert_eq!(code(&bad), Some(4070));
        let unknown =
            serde_json::json!({ "userFlow": "PUSH_MESSAGE", "customer": { "phoneNumber": "4700000000" } });
        assert_eq!(code(&unknown), Some(7010));
        let ok =
            serde_json::json!({ "userFlow": "PUSH_MESSAGE", "customer": { "phoneNumber": "4791234567" } });
        assert_eq!(check(&ok), Ok(()));
    }

    #[test]
    fn redirect_needs_a_safe_return_url() {
        assert_eq!(code(&serde_json::json!({ "userFlow": "WEB_REDIRECT" })), Some(4140));
        let http = serde_json::json!({ "userFlow": "WEB_REDIRECT", "returnUrl": "http://example.com/back" });
        assert_eq!(code(&http), Some(4090));
        let local =
            serde_json::json!({ "userFlow": "WEB_REDIRECT", "returnUrl": "http://127.0.0.1:8080/q/s" });
        assert_eq!(check(&local), Ok(()));
    }

    #[test]
    fn a_long_living_payment_needs_a_receipt_and_a_sane_expiry() {
        let soon = (now() + chrono::Duration::minutes(5)).to_rfc3339();
        assert_eq!(code(&serde_json::json!({ "expiresAt": soon })), Some(6120));
        let later = (now() + chrono::Duration::days(2)).to_rfc3339();
        assert_eq!(code(&serde_json::json!({ "expiresAt": later })), Some(6130));
    }

    #[test]
    fn a_unit_without_push_or_long_living_payments_refuses_them() {
        let push =
            serde_json::json!({ "userFlow": "PUSH_MESSAGE", "customer": { "phoneNumber": "4791234567" } });
        let request: CreatePaymentRequest = serde_json::from_value(serde_json::json!({
            "amount": { "currency": "NOK", "value": 1000 },
            "paymentMethod": { "type": "WALLET" },
            "reference": "reference-1",
            "userFlow": "PUSH_MESSAGE",
            "customer": push["customer"],
            "expiresAt": (now() + chrono::Duration::days(2)).to_rfc3339(),
        }))
        .unwrap();
        let strict = SalesUnit { push_allowed: false, long_living_allowed: false, ..unit() };
        let err = create_request(&request, &strict, &default_customers(), now()).unwrap_err();
        assert_eq!(err.code, Some(5080));
        let no_long = SalesUnit { long_living_allowed: false, ..unit() };
        let err = create_request(&request, &no_long, &default_customers(), now()).unwrap_err();
        assert_eq!(err.code, Some(5050));
        let login_only = SalesUnit { payment_allowed: false, ..unit() };
        let err = create_request(&request, &login_only, &default_customers(), now()).unwrap_err();
        assert_eq!(err.status, 403, "a unit that may not take payments takes none");
    }

    #[test]
    fn a_customer_younger_than_the_minimum_age_is_refused_with_7010() {
        let customer = |age| SimCustomer { age, ..default_customers().remove(0) };
        assert_eq!(old_enough(Some(18), &customer(Some(16))).unwrap_err().code, Some(7010));
        assert_eq!(old_enough(Some(18), &customer(Some(18))), Ok(()));
        assert_eq!(old_enough(None, &customer(Some(16))), Ok(()));
        assert_eq!(old_enough(Some(99), &customer(None)), Ok(()));
    }

    #[test]
    fn card_is_only_for_web_redirect() {
        assert_eq!(code(&serde_json::json!({ "paymentMethod": { "type": "CARD" } })), Some(4160));
    }
}
