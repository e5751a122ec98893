//! The Userinfo API as kasse reads it: `GET /vipps-userinfo-api/userinfo/{sub}`, the profile data a
//! customer consented to share with this merchant when they approved a payment whose create
//! request asked for `profile.scope` (the payment's `profile.sub` names them). Written by hand
//! from `specs/userinfo-api/swagger.yaml` (`Userinfo`), which spells its fields in snake_case as
//! OpenID Connect does.
//!
//! Only what kasse uses is read: the `sub`, the phone number and the name. Every other field of
//! the answer (addresses, e-mail, birth date, national identity number, bank accounts) is
//! ignored, so that data we never asked to keep is never parsed into memory either.

use serde::{Deserialize, Serialize};

/// A customer's consented profile data. A field is present only if the customer shared the scope
/// that carries it (`phoneNumber` → `phone_number`; `name` → `name`, `given_name`, `family_name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Userinfo {
    /// The customer's stable identifier, as in the payment's `profile.sub`.
    pub sub: String,
    /// MSISDN, digits only: country code and number, e.g. `4791234567`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The full name as the customer displays it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Given name(s); several are separated by spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Surname(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specs_example_shape_reads_the_fields_kasse_uses_and_ignores_the_rest() {
        // Every property of the spec's `Userinfo`, with its own example values.
        let wire = serde_json::json!({
            "sub": "c06c4afe-d9e1-4c5d-939a-177d752a0944",
            "phone_number": "4791234567",
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "user@example.com",
            "email_verified": true,
            "birthdate": "2000-12-31",
            "nin": "09057517287",
            "sid": "7d78a726-af92-499e-b857-de263ef9a969",
            "address": {
                "address_type": "home", "country": "NO", "default": true,
                "formatted": "Robert Levins gate 5\n0154 Oslo", "postal_code": "0154",
                "region": "Oslo", "street_address": "Robert Levins gate 5"
            },
            "other_addresses": [],
            "accounts": [{ "account_name": "Savings account", "account_number": 86_011_117_947_u64, "bank_name": "ACME Bank" }]
        });
        let info: Userinfo = serde_json::from_value(wire).unwrap();
        assert_eq!(
            info,
            Userinfo {
                sub: "c06c4afe-d9e1-4c5d-939a-177d752a0944".to_owned(),
                phone_number: Some("4791234567".to_owned()),
                name: Some("Ada Lovelace".to_owned()),
                given_name: Some("Ada".to_owned()),
                family_name: Some("Lovelace".to_owned()),
            }
        );
    }

    #[test]
    fn only_the_sub_is_required_and_fields_not_shared_are_left_out_when_written() {
        let info: Userinfo = serde_json::from_str(r#"{"sub":"s-1","phone_number":"4791234567"}"#).unwrap();
        assert_eq!((info.name.as_deref(), info.given_name.as_deref()), (None, None));
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            serde_json::json!({ "sub": "s-1", "phone_number": "4791234567" })
        );
        assert!(serde_json::from_str::<Userinfo>(r#"{"phone_number":"4791234567"}"#).is_err());
    }
}
