//! The Check-in API (`specs/check-in-api/swagger.yaml`, Vipps in Norway only): `POST
//! /point-of-sale/v1/loyalty-check-in` shows a customer, on their phone, that they are checked in
//! at the merchant's point of sale and whether they are a member of its loyalty programme.
//! Written by hand from the spec's `LoyaltyCheckInRequest`.
//!
//! The answer is a bare JSON string (an id) that kasse has no use for, and a 400 is the spec's
//! `ErrorResponse` (`type`, `title`, `detail`, `instance`, `invalidParams`), which
//! [`Problem`](crate::Problem) reads.

use serde::{Deserialize, Serialize};

/// The body of a loyalty check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyCheckIn {
    /// The customer's Norwegian number as MSISDN: `^47[0-9]{8}$`, e.g. `4791234567`.
    pub phone_number: String,
    /// Whether the customer is a member of the merchant's loyalty programme.
    pub is_member: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specs_example_round_trips_with_its_camel_case_names() {
        let wire = serde_json::json!({ "phoneNumber": "4791234567", "isMember": true });
        let body: LoyaltyCheckIn = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(body, LoyaltyCheckIn { phone_number: "4791234567".to_owned(), is_member: true });
        assert_eq!(serde_json::to_value(&body).unwrap(), wire);
    }

    #[test]
    fn both_fields_are_required() {
        assert!(serde_json::from_str::<LoyaltyCheckIn>(r#"{"phoneNumber":"4791234567"}"#).is_err());
        assert!(serde_json::from_str::<LoyaltyCheckIn>(r#"{"isMember":false}"#).is_err());
    }
}
