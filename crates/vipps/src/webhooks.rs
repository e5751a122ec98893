//! Webhooks API v1 wire types (`webhooks-api/swagger.yaml`) and the event types kasse subscribes to.
//!
//! The API's error body, `ProblemDetails`, is read as [`crate::problem::Problem`]. A deletion
//! answers `204` without a body.

use serde::{Deserialize, Serialize};

use crate::epayment::PaymentEventName;

/// The QR API event sent when a customer scans a merchant callback QR.
pub const USER_CHECKED_IN: &str = "user.checked-in.v1";

/// Every `epayments.payment.*.v1` event type.
pub fn epayment_event_types() -> impl Iterator<Item = &'static str> {
    PaymentEventName::ALL.into_iter().map(PaymentEventName::webhook_event_type)
}

/// `POST /webhooks/v1/webhooks` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// Where to deliver: HTTPS, reachable, answering 2xx.
    pub url: String,
    /// Event types, e.g. `epayments.payment.authorized.v1`.
    pub events: Vec<String>,
}

/// `201` answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// The registration id (a UUID).
    pub id: String,
    /// The signing secret, shown only this once.
    pub secret: String,
}

/// One registration in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// The registration id.
    pub id: String,
    /// Where it delivers.
    pub url: String,
    /// Its event types.
    pub events: Vec<String>,
}

/// `GET /webhooks/v1/webhooks` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryResponse {
    /// The sales unit's registrations.
    pub webhooks: Vec<Webhook>,
}

/// The body of a `user.checked-in.v1` delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCheckedIn {
    /// Use as `customer.customerToken` within 15 minutes.
    pub customer_token: String,
    /// The sticker's id (the beaconId for migrated MobilePay QRs).
    pub merchant_qr_id: String,
    /// The sales unit.
    pub msn: String,
    /// When the customer scanned, ISO 8601 UTC.
    pub initiated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_eight_epayment_event_types() {
        let types: Vec<_> = epayment_event_types().collect();
        assert_eq!(types.len(), 8);
        assert!(types.contains(&"epayments.payment.terminated.v1"));
    }

    #[test]
    fn the_documented_check_in_parses() {
        let wire = r#"{"customerToken":"wbA8ceVRKkoYiQAVELHeFCC3Sn5dtNCvvEtVPiOT77j6wx7uR965AG6Q+q0ATP4=",
            "merchantQrId":"d8b7d76d-49aa-48b8-90c6-38779372c163","msn":"12345",
            "initiatedAt":"2023-10-06T10:45:40.3061965Z"}"#;
        let event: UserCheckedIn = serde_json::from_str(wire).unwrap();
        assert_eq!(event.msn, "12345");
    }

    #[test]
    fn registration_wire_shapes_match_the_spec() {
        let req =
            RegisterRequest { url: "https://example.com/hook".into(), events: vec![USER_CHECKED_IN.into()] };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"url":"https://example.com/hook","events":["user.checked-in.v1"]}"#
        );
        let list: QueryResponse = serde_json::from_str(
            r#"{"webhooks":[{"id":"0f9a6b36-9b6f-4b5f-8a39-3a2a1e4d2b11","url":"https://x.no/h","events":["a"]}]}"#,
        )
        .unwrap();
        assert_eq!(list.webhooks.len(), 1);
    }
}
